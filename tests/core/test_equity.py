"""Equity measures against numbers worked out by hand."""
import math

import numpy as np
import pytest

from welfare_core import equity as eq
from welfare_core.errors import InputError


def test_gini_equal_is_zero_and_hand_values():
    assert eq.gini([5, 5, 5, 5]) == pytest.approx(0.0, abs=1e-15)
    # one of n holds everything: (n - 1)/n
    assert eq.gini([0, 0, 0, 1]) == pytest.approx(0.75)
    # weights are people: x = (1, 2) with weights (1, 3) is the list 1 2 2 2:
    # Σ|xi - xj| over ordered pairs = 6, n = 4, μ = 7/4 -> 6 / (2 · 16 · 7/4) = 3/28
    assert eq.gini([1, 2], [1, 3]) == pytest.approx(3 / 28)
    assert eq.gini([1, 2, 2, 2]) == pytest.approx(3 / 28)


def test_theil_between_plus_within_is_total():
    # x = (1, 3): μ = 2, T = ½ (½ ln ½ + 3/2 ln 3/2)
    t = eq.theil([1, 3])
    assert t["theil_t"] == pytest.approx(0.5 * (0.5 * math.log(0.5) + 1.5 * math.log(1.5)))
    # groups equal inside: everything is between
    t = eq.theil([1, 1, 3, 3], groups=["a", "a", "b", "b"])
    assert t["theil_within"] == pytest.approx(0.0, abs=1e-15)
    assert t["theil_between"] == pytest.approx(0.5 * (0.5 * math.log(0.5) + 1.5 * math.log(1.5)))
    rng = np.random.default_rng(1)
    x, w = rng.gamma(2.0, 3.0, 200), rng.integers(1, 500, 200)
    g = rng.choice(list("ABCDEFGHI"), 200)
    t = eq.theil(x, w, g)
    assert t["theil_between"] + t["theil_within"] == pytest.approx(t["theil_t"], rel=1e-12)
    assert t["theil_between"] > 0 and t["theil_within"] > 0
    assert eq.theil([0, 0, 4])["theil_t"] == pytest.approx(math.log(3))  # 0 ln 0 = 0


def test_palma_and_p90_p10_by_hand():
    x = np.arange(1, 11, dtype=float)
    assert eq.palma_ratio(x) == pytest.approx(10 / 2.5)  # {10} over {1, 2, 3, 4}
    assert eq.percentile_ratio(x) == pytest.approx(9.0)
    # weighted: 90 % of people at 1, 10 % at 10
    assert eq.palma_ratio([1, 10], [9, 1]) == pytest.approx(10.0)
    # ranked by vulnerability instead: the 10 % least vulnerable over the 40 % most
    vul = np.arange(10, 0, -1)  # zone 1 most vulnerable ... zone 10 least
    assert eq.palma_ratio(x, rank_by=-vul) == pytest.approx(4.0)


def test_concentration_index_by_hand():
    # four zones, equal weights, most vulnerable first; R = .125 .375 .625 .875, μ = 2.5
    # Σ (x - μ)(R - ½) = 1.25 -> CI = 2 · 1.25 / (4 · 2.5) = .25 (the fragile are worse served)
    vul = [4, 3, 2, 1]
    assert eq.concentration_index([1, 2, 3, 4], vul) == pytest.approx(0.25)
    assert eq.concentration_index([4, 3, 2, 1], vul) == pytest.approx(-0.25)
    assert eq.concentration_index([2, 2, 2, 2], vul) == pytest.approx(0.0)
    # weights are people: zone weight 2 equals two zones of weight 1 with the same values
    assert eq.concentration_index([1, 2, 3], [3, 2, 1], [1, 1, 2]) == pytest.approx(
        eq.concentration_index([1, 2, 3, 3], [3, 2, 1, 1]))


def test_equity_measures_frame_and_errors():
    out = eq.equity_measures([1, 2, 3, 4], [1, 1, 1, 1], groups=["a", "a", "b", "b"],
                             vulnerability=[4, 3, 2, 1]).set_index("measure")
    assert list(out.index) == list(eq.MEASURES)
    assert out.loc["concentration_index", "value"] == pytest.approx(0.25)
    assert out.loc["theil_between", "value"] + out.loc["theil_within", "value"] == \
        pytest.approx(out.loc["theil_t", "value"])
    assert out.loc["gini", "zones"] == 4 and out.loc["gini", "mean"] == pytest.approx(2.5)
    none = eq.equity_measures([1, 2, 3]).set_index("measure")
    assert math.isnan(none.loc["concentration_index", "value"])
    assert none.loc["concentration_index", "null_reason"] == "no vulnerability ranking given"
    with pytest.raises(InputError, match="0 or more"):
        eq.gini([-1, 2])
