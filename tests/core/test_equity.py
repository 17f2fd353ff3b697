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


def test_equity_of_access_rows_by_hand():
    """Zone accessibility rows: weights are the demand; zones without demand or value drop out.
    access (0, 50, 0) for 40, 60, 20 people: W = 120, mu = 25, Gini = 2 (40·60 + 20·60) 50
    / (2 · 120² · 25) = 0.5; Theil T = (60/120)(2 ln 2) = ln 2."""
    import pandas as pd
    from welfare_core.benchmark import equity_of_access
    from welfare_core.errors import UnknownIdError
    rows = pd.DataFrame({"zone_id": ["N1", "N2", "N3", "N4", "N1"],
                         "target_id": ["t", "t", "t", "t", "u"],
                         "demand": [40.0, 60.0, 0.0, 20.0, 10.0],
                         "access": [0.0, 50.0, None, 0.0, 3.0],
                         "nearest_cost": [2000.0, 0.0, None, 2000.0, 5.0],
                         "share_within": [0.0, 1.0, None, 0.0, 1.0]})
    out = equity_of_access(rows, {"N1": "D1", "N2": "D1", "N4": "D2"}, targets=["t"])
    got = out.set_index("measure")
    assert set(got["indicator"]) == {"t:access"}
    assert got.loc["gini", "value"] == pytest.approx(0.5, rel=1e-12)
    assert got.loc["theil_t", "value"] == pytest.approx(math.log(2), rel=1e-12)
    assert got.loc["theil_between", "value"] == pytest.approx(math.log(1.2), rel=1e-12)
    assert (got.loc["gini", "zones"], got.loc["gini", "weight_total"],
            got.loc["gini", "mean"]) == (3, 120.0, 25.0)
    cost = equity_of_access(rows, column="nearest_cost").set_index(["indicator", "measure"])
    assert cost.loc[("t:nearest_cost", "gini"), "value"] == pytest.approx(0.5, rel=1e-12)
    assert cost.loc[("u:nearest_cost", "gini"), "value"] == 0.0
    with pytest.raises(InputError, match="coverage_per_100"):
        equity_of_access(rows, column="coverage_per_100")
    with pytest.raises(UnknownIdError, match="nope"):
        equity_of_access(rows, targets=["nope"])
