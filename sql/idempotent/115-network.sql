-- Network costs: a thin adapter over welfare_core.costs.network / network_from_node_costs.
--
-- welfare.network_cost_matrix reads the caller's street edges (pgRouting's shape:
-- source, target, cost, reverse_cost, a line geometry running from source to
-- target) and two point relations, and returns the (origin, destination, cost)
-- pairs within max_cost: a long cost relation, like welfare.travel_cost.
-- The core snaps each point to its nearest network node (the snapping distance
-- is added to the cost) and applies the cutoff; the shortest paths between the
-- snapped nodes come from pgRouting's pgr_dijkstraCost when the pgrouting
-- extension is installed in the database, else from the core (scipy Dijkstra).
-- Both give the same numbers (tests/sql/test_network.py).
CREATE OR REPLACE FUNCTION welfare._network_cost_matrix(
    edge_rel regclass, origin_rel regclass, origin_key text, origin_geom text,
    destination_rel regclass, destination_key text, destination_geom text,
    max_cost double precision, edge_source text, edge_target text, edge_cost text,
    edge_reverse_cost text, edge_geom text, directed boolean, cost_unit text,
    travel_mode text, max_snap double precision, engine text)
RETURNS json
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
ax = GD.get("welfare_accessibility @extversion@") or plpy.execute(
    "SELECT welfare._accessibility_door()") and GD["welfare_accessibility @extversion@"]
from welfare_core import costs
np, pd, q = wi.np, wi.pd, plpy.quote_ident

for arg, value in (("edge_rel", edge_rel), ("origin_rel", origin_rel),
                   ("origin_key", origin_key), ("origin_geom", origin_geom),
                   ("destination_rel", destination_rel), ("destination_key", destination_key),
                   ("destination_geom", destination_geom), ("edge_source", edge_source),
                   ("edge_target", edge_target), ("edge_cost", edge_cost),
                   ("edge_geom", edge_geom), ("max_cost", max_cost)):
    if value is None:
        wi.fail(f"{arg} is required", hint="name the relations, their columns and the cutoff")
how = (engine or "").lower() or None
if how not in (None, "pgrouting", "core"):
    wi.fail(f"engine must be 'pgrouting', 'core' or NULL, got {engine!r}",
            hint="NULL uses pgRouting when the extension is installed, else the core")
pgr = plpy.execute("SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n "
                   "ON n.oid = e.extnamespace WHERE e.extname = 'pgrouting'")
if how == "pgrouting" and not pgr:
    wi.fail("engine 'pgrouting' needs the pgrouting extension in this database",
            sqlstate="0A000", hint="CREATE EXTENSION pgrouting (Debian: postgresql-15-pgrouting), "
                                   "or pass engine => 'core'")
how = how or ("pgrouting" if pgr else "core")


def srids_of(row, what, column):
    srids = row["srids"] or []
    if len(srids) > 1:
        wi.fail(f"{what} mixes SRIDs {sorted(srids)} in column {column}",
                hint="ST_Transform every row to one projected metric SRID")
    if srids:
        ax.srid_check(srids[0], f"{what}.{column}")
    return srids[0] if srids else None


def points(rel, key, geom, what):
    """ids, (n, 2) coordinates (point on surface) and SRID of a relation, one round trip."""
    row = plpy.execute(
        "SELECT pg_catalog.array_agg(t.id) AS ids, pg_catalog.array_agg(public.ST_X(t.p)) AS xs, "
        "pg_catalog.array_agg(public.ST_Y(t.p)) AS ys, pg_catalog.count(*) AS n, "
        "pg_catalog.count(DISTINCT t.id) AS n_ids, "
        "pg_catalog.count(*) FILTER (WHERE t.id IS NULL) AS null_ids, "
        "pg_catalog.count(*) FILTER (WHERE t.g IS NULL OR public.ST_IsEmpty(t.g)) AS no_geom, "
        "pg_catalog.array_agg(DISTINCT public.ST_SRID(t.g)) FILTER (WHERE t.g IS NOT NULL) AS srids "
        f"FROM (SELECT s.{q(key)}::text AS id, s.{q(geom)}::public.geometry AS g, "
        f"public.ST_PointOnSurface(s.{q(geom)}::public.geometry) AS p FROM {rel} s) t")[0]
    name = f"{what} {rel}"
    if row["null_ids"]:
        wi.fail(f"{name} has {row['null_ids']} row(s) with a NULL id in column {key}",
                hint=f"leave them out, e.g. pass a view with WHERE {q(key)} IS NOT NULL")
    if row["no_geom"]:
        wi.fail(f"{name} has {row['no_geom']} row(s) with a NULL or empty geometry in "
                f"column {geom}", hint="leave them out through a view")
    if row["n_ids"] != row["n"]:
        wi.fail(f"{name} has {row['n'] - row['n_ids']} duplicate id(s) in column {key}",
                hint="ids must be unique: one row per point")
    xy = np.column_stack([np.asarray(row["xs"] or [], dtype=float),
                          np.asarray(row["ys"] or [], dtype=float)])
    return row["ids"] or [], xy, srids_of(row, name, geom)


def edges_of(rel):
    """The edge list (source, target, cost, reverse_cost) and end points, one round trip."""
    rev = f"e.{q(edge_reverse_cost)}::double precision" if edge_reverse_cost else "NULL"
    g = f"e.{q(edge_geom)}::public.geometry"
    row = plpy.execute(
        "SELECT pg_catalog.array_agg(t.s) AS s, pg_catalog.array_agg(t.t) AS t, "
        "pg_catalog.array_agg(t.c) AS c, pg_catalog.array_agg(t.r) AS r, "
        "pg_catalog.array_agg(public.ST_X(t.a)) AS ax, pg_catalog.array_agg(public.ST_Y(t.a)) AS ay, "
        "pg_catalog.array_agg(public.ST_X(t.b)) AS bx, pg_catalog.array_agg(public.ST_Y(t.b)) AS by, "
        "pg_catalog.count(*) FILTER (WHERE t.s IS NULL OR t.t IS NULL OR t.c IS NULL) AS nulls, "
        "pg_catalog.count(*) FILTER (WHERE t.a IS NULL OR t.b IS NULL) AS no_geom, "
        "pg_catalog.array_agg(DISTINCT public.ST_SRID(t.g)) FILTER (WHERE t.g IS NOT NULL) AS srids "
        f"FROM (SELECT e.{q(edge_source)}::bigint AS s, e.{q(edge_target)}::bigint AS t, "
        f"e.{q(edge_cost)}::double precision AS c, {rev} AS r, {g} AS g, "
        f"public.ST_StartPoint(public.ST_GeometryN({g}, 1)) AS a, "
        f"public.ST_EndPoint(public.ST_GeometryN({g}, public.ST_NumGeometries({g}))) AS b "
        f"FROM {rel} e) t")[0]
    name = f"edges {rel}"
    if row["nulls"]:
        wi.fail(f"{name} has {row['nulls']} row(s) with NULL {edge_source}, {edge_target} or "
                f"{edge_cost}", hint="every edge needs its two node ids and a cost")
    if row["no_geom"]:
        wi.fail(f"{name} has {row['no_geom']} row(s) whose {edge_geom} is not a line",
                hint="pass LineString geometries running from source to target")
    srid = srids_of(row, name, edge_geom)
    edges = {"source": np.asarray(row["s"] or [], dtype=np.int64),
             "target": np.asarray(row["t"] or [], dtype=np.int64),
             "cost": np.asarray(row["c"] or [], dtype=float)}
    if edge_reverse_cost:
        edges["reverse_cost"] = np.asarray(
            [np.nan if v is None else v for v in row["r"] or []], dtype=float)
    start = np.column_stack([row["ax"] or [], row["ay"] or []]).astype(float).reshape(-1, 2)
    end = np.column_stack([row["bx"] or [], row["by"] or []]).astype(float).reshape(-1, 2)
    return edges, start, end, srid


edges, start, end, e_srid = edges_of(edge_rel)
o_ids, o_xy, o_srid = points(origin_rel, origin_key, origin_geom, "origins")
d_ids, d_xy, d_srid = points(destination_rel, destination_key, destination_geom, "destinations")
used = {s for s in (e_srid, o_srid, d_srid) if s is not None}
if len(used) > 1:
    wi.fail(f"edges, origins and destinations are in different SRIDs {sorted(used)}",
            hint="ST_Transform them to one projected metric SRID")
nodes = wi.call(costs.nodes_from_edges, edges["source"], edges["target"], start, end)
options = dict(cost_unit=cost_unit or "m", mode=travel_mode, max_snap_m=max_snap)
if how == "core":
    cm = wi.call(costs.network, edges, nodes, o_xy, d_xy, max_cost,
                 directed=True if directed is None else directed, **options)
else:
    # the core validates the network (costs, ids, options) before pgRouting sees it
    wi.call(costs.network, edges, nodes, np.zeros((0, 2)), np.zeros((0, 2)), max_cost,
            directed=True if directed is None else directed, **options)
    o_node, _ = costs.snap_to_nodes(o_xy, nodes, "origins")
    d_node, _ = costs.snap_to_nodes(d_xy, nodes, "destinations")
    # staged in a temporary table, so the SQL text pgRouting runs is fixed
    plpy.execute("DROP TABLE IF EXISTS pg_temp.welfare_network_edges")
    plpy.execute(plpy.prepare(
        "CREATE TEMP TABLE welfare_network_edges AS SELECT "
        "pg_catalog.row_number() OVER () AS id, s AS source, t AS target, c AS cost, "
        "COALESCE(r, -1) AS reverse_cost FROM unnest($1::bigint[], $2::bigint[], "
        "$3::double precision[], $4::double precision[]) AS u(s, t, c, r)",
        ["bigint[]", "bigint[]", "double precision[]", "double precision[]"]),
        [edges["source"].tolist(), edges["target"].tolist(), edges["cost"].tolist(),
         edges["reverse_cost"].tolist() if "reverse_cost" in edges else [None] * len(
             edges["cost"])])
    res = plpy.execute(plpy.prepare(
        "SELECT pg_catalog.array_agg(start_vid) AS s, pg_catalog.array_agg(end_vid) AS e, "
        "pg_catalog.array_agg(agg_cost) AS c "
        f"FROM {q(pgr[0]['nspname'])}.pgr_dijkstraCost("
        "'SELECT id, source, target, cost, reverse_cost FROM pg_temp.welfare_network_edges', "
        "$1::bigint[], $2::bigint[], $3)", ["bigint[]", "bigint[]", "boolean"]),
        [sorted(set(o_node.tolist())), sorted(set(d_node.tolist())),
         True if directed is None else directed])[0]
    plpy.execute("DROP TABLE pg_temp.welfare_network_edges")
    node_costs = {"start_vid": np.asarray(res["s"] or [], dtype=np.int64),
                  "end_vid": np.asarray(res["e"] or [], dtype=np.int64),
                  "agg_cost": np.asarray(res["c"] or [], dtype=float)}
    cm = wi.call(costs.network_from_node_costs, node_costs, nodes, o_xy, d_xy, max_cost,
                 **options)
frame = pd.DataFrame({"origin_id": np.asarray(o_ids, dtype=object)[cm.row],
                      "destination_id": np.asarray(d_ids, dtype=object)[cm.col],
                      "cost": cm.cost})
return wi.records(frame, frame.columns)
$python$;
COMMENT ON FUNCTION welfare._network_cost_matrix(regclass, regclass, text, text, regclass, text,
    text, double precision, text, text, text, text, text, boolean, text, text, double precision,
    text) IS 'PL/Python body of welfare.network_cost_matrix (internal)';

CREATE OR REPLACE FUNCTION welfare.network_cost_matrix(
    edge_rel regclass, origin_rel regclass, origin_key text, origin_geom text,
    destination_rel regclass, destination_key text, destination_geom text,
    max_cost double precision, edge_source text DEFAULT 'source',
    edge_target text DEFAULT 'target', edge_cost text DEFAULT 'cost',
    edge_reverse_cost text DEFAULT 'reverse_cost', edge_geom text DEFAULT 'geom',
    directed boolean DEFAULT true, cost_unit text DEFAULT 'm', travel_mode text DEFAULT NULL,
    max_snap double precision DEFAULT NULL, engine text DEFAULT NULL)
RETURNS TABLE (origin_id text, destination_id text, cost double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT r.origin_id, r.destination_id, r.cost
      FROM pg_catalog.json_to_recordset(welfare._network_cost_matrix(edge_rel, origin_rel,
               origin_key, origin_geom, destination_rel, destination_key, destination_geom,
               max_cost, edge_source, edge_target, edge_cost, edge_reverse_cost, edge_geom,
               directed, cost_unit, travel_mode, max_snap, engine))
           AS r(origin_id text, destination_id text, cost double precision);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.network_cost_matrix(regclass, regclass, text, text, regclass, text,
    text, double precision, text, text, text, text, text, boolean, text, text, double precision,
    text) IS
    'shortest-path costs on the street network edge_rel (pgRouting shape: source, target, cost, '
    'reverse_cost < 0 = one-way, line geometry from source to target) between the points of '
    'origin_rel and destination_rel, pairs with cost <= max_cost only (unreachable pairs are '
    'absent). Each point is snapped to its nearest node and the snapping distance added (metres, '
    'or minutes at travel_mode''s speed when cost_unit = ''min''); max_snap (m) drops points '
    'farther from the network. engine: pgrouting (pgr_dijkstraCost), core (scipy Dijkstra) or '
    'NULL = pgrouting when installed. Same numbers either way (welfare_core.costs.network)';

-- EXECUTE on these functions: the rules of 900-privileges.sql (admin, analyst).
