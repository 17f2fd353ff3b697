-- Demand forecasts: thin adapters over welfare_core.forecast.
-- welfare._forecast_door() leaves the loader and row converters in GD once per
-- session (same pattern as welfare._indicators_door()).
--
-- Future periods: welfare.forecast_indicators(level, period) returns the rows of
-- welfare.zone_indicators for a year after the last population year, computed
-- on projected demand, population and households (welfare_core.forecast.
-- future_tables); the real welfare.demand table is never changed.
CREATE OR REPLACE FUNCTION welfare._forecast_door() RETURNS text
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import types
KEY = "welfare_forecast @extversion@"
if KEY in GD:
    return KEY
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
records, rules = wi.records, wi.rules  # shared (010-bootstrap.sql)
from welfare_core import forecast, indicators, privacy
T = wi.model.TABLES


def inputs(indicator_tables=False):
    """The welfare tables a forecast needs (population by sex and age, all years)."""
    wanted = [("zone", ("zone_id", "level", "parent_id")), ("target", None),
              ("target_prevalence", None), ("target_household", None),
              ("population", ("zone_id", "period", "sex", "age", "persons")),
              ("household", ("zone_id", "period", "household_type_id", "households"))]
    if indicator_tables:
        wanted += [("service_type", None), ("service_target", None),
                   ("facility", ("facility_id", "service_type_id", "capacity", "active_from",
                                 "active_to", "geometry"))]
    tables = {name: wi.table_frame(name, cols) for name, cols in wanted}
    if indicator_tables:
        zone = wi.table_frame("zone", ("zone_id", "level", "parent_id", "geometry"))
        tables["zone"] = zone
    return tables


def demand(target, horizon, method, level, step, control, damping, interval):
    if target is None or horizon is None:
        wi.fail("target and horizon are required", hint="e.g. ('pop_80plus', 7)")
    wi.call(forecast.check_arguments, horizon, method or "hamilton_perry",
            level or "neighbourhood", 1 if step is None else step,
            forecast.INTERVAL if interval is None else interval,
            forecast.DAMPING if damping is None else damping)  # before reading the tables
    return wi.call(forecast.forecast_demand, inputs(), [target], horizon,
                   method=method or "hamilton_perry", level=level or "neighbourhood",
                   step=1 if step is None else step, control=control,
                   damping=forecast.DAMPING if damping is None else damping,
                   interval=forecast.INTERVAL if interval is None else interval)


def future_indicators(level, period, step, control, damping, targets=None):
    if level is None or period is None:
        wi.fail("level and period are required", hint="e.g. ('neighbourhood', 2030)")
    tables = inputs(indicator_tables=True)
    future = wi.call(forecast.future_tables, tables, level, period,
                     step=1 if step is None else step, control=control,
                     damping=forecast.DAMPING if damping is None else damping)
    rows, services = wi.call(indicators.zone_indicators, future, level, period,
                             targets=targets)
    return rows, services


def publish(frame, sensitive, level):
    return forecast.publish_forecast(frame, rules(), sensitive=sensitive, level=level)


GD[KEY] = types.SimpleNamespace(demand=demand, future_indicators=future_indicators,
                                records=records, publish=publish, forecast=forecast,
                                indicators=indicators)
return KEY
$python$;
COMMENT ON FUNCTION welfare._forecast_door() IS 'loads the forecast adapter once per session (internal)';

CREATE OR REPLACE FUNCTION welfare._forecast_demand_json(
    target text, horizon integer, method text, level text, step integer, control text,
    damping double precision, interval_level double precision)
RETURNS json
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
fd = GD.get("welfare_forecast @extversion@") or plpy.execute(
    "SELECT welfare._forecast_door()") and GD["welfare_forecast @extversion@"]
frame = fd.demand(target, horizon, method, level, step, control, damping, interval_level)
return fd.records(frame, fd.forecast.FORECAST_COLUMNS)
$python$;
COMMENT ON FUNCTION welfare._forecast_demand_json(text, integer, text, text, integer, text, double precision, double precision)
    IS 'PL/Python body of welfare.forecast_demand (internal)';

CREATE OR REPLACE FUNCTION welfare._run_forecast_demand(
    target text, horizon integer, method text, level text, step integer, control text,
    damping double precision, interval_level double precision)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import json
fd = GD.get("welfare_forecast @extversion@") or plpy.execute(
    "SELECT welfare._forecast_door()") and GD["welfare_forecast @extversion@"]
params = {"target": target, "horizon": horizon, "method": method, "level": level,
          "step": step, "control": control, "damping": damping, "interval": interval_level}
run_id = plpy.execute(plpy.prepare(
    "SELECT welfare.log_run_start('forecast_demand', $1::jsonb) AS run_id", ["text"]),
    [json.dumps(params)])[0]["run_id"]
frame = fd.demand(target, horizon, method, level, step, control, damping, interval_level)
sensitive = [r["target_id"] for r in plpy.execute(
    "SELECT target_id FROM welfare.target WHERE sensitive")]
frame = fd.publish(frame, sensitive, level)
cols = ", ".join(plpy.quote_ident(c) for c in frame.columns)
plpy.execute(plpy.prepare(
    f"INSERT INTO welfare.forecast_result (run_id, {cols}) SELECT $1, {cols} "
    "FROM pg_catalog.json_populate_recordset(NULL::welfare.forecast_result, $2)",
    ["bigint", "json"]), [run_id, fd.records(frame, frame.columns)])
plpy.execute(plpy.prepare("SELECT welfare.log_run_finish($1, 'ok', $2)", ["bigint", "text"]),
             [run_id, frame["note"].iloc[0]])
return run_id
$python$;
COMMENT ON FUNCTION welfare._run_forecast_demand(text, integer, text, text, integer, text, double precision, double precision)
    IS 'PL/Python body of welfare.run_forecast_demand (internal)';

CREATE OR REPLACE FUNCTION welfare._forecast_indicators_json(
    level text, period integer, step integer, control text, damping double precision)
RETURNS json
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
fd = GD.get("welfare_forecast @extversion@") or plpy.execute(
    "SELECT welfare._forecast_door()") and GD["welfare_forecast @extversion@"]
rows, _ = fd.future_indicators(level, period, step, control, damping)
return fd.records(rows, fd.indicators.TARGET_COLUMNS)
$python$;
COMMENT ON FUNCTION welfare._forecast_indicators_json(text, integer, integer, text, double precision)
    IS 'PL/Python body of welfare.forecast_indicators (internal)';

CREATE OR REPLACE FUNCTION welfare._forecast_service_indicators_json(
    level text, period integer, step integer, control text, damping double precision)
RETURNS json
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
fd = GD.get("welfare_forecast @extversion@") or plpy.execute(
    "SELECT welfare._forecast_door()") and GD["welfare_forecast @extversion@"]
_, services = fd.future_indicators(level, period, step, control, damping)
return fd.records(services, fd.indicators.SERVICE_COLUMNS)
$python$;
COMMENT ON FUNCTION welfare._forecast_service_indicators_json(text, integer, integer, text, double precision)
    IS 'PL/Python body of welfare.forecast_service_indicators (internal)';

-- Public functions: clean errors around the PL/Python bodies (see 005-errors.sql).
CREATE OR REPLACE FUNCTION welfare.forecast_demand(
    target text, horizon integer, method text DEFAULT 'hamilton_perry',
    level text DEFAULT 'neighbourhood', step integer DEFAULT 1, control text DEFAULT NULL,
    damping double precision DEFAULT 50, interval_level double precision DEFAULT 0.8)
RETURNS TABLE (
    zone_id text, zone_level text, target_id text, unit text, period integer,
    base_period integer, demand double precision, lower double precision,
    upper double precision, forecast_method text, note text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.zone_id, r.level, r.target_id, r.unit, r.period, r.base_period, r.demand,
           r.lower, r.upper, r.method, r.note
      FROM pg_catalog.json_populate_recordset(NULL::welfare.forecast_result,
               welfare._forecast_demand_json(target, horizon, method, level, step, control,
                                             damping, interval_level)) AS r;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.forecast_demand(text, integer, text, text, integer, text, double precision, double precision) IS
    'projected demand of a target per zone of a level, every year from the last population '
    'year (observed) to horizon years later, with a prediction interval (lower, upper) from '
    'the errors of past projections; method hamilton_perry (person targets), linear, '
    'log_linear, share_of_city or auto; step 1 or 5 years; control cohort_component rakes '
    'the zones to a Leslie projection; damping (persons) shrinks tiny zones'' ratios toward '
    'all zones''; formulas in welfare_core.forecast; raw values, for analysts';

CREATE OR REPLACE FUNCTION welfare.run_forecast_demand(
    target text, horizon integer, method text DEFAULT 'hamilton_perry',
    level text DEFAULT 'neighbourhood', step integer DEFAULT 1, control text DEFAULT NULL,
    damping double precision DEFAULT 50, interval_level double precision DEFAULT 0.8)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN welfare._run_forecast_demand(target, horizon, method, level, step, control,
                                        damping, interval_level);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_forecast_demand(text, integer, text, text, integer, text, double precision, double precision) IS
    'runs forecast_demand, stores its rows (raw and published) in welfare.forecast_result '
    'under a new run id (logged in welfare.run) and returns that id';

CREATE OR REPLACE FUNCTION welfare.forecast_indicators(
    level text, period integer, step integer DEFAULT 1, control text DEFAULT NULL,
    damping double precision DEFAULT 50)
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
               welfare._forecast_indicators_json(level, period, step, control, damping)) AS r;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.forecast_indicators(text, integer, integer, text, double precision) IS
    'welfare.zone_indicators for a future year: the same columns, computed on projected '
    'demand (Hamilton-Perry for person targets, share-of-city trend for household targets), '
    'projected residents and households, and the facilities active in that year; '
    'welfare.demand is not changed; raw values, for analysts';

-- the columns of welfare.zone_service_indicators; 0.1.1 added its accessibility columns
-- (NULL here: a forecast is at the level only, accessibility needs the sections' demand)
DROP FUNCTION IF EXISTS welfare.forecast_service_indicators(text, integer, integer, text,
                                                            double precision);
CREATE FUNCTION welfare.forecast_service_indicators(
    level text, period integer, step integer DEFAULT 1, control text DEFAULT NULL,
    damping double precision DEFAULT 50)
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
               welfare._forecast_service_indicators_json(level, period, step, control, damping)) AS r;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.forecast_service_indicators(text, integer, integer, text, double precision) IS
    'welfare.zone_service_indicators for a future year (coverage and gap of each service type '
    'against projected demand); welfare.demand is not changed; raw values, for analysts';

-- EXECUTE on these functions: the rules of 900-privileges.sql (admin, analyst).
GRANT SELECT, INSERT ON welfare.forecast_result TO welfare_analyst;
GRANT ALL ON welfare.forecast_result TO welfare_admin;
