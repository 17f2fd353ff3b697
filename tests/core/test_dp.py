"""Differential privacy: discrete Laplace noise through OpenDP, checked against the
closed form of the distribution on a large sample (OpenDP's generator is a CSPRNG:
no seed, so the tolerances are several standard errors wide)."""
import math

import numpy as np
import pytest

from welfare_core.errors import InputError
from welfare_core.privacy import dp_counts

pytest.importorskip("opendp")

N = 100_000


def laplace_moments(scale):
    """Discrete Laplace P(k) = (1 - q) / (1 + q) q^|k|, q = exp(-1/scale)."""
    q = math.exp(-1.0 / scale)
    return 2 * q / (1 - q) ** 2, (1 - q) / (1 + q)  # variance, P(0)


@pytest.mark.parametrize("epsilon,sensitivity", [(1.0, 1), (0.5, 1), (1.0, 2)])
def test_noise_has_the_discrete_laplace_distribution(epsilon, sensitivity):
    counts = np.full(N, 1000)
    noise = dp_counts(counts, epsilon, sensitivity=sensitivity, clamp_zero=False) - 1000
    assert noise.dtype.kind == "i"
    var, p0 = laplace_moments(sensitivity / epsilon)
    assert abs(noise.mean()) < 5 * math.sqrt(var / N)
    # variance of the sample variance: (mu4 - var^2) / N, mu4 <= 6 var^2 + var for Laplace-like tails
    assert abs(noise.var() - var) < 5 * math.sqrt((6 * var ** 2 + var) / N)
    assert abs((noise == 0).mean() - p0) < 5 * math.sqrt(p0 * (1 - p0) / N)
    assert abs(np.median(noise)) <= 1


def test_smaller_epsilon_is_noisier_and_zero_clamp_is_post_processing():
    a = dp_counts(np.zeros(N, dtype=int), 2.0)
    assert (a >= 0).all()
    # clamped at 0: P(out = 0) = P(noise <= 0) = (1 + P(0)) / 2 for the symmetric noise
    _, p0 = laplace_moments(0.5)
    assert abs((a == 0).mean() - (1 + p0) / 2) < 5 * math.sqrt(0.25 / N)
    wide = dp_counts(np.full(N, 500), 0.1, clamp_zero=False)
    assert abs(wide.var() - laplace_moments(10.0)[0]) < 0.05 * laplace_moments(10.0)[0]


@pytest.mark.parametrize("counts,epsilon,kw,fragment", [
    ([1, 2], 0, {}, "epsilon"), ([1, 2], -1, {}, "epsilon"), ([1, 2], float("nan"), {}, "epsilon"),
    ([1, 2], 1000, {}, "epsilon"), ([1, 2], "1", {}, "epsilon"),
    ([1.5], 1, {}, "whole numbers"), ([-1], 1, {}, "whole numbers"), ([float("nan")], 1, {}, "whole"),
    ([[1, 2]], 1, {}, "one-dimensional"), ([1], 1, {"sensitivity": 0}, "sensitivity"),
    ([1], 1, {"sensitivity": 1.5}, "sensitivity"),
])
def test_bad_input_is_refused_clearly(counts, epsilon, kw, fragment):
    with pytest.raises(InputError, match=fragment):
        dp_counts(counts, epsilon, **kw)


def test_empty_input_gives_empty_output():
    assert dp_counts([], 1.0).shape == (0,)
