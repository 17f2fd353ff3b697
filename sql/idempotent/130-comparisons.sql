-- Comparisons: thin adapters over welfare_core.composite, .benchmark, .spatial and .equity.
--
-- Every function reads a stored zone-indicators run (welfare.run_zone_indicators)
-- by its run id: components, values and weights come from zone_indicator_result,
-- polygons and districts from welfare.zone. A value is named "target_id:column"
-- (column of zone_indicator_result; "target_id" alone means its incidence).
-- The equity measures read an accessibility run (welfare.run_accessibility) too:
-- then the values are accessibility_result columns, weighted by the demand.
-- welfare._comparisons_door() leaves the readers and runners in GD once per
-- session (same pattern as welfare._bootstrap()). No formula lives here.
CREATE OR REPLACE FUNCTION welfare._comparisons_door() RETURNS text
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import json
import time
import types
KEY = "welfare_comparisons @extversion@"
if KEY in GD:
    return KEY
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
records, rules = wi.records, wi.rules  # shared (010-bootstrap.sql)
from welfare_core import benchmark, composite, equity, indicators, privacy, spatial
pd, np = wi.pd, wi.np

ROW_COLUMNS = {"zone_id": "text", "level": "text", "parent_id": "text", "period": "int",
               "target_id": "text", "unit": "text", "polarity": "text", "demand": "float",
               "reference_population": "float", "incidence_per_100": "float",
               "supply": "float", "coverage_per_100": "float", "required": "float",
               "gap": "float", "location_quotient": "float", "published": "bool"}
SQL_TYPE = {"text": "text", "int": "integer", "float": "double precision", "bool": "boolean",
            "geometry": "bytea"}


def frame(relation, columns, args=(), argtypes=()):
    """{name: (SQL expression, kind)} of ``relation`` as typed DataFrame columns, one round trip."""
    names = list(columns)
    select = ", ".join(f"pg_catalog.array_agg({expr}) AS c{i}"
                       for i, (expr, _) in enumerate(columns.values()))
    row = plpy.execute(plpy.prepare(f"SELECT {select} FROM {relation}", list(argtypes)),
                       list(args))[0]
    return pd.DataFrame({n: wi.column_frame(row[f"c{i}"], kind, SQL_TYPE[kind])
                         for i, (n, (_, kind)) in enumerate(columns.items())})


# published=True: the values as the run published them (welfare_core.privacy, counts
# suppressed and rounded, rates over published counts), what every stored comparison run
# (welfare_bi) is computed from: a raw incidence beside a rounded reference population
# would give the raw count back. required has no published copy: hidden (NULL).
PUBLISHED_EXPR = {"demand": "demand_pub", "reference_population": "reference_population_pub",
                  "incidence_per_100": "incidence_pub", "coverage_per_100": "coverage_pub",
                  "gap": "gap_pub", "location_quotient": "location_quotient_pub",
                  "required": "NULL::double precision"}


def indicator_run(run_id, targets=None, published=False):
    """(rows, level, period) of a finished zone-indicators run; only ``targets`` when given;
    ``published``: the published values (PUBLISHED_EXPR) instead of the raw ones."""
    if run_id is None:
        wi.fail("run_id is required", hint="pass the id returned by welfare.run_zone_indicators")
    run = plpy.execute(plpy.prepare(
        "SELECT kind, status, parameters::text AS p FROM welfare.run WHERE run_id = $1",
        ["bigint"]), [run_id])
    if not run:
        wi.fail(f"there is no run {run_id}", sqlstate="23503",
                hint="run SELECT welfare.run_zone_indicators(level, period) first")
    if run[0]["kind"] != "zone_indicators" or run[0]["status"] != "ok":
        wi.fail(f"run {run_id} is a {run[0]['status']} {run[0]['kind']} run, not a finished "
                "zone_indicators run", hint="pass the id returned by welfare.run_zone_indicators")
    params = json.loads(run[0]["p"])
    where, args, types_ = "WHERE run_id = $1", [run_id], ["bigint"]
    if targets:
        where, args, types_ = where + " AND target_id = ANY($2)", args + [list(targets)], \
            types_ + ["text[]"]
    expr = PUBLISHED_EXPR if published else {}
    rows = frame(f"welfare.zone_indicator_result {where}",
                 {c: (expr.get(c, c), k) for c, k in ROW_COLUMNS.items()}, args, types_)
    if targets and rows.empty:
        wi.fail(f"run {run_id} has no rows for target(s) {sorted(set(targets))}",
                sqlstate="23503", hint="use target ids of welfare.target")
    rows["period"] = rows["period"].astype(int)
    rows["published"] = rows["published"].astype(bool)
    return rows, params["level"], int(params["period"])


def zones(ids):
    """zone_id, parent_id, WKB polygon and a point inside, for ``ids`` (in that order)."""
    z = frame("welfare.zone WHERE zone_id = ANY($1)",
              {"zone_id": ("zone_id", "text"), "geometry": ("public.ST_AsBinary(geom)", "geometry"),
               "x": ("public.ST_X(public.ST_PointOnSurface(geom))", "float"),
               "y": ("public.ST_Y(public.ST_PointOnSurface(geom))", "float")},
              [list(ids)], ["text[]"])
    return z.set_index("zone_id").loc[list(ids)].reset_index()


def districts(ids):
    """zone_id -> its district (NULL when the zone is a district or coarser)."""
    z = frame("welfare.zone", {"zone_id": ("zone_id", "text"), "level": ("level", "text"),
                               "parent_id": ("parent_id", "text")})
    up = indicators.ancestor_map(z, "district")
    ids = pd.Series(list(ids), dtype=object)
    out = ids.map(up).astype(object)
    out[out == ids] = None  # a district is not compared with itself
    return out


def settings():
    return {r["name"]: r["value"] for r in plpy.execute(
        "SELECT s.name, welfare.setting_value(s.name) AS value FROM welfare.setting s")}


def start(kind, params):
    """A new run in the append-only log (welfare.log_run_start, see 150-governance.sql)."""
    return plpy.execute(plpy.prepare(
        "SELECT welfare.log_run_start($1, $2::jsonb) AS run_id",
        ["text", "text"]), [kind, json.dumps(params)])[0]["run_id"]


def insert(table, run_id, frame):
    """Bulk insert: one JSON document expanded by json_populate_recordset (C speed)."""
    cols = ", ".join(plpy.quote_ident(c) for c in frame.columns)
    plpy.execute(plpy.prepare(
        f"INSERT INTO welfare.{plpy.quote_ident(table)} (run_id, {cols}) SELECT $1, {cols} "
        f"FROM pg_catalog.json_populate_recordset(NULL::welfare.{plpy.quote_ident(table)}, $2)",
        ["bigint", "json"]), [run_id, records(frame, frame.columns)])


def finish(run_id, t0):
    """Status ok; the log measures the duration itself (welfare.log_run_finish)."""
    plpy.execute(plpy.prepare("SELECT welfare.log_run_finish($1, 'ok')", ["bigint"]), [run_id])


# --- composite index ---------------------------------------------------------------

def composite_index(run_id, components, method, direction, reference, smooth, published=False):
    """(rows of the run, CompositeResult, residents per zone, level, period); from the
    run's published values when ``published`` (stored runs)."""
    if components is None:
        wi.fail("components are required",
                hint='e.g. \'["pop_65plus", {"name": "pop_0_2:coverage_per_100"}]\'::jsonb')
    spec = json.loads(components)
    if not isinstance(spec, list):
        wi.fail("components must be a JSON array of names or objects",
                hint='e.g. \'["pop_65plus", {"name": "alone_65plus", "theme": "living"}]\'')
    names = [c.get("name") if isinstance(c, dict) else c for c in spec]
    # the residents (privacy floor) come from person targets: keep one of those too
    wanted = [str(n).split(":")[0] for n in names if n] + \
        [r["target_id"] for r in plpy.execute(
            "SELECT target_id FROM welfare.target WHERE unit = 'persons' ORDER BY target_id LIMIT 1")]
    rows, level, period = indicator_run(run_id, wanted, published)
    values, comps, population = wi.call(composite.components_from_indicators, rows, spec,
                                        smooth=bool(smooth))
    ref = reference or "mean"
    if ref.lstrip().startswith("{"):
        ref = json.loads(ref)
    result = wi.call(composite.composite_index, values, comps, method=method or "svi",
                     direction=direction or "high_is_bad", reference=ref)
    return rows, result, population, level, period


def run_composite_index(run_id, components, method, direction, reference, smooth, name):
    t0 = time.perf_counter()
    rows, result, population, level, period = composite_index(
        run_id, components, method, direction, reference, smooth, published=True)
    new = start("composite_index", {
        "source_run_id": run_id, "level": level, "period": period, "name": name or "composite",
        "method": method or "svi", "direction": direction or "high_is_bad",
        "reference": reference or "mean", "smooth": bool(smooth),
        "components": json.loads(components)})
    floor = composite.min_population_of(None, settings())
    pub = composite.publish_composite(result, population, floor)
    parent = rows.drop_duplicates("zone_id").set_index("zone_id")["parent_id"]
    index = result.index.assign(
        source_run_id=run_id, level=level, period=period, direction=direction or "high_is_bad",
        parent_id=result.index["zone_id"].map(parent), population=population,
        published=pub.index["published"].to_numpy())
    insert("composite_result", new, index)
    insert("composite_component_result", new, result.contributions)
    finish(new, t0)
    return new


# --- hot spots ----------------------------------------------------------------------

def spatial_inputs(run_id, target, column, weights, distance_m, smooth, published=False):
    """(indicator rows of the target, SpatialWeights over the zones with a value, level, period)."""
    if target is None:
        wi.fail("target is required", hint="a target_id of the run, e.g. 'pop_65plus'")
    rows, level, period = indicator_run(run_id, [target], published)
    values = wi.call(benchmark.indicator_rows, rows, [target], column or "incidence_per_100",
                     smooth=bool(smooth))
    values = values[values["value"].notna()].reset_index(drop=True)
    z = zones(values["zone_id"])
    kind = weights or "queen"
    if kind == "queen":
        w = wi.call(spatial.queen_weights, z["zone_id"], z["geometry"])
    elif kind == "distance":
        if distance_m is None:
            wi.fail("distance weights need distance_m", hint="e.g. distance_m => 1000 (metres)")
        w = wi.call(spatial.distance_weights, z["zone_id"], z[["x", "y"]].to_numpy(), distance_m)
    else:
        wi.fail(f"unknown weights {kind!r}", hint="use 'queen' or 'distance'")
    return values, w, level, period


def hot_spots(run_id, target, column, weights, distance_m, permutations, seed, alpha, fdr, smooth,
              published=False):
    values, w, level, period = spatial_inputs(run_id, target, column, weights, distance_m, smooth,
                                              published)
    lisa = wi.call(spatial.local_moran, values["value"].to_numpy(), w,
                   permutations=999 if permutations is None else permutations,
                   seed=seed, alpha=0.05 if alpha is None else alpha, fdr=bool(fdr))
    return values, w, lisa, level, period


def global_moran(run_id, target, column, weights, distance_m, permutations, seed, smooth):
    values, w, _, _ = spatial_inputs(run_id, target, column, weights, distance_m, smooth)
    m = wi.call(spatial.moran, values["value"].to_numpy(), w,
                permutations=999 if permutations is None else permutations, seed=seed)
    return values, w, m


def moran_row(values, w, m, weights, distance_m, threshold):
    return pd.DataFrame([{
        "indicator": values["indicator"].iloc[0], "weights": weights or "queen",
        "distance_m": distance_m, "transformation": m.transformation, "zones": m.n,
        "islands": len(w.islands), "moran_i": m.i, "expected": m.expected,
        "variance_norm": m.variance_norm, "variance_rand": m.variance_rand,
        "z_norm": m.z_norm, "z_rand": m.z_rand, "p_norm": m.p_norm, "p_rand": m.p_rand,
        "p_sim": m.p_sim, "permutations": m.permutations, "seed": m.seed,
        "p_threshold": threshold}])


def run_hot_spots(run_id, target, column, weights, distance_m, permutations, seed, alpha, fdr,
                  smooth):
    t0 = time.perf_counter()
    values, w, lisa, level, period = hot_spots(run_id, target, column, weights, distance_m,
                                               permutations, seed, alpha, fdr, smooth,
                                               published=True)
    m = wi.call(spatial.moran, values["value"].to_numpy(), w,
                permutations=999 if permutations is None else permutations, seed=seed)
    column = column or "incidence_per_100"
    new = start("hot_spots", {
        "source_run_id": run_id, "level": level, "period": period, "target": target,
        "value_column": column, "indicator": f"{target}:{column}", "weights": weights or "queen",
        "distance_m": distance_m, "permutations": m.permutations, "seed": seed,
        "alpha": 0.05 if alpha is None else alpha, "fdr": bool(fdr), "smooth": bool(smooth)})
    out = lisa.assign(level=level, period=period, indicator=values["indicator"].to_numpy(),
                      published=benchmark.publishable(values, rules()))
    insert("hot_spot_result", new, out)
    insert("moran_result", new, moran_row(values, w, m, weights, distance_m,
                                          lisa.attrs["p_threshold"]))
    finish(new, t0)
    return new


# --- benchmarking ---------------------------------------------------------------------

def compare_zones(run_id, targets, column, peers, peer_groups, threshold_z, seed,
                  published=False):
    rows, level, period = indicator_run(run_id, targets and list(targets) + [
        r["target_id"] for r in plpy.execute(  # a person target: residents for size peers
            "SELECT target_id FROM welfare.target WHERE unit = 'persons' ORDER BY 1 LIMIT 1")],
        published)
    ids = sorted(rows["zone_id"].unique())
    bench = wi.call(benchmark.benchmark_indicators, rows, dict(zip(ids, districts(ids))),
                    targets=targets, column=column or "incidence_per_100",
                    peers=peers or "size", peer_groups=5 if peer_groups is None else peer_groups,
                    threshold_z=2.0 if threshold_z is None else threshold_z,
                    seed=0 if seed is None else seed, rules=rules())
    return bench, level, period


def run_compare_zones(run_id, targets, column, peers, peer_groups, threshold_z, seed):
    t0 = time.perf_counter()
    bench, level, period = compare_zones(run_id, targets, column, peers, peer_groups,
                                         threshold_z, seed, published=True)
    new = start("compare_zones", {
        "source_run_id": run_id, "level": level, "period": period, "targets": targets,
        "value_column": column or "incidence_per_100", "peers": peers or "size",
        "peer_groups": peer_groups, "threshold_z": threshold_z, "seed": seed})
    insert("benchmark_result", new, bench.assign(level=level, period=period))
    finish(new, t0)
    return new


# --- equity -----------------------------------------------------------------------------

def run_kind(run_id):
    """Kind of a finished run: zone_indicators or accessibility (equity reads either)."""
    if run_id is None:
        wi.fail("run_id is required", hint="pass the id returned by welfare.run_zone_indicators "
                "or welfare.run_accessibility")
    run = plpy.execute(plpy.prepare(
        "SELECT kind, status FROM welfare.run WHERE run_id = $1", ["bigint"]), [run_id])
    if run and run[0]["kind"] == "accessibility":
        if run[0]["status"] != "ok":
            wi.fail(f"accessibility run {run_id} is {run[0]['status']}, not finished",
                    hint="run welfare.run_accessibility again")
        return "accessibility"
    return "zone_indicators"  # indicator_run checks the rest


def accessibility_run(run_id, targets=None, published=False):
    """(rows, level, period, service_type_id) of a finished accessibility run; its
    published values (the *_pub columns) when ``published`` (stored runs)."""
    params = json.loads(plpy.execute(plpy.prepare(
        "SELECT parameters::text AS p FROM welfare.run WHERE run_id = $1", ["bigint"]),
        [run_id])[0]["p"])
    where, args, types_ = "WHERE run_id = $1", [run_id], ["bigint"]
    if targets:
        where, args, types_ = where + " AND target_id = ANY($2)", args + [list(targets)], \
            types_ + ["text[]"]
    rows = frame(f"welfare.accessibility_result {where}",
                 {c: (f"{c}_pub" if published and c in ACCESS_PUBLISHED else c, k) for c, k in (
                     ("zone_id", "text"), ("level", "text"), ("period", "int"),
                     ("service_type_id", "text"), ("target_id", "text"), ("demand", "float"),
                     ("access", "float"), ("nearest_cost", "float"),
                     ("share_within", "float"))}, args, types_)
    if rows.empty:
        wi.fail(f"run {run_id} has no rows" + (f" for target(s) {sorted(set(targets))}"
                                               if targets else ""),
                sqlstate="23503", hint="use target ids the run's service type serves")
    return rows, rows["level"].iloc[0], int(rows["period"].iloc[0]), params.get("service_type_id")


ACCESS_PUBLISHED = ("demand", "access", "nearest_cost", "share_within")


def equity_measures(run_id, targets, column, composite_run_id, published=False):
    """(equity rows, level, period, service type or None): over a zone-indicators run
    (default column coverage_per_100) or an accessibility run (default column access);
    over its published values when ``published`` (stored runs: zones whose value or
    weight is suppressed are left out, welfare_core.benchmark)."""
    vulnerability, ranked_by = None, None
    if composite_run_id is not None:
        c = frame("welfare.composite_result WHERE run_id = $1",
                  {"zone_id": ("zone_id", "text"), "score": ("score", "float")},
                  [composite_run_id], ["bigint"])
        if c.empty:
            wi.fail(f"run {composite_run_id} has no composite index", sqlstate="23503",
                    hint="pass the id returned by welfare.run_composite_index")
        vulnerability = dict(zip(c["zone_id"], c["score"]))
        ranked_by = f"composite run {composite_run_id}"
    if run_kind(run_id) == "accessibility":
        rows, level, period, service = accessibility_run(run_id, targets, published)
        column, measure = column or "access", benchmark.equity_of_access
    else:
        rows, level, period = indicator_run(run_id, targets, published)
        column, measure, service = column or "coverage_per_100", benchmark.equity_of_indicators, None
    ids = sorted(rows["zone_id"].unique())
    out = wi.call(measure, rows, dict(zip(ids, districts(ids))),
                  targets=targets, column=column, vulnerability=vulnerability,
                  ranked_by=ranked_by)
    return out, level, period, service, column


def run_equity_measures(run_id, targets, column, composite_run_id):
    t0 = time.perf_counter()
    out, level, period, service, column = equity_measures(run_id, targets, column,
                                                          composite_run_id, published=True)
    new = start("equity_measures", {
        "source_run_id": run_id, "level": level, "period": period, "targets": targets,
        "value_column": column, "composite_run_id": composite_run_id,
        "service_type_id": service})
    insert("equity_result", new, out.assign(level=level, period=period))
    finish(new, t0)
    return new


# the body runs as a function: its defs are locals, handed over through GD
GD[KEY] = types.SimpleNamespace(**{n: v for n, v in list(locals().items())
                                   if callable(v) and not isinstance(v, type)})
return KEY
$python$;
COMMENT ON FUNCTION welfare._comparisons_door() IS 'loads the comparisons adapter once per session (internal)';

-- PL/Python bodies (internal): JSON rows or a run id.
CREATE OR REPLACE FUNCTION welfare._composite_index_json(
    run_id bigint, components jsonb, method text, direction text, reference text, smooth boolean)
RETURNS json
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
door = GD.get("welfare_comparisons @extversion@") or plpy.execute(
    "SELECT welfare._comparisons_door()") and GD["welfare_comparisons @extversion@"]
_, result, _, _, _ = door.composite_index(run_id, components, method, direction, reference, smooth)
return door.records(result.index, result.index.columns)
$python$;

CREATE OR REPLACE FUNCTION welfare._run_composite_index(
    run_id bigint, components jsonb, method text, direction text, reference text, smooth boolean,
    name text)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
door = GD.get("welfare_comparisons @extversion@") or plpy.execute(
    "SELECT welfare._comparisons_door()") and GD["welfare_comparisons @extversion@"]
return door.run_composite_index(run_id, components, method, direction, reference, smooth, name)
$python$;

CREATE OR REPLACE FUNCTION welfare._hot_spots_json(
    run_id bigint, target text, value_column text, weights text, distance_m double precision,
    permutations integer, seed integer, alpha double precision, fdr boolean, smooth boolean)
RETURNS json
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
door = GD.get("welfare_comparisons @extversion@") or plpy.execute(
    "SELECT welfare._comparisons_door()") and GD["welfare_comparisons @extversion@"]
_, _, lisa, _, _ = door.hot_spots(run_id, target, value_column, weights, distance_m,
                                  permutations, seed, alpha, fdr, smooth)
return door.records(lisa, lisa.columns)
$python$;

CREATE OR REPLACE FUNCTION welfare._global_moran_json(
    run_id bigint, target text, value_column text, weights text, distance_m double precision,
    permutations integer, seed integer, smooth boolean)
RETURNS json
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
door = GD.get("welfare_comparisons @extversion@") or plpy.execute(
    "SELECT welfare._comparisons_door()") and GD["welfare_comparisons @extversion@"]
values, w, m = door.global_moran(run_id, target, value_column, weights, distance_m,
                                 permutations, seed, smooth)
row = door.moran_row(values, w, m, weights, distance_m, 0.05)
return door.records(row, row.columns)
$python$;

CREATE OR REPLACE FUNCTION welfare._run_hot_spots(
    run_id bigint, target text, value_column text, weights text, distance_m double precision,
    permutations integer, seed integer, alpha double precision, fdr boolean, smooth boolean)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
door = GD.get("welfare_comparisons @extversion@") or plpy.execute(
    "SELECT welfare._comparisons_door()") and GD["welfare_comparisons @extversion@"]
return door.run_hot_spots(run_id, target, value_column, weights, distance_m, permutations,
                          seed, alpha, fdr, smooth)
$python$;

CREATE OR REPLACE FUNCTION welfare._compare_zones_json(
    run_id bigint, targets text[], value_column text, peers text, peer_groups integer,
    threshold_z double precision, seed integer)
RETURNS json
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
door = GD.get("welfare_comparisons @extversion@") or plpy.execute(
    "SELECT welfare._comparisons_door()") and GD["welfare_comparisons @extversion@"]
bench, _, _ = door.compare_zones(run_id, targets, value_column, peers, peer_groups,
                                 threshold_z, seed)
return door.records(bench, bench.columns)
$python$;

CREATE OR REPLACE FUNCTION welfare._run_compare_zones(
    run_id bigint, targets text[], value_column text, peers text, peer_groups integer,
    threshold_z double precision, seed integer)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
door = GD.get("welfare_comparisons @extversion@") or plpy.execute(
    "SELECT welfare._comparisons_door()") and GD["welfare_comparisons @extversion@"]
return door.run_compare_zones(run_id, targets, value_column, peers, peer_groups, threshold_z,
                              seed)
$python$;

CREATE OR REPLACE FUNCTION welfare._equity_measures_json(
    run_id bigint, targets text[], value_column text, composite_run_id bigint)
RETURNS json
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
door = GD.get("welfare_comparisons @extversion@") or plpy.execute(
    "SELECT welfare._comparisons_door()") and GD["welfare_comparisons @extversion@"]
out = door.equity_measures(run_id, targets, value_column, composite_run_id)[0]
return door.records(out, out.columns)
$python$;

CREATE OR REPLACE FUNCTION welfare._run_equity_measures(
    run_id bigint, targets text[], value_column text, composite_run_id bigint)
RETURNS bigint
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
door = GD.get("welfare_comparisons @extversion@") or plpy.execute(
    "SELECT welfare._comparisons_door()") and GD["welfare_comparisons @extversion@"]
return door.run_equity_measures(run_id, targets, value_column, composite_run_id)
$python$;

COMMENT ON FUNCTION welfare._composite_index_json(bigint, jsonb, text, text, text, boolean) IS 'PL/Python body of welfare.composite_index (internal)';
COMMENT ON FUNCTION welfare._run_composite_index(bigint, jsonb, text, text, text, boolean, text) IS 'PL/Python body of welfare.run_composite_index (internal)';
COMMENT ON FUNCTION welfare._hot_spots_json(bigint, text, text, text, double precision, integer, integer, double precision, boolean, boolean) IS 'PL/Python body of welfare.hot_spots (internal)';
COMMENT ON FUNCTION welfare._global_moran_json(bigint, text, text, text, double precision, integer, integer, boolean) IS 'PL/Python body of welfare.global_moran (internal)';
COMMENT ON FUNCTION welfare._run_hot_spots(bigint, text, text, text, double precision, integer, integer, double precision, boolean, boolean) IS 'PL/Python body of welfare.run_hot_spots (internal)';
COMMENT ON FUNCTION welfare._compare_zones_json(bigint, text[], text, text, integer, double precision, integer) IS 'PL/Python body of welfare.compare_zones (internal)';
COMMENT ON FUNCTION welfare._run_compare_zones(bigint, text[], text, text, integer, double precision, integer) IS 'PL/Python body of welfare.run_compare_zones (internal)';
COMMENT ON FUNCTION welfare._equity_measures_json(bigint, text[], text, bigint) IS 'PL/Python body of welfare.equity_measures (internal)';
COMMENT ON FUNCTION welfare._run_equity_measures(bigint, text[], text, bigint) IS 'PL/Python body of welfare.run_equity_measures (internal)';

-- Public functions: clean errors around the PL/Python bodies (see 005-errors.sql).
CREATE OR REPLACE FUNCTION welfare.composite_index(
    run_id bigint, components jsonb, method text DEFAULT 'svi',
    direction text DEFAULT 'high_is_bad', reference text DEFAULT 'mean',
    smooth boolean DEFAULT false)
RETURNS TABLE (
    zone_id text, score double precision, rank integer, pct_rank double precision,
    flags integer, mean double precision, penalty double precision, component_count integer,
    null_reason text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.zone_id, r.score, r.rank, r.pct_rank, r.flags, r.mean, r.penalty, r.components,
           r.null_reason
      FROM pg_catalog.json_populate_recordset(NULL::welfare.composite_result,
               welfare._composite_index_json(run_id, components, method, direction, reference,
                                             smooth)) AS r;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.composite_index(bigint, jsonb, text, text, text, boolean) IS
    'composite index per zone from a zone-indicators run: components a JSON array of '
    '"target_id[:column]" names or {"name", "polarity", "theme", "weight"} objects; method svi '
    '(CDC), imd (English IMD) or ampi (ISTAT IVSM); direction of the index; AMPI reference '
    '"mean", a zone id or a JSON object of values; smooth uses empirical-Bayes incidences. '
    'Raw values, for analysts (formulas in welfare_core.composite)';

CREATE OR REPLACE FUNCTION welfare.run_composite_index(
    run_id bigint, components jsonb, method text DEFAULT 'svi',
    direction text DEFAULT 'high_is_bad', reference text DEFAULT 'mean',
    smooth boolean DEFAULT false, name text DEFAULT 'vulnerability')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN welfare._run_composite_index(run_id, components, method, direction, reference,
                                        smooth, name);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_composite_index(bigint, jsonb, text, text, text, boolean, text) IS
    'computes a composite index (see welfare.composite_index) and stores it with each '
    'component''s contribution in composite_result and composite_component_result under a new '
    'run id, named for welfare_bi.composite_index; returns the run id';

CREATE OR REPLACE FUNCTION welfare.hot_spots(
    run_id bigint, target text, value_column text DEFAULT 'incidence_per_100',
    weights text DEFAULT 'queen', distance_m double precision DEFAULT NULL,
    permutations integer DEFAULT 999, seed integer DEFAULT 0,
    alpha double precision DEFAULT 0.05, fdr boolean DEFAULT false,
    smooth boolean DEFAULT false)
RETURNS TABLE (
    zone_id text, value double precision, z double precision, lag double precision,
    local_i double precision, quadrant integer, p_sim double precision,
    z_sim double precision, significant boolean, lisa_class text, neighbours integer)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.zone_id, r.value, r.z, r.lag, r.local_i, r.quadrant, r.p_sim, r.z_sim,
           r.significant, r.lisa_class, r.neighbours
      FROM pg_catalog.json_populate_recordset(NULL::welfare.hot_spot_result,
               welfare._hot_spots_json(run_id, target, value_column, weights, distance_m,
                                       permutations, seed, alpha, fdr, smooth)) AS r;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.hot_spots(bigint, text, text, text, double precision, integer, integer, double precision, boolean, boolean) IS
    'local Moran (LISA) of one target''s value_column over the zones of a zone-indicators run: '
    'queen contiguity or a distance band (distance_m, metres) between zones, seeded conditional '
    'permutations, classes high-high / low-low / high-low / low-high where p_sim <= alpha (or '
    'the Benjamini-Hochberg cut-off with fdr); zones without a value are left out; raw values';

CREATE OR REPLACE FUNCTION welfare.global_moran(
    run_id bigint, target text, value_column text DEFAULT 'incidence_per_100',
    weights text DEFAULT 'queen', distance_m double precision DEFAULT NULL,
    permutations integer DEFAULT 999, seed integer DEFAULT 0, smooth boolean DEFAULT false)
RETURNS TABLE (
    indicator text, zones integer, islands integer, moran_i double precision,
    expected double precision, variance_norm double precision, variance_rand double precision,
    z_norm double precision, z_rand double precision, p_norm double precision,
    p_rand double precision, p_sim double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.indicator, r.zones, r.islands, r.moran_i, r.expected, r.variance_norm,
           r.variance_rand, r.z_norm, r.z_rand, r.p_norm, r.p_rand, r.p_sim
      FROM pg_catalog.json_populate_recordset(NULL::welfare.moran_result,
               welfare._global_moran_json(run_id, target, value_column, weights, distance_m,
                                          permutations, seed, smooth)) AS r;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.global_moran(bigint, text, text, text, double precision, integer, integer, boolean) IS
    'global Moran''s I of one target''s value_column over the zones of a zone-indicators run, '
    'with E[I], variances and z-scores under normality and randomisation (two-sided p) and a '
    'seeded permutation p-value (row-standardised weights)';

CREATE OR REPLACE FUNCTION welfare.run_hot_spots(
    run_id bigint, target text, value_column text DEFAULT 'incidence_per_100',
    weights text DEFAULT 'queen', distance_m double precision DEFAULT NULL,
    permutations integer DEFAULT 999, seed integer DEFAULT 0,
    alpha double precision DEFAULT 0.05, fdr boolean DEFAULT false,
    smooth boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN welfare._run_hot_spots(run_id, target, value_column, weights, distance_m,
                                  permutations, seed, alpha, fdr, smooth);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_hot_spots(bigint, text, text, text, double precision, integer, integer, double precision, boolean, boolean) IS
    'computes hot spots (see welfare.hot_spots) and global Moran''s I and stores them in '
    'hot_spot_result and moran_result under a new run id; returns the run id';

CREATE OR REPLACE FUNCTION welfare.compare_zones(
    run_id bigint, targets text[] DEFAULT NULL, value_column text DEFAULT 'incidence_per_100',
    peers text DEFAULT 'size', peer_groups integer DEFAULT 5,
    threshold_z double precision DEFAULT 2, seed integer DEFAULT 0)
RETURNS TABLE (
    zone_id text, indicator text, polarity text, value double precision, comparator text,
    group_id text, group_zones integer, reference double precision,
    difference double precision, ratio double precision, z double precision,
    pct_rank double precision, stands_out boolean, worse boolean)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.zone_id, r.indicator, r.polarity, r.value, r.comparator, r.group_id,
           r.group_zones, r.reference, r.difference, r.ratio, r.z, r.pct_rank, r.stands_out,
           r.worse
      FROM pg_catalog.json_populate_recordset(NULL::welfare.benchmark_result,
               welfare._compare_zones_json(run_id, targets, value_column, peers, peer_groups,
                                           threshold_z, seed)) AS r;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.compare_zones(bigint, text[], text, text, integer, double precision, integer) IS
    'each zone of a zone-indicators run against the city, its district and its peer group '
    '(peers size: population quantile classes; profile: seeded k-means on the indicators; '
    'none): reference, difference, ratio, z-score, percentile rank, and whether it stands out '
    '(|z| >= threshold_z) in the bad direction; raw values, for analysts';

CREATE OR REPLACE FUNCTION welfare.run_compare_zones(
    run_id bigint, targets text[] DEFAULT NULL, value_column text DEFAULT 'incidence_per_100',
    peers text DEFAULT 'size', peer_groups integer DEFAULT 5,
    threshold_z double precision DEFAULT 2, seed integer DEFAULT 0)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN welfare._run_compare_zones(run_id, targets, value_column, peers, peer_groups,
                                      threshold_z, seed);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_compare_zones(bigint, text[], text, text, integer, double precision, integer) IS
    'computes the benchmark table (see welfare.compare_zones) and stores it in benchmark_result '
    'under a new run id; returns the run id';

CREATE OR REPLACE FUNCTION welfare.equity_measures(
    run_id bigint, targets text[] DEFAULT NULL, value_column text DEFAULT NULL,
    composite_run_id bigint DEFAULT NULL)
RETURNS TABLE (
    indicator text, measure text, value double precision, zones integer,
    weight_total double precision, mean double precision, ranked_by text, null_reason text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.indicator, r.measure, r.value, r.zones, r.weight_total, r.mean, r.ranked_by,
           r.null_reason
      FROM pg_catalog.json_populate_recordset(NULL::welfare.equity_result,
               welfare._equity_measures_json(run_id, targets, value_column,
                                             composite_run_id)) AS r;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.equity_measures(bigint, text[], text, bigint) IS
    'equity of one value_column across the zones of a zone-indicators run (default '
    'coverage_per_100, weighted by its denominator) or of an accessibility run (access, '
    'share_within or nearest_cost, default access, weighted by the demand), per target: Gini, '
    'Theil T with its within / between-district split, Palma ratio, P90/P10 and, given a '
    'composite run, the concentration index with zones ranked from the most vulnerable '
    '(positive: the most fragile zones get less)';

CREATE OR REPLACE FUNCTION welfare.run_equity_measures(
    run_id bigint, targets text[] DEFAULT NULL, value_column text DEFAULT NULL,
    composite_run_id bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN welfare._run_equity_measures(run_id, targets, value_column, composite_run_id);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.run_equity_measures(bigint, text[], text, bigint) IS
    'computes equity measures (see welfare.equity_measures) and stores them in equity_result '
    'under a new run id; returns the run id';

-- EXECUTE on these functions: the rules of 900-privileges.sql (admin, analyst).
GRANT SELECT, INSERT ON welfare.composite_result, welfare.composite_component_result,
    welfare.benchmark_result, welfare.hot_spot_result, welfare.moran_result,
    welfare.equity_result TO welfare_analyst;
