"""2SFCA / 3SFCA straight on the range join's blocks (a lazy ``costs.euclidean`` matrix).

``costs.euclidean`` makes its pairs on first use; a 2SFCA / 3SFCA without a decay
that comes first runs on the join's dense blocks instead ("fused"). Checked here
against a dense brute force written from the formulas (Luo & Wang 2003; Wan et
al. 2012) and against the same call on the materialised pairs, both within 1e-12
relative; and the blocks / the lazy pairs against a brute-force distance matrix.
"""
import numpy as np
import pytest

from welfare_core import accessibility as acc, costs, decay
from welfare_core.errors import InputError


def brute_distances(o, d):
    return np.sqrt(((o[:, None, :] - d[None, :, :]) ** 2).sum(axis=2))


def brute_fca(dem, sup, o, d, cutoff, w_fn=None, three=False):
    """A_i from a dense distance matrix, straight from the formulas (0 instead of 0/0)."""
    dist = brute_distances(o, d)
    inside = dist <= cutoff
    w = np.where(inside, 1.0 if w_fn is None else w_fn(np.where(inside, dist, 0.0)), 0.0)
    if three:
        total = w.sum(axis=1, keepdims=True)
        w = w * np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    dem2 = dem.reshape(len(o), -1)
    sup2 = np.broadcast_to(sup.reshape(len(d), -1), (len(d), dem2.shape[1]))
    den = w.T @ dem2
    ratio = np.divide(sup2, den, out=np.zeros(den.shape), where=den > 0)
    return (w @ ratio).reshape(dem.shape)


def lazy(o, d, cutoff):
    cm = costs.euclidean(o, d, cutoff)
    assert "_row" not in cm.__dict__          # pairs not made yet
    return cm


def materialised(o, d, cutoff):
    cm = costs.euclidean(o, d, cutoff)
    cm._pairs()
    assert "_row" in cm.__dict__
    return cm


FNS = {"2sfca": acc.two_step_fca, "3sfca": acc.three_step_fca}


def check(dem, sup, o, d, cutoff, method, fca_cutoff=None, w_fn=None, fused=True):
    """Lazy matrix == materialised == brute force, within 1e-12 relative; on the lazy
    matrix the FCA ran on the blocks (no pairs made) if and only if ``fused``."""
    fca_cutoff = cutoff if fca_cutoff is None else fca_cutoff
    fn = FNS[method]
    cm = lazy(o, d, cutoff)
    result = fn(dem, sup, cm, fca_cutoff, w_fn)
    assert ("_row" not in cm.__dict__) == fused
    mat = fn(dem, sup, materialised(o, d, cutoff), fca_cutoff, w_fn)
    ref = brute_fca(dem, sup, o, d, min(cutoff, fca_cutoff), w_fn, method == "3sfca")
    assert np.isfinite(result).all() and result.shape == np.shape(dem)
    np.testing.assert_allclose(result, mat, rtol=1e-12, atol=0)
    np.testing.assert_allclose(result, ref, rtol=1e-12, atol=0)
    return result


@pytest.mark.parametrize("method", ["2sfca", "3sfca"])
@pytest.mark.parametrize("n, m, side, cutoff, seed", [
    (300, 200, 10_000.0, 1_000.0, 1),
    (500, 80, 10_000.0, 3_000.0, 2),
    (80, 500, 10_000.0, 250.0, 3),                   # small cutoff: many tiles
    (200, 200, 10_000.0, 50_000.0, 4),               # cutoff beyond the extent: all pairs
    (400, 300, 1e7, 20_000.0, 5),                    # spread out: most origins reach nothing
    (1100, 1000, 100.0, 30.0, 6),                    # tiles split into several row blocks
    (1100, 1000, 100.0, 200.0, 7),                   # one tile, 1.1 M pairs, 5 row blocks
])
def test_fused_equals_materialised_and_brute_force(method, n, m, side, cutoff, seed):
    rng = np.random.default_rng(seed)
    o, d = rng.uniform(0, side, (n, 2)), rng.uniform(0, side, (m, 2))
    dem = rng.integers(0, 500, n).astype(float)     # some zero demand
    sup = rng.integers(0, 40, m).astype(float)      # some zero supply
    a = check(dem, sup, o, d, cutoff, method)
    if side == 1e7:
        assert (a == 0).sum() > n // 2              # unreachable origins: 0, not NaN
    # far from the origin of the coordinates, several demand / supply columns at once
    shift = [500_000.0, 5_000_000.0]
    dem_k = np.c_[dem, rng.uniform(0, 3, n), np.zeros(n)]
    sup_k = np.c_[sup, rng.uniform(0, 9, m), sup]
    check(dem_k, sup_k, o + shift, d + shift, cutoff, method)


@pytest.mark.parametrize("method", ["2sfca", "3sfca"])
@pytest.mark.parametrize("cutoff", [5.0, 10.0, 13.0, 1.0])
def test_fused_keeps_ties_at_the_cutoff_duplicates_and_zero_costs(method, cutoff):
    rng = np.random.default_rng(7)
    o = rng.integers(0, 40, (300, 2)).astype(float)
    d = rng.integers(0, 40, (120, 2)).astype(float)
    o[:20] = o[20:40]                                # duplicate origins
    d[:10] = o[:10]                                  # facilities on origins: cost 0
    d[10:15] = d[15:20]                              # duplicate facilities
    assert (brute_distances(o, d) == cutoff).any()   # ties exactly at the cutoff
    dem = rng.integers(0, 9, 300).astype(float)
    sup = rng.integers(0, 5, 120).astype(float)
    check(dem, sup, o, d, cutoff, method)


@pytest.mark.parametrize("method", ["2sfca", "3sfca"])
def test_fused_with_the_fca_cutoff_below_or_above_the_matrix_cutoff(method):
    rng = np.random.default_rng(11)
    o = rng.integers(0, 60, (400, 2)).astype(float)  # integer grid: ties at 7 and 12
    d = rng.integers(0, 60, (150, 2)).astype(float)
    dem, sup = rng.uniform(0, 10, 400), rng.uniform(0, 10, 150)
    check(dem, sup, o, d, 12.0, method, fca_cutoff=7.0)      # within(7) of the pairs
    check(dem, sup, o, d, 12.0, method, fca_cutoff=50.0)     # every pair of the matrix


def test_fused_two_small_cases_by_hand():
    # origins at 0 and 3 on a line, facilities at 1 (supply 2) and 10 (supply 5);
    # cutoff 2: pairs (0, f0) cost 1, (3, f0) cost 2 (a tie); f1 is out of reach.
    # 2SFCA: R0 = 2 / (4 + 6) = 0.2, A = [0.2, 0.2]; R1 = 0 (nobody reaches it)
    o = np.array([[0.0, 0.0], [3.0, 0.0], [50.0, 0.0]])
    d = np.array([[1.0, 0.0], [10.0, 0.0]])
    dem, sup = np.array([4.0, 6.0, 7.0]), np.array([2.0, 5.0])
    a = acc.two_step_fca(dem, sup, lazy(o, d, 2.0), 2.0)
    np.testing.assert_allclose(a, [0.2, 0.2, 0.0], rtol=1e-15)
    # 3SFCA with every origin reaching one facility: G = 1, the same numbers
    a3 = acc.three_step_fca(dem, sup, lazy(o, d, 2.0), 2.0)
    np.testing.assert_allclose(a3, [0.2, 0.2, 0.0], rtol=1e-15)
    # origin 1 now also reaches a facility at 4 (supply 3): G = 1/2 each for it;
    # R0 = 2 / (4 + 6/2) = 2/7, R2 = 3 / (6/2) = 1; A1 = (2/7 + 1) / 2 = 9/14
    d3 = np.array([[1.0, 0.0], [10.0, 0.0], [4.0, 0.0]])
    a3 = acc.three_step_fca(dem, np.array([2.0, 5.0, 3.0]), lazy(o, d3, 2.0), 2.0)
    np.testing.assert_allclose(a3, [2 / 7, 9 / 14, 0.0], rtol=1e-15)
    # zero demand everywhere: every ratio 0, every A 0 (no NaN)
    assert (acc.two_step_fca(np.zeros(3), sup, lazy(o, d, 2.0), 2.0) == 0).all()
    assert (acc.three_step_fca(np.zeros(3), sup, lazy(o, d, 2.0), 2.0) == 0).all()


@pytest.mark.parametrize("method", ["2sfca", "3sfca"])
@pytest.mark.parametrize("w_fn", [
    decay.gaussian(400.0),
    decay.linear(1000.0),
    decay.exponential(0.002),
    decay.gravity(scale=100.0, alpha=-1.0, min_cost=50.0),
    decay.step({float(b): 1.0 / b for b in range(100, 1001, 100)}),  # 10 bounds: too many
])
def test_a_decay_on_a_lazy_matrix_uses_its_pairs_and_gives_the_same(method, w_fn):
    rng = np.random.default_rng(13)
    o, d = rng.uniform(0, 5_000, (300, 2)), rng.uniform(0, 5_000, (90, 2))
    d[:5] = o[:5]                                    # zero costs
    check(rng.uniform(0, 9, 300), rng.uniform(0, 9, 90), o, d, 1000.0, method, w_fn=w_fn,
          fused=False)


def grid_points(seed, n, m, size):
    """Integer coordinates: many distances exactly at integer step bounds and cutoffs
    (enough points for tiles about as wide as a cutoff of 10-15: dense blocks)."""
    rng = np.random.default_rng(seed)
    o = rng.integers(0, size, (n, 2)).astype(float)
    d = rng.integers(0, size, (m, 2)).astype(float)
    d[:5] = o[:5]                                    # zero costs
    return o, d, rng.uniform(0, 9, n), rng.uniform(0, 9, m)


@pytest.mark.parametrize("method", ["2sfca", "3sfca"])
@pytest.mark.parametrize("steps, cutoff, fca_cutoff", [
    ({4.0: 0.962, 8.0: 0.704, 12.0: 0.377}, 12.0, None),    # last bound = cutoff
    ({5.0: 1.0, 10.0: 0.5}, 13.0, None),                     # 0 past the last bound
    ({5.0: 1.0, 10.0: 0.6, 20.0: 0.3, 30.0: 0.1}, 13.0, None),  # bounds past the cutoff
    ({13.0: 0.8}, 13.0, None),                               # one bound
    ({3.0: 0.0, 7.0: 1.0, 12.0: 0.0}, 12.0, None),           # zero weights
    ({5.0: 1.0, 10.0: 0.5, 15.0: 0.25}, 15.0, 12.0),         # the FCA's cutoff below
    ({5.0: 1.0, 10.0: 0.5, 15.0: 0.25}, 12.0, 15.0),         # ... and above the matrix's
])
def test_a_step_decay_runs_on_the_blocks_with_ties_at_every_bound(method, steps, cutoff,
                                                                  fca_cutoff):
    o, d, dem, sup = grid_points(31, 1500, 600, 60)
    dist = brute_distances(o, d)
    assert all((dist == b).any() for b in steps if b <= min(cutoff, fca_cutoff or cutoff))
    assert lazy(o, d, cutoff)._block_density(fca_cutoff) >= acc._BANDED_DENSITY
    check(dem, sup, o, d, cutoff, method, fca_cutoff, decay.step(steps), fused=True)
    # several demand columns at once
    dem_k = np.c_[dem, dem[::-1], np.zeros(len(dem))]
    check(dem_k, np.c_[sup, sup, sup[::-1]], o, d, cutoff, method, fca_cutoff,
          decay.step(steps), fused=True)


@pytest.mark.parametrize("method", ["2sfca", "3sfca"])
def test_a_step_decay_on_sparse_blocks_takes_the_pairs(method):
    # a short cutoff for the spread: tiles much wider than it, few pairs per cell
    o, d, dem, sup = grid_points(37, 400, 300, 2_000)
    assert lazy(o, d, 20.0)._block_density(20.0) < acc._BANDED_DENSITY
    check(dem, sup, o, d, 20.0, method, w_fn=decay.step({10.0: 1.0, 20.0: 0.5}), fused=False)


def test_a_step_decay_with_the_second_pass_recomputing_the_blocks(monkeypatch):
    o, d, dem, sup = grid_points(41, 1500, 600, 50)
    f = decay.step({4.0: 1.0, 9.0: 0.5, 11.0: 0.2})
    kept = acc.three_step_fca(dem, sup, lazy(o, d, 11.0), 11.0, f)
    monkeypatch.setattr(acc, "_KEEP_BYTES", 0)       # pass 2 bands the blocks again
    again = check(dem, sup, o, d, 11.0, "3sfca", w_fn=f, fused=True)
    np.testing.assert_allclose(again, kept, rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed, cutoff", [(43, 700.0), (47, 1_500.0), (53, 3_000.0)])
def test_block_density_estimates_the_share_of_cells_that_are_pairs(seed, cutoff):
    rng = np.random.default_rng(seed)
    o, d = rng.uniform(0, 15_000, (3000, 2)), rng.uniform(0, 15_000, (1000, 2))
    cm = lazy(o, d, cutoff)
    estimate, cells = cm._block_density(), cm._plan.upper
    assert abs(estimate - cm.nnz / cells) < 0.05     # points spread evenly


@pytest.mark.parametrize("method", ["2sfca", "3sfca"])
def test_fused_second_pass_recomputing_the_blocks(method, monkeypatch):
    rng = np.random.default_rng(17)
    o, d = rng.uniform(0, 3_000, (700, 2)), rng.uniform(0, 3_000, (300, 2))
    dem, sup = rng.uniform(0, 9, 700), rng.uniform(0, 9, 300)
    kept = FNS[method](dem, sup, lazy(o, d, 500.0), 500.0)
    monkeypatch.setattr(acc, "_KEEP_BYTES", 0)      # nothing kept: pass 2 redoes the blocks
    again = check(dem, sup, o, d, 500.0, method)
    np.testing.assert_allclose(again, kept, rtol=1e-12, atol=0)


def test_a_second_fca_on_the_same_lazy_matrix_makes_the_pairs():
    rng = np.random.default_rng(19)
    o, d = rng.uniform(0, 3_000, (200, 2)), rng.uniform(0, 3_000, (100, 2))
    dem, sup = rng.uniform(0, 9, 200), rng.uniform(0, 9, 100)
    cm = lazy(o, d, 600.0)
    first = acc.two_step_fca(dem, sup, cm, 600.0)
    assert "_row" not in cm.__dict__
    second = acc.two_step_fca(dem, sup, cm, 600.0, normalize=True)
    assert "_row" in cm.__dict__                     # the blocks are used once
    np.testing.assert_allclose(second, first / ((dem * first).sum() / dem.sum()), rtol=1e-12)
    third = acc.three_step_fca(dem, sup, cm, 600.0)
    np.testing.assert_allclose(third, brute_fca(dem, sup, o, d, 600.0, three=True),
                               rtol=1e-12, atol=0)


def test_fused_refuses_a_shape_mismatch_like_the_pairs():
    rng = np.random.default_rng(23)
    o, d = rng.uniform(0, 100, (20, 2)), rng.uniform(0, 100, (10, 2))
    for cm in (lazy(o, d, 30.0), materialised(o, d, 30.0)):
        with pytest.raises(InputError, match="shape"):
            acc.two_step_fca(np.ones(21), np.ones(10), cm, 30.0)
    with pytest.raises(InputError, match="max_cost"):
        acc.two_step_fca(np.ones(20), np.ones(10), lazy(o, d, 30.0), 0.0)


@pytest.mark.parametrize("n, m, side, cutoff", [
    (1100, 1000, 100.0, 200.0),                      # one tile cut into row blocks
    (500, 400, 10_000.0, 700.0),
    (300, 300, 40.0, 5.0),
])
def test_blocks_cover_every_pair_once_and_lazy_pairs_equal_brute_force(n, m, side, cutoff):
    rng = np.random.default_rng(29)
    o, d = rng.uniform(0, side, (n, 2)), rng.uniform(0, side, (m, 2))
    if side == 40.0:
        o, d = np.round(o), np.round(d)              # integer grid: ties at the cutoff
    full = brute_distances(o, d)
    expect = full <= cutoff
    cm = lazy(o, d, cutoff)
    seen = np.zeros((n, m), dtype=int)
    rows_seen = np.zeros(n, dtype=int)
    for rows, cand, d2, inside in cm._blocks():
        assert len(np.unique(cand)) == len(cand)     # candidates unique within a block
        rows_seen[rows] += 1
        seen[np.ix_(rows, cand)] += inside
        np.testing.assert_allclose(np.sqrt(d2), full[np.ix_(rows, cand)], rtol=1e-12,
                                   atol=1e-9 * side)
    assert rows_seen.max() <= 1                      # every origin in one block at most
    np.testing.assert_array_equal(seen, expect)      # every pair once, nothing else
    # the pairs made afterwards (the lazy matrix materialises on first use)
    cm = lazy(o, d, cutoff)
    assert cm.nnz == int(expect.sum())
    row, col = np.nonzero(expect)
    np.testing.assert_array_equal(cm.row, row)
    np.testing.assert_array_equal(cm.col, col)
    np.testing.assert_allclose(cm.cost, full[row, col], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(costs.euclidean(o, d, cutoff).to_dense(),
                                  np.where(expect, full, np.inf))


@pytest.mark.parametrize("bounds, cutoff", [
    ([4.0, 8.0, 12.0], 12.0), ([5.0, 10.0], 13.0), ([2.0, 13.0, 30.0], 13.0), ([20.0], 13.0),
])
def test_block_bands_are_the_first_bound_at_or_above_each_cost(bounds, cutoff):
    o, d, _, _ = grid_points(59, 300, 200, 40)
    full = brute_distances(o, d)
    # index of the first bound >= cost (len(bounds) past the last), len(bounds) + 1
    # beyond the cutoff: what decay.step's table is indexed with, plus one 0
    expect = np.where(full <= cutoff, np.searchsorted(bounds, full, side="left"),
                      len(bounds) + 1)
    seen = np.full(full.shape, len(bounds) + 1)
    for rows, cand, _, band in lazy(o, d, cutoff)._blocks(cutoff, np.array(bounds)):
        assert band.dtype == np.uint8
        seen[np.ix_(rows, cand)] = band
    np.testing.assert_array_equal(seen, expect)
