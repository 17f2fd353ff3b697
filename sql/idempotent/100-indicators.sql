-- Zone indicators: thin adapters over welfare_core.indicators.
-- welfare._indicators_door() leaves the loader and row converters in GD once
-- per session (same pattern as welfare._bootstrap()).
CREATE OR REPLACE FUNCTION welfare._indicators_door() RETURNS text
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import types
KEY = "welfare_indicators @extversion@"
if KEY in GD:
    return KEY
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
records, rules = wi.records, wi.rules  # shared (010-bootstrap.sql)
import json
from welfare_core import indicators, privacy, privacy_audit
pd, np = wi.pd, wi.np
T = wi.model.TABLES


def inputs():
    """The welfare tables the indicators need, demand and totals aside (wi.period_tables)."""
    return {name: wi.table_frame(name, cols) for name, cols in (
        ("zone", ("zone_id", "municipality_code", "level", "parent_id", "geometry")),
        ("target", None), ("service_type", None), ("service_target", None),
        ("facility", ("facility_id", "service_type_id", "capacity", "active_from",
                      "active_to", "geometry")))}


def compute(level, period, targets=None, accessibility=False, published=None):
    """Indicators of a past or present period; after the last population year, of the
    forecast at ``level`` (wi.period_tables: welfare_core.forecast, default settings),
    never stored. published = (rules, sensitive) or (rules, sensitive, published_with):
    also the published copies, every value from published counts only
    (welfare_core.privacy.publish_zone_indicators), with the complementary cells that
    keep the level safe beside ``published_with`` (see published_with())."""
    if level is None or period is None:
        wi.fail("level and period are required", hint="e.g. ('neighbourhood', 2023)")
    tables = wi.period_tables(inputs(), period, level=level, totals=True)
    if accessibility:  # from the sections' demand: a forecast is at ``level`` only, so NULL
        last = plpy.execute("SELECT max(period) AS p FROM welfare.population")[0]["p"]
        accessibility = last is None or period <= last
    rows, services = wi.call(indicators.zone_indicators, tables, level, period,
                             targets=targets, accessibility=accessibility)
    if published is None:
        return rows, services
    rules, sensitive = published[:2]
    means = (wi.call(indicators.service_access,
                     privacy.with_published_demand(tables, rules, sensitive=sensitive),
                     level, period) if accessibility else None)
    comp = None
    if len(published) > 2 and published[2] is not None:
        other_t, other_s, run_rules = published[2]
        comp = wi.call(privacy_audit.complementary_suppression, rows, services, rules,
                       level=level, sensitive=sensitive, published_with=(other_t, other_s),
                       run_rules=run_rules)
    pub_t = wi.call(privacy.publish_zone_indicators, rows, rules, sensitive=sensitive,
                    level=level, services=services, service_target=tables["service_target"],
                    complementary=comp)
    pub_s = wi.call(privacy.publish_zone_indicators, services, rules, sensitive=sensitive,
                    level=level, access=means, complementary=comp)
    return rows, services, pub_t, pub_s


def published_with(level, period):
    """What welfare_bi already shows for ``period`` at the other levels (the latest run per
    level whose audit passed, 205-publication-audit.sql), as
    welfare_core.privacy_audit.audit_zone_indicators takes it: (target rows, service rows,
    {run_id: Rules of its publication})."""
    others = plpy.execute(plpy.prepare(
        "SELECT DISTINCT ON (r.parameters ->> 'level') r.run_id, a.rules::text AS rules "
        "FROM welfare.run r JOIN welfare.publication_audit a ON a.run_id = r.run_id AND a.passed "
        "WHERE r.kind = 'zone_indicators' AND r.status = 'ok' "
        "AND (r.parameters ->> 'period')::integer = $1 AND r.parameters ->> 'level' <> $2 "
        "ORDER BY r.parameters ->> 'level', r.run_id DESC", ["integer", "text"]),
        [period, level])
    runs = [o["run_id"] for o in others]

    def frame(query):
        j = plpy.execute(plpy.prepare(
            f"SELECT COALESCE(pg_catalog.json_agg(q), '[]')::text AS j FROM ({query}) q",
            ["bigint[]"]), [runs])[0]["j"]
        return pd.DataFrame.from_records(json.loads(j))

    t = frame("SELECT run_id, target_id, zone_id, parent_id, demand_pub AS demand, published, "
              "demand_complementary AS complementary "
              "FROM welfare.zone_indicator_result WHERE run_id = ANY($1)")
    s = frame("SELECT run_id, reference_target_id, zone_id, parent_id, "
              "reference_population_pub AS reference_population, "
              "reference_population_complementary AS complementary "
              "FROM welfare.zone_service_result WHERE run_id = ANY($1)")
    if len(t):
        t["demand"] = t["demand"].astype(float)
    if len(s):
        s["reference_population"] = s["reference_population"].astype(float)
    run_rules = {o["run_id"]: wi.call(privacy.Rules, **json.loads(o["rules"])) for o in others}
    return (t if len(t) else None), (s if len(s) else None), run_rules


GD[KEY] = types.SimpleNamespace(compute=compute, published_with=published_with,
                                records=records, rules=rules, privacy=privacy,
                                indicators=indicators, pd=pd, np=np)
return KEY
$python$;
COMMENT ON FUNCTION welfare._indicators_door() IS 'loads the indicator adapter once per session (internal)';

CREATE OR REPLACE FUNCTION welfare._zone_indicators_json(
    level text, period integer, targets text[] DEFAULT NULL)
RETURNS json
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ind = GD.get("welfare_indicators @extversion@") or plpy.execute(
    "SELECT welfare._indicators_door()") and GD["welfare_indicators @extversion@"]
frame, _ = ind.compute(level, period, targets)
return ind.records(frame, ind.indicators.TARGET_COLUMNS)
$python$;
COMMENT ON FUNCTION welfare._zone_indicators_json(text, integer, text[]) IS 'PL/Python body of welfare.zone_indicators (internal)';

CREATE OR REPLACE FUNCTION welfare._zone_service_indicators_json(level text, period integer)
RETURNS json
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ind = GD.get("welfare_indicators @extversion@") or plpy.execute(
    "SELECT welfare._indicators_door()") and GD["welfare_indicators @extversion@"]
_, frame = ind.compute(level, period, accessibility=True)
return ind.records(frame, ind.indicators.SERVICE_COLUMNS)
$python$;
COMMENT ON FUNCTION welfare._zone_service_indicators_json(text, integer) IS 'PL/Python body of welfare.zone_service_indicators (internal)';

-- Runs the indicators and stores them (raw and published) under a new run id.
-- One statement: a failure leaves no half-written run behind.
CREATE OR REPLACE FUNCTION welfare._run_zone_indicators(level text, period integer)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import json
ind = GD.get("welfare_indicators @extversion@") or plpy.execute(
    "SELECT welfare._indicators_door()") and GD["welfare_indicators @extversion@"]
run_id = plpy.execute(plpy.prepare(
    "SELECT welfare.log_run_start('zone_indicators', $1::jsonb) AS run_id",
    ["text"]), [json.dumps({"level": level, "period": period})])[0]["run_id"]
sensitive = [r["target_id"] for r in plpy.execute(
    "SELECT target_id FROM welfare.target WHERE sensitive")]
# complementary cells against what the other levels already publish for the period
targets, services, pub_t, pub_s = ind.compute(
    level, period, accessibility=True,
    published=(ind.rules(), sensitive, ind.published_with(level, period)))
targets = targets.assign(
    published=pub_t["published"], demand_pub=pub_t["demand"],
    demand_complementary=pub_t["complementary"].to_numpy(bool),
    reference_population_pub=pub_t["reference_population"],
    incidence_pub=pub_t["incidence_per_100"], coverage_pub=pub_t["coverage_per_100"],
    gap_pub=pub_t["gap"], location_quotient_pub=pub_t["location_quotient"],
    incidence_rank_pub=pub_t["incidence_rank"], incidence_pct_rank_pub=pub_t["incidence_pct_rank"],
    coverage_rank_pub=pub_t["coverage_rank"], coverage_pct_rank_pub=pub_t["coverage_pct_rank"])
# a service row of a sensitive reference target below the fixed geographies (published
# False) keeps no published value: zone_service_result has no published column
shown = pub_s["published"].to_numpy(bool)
services = services.assign(**{out: pub_s[col].where(shown) for out, col in (
    ("reference_population_pub", "reference_population"),
    ("coverage_pub", "coverage_per_100"), ("gap_pub", "gap"),
    ("access_pub", "access_per_100"), ("nearest_cost_pub", "nearest_cost"),
    ("share_within_pub", "share_within"))},
    reference_population_complementary=pub_s["complementary"].to_numpy(bool) & shown)


def insert(table, frame):
    """Bulk insert: one JSON document expanded by json_populate_recordset (C speed)."""
    cols = ", ".join(plpy.quote_ident(c) for c in frame.columns)
    plpy.execute(plpy.prepare(
        f"INSERT INTO welfare.{plpy.quote_ident(table)} (run_id, {cols}) SELECT $1, {cols} "
        f"FROM pg_catalog.json_populate_recordset(NULL::welfare.{plpy.quote_ident(table)}, $2)",
        ["bigint", "json"]), [run_id, ind.records(frame, frame.columns)])


insert("zone_indicator_result", targets)
insert("zone_service_result", services)
plpy.execute(plpy.prepare("SELECT welfare.log_run_finish($1, 'ok')", ["bigint"]), [run_id])
return run_id
$python$;
COMMENT ON FUNCTION welfare._run_zone_indicators(text, integer) IS 'PL/Python body of welfare.run_zone_indicators (internal)';

-- Public functions: clean errors around the PL/Python bodies (see 005-errors.sql).
CREATE OR REPLACE FUNCTION welfare.zone_indicators(level text, period integer, targets text[] DEFAULT NULL)
RETURNS TABLE (
    zone_id text, zone_level text, parent_id text, period_year integer, target_id text,
    unit text, polarity text, demand double precision, reference_population double precision,
    incidence_per_100 double precision, supply double precision,
    coverage_per_100 double precision, required double precision, gap double precision,
    location_quotient double precision, incidence_rank integer,
    incidence_pct_rank double precision, incidence_z double precision,
    coverage_rank integer, coverage_pct_rank double precision, coverage_z double precision,
    null_reason text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.zone_id, r.level, r.parent_id, r.period, r.target_id, r.unit,
           r.polarity, r.demand, r.reference_population, r.incidence_per_100, r.supply, r.coverage_per_100,
           r.required, r.gap, r.location_quotient, r.incidence_rank, r.incidence_pct_rank, r.incidence_z,
           r.coverage_rank, r.coverage_pct_rank, r.coverage_z, r.null_reason
      FROM pg_catalog.json_populate_recordset(NULL::welfare.zone_indicator_result,
               welfare._zone_indicators_json(level, period, targets)) AS r;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.zone_indicators(text, integer, text[]) IS
    'per zone of a level and target, for a period: demand, incidence, supply, coverage, gap, '
    'location quotient, ranks (formulas in welfare_core.indicators); raw values, for analysts';

-- 0.1.1 added the accessibility columns to RETURNS TABLE: drop the 0.1.0 function first
DROP FUNCTION IF EXISTS welfare.zone_service_indicators(text, integer);
CREATE FUNCTION welfare.zone_service_indicators(level text, period integer)
RETURNS TABLE (
    zone_id text, zone_level text, parent_id text, period_year integer, service_type_id text,
    reference_target_id text, reference_population double precision,
    supply double precision, coverage_per_100 double precision,
    standard_per_100 double precision, gap double precision, facilities integer,
    coverage_rank integer, coverage_pct_rank double precision, coverage_z double precision,
    gap_rank integer, gap_pct_rank double precision, gap_z double precision,
    access_per_100 double precision, nearest_cost double precision,
    share_within double precision, null_reason text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.zone_id, r.level, r.parent_id, r.period, r.service_type_id, r.reference_target_id,
           r.reference_population, r.supply, r.coverage_per_100, r.standard_per_100, r.gap, r.facilities,
           r.coverage_rank, r.coverage_pct_rank, r.coverage_z, r.gap_rank, r.gap_pct_rank, r.gap_z,
           r.access_per_100, r.nearest_cost, r.share_within, r.null_reason
      FROM pg_catalog.json_populate_recordset(NULL::welfare.zone_service_result,
               welfare._zone_service_indicators_json(level, period)) AS r;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.zone_service_indicators(text, integer) IS
    'per zone of a level and service type, for a period: reference population, supply, '
    'coverage per 100, gap to the standard, ranks, and accessibility of the reference '
    'population in the type''s catchment (access_per_100 by 2SFCA, nearest_cost, '
    'share_within: demand-weighted means of the sections; NULL for forecast years); '
    'raw values, for analysts';

CREATE OR REPLACE FUNCTION welfare.run_zone_indicators(level text, period integer)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    new_run bigint;
    why text;
BEGIN
    new_run := welfare._run_zone_indicators(level, period);
    -- differencing audit (205-publication-audit.sql): welfare_bi shows the run only if it passes
    PERFORM welfare._audit_publication(new_run);
    SELECT a.message INTO why FROM welfare.publication_audit a
     WHERE a.run_id = new_run AND NOT a.passed;
    IF FOUND THEN
        RAISE WARNING 'run % is stored but not published: differencing audit failed: %', new_run, why
          USING HINT = 'see welfare.publication_audit; raise settings round_to or suppress_below, '
                       'or publish fewer levels for this period';
    END IF;
    RETURN new_run;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_zone_indicators(text, integer) IS
    'runs zone indicators for a level and period, stores them in zone_indicator_result and '
    'zone_service_result under a new run id (logged in welfare.run), audits the publication '
    '(welfare.audit_publication: welfare_bi shows the run only if it passes) and returns the id';

-- EXECUTE on these functions: the rules of 900-privileges.sql (admin, analyst).
GRANT SELECT, INSERT ON welfare.zone_indicator_result, welfare.zone_service_result TO welfare_analyst;
