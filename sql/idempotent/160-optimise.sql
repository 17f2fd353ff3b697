-- Optimisation: thin adapters over welfare_core.optimise.
--
-- Generic functions over the caller's relations (welfare.p_median, welfare.mclp,
-- welfare.lscp, welfare.p_center) read one point per row (ST_PointOnSurface) in a
-- projected metric SRID; costs are planar metres computed by the core. They
-- return one row per chosen site (row_kind 'site') and one per demand point
-- (row_kind 'assignment'), each carrying the solver's status, objective, bound
-- and gap. Model functions over the welfare tables (welfare.optimise_locations,
-- welfare.allocate_capacity and their run_ versions) call
-- welfare_core.optimise.zone_models. Every solve started here has a time limit
-- (default 30 s generic, 60 s model): a PL/Python call cannot be cancelled.
CREATE OR REPLACE FUNCTION welfare._optimise_door() RETURNS text
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import types
KEY = "welfare_optimise @extversion@"
if KEY in GD:
    return KEY
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
from welfare_core import optimise as opt
from welfare_core.optimise import zone_models
from welfare_core import costs
np, pd = wi.np, wi.pd


def srid_check(srid, what):
    if not srid:
        wi.fail(f"{what} has no SRID (0), so its coordinates have no unit",
                hint="set it with ST_SetSRID, then ST_Transform to a projected metric SRID such as 32632")
    r = plpy.execute(plpy.prepare(
        "SELECT srtext, proj4text FROM public.spatial_ref_sys WHERE srid = $1", ["integer"]), [srid])
    if not r:
        wi.fail(f"{what} has SRID {srid}, which is not in spatial_ref_sys",
                hint="ST_Transform it to a projected metric SRID such as 32632")
    srtext, proj4 = (r[0]["srtext"] or "").upper(), r[0]["proj4text"] or ""
    if "+proj=longlat" in proj4 or srtext.startswith(("GEOGCS", "GEOGCRS", "GEOCCS")):
        wi.fail(f"{what} is in SRID {srid}, a geographic coordinate system (degrees); "
                "distances need a projected metric SRID",
                hint="pass e.g. ST_Transform(geom, 32632) (UTM 32N, northern Italy) through a view")
    if "+units=" in proj4 and "+units=m " not in proj4 + " ":
        wi.fail(f"{what} is in SRID {srid}, whose unit is not the metre",
                hint="ST_Transform it to a metric SRID such as 32632")


def points(rel, id_col, geom_col, what, value_col=None, flag_col=None):
    """ids, values (or None), flags (or None), (n, 2) coordinates and SRID, in one round trip."""
    q = plpy.quote_ident
    for arg, v in (("id", id_col), ("geometry", geom_col)):
        if rel is None or v is None:
            wi.fail(f"{what}: the relation and its {arg} column are required")
    val = f"s.{q(value_col)}::double precision" if value_col else "NULL::double precision"
    flag = f"s.{q(flag_col)}::boolean" if flag_col else "false"
    row = plpy.execute(
        "SELECT pg_catalog.array_agg(t.id) AS ids, pg_catalog.array_agg(t.v) AS vals, "
        "pg_catalog.array_agg(t.f) AS flags, "
        "pg_catalog.array_agg(public.ST_X(t.p)) AS xs, pg_catalog.array_agg(public.ST_Y(t.p)) AS ys, "
        "pg_catalog.count(*) AS n, pg_catalog.count(DISTINCT t.id) AS n_ids, "
        "pg_catalog.count(*) FILTER (WHERE t.id IS NULL) AS null_ids, "
        "pg_catalog.count(*) FILTER (WHERE t.v IS NULL) AS null_values, "
        "pg_catalog.count(*) FILTER (WHERE t.g IS NULL OR public.ST_IsEmpty(t.g)) AS no_geom, "
        "pg_catalog.array_agg(DISTINCT public.ST_SRID(t.g)) FILTER (WHERE t.g IS NOT NULL) AS srids "
        f"FROM (SELECT s.{q(id_col)}::text AS id, {val} AS v, coalesce({flag}, false) AS f, "
        f"s.{q(geom_col)}::public.geometry AS g, "
        f"public.ST_PointOnSurface(s.{q(geom_col)}::public.geometry) AS p FROM {rel} s) t")[0]
    name = f"{what} {rel}"
    checks = [("null_ids", id_col, "NULL id"), ("no_geom", geom_col, "NULL or empty geometry")]
    if value_col:
        checks.append(("null_values", value_col, "NULL value"))
    for key, column, text in checks:
        if row[key]:
            wi.fail(f"{name} has {row[key]} row(s) with {text} in column {column}",
                    hint=f"leave them out, e.g. pass a view with WHERE {q(column)} IS NOT NULL")
    if not row["n"]:
        wi.fail(f"{name} has no rows", hint="pass a relation with at least one row")
    if row["n_ids"] != row["n"]:
        wi.fail(f"{name} has {row['n'] - row['n_ids']} duplicate id(s) in column {id_col}",
                hint="ids must be unique: one row per point")
    srids = row["srids"] or []
    if len(srids) > 1:
        wi.fail(f"{name} mixes SRIDs {sorted(srids)} in column {geom_col}",
                hint="ST_Transform every row to one projected metric SRID")
    srid = srids[0] if srids else None
    if srid is not None:
        srid_check(srid, f"{name}.{geom_col}")
    xy = np.column_stack([np.asarray(row["xs"], dtype=float), np.asarray(row["ys"], dtype=float)])
    vals = np.asarray(row["vals"], dtype=float) if value_col else None
    flags = np.asarray(row["flags"], dtype=bool) if flag_col else None
    return row["ids"], vals, flags, xy, srid


def check_limit(time_limit):
    if time_limit is None or not time_limit > 0:
        wi.fail(f"time_limit must be a positive number of seconds, got {time_limit}",
                hint="every solve started from SQL needs a time limit (it cannot be cancelled)")
    return float(time_limit)


def locate(model, demand_rel, demand_id, demand_weight, demand_geom, candidate_rel, candidate_id,
           candidate_geom, candidate_capacity, required, p, max_cost, time_limit):
    limit = check_limit(time_limit)
    d_ids, w, _, d_xy, d_srid = points(demand_rel, demand_id, demand_geom, "demand", demand_weight)
    c_ids, cap, req, c_xy, c_srid = points(candidate_rel, candidate_id, candidate_geom, "candidates",
                                           candidate_capacity, required)
    if d_srid is not None and c_srid is not None and d_srid != c_srid:
        wi.fail(f"demand geometry is in SRID {d_srid} but candidate geometry in SRID {c_srid}",
                hint=f"ST_Transform one of them, e.g. ST_Transform(geom, {d_srid})")
    pre = np.flatnonzero(req) if req is not None else ()
    if max_cost is None and model in ("mclp", "lscp"):
        wi.fail(f"max_cost is required for {model}", hint="the coverage cutoff in metres, e.g. 800")
    if p is None and model in ("p_median", "mclp", "p_center"):
        wi.fail(f"p is required for {model}", hint="the number of open sites, required ones included")
    if model in ("p_median", "p_center") and max_cost is None:
        cost = np.hypot(d_xy[:, None, 0] - c_xy[None, :, 0], d_xy[:, None, 1] - c_xy[None, :, 1])
    else:
        cost = wi.call(costs.euclidean, d_xy, c_xy, max_cost)
    if model == "p_median":
        r = wi.call(opt.p_median, cost, w, p, predefined=pre, capacities=cap, time_limit=limit)
    elif model == "mclp":
        r = wi.call(opt.mclp, cost, w, max_cost, p, predefined=pre, capacities=cap, time_limit=limit)
    elif model == "lscp":
        r = wi.call(opt.lscp, cost, max_cost, predefined=pre, capacities=cap,
                    demand=w if cap is not None else None, time_limit=limit)
    elif model == "p_center":
        r = wi.call(opt.p_center, cost, p, predefined=pre, time_limit=limit)
    else:
        wi.fail(f"unknown model {model!r}", hint="use p_median, mclp, lscp or p_center")
    dense = cost if isinstance(cost, np.ndarray) else None
    head = (r.status, r.objective, r.bound, r.gap, r.solver, r.seconds)
    out = [("site", c_ids[j], None, None, None) + head for j in r.selected]
    if r.allocation is not None:
        a = r.allocation.tocoo()
        pairs = zip(a.row.tolist(), a.col.tolist(), a.data.tolist())
    else:
        rows = np.flatnonzero(r.assignment >= 0)
        pairs = zip(rows.tolist(), r.assignment[rows].tolist(), [1.0] * len(rows))
    lookup = None
    if dense is None:
        key = cost.row.astype(np.int64) * len(c_ids) + cost.col
        lookup = dict(zip(key.tolist(), np.asarray(cost.cost).tolist()))
    for i, j, share in pairs:
        c = float(dense[i, j]) if dense is not None else lookup.get(i * len(c_ids) + j)
        if model in ("mclp", "lscp") and c is None:
            continue
        out.append(("assignment", c_ids[j], d_ids[i], c, share) + head)
    return out


def tables(service_type_id, period):
    if service_type_id is None or period is None:
        wi.fail("service_type_id and period are required", hint="e.g. ('nursery', 2023)")
    t = {name: wi.table_frame(name, cols) for name, cols in (
        ("zone", ("zone_id", "municipality_code", "level", "parent_id", "geometry")),
        ("service_type", None), ("service_target", None), ("candidate_site", None))}
    t["facility"] = wi.table_frame("facility", ("facility_id", "service_type_id", "name", "capacity",
                                                "active_from", "active_to", "geometry"))
    return wi.period_tables(t, period)  # after the last population year: projected


def solve(kind, params):
    p = dict(params)
    limit = check_limit(p.pop("time_limit"))
    stid, period = p.pop("service_type_id"), p.pop("period")
    t = tables(stid, period)
    if kind == "optimise_locations":
        return wi.call(zone_models.optimise_locations, t, stid, period, time_limit=limit, **p)
    return wi.call(zone_models.allocate_capacity_plan, t, stid, period, time_limit=limit, **p)


def site_rows(sites, summary):
    head = tuple(summary[k] for k in ("status", "objective", "gap", "coverage_pct_before",
                                      "coverage_pct_after", "unmet_before", "unmet_after"))
    cols = [sites[c].tolist() for c in zone_models.SITE_COLUMNS]
    return [tuple(r) + head for r in zip(*cols)]


def store(kind, params):
    import json
    run_id = plpy.execute(plpy.prepare(
        "SELECT welfare.log_run_start($1, $2::jsonb) AS run_id", ["text", "text"]),
        [kind, json.dumps(params)])[0]["run_id"]
    sites, alloc, summary = solve(kind, params)
    s_cols = list(zone_models.SITE_COLUMNS)
    plpy.execute(plpy.prepare(
        "INSERT INTO welfare.optimise_site (run_id, " + ", ".join(s_cols) + ") SELECT $1, * FROM "
        "unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::float8[], $7::float8[], "
        "$8::float8[], $9::float8[], $10::float8[], $11::integer[])",
        ["bigint", "text[]", "text[]", "text[]", "boolean[]"] + ["float8[]"] * 5 + ["integer[]"]),
        [run_id] + [sites[c].astype(object).where(sites[c].notna(), None).tolist() for c in s_cols])
    a_cols = list(zone_models.ALLOCATION_COLUMNS)
    plpy.execute(plpy.prepare(
        "INSERT INTO welfare.optimise_allocation (run_id, " + ", ".join(a_cols) + ") SELECT $1, * FROM "
        "unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[])",
        ["bigint", "text[]", "text[]", "float8[]", "float8[]", "float8[]"]),
        [run_id] + [alloc[c].tolist() for c in a_cols])
    keys = list(zone_models.SUMMARY_KEYS)
    plpy.execute(plpy.prepare(
        "INSERT INTO welfare.optimise_summary SELECT * FROM "
        "jsonb_populate_record(NULL::welfare.optimise_summary, $1::jsonb)", ["text"]),
        [json.dumps(dict(run_id=run_id, **{k: summary[k] for k in keys}))])
    plpy.execute(plpy.prepare("SELECT welfare.log_run_finish($1, 'ok', $2)", ["bigint", "text"]),
                 [run_id, f"{summary['model']}: {summary['status']}, objective {summary['objective']:g}"])
    return run_id


GD[KEY] = types.SimpleNamespace(locate=locate, solve=solve, site_rows=site_rows, store=store)
return KEY
$python$;
COMMENT ON FUNCTION welfare._optimise_door() IS 'loads the optimisation adapter once per session (internal)';

-- --- generic: the caller's relations ------------------------------------------------
CREATE OR REPLACE FUNCTION welfare._locate(
    model text, demand_rel regclass, demand_id text, demand_weight text, demand_geom text,
    candidate_rel regclass, candidate_id text, candidate_geom text, candidate_capacity text,
    required text, p integer, max_cost double precision, time_limit double precision)
RETURNS TABLE (row_kind text, site text, point text, cost double precision,
               share double precision, status text, objective double precision,
               bound double precision, gap double precision, solver text, seconds double precision)
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ox = GD.get("welfare_optimise @extversion@") or plpy.execute(
    "SELECT welfare._optimise_door()") and GD["welfare_optimise @extversion@"]
return ox.locate(model, demand_rel, demand_id, demand_weight, demand_geom, candidate_rel,
                 candidate_id, candidate_geom, candidate_capacity, required, p, max_cost, time_limit)
$python$;
COMMENT ON FUNCTION welfare._locate(text, regclass, text, text, text, regclass, text, text, text,
    text, integer, double precision, double precision) IS
    'PL/Python body of welfare.p_median, mclp, lscp and p_center (internal)';

CREATE OR REPLACE FUNCTION welfare.p_median(
    demand_rel regclass, demand_id text, demand_weight text, demand_geom text, candidate_rel regclass, candidate_id text, candidate_geom text, p integer, candidate_capacity text DEFAULT NULL, required text DEFAULT NULL, max_cost double precision DEFAULT NULL, time_limit double precision DEFAULT 30)
RETURNS TABLE (row_kind text, site text, point text, cost double precision,
               share double precision, status text, objective double precision,
               bound double precision, gap double precision, solver text, seconds double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._locate('p_median', demand_rel, demand_id, demand_weight, demand_geom, candidate_rel, candidate_id, candidate_geom, candidate_capacity, required, p, max_cost, time_limit);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.p_median(regclass, text, text, text, regclass, text, text, integer, text, text, double precision, double precision) IS
    'p-median: choose p sites of candidate_rel (required = name of a boolean column of sites that must open, counted in p) minimising the total demand_weight x metres from each demand point to its site; candidate_capacity (column) makes it capacitated (demand may be split); max_cost (metres) leaves farther pairs out. Exact (HiGHS); time_limit seconds. Rows: row_kind site (one per open site, its id in site) and assignment (demand point id in point -> site, cost in metres, share of its demand), each with status (optimal = proven), objective, bound, gap, solver, seconds';

CREATE OR REPLACE FUNCTION welfare.mclp(
    demand_rel regclass, demand_id text, demand_weight text, demand_geom text, candidate_rel regclass, candidate_id text, candidate_geom text, p integer, max_cost double precision, candidate_capacity text DEFAULT NULL, required text DEFAULT NULL, time_limit double precision DEFAULT 30)
RETURNS TABLE (row_kind text, site text, point text, cost double precision,
               share double precision, status text, objective double precision,
               bound double precision, gap double precision, solver text, seconds double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._locate('mclp', demand_rel, demand_id, demand_weight, demand_geom, candidate_rel, candidate_id, candidate_geom, candidate_capacity, required, p, max_cost, time_limit);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.mclp(regclass, text, text, text, regclass, text, text, integer, double precision, text, text, double precision) IS
    'maximal covering: choose p sites maximising the demand_weight within max_cost metres (inclusive) of an open site; candidate_capacity makes it capacitated; assignment rows only for covered points. Exact (HiGHS); time_limit seconds. Rows: row_kind site (one per open site, its id in site) and assignment (demand point id in point -> site, cost in metres, share of its demand), each with status (optimal = proven), objective, bound, gap, solver, seconds';

CREATE OR REPLACE FUNCTION welfare.lscp(
    demand_rel regclass, demand_id text, demand_geom text, candidate_rel regclass, candidate_id text, candidate_geom text, max_cost double precision, demand_weight text DEFAULT NULL, candidate_capacity text DEFAULT NULL, required text DEFAULT NULL, time_limit double precision DEFAULT 30)
RETURNS TABLE (row_kind text, site text, point text, cost double precision,
               share double precision, status text, objective double precision,
               bound double precision, gap double precision, solver text, seconds double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._locate('lscp', demand_rel, demand_id, demand_weight, demand_geom, candidate_rel, candidate_id, candidate_geom, candidate_capacity, required, NULL, max_cost, time_limit);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.lscp(regclass, text, text, regclass, text, text, double precision, text, text, text, double precision) IS
    'location set covering: fewest sites so every demand point is within max_cost metres of one; with candidate_capacity the demand_weight must also fit (demand may be split). Exact (HiGHS); time_limit seconds. Rows: row_kind site (one per open site, its id in site) and assignment (demand point id in point -> site, cost in metres, share of its demand), each with status (optimal = proven), objective, bound, gap, solver, seconds';

CREATE OR REPLACE FUNCTION welfare.p_center(
    demand_rel regclass, demand_id text, demand_geom text, candidate_rel regclass, candidate_id text, candidate_geom text, p integer, required text DEFAULT NULL, time_limit double precision DEFAULT 30)
RETURNS TABLE (row_kind text, site text, point text, cost double precision,
               share double precision, status text, objective double precision,
               bound double precision, gap double precision, solver text, seconds double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._locate('p_center', demand_rel, demand_id, NULL, demand_geom, candidate_rel, candidate_id, candidate_geom, NULL, required, p, NULL, time_limit);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.p_center(regclass, text, text, regclass, text, text, integer, text, double precision) IS
    'p-center: choose p sites minimising the largest metres from a demand point to its nearest open site (bisection on the distinct costs with set-cover checks, exact); time_limit seconds. Rows: row_kind site (one per open site, its id in site) and assignment (demand point id in point -> site, cost in metres, share of its demand), each with status (optimal = proven), objective, bound, gap, solver, seconds';

-- --- model: optimise_locations ------------------------------------------------------------------
-- candidate_municipality, then equity_level (0.1.1) were added to the signature (trailing,
-- DEFAULT NULL): drop the old ones so no overload remains (CREATE OR REPLACE cannot change
-- the argument list).
DROP FUNCTION IF EXISTS welfare.run_optimise_locations(text, text, integer, integer, double precision, boolean, double precision);
DROP FUNCTION IF EXISTS welfare.run_optimise_locations(text, text, integer, integer, double precision, boolean, double precision, text);
DROP FUNCTION IF EXISTS welfare.optimise_locations(text, text, integer, integer, double precision, boolean, double precision);
DROP FUNCTION IF EXISTS welfare.optimise_locations(text, text, integer, integer, double precision, boolean, double precision, text);
DROP FUNCTION IF EXISTS welfare._run_optimise_locations(text, text, integer, integer, double precision, boolean, double precision);
DROP FUNCTION IF EXISTS welfare._run_optimise_locations(text, text, integer, integer, double precision, boolean, double precision, text);
DROP FUNCTION IF EXISTS welfare._optimise_locations(text, text, integer, integer, double precision, boolean, double precision);
DROP FUNCTION IF EXISTS welfare._optimise_locations(text, text, integer, integer, double precision, boolean, double precision, text);
CREATE OR REPLACE FUNCTION welfare._optimise_locations(service_type_id text, model text, new_sites integer, period integer, max_cost double precision, capacitated boolean, time_limit double precision, candidate_municipality text, equity_level text)
RETURNS TABLE (site_id text, kind text, name text, chosen boolean, x double precision,
               y double precision, capacity double precision, added_capacity double precision,
               demand_served double precision, n_points integer, status text,
               objective double precision, gap double precision,
               coverage_pct_before double precision, coverage_pct_after double precision,
               unmet_before double precision, unmet_after double precision)
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ox = GD.get("welfare_optimise @extversion@") or plpy.execute(
    "SELECT welfare._optimise_door()") and GD["welfare_optimise @extversion@"]
sites, _, summary = ox.solve("optimise_locations", {"service_type_id": service_type_id, "model": model, "new_sites": new_sites, "period": period, "max_cost": max_cost, "capacitated": bool(capacitated), "time_limit": time_limit, "candidate_municipality": candidate_municipality, "groups_level": equity_level})
return ox.site_rows(sites, summary)
$python$;
COMMENT ON FUNCTION welfare._optimise_locations(text, text, integer, integer, double precision, boolean, double precision, text, text) IS 'PL/Python body of welfare.optimise_locations (internal)';

CREATE OR REPLACE FUNCTION welfare._run_optimise_locations(service_type_id text, model text, new_sites integer, period integer, max_cost double precision, capacitated boolean, time_limit double precision, candidate_municipality text, equity_level text)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ox = GD.get("welfare_optimise @extversion@") or plpy.execute(
    "SELECT welfare._optimise_door()") and GD["welfare_optimise @extversion@"]
return ox.store("optimise_locations", {"service_type_id": service_type_id, "model": model, "new_sites": new_sites, "period": period, "max_cost": max_cost, "capacitated": bool(capacitated), "time_limit": time_limit, "candidate_municipality": candidate_municipality, "groups_level": equity_level})
$python$;
COMMENT ON FUNCTION welfare._run_optimise_locations(text, text, integer, integer, double precision, boolean, double precision, text, text) IS 'PL/Python body of welfare.run_optimise_locations (internal)';

CREATE OR REPLACE FUNCTION welfare.optimise_locations(
    service_type_id text, model text, new_sites integer, period integer,
    max_cost double precision DEFAULT NULL, capacitated boolean DEFAULT false,
    time_limit double precision DEFAULT 60, candidate_municipality text DEFAULT NULL,
    equity_level text DEFAULT NULL)
RETURNS TABLE (site_id text, kind text, name text, chosen boolean, x double precision,
               y double precision, capacity double precision, added_capacity double precision,
               demand_served double precision, n_points integer, status text,
               objective double precision, gap double precision,
               coverage_pct_before double precision, coverage_pct_after double precision,
               unmet_before double precision, unmet_after double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._optimise_locations(service_type_id, model, new_sites, period, max_cost, capacitated, time_limit, candidate_municipality, equity_level);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.optimise_locations(text, text, integer, integer, double precision, boolean, double precision, text, text) IS
    'where to open new_sites candidate sites (welfare.candidate_site for the type or any type) for a service type, its facilities active in period kept open (p = existing + new_sites): model mclp (most demand within max_cost, default the type''s), p_median (least demand-weighted cost), p_center (least worst cost) or equity (least worst zone coverage gap); capacitated uses facility capacity and candidate max_capacity; candidate_municipality (ISTAT code, NULL = any) keeps only the candidate sites of that municipality_code, so new sites stay inside the city; equity_level (equity model only, e.g. neighbourhood) makes the zones whose worst coverage gap is minimised the ancestors of the demand points at that level instead of the points themselves. One row per site (chosen or not) with the solver''s status, objective, gap and the coverage before/after; exact (HiGHS) within time_limit seconds (welfare_core.optimise.zone_models)';

CREATE OR REPLACE FUNCTION welfare.run_optimise_locations(
    service_type_id text, model text, new_sites integer, period integer,
    max_cost double precision DEFAULT NULL, capacitated boolean DEFAULT false,
    time_limit double precision DEFAULT 60, candidate_municipality text DEFAULT NULL,
    equity_level text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN welfare._run_optimise_locations(service_type_id, model, new_sites, period, max_cost, capacitated, time_limit, candidate_municipality, equity_level);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_optimise_locations(text, text, integer, integer, double precision, boolean, double precision, text, text) IS
    'runs welfare.optimise_locations and stores its sites, allocation and summary in welfare.optimise_site, optimise_allocation and optimise_summary under a new run id (logged in welfare.run); returns that id';

-- --- model: allocate_capacity ------------------------------------------------------------------
CREATE OR REPLACE FUNCTION welfare._allocate_capacity(service_type_id text, budget double precision, period integer, max_cost double precision, uptake double precision, module_size double precision, unit_cost double precision, max_increase double precision, candidates boolean, time_limit double precision)
RETURNS TABLE (site_id text, kind text, name text, chosen boolean, x double precision,
               y double precision, capacity double precision, added_capacity double precision,
               demand_served double precision, n_points integer, status text,
               objective double precision, gap double precision,
               coverage_pct_before double precision, coverage_pct_after double precision,
               unmet_before double precision, unmet_after double precision)
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ox = GD.get("welfare_optimise @extversion@") or plpy.execute(
    "SELECT welfare._optimise_door()") and GD["welfare_optimise @extversion@"]
sites, _, summary = ox.solve("allocate_capacity", {"service_type_id": service_type_id, "budget": budget, "period": period, "max_cost": max_cost, "uptake": uptake, "module_size": module_size, "unit_cost": unit_cost, "max_increase": max_increase, "candidates": bool(candidates), "time_limit": time_limit})
return ox.site_rows(sites, summary)
$python$;
COMMENT ON FUNCTION welfare._allocate_capacity(text, double precision, integer, double precision, double precision, double precision, double precision, double precision, boolean, double precision) IS 'PL/Python body of welfare.allocate_capacity (internal)';

CREATE OR REPLACE FUNCTION welfare._run_allocate_capacity(service_type_id text, budget double precision, period integer, max_cost double precision, uptake double precision, module_size double precision, unit_cost double precision, max_increase double precision, candidates boolean, time_limit double precision)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ox = GD.get("welfare_optimise @extversion@") or plpy.execute(
    "SELECT welfare._optimise_door()") and GD["welfare_optimise @extversion@"]
return ox.store("allocate_capacity", {"service_type_id": service_type_id, "budget": budget, "period": period, "max_cost": max_cost, "uptake": uptake, "module_size": module_size, "unit_cost": unit_cost, "max_increase": max_increase, "candidates": bool(candidates), "time_limit": time_limit})
$python$;
COMMENT ON FUNCTION welfare._run_allocate_capacity(text, double precision, integer, double precision, double precision, double precision, double precision, double precision, boolean, double precision) IS 'PL/Python body of welfare.run_allocate_capacity (internal)';

CREATE OR REPLACE FUNCTION welfare.allocate_capacity(
    service_type_id text, budget double precision, period integer,
    max_cost double precision DEFAULT NULL, uptake double precision DEFAULT NULL,
    module_size double precision DEFAULT 1, unit_cost double precision DEFAULT 1,
    max_increase double precision DEFAULT NULL, candidates boolean DEFAULT false,
    time_limit double precision DEFAULT 60)
RETURNS TABLE (site_id text, kind text, name text, chosen boolean, x double precision,
               y double precision, capacity double precision, added_capacity double precision,
               demand_served double precision, n_points integer, status text,
               objective double precision, gap double precision,
               coverage_pct_before double precision, coverage_pct_after double precision,
               unmet_before double precision, unmet_after double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._allocate_capacity(service_type_id, budget, period, max_cost, uptake, module_size, unit_cost, max_increase, candidates, time_limit);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.allocate_capacity(text, double precision, integer, double precision, double precision, double precision, double precision, double precision, boolean, double precision) IS
    'spreads a budget of capacity (modules of module_size at unit_cost each; defaults: budget = places) over the facilities of a service type active in period (and candidate sites when candidates, up to their max_capacity; max_increase caps an existing facility) to minimise unmet need: need = uptake (default standard_per_100 / 100) x demand of the served targets, served only within max_cost. One row per site with the capacity added and unmet need before/after (proven minimal when status is optimal); time_limit seconds (welfare_core.optimise)';

CREATE OR REPLACE FUNCTION welfare.run_allocate_capacity(
    service_type_id text, budget double precision, period integer,
    max_cost double precision DEFAULT NULL, uptake double precision DEFAULT NULL,
    module_size double precision DEFAULT 1, unit_cost double precision DEFAULT 1,
    max_increase double precision DEFAULT NULL, candidates boolean DEFAULT false,
    time_limit double precision DEFAULT 60)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN welfare._run_allocate_capacity(service_type_id, budget, period, max_cost, uptake, module_size, unit_cost, max_increase, candidates, time_limit);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_allocate_capacity(text, double precision, integer, double precision, double precision, double precision, double precision, double precision, boolean, double precision) IS
    'runs welfare.allocate_capacity and stores its sites, allocation and summary in welfare.optimise_site, optimise_allocation and optimise_summary under a new run id (logged in welfare.run); returns that id';

-- EXECUTE on these functions: the rules of 900-privileges.sql (admin, analyst).
GRANT SELECT, INSERT ON welfare.optimise_site, welfare.optimise_allocation, welfare.optimise_summary
    TO welfare_analyst;
GRANT ALL ON welfare.optimise_site, welfare.optimise_allocation, welfare.optimise_summary TO welfare_admin;
