"""MCLP demand-point reduction: points with the same coverage set merged, unreachable ones dropped.

References: the same model solved without the reduction (``reduce_demand=False``),
brute force over every site subset (uncapacitated: the covered weight of each
subset; capacitated: a split-demand transport LP per subset with
scipy.optimize.linprog), and groupings worked out by hand.
"""
import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from welfare_core import costs
from welfare_core import optimise as opt
from welfare_core.optimise._inputs import as_pairs
from welfare_core.optimise._reduce import coverage_groups

INF = np.inf


def clustered(seed, n, m, r_quantile):
    """Points on a coarse grid, so many share a coverage set; some reach nothing."""
    rng = np.random.default_rng(seed)
    pts = rng.integers(0, 6, (n, 2)).astype(float) * 10.0
    sites = rng.random((m, 2)) * 60.0
    cost = np.hypot(*(pts[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    r = float(np.quantile(cost, r_quantile))
    w = rng.integers(0, 25, n).astype(float)
    return cost, w, r


def bf_mclp(cost, w, r, p):
    return max(float(w[(cost[:, list(s)] <= r).any(axis=1)].sum())
               for s in itertools.combinations(range(cost.shape[1]), p))


def bf_cap_mclp(cost, w, r, p, q):
    """Best split-demand covered weight over every p-subset (an LP per subset)."""
    n, m = cost.shape
    best = 0.0
    for s in itertools.combinations(range(m), p):
        pairs = [(i, j) for i in range(n) for j in s if cost[i, j] <= r]
        if not pairs:
            continue
        c = np.array([-w[i] for i, _ in pairs])
        a = np.zeros((n + len(s), len(pairs)))
        for k, (i, j) in enumerate(pairs):
            a[i, k] = 1.0
            a[n + s.index(j), k] = w[i]
        res = linprog(c, A_ub=a, b_ub=np.r_[np.ones(n), q[list(s)]], bounds=(0, 1))
        assert res.status == 0
        best = max(best, -res.fun)
    return best


def test_groups_worked_by_hand():
    cost = np.array([[1, INF, 2],    # {0, 2}
                     [INF, 1, 2],    # {1, 2}
                     [1, INF, 3],    # {0, 2}  -> with row 0
                     [INF, 1, 0],    # {1, 2}  -> with row 1
                     [INF, INF, INF],  # reaches nothing
                     [0, 1, INF]])   # {0, 1}
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    red = coverage_groups(as_pairs(cost), w)
    g = red.group
    assert g[4] == -1
    assert g[0] == g[2] and g[1] == g[3] and len({g[0], g[1], g[5]}) == 3
    assert red.pairs.n == 3
    assert red.weights[g[0]] == 4.0 and red.weights[g[1]] == 6.0 and red.weights[g[5]] == 6.0
    sites = {int(k): set(red.pairs.col[red.pairs.row == k].tolist()) for k in range(3)}
    assert sites[g[0]] == {0, 2} and sites[g[1]] == {1, 2} and sites[g[5]] == {0, 1}


def test_colliding_hash_keys_never_merge_different_sets():
    # all-zero keys: every pair of same-degree rows collides; the exact check must split them
    cost = np.array([[1, INF, 2], [INF, 1, 2], [1, INF, 3], [INF, 1, 0], [0, 1, INF]])
    w = np.ones(5)
    red = coverage_groups(as_pairs(cost), w, keys=np.zeros((2, 3), dtype=np.uint64))
    reach = np.isfinite(cost)
    for a, b in itertools.combinations(range(5), 2):
        if red.group[a] == red.group[b]:
            assert (reach[a] == reach[b]).all()
    assert red.weights.sum() == 5.0
    for k in range(red.pairs.n):   # every group's sites are its members' sites
        members = np.flatnonzero(red.group == k)
        assert set(red.pairs.col[red.pairs.row == k]) == set(np.flatnonzero(reach[members[0]]))


@pytest.mark.parametrize("seed", range(8))
def test_reduced_equals_unreduced_and_brute_force(seed):
    cost, w, r = clustered(seed, n=60, m=7, r_quantile=0.2)
    red = coverage_groups(as_pairs(cost).within(r), w)
    assert red.pairs.n < 60                     # the grid makes duplicates: the reduction bites
    for p in (1, 2, 4):
        ref = bf_mclp(cost, w, r, p)
        a = opt.mclp(cost, w, r, p)
        b = opt.mclp(cost, w, r, p, reduce_demand=False)
        assert a.status == b.status == "optimal"
        assert a.objective == pytest.approx(ref, abs=1e-9)
        assert b.objective == pytest.approx(ref, abs=1e-9)
        assert a.coverage_pct == pytest.approx(100.0 * ref / w.sum())
        # points that reach no site are uncovered, never assigned
        lost = ~(cost <= r).any(axis=1)
        assert (a.assignment[lost] == -1).all()


@pytest.mark.parametrize("seed", range(4))
def test_capacitated_reduced_equals_brute_force_lp(seed):
    cost, w, r = clustered(100 + seed, n=30, m=6, r_quantile=0.3)
    q = np.random.default_rng(seed).integers(10, 60, 6).astype(float)
    for p in (2, 3):
        ref = bf_cap_mclp(cost, w, r, p, q)
        a = opt.mclp(cost, w, r, p, capacities=q)
        b = opt.mclp(cost, w, r, p, capacities=q, reduce_demand=False)
        assert a.objective == pytest.approx(ref, rel=1e-7, abs=1e-7)
        assert b.objective == pytest.approx(ref, rel=1e-7, abs=1e-7)
        # the expanded allocation is a valid split for every original point
        alloc = a.allocation.toarray()
        assert alloc.shape == cost.shape
        assert (alloc.sum(axis=1) <= 1 + 1e-7).all()
        assert (alloc[cost > r] == 0).all()
        assert (alloc[:, [j for j in range(6) if j not in a.selected]] == 0).all()
        assert (w @ alloc <= q + 1e-6).all()
        assert float(alloc.sum(axis=1) @ w) == pytest.approx(ref, rel=1e-7, abs=1e-7)


@pytest.mark.parametrize("seed", range(3))
def test_reduced_equals_unreduced_on_larger_random_instances(seed):
    rng = np.random.default_rng(seed)
    centres = rng.random((8, 2)) * 3000
    pts = centres[rng.integers(0, 8, 600)] + rng.normal(0, 250, (600, 2))
    sites = centres[rng.integers(0, 8, 40)] + rng.normal(0, 250, (40, 2))
    w = rng.integers(1, 30, 600).astype(float)
    cm = costs.euclidean(pts, sites, 400.0)
    for p in (3, 8):
        a = opt.mclp(cm, w, 400.0, p)
        b = opt.mclp(cm, w, 400.0, p, reduce_demand=False)
        assert a.status == b.status == "optimal"
        assert a.objective == pytest.approx(b.objective, rel=1e-9)
        # the reported cover is recomputed on the original points from the chosen sites
        dense = np.full((600, 40), np.inf)
        dense[cm.row, cm.col] = cm.cost
        assert a.covered_weight == pytest.approx(w[(dense[:, list(a.selected)] <= 400.0).any(axis=1)].sum())


def test_nothing_reachable_gives_zero_cover():
    res = opt.mclp(np.full((3, 2), np.inf), [1.0, 2.0, 3.0], 1.0, 1)
    assert res.objective == 0.0 and res.coverage_pct == 0.0
    assert (res.assignment == -1).all()
