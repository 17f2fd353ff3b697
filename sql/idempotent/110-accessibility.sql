-- Accessibility: thin adapters over welfare_core.zone_access / accessibility.
--
-- Generic functions over the caller's relations (welfare.two_step_fca,
-- welfare.three_step_fca) read one point per row (ST_PointOnSurface; a point
-- stays itself) in a projected metric SRID; the core computes the distances.
-- A cost relation (long: origin, destination, cost) may replace the geometry columns.
-- Model functions over the welfare tables (welfare.accessibility,
-- welfare.run_accessibility) call welfare_core.zone_access.zone_accessibility_types:
-- one service type, or every type (service_type_id NULL) with the tables read once.
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
    """ids, values, (n, 2) coordinates and SRID of a relation, in one round trip.
    geom_col None: ids and values only (costs from a cost relation), no coordinates."""
    q = plpy.quote_ident
    if geom_col is None:
        geo = ("0 AS no_geom, NULL::integer[] AS srids, NULL::float8[] AS xs, "
               "NULL::float8[] AS ys ", "NULL::public.geometry AS g, NULL::public.geometry AS p")
    else:
        geo = ("pg_catalog.array_agg(public.ST_X(t.p)) AS xs, "
               "pg_catalog.array_agg(public.ST_Y(t.p)) AS ys, "
               "pg_catalog.count(*) FILTER (WHERE t.g IS NULL OR public.ST_IsEmpty(t.g)) AS no_geom, "
               "pg_catalog.array_agg(DISTINCT public.ST_SRID(t.g)) FILTER (WHERE t.g IS NOT NULL) "
               "AS srids ",
               f"s.{q(geom_col)}::public.geometry AS g, "
               f"public.ST_PointOnSurface(s.{q(geom_col)}::public.geometry) AS p")
    row = plpy.execute(
        "SELECT pg_catalog.array_agg(t.id) AS ids, pg_catalog.array_agg(t.v) AS vals, "
        "pg_catalog.count(*) AS n, pg_catalog.count(DISTINCT t.id) AS n_ids, "
        "pg_catalog.count(*) FILTER (WHERE t.id IS NULL) AS null_ids, "
        "pg_catalog.count(*) FILTER (WHERE t.v IS NULL) AS null_values, " + geo[0] +
        f"FROM (SELECT s.{q(id_col)}::text AS id, s.{q(value_col)}::double precision AS v, "
        f"{geo[1]} FROM {rel} s) t")[0]
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


def od_costs(rel, o_col, d_col, c_col, o_ids, d_ids, demand_rel, demand_id, supply_rel,
             supply_id, max_cost):
    """The CostMatrix (demand rows x supply rows) of a long cost relation (origin, destination,
    cost), as welfare.network_cost_matrix returns it, through welfare_core.costs.from_od_table.
    Pairs absent from it are unreachable; an id that is not a demand (origin) or supply
    (destination) id is an error (a swapped or stale cost relation must not pass unnoticed)."""
    from welfare_core import costs
    q = plpy.quote_ident
    if len({o_col, d_col, c_col}) < 3:
        wi.fail(f"cost relation {rel}: cost_origin, cost_destination and cost_col must name "
                f"three different columns, got {o_col}, {d_col}, {c_col}",
                hint="defaults: origin_id, destination_id, cost")
    row = plpy.execute(
        "SELECT pg_catalog.array_agg(t.o) AS os, pg_catalog.array_agg(t.d) AS ds, "
        "pg_catalog.array_agg(t.c) AS cs, "
        "pg_catalog.count(*) FILTER (WHERE t.o IS NULL OR t.d IS NULL) AS null_ids, "
        "pg_catalog.count(*) FILTER (WHERE t.c IS NULL) AS null_costs "
        f"FROM (SELECT s.{q(o_col)}::text AS o, s.{q(d_col)}::text AS d, "
        f"s.{q(c_col)}::double precision AS c FROM {rel} s) t")[0]
    name = f"cost relation {rel}"
    if row["null_ids"]:
        wi.fail(f"{name} has {row['null_ids']} row(s) with a NULL {o_col} or {d_col}",
                hint=f"leave them out, e.g. pass a view with WHERE {q(o_col)} IS NOT NULL "
                     f"AND {q(d_col)} IS NOT NULL")
    if row["null_costs"]:
        wi.fail(f"{name} has {row['null_costs']} row(s) with a NULL cost in column {c_col}",
                hint="leave unreachable pairs out of the cost relation (or give them "
                     "'Infinity')")
    frame = pd.DataFrame({o_col: pd.Series(row["os"] or [], dtype=object),
                          d_col: pd.Series(row["ds"] or [], dtype=object),
                          c_col: np.asarray(row["cs"] or [], dtype=float)})
    for col, ids, what, rel2, key in ((o_col, o_ids, "demand", demand_rel, demand_id),
                                      (d_col, d_ids, "supply", supply_rel, supply_id)):
        unknown = pd.Index(frame[col].unique()).difference(pd.Index(ids))
        if len(unknown):
            wi.fail(f"{name} has {len(unknown)} {col} value(s) that are not ids of the {what} "
                    f"relation {rel2} (column {key}), e.g. {sorted(unknown)[:5]}",
                    sqlstate="23503",
                    hint=f"{col} must be ids of {rel2}: pass a view restricted to them, and check "
                         "that origins (demand) and destinations (supply) are not swapped")
    try:
        return costs.from_od_table(frame, o_ids, d_ids, origin_col=o_col, destination_col=d_col,
                                   cost_col=c_col, max_cost=max_cost)
    except wi.errors.WelfareError as e:
        wi.fail(e.message.replace("OD table", name, 1), sqlstate=e.sqlstate, hint=e.hint)


def fca(method, demand_rel, demand_id, demand_col, demand_geom, supply_rel, supply_id,
        supply_col, supply_geom, max_cost, decay, decay_param, cost_rel=None,
        cost_origin=None, cost_destination=None, cost_col=None):
    geometry = cost_rel is None  # with a cost relation the geometry columns are not read
    for arg, value in (("demand_rel", demand_rel), ("demand_id", demand_id),
                       ("demand_col", demand_col), ("demand_geom", demand_geom),
                       ("supply_rel", supply_rel), ("supply_id", supply_id),
                       ("supply_col", supply_col), ("supply_geom", supply_geom)):
        if value is None and (geometry or not arg.endswith("_geom")):
            wi.fail(f"{arg} is required", hint="name the relation and its id and value columns, "
                                                "and the geometry columns or a cost relation")
    ids, demand, d_xy, d_srid = points(demand_rel, demand_id, demand_col,
                                       demand_geom if geometry else None, "demand")
    s_ids, supply, s_xy, s_srid = points(supply_rel, supply_id, supply_col,
                                         supply_geom if geometry else None, "supply")
    if d_srid is not None and s_srid is not None and d_srid != s_srid:
        wi.fail(f"demand geometry is in SRID {d_srid} but supply geometry in SRID {s_srid}",
                hint=f"ST_Transform one of them, e.g. ST_Transform(geom, {d_srid})")
    cost = None
    if not geometry:
        wi.call(zone_access.costs_mod.check_max_cost, max_cost)
        cost = od_costs(cost_rel, cost_origin or "origin_id", cost_destination or
                        "destination_id", cost_col or "cost", ids, s_ids, demand_rel, demand_id,
                        supply_rel, supply_id, max_cost)
    access = wi.call(zone_access.point_fca, demand, None if cost is not None else d_xy, supply,
                     None if cost is not None else s_xy, max_cost, decay=decay,
                     decay_param=decay_param, method=method, cost=cost)
    return list(zip(ids, access.tolist()))


def inputs(service_type_id, period):
    """The welfare tables the driver needs, each read once: facilities of the type (every
    type when service_type_id is NULL), the period's demand of the targets those types
    serve only, and the zones carrying any demand in the period (the origins); after the
    last population year, the projected demand (wi.period_tables)."""
    tables = {name: wi.table_frame(name, cols) for name, cols in (
        ("zone", ("zone_id", "municipality_code", "level", "parent_id", "geometry")),
        ("service_type", None), ("service_target", None))}
    fac = {c: (plpy.quote_ident(c), wi.SQL_TYPES[T["facility"].column(c).kind])
           for c in ("facility_id", "service_type_id", "capacity", "active_from", "active_to")}
    fac["geometry"] = ("public.ST_AsBinary(geom)", "bytea")
    st = tables["service_target"]
    if service_type_id is None:
        tables["facility"] = wi.read_frame(T["facility"], wi.relation("facility"), fac)
    else:
        tables["facility"] = wi.read_frame(T["facility"], wi.relation("facility"), fac,
                                           "WHERE service_type_id = $1", [service_type_id],
                                           ["text"])
        st = st[st["service_type_id"] == service_type_id]
    out = wi.period_tables(tables, period, targets=sorted(set(st["target_id"].astype(str))))
    return out, out.pop("demand_carriers", None)


def compute(service_type_id, period, level, method, max_cost, decay, decay_param,
            municipality_code, published=None):
    """Raw rows of one service type, or of every type when service_type_id is None (the
    tables read once); with published = (rules, sensitive), (raw rows, published rows): the
    published access computed again on published demand (zone_access.published_accessibility)."""
    if period is None:
        wi.fail("period is required", hint="e.g. ('nursery', 2023), or (NULL, 2023) for every "
                                            "service type")
    tables, carriers = inputs(service_type_id, period)
    options = dict(method=method or "2sfca", max_cost=max_cost, decay=decay,
                   decay_param=decay_param, municipality_code=municipality_code,
                   carriers=carriers)
    ids = None if service_type_id is None else [service_type_id]
    rows = wi.call(zone_access.zone_accessibility_types, tables, ids, period,
                   level or "section", **options)
    if published is None:
        return rows
    rules, sensitive = published
    return rows, wi.call(zone_access.published_accessibility, tables, ids, period,
                         level or "section", rules=rules, sensitive=sensitive, rows=rows,
                         **options)


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


# welfare.accessibility's values constant within a (service type, target) block of rows
GROUP_COLUMNS = ("service_type_id", "target_id", "method", "max_cost", "cost_unit")


def float_literal(values) -> str:
    """A float8[] literal (NaN as NaN: NULLIF'd in SQL)."""
    return "{" + ",".join(map(repr, np.asarray(values, dtype=float).tolist())) + "}"


def text_literal(values) -> str:
    """A text[] literal of non-NULL strings (quoted, backslash and quote escaped)."""
    return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for v in values) + "}"


def grouped_rows(frame):
    """welfare._accessibility's rows: one per (service type, target), its zones' values as
    array literals. PostgreSQL takes each value a PL/Python function returns through its
    text form, ~1 µs a value plus ~3 µs a row: 174,087 rows of 15 values took 2-2.3 s,
    the same values as one literal per column and group ~0.5 s (parsed in C)."""
    out = []
    for key, part in frame.groupby(list(GROUP_COLUMNS), sort=False, dropna=False):
        sid, target, method, cutoff, unit = (None if pd.isna(v) else v for v in key)
        out.append((sid, target, method, cutoff, unit, text_literal(part["zone_id"]),
                    *(float_literal(part[c]) for c in ("demand", "access", "nearest_cost",
                                                        "share_within")),
                    part["null_reason"].to_numpy(dtype=object, na_value=None).tolist()))
    return out


GD[KEY] = types.SimpleNamespace(fca=fca, compute=compute, grouped_rows=grouped_rows,
                                columns=columns,
                                srid_check=srid_check,  # also used by 115-network.sql
                                rules=rules, zone_access=zone_access, pd=pd, np=np)
return KEY
$python$;
COMMENT ON FUNCTION welfare._accessibility_door() IS 'loads the accessibility adapter once per session (internal)';

-- --- generic: the caller's relations ------------------------------------------------
-- 0.1.1 added the cost relation (cost_rel and its three column names): drop the 0.1.0
-- signatures, so an upgraded database has the same functions as a fresh install.
DROP FUNCTION IF EXISTS welfare.two_step_fca(regclass, text, text, text, regclass, text, text,
    text, double precision, text, double precision);
DROP FUNCTION IF EXISTS welfare.three_step_fca(regclass, text, text, text, regclass, text, text,
    text, double precision, text, double precision);
DROP FUNCTION IF EXISTS welfare._fca(text, regclass, text, text, text, regclass, text, text, text,
    double precision, text, double precision);

CREATE OR REPLACE FUNCTION welfare._fca(
    method text, demand_rel regclass, demand_id text, demand_col text, demand_geom text,
    supply_rel regclass, supply_id text, supply_col text, supply_geom text,
    max_cost double precision, decay text, decay_param double precision,
    cost_rel regclass, cost_origin text, cost_destination text, cost_col text)
RETURNS TABLE (id text, access double precision)
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ax = GD.get("welfare_accessibility @extversion@") or plpy.execute(
    "SELECT welfare._accessibility_door()") and GD["welfare_accessibility @extversion@"]
return ax.fca(method, demand_rel, demand_id, demand_col, demand_geom, supply_rel, supply_id,
              supply_col, supply_geom, max_cost, decay, decay_param, cost_rel, cost_origin,
              cost_destination, cost_col)
$python$;
COMMENT ON FUNCTION welfare._fca(text, regclass, text, text, text, regclass, text, text, text,
    double precision, text, double precision, regclass, text, text, text) IS
    'PL/Python body of welfare.two_step_fca and welfare.three_step_fca (internal)';

CREATE OR REPLACE FUNCTION welfare.two_step_fca(
    demand_rel regclass, demand_id text, demand_col text, demand_geom text,
    supply_rel regclass, supply_id text, supply_col text, supply_geom text,
    max_cost double precision, decay text DEFAULT NULL, decay_param double precision DEFAULT NULL,
    cost_rel regclass DEFAULT NULL, cost_origin text DEFAULT 'origin_id',
    cost_destination text DEFAULT 'destination_id', cost_col text DEFAULT 'cost')
RETURNS TABLE (id text, access double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._fca('2sfca', demand_rel, demand_id, demand_col,
        demand_geom, supply_rel, supply_id, supply_col, supply_geom, max_cost, decay, decay_param,
        cost_rel, cost_origin, cost_destination, cost_col);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.two_step_fca(regclass, text, text, text, regclass, text, text, text,
    double precision, text, double precision, regclass, text, text, text) IS
    '2SFCA accessibility A_i (supply per unit of demand) of each row of demand_rel to the rows '
    'of supply_rel: R_j = S_j / sum_k W(c_kj) D_k, A_i = sum_j W(c_ij) R_j over c <= max_cost '
    '(inclusive). Costs: metres between the points on surface of the geometry columns (a '
    'projected metric SRID is required), or, when cost_rel is given, the long relation '
    'cost_rel (cost_origin = a demand id, cost_destination = a supply id, cost_col >= 0, e.g. '
    'the output of welfare.network_cost_matrix; max_cost in its unit; the geometry columns '
    'may then be NULL and are not read): a pair absent from it (or of cost Infinity) is '
    'unreachable; an id unknown to demand_rel / supply_rel, a NULL id or cost, a negative or '
    'NaN cost or a duplicate pair is an error. decay: NULL/none, linear, gaussian, exponential '
    'or gravity with decay_param (welfare_core.zone_access.service_decay)';

CREATE OR REPLACE FUNCTION welfare.three_step_fca(
    demand_rel regclass, demand_id text, demand_col text, demand_geom text,
    supply_rel regclass, supply_id text, supply_col text, supply_geom text,
    max_cost double precision, decay text DEFAULT NULL, decay_param double precision DEFAULT NULL,
    cost_rel regclass DEFAULT NULL, cost_origin text DEFAULT 'origin_id',
    cost_destination text DEFAULT 'destination_id', cost_col text DEFAULT 'cost')
RETURNS TABLE (id text, access double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._fca('3sfca', demand_rel, demand_id, demand_col,
        demand_geom, supply_rel, supply_id, supply_col, supply_geom, max_cost, decay, decay_param,
        cost_rel, cost_origin, cost_destination, cost_col);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.three_step_fca(regclass, text, text, text, regclass, text, text, text,
    double precision, text, double precision, regclass, text, text, text) IS
    '3SFCA accessibility (Wan et al. 2012): like welfare.two_step_fca (geometry columns or a '
    'cost relation cost_rel) with selection weights G_ij = W_ij / sum of W_il over the '
    'facilities l within max_cost of i';

-- --- model: the welfare tables ---------------------------------------------------------
-- 0.1.2: the rows come grouped (fewer values out of PL/Python): a new result type
DROP FUNCTION IF EXISTS welfare._accessibility(text, integer, text, text, double precision,
    text, double precision, text);
CREATE FUNCTION welfare._accessibility(
    service_type_id text, period integer, level text, method text, max_cost double precision,
    decay text, decay_param double precision, municipality_code text)
RETURNS TABLE (
    service_type text, target_id text, access_method text, cutoff_cost double precision,
    cost_unit text, zone_ids text, demand text, access text, nearest_cost text,
    share_within text, null_reason text[])
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
ax = GD.get("welfare_accessibility @extversion@") or plpy.execute(
    "SELECT welfare._accessibility_door()") and GD["welfare_accessibility @extversion@"]
frame = ax.compute(service_type_id, period, level, method, max_cost, decay, decay_param,
                   municipality_code)
return ax.grouped_rows(frame)
$python$;
COMMENT ON FUNCTION welfare._accessibility(text, integer, text, text, double precision, text,
    double precision, text) IS
    'PL/Python body of welfare.accessibility (internal): one row per service type and '
    'target, its zones'' values as array literals (zone_ids text[], the rest float8[])';

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
if service_type_id is None:  # every type: the run covers these (welfare_bi.accessibility)
    params["service_type_ids"] = [r["service_type_id"] for r in plpy.execute(
        "SELECT service_type_id FROM welfare.service_type ORDER BY 1")]
run_id = plpy.execute(plpy.prepare(
    "SELECT welfare.log_run_start('accessibility', $1::jsonb) AS run_id", ["text"]),
    [json.dumps(params)])[0]["run_id"]
sensitive = [r["target_id"] for r in plpy.execute(
    "SELECT target_id FROM welfare.target WHERE sensitive")]
frame, pub = ax.compute(service_type_id, period, lvl, how, max_cost, decay, decay_param,
                        municipality_code, published=(ax.rules(), sensitive))
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
n_types = frame["service_type_id"].nunique() if len(frame) else 0
plpy.execute(plpy.prepare("SELECT welfare.log_run_finish($1, 'ok', $2)", ["bigint", "text"]),
    [run_id, "no rows" if not len(frame) else
     f"{len(frame)} zone x target rows of {n_types} service types" if n_types > 1 else
     f"{len(frame)} zone x target rows, cutoff {frame['max_cost'].iloc[0]:g} "
     f"{frame['cost_unit'].iloc[0]}"])
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
    RETURN QUERY
    SELECT v.zone_id, z.level, z.parent_id, z.municipality_code, accessibility.period,
           g.service_type, g.target_id, g.access_method, NULLIF(v.demand, 'NaN'),
           NULLIF(v.access, 'NaN'), NULLIF(v.nearest_cost, 'NaN'),
           NULLIF(v.share_within, 'NaN'), g.cutoff_cost, g.cost_unit, v.null_reason
    FROM welfare._accessibility(service_type_id, period, level, method, max_cost, decay,
                                decay_param, municipality_code) WITH ORDINALITY AS g
    CROSS JOIN LATERAL unnest(g.zone_ids::text[], g.demand::float8[], g.access::float8[],
                              g.nearest_cost::float8[], g.share_within::float8[],
                              g.null_reason) WITH ORDINALITY
        AS v(zone_id, demand, access, nearest_cost, share_within, null_reason, n)
    JOIN welfare.zone z ON z.zone_id = v.zone_id
    ORDER BY g.ordinality, v.n;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.accessibility(text, integer, text, text, double precision, text,
    double precision, text) IS
    'per zone of a level and target served by a service type, for a period: access (2sfca, '
    '3sfca: supply per 100 of demand; gravity: weighted capacity within reach), cost to the '
    'nearest facility, share of demand within max_cost; demand-weighted means of the finest '
    'zones (origins include the ring comuni); max_cost, decay, decay_param default to the '
    'service type''s (welfare_core.zone_access); raw values, for analysts. service_type_id '
    'NULL: every service type in one call (inputs read once; the same rows as one call per '
    'type; max_cost, if given, in each type''s cost unit)';

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
    '(parameters and duration logged in welfare.run) and returns that id; service_type_id '
    'NULL: one run for every service type (parameters list them in service_type_ids)';

-- EXECUTE on these functions: the rules of 900-privileges.sql (admin, analyst).
GRANT SELECT, INSERT ON welfare.accessibility_result TO welfare_analyst;
GRANT ALL ON welfare.accessibility_result TO welfare_admin;
