"""Published scenario comparisons: the Shapley parts of a demand change are counts too.

Controlled rounding (privacy.controlled_round_parts) and publish_comparison,
checked on numbers worked out by hand in the comments.
"""
import math

import numpy as np
import pandas as pd
import pytest

from welfare_core.errors import InputError
from welfare_core.privacy import DEFAULT, Rules, controlled_round_parts
from welfare_core.scenario_compare import COMPARE_COLUMNS, publish_comparison

NAN = float("nan")


def test_controlled_rounding_by_hand():
    total = [15, 5, 0, -5, 10, 0, NAN, 20]
    parts = np.array([
        [6.2, 3.1, 3.1],    # /5 = 1.24 .62 .62: floors 1 0 0, 2 units left -> the two .62
        [0.4, 0.0, 0.0],    # floors 0: the unit goes to the only part that acted
        [5.1, 0.0, 0.0],    # floor 1, total 0: it gives the unit back; zeros stay zero
        [-0.2, -3.1, -2.2],  # -.04 -.62 -.44: floors -1 -1 -1, 2 units back to .96 and .56
        [3.3, 3.3, 3.4],    # .66 .66 .68: floors 0, 2 units -> .68 then the first .66
        [0.0, 0.0, 0.0],
        [1.0, 2.0, 3.0],    # hidden total: hidden parts
        [4.0, NAN, 1.0],    # a part undefined: nothing to publish
    ])
    got = controlled_round_parts(total, parts, 5)
    want = [[5, 5, 5], [5, 0, 0], [0, 0, 0], [0, -5, 0], [5, 0, 5], [0, 0, 0]]
    np.testing.assert_array_equal(got[:6], want)
    assert np.isnan(got[6:]).all()


def test_controlled_rounding_residual_larger_than_the_parts():
    # total 30 = 6 units; parts 1, 1 (/5 = .2 .2, floors 0): every part gets 6 // 2 = 3 first
    np.testing.assert_array_equal(controlled_round_parts([30], [[1.0, 1.0]], 5), [[15, 15]])
    # total -10, parts (-1, 0): only the acting part moves
    np.testing.assert_array_equal(controlled_round_parts([-10], [[-1.0, 0.0]], 5), [[-10, 0]])


def test_controlled_rounding_sums_exactly_on_random_parts():
    rng = np.random.default_rng(7)
    parts = rng.normal(0, 40, (500, 3)) * (rng.random((500, 3)) < 0.7)
    # a published total within one base of the raw sum, as a difference of rounded counts is
    raw = parts.sum(axis=1)
    total = 5 * (np.round(raw / 5) + rng.integers(-1, 2, 500))
    got = controlled_round_parts(total, parts, 5)
    np.testing.assert_array_equal(got.sum(axis=1), total)
    np.testing.assert_array_equal(got % 5, 0)
    # a factor that did not act (part exactly 0) gets nothing, unless none acted
    idle = (parts == 0) & ~(parts == 0).all(axis=1)[:, None]
    assert idle.any() and (got[idle] == 0).all()
    # never more than two bases away from the unrounded part
    assert np.abs(got - parts).max() < 10


def test_controlled_rounding_rejects_unrounded_totals():
    with pytest.raises(InputError, match="multiples of 5"):
        controlled_round_parts([12.0], [[12.0, 0.0, 0.0]], 5)


def comparison(rows):
    """A comparison frame from (zone, target, measure, base, scenario, D, S, C) rows."""
    out = []
    for z, t, m, a, b, d, s, c in rows:
        out.append(dict(zone_id=z, level="neighbourhood", parent_id="D", period=2023,
                        target_id=t, measure=m, base=a, scenario=b, change=b - a,
                        change_pct=NAN, direction="none", demand_effect=d, supply_effect=s,
                        catchment_effect=c, null_reason=None))
    return pd.DataFrame(out, columns=list(COMPARE_COLUMNS))


ROWS = [
    # demand: base 103.4 -> 103 -> 105; scenario 118.2 -> 118 -> 120; change 15
    ("A", "t", "demand", 103.4, 118.2, 14.8, 0.0, 0.0),
    # 52 -> 50; 64.4 -> 64 -> 65; change 15; parts /5 = 1.24 .62 .62 -> 5 5 5
    ("B", "t", "demand", 52.0, 64.4, 6.2, 3.1, 3.1),
    # base 5 is suppressed: change and parts hidden
    ("C", "t", "demand", 5.0, 20.0, 15.0, 0.0, 0.0),
    # 40 -> 40; 36.6 -> 37 -> 35; change -5; part -3.4 -> -.68: floor -1 -> -5
    ("D", "t", "demand", 40.0, 36.6, -3.4, 0.0, 0.0),
    # 12.4 -> 12 -> 10 both: change 0, parts 0
    ("E", "t", "demand", 12.4, 12.4, 0.0, 0.0, 0.0),
    # access is a rate over demand: shown over A's demand, hidden over C's (5 < 20)
    ("A", "t", "access", 2.0, 3.5, 0.25, 1.0, 0.25),
    ("C", "t", "access", 2.0, 3.5, 0.25, 1.0, 0.25),
    # supply is capacity: shown as it is
    ("C", "t", "supply", 12.0, 14.5, 0.0, 2.5, 0.0),
]
EFFECTS = ["demand_effect_pub", "supply_effect_pub", "catchment_effect_pub"]


def test_published_demand_parts_by_hand():
    pub = publish_comparison(comparison(ROWS), DEFAULT, level="neighbourhood",
                             on_published=comparison(ROWS))
    dem = pub.iloc[:5]
    np.testing.assert_array_equal(dem["base_pub"], [105, 50, NAN, 40, 10])
    np.testing.assert_array_equal(dem["scenario_pub"], [120, 65, 20, 35, 10])
    np.testing.assert_array_equal(dem["change_pub"], [15, 15, NAN, -5, 0])
    np.testing.assert_array_equal(dem[EFFECTS].to_numpy(),
                                  [[15, 0, 0], [5, 5, 5], [NAN] * 3, [-5, 0, 0], [0, 0, 0]])
    shown = dem["change_pub"].notna()
    # parts sum exactly to the published change; no unrounded count, none in 1-7
    np.testing.assert_array_equal(dem.loc[shown, EFFECTS].sum(axis=1), dem.loc[shown, "change_pub"])
    values = dem[["base_pub", "scenario_pub"]].to_numpy().ravel()
    values = values[~np.isnan(values)]
    assert not ((values >= 1) & (values <= 7)).any()
    counts = dem[["base_pub", "scenario_pub", "change_pub", *EFFECTS]].to_numpy().ravel()
    counts = counts[~np.isnan(counts)]
    np.testing.assert_array_equal(counts % 5, 0)


# the same comparison computed on published demand: the access of A differs
ON_PUBLISHED = [r if r[2] != "access" or r[0] != "A" else ("A", "t", "access", 2.1, 3.5,
                                                            0.2, 1.0, 0.2) for r in ROWS]


def test_published_parts_of_rates_and_capacity():
    pub = publish_comparison(comparison(ROWS), DEFAULT, level="neighbourhood",
                             on_published=comparison(ON_PUBLISHED))
    # rates and their parts come from the comparison on published demand, never the raw one
    assert (pub.loc[5, "base_pub"], pub.loc[5, "scenario_pub"]) == (2.1, 3.5)
    assert math.isclose(pub.loc[5, "change_pub"], 1.4)
    assert math.isclose(pub.loc[5, "change_pct_pub"], 1.4 / 2.1 * 100)
    np.testing.assert_array_equal(pub.loc[5, EFFECTS].to_numpy(float), [0.2, 1.0, 0.2])
    assert np.isnan(pub.loc[6, EFFECTS].to_numpy(float)).all()  # C's demand 5 < 20
    np.testing.assert_array_equal(pub.loc[7, EFFECTS].to_numpy(float), [0.0, 2.5, 0.0])
    with pytest.raises(InputError, match="on_published"):
        publish_comparison(comparison(ROWS), DEFAULT, level="neighbourhood")


def test_sensitive_targets_use_the_stricter_rounding():
    rules = Rules(sensitive_round_to=10)
    frame = comparison([("B", "s", "demand", 52.0, 64.4, 6.2, 3.1, 3.1)])
    pub = publish_comparison(frame, rules, sensitive=["s"], level="district")
    # 52 -> 50; 64 -> 6.4 + .5 -> 6 -> 60; change 10; parts /10 = .62 .31 .31 -> 10 0 0
    assert (pub.loc[0, "base_pub"], pub.loc[0, "scenario_pub"]) == (50, 60)
    np.testing.assert_array_equal(pub.loc[0, EFFECTS].to_numpy(float), [10, 0, 0])
    assert math.isclose(pub.loc[0, "change_pub"], 10) and bool(pub.loc[0, "published"])
