"""CostMatrix pairs held in any order (a range join's): the public view is still sorted.

`costs.euclidean` keeps its tiled range join's pairs unsorted; ``row`` / ``col`` /
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
    assert not cm._sorted                             # the join's order, not sorted yet
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
    # candidates are searched a hair wider than the cutoff; the exact test drops the rest
    near = costs.euclidean([[0.0, 0.0]], [[5 + 1e-10, 0.0], [5.0, 0.0], [0.0, 0.0]], 5)
    assert near.to_dense().tolist() == [[INF, 5.0, 0.0]] and near.nnz == 2


# --- euclidean's tiled range join against a dense brute force ---------------------------

def assert_matches_brute_force(o, d, cutoff):
    """Same pairs as ``brute_force <= cutoff`` (ties included), same costs, no duplicates."""
    o, d = np.asarray(o, dtype=float).reshape(-1, 2), np.asarray(d, dtype=float).reshape(-1, 2)
    cm = costs.euclidean(o, d, cutoff)
    assert cm.shape == (len(o), len(d))
    if not (len(o) and len(d)):
        assert cm.nnz == 0
        return cm
    row, col, cost = sorted_reference(o, d, cutoff)
    assert cm.nnz == len(row)                        # no pair twice, none missing
    np.testing.assert_array_equal(cm.row, row)
    np.testing.assert_array_equal(cm.col, col)
    np.testing.assert_allclose(cm.cost, cost, rtol=1e-12, atol=0)
    assert (cm.cost <= cutoff).all()
    return cm


@pytest.mark.parametrize("n, m, side, cutoff, seed", [
    (300, 200, 10_000.0, 1_000.0, 1),
    (500, 80, 10_000.0, 3_000.0, 2),
    (80, 500, 10_000.0, 250.0, 3),                   # small cutoff: many tiles
    (200, 200, 10_000.0, 50_000.0, 4),               # cutoff beyond the extent: all pairs
    (400, 300, 1e7, 20_000.0, 5),                    # widely spread points, tiny cutoff
    (300, 300, 1.0, 0.05, 6),                        # a 1 m square
])
def test_euclidean_equals_brute_force_on_random_points(n, m, side, cutoff, seed):
    rng = np.random.default_rng(seed)
    o, d = rng.uniform(0, side, (n, 2)), rng.uniform(0, side, (m, 2))
    assert_matches_brute_force(o, d, cutoff)
    # the same points far from the origin of the coordinates (UTM-like northings)
    assert_matches_brute_force(o + [500_000.0, 5_000_000.0], d + [500_000.0, 5_000_000.0],
                               cutoff)


@pytest.mark.parametrize("cutoff", [5.0, 10.0, 13.0, 1.0])
def test_euclidean_keeps_every_tie_on_an_integer_grid(cutoff):
    # integer coordinates: 3-4-5, 6-8-10, 5-12-13 triangles and axis-aligned pairs put
    # many distances exactly at the cutoff; duplicates of both sets included
    rng = np.random.default_rng(7)
    o = rng.integers(0, 40, (300, 2)).astype(float)
    d = rng.integers(0, 40, (120, 2)).astype(float)
    o[:20] = o[20:40]                                # duplicate origins
    d[:10] = o[:10]                                  # facilities on origins: cost 0
    cm = assert_matches_brute_force(o, d, cutoff)
    ties = int((cm.cost == cutoff).sum())
    assert ties > 0 and ties == int((brute_force(o, d) == cutoff).sum())


@pytest.mark.parametrize("cutoff", [1e-300, 5e-324])
def test_euclidean_tiny_cutoff_keeps_only_colocated_pairs(cutoff):
    o = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 1.0], [1.0, 1.0 + 1e-9]])
    d = np.array([[1.0, 1.0], [3.0, 3.0], [1.0, 1.0]])
    cm = assert_matches_brute_force(o, d, cutoff)
    assert cm.nnz == 4 and (cm.cost == 0).all()      # zero cost is a real, kept cost
    same = assert_matches_brute_force(np.ones((3, 2)), np.ones((2, 2)), cutoff)
    assert same.nnz == 6                             # every point in one place
    with pytest.raises(InputError):
        costs.euclidean(o, d, 0)                      # a cutoff must be > 0


@pytest.mark.parametrize("o, d", [
    ([[5.0, 5.0]], np.random.default_rng(8).uniform(0, 20, (50, 2))),   # one origin
    (np.random.default_rng(9).uniform(0, 20, (50, 2)), [[5.0, 5.0]]),   # one destination
    (np.full((30, 2), 7.0), np.full((20, 2), 7.0)),                     # all in one place
    (np.c_[np.zeros(40), np.arange(40.0)], np.c_[np.zeros(25), np.arange(25.0) * 1.5]),
    (np.empty((0, 2)), [[1.0, 2.0]]),                                    # no origins
    ([[1.0, 2.0]], np.empty((0, 2))),                                    # no destinations
])
def test_euclidean_degenerate_sets(o, d):
    assert_matches_brute_force(o, d, 5.0)


def test_euclidean_two_far_clusters_and_huge_coordinates():
    rng = np.random.default_rng(10)
    o = np.vstack([rng.uniform(0, 100, (100, 2)), rng.uniform(0, 100, (100, 2)) + 1e6])
    d = np.vstack([rng.uniform(0, 100, (60, 2)) + 1e6, rng.uniform(0, 100, (60, 2))])
    assert_matches_brute_force(o, d, 30.0)
    assert costs.euclidean(o, d, 1e300).nnz == len(o) * len(d)   # a huge cutoff: all pairs
    # coordinates near the float range (the last one past the tiles' arithmetic, which
    # then falls back to a KD-tree): still the same pairs
    for x in (1e307, 5e307):
        big = np.array([[x, 0.0], [x, 10.0]])
        cm = assert_matches_brute_force(big, big + [0.0, 3.0], 5.0)
        assert cm.to_dense()[0, 0] == 3.0 and cm.nnz == 2


def test_euclidean_blocks_and_growth_beyond_one_million_pairs():
    # every pair within the cutoff: 1,100 x 1,000 = 1.1 M pairs, more than one cdist
    # block per tile and more than the output's first capacity (2^20)
    rng = np.random.default_rng(12)
    o, d = rng.uniform(0, 100, (1100, 2)), rng.uniform(0, 100, (1000, 2))
    cm = assert_matches_brute_force(o, d, 200.0)
    assert cm.nnz == 1_100_000
