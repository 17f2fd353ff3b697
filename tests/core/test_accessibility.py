"""FCA family, gravity potential, nearest and share within.

Expected values come from hand calculation (worked in the comments), a
brute-force dense numpy reference, closed-form properties (supply
conservation) and PySAL `access` (tests/fixtures/access_reference.json,
made by bench/make_access_reference.py in a separate venv).
"""
import json
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from welfare_core import accessibility as acc
from welfare_core import costs, decay
from welfare_core.costs import CostMatrix
from welfare_core.errors import InputError

INF = np.inf
REL = 1e-9

# --- 2 demand points × 2 facilities, worked by hand ----------------------------------
# D = (100, 50), S = (10, 5), cutoff 3 (inclusive)
#             f0   f1
#   i0  c =   1    3      <- c = 3 is exactly at the cutoff: inside
#   i1  c =   2    inf
D2 = np.array([100.0, 50.0])
S2 = np.array([10.0, 5.0])
C2 = np.array([[1.0, 3.0], [2.0, INF]])


def test_2sfca_hand_2x2():
    # R0 = 10 / (100 + 50) = 1/15;  R1 = 5 / 100 = 0.05
    # A0 = R0 + R1 = 7/60;  A1 = R0 = 1/15
    a = acc.two_step_fca(D2, S2, C2, 3)
    np.testing.assert_allclose(a, [7 / 60, 1 / 15], rtol=REL)


def test_2sfca_cutoff_just_below_drops_boundary_pair():
    # f1 is then reached by nobody: R1 = 0 (not NaN); A0 = A1 = R0 = 1/15
    np.testing.assert_allclose(acc.two_step_fca(D2, S2, C2, 2.999), [1 / 15, 1 / 15], rtol=REL)


def test_enhanced_2sfca_hand_2x2():
    # step {1: 1, 3: 0.5}: W00 = 1 (c = 1 inclusive), W01 = 0.5, W10 = 0.5
    # R0 = 10 / (1·100 + 0.5·50) = 0.08;  R1 = 5 / (0.5·100) = 0.1
    # A0 = 1·0.08 + 0.5·0.1 = 0.13;  A1 = 0.5·0.08 = 0.04
    a = acc.two_step_fca(D2, S2, C2, 3, decay.step({1: 1.0, 3: 0.5}))
    np.testing.assert_allclose(a, [0.13, 0.04], rtol=REL)


def test_3sfca_hand_2x2():
    # same step weights; row sums: i0 1.5, i1 0.5
    # G00 = 2/3, G01 = 1/3, G10 = 1  ->  GW00 = 2/3, GW01 = 1/6, GW10 = 1/2
    # R0 = 10 / (2/3·100 + 1/2·50) = 10 / (275/3) = 6/55;  R1 = 5 / (1/6·100) = 0.3
    # A0 = 2/3·6/55 + 1/6·0.3 = 4/55 + 0.05;  A1 = 1/2·6/55 = 3/55
    a = acc.three_step_fca(D2, S2, C2, 3, decay.step({1: 1.0, 3: 0.5}))
    np.testing.assert_allclose(a, [4 / 55 + 0.05, 3 / 55], rtol=REL)


# --- 3 demand points × 2 facilities, worked by hand ----------------------------------
# D = (10, 20, 30), S = (4, 6), cutoff 5; c(i2, f0) = 8 is outside
#             f0   f1
#   i0  c =   0    5      <- co-located facility (zero cost) and one at the cutoff
#   i1  c =   3    inf
#   i2  c =   8    2
D3 = np.array([10.0, 20.0, 30.0])
S3 = np.array([4.0, 6.0])
C3 = np.array([[0.0, 5.0], [3.0, INF], [8.0, 2.0]])


def test_2sfca_hand_3x2_with_zero_cost():
    # R0 = 4 / (10 + 20) = 2/15;  R1 = 6 / (10 + 30) = 0.15
    # A = (2/15 + 0.15, 2/15, 0.15)
    np.testing.assert_allclose(acc.two_step_fca(D3, S3, C3, 5), [2 / 15 + 0.15, 2 / 15, 0.15],
                               rtol=REL)


def test_3sfca_hand_3x2():
    # W = 1: G = 1/2 for i0's two facilities, 1 for i1 and i2
    # R0 = 4 / (10/2 + 20) = 0.16;  R1 = 6 / (10/2 + 30) = 6/35
    # A0 = (0.16 + 6/35) / 2;  A1 = 0.16;  A2 = 6/35
    np.testing.assert_allclose(acc.three_step_fca(D3, S3, C3, 5),
                               [(0.16 + 6 / 35) / 2, 0.16, 6 / 35], rtol=REL)


def test_zero_cost_pair_counts_in_cost_matrix_too():
    # only the co-located pair is within 1: R0 = 5 / 10; A = 0.5
    cm = CostMatrix((1, 2), row=[0, 0], col=[0, 1], cost=[0.0, 2.0])
    np.testing.assert_allclose(acc.two_step_fca([10.0], [5.0, 5.0], cm, 1), [0.5], rtol=REL)


def test_gravity_potential_hand():
    # W = 1/c: A0 = 10/1 + 5/3, A1 = 10/2; cut at 2: A0 = 10
    g = decay.gravity(scale=1, alpha=-1)
    np.testing.assert_allclose(acc.gravity_potential(S2, C2, g), [10 + 5 / 3, 5], rtol=REL)
    np.testing.assert_allclose(acc.gravity_potential(S2, C2, g, max_cost=2), [10, 5], rtol=REL)


def test_gravity_potential_zero_cost_needs_min_cost():
    with pytest.raises(InputError, match="min_cost"):
        acc.gravity_potential(S3, C3, decay.gravity())
    # min_cost 0.5: i0 = 4/0.5 + 6/5 = 9.2; i1 = 4/3; i2 = 4/8 + 6/2 = 3.5
    np.testing.assert_allclose(acc.gravity_potential(S3, C3, decay.gravity(min_cost=0.5)),
                               [9.2, 4 / 3, 3.5], rtol=REL)


def test_nearest_and_share_within():
    cost, col = acc.nearest(C3)
    np.testing.assert_array_equal(cost, [0, 3, 2])
    np.testing.assert_array_equal(col, [0, 0, 1])
    unreachable = np.array([[INF, INF], [4.0, 4.0]])
    cost, col = acc.nearest(unreachable)
    assert cost.tolist() == [INF, 4.0] and col.tolist() == [-1, 0]   # tie -> lowest column
    np.testing.assert_array_equal(acc.nearest_cost(C2), [1, 2])
    # within 2: i0 (0) and i2 (2, inclusive) -> (10 + 30) / 60
    assert acc.share_within(D3, C3, 2) == pytest.approx(40 / 60, rel=REL)
    assert acc.share_within(D3, C3, 1.999) == pytest.approx(10 / 60, rel=REL)


def test_origin_reaching_nothing_and_empty_catchment_are_zero_not_nan():
    cost = np.array([[1.0, INF], [INF, INF], [INF, 2.0]])
    demand = np.array([5.0, 7.0, 0.0])           # f1's only user has no demand
    for f in (acc.two_step_fca, acc.three_step_fca):
        a = f(demand, [3.0, 4.0], cost, 10)
        np.testing.assert_allclose(a, [0.6, 0.0, 0.0], rtol=REL)   # R0 = 3/5, R1 = 0


def test_normalize_by_demand_weighted_mean():
    # A = (7/60, 1/15); weighted mean = (100·7/60 + 50/15) / 150 = 15/150 = 0.1
    a = acc.two_step_fca(D2, S2, C2, 3, normalize=True)
    np.testing.assert_allclose(a, [7 / 6, 2 / 3], rtol=REL)
    with pytest.raises(InputError, match="normalise"):
        acc.two_step_fca(D2, S2, np.full((2, 2), INF), 3, normalize=True)


def test_many_demand_columns_in_one_call():
    rng = np.random.default_rng(3)
    cost = rng.uniform(0, 10, (40, 12))
    demand = rng.uniform(0, 100, (40, 3))
    supply = rng.uniform(0, 20, (12, 3))
    for method in acc.METHODS:
        many = acc.fca(demand, supply, cost, 4, decay.linear(4), method=method)
        assert many.shape == (40, 3)
        for k in range(3):
            one = acc.fca(demand[:, k], supply[:, k], cost, 4, decay.linear(4), method=method)
            np.testing.assert_allclose(many[:, k], one, rtol=1e-12)
    shared = acc.two_step_fca(demand, supply[:, 0], cost, 4)            # one supply column
    np.testing.assert_allclose(shared[:, 2], acc.two_step_fca(demand[:, 2], supply[:, 0], cost, 4),
                               rtol=1e-12)


# --- brute force and sparse vs dense ------------------------------------------------

def dense_reference(demand, supply, cost, max_cost, w=lambda c: np.ones_like(c), three=False):
    """Textbook formulas on a full n × m array."""
    inside = cost <= max_cost
    W = np.where(inside, w(np.where(inside, cost, 0.0)), 0.0)
    if three:
        rs = W.sum(axis=1, keepdims=True)
        W = W * np.divide(W, rs, out=np.zeros_like(W), where=rs > 0)
    dw = W.T @ demand
    R = np.divide(supply, dw, out=np.zeros_like(dw), where=dw > 0)
    return W @ R


@pytest.mark.parametrize("three", [False, True])
@pytest.mark.parametrize("make_decay", [None, lambda: decay.gaussian(300),
                                        lambda: decay.step({200: 1, 500: 0.6, 800: 0.2}),
                                        lambda: decay.exponential(0.004)])
def test_random_points_match_brute_force_and_sparse_equals_dense(three, make_decay):
    rng = np.random.default_rng(42)
    o, d = rng.uniform(0, 4000, (250, 2)), rng.uniform(0, 4000, (60, 2))
    demand, supply = rng.integers(0, 300, 250).astype(float), rng.uniform(1, 30, 60)
    full = np.sqrt(((o[:, None] - d[None]) ** 2).sum(axis=2))
    f = None if make_decay is None else make_decay()
    expected = dense_reference(demand, supply, full, 800,
                               (lambda c: np.ones_like(c)) if f is None else f, three)
    fn = acc.three_step_fca if three else acc.two_step_fca
    sparse_result = fn(demand, supply, costs.euclidean(o, d, 800), 800, f)
    dense_result = fn(demand, supply, full, 800, f)
    np.testing.assert_allclose(sparse_result, expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(sparse_result, dense_result, rtol=1e-14, atol=0)
    assert np.isfinite(sparse_result).all()


# --- properties -----------------------------------------------------------------------

cost_cells = st.one_of(st.just(INF), st.just(0.0), st.floats(0, 100, allow_nan=False))


@st.composite
def problems(draw):
    n, m = draw(st.integers(1, 7)), draw(st.integers(1, 6))
    cost = draw(hnp.arrays(float, (n, m), elements=cost_cells))
    # zero or at least 1e-6: S / 1e-320 would overflow, and no place has 1e-320 persons
    amounts = st.one_of(st.just(0.0), st.floats(1e-6, 1e4))
    demand = draw(hnp.arrays(float, n, elements=amounts))
    supply = draw(hnp.arrays(float, m, elements=amounts))
    max_cost = draw(st.floats(1, 100))
    return demand, supply, cost, max_cost


@settings(max_examples=150, deadline=None)
@given(problems(), st.sampled_from([None, "gaussian", "linear"]), st.booleans())
def test_supply_conservation(problem, decay_name, three):
    """Σ_i D_i A_i = Σ_j S_j over facilities whose weighted catchment demand is > 0."""
    demand, supply, cost, max_cost = problem
    f = {None: None, "gaussian": decay.gaussian(30), "linear": decay.linear(150)}[decay_name]
    a = (acc.three_step_fca if three else acc.two_step_fca)(demand, supply, cost, max_cost, f)
    assert np.isfinite(a).all() and (a >= 0).all()
    inside = cost <= max_cost
    W = np.where(inside, 1.0 if f is None else f(np.where(inside, cost, 0.0)), 0.0)
    if three:
        rs = W.sum(axis=1, keepdims=True)
        W = W * np.divide(W, rs, out=np.zeros_like(W), where=rs > 0)
    used = (W.T @ demand) > 0
    assert (demand * a).sum() == pytest.approx(supply[used].sum(), rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(problems(), st.floats(0.1, 10))
def test_scaling_supply_scales_access(problem, k):
    demand, supply, cost, max_cost = problem
    a = acc.two_step_fca(demand, supply, cost, max_cost)
    np.testing.assert_allclose(acc.two_step_fca(demand, k * supply, cost, max_cost), k * a,
                               rtol=1e-9, atol=1e-12)


# --- PySAL access reference ------------------------------------------------------------

REFERENCE = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures",
                         "access_reference.json")


@pytest.fixture(scope="module")
def ref():
    with open(REFERENCE) as fh:
        return json.load(fh)


def _ours(ref, case):
    cm = costs.euclidean(ref["demand_xy"], ref["supply_xy"], ref["max_cost"])
    d, s, mc = np.array(ref["demand"]), np.array(ref["supply"]), ref["max_cost"]
    steps = {k: {float(b): w for b, w in ref[k].items()} for k in ("step_e2sfca", "step_3sfca")}
    return {
        "2sfca": lambda: acc.two_step_fca(d, s, cm, mc),
        "2sfca_normalized": lambda: acc.two_step_fca(d, s, cm, mc, normalize=True),
        "e2sfca_step": lambda: acc.two_step_fca(d, s, cm, mc, decay.step(steps["step_e2sfca"])),
        "2sfca_gaussian": lambda: acc.two_step_fca(d, s, cm, mc, decay.gaussian(ref["sigma"])),
        "3sfca_step": lambda: acc.three_step_fca(d, s, cm, mc, decay.step(steps["step_3sfca"])),
        "3sfca_gaussian": lambda: acc.three_step_fca(d, s, cm, mc,
                                                     decay.gaussian(ref["sigma"])),
        "gravity": lambda: acc.gravity_potential(s, cm, decay.gravity(**ref["gravity"]),
                                                 max_cost=mc),
    }[case]()


@pytest.mark.parametrize("case", ["2sfca", "2sfca_normalized", "e2sfca_step", "2sfca_gaussian",
                                  "3sfca_step", "3sfca_gaussian", "gravity"])
def test_matches_pysal_access(ref, case):
    theirs = np.array([np.nan if v is None else v for v in ref["results"][case]])
    ours = _ours(ref, case)
    reached = ~np.isnan(theirs)
    assert reached.sum() >= 70                       # the comparison covers real work
    np.testing.assert_allclose(ours[reached], theirs[reached], rtol=REL, atol=0)
    # PySAL leaves origins that reach nothing NaN; we give 0
    np.testing.assert_array_equal(ours[~reached], 0.0)
    assert (~reached).sum() == 3


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, word", [
    ({"demand": [1.0, 2.0, 3.0]}, "shape"),
    ({"supply": [1.0]}, "shape"),
    ({"demand": [1.0, -2.0]}, "demand must be finite and >= 0"),
    ({"demand": [1.0, np.nan]}, "demand has 1 missing"),
    ({"supply": [np.inf, 1.0]}, "supply must be finite"),
    ({"cost": np.array([[1.0, -1.0], [1.0, 1.0]])}, "negative"),
    ({"cost": np.array([[1.0, np.nan], [1.0, 1.0]])}, "NaN"),
    ({"max_cost": 0}, "max_cost must be > 0"),
    ({"max_cost": -1}, "max_cost must be > 0"),
    ({"max_cost": None}, "max_cost must be a number"),
    ({"decay": "gaussian"}, "unknown decay"),
    ({"decay": lambda c: -c}, "negative, NaN or infinite"),
    ({"decay": lambda c: 1.0}, "vectorised"),
    ({"demand": np.ones((2, 2)), "supply": np.ones((2, 3))}, "columns"),
])
def test_bad_input_is_explained(kwargs, word):
    args = {"demand": D2, "supply": S2, "cost": C2, "max_cost": 3, "decay": None, **kwargs}
    for fn in (acc.two_step_fca, acc.three_step_fca):
        with pytest.raises(InputError, match=word):
            fn(**args)


def test_other_bad_input():
    with pytest.raises(InputError, match="unknown method"):
        acc.fca(D2, S2, C2, 3, method="4sfca")
    with pytest.raises(InputError, match="needs a decay"):
        acc.gravity_potential(S2, C2, None)
    with pytest.raises(InputError, match="supply has 3 values"):
        acc.gravity_potential([1.0, 2.0, 3.0], C2, decay.linear(5))
    with pytest.raises(InputError, match="demand sums to 0"):
        acc.share_within([0.0, 0.0], C2, 3)
    with pytest.raises(InputError, match="origin rows"):
        acc.share_within([1.0, 2.0, 3.0], C2, 3)


@pytest.mark.parametrize("method", ["2sfca", "3sfca"])
@pytest.mark.parametrize("cutoff", [900.0, 5000.0])  # few pairs -> sparse path; most -> dense path
def test_dense_and_sparse_paths_agree(method, cutoff):
    from welfare_core import accessibility as acc_mod
    from welfare_core import costs as costs_mod
    from welfare_core import decay as decay_mod
    rng = np.random.default_rng(7)
    o, f = rng.uniform(0, 3000, (60, 2)), rng.uniform(0, 3000, (40, 2))
    dense = np.sqrt(((o[:, None, :] - f[None, :, :]) ** 2).sum(-1))
    dense[3, :5] = 0.0                      # co-located: zero costs are real costs
    d, s = rng.uniform(0, 50, 60), rng.uniform(1, 20, 40)
    w = decay_mod.step({cutoff / 3: 1.0, 2 * cutoff / 3: 0.6, cutoff: 0.2})
    reach = (dense <= cutoff).mean()
    assert (reach >= acc_mod.DENSE_SHARE) == (cutoff == 5000.0)
    got = acc_mod.fca(d, s, dense, cutoff, w, method=method)
    want = acc_mod.fca(d, s, costs_mod.CostMatrix.from_dense(dense), cutoff, w, method=method)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
