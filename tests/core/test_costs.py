"""Cost matrices: euclidean with an inclusive cutoff, OD tables, dense input, travel time.

Expected numbers are worked by hand (3-4-5 triangles) or by brute force
(all n × m distances with numpy), never read back from the code under test.
"""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from welfare_core import costs
from welfare_core.costs import CostMatrix, as_cost
from welfare_core.errors import InputError, UnknownIdError

INF = np.inf


def brute_force(o, d):
    o, d = np.asarray(o, float), np.asarray(d, float)
    return np.sqrt(((o[:, None, :] - d[None, :, :]) ** 2).sum(axis=2))


# --- euclidean ---------------------------------------------------------------------

def test_euclidean_hand_worked_inclusive_cutoff():
    # origin (0,0): facility A (0,0) at 0 (co-located), B (3,4) at exactly 5, C (6,8) at 10
    # origin (3,0): A at 3, B at 4, C at sqrt(9+64) = 8.544
    cm = costs.euclidean([[0, 0], [3, 0]], [[0, 0], [3, 4], [6, 8]], max_cost=5)
    assert cm.shape == (2, 3)
    np.testing.assert_array_equal(cm.to_dense(), [[0, 5, INF], [3, 4, INF]])
    assert cm.nnz == 4  # the zero-cost pair is a pair


def test_euclidean_cutoff_just_below_excludes_boundary():
    cm = costs.euclidean([[0, 0]], [[3, 4]], max_cost=4.999999)
    assert cm.nnz == 0 and cm.shape == (1, 1)


def test_euclidean_matches_brute_force_on_random_points():
    rng = np.random.default_rng(7)
    o, d = rng.uniform(0, 5000, (300, 2)), rng.uniform(0, 5000, (120, 2))
    full = brute_force(o, d)
    cm = costs.euclidean(o, d, 800)
    expected = np.where(full <= 800, full, INF)
    np.testing.assert_allclose(cm.to_dense(), expected, rtol=1e-12)
    assert cm.nnz == (full <= 800).sum()


def test_euclidean_empty_and_infinite_cutoff():
    assert costs.euclidean(np.empty((0, 2)), [[1, 1]], 10).shape == (0, 1)
    cm = costs.euclidean([[0, 0]], [[3, 4], [600, 800]], np.inf)
    np.testing.assert_array_equal(cm.to_dense(), [[5, 1000]])


@pytest.mark.parametrize("kwargs, word", [
    ({"origins": [[0, 0, 0]]}, "origins"),
    ({"destinations": [[np.nan, 0]]}, "destinations"),
    ({"max_cost": 0}, "max_cost"),
    ({"max_cost": -5}, "max_cost"),
    ({"max_cost": "far"}, "max_cost"),
])
def test_euclidean_bad_input(kwargs, word):
    args = {"origins": [[0, 0]], "destinations": [[1, 1]], "max_cost": 10, **kwargs}
    with pytest.raises(InputError, match=word):
        costs.euclidean(**args)


# --- CostMatrix ----------------------------------------------------------------------

def test_cost_matrix_sorts_and_keeps_zero_costs():
    cm = CostMatrix((2, 3), row=[1, 0, 0], col=[0, 2, 1], cost=[0.0, 7.0, 0.0])
    assert cm.row.tolist() == [0, 0, 1] and cm.col.tolist() == [1, 2, 0]
    assert cm.cost.tolist() == [0.0, 7.0, 0.0]
    np.testing.assert_array_equal(cm.to_dense(), [[INF, 0, 7], [0, INF, INF]])
    csr = cm.to_csr()
    assert csr.nnz == 3                      # explicit zeros are stored entries
    assert csr.indptr.tolist() == [0, 2, 3]
    with pytest.raises(ValueError):
        cm.cost[0] = 1.0                     # read-only


@pytest.mark.parametrize("row, col, cost, word", [
    ([0, 0], [1, 1], [1.0, 2.0], "duplicate"),
    ([0], [3], [1.0], "outside"),
    ([0], [0], [-1.0], "negative"),
    ([0], [0], [np.nan], "NaN"),
    ([0], [0], [np.inf], "infinite"),
    ([0, 1], [0], [1.0], "lengths"),
])
def test_cost_matrix_rejects_bad_triplets(row, col, cost, word):
    with pytest.raises(InputError, match=word):
        CostMatrix((2, 3), row, col, cost)


def test_within_is_inclusive():
    cm = CostMatrix((1, 3), [0, 0, 0], [0, 1, 2], [0.0, 5.0, 5.000001])
    assert cm.within(5).col.tolist() == [0, 1]


def test_as_cost_dense_roundtrip_and_cutoff():
    dense = np.array([[0.0, 2.0, INF], [1.5, INF, 9.0]])
    cm = as_cost(dense)
    np.testing.assert_array_equal(cm.to_dense(), dense)
    assert as_cost(dense, max_cost=2).to_dense().tolist() == [[0, 2, INF], [1.5, INF, INF]]
    assert as_cost(cm) is cm


@pytest.mark.parametrize("bad, word", [
    (np.array([[1.0, -1.0]]), "negative"),
    (np.array([[1.0, np.nan]]), "NaN"),
    (np.array([1.0, 2.0]), "2-dimensional"),
])
def test_as_cost_rejects_bad_dense(bad, word):
    with pytest.raises(InputError, match=word):
        as_cost(bad)


def test_as_cost_rejects_scipy_sparse_and_wrong_shape():
    from scipy import sparse
    with pytest.raises(InputError, match="zero cost"):
        as_cost(sparse.csr_matrix(np.eye(2)))
    with pytest.raises(InputError, match=r"shape \(2, 2\), expected \(3, 2\)"):
        as_cost(np.ones((2, 2)), shape=(3, 2))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(float, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
                  elements=st.one_of(st.just(INF), st.just(0.0),
                                     st.floats(0, 1e4, allow_nan=False))))
def test_dense_roundtrip_property(dense):
    cm = as_cost(dense)
    np.testing.assert_array_equal(cm.to_dense(), dense)
    assert cm.nnz == np.isfinite(dense).sum()


# --- OD tables -----------------------------------------------------------------------

def od_frame():
    return pd.DataFrame({"origin_id": ["z1", "z2", "z1"], "destination_id": ["f2", "f1", "f1"],
                         "cost": [12.0, 0.0, 3.5]})


def test_from_od_table_orders_rows_by_given_ids():
    cm = costs.from_od_table(od_frame(), ["z2", "z1", "z3"], ["f1", "f2"])
    np.testing.assert_array_equal(cm.to_dense(), [[0, INF], [3.5, 12], [INF, INF]])
    cut = costs.from_od_table(od_frame(), ["z1", "z2"], ["f1", "f2"], max_cost=10)
    np.testing.assert_array_equal(cut.to_dense(), [[3.5, INF], [0, INF]])


def test_from_od_table_infinite_cost_is_unreachable():
    df = od_frame().assign(cost=[INF, 1.0, 2.0])
    assert costs.from_od_table(df, ["z1", "z2"], ["f1", "f2"]).nnz == 2


def test_from_od_table_custom_columns():
    df = od_frame().rename(columns={"origin_id": "o", "destination_id": "d", "cost": "min"})
    cm = costs.from_od_table(df, ["z1", "z2"], ["f1", "f2"], origin_col="o",
                             destination_col="d", cost_col="min")
    assert cm.nnz == 3


@pytest.mark.parametrize("mutate, error, word", [
    (lambda df: df.assign(origin_id=["z1", "z9", "z1"]), UnknownIdError, "z9"),
    (lambda df: df.assign(destination_id=["f2", "fX", "f1"]), UnknownIdError, "fX"),
    (lambda df: df.assign(destination_id=["f1", "f1", "f1"]), InputError, "duplicate"),
    (lambda df: df.assign(cost=[1.0, -2.0, 3.0]), InputError, "negative"),
    (lambda df: df.assign(cost=[1.0, None, 3.0]), InputError, "NaN"),
    (lambda df: df.drop(columns="cost"), InputError, "cost"),
])
def test_from_od_table_errors(mutate, error, word):
    with pytest.raises(error, match=word):
        costs.from_od_table(mutate(od_frame()), ["z1", "z2"], ["f1", "f2"])


def test_from_od_table_duplicate_ids_in_order_list():
    with pytest.raises(InputError, match="origin_ids has duplicate"):
        costs.from_od_table(od_frame(), ["z1", "z1", "z2"], ["f1", "f2"])


# --- travel time -----------------------------------------------------------------------

def test_travel_time_by_mode():
    # 4.5 km/h = 75 m/min; 3 km/h = 50 m/min; 15 km/h = 250 m/min; 25 km/h = 416.67 m/min
    np.testing.assert_allclose(costs.travel_time([[750.0, INF]]), [[10.0, INF]])
    np.testing.assert_allclose(costs.travel_time(np.array([750.0]), "walk_elderly"), [15.0])
    np.testing.assert_allclose(costs.travel_time(np.array([750.0]), "bike"), [3.0])
    np.testing.assert_allclose(costs.travel_time(np.array([1250.0]), "car"), [3.0])
    np.testing.assert_allclose(costs.travel_time(np.array([750.0]), "transit"), [3.0])
    np.testing.assert_allclose(costs.travel_time(np.array([1000.0]), speed_kmh=6), [10.0])


def test_travel_time_keeps_cost_matrix_pairs():
    cm = CostMatrix((1, 2), [0, 0], [0, 1], [0.0, 150.0])
    tt = costs.travel_time(cm, "walk")
    assert isinstance(tt, CostMatrix) and tt.cost.tolist() == [0.0, 2.0]


@pytest.mark.parametrize("kwargs, word", [
    ({"mode": "teleport"}, "teleport"),
    ({"speed_kmh": 0}, "speed_kmh"),
    ({"mode": "walk", "speed_kmh": 5}, "not both"),
])
def test_travel_time_errors(kwargs, word):
    with pytest.raises(InputError, match=word):
        costs.travel_time(np.array([1.0]), **kwargs)
