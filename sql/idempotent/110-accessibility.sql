-- Accessibility: thin adapters over welfare_core.zone_access / accessibility.
--
-- Generic functions over the caller's relations (welfare.two_step_fca,
-- welfare.three_step_fca) read one point per row (ST_PointOnSurface; a point
-- stays itself) in a projected metric SRID; the core computes the distances.
-- Model functions over the welfare tables (welfare.accessibility,
-- welfare.run_accessibility) call welfare_core.zone_access.zone_accessibility.
-- welfare._accessibility_door() leaves the readers and converters in GD once
-- per session (same pattern as welfare._bootstrap()).
CREATE OR REPLACE FUNCTION welfare._accessibility_door() RETURNS text
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import types
KEY = "welfare_accessibility @extversion@"
if KEY in GD:
    return KEY
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
rules = wi.rules  # shared (010-bootstrap.sql)
from welfare_core import zone_access, privacy
pd, np = wi.pd, wi.np
T = wi.model.TABLES


def srid_check(srid, what):
    """Distances need a projected metric SRID: refuse unknown, geographic and non-metric ones."""
    if not srid:
        wi.fail(f"{what} has no SRID (0), so its coordinates have no unit",
                hint="set it with ST_SetSRID, then ST_Transform to a projected metric SRID "
                     "such as 32632 (UTM 32N)")
    r = plpy.execute(plpy.prepare(
        "SELECT srtext, proj4text FROM public.spatial_ref_sys WHERE srid = $1", ["integer"]),
        [srid])
    if not r:
        wi.fail(f"{what} has SRID {srid}, which is not in spatial_ref_sys",
                hint="ST_Transform it to a projected metric SRID such as 32632")
    srtext, proj4 = (r[0]["srtext"] or "").upper(), r[0]["proj4text"] or ""
    if "+proj=longlat" in proj4 or srtext.startswith(("GEOGCS", "GEOGCRS", "GEOCCS")):
        wi.fail(f"{what} is in SRID {srid}, a geographic coordinate system (degrees); "
                "distances need a projected metric SRID", sqlstate="22023",
                hint="pass e.g. ST_Transform(geom, 32632) (UTM 32N, northern Italy) through a view")
    if "+units=" in proj4 and "+units=m " not in proj4 + " ":
        wi.fail(f"{what} is in SRID {srid}, whose unit is not the metre",
                hint="ST_Transform it to a metric SRID such as 32632")


def points(rel, id_col, value_col, geom_col, what):
    """ids, values, (n, 2) coordinates and SRID of a relation, in one round trip."""
    q = plpy.quote_ident
    row = plpy.execute(
        "SELECT pg_catalog.array_agg(t.id) AS ids, pg_catalog.array_agg(t.v) AS vals, "
        "pg_catalog.array_agg(public.ST_X(t.p)) AS xs, pg_catalog.array_agg(public.ST_Y(t.p)) AS ys, "
        "pg_catalog.count(*) AS n, pg_catalog.count(DISTINCT t.id) AS n_ids, "
        "pg_catalog.count(*) FILTER (WHERE t.id IS NULL) AS null_ids, "
        "pg_catalog.count(*) FILTER (WHERE t.v IS NULL) AS null_values, "
        "pg_catalog.count(*) FILTER (WHERE t.g IS NULL OR public.ST_IsEmpty(t.g)) AS no_geom, "
        "pg_catalog.array_agg(DISTINCT public.ST_SRID(t.g)) FILTER (WHERE t.g IS NOT NULL) AS srids "
        f"FROM (SELECT s.{q(id_col)}::text AS id, s.{q(value_col)}::double precision AS v, "
        f"s.{q(geom_col)}::public.geometry AS g, "
        f"public.ST_PointOnSurface(s.{q(geom_col)}::public.geometry) AS p FROM {rel} s) t")[0]
    name = f"{what} {rel}"
    for key, column, text in (("null_ids", id_col, "NULL id"), ("null_values", value_col,
                              "NULL value"), ("no_geom", geom_col, "NULL or empty geometry")):
        if row[key]:
            wi.fail(f"{name} has {row[key]} row(s) with {text} in column {column}",
                    hint="leave them out, e.g. pass a view with WHERE "
                         f"{q(column)} IS NOT NULL" + (" AND NOT ST_IsEmpty(...)" if
                                                       key == "no_geom" else ""))
    if row["n_ids"] != row["n"]:
        wi.fail(f"{name} has {row['n'] - row['n_ids']} duplicate id(s) in column {id_col}",
                hint="ids must be unique: one row per demand or supply point")
    srids = row["srids"] or []
    if len(srids) > 1:
        wi.fail(f"{name} mixes SRIDs {sorted(srids)} in column {geom_col}",
                hint="ST_Transform every row to one projected metric SRID")
    srid = srids[0] if srids else None
    if srid is not None:
        srid_check(srid, f"{name}.{geom_col}")
    xy = np.column_stack([np.asarray(row["xs"] or [], dtype=float),
                          np.asarray(row["ys"] or [], dtype=float)])
    return row["ids"] or [], np.asarray(row["vals"] or [], dtype=float), xy, srid


def fca(method, demand_rel, demand_id, demand_col, demand_geom, supply_rel, supply_id,
        supply_col, supply_geom, max_cost, decay, decay_param):
    for arg, value in (("demand_rel", demand_rel), ("demand_id", demand_id),
                       ("demand_col", demand_col), ("demand_geom", demand_geom),
                       ("supply_rel", supply_rel), ("supply_id", supply_id),
                       ("supply_col", supply_col), ("supply_geom", supply_geom)):
        if value is None:
            wi.fail(f"{arg} is required", hint="name the relation and its id, value and "
                                                "geometry columns")
    ids, demand, d_xy, d_srid = points(demand_rel, demand_id, demand_col, demand_geom, "demand")
    _, supply, s_xy, s_srid = points(supply_rel, supply_id, supply_col, supply_geom, "supply")
    if d_srid is not None and s_srid is not None and d_srid != s_srid:
        wi.fail(f"demand geometry is in SRID {d_srid} but supply geometry in SRID {s_srid}",
                hint=f"ST_Transform one of them, e.g. ST_Transform(geom, {d_srid})")
    access = wi.call(zone_access.point_fca, demand, d_xy, supply, s_xy, max_cost,
                     decay=decay, decay_param=decay_param, method=method)
    return list(zip(ids, access.tolist()))


def inputs(service_type_id, period):
    """The welfare tables the driver needs: facilities of the type, demand of the period."""
    tables = {name: wi.table_frame(name, cols) for name, cols in (
        ("zone", ("zone_id", "municipality_code", "level", "parent_id", "geometry")),
        ("service_type", None), ("service_target", None))}
    fac = {c: (plpy.quote_ident(c), wi.SQL_TYPES[T["facility"].column(c).kind])
           for c in ("facility_id", "service_type_id", "capacity", "active_from", "active_to")}
    fac["geometry"] = ("public.ST_AsBinary(geom)", "bytea")
    tables["facility"] = wi.read_frame(T["facility"], "welfare.facility", fac,
                                       "WHERE service_type_id = $1", [service_type_id], ["text"])
    dem = {c: (c, wi.SQL_TYPES[T["demand"].column(c).kind])
           for c in ("zone_id", "target_id", "period", "demand")}
    tables["demand"] = wi.read_frame(T["demand"], "welfare.demand", dem, "WHERE period = $1",
                                     [period], ["integer"])
    if tables["demand"].empty:
        have = [r["period"] for r in plpy.execute(
            "SELECT DISTINCT period FROM welfare.demand ORDER BY 1")]
        wi.fail(f"no demand rows for period {period}",
                hint=f"periods available: {have}" if have else "load demand first")
    return tables


def compute(service_type_id, period, level, method, max_cost, decay, decay_param,
            municipality_code):
    if service_type_id is None or period is None:
        wi.fail("service_type_id and period are required", hint="e.g. ('nursery', 2023)")
    return wi.call(zone_access.zone_accessibility, inputs(service_type_id, period),
                   service_type_id, period, level or "section", method=method or "2sfca",
                   max_cost=max_cost, decay=decay, decay_param=decay_param,
                   municipality_code=municipality_code)


def columns(frame, names):
    """Column lists for PL/Python, NaN / <NA> as None; column-wise, so cheap for many rows."""
    out = []
    for name in names:
        col = frame[name]
        if col.dtype.kind in "fc":
            values = col.to_numpy(dtype=float)
            out.append(np.where(np.isnan(values), None, values).tolist())
        else:
            out.append(col.to_numpy(dtype=object, na_value=None).tolist())
    return out


def rows(frame, names):
    return list(zip(*columns(frame, names))) if len(frame) else []


GD[KEY] = types.SimpleNamespace(fca=fca, compute=compute, rows=rows, columns=columns,
                                rules=rules, zone_access=zone_access, pd=pd, np=np)
return KEY
$python$;
COMMENT ON FUNCTION welfare._accessibility_door() IS 'loads the accessibility adapter once per session (internal)';

-- --- generic: the caller's relations ------------------------------------------------
CREATE OR REPLACE FUNCTION welfare._fca(
    method text, demand_rel regclass, demand_id text, demand_col text, demand_geom text,
    supply_rel regclass, supply_id text, supply_col text, supply_geom text,
    max_cost double precision, decay text, decay_param double precision)
RETURNS TABLE (id text, access double precision)
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ax = GD.get("welfare_accessibility @extversion@") or plpy.execute(
    "SELECT welfare._accessibility_door()") and GD["welfare_accessibility @extversion@"]
return ax.fca(method, demand_rel, demand_id, demand_col, demand_geom, supply_rel, supply_id,
              supply_col, supply_geom, max_cost, decay, decay_param)
$python$;
COMMENT ON FUNCTION welfare._fca(text, regclass, text, text, text, regclass, text, text, text,
    double precision, text, double precision) IS
    'PL/Python body of welfare.two_step_fca and welfare.three_step_fca (internal)';

CREATE OR REPLACE FUNCTION welfare.two_step_fca(
    demand_rel regclass, demand_id text, demand_col text, demand_geom text,
    supply_rel regclass, supply_id text, supply_col text, supply_geom text,
    max_cost double precision, decay text DEFAULT NULL, decay_param double precision DEFAULT NULL)
RETURNS TABLE (id text, access double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._fca('2sfca', demand_rel, demand_id, demand_col,
        demand_geom, supply_rel, supply_id, supply_col, supply_geom, max_cost, decay, decay_param);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.two_step_fca(regclass, text, text, text, regclass, text, text, text,
    double precision, text, double precision) IS
    '2SFCA accessibility A_i (supply per unit of demand) of each row of demand_rel to the rows '
    'of supply_rel: R_j = S_j / sum_k W(c_kj) D_k, A_i = sum_j W(c_ij) R_j over c <= max_cost '
    '(inclusive, metres between points on surface; a projected metric SRID is required). '
    'decay: NULL/none, linear, gaussian, exponential or gravity with decay_param '
    '(welfare_core.zone_access.service_decay)';

CREATE OR REPLACE FUNCTION welfare.three_step_fca(
    demand_rel regclass, demand_id text, demand_col text, demand_geom text,
    supply_rel regclass, supply_id text, supply_col text, supply_geom text,
    max_cost double precision, decay text DEFAULT NULL, decay_param double precision DEFAULT NULL)
RETURNS TABLE (id text, access double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._fca('3sfca', demand_rel, demand_id, demand_col,
        demand_geom, supply_rel, supply_id, supply_col, supply_geom, max_cost, decay, decay_param);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.three_step_fca(regclass, text, text, text, regclass, text, text, text,
    double precision, text, double precision) IS
    '3SFCA accessibility (Wan et al. 2012): like welfare.two_step_fca with selection weights '
    'G_ij = W_ij / sum of W_il over the facilities l within max_cost of i';

-- --- model: the welfare tables ---------------------------------------------------------
CREATE OR REPLACE FUNCTION welfare._accessibility(
    service_type_id text, period integer, level text, method text, max_cost double precision,
    decay text, decay_param double precision, municipality_code text)
RETURNS TABLE (
    zone_id text, zone_level text, parent_id text, zone_municipality_code text,
    period_year integer, service_type text, target_id text, access_method text,
    demand double precision, access double precision, nearest_cost double precision,
    share_within double precision, cutoff_cost double precision, cost_unit text,
    null_reason text)
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ax = GD.get("welfare_accessibility @extversion@") or plpy.execute(
    "SELECT welfare._accessibility_door()") and GD["welfare_accessibility @extversion@"]
frame = ax.compute(service_type_id, period, level, method, max_cost, decay, decay_param,
                   municipality_code)
return ax.rows(frame, ax.zone_access.ACCESS_COLUMNS)
$python$;
COMMENT ON FUNCTION welfare._accessibility(text, integer, text, text, double precision, text,
    double precision, text) IS 'PL/Python body of welfare.accessibility (internal)';

-- Runs the accessibility and stores it (raw and published) under a new run id,
-- logged through welfare.log_run_start / log_run_finish (150-governance.sql).
-- One statement: a failure leaves no half-written run behind.
CREATE OR REPLACE FUNCTION welfare._run_accessibility(
    service_type_id text, period integer, level text, method text, max_cost double precision,
    decay text, decay_param double precision, municipality_code text)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import json
ax = GD.get("welfare_accessibility @extversion@") or plpy.execute(
    "SELECT welfare._accessibility_door()") and GD["welfare_accessibility @extversion@"]
# (arguments are globals of the body in PL/Python: never assign to them)
lvl, how = level or "section", method or "2sfca"
params = {"service_type_id": service_type_id, "period": period, "level": lvl,
          "method": how, "max_cost": max_cost, "decay": decay, "decay_param": decay_param,
          "municipality_code": municipality_code}
run_id = plpy.execute(plpy.prepare(
    "SELECT welfare.log_run_start('accessibility', $1::jsonb) AS run_id", ["text"]),
    [json.dumps(params)])[0]["run_id"]
frame = ax.compute(service_type_id, period, lvl, how, max_cost, decay, decay_param,
                   municipality_code)
sensitive = [r["target_id"] for r in plpy.execute(
    "SELECT target_id FROM welfare.target WHERE sensitive")]
pub = ax.zone_access.publish_accessibility(frame, ax.rules(), sensitive=sensitive, level=lvl)
frame = frame.assign(published=pub["published"], demand_pub=pub["demand"],
                     access_pub=pub["access"], nearest_cost_pub=pub["nearest_cost"],
                     share_within_pub=pub["share_within"])
types = {r["attname"]: r["t"] for r in plpy.execute(
    "SELECT attname, format_type(atttypid, atttypmod) AS t FROM pg_catalog.pg_attribute "
    "WHERE attrelid = 'welfare.accessibility_result'::regclass AND attnum > 0 "
    "AND NOT attisdropped")}
cols = [c for c in frame.columns if c in types and c != "run_id"]
args = ", ".join(f"${i + 2}::{types[c]}[]" for i, c in enumerate(cols))
plan = plpy.prepare(
    f"INSERT INTO welfare.accessibility_result (run_id, {', '.join(map(plpy.quote_ident, cols))}) "
    f"SELECT $1, * FROM unnest({args})", ["bigint"] + [types[c] + "[]" for c in cols])
plpy.execute(plan, [run_id] + ax.columns(frame, cols))
plpy.execute(plpy.prepare("SELECT welfare.log_run_finish($1, 'ok', $2)", ["bigint", "text"]),
    [run_id, f"{len(frame)} zone x target rows, cutoff {frame['max_cost'].iloc[0]:g} "
             f"{frame['cost_unit'].iloc[0]}" if len(frame) else "no rows"])
return run_id
$python$;
COMMENT ON FUNCTION welfare._run_accessibility(text, integer, text, text, double precision,
    text, double precision, text) IS 'PL/Python body of welfare.run_accessibility (internal)';

-- Public functions: clean errors around the PL/Python bodies (see 005-errors.sql).
CREATE OR REPLACE FUNCTION welfare.accessibility(
    service_type_id text, period integer, level text DEFAULT 'section',
    method text DEFAULT '2sfca', max_cost double precision DEFAULT NULL,
    decay text DEFAULT NULL, decay_param double precision DEFAULT NULL,
    municipality_code text DEFAULT NULL)
RETURNS TABLE (
    zone_id text, zone_level text, parent_id text, zone_municipality_code text,
    period_year integer, service_type text, target_id text, access_method text,
    demand double precision, access double precision, nearest_cost double precision,
    share_within double precision, cutoff_cost double precision, cost_unit text,
    null_reason text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._accessibility(service_type_id, period, level, method,
        max_cost, decay, decay_param, municipality_code);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.accessibility(text, integer, text, text, double precision, text,
    double precision, text) IS
    'per zone of a level and target served by a service type, for a period: access (2sfca, '
    '3sfca: supply per 100 of demand; gravity: weighted capacity within reach), cost to the '
    'nearest facility, share of demand within max_cost; demand-weighted means of the finest '
    'zones (origins include the ring comuni); max_cost, decay, decay_param default to the '
    'service type''s (welfare_core.zone_access); raw values, for analysts';

CREATE OR REPLACE FUNCTION welfare.run_accessibility(
    service_type_id text, period integer, level text DEFAULT 'section',
    method text DEFAULT '2sfca', max_cost double precision DEFAULT NULL,
    decay text DEFAULT NULL, decay_param double precision DEFAULT NULL,
    municipality_code text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN welfare._run_accessibility(service_type_id, period, level, method, max_cost, decay,
                                      decay_param, municipality_code);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_accessibility(text, integer, text, text, double precision, text,
    double precision, text) IS
    'runs welfare.accessibility, stores it in welfare.accessibility_result under a new run id '
    '(parameters and duration logged in welfare.run) and returns that id';

REVOKE ALL ON FUNCTION welfare._accessibility_door(),
    welfare._fca(text, regclass, text, text, text, regclass, text, text, text, double precision,
                 text, double precision),
    welfare.two_step_fca(regclass, text, text, text, regclass, text, text, text, double precision,
                         text, double precision),
    welfare.three_step_fca(regclass, text, text, text, regclass, text, text, text,
                           double precision, text, double precision),
    welfare._accessibility(text, integer, text, text, double precision, text, double precision, text),
    welfare.accessibility(text, integer, text, text, double precision, text, double precision, text),
    welfare._run_accessibility(text, integer, text, text, double precision, text, double precision,
                               text),
    welfare.run_accessibility(text, integer, text, text, double precision, text, double precision,
                              text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION welfare._accessibility_door(),
    welfare._fca(text, regclass, text, text, text, regclass, text, text, text, double precision,
                 text, double precision),
    welfare.two_step_fca(regclass, text, text, text, regclass, text, text, text, double precision,
                         text, double precision),
    welfare.three_step_fca(regclass, text, text, text, regclass, text, text, text,
                           double precision, text, double precision),
    welfare._accessibility(text, integer, text, text, double precision, text, double precision, text),
    welfare.accessibility(text, integer, text, text, double precision, text, double precision, text),
    welfare._run_accessibility(text, integer, text, text, double precision, text, double precision,
                               text),
    welfare.run_accessibility(text, integer, text, text, double precision, text, double precision,
                              text)
    TO welfare_analyst, welfare_admin;
GRANT SELECT, INSERT ON welfare.accessibility_result TO welfare_analyst;
GRANT ALL ON welfare.accessibility_result TO welfare_admin;
