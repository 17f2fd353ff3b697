"""CostMatrix pairs held in any order (a KD-tree's): the public view is still sorted.

`costs.euclidean` keeps the KD-tree's pairs unsorted; ``row`` / ``col`` /
``cost`` sort them on first read. Every view must agree with a CostMatrix
built from the same pairs sorted, which we build here independently (the
brute-force distance matrix, ``np.nonzero`` in row-major order).
"""
import numpy as np
import pytest

from welfare_core import costs
from welfare_core.costs import CostMatrix
from welfare_core.errors import InputError

INF = np.inf


def brute_force(o, d):
    return np.sqrt(((o[:, None, :] - d[None, :, :]) ** 2).sum(axis=2))


def sorted_reference(o, d, cutoff):
    """(row, col, cost) of the pairs within the cutoff, sorted by (row, col), by brute force."""
    full = brute_force(o, d)
    row, col = np.nonzero(full <= cutoff)          # row-major: sorted by (row, col)
    return row, col, full[row, col]


@pytest.fixture
def points():
    rng = np.random.default_rng(11)
    o, d = rng.uniform(0, 3000, (400, 2)), rng.uniform(0, 3000, (90, 2))
    o[7] = d[3]                                      # a co-located pair: cost 0
    return o, d


def shuffled(shape, row, col, cost, seed=5):
    """The same pairs in a random order, stored without sorting."""
    p = np.random.default_rng(seed).permutation(len(row))
    return CostMatrix._trusted(shape, np.array(row)[p], np.array(col)[p],
                               np.array(cost, dtype=float)[p], is_sorted=False)


def test_euclidean_exposes_sorted_pairs_equal_to_brute_force(points):
    o, d = points
    row, col, cost = sorted_reference(o, d, 700)
    cm = costs.euclidean(o, d, 700)
    assert cm.nnz == len(row) > 1000
    assert not cm._sorted                             # the tree's order, not sorted yet
    np.testing.assert_array_equal(cm.row, row)
    np.testing.assert_array_equal(cm.col, col)
    np.testing.assert_allclose(cm.cost, cost, rtol=1e-12, atol=1e-9)
    assert cm.cost[np.flatnonzero((cm.row == 7) & (cm.col == 3))] == [0.0]
    for arr in (cm.row, cm.col, cm.cost):
        assert not arr.flags.writeable and arr.dtype in (np.int64, np.float64)


def test_euclidean_on_shuffled_points_is_the_permuted_matrix(points):
    o, d = points
    po, pd_ = np.random.default_rng(1).permutation(len(o)), np.random.default_rng(2).permutation(len(d))
    a = costs.euclidean(o, d, 700).to_dense()
    b = costs.euclidean(o[po], d[pd_], 700)
    np.testing.assert_array_equal(b.to_dense(), a[po][:, pd_])
    key = b.row * b.shape[1] + b.col
    assert (np.diff(key) > 0).all()                    # sorted by (row, col), no duplicates


def test_unsorted_and_sorted_cost_matrices_agree_on_every_view(points):
    o, d = points
    row, col, cost = sorted_reference(o, d, 700)
    shape = (len(o), len(d))
    ref = CostMatrix(shape, row, col, cost)            # validated, sorted by (row, col)
    for make in (lambda: shuffled(shape, row, col, cost), lambda: costs.euclidean(o, d, 700)):
        # each view on a fresh unsorted matrix, so none relies on an earlier sort
        assert make().nnz == ref.nnz
        np.testing.assert_allclose(make().to_dense(), ref.to_dense(), rtol=1e-12)
        np.testing.assert_array_equal(make().indptr(), ref.indptr())
        got, want = make().to_csr(), ref.to_csr()
        np.testing.assert_array_equal(got.indptr, want.indptr)
        np.testing.assert_array_equal(got.indices, want.indices)
        np.testing.assert_allclose(got.data, want.data, rtol=1e-12)
        values = np.arange(ref.nnz, dtype=float)       # to_csr values follow the public order
        np.testing.assert_array_equal(make().to_csr(values).data, values)
        # within keeps the pairs <= cutoff (inclusive), in whatever order they were
        cut = float(np.sort(cost)[len(cost) // 2])     # a cost that is exactly some pair's
        w = make().within(cut)
        keep = cost <= cut
        np.testing.assert_allclose(w.to_dense(), CostMatrix(shape, row[keep], col[keep],
                                                            cost[keep]).to_dense(), rtol=1e-12)
        np.testing.assert_array_equal(w.row, row[keep])
        np.testing.assert_array_equal(w.col, col[keep])
        # with_costs takes costs in the public (sorted) order
        new = np.arange(ref.nnz, dtype=float)
        wc = make().with_costs(new)
        np.testing.assert_array_equal(wc.row, row)
        np.testing.assert_array_equal(wc.cost, new)
        np.testing.assert_array_equal(wc.to_dense()[row, col], new)
        assert repr(make()) == f"CostMatrix(shape={shape}, nnz={ref.nnz})"


def test_reading_row_sorts_storage_once_and_keeps_pairs_together():
    # 3 origins x 3 destinations, pairs given out of order; zero cost kept
    cm = CostMatrix._trusted((3, 3), np.array([2, 0, 1, 0, 2]), np.array([0, 2, 1, 0, 2]),
                             np.array([7.0, 0.0, 4.0, 1.0, 5.0]), is_sorted=False)
    r, c, v = cm._pairs()
    assert r.tolist() == [2, 0, 1, 0, 2]               # storage order until someone asks
    assert cm.row.tolist() == [0, 0, 1, 2, 2]
    assert cm.col.tolist() == [0, 2, 1, 0, 2]
    assert cm.cost.tolist() == [1.0, 0.0, 4.0, 7.0, 5.0]
    assert cm._sorted and cm.row is cm.row              # sorted once, cached
    assert cm.to_dense().tolist() == [[1, INF, 0], [INF, 4, INF], [7, INF, 5]]


def test_travel_time_on_unsorted_pairs_converts_each_pair():
    # 4.5 km/h = 75 m/min
    cm = CostMatrix._trusted((2, 2), np.array([1, 0, 0]), np.array([0, 1, 0]),
                             np.array([150.0, 75.0, 0.0]), is_sorted=False)
    t = costs.travel_time(cm, "walk")
    assert t.to_dense().tolist() == [[0.0, 1.0], [2.0, INF]]
    assert t.cost.tolist() == [0.0, 1.0, 2.0]


def test_frozen_and_read_only():
    cm = costs.euclidean([[0, 0], [5, 0]], [[3, 4], [0, 0]], 10)
    with pytest.raises(AttributeError):
        cm.shape = (1, 1)
    with pytest.raises(AttributeError):
        cm.row = np.zeros(4, dtype=np.int64)
    for arr in cm._pairs() + (cm.row, cm.col, cm.cost):
        with pytest.raises(ValueError):
            arr[0] = 1


def test_with_costs_still_checks_on_unsorted_matrix(points):
    o, d = points
    cm = costs.euclidean(o, d, 300)
    with pytest.raises(InputError, match="costs for"):
        cm.with_costs(np.ones(cm.nnz + 1))
    with pytest.raises(InputError, match="negative"):
        cm.with_costs(-np.ones(cm.nnz))


def test_cutoff_ties_are_inclusive_on_the_unsorted_path():
    # 3-4-5 triangles: several pairs exactly at the cutoff 5, one just beyond
    o = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]])
    d = np.array([[3.0, 4.0], [13.0, 4.0], [20.0, 5.0], [20.0, 5.000001]])
    cm = costs.euclidean(o, d, 5)
    dense = cm.to_dense()
    assert dense[0, 0] == 5 and dense[1, 1] == 5 and dense[2, 2] == 5
    assert np.isinf(dense[2, 3]) and cm.nnz == 3
    # the tree is queried a hair wider than the cutoff; the exact test drops what is beyond
    near = costs.euclidean([[0.0, 0.0]], [[5 + 1e-10, 0.0], [5.0, 0.0], [0.0, 0.0]], 5)
    assert near.to_dense().tolist() == [[INF, 5.0, 0.0]] and near.nnz == 2
