"""FCA family on CostMatrix pairs in any order (the KD-tree's), without sorting them.

Hand-worked values (the same worked examples as test_accessibility.py) on
shuffled pairs, and agreement within 1e-12 between an unsorted matrix, the
same pairs sorted and a textbook dense reference.
"""
import numpy as np
import pytest

from welfare_core import accessibility as acc
from welfare_core import costs, decay
from welfare_core.costs import CostMatrix

INF = np.inf
REL = 1e-12


def unsorted(dense, order):
    """The finite cells of ``dense`` as a CostMatrix stored in the given pair order."""
    row, col = np.nonzero(np.isfinite(dense))
    p = np.asarray(order)
    return CostMatrix._trusted(dense.shape, row[p], col[p], dense[row, col][p], is_sorted=False)


# D = (10, 20, 30), S = (4, 6), cutoff 5; c(i2, f0) = 8 is outside (see test_accessibility)
D3 = np.array([10.0, 20.0, 30.0])
S3 = np.array([4.0, 6.0])
C3 = np.array([[0.0, 5.0], [3.0, INF], [8.0, 2.0]])
REVERSED = [4, 3, 2, 1, 0]                 # pairs (2,1) (2,0) (1,0) (0,1) (0,0)


def test_2sfca_3sfca_hand_3x2_on_reversed_pairs():
    cm = unsorted(C3, REVERSED)
    # 2SFCA: R0 = 4 / (10 + 20) = 2/15; R1 = 6 / (10 + 30) = 0.15
    np.testing.assert_allclose(acc.two_step_fca(D3, S3, cm, 5), [2 / 15 + 0.15, 2 / 15, 0.15],
                               rtol=REL)
    # 3SFCA, W = 1: G = 1/2 for i0's two facilities; R0 = 4 / 25 = 0.16, R1 = 6 / 35
    np.testing.assert_allclose(acc.three_step_fca(D3, S3, cm, 5),
                               [(0.16 + 6 / 35) / 2, 0.16, 6 / 35], rtol=REL)
    assert not cm._sorted                   # the FCA did not need to sort


def test_3sfca_hand_with_step_decay_on_unsorted_pairs():
    # D = (100, 50), S = (10, 5); c = [[1, 3], [2, inf]]; step {1: 1, 3: 0.5}
    # W00 = 1, W01 = 0.5, W10 = 0.5; G00 = 2/3, G01 = 1/3, G10 = 1
    # R0 = 10 / (2/3·100 + 1/2·50) = 6/55; R1 = 5 / (1/6·100) = 0.3
    c2 = np.array([[1.0, 3.0], [2.0, INF]])
    cm = unsorted(c2, [2, 1, 0])
    a = acc.three_step_fca([100.0, 50.0], [10.0, 5.0], cm, 3, decay.step({1: 1.0, 3: 0.5}))
    np.testing.assert_allclose(a, [4 / 55 + 0.05, 3 / 55], rtol=REL)
    # enhanced 2SFCA: R0 = 10 / 125 = 0.08, R1 = 5 / 50 = 0.1
    a = acc.two_step_fca([100.0, 50.0], [10.0, 5.0], cm, 3, decay.step({1: 1.0, 3: 0.5}))
    np.testing.assert_allclose(a, [0.13, 0.04], rtol=REL)


def test_gravity_nearest_share_within_on_unsorted_pairs():
    cm = unsorted(C3, REVERSED)
    # W = 1 / max(c, 0.5): i0 = 4/0.5 + 6/5 = 9.2; i1 = 4/3; i2 = 4/8 + 6/2 = 3.5
    np.testing.assert_allclose(acc.gravity_potential(S3, cm, decay.gravity(min_cost=0.5)),
                               [9.2, 4 / 3, 3.5], rtol=REL)
    cost, col = acc.nearest(cm)
    assert cost.tolist() == [0, 3, 2] and col.tolist() == [0, 0, 1]
    # within 2: i0 (0) and i2 (2, inclusive) -> (10 + 30) / 60
    assert acc.share_within(D3, cm, 2) == pytest.approx(40 / 60, rel=REL)
    assert not cm._sorted


def test_nearest_ties_go_to_lowest_column_in_any_order():
    # origin 0: cols 3, 1, 2 all at 4 (tie) and col 0 at 9; origin 1 unreachable;
    # origin 2: one pair at 0 (zero cost is a cost)
    dense = np.array([[9.0, 4.0, 4.0, 4.0], [INF] * 4, [INF, INF, 0.0, INF]])
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(5)
        cost, col = acc.nearest(unsorted(dense, order))
        assert cost.tolist() == [4.0, INF, 0.0] and col.tolist() == [1, -1, 2]


def test_unreachable_origins_and_empty_catchments_are_zero_on_unsorted_pairs():
    cost = np.array([[1.0, INF], [INF, INF], [INF, 2.0]])
    cm = unsorted(cost, [1, 0])
    demand = np.array([5.0, 7.0, 0.0])            # f1's only user has no demand
    for fn in (acc.two_step_fca, acc.three_step_fca):
        a = fn(demand, [3.0, 4.0], cm, 5)
        np.testing.assert_allclose(a, [3 / 5, 0.0, 0.0], rtol=REL)
        assert np.isfinite(a).all()


def dense_reference(demand, supply, cost, max_cost, w, three):
    """Textbook formulas on the full n × m array."""
    inside = cost <= max_cost
    W = np.where(inside, w(np.where(inside, cost, 0.0)), 0.0)
    if three:
        rs = W.sum(axis=1, keepdims=True)
        W = W * np.divide(W, rs, out=np.zeros_like(W), where=rs > 0)
    dw = W.T @ demand
    R = np.divide(supply, dw, out=np.zeros_like(dw), where=dw > 0)
    return W @ R


@pytest.mark.parametrize("method", ["2sfca", "3sfca"])
@pytest.mark.parametrize("make_decay", [None, lambda: decay.step({250: 0.962, 500: 0.704,
                                                                 750: 0.377}),
                                        lambda: decay.gaussian(300)])
@pytest.mark.parametrize("k", [1, 3])
def test_unsorted_equals_sorted_and_dense_reference(method, make_decay, k):
    rng = np.random.default_rng(3)
    o, d = rng.uniform(0, 4000, (500, 2)), rng.uniform(0, 4000, (80, 2))
    o[:4] = d[:4]                                     # co-located pairs: cost 0
    demand = rng.integers(0, 300, (500, k)).astype(float)
    supply = rng.uniform(1, 30, (80, k))
    f = None if make_decay is None else make_decay()
    cm = costs.euclidean(o, d, 750)
    assert not cm._sorted
    sorted_cm = CostMatrix(cm.shape, *(a.copy() for a in cm._pairs()))  # validated + sorted
    got = acc.fca(demand, supply, cm, 750, f, method=method)
    assert not cm._sorted
    same = acc.fca(demand, supply, sorted_cm, 750, f, method=method)
    np.testing.assert_allclose(got, same, rtol=REL, atol=0)
    full = np.sqrt(((o[:, None] - d[None]) ** 2).sum(axis=2))
    w = (lambda c: np.ones_like(c)) if f is None else f
    want = np.column_stack([dense_reference(demand[:, t], supply[:, t], full, 750, w,
                                            method == "3sfca") for t in range(k)])
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=0)
    # gravity and share within on the same unsorted pairs
    g = decay.gaussian(300)
    np.testing.assert_allclose(acc.gravity_potential(supply, cm, g, 750),
                               acc.gravity_potential(supply, sorted_cm, g, 750), rtol=REL)
    assert acc.share_within(demand[:, 0], cm, 400) == pytest.approx(
        demand[(full <= 400).any(axis=1), 0].sum() / demand[:, 0].sum(), rel=REL)
    nc, ncol = acc.nearest(cm)
    reach = np.isfinite(np.where(full <= 750, full, INF)).any(axis=1)
    np.testing.assert_allclose(nc[reach], full[reach].min(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(ncol[reach], full[reach].argmin(axis=1))
    assert np.isinf(nc[~reach]).all() and (ncol[~reach] == -1).all()
