-- Providers run analyses (issue 9): welfare.run_published, the one entry point a
-- welfare_provider may call to run an analysis.
--
-- A provider cannot read raw demand, so it cannot run the analysis functions
-- itself (they are SECURITY INVOKER). This SECURITY DEFINER function runs one of
-- a fixed list of model runs for it, with parameters taken from a JSON object one
-- by one, checked and cast to the run function's types (no SQL is built from
-- them), and returns the run id. The results are then readable by the provider
-- only through the welfare_bi views (published values); the raw result tables
-- stay closed to it.
--
-- What the analysis sees: every published facility and no unpublished one, of
-- any provider, the caller's own drafts included (the published values are the
-- same rules as everyone's, and a draft is not public). The function pins the setting
-- welfare.published_facilities_only = on for the duration of the call; the
-- table reader of the PL/Python door (wi.relation, 010-bootstrap.sql) then reads
-- welfare.facility WHERE published. Anyone may set that setting in their own
-- session, but it only ever narrows what an analysis counts, and nobody can turn
-- it off inside this function. welfare.lib_dir is pinned empty too: the core is
-- loaded from the installed directory only, whatever the caller set (choosing
-- another one is for superusers, and inside this function current_user is one).
--
-- The run is logged under the caller (welfare._caller(): SET ROLE role, else the
-- login user, not the owner of this function), with published_facilities_only
-- added to its parameters and audience caller (welfare.log_run_start, pinned
-- setting welfare.run_audience): the welfare_bi views show it to the caller only,
-- as the latest of its kind and parameters, so a provider cannot replace what
-- everyone else reads there (welfare.bi_run, 190-bi-runs.sql).
--
-- Whitelist (kind: parameters; * = required): the runs whose results land in
-- welfare_bi views.
--   zone_indicators    *level, *period                      -> zone_indicators, zone_service_indicators
--   accessibility      service_type_id (absent: every type), *period, level, method,
--                      max_cost, decay, decay_param, municipality_code -> accessibility
--   optimise_locations *service_type_id, *model, *new_sites, *period, max_cost,
--                      capacitated, time_limit, candidate_municipality, equity_level
--                                                            -> optimise_sites, optimise_summary
--   allocate_capacity  *service_type_id, *budget, *period, max_cost, uptake, module_size,
--                      unit_cost, max_increase, candidates, time_limit -> optimise_sites, optimise_summary
-- Scenario runs are left out: scenarios are private to analysts (row-level
-- security that this owner would bypass). An absent or null optional parameter
-- takes the run function's default. time_limit is at most 60 seconds here.

-- One parameter of a run_published call, checked against its JSON type and returned
-- as text for an explicit cast by the caller; NULL when absent or null.
CREATE OR REPLACE FUNCTION welfare._published_param(
    parameters jsonb, run_kind text, param_name text, param_type text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v jsonb := parameters -> param_name;
    t text := pg_catalog.jsonb_typeof(parameters -> param_name);
    s text := parameters ->> param_name;
    n numeric;
    want text := CASE param_type WHEN 'text' THEN 'string' WHEN 'boolean' THEN 'boolean'
                                 ELSE 'number' END;
BEGIN
    IF v IS NULL OR t = 'null' THEN
        RETURN NULL;
    END IF;
    IF t <> want THEN
        RAISE EXCEPTION 'parameter % of run_published(%) must be a JSON %, got %',
            param_name, pg_catalog.quote_literal(run_kind), want, t
          USING ERRCODE = 'invalid_parameter_value',
                HINT = CASE want WHEN 'number' THEN 'e.g. {"period": 2023}, a number without quotes'
                                 WHEN 'boolean' THEN 'true or false, without quotes'
                                 ELSE 'a code in double quotes, e.g. {"level": "neighbourhood"}' END;
    END IF;
    IF param_type = 'text' AND pg_catalog.length(s) > 200 THEN
        RAISE EXCEPTION 'parameter % of run_published(%) is longer than 200 characters',
            param_name, pg_catalog.quote_literal(run_kind)
          USING ERRCODE = 'invalid_parameter_value', HINT = 'pass a code, e.g. a service type id';
    END IF;
    IF want = 'number' THEN
        n := s::numeric;
        IF param_type = 'integer' AND (n <> pg_catalog.trunc(n) OR n < -2147483648 OR n > 2147483647) THEN
            RAISE EXCEPTION 'parameter % of run_published(%) must be a whole number of at most 2147483647, got %',
                param_name, pg_catalog.quote_literal(run_kind), pg_catalog.left(s, 40)
              USING ERRCODE = 'invalid_parameter_value', HINT = 'e.g. {"period": 2023}';
        END IF;
        IF pg_catalog.abs(n) > 1e12 THEN
            RAISE EXCEPTION 'parameter % of run_published(%) is out of range: %',
                param_name, pg_catalog.quote_literal(run_kind), pg_catalog.left(s, 40)
              USING ERRCODE = 'invalid_parameter_value', HINT = 'at most 1e12 in absolute value';
        END IF;
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION welfare._published_param(jsonb, text, text, text) IS
    'one checked parameter of welfare.run_published as text, for an explicit cast (internal)';

CREATE OR REPLACE FUNCTION welfare.run_published(kind text, parameters jsonb DEFAULT '{}'::jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET welfare.published_facilities_only = 'on'
SET welfare.run_audience = 'caller'
SET welfare.lib_dir = ''
AS $$
DECLARE
    p jsonb := parameters;
    k text;
    allowed text[];
    required text[];
    max_time_limit constant double precision := 60;
BEGIN
    allowed := CASE kind
        WHEN 'zone_indicators' THEN ARRAY['level', 'period']
        WHEN 'accessibility' THEN ARRAY['service_type_id', 'period', 'level', 'method',
            'max_cost', 'decay', 'decay_param', 'municipality_code']
        WHEN 'optimise_locations' THEN ARRAY['service_type_id', 'model', 'new_sites', 'period',
            'max_cost', 'capacitated', 'time_limit', 'candidate_municipality', 'equity_level']
        WHEN 'allocate_capacity' THEN ARRAY['service_type_id', 'budget', 'period', 'max_cost',
            'uptake', 'module_size', 'unit_cost', 'max_increase', 'candidates', 'time_limit']
    END;
    required := CASE kind
        WHEN 'zone_indicators' THEN ARRAY['level', 'period']
        WHEN 'accessibility' THEN ARRAY['period']
        WHEN 'optimise_locations' THEN ARRAY['service_type_id', 'model', 'new_sites', 'period']
        WHEN 'allocate_capacity' THEN ARRAY['service_type_id', 'budget', 'period']
    END;
    IF allowed IS NULL THEN
        RAISE EXCEPTION 'run_published: % is not an analysis that can be run on the published facilities',
            COALESCE(pg_catalog.quote_literal(pg_catalog.left(kind, 100)), 'NULL')
          USING ERRCODE = 'invalid_parameter_value',
                HINT = 'kind is one of zone_indicators, accessibility, optimise_locations, allocate_capacity';
    END IF;
    IF p IS NULL OR pg_catalog.jsonb_typeof(p) <> 'object' OR pg_catalog.octet_length(p::text) > 10000 THEN
        RAISE EXCEPTION 'run_published(%): parameters must be a JSON object of at most 10 kB',
            pg_catalog.quote_literal(kind)
          USING ERRCODE = 'invalid_parameter_value',
                HINT = 'parameters of ' || kind || ': ' || pg_catalog.array_to_string(allowed, ', ');
    END IF;
    FOR k IN SELECT pg_catalog.jsonb_object_keys(p) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'run_published(%): unknown parameter %', pg_catalog.quote_literal(kind),
                pg_catalog.quote_literal(pg_catalog.left(k, 100))
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'parameters of ' || kind || ': ' || pg_catalog.array_to_string(allowed, ', ');
        END IF;
    END LOOP;
    FOREACH k IN ARRAY required LOOP
        IF COALESCE(pg_catalog.jsonb_typeof(p -> k), 'null') = 'null' THEN
            RAISE EXCEPTION 'run_published(%): parameter % is required', pg_catalog.quote_literal(kind), k
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'required: ' || pg_catalog.array_to_string(required, ', ');
        END IF;
    END LOOP;
    IF welfare._published_param(p, kind, 'time_limit', 'double precision')::double precision
       > max_time_limit THEN
        RAISE EXCEPTION 'run_published(%): time_limit % is above % seconds', pg_catalog.quote_literal(kind),
            p ->> 'time_limit', max_time_limit
          USING ERRCODE = 'invalid_parameter_value',
                HINT = 'runs on the published facilities have at most 60 s; ask an analyst for longer solves';
    END IF;

    CASE kind
    WHEN 'zone_indicators' THEN
        RETURN welfare.run_zone_indicators(
            welfare._published_param(p, kind, 'level', 'text'),
            welfare._published_param(p, kind, 'period', 'integer')::integer);
    WHEN 'accessibility' THEN
        RETURN welfare.run_accessibility(
            welfare._published_param(p, kind, 'service_type_id', 'text'),
            welfare._published_param(p, kind, 'period', 'integer')::integer,
            COALESCE(welfare._published_param(p, kind, 'level', 'text'), 'section'),
            COALESCE(welfare._published_param(p, kind, 'method', 'text'), '2sfca'),
            welfare._published_param(p, kind, 'max_cost', 'double precision')::double precision,
            welfare._published_param(p, kind, 'decay', 'text'),
            welfare._published_param(p, kind, 'decay_param', 'double precision')::double precision,
            welfare._published_param(p, kind, 'municipality_code', 'text'));
    WHEN 'optimise_locations' THEN
        RETURN welfare.run_optimise_locations(
            welfare._published_param(p, kind, 'service_type_id', 'text'),
            welfare._published_param(p, kind, 'model', 'text'),
            welfare._published_param(p, kind, 'new_sites', 'integer')::integer,
            welfare._published_param(p, kind, 'period', 'integer')::integer,
            welfare._published_param(p, kind, 'max_cost', 'double precision')::double precision,
            COALESCE(welfare._published_param(p, kind, 'capacitated', 'boolean')::boolean, false),
            COALESCE(welfare._published_param(p, kind, 'time_limit', 'double precision')::double precision,
                     max_time_limit),
            welfare._published_param(p, kind, 'candidate_municipality', 'text'),
            welfare._published_param(p, kind, 'equity_level', 'text'));
    WHEN 'allocate_capacity' THEN
        RETURN welfare.run_allocate_capacity(
            welfare._published_param(p, kind, 'service_type_id', 'text'),
            welfare._published_param(p, kind, 'budget', 'double precision')::double precision,
            welfare._published_param(p, kind, 'period', 'integer')::integer,
            welfare._published_param(p, kind, 'max_cost', 'double precision')::double precision,
            welfare._published_param(p, kind, 'uptake', 'double precision')::double precision,
            COALESCE(welfare._published_param(p, kind, 'module_size', 'double precision')::double precision, 1),
            COALESCE(welfare._published_param(p, kind, 'unit_cost', 'double precision')::double precision, 1),
            welfare._published_param(p, kind, 'max_increase', 'double precision')::double precision,
            COALESCE(welfare._published_param(p, kind, 'candidates', 'boolean')::boolean, false),
            COALESCE(welfare._published_param(p, kind, 'time_limit', 'double precision')::double precision,
                     max_time_limit));
    END CASE;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_published(text, jsonb) IS
    'runs an analysis on the published facilities only (none unpublished, of any provider) and '
    'returns its run id, logged under the caller; for providers, who read the results in the '
    'welfare_bi views (shown to the caller only). kind: zone_indicators {level, period}, '
    'accessibility {service_type_id (absent: every type), '
    'period, level, method, max_cost, decay, decay_param, municipality_code}, optimise_locations '
    '{service_type_id, model, new_sites, period, max_cost, capacitated, time_limit, '
    'candidate_municipality}, allocate_capacity {service_type_id, budget, period, max_cost, '
    'uptake, module_size, unit_cost, max_increase, candidates, time_limit}; parameters as a JSON '
    'object with the run function''s names and defaults; time_limit at most 60 s';

REVOKE ALL ON FUNCTION welfare._published_param(jsonb, text, text, text),
    welfare.run_published(text, jsonb) FROM PUBLIC;
