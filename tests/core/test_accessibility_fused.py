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


def check(dem, sup, o, d, cutoff, method, fca_cutoff=None, w_fn=None):
    """Fused (lazy matrix) == materialised == brute force, within 1e-12 relative."""
    fca_cutoff = cutoff if fca_cutoff is None else fca_cutoff
    fn = FNS[method]
    cm = lazy(o, d, cutoff)
    fused = fn(dem, sup, cm, fca_cutoff, w_fn)
    if w_fn is None:
        assert "_row" not in cm.__dict__      # the fused path ran: no pairs made
    mat = fn(dem, sup, materialised(o, d, cutoff), fca_cutoff, w_fn)
    ref = brute_fca(dem, sup, o, d, min(cutoff, fca_cutoff), w_fn, method == "3sfca")
    assert np.isfinite(fused).all() and fused.shape == np.shape(dem)
    np.testing.assert_allclose(fused, mat, rtol=1e-12, atol=0)
    np.testing.assert_allclose(fused, ref, rtol=1e-12, atol=0)
    return fused


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
    decay.step({300.0: 1.0, 700.0: 0.6, 1000.0: 0.25}),
    decay.gaussian(400.0),
    decay.linear(1000.0),
    decay.exponential(0.002),
    decay.gravity(scale=100.0, alpha=-1.0, min_cost=50.0),
])
def test_a_decay_on_a_lazy_matrix_uses_its_pairs_and_gives_the_same(method, w_fn):
    rng = np.random.default_rng(13)
    o, d = rng.uniform(0, 5_000, (300, 2)), rng.uniform(0, 5_000, (90, 2))
    d[:5] = o[:5]                                    # zero costs
    check(rng.uniform(0, 9, 300), rng.uniform(0, 9, 90), o, d, 1000.0, method, w_fn=w_fn)


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
