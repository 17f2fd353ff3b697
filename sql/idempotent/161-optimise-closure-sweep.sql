-- Closure and sweep through SQL: thin adapters over welfare_core.optimise.zone_models.
--
-- welfare.closure_plan: which k facilities of a service type (active in period)
-- to close with the least loss of coverage (zone_models.closure_plan, exact);
-- facility_municipality limits the closures to one municipality's facilities.
-- welfare.sweep_locations: the trade-off curve of optimise_locations over
-- new_sites = 0 .. max_new (zone_models.sweep_locations), with the marginal gain.
-- run_closure_plan stores into welfare.optimise_site / optimise_allocation /
-- optimise_summary (model 'closure'); run_sweep_locations into
-- welfare.optimise_sweep. Every solve has a time limit (default 60 s; for a
-- sweep, per point of the curve): a PL/Python call cannot be cancelled.
CREATE OR REPLACE FUNCTION welfare._optimise_more_door() RETURNS text
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import types
KEY = "welfare_optimise_more @extversion@"
if KEY in GD:
    return KEY
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
from welfare_core.optimise import zone_models


def check_limit(time_limit):
    if time_limit is None or not time_limit > 0:
        wi.fail(f"time_limit must be a positive number of seconds, got {time_limit}",
                hint="every solve started from SQL needs a time limit (it cannot be cancelled)")
    return float(time_limit)


def tables(service_type_id, period):
    if service_type_id is None or period is None:
        wi.fail("service_type_id and period are required", hint="e.g. ('nursery', 2023)")
    t = {name: wi.table_frame(name, cols) for name, cols in (
        ("zone", ("zone_id", "municipality_code", "level", "parent_id", "geometry")),
        ("service_type", None), ("service_target", None), ("candidate_site", None))}
    t["facility"] = wi.table_frame("facility", ("facility_id", "municipality_code", "service_type_id", "name",
                                                "capacity", "active_from", "active_to", "geometry"))
    return wi.period_tables(t, period)  # after the last population year: projected


def closure(p):
    p = dict(p)
    limit = check_limit(p.pop("time_limit"))
    stid, period, k = p.pop("service_type_id"), p.pop("period"), p.pop("k")
    if k is None:
        wi.fail("k is required", hint="the number of facilities to close, e.g. 1")
    return wi.call(zone_models.closure_plan, tables(stid, period), stid, k, period, time_limit=limit, **p)


def sweep(p):
    p = dict(p)
    limit = check_limit(p.pop("time_limit"))
    stid, period = p.pop("service_type_id"), p.pop("period")
    model, max_new = p.pop("model"), p.pop("max_new")
    if model is None or max_new is None:
        wi.fail("model and max_new are required", hint="e.g. ('mclp', 5)")
    return wi.call(zone_models.sweep_locations, tables(stid, period), stid, model, max_new, period,
                   time_limit=limit, **p)


def closure_rows(sites, summary):
    head = tuple(summary[k] for k in ("status", "objective", "gap", "covered_before", "covered_after",
                                      "coverage_pct_before", "coverage_pct_after"))
    cols = [sites[c].tolist() for c in ("site_id", "name", "chosen", "x", "y", "capacity",
                                        "demand_served", "n_points")]
    return [(r[0], r[1], not r[2]) + tuple(r[3:]) + head for r in zip(*cols)]


def none(values):
    return [None if (isinstance(v, float) and v != v) else v for v in values]


def sweep_rows(curve):
    cols = list(zone_models.SWEEP_COLUMNS)
    return [tuple(r) for r in zip(*[none(curve[c].tolist()) for c in cols])]


def start(kind, params):
    import json
    return plpy.execute(plpy.prepare(
        "SELECT welfare.log_run_start($1, $2::jsonb) AS run_id", ["text", "text"]),
        [kind, json.dumps(params)])[0]["run_id"]


def finish(run_id, note):
    plpy.execute(plpy.prepare("SELECT welfare.log_run_finish($1, 'ok', $2)", ["bigint", "text"]),
                 [run_id, note])


def store_closure(params):
    import json
    run_id = start("closure_plan", params)
    sites, alloc, summary = closure(params)
    s_cols = list(zone_models.SITE_COLUMNS)
    plpy.execute(plpy.prepare(
        "INSERT INTO welfare.optimise_site (run_id, " + ", ".join(s_cols) + ") SELECT $1, * FROM "
        "unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::float8[], $7::float8[], "
        "$8::float8[], $9::float8[], $10::float8[], $11::integer[])",
        ["bigint", "text[]", "text[]", "text[]", "boolean[]"] + ["float8[]"] * 5 + ["integer[]"]),
        [run_id] + [none(sites[c].astype(object).where(sites[c].notna(), None).tolist()) for c in s_cols])
    a_cols = list(zone_models.ALLOCATION_COLUMNS)
    plpy.execute(plpy.prepare(
        "INSERT INTO welfare.optimise_allocation (run_id, " + ", ".join(a_cols) + ") SELECT $1, * FROM "
        "unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[])",
        ["bigint", "text[]", "text[]", "float8[]", "float8[]", "float8[]"]),
        [run_id] + [alloc[c].tolist() for c in a_cols])
    plpy.execute(plpy.prepare(
        "INSERT INTO welfare.optimise_summary SELECT * FROM "
        "jsonb_populate_record(NULL::welfare.optimise_summary, $1::jsonb)", ["text"]),
        [json.dumps(dict(run_id=run_id, **{k: summary[k] for k in zone_models.SUMMARY_KEYS}))])
    finish(run_id, f"closure of {params['k']}: {summary['status']}, coverage lost {summary['objective']:g}")
    return run_id


def store_sweep(params):
    run_id = start("sweep_locations", params)
    curve = sweep(params)
    rows = sweep_rows(curve)
    cols = list(zone_models.SWEEP_COLUMNS)
    plpy.execute(plpy.prepare(
        "INSERT INTO welfare.optimise_sweep (run_id, model, " + ", ".join(cols) + ") "
        "SELECT $1, $2, (r->>'new_sites')::integer, (r->>'p')::integer, (r->>'objective')::float8, "
        "(r->>'covered')::float8, (r->>'coverage_pct')::float8, (r->>'gain')::float8, r->>'status', "
        "(r->>'gap')::float8, ARRAY(SELECT pg_catalog.jsonb_array_elements_text(r->'new_site_ids')), "
        "(r->>'seconds')::float8 FROM pg_catalog.jsonb_array_elements($3::jsonb) r",
        ["bigint", "text", "text"]),
        [run_id, params["model"], __import__("json").dumps([dict(zip(cols, r)) for r in rows])])
    finish(run_id, f"sweep {params['model']} 0..{params['max_new']}: {len(rows)} points")
    return run_id


GD[KEY] = types.SimpleNamespace(closure=closure, sweep=sweep, closure_rows=closure_rows,
                                sweep_rows=sweep_rows, store_closure=store_closure,
                                store_sweep=store_sweep)
return KEY
$python$;
COMMENT ON FUNCTION welfare._optimise_more_door() IS 'loads the closure and sweep adapter once per session (internal)';

-- --- closure_plan -----------------------------------------------------------------------------
-- facility_municipality (trailing, DEFAULT NULL) was added to the signature: drop the old one
-- so no overload remains (CREATE OR REPLACE cannot change the argument list).
DROP FUNCTION IF EXISTS welfare.run_closure_plan(text, integer, integer, double precision, text[], boolean, double precision);
DROP FUNCTION IF EXISTS welfare.closure_plan(text, integer, integer, double precision, text[], boolean, double precision);
DROP FUNCTION IF EXISTS welfare._run_closure_plan(text, integer, integer, double precision, text[], boolean, double precision);
DROP FUNCTION IF EXISTS welfare._closure_plan(text, integer, integer, double precision, text[], boolean, double precision);
CREATE OR REPLACE FUNCTION welfare._closure_plan(service_type_id text, k integer, period integer, max_cost double precision, keep text[], capacitated boolean, time_limit double precision, facility_municipality text)
RETURNS TABLE (site_id text, name text, closed boolean, x double precision, y double precision,
               capacity double precision, demand_served double precision, n_points integer,
               status text, objective double precision, gap double precision,
               covered_before double precision, covered_after double precision,
               coverage_pct_before double precision, coverage_pct_after double precision)
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ox = GD.get("welfare_optimise_more @extversion@") or plpy.execute(
    "SELECT welfare._optimise_more_door()") and GD["welfare_optimise_more @extversion@"]
sites, _, summary = ox.closure({"service_type_id": service_type_id, "k": k, "period": period, "max_cost": max_cost, "keep": keep, "capacitated": bool(capacitated), "time_limit": time_limit, "facility_municipality": facility_municipality})
return ox.closure_rows(sites, summary)
$python$;
COMMENT ON FUNCTION welfare._closure_plan(text, integer, integer, double precision, text[], boolean, double precision, text) IS 'PL/Python body of welfare.closure_plan (internal)';

CREATE OR REPLACE FUNCTION welfare._run_closure_plan(service_type_id text, k integer, period integer, max_cost double precision, keep text[], capacitated boolean, time_limit double precision, facility_municipality text)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ox = GD.get("welfare_optimise_more @extversion@") or plpy.execute(
    "SELECT welfare._optimise_more_door()") and GD["welfare_optimise_more @extversion@"]
return ox.store_closure({"service_type_id": service_type_id, "k": k, "period": period, "max_cost": max_cost, "keep": keep, "capacitated": bool(capacitated), "time_limit": time_limit, "facility_municipality": facility_municipality})
$python$;
COMMENT ON FUNCTION welfare._run_closure_plan(text, integer, integer, double precision, text[], boolean, double precision, text) IS 'PL/Python body of welfare.run_closure_plan (internal)';

CREATE OR REPLACE FUNCTION welfare.closure_plan(
    service_type_id text, k integer, period integer, max_cost double precision DEFAULT NULL,
    keep text[] DEFAULT NULL, capacitated boolean DEFAULT false, time_limit double precision DEFAULT 60,
    facility_municipality text DEFAULT NULL)
RETURNS TABLE (site_id text, name text, closed boolean, x double precision, y double precision,
               capacity double precision, demand_served double precision, n_points integer,
               status text, objective double precision, gap double precision,
               covered_before double precision, covered_after double precision,
               coverage_pct_before double precision, coverage_pct_after double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._closure_plan(service_type_id, k, period, max_cost, keep, capacitated, time_limit, facility_municipality);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.closure_plan(text, integer, integer, double precision, text[], boolean, double precision, text) IS
    'which k facilities of a service type active in period to close with the least loss of coverage (demand of the served targets within max_cost, default the type''s; capacitated: the share the capacities serve); keep lists facility_ids that must stay open; facility_municipality (ISTAT code, NULL = any) lets only that municipality''s facilities close, the others staying open and covering the demand near the border; candidate sites are not considered. One row per facility (closed true for those to close, demand_served after closing) with the solver''s status, objective = coverage lost (proven least when status is optimal), gap and the coverage before/after; exact (HiGHS) within time_limit seconds (welfare_core.optimise.zone_models.closure_plan)';

CREATE OR REPLACE FUNCTION welfare.run_closure_plan(
    service_type_id text, k integer, period integer, max_cost double precision DEFAULT NULL,
    keep text[] DEFAULT NULL, capacitated boolean DEFAULT false, time_limit double precision DEFAULT 60,
    facility_municipality text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN welfare._run_closure_plan(service_type_id, k, period, max_cost, keep, capacitated, time_limit, facility_municipality);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_closure_plan(text, integer, integer, double precision, text[], boolean, double precision, text) IS
    'runs welfare.closure_plan and stores its facilities (chosen = stays open), the allocation after closing and a summary (model closure, objective = coverage lost, p = facilities kept) in welfare.optimise_site, optimise_allocation and optimise_summary under a new run id (logged in welfare.run, kind closure_plan); returns that id';

-- --- sweep_locations --------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION welfare._sweep_locations(service_type_id text, model text, max_new integer, period integer, max_cost double precision, capacitated boolean, candidate_municipality text, time_limit double precision)
RETURNS TABLE (new_sites integer, p integer, objective double precision, covered double precision,
               coverage_pct double precision, gain double precision, status text,
               gap double precision, new_site_ids text[], seconds double precision)
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ox = GD.get("welfare_optimise_more @extversion@") or plpy.execute(
    "SELECT welfare._optimise_more_door()") and GD["welfare_optimise_more @extversion@"]
return ox.sweep_rows(ox.sweep({"service_type_id": service_type_id, "model": model, "max_new": max_new, "period": period, "max_cost": max_cost, "capacitated": bool(capacitated), "candidate_municipality": candidate_municipality, "time_limit": time_limit}))
$python$;
COMMENT ON FUNCTION welfare._sweep_locations(text, text, integer, integer, double precision, boolean, text, double precision) IS 'PL/Python body of welfare.sweep_locations (internal)';

CREATE OR REPLACE FUNCTION welfare._run_sweep_locations(service_type_id text, model text, max_new integer, period integer, max_cost double precision, capacitated boolean, candidate_municipality text, time_limit double precision)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ox = GD.get("welfare_optimise_more @extversion@") or plpy.execute(
    "SELECT welfare._optimise_more_door()") and GD["welfare_optimise_more @extversion@"]
return ox.store_sweep({"service_type_id": service_type_id, "model": model, "max_new": max_new, "period": period, "max_cost": max_cost, "capacitated": bool(capacitated), "candidate_municipality": candidate_municipality, "time_limit": time_limit})
$python$;
COMMENT ON FUNCTION welfare._run_sweep_locations(text, text, integer, integer, double precision, boolean, text, double precision) IS 'PL/Python body of welfare.run_sweep_locations (internal)';

CREATE OR REPLACE FUNCTION welfare.sweep_locations(
    service_type_id text, model text, max_new integer, period integer,
    max_cost double precision DEFAULT NULL, capacitated boolean DEFAULT false,
    candidate_municipality text DEFAULT NULL, time_limit double precision DEFAULT 60)
RETURNS TABLE (new_sites integer, p integer, objective double precision, covered double precision,
               coverage_pct double precision, gain double precision, status text,
               gap double precision, new_site_ids text[], seconds double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._sweep_locations(service_type_id, model, max_new, period, max_cost, capacitated, candidate_municipality, time_limit);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.sweep_locations(text, text, integer, integer, double precision, boolean, text, double precision) IS
    'trade-off curve of welfare.optimise_locations: for new_sites = 0 .. max_new (from 1 when no facility exists) one exact solve of model mclp (covered demand within max_cost, default the type''s) or p_median (total demand-weighted cost), existing facilities open, candidate_municipality (ISTAT code, NULL = any) filtering the candidate sites. One row per point: objective, covered demand and coverage_pct, gain over the previous point (demand added or cost saved), status, gap, the candidate sites opened, seconds; time_limit seconds per point (welfare_core.optimise.zone_models.sweep_locations)';

CREATE OR REPLACE FUNCTION welfare.run_sweep_locations(
    service_type_id text, model text, max_new integer, period integer,
    max_cost double precision DEFAULT NULL, capacitated boolean DEFAULT false,
    candidate_municipality text DEFAULT NULL, time_limit double precision DEFAULT 60)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN welfare._run_sweep_locations(service_type_id, model, max_new, period, max_cost, capacitated, candidate_municipality, time_limit);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_sweep_locations(text, text, integer, integer, double precision, boolean, text, double precision) IS
    'runs welfare.sweep_locations and stores its curve in welfare.optimise_sweep under a new run id (logged in welfare.run, kind sweep_locations); returns that id';

COMMENT ON COLUMN welfare.optimise_summary.model IS
    'mclp, p_median, p_center, equity, allocate_capacity or closure (welfare.run_closure_plan: objective = coverage lost, p = facilities kept)';

-- EXECUTE on these functions: the rules of 900-privileges.sql (admin, analyst).
GRANT SELECT, INSERT ON welfare.optimise_sweep TO welfare_analyst;
GRANT ALL ON welfare.optimise_sweep TO welfare_admin;
