"""Distance-decay functions: hand-worked values, inclusive step bounds, bad parameters."""
import math

import numpy as np
import pytest

from welfare_core import decay
from welfare_core.errors import InputError

INF = np.inf


def test_step_bounds_are_inclusive_and_zero_beyond():
    f = decay.step({10: 1.0, 20: 0.68, 30: 0.22})
    costs = np.array([0, 10, 10.5, 20, 29.9, 30, 30.1, INF])
    np.testing.assert_array_equal(f(costs), [1, 1, 0.68, 0.68, 0.22, 0.22, 0, 0])


def test_step_unsorted_keys_and_shape_preserved():
    f = decay.step({30: 0.22, 10: 1.0, 20: 0.68})
    out = f(np.array([[5.0, 25.0], [15.0, 35.0]]))
    np.testing.assert_array_equal(out, [[1.0, 0.22], [0.68, 0.0]])


@pytest.mark.parametrize("n_steps", [1, 3, 8, 9, 20])   # > 8 steps: the binary-search path
def test_step_equals_first_bound_at_or_above_on_many_costs(n_steps):
    # reference by definition, one cost at a time: the weight of the first bound >= c
    rng = np.random.default_rng(n_steps)
    bounds = np.sort(rng.choice(np.arange(1, 1000), n_steps, replace=False)).astype(float)
    weights = rng.uniform(0, 1, n_steps)
    f = decay.step(dict(zip(bounds, weights)))
    costs = np.concatenate([rng.uniform(0, 1100, 2000), bounds, np.nextafter(bounds, INF),
                            [0.0, INF]])
    want = np.array([next((w for b, w in zip(bounds, weights) if c <= b), 0.0) for c in costs])
    np.testing.assert_array_equal(f(costs), want)
    # a strided view (e.g. a field of a record array) gives the same numbers
    rec = np.zeros(len(costs), dtype=[("i", np.int64), ("v", np.float64)])
    rec["v"] = costs
    np.testing.assert_array_equal(f(rec["v"]), want)


def test_gaussian_values():
    # exp(-c²/(2σ²)) with σ = 20: c = 20 -> e^-0.5, c = 40 -> e^-2 (PySAL's doc example)
    f = decay.gaussian(20)
    np.testing.assert_allclose(f(np.array([0.0, 20.0, 40.0, INF])),
                               [1.0, math.exp(-0.5), math.exp(-2.0), 0.0], rtol=1e-15)


def test_gravity_values():
    # (max(c, 1)/20) ** -2: c = 0 -> (1/20)^-2 = 400; 2 -> 100; 40 -> 0.25 (PySAL's doc example)
    f = decay.gravity(scale=20, alpha=-2, min_cost=1)
    np.testing.assert_allclose(f(np.array([0.0, 1.0, 2.0, 20.0, 40.0])),
                               [400, 400, 100, 1, 0.25], rtol=1e-15)


def test_gravity_refuses_infinite_weight_at_zero_cost():
    f = decay.gravity()
    np.testing.assert_allclose(f(np.array([2.0, 4.0])), [0.5, 0.25])
    with pytest.raises(InputError, match="min_cost"):
        f(np.array([0.0, 4.0]))
    np.testing.assert_array_equal(decay.gravity(alpha=0)(np.array([0.0])), [1.0])


def test_exponential_and_linear_values():
    np.testing.assert_allclose(decay.exponential(0.1)(np.array([0.0, 10.0])),
                               [1.0, math.exp(-1.0)], rtol=1e-15)
    np.testing.assert_allclose(decay.linear(100)(np.array([0.0, 25.0, 100.0, 150.0, INF])),
                               [1.0, 0.75, 0.0, 0.0, 0.0])


def test_decay_records_its_parameters():
    f = decay.gaussian(sigma=500)
    assert f.name == "gaussian" and f.params == {"sigma": 500.0}
    assert repr(f) == "decay.gaussian(sigma=500.0)"
    assert float(f(0.0)) == 1.0                          # scalars work too


def test_from_name():
    f = decay.from_name("linear", max_cost=10)
    assert f(np.array([5.0])).tolist() == [0.5]
    with pytest.raises(InputError, match="unknown decay 'cubic'"):
        decay.from_name("cubic")
    with pytest.raises(InputError, match="bad parameters"):
        decay.from_name("gaussian", beta=3)


@pytest.mark.parametrize("make, word", [
    (lambda: decay.step({}), "non-empty"),
    (lambda: decay.step([10, 20]), "mapping"),
    (lambda: decay.step({10: -1.0}), "weight must be >= 0"),
    (lambda: decay.step({-5: 1.0}), "bound must be >= 0"),
    (lambda: decay.step({10: np.nan}), "finite"),
    (lambda: decay.gaussian(0), "sigma must be > 0"),
    (lambda: decay.gaussian(-3), "sigma must be > 0"),
    (lambda: decay.gaussian("wide"), "sigma must be a number"),
    (lambda: decay.gravity(scale=0), "scale must be > 0"),
    (lambda: decay.gravity(alpha=2), "alpha must be <= 0"),
    (lambda: decay.gravity(min_cost=-1), "min_cost must be >= 0"),
    (lambda: decay.exponential(-0.1), "beta must be >= 0"),
    (lambda: decay.exponential(INF), "finite"),
    (lambda: decay.linear(0), "max_cost must be > 0"),
])
def test_bad_parameters(make, word):
    with pytest.raises(InputError, match=word):
        make()
