-- Scenarios: thin adapters over welfare_core.scenario / scenario_compare.
-- Scenario rows and their changes live in welfare.scenario / scenario_change
-- (row-level security: own + shared readable, own writable). Applying is pure
-- (the welfare tables are never touched); a run stores its comparison under a
-- new run id in one statement, so a failed run leaves nothing behind.
CREATE OR REPLACE FUNCTION welfare._scenario_door() RETURNS text
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import types
KEY = "welfare_scenario @extversion@"
if KEY in GD:
    return KEY
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
records, rules = wi.records, wi.rules  # shared (010-bootstrap.sql)
from welfare_core import scenario, scenario_compare, privacy
pd, np = wi.pd, wi.np
T = wi.model.TABLES


def inputs(period):
    """The welfare tables a scenario run needs (demand and totals of the period only;
    after the last population year, projected: wi.period_tables)."""
    tables = {name: wi.table_frame(name, cols) for name, cols in (
        ("zone", ("zone_id", "municipality_code", "level", "parent_id", "geometry")),
        ("target", None), ("service_type", None), ("service_target", None),
        ("facility", None),
        ("candidate_site", ("site_id", "municipality_code", "service_type_id", "geometry")))}
    return wi.period_tables(tables, period, totals=True)


def chain(scenario_id):
    """The changes of a scenario and of its bases (base first); NULL = no changes."""
    if scenario_id is None:
        return []
    rows = plpy.execute(plpy.prepare(
        "WITH RECURSIVE up(scenario_id, base_scenario_id, depth) AS ("
        " SELECT s.scenario_id, s.base_scenario_id, 0 FROM welfare.scenario s WHERE s.scenario_id = $1"
        " UNION ALL SELECT s.scenario_id, s.base_scenario_id, up.depth + 1 FROM welfare.scenario s"
        " JOIN up ON s.scenario_id = up.base_scenario_id WHERE up.depth < 100)"
        " SELECT up.scenario_id, up.base_scenario_id, up.depth FROM up ORDER BY depth DESC",
        ["bigint"]), [scenario_id])
    if not rows:
        wi.fail(f"scenario {scenario_id} does not exist or is private to another analyst",
                sqlstate="23503", hint="list the ones you can use: SELECT * FROM welfare.scenario")
    if rows[0]["base_scenario_id"] is not None:
        wi.fail(f"scenario {scenario_id} builds on scenario {rows[0]['base_scenario_id']}, "
                "which is private to another analyst", sqlstate="42501",
                hint="ask its owner to share it")
    ids = [r["scenario_id"] for r in rows]
    changes = plpy.execute(plpy.prepare(
        "SELECT c.kind, c.params::text AS params FROM welfare.scenario_change c "
        "JOIN unnest($1::bigint[]) WITH ORDINALITY AS o(id, k) ON o.id = c.scenario_id "
        "ORDER BY o.k, c.change_id", ["bigint[]"]), [ids])
    return wi.call(scenario.changes_from_records,
                   [{"kind": r["kind"], "params": r["params"]} for r in changes])


def compare(a, b, level, period, method, measures=None, published=None):
    """Comparison of scenario b with scenario a (NULL = the current data); with
    published = (rules, sensitive), the published columns added, coverage, gap and access
    computed on published demand (scenario_compare.published_comparison)."""
    if level is None or period is None:
        wi.fail("level and period are required", hint="e.g. ('neighbourhood', 2023)")
    base = wi.call(scenario_compare.prepare, inputs(period))
    ta = wi.call(scenario.apply, base, chain(a))
    tb = wi.call(scenario.apply, base, chain(b))
    options = dict(method=method or "2sfca",
                   measures=tuple(measures) if measures else scenario_compare.MEASURES)
    frame = wi.call(scenario_compare.compare, ta, tb, level, period, **options)
    if published is None:
        return frame
    rules, sensitive = published
    return wi.call(scenario_compare.published_comparison, ta, tb, level, period, rules=rules,
                   sensitive=sensitive, comparison=frame, **options)


def check(kind, params):
    c = wi.call(scenario.changes_from_records, [{"kind": kind, "params": params or "{}"}])[0]
    return c.to_json()


GD[KEY] = types.SimpleNamespace(compare=compare, check=check, records=records, rules=rules,
                                fail=wi.fail,
                                scenario=scenario, scenario_compare=scenario_compare)
return KEY
$python$;
COMMENT ON FUNCTION welfare._scenario_door() IS 'loads the scenario adapter once per session (internal)';

CREATE OR REPLACE FUNCTION welfare._check_scenario_change(kind text, params text)
RETURNS text
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
sd = GD.get("welfare_scenario @extversion@") or plpy.execute(
    "SELECT welfare._scenario_door()") and GD["welfare_scenario @extversion@"]
return sd.check(kind, params)
$python$;
COMMENT ON FUNCTION welfare._check_scenario_change(text, text) IS
    'validates a scenario change and returns its normalised parameters (internal)';

CREATE OR REPLACE FUNCTION welfare._compare_scenarios_json(
    a bigint, b bigint, level text, period integer, method text, measures text[])
RETURNS json
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
sd = GD.get("welfare_scenario @extversion@") or plpy.execute(
    "SELECT welfare._scenario_door()") and GD["welfare_scenario @extversion@"]
frame = sd.compare(a, b, level, period, method, measures)
return sd.records(frame, sd.scenario_compare.COMPARE_COLUMNS)
$python$;
COMMENT ON FUNCTION welfare._compare_scenarios_json(bigint, bigint, text, integer, text, text[]) IS
    'PL/Python body of welfare.compare_scenarios (internal)';

-- Runs a scenario against compared_to (NULL = the current data) and stores the
-- comparison under a new run id. One statement: a failure leaves nothing behind.
CREATE OR REPLACE FUNCTION welfare._run_scenario(
    scenario_id bigint, level text, period integer, compare_to bigint, method text)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import json, time
sd = GD.get("welfare_scenario @extversion@") or plpy.execute(
    "SELECT welfare._scenario_door()") and GD["welfare_scenario @extversion@"]
t0 = time.perf_counter()
if scenario_id is None:
    sd.fail("scenario_id is required", hint="create one with welfare.create_scenario")
how = method or "2sfca"
run_id = plpy.execute(plpy.prepare(
    "SELECT welfare.log_run_start('scenario', $1::jsonb) AS run_id",
    ["text"]), [json.dumps({"scenario_id": scenario_id, "compared_to": compare_to,
                            "level": level, "period": period, "method": how})])[0]["run_id"]
sensitive = [r["target_id"] for r in plpy.execute(
    "SELECT target_id FROM welfare.target WHERE sensitive")]
frame = sd.compare(compare_to, scenario_id, level, period, how,
                   published=(sd.rules(), sensitive))
frame = frame.assign(scenario_id=scenario_id, compared_to=compare_to)
cols = ", ".join(plpy.quote_ident(c) for c in frame.columns)
plpy.execute(plpy.prepare(
    f"INSERT INTO welfare.scenario_result (run_id, {cols}) SELECT $1, {cols} "
    "FROM pg_catalog.json_populate_recordset(NULL::welfare.scenario_result, $2)",
    ["bigint", "json"]), [run_id, sd.records(frame, frame.columns)])
changed = int((frame["direction"].isin(["gain", "loss"])).sum())
plpy.execute(plpy.prepare("SELECT welfare.log_run_finish($1, 'ok', $2)", ["bigint", "text"]),
             [run_id, f"{len(frame)} zone x target x measure rows, {changed} changed"])
return run_id
$python$;
COMMENT ON FUNCTION welfare._run_scenario(bigint, text, integer, bigint, text) IS
    'PL/Python body of welfare.run_scenario (internal)';

-- --- public functions: clean errors (see 005-errors.sql) ---------------------------------
CREATE OR REPLACE FUNCTION welfare.create_scenario(
    name text, description text DEFAULT NULL, shared boolean DEFAULT false,
    base_scenario_id bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE id bigint;
BEGIN
    IF base_scenario_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM welfare.scenario s WHERE s.scenario_id = create_scenario.base_scenario_id) THEN
        RAISE EXCEPTION 'base scenario % does not exist or is private to another analyst',
            base_scenario_id USING ERRCODE = '23503',
            HINT = 'list the ones you can use: SELECT * FROM welfare.scenario';
    END IF;
    IF coalesce(name, '') = '' THEN
        RAISE EXCEPTION 'a scenario needs a name' USING ERRCODE = '22023',
            HINT = 'e.g. welfare.create_scenario(''close RSA 12, open two day centres'')';
    END IF;
    INSERT INTO welfare.scenario (name, description, shared, base_scenario_id)
    VALUES (create_scenario.name, create_scenario.description, coalesce(create_scenario.shared, false),
            create_scenario.base_scenario_id)
    RETURNING scenario_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION welfare.create_scenario(text, text, boolean, bigint) IS
    'creates a scenario owned by the current role (private unless shared) on the current data '
    'or on a base scenario; returns its id';

CREATE OR REPLACE FUNCTION welfare._own_scenario(scenario_id bigint) RETURNS void
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE who text;
BEGIN
    SELECT s.owner INTO who FROM welfare.scenario s WHERE s.scenario_id = _own_scenario.scenario_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'scenario % does not exist or is private to another analyst', scenario_id
            USING ERRCODE = '23503', HINT = 'list the ones you can use: SELECT * FROM welfare.scenario';
    END IF;
    IF who <> current_user AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r
                                    WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'scenario % belongs to %: shared scenarios are read-only', scenario_id, who
            USING ERRCODE = '42501', HINT = 'copy it with welfare.copy_scenario and change the copy';
    END IF;
END
$$;
COMMENT ON FUNCTION welfare._own_scenario(bigint) IS
    'raises unless the scenario exists and belongs to the current role (internal)';

CREATE OR REPLACE FUNCTION welfare.add_scenario_change(
    scenario_id bigint, kind text, params jsonb DEFAULT '{}'::jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE id bigint; clean jsonb;
BEGIN
    PERFORM welfare._own_scenario(add_scenario_change.scenario_id);
    clean := welfare._check_scenario_change(kind, coalesce(params, '{}'::jsonb)::text)::jsonb;
    INSERT INTO welfare.scenario_change (scenario_id, kind, params)
    VALUES (add_scenario_change.scenario_id, add_scenario_change.kind, clean)
    RETURNING change_id INTO id;
    RETURN id;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.add_scenario_change(bigint, text, jsonb) IS
    'adds a change to one of your scenarios after checking it; kinds: open {facility_id, '
    'service_type_id, capacity, x, y | site_id}, close {facility_id | facility_ids}, move '
    '{facility_id, x, y | site_id}, capacity {facility_id | facility_ids | service_type_id, '
    'mode set|delta|pct, value}, demand {target_id, zone_ids, period, mode, value}, catchment '
    '{service_type_id, max_cost, decay, decay_param}, adopt {service_type_id, sites: '
    '[{site_id, capacity}], replace}; returns the change id';

CREATE OR REPLACE FUNCTION welfare.copy_scenario(
    scenario_id bigint, name text DEFAULT NULL, shared boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE src welfare.scenario; id bigint;
BEGIN
    SELECT * INTO src FROM welfare.scenario s WHERE s.scenario_id = copy_scenario.scenario_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'scenario % does not exist or is private to another analyst', scenario_id
            USING ERRCODE = '23503', HINT = 'list the ones you can use: SELECT * FROM welfare.scenario';
    END IF;
    INSERT INTO welfare.scenario (name, description, shared, base_scenario_id)
    VALUES (coalesce(copy_scenario.name, src.name || ' (copy)'), src.description,
            coalesce(copy_scenario.shared, false), src.base_scenario_id)
    RETURNING welfare.scenario.scenario_id INTO id;
    INSERT INTO welfare.scenario_change (scenario_id, kind, params)
    SELECT id, c.kind, c.params FROM welfare.scenario_change c
     WHERE c.scenario_id = src.scenario_id ORDER BY c.change_id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION welfare.copy_scenario(bigint, text, boolean) IS
    'copies a scenario you can read (yours or shared) with its changes into a new one you own '
    '(private unless shared); returns the new id';

CREATE OR REPLACE FUNCTION welfare.share_scenario(scenario_id bigint, shared boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM welfare._own_scenario(share_scenario.scenario_id);
    UPDATE welfare.scenario s SET shared = coalesce(share_scenario.shared, true)
     WHERE s.scenario_id = share_scenario.scenario_id;
END
$$;
COMMENT ON FUNCTION welfare.share_scenario(bigint, boolean) IS
    'shares one of your scenarios with every analyst (read-only to them), or makes it private again';

CREATE OR REPLACE FUNCTION welfare.compare_scenarios(
    a bigint, b bigint, level text, period integer, method text DEFAULT '2sfca',
    measures text[] DEFAULT NULL)
RETURNS TABLE (
    zone_id text, zone_level text, parent_id text, period_year integer, target_id text,
    measure text, base double precision, scenario double precision, change double precision,
    change_pct double precision, direction text, demand_effect double precision,
    supply_effect double precision, catchment_effect double precision, null_reason text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.zone_id, r.level, r.parent_id, r.period, r.target_id, r.measure, r.base,
           r.scenario, r.change, r.change_pct, r.direction, r.demand_effect, r.supply_effect,
           r.catchment_effect, r.null_reason
      FROM pg_catalog.json_populate_recordset(NULL::welfare.scenario_result,
               welfare._compare_scenarios_json(a, b, level, period, method, measures)) AS r;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.compare_scenarios(bigint, bigint, text, integer, text, text[]) IS
    'compares scenario b with scenario a (NULL = the current data) per zone of a level, target '
    'affected and measure (demand, supply, coverage_per_100, gap, access): values, change, % '
    'change, gain/loss and its Shapley decomposition into demand, supply and catchment effects '
    '(welfare_core.scenario_compare); raw values, for analysts; nothing is stored';

CREATE OR REPLACE FUNCTION welfare.run_scenario(
    scenario_id bigint, level text, period integer, compare_to bigint DEFAULT NULL,
    method text DEFAULT '2sfca')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN welfare._run_scenario(scenario_id, level, period, compare_to, method);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_scenario(bigint, text, integer, bigint, text) IS
    'applies a scenario (with its base scenarios) and stores its comparison with compare_to '
    '(NULL = the current data) in welfare.scenario_result under a new run id (logged in '
    'welfare.run); returns that id';

-- EXECUTE on these functions: the rules of 900-privileges.sql (admin, analyst).
GRANT SELECT, INSERT, UPDATE, DELETE ON welfare.scenario, welfare.scenario_change TO welfare_analyst;
GRANT SELECT, INSERT ON welfare.scenario_result TO welfare_analyst;
GRANT ALL ON welfare.scenario, welfare.scenario_change, welfare.scenario_result TO welfare_admin;
