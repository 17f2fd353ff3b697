"""Network costs: shortest paths on a street edge list, snapping, cutoff, clean errors.

Expected numbers: worked by hand on the synthetic grid (tests/fixtures/street_grid.py),
or by brute force (Floyd–Warshall written out in numpy) on random small graphs.
"""
import numpy as np
import pytest

from fixtures import street_grid as sg
from welfare_core import costs
from welfare_core.errors import InputError, UnknownIdError


def grid_inputs(**drop):
    rows = sg.grid_edges()
    edges = {"source": np.array([r[1] for r in rows]), "target": np.array([r[2] for r in rows]),
             "cost": np.array([r[3] for r in rows]), "reverse_cost": np.array([r[4] for r in rows])}
    for k in drop:
        edges.pop(k)
    nd = sg.nodes()
    nodes = {"node_id": np.array(list(nd)), "x": np.array([v[0] for v in nd.values()]),
             "y": np.array([v[1] for v in nd.values()])}
    o = np.array([(x, y) for _, x, y in sg.ORIGINS])
    d = np.array([(x, y) for _, x, y in sg.DESTINATIONS])
    return edges, nodes, o, d


def as_dict(cm):
    oid = [o[0] for o in sg.ORIGINS]
    did = [d[0] for d in sg.DESTINATIONS]
    return {(oid[i], did[j]): c for i, j, c in zip(cm.row, cm.col, cm.cost)}


@pytest.mark.parametrize("max_cost", [1000.0, 620.0, 320.0, 110.0, 109.999])
def test_grid_directed_hand_worked(max_cost):
    edges, nodes, o, d = grid_inputs()
    cm = costs.network(edges, nodes, o, d, max_cost)
    assert cm.shape == (4, 3)
    want = sg.within(sg.HAND_DIRECTED, max_cost)
    got = as_dict(cm)
    assert got.keys() == want.keys()  # unreachable pairs (O3-D1, O1-D3 ...) absent, not NaN
    assert got == pytest.approx(want, abs=1e-9)
    assert np.isfinite(cm.cost).all()
    assert got.get(("O4", "D1")) == 0.0  # a zero cost is a real (co-located) pair


def test_grid_undirected_and_default_two_way():
    edges, nodes, o, d = grid_inputs()
    assert as_dict(costs.network(edges, nodes, o, d, 1000, directed=False)) == pytest.approx(
        sg.HAND_UNDIRECTED, abs=1e-9)
    # without reverse_cost an edge runs source -> target only (pgRouting's directed graph):
    # nodes 1 -> 2 -> ... east and north only, so O2 (node 3) cannot reach D1 (node 2)
    e1, *_ = grid_inputs(reverse_cost=True)
    got = as_dict(costs.network(e1, nodes, o, d, 1000))
    assert ("O2", "D1") not in got and got[("O1", "D1")] == pytest.approx(110)


def test_grid_in_minutes_and_max_snap():
    edges, nodes, o, d = grid_inputs()
    # edges in minutes at walking speed (75 m/min); snaps converted at the same speed
    e_min = dict(edges, cost=edges["cost"] / 75.0,
                 reverse_cost=np.where(edges["reverse_cost"] < 0, -1, edges["reverse_cost"] / 75))
    got = as_dict(costs.network(e_min, nodes, o, d, 1000 / 75, cost_unit="min", mode="walk"))
    assert got == pytest.approx({k: v / 75 for k, v in sg.HAND_DIRECTED.items()}, abs=1e-9)
    # points more than 15 m from any node are off the network: O2 (20 m) is unreachable
    got = as_dict(costs.network(edges, nodes, o, d, 1000, max_snap_m=15))
    assert got == pytest.approx({k: v for k, v in sg.HAND_DIRECTED.items() if k[0] != "O2"})
    ids, dist = costs.snap_to_nodes(o, nodes)
    assert ids.tolist() == [1, 3, 100, 2] and dist == pytest.approx([10, 20, 10, 0])


def test_node_costs_from_elsewhere_give_the_same_matrix():
    """The pgRouting path: node-to-node costs as pgr_dijkstraCost rows (no self pairs)."""
    edges, nodes, o, d = grid_inputs()
    # hand-worked node costs between the snapped nodes {1, 3, 100, 2} x {2, 16, 101}
    rows = [(1, 2, 100), (1, 16, 600), (3, 2, 300), (3, 16, 400), (100, 101, 100),
            (2, 16, 500)]
    nc = {"start_vid": np.array([r[0] for r in rows]), "end_vid": np.array([r[1] for r in rows]),
          "agg_cost": np.array([r[2] for r in rows], float)}
    cm = costs.network_from_node_costs(nc, nodes, o, d, 1000)
    assert as_dict(cm) == pytest.approx(sg.HAND_DIRECTED, abs=1e-9)


def test_nodes_from_edge_geometries():
    rows = sg.grid_edges()
    nd = costs.nodes_from_edges([r[1] for r in rows], [r[2] for r in rows],
                                [r[5] for r in rows], [r[6] for r in rows])
    assert dict(zip(nd["node_id"].tolist(), zip(nd["x"], nd["y"]))) == sg.nodes()
    with pytest.raises(InputError, match="two places"):
        costs.nodes_from_edges([1, 2], [2, 3], [(0, 0), (50, 0)], [(100, 0), (200, 0)])


def floyd_warshall(v, src, tgt, w):
    dist = np.full((v, v), np.inf)
    np.fill_diagonal(dist, 0.0)
    for s, t, c in zip(src, tgt, w):
        dist[s, t] = min(dist[s, t], c)
    for k in range(v):
        dist = np.minimum(dist, dist[:, k, None] + dist[None, k, :])
    return dist


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_graph_matches_floyd_warshall(seed):
    rng = np.random.default_rng(seed)
    v, e = 30, 70
    # nodes on a jittered 6 x 5 lattice 150 m apart: a point moved by < 8 m keeps its node
    lattice = np.array([(150.0 * i, 150.0 * j) for i in range(6) for j in range(5)])
    xy = lattice + rng.uniform(-20, 20, (v, 2))
    src, tgt = rng.integers(0, v, e), rng.integers(0, v, e)  # parallel edges and loops too
    cost = rng.uniform(0, 300, e).round(1)
    cost[:3] = 0.0  # zero-cost edges are edges
    rev = np.where(rng.random(e) < 0.3, -1.0, rng.uniform(0, 300, e).round(1))
    ids = rng.permutation(np.arange(1000, 1000 + v))  # ids are not positions
    arcs_s = np.concatenate([src, tgt[rev >= 0]])
    arcs_t = np.concatenate([tgt, src[rev >= 0]])
    arcs_w = np.concatenate([cost, rev[rev >= 0]])
    full = floyd_warshall(v, arcs_s, arcs_t, arcs_w)
    # origins / destinations: some exactly on nodes, some beside them
    o_nodes, d_nodes = rng.integers(0, v, 25), rng.integers(0, v, 12)
    o_off = rng.uniform(-5, 5, (25, 2)) * (rng.random((25, 1)) < 0.5)
    o, d = xy[o_nodes] + o_off, xy[d_nodes]
    snap_o = np.hypot(*o_off.T)
    # the brute-force expectation assumes the offset keeps the same nearest node
    near = np.argmin(np.hypot(*(o[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)), axis=1)
    assert (near == o_nodes).all()
    expect = snap_o[:, None] + full[np.ix_(o_nodes, d_nodes)]
    max_cost = 400.0
    expect[expect > max_cost] = np.inf
    edges = {"source": ids[src], "target": ids[tgt], "cost": cost, "reverse_cost": rev}
    nodes = {"node_id": ids, "x": xy[:, 0], "y": xy[:, 1]}
    cm = costs.network(edges, nodes, o, d, max_cost)
    np.testing.assert_allclose(cm.to_dense(), expect, rtol=0, atol=1e-9)
    assert 0 < cm.nnz < 25 * 12  # the cutoff and the one-ways leave some pairs out


@pytest.mark.parametrize("change,match,exc", [
    (lambda e, n: e["cost"].__setitem__(0, -1.0), "negative", InputError),
    (lambda e, n: e["cost"].__setitem__(0, np.nan), "missing", InputError),
    (lambda e, n: e["reverse_cost"].__setitem__(0, np.nan), "reverse_cost", InputError),
    (lambda e, n: e["target"].__setitem__(0, 999), "not in the nodes", UnknownIdError),
    (lambda e, n: n["node_id"].__setitem__(1, 1), "duplicate node_id", InputError),
])
def test_bad_networks_are_clear_errors(change, match, exc):
    edges, nodes, o, d = grid_inputs()
    edges = {k: v.astype(float) if k != "target" else v.copy() for k, v in edges.items()}
    nodes = {k: v.copy() for k, v in nodes.items()}
    change(edges, nodes)
    with pytest.raises(exc, match=match):
        costs.network(edges, nodes, o, d, 1000)


def test_empty_network_and_bad_options():
    edges, nodes, o, d = grid_inputs()
    empty = {k: v[:0] for k, v in edges.items()}
    with pytest.raises(InputError, match="no edges"):
        costs.network(empty, nodes, o, d, 1000)
    with pytest.raises(InputError, match="no nodes"):
        costs.network(edges, {k: v[:0] for k, v in nodes.items()}, o, d, 1000)
    with pytest.raises(InputError, match="lacks column 'cost'"):
        costs.network({"source": edges["source"], "target": edges["target"]}, nodes, o, d, 1000)
    with pytest.raises(InputError, match="cost_unit"):
        costs.network(edges, nodes, o, d, 1000, cost_unit="km")
    with pytest.raises(InputError, match="max_cost"):
        costs.network(edges, nodes, o, d, float("nan"))
    with pytest.raises(InputError, match="origins"):
        costs.network(edges, nodes, o[:, :1], d, 1000)


def test_network_from_lines_builds_the_same_grid():
    from shapely.geometry import LineString, MultiLineString
    rows = sg.grid_edges()
    lines = [LineString([a, b]) for *_, a, b in rows]
    # one street drawn as two parts with a bend: 2 parts, length still 100
    lines[0] = MultiLineString([[(0, 0), (50, 0)], [(50, 0), (100, 0)]])
    oneway = [r[4] < 0 for r in rows]
    edges, nodes = costs.network_from_lines(lines, oneway=oneway)
    assert len(nodes["node_id"]) == 18 and edges["cost"] == pytest.approx([100.0] * 25)
    _, _, o, d = grid_inputs()
    assert as_dict(costs.network(edges, nodes, o, d, 1000)) == pytest.approx(
        sg.HAND_DIRECTED, abs=1e-9)
    # end points 4 mm apart are one node at the default 1 cm tolerance
    e2, n2 = costs.network_from_lines([LineString([(0, 0), (100, 0)]),
                                       LineString([(100.004, 0), (200, 0)])])
    assert len(n2["node_id"]) == 3 and e2["target"][0] == e2["source"][1]
    with pytest.raises(InputError, match="not a line"):
        costs.network_from_lines([LineString([(0, 0), (1, 0)]), None])
    with pytest.raises(InputError, match="negative"):
        costs.network_from_lines(lines, cost=[-1.0] * 25)


def test_fast_paths_keep_the_contract():
    """euclidean / within / with_costs skip re-validation: the pairs must still be canonical
    (sorted, read-only) and nearest() must still break ties by the lowest column."""
    from welfare_core import accessibility as acc
    rng = np.random.default_rng(7)
    o, d = rng.uniform(0, 1000, (300, 2)), rng.uniform(0, 1000, (80, 2))
    cm = costs.euclidean(o, d, 250.0)
    key = cm.row * 80 + cm.col
    assert (np.diff(key) > 0).all() and not cm.cost.flags.writeable
    brute = np.hypot(o[:, None, 0] - d[None, :, 0], o[:, None, 1] - d[None, :, 1])
    np.testing.assert_array_equal(np.isfinite(cm.to_dense()), brute <= 250.0)
    mine = cm.cost * 2
    doubled = cm.with_costs(mine)
    assert mine.flags.writeable  # the caller's array is not frozen
    with pytest.raises(InputError, match="negative"):
        cm.with_costs(-mine)
    sub = doubled.within(100.0)
    assert (sub.cost <= 100).all() and (np.diff(sub.row * 80 + sub.col) > 0).all()
    # ties: origin 0 reaches columns 2 and 1 at cost 5, column 0 at 7 -> column 1
    tie = costs.CostMatrix((2, 3), [0, 0, 0, 1], [0, 1, 2, 2], [7.0, 5.0, 5.0, 0.0])
    best, col = acc.nearest(tie)
    assert best.tolist() == [5.0, 0.0] and col.tolist() == [1, 2]
