"""Composite indices checked against hand-worked numbers from the published definitions.

SVI fixture (5 zones a..e), worked by hand:
  A (high_is_bad, theme T1)  10 20 20 30 40 -> ranks 1 2 2 4 5 -> p = 0 .25 .25 .75 1
  B (high_is_good, theme T2)  5  5  1  3  2 -> oriented -B ranks 1 1 5 3 4 -> p = 0 0 1 .5 .75
  C (high_is_bad, theme T2)   1  2  3  4  5 -> p = 0 .25 .5 .75 1
  T1 sums 0 .25 .25 .75 1 -> theme pct 0 .25 .25 .75 1
  T2 sums 0 .25 1.5 1.25 1.75 -> ranks 1 2 4 3 5 -> theme pct 0 .25 .75 .5 1
  overall 0 .5 1.75 2 2.75 -> SVI 0 .25 .5 .75 1; flags (p >= .9): 0 0 1 0 2
"""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fixtures import tiny_city as tc
from welfare_core import composite as cx
from welfare_core.errors import InputError, UnknownIdError
from welfare_core.indicators import zone_indicators

REF = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "esda_reference.json")
                 .read_text())
ZONES = list("abcde")


def svi_fixture():
    values = pd.DataFrame({"zone_id": ZONES, "A": [10, 20, 20, 30, 40.0],
                           "B": [5, 5, 1, 3, 2.0], "C": [1, 2, 3, 4, 5.0]})
    comps = [cx.Component("A", "high_is_bad", "T1"), cx.Component("B", "high_is_good", "T2"),
             cx.Component("C", "high_is_bad", "T2")]
    return values, comps


def by_zone(frame, component, column):
    rows = frame[frame["component"] == component].set_index("zone_id")
    return [rows.loc[z, column] for z in ZONES]


def test_svi_percentile_ranks_ties_themes_and_flags():
    values, comps = svi_fixture()
    r = cx.composite_index(values, comps, method="svi")
    assert r.index["score"].tolist() == pytest.approx([0, .25, .5, .75, 1])
    assert r.index["flags"].tolist() == [0, 0, 1, 0, 2]
    c = r.contributions
    assert by_zone(c, "A", "score") == pytest.approx([0, .25, .25, .75, 1])  # tie at minimum
    assert by_zone(c, "B", "score") == pytest.approx([0, 0, 1, .5, .75])
    assert by_zone(c, "B", "theme_sum") == pytest.approx([0, .25, 1.5, 1.25, 1.75])
    assert by_zone(c, "C", "theme_pct_rank") == pytest.approx([0, .25, .75, .5, 1])
    assert by_zone(c, "A", "theme_pct_rank") == pytest.approx([0, .25, .25, .75, 1])
    assert by_zone(c, "C", "flag") == [False, False, False, False, True]
    # contributions: each component's points of the overall sum; shares add to 1
    e = c[c["zone_id"] == "e"].set_index("component")
    assert e["contribution"].tolist() == pytest.approx([1, .75, 1])
    assert e["share"].sum() == pytest.approx(1.0)


def test_polarity_is_separate_from_the_index_direction():
    values, comps = svi_fixture()
    bad = cx.composite_index(values, comps, method="svi")
    good = cx.composite_index(values, comps, method="svi", direction="high_is_good")
    # a well-being index reads every component the other way round (by hand):
    # -A pct 1 .5 .5 .25 0; B pct .75 .75 0 .5 .25; -C pct 1 .75 .5 .25 0
    # totals 2.75 2 1 1 .25 -> ranks 5 4 2 2 1 -> 1 .75 .25 .25 0 (ties: not a mirror image)
    assert good.index["score"].tolist() == pytest.approx([1, .75, .25, .25, 0])
    assert bad.index["rank"].tolist() == [1, 2, 3, 4, 5]


def test_imd_transform_endpoints_and_top_decile():
    assert cx.imd_transform(0.0) == pytest.approx(0.0, abs=1e-12)
    assert cx.imd_transform(1.0) == pytest.approx(100.0, abs=1e-9)
    # the transform stretches the most deprived tenth over 50-100 (published design)
    assert 50 < cx.imd_transform(0.9) < 51
    assert cx.imd_transform(0.5) < 16  # the least deprived half shares 0 - 15.6


def test_imd_ranks_weights_and_contributions():
    values = pd.DataFrame({"zone_id": list("abcd"), "inc": [1, 2, 3, 4.0],
                           "edu": [40, 30, 20, 10.0]})
    comps = [cx.Component("inc", "high_is_bad", weight=3),
             cx.Component("edu", "high_is_good", weight=1)]
    r = cx.composite_index(values, comps, method="imd")
    # zone d is the most deprived on both: R = 4/4 -> X = 100 on both -> IMD 100
    d = r.index.set_index("zone_id").loc["d"]
    assert d["score"] == pytest.approx(100.0) and d["rank"] == 4
    # zone a: R = 1/4 on both -> X(.25) weighted .75 + .25 = X(.25)
    a = r.index.set_index("zone_id").loc["a"]
    assert a["score"] == pytest.approx(-23 * math.log(1 - .25 * (1 - math.exp(-100 / 23))))
    ca = r.contributions[r.contributions["zone_id"] == "a"].set_index("component")
    assert ca.loc["inc", "contribution"] == pytest.approx(.75 * a["score"])
    assert ca["share"].tolist() == pytest.approx([.75, .25])


def test_ampi_reference_unit_is_100_and_hand_values():
    values = pd.DataFrame({"zone_id": list("xyz"), "x1": [10, 20, 30.0], "x2": [3, 1, 2.0]})
    comps = [cx.Component("x1", "high_is_bad"), cx.Component("x2", "high_is_good")]
    r = cx.composite_index(values, comps, method="ampi", reference="y").index.set_index("zone_id")
    assert r.loc["y", "score"] == pytest.approx(100.0, abs=1e-12)
    assert r.loc["y", "penalty"] == pytest.approx(0.0, abs=1e-12)
    # zone x: r1 = 100 + (10-20)/20·60 = 70, r2 = 100 - (3-1)/2·60 = 40
    # M = 55, S = 15, penalty S·S/M = 225/55; vulnerability index: M + penalty
    assert r.loc["x", "mean"] == pytest.approx(55.0)
    assert r.loc["x", "score"] == pytest.approx(55 + 225 / 55)
    # a well-being index (AMPI-): r1 = 130, r2 = 160, M = 145, AMPI- = 145 - 225/145
    g = cx.composite_index(values, comps, method="ampi", reference="y",
                           direction="high_is_good").index.set_index("zone_id")
    assert g.loc["x", "score"] == pytest.approx(145 - 225 / 145)
    # the mean zone as reference: a zone at the mean of every component scores 100
    mean_ref = cx.composite_index(
        pd.DataFrame({"zone_id": list("pqr"), "u": [1, 2, 3.0], "v": [7, 5, 3.0]}),
        ["u", "v"], method="ampi").index.set_index("zone_id")
    assert mean_ref.loc["q", "score"] == pytest.approx(100.0, abs=1e-12)


def test_missing_components_are_null_with_a_reason_and_left_out_of_ranks():
    values, comps = svi_fixture()
    values.loc[1, "B"] = np.nan
    r = cx.composite_index(values, comps, method="svi").index.set_index("zone_id")
    assert math.isnan(r.loc["b", "score"]) and r.loc["b", "null_reason"] == \
        "missing component(s): B"
    # re-ranked over a c d e: A pct 0 1/3 2/3 1; -B 0 1 1/3 2/3; C 0 1/3 2/3 1
    # totals 0 5/3 5/3 8/3 -> ranks 1 2 2 4
    assert r["score"].dropna().tolist() == pytest.approx([0, 1 / 3, 1 / 3, 1])


def test_errors_name_the_input():
    values, comps = svi_fixture()
    with pytest.raises(UnknownIdError, match="not columns"):
        cx.composite_index(values, ["nope"])
    with pytest.raises(InputError, match="polarity"):
        cx.Component("A", "bad")
    with pytest.raises(InputError, match="method"):
        cx.composite_index(values, comps, method="pca")
    with pytest.raises(InputError, match="same value"):
        cx.composite_index(values.assign(C=1.0), comps, method="ampi")
    with pytest.raises(UnknownIdError, match="reference zone"):
        cx.composite_index(values, comps, method="ampi", reference="zz")


def test_empirical_bayes_equals_esda_and_shrinks_small_zones():
    c = REF["empirical_bayes"]
    assert cx.eb_rates(c["events"], c["base"]) == pytest.approx(c["rates"], rel=1e-9)
    # a zone of 40 people with 4 cases (10 %) among zones at 1 %: pulled towards 1 %
    events = np.array([4, 10, 20, 30, 40.0])
    base = np.array([40, 1000, 2000, 3000, 4000.0])
    s = cx.eb_rates(events, base)
    assert s[0] < events[0] / base[0] and s[0] > 0.01
    assert s[4] == pytest.approx(0.01, rel=0.05)


def test_poisson_interval_garwood_closed_forms():
    # 2 degrees of freedom: chi2.ppf(q, 2) / 2 = -ln(1 - q)
    lo, hi = cx.poisson_interval([0, 1])
    assert lo[0] == 0 and hi[0] == pytest.approx(-math.log(0.025))
    assert lo[1] == pytest.approx(-math.log(0.975))
    assert hi[1] == pytest.approx(5.5716, abs=1e-4)  # published Garwood table
    lo, hi = cx.poisson_interval([1], [100])
    assert lo[0] == pytest.approx(-math.log(0.975) / 100)


def test_components_from_tiny_city_indicators_and_the_population_floor():
    rows, _ = zone_indicators(tc.tables(), "neighbourhood", 2023)
    values, comps, pop = cx.components_from_indicators(
        rows, ["pop_65plus", "pop_0_2:coverage_per_100"])
    assert values["zone_id"].tolist() == ["015146-N1", "015146-N2", "015146-N3", "015146-N4"]
    # 65+ per 100 residents: 300/1340, 100/1160, 0/1000, 200/1220
    assert values["pop_65plus"].tolist() == pytest.approx(
        [30000 / 1340, 10000 / 1160, 0, 20000 / 1220])
    assert [c.polarity for c in comps] == ["high_is_bad", "high_is_good"]  # coverage flips
    assert pop.tolist() == [1340, 1160, 1000, 1220]
    r = cx.composite_index(values, comps, method="svi")
    pub = cx.publish_composite(r, pop, min_population=1100)
    hidden = pub.index.set_index("zone_id").loc["015146-N3"]
    assert not hidden["published"] and pd.isna(hidden["score"])
    assert "1100 residents" in hidden["null_reason"]
    assert pub.contributions.loc[pub.contributions["zone_id"] == "015146-N3", "score"] \
        .isna().all()
    assert cx.min_population_of(None, {"composite_min_population": "250"}) == 250
    assert cx.min_population_of(None, {}) == cx.MIN_POPULATION


def test_smoothing_option_replaces_incidence_by_eb_rate():
    rows, _ = zone_indicators(tc.tables(), "neighbourhood", 2023)
    raw, _, _ = cx.components_from_indicators(rows, ["pop_65plus"])
    smooth, _, _ = cx.components_from_indicators(rows, ["pop_65plus"], smooth=True)
    city = 600 / 4720 * 100
    # every smoothed rate lies between the raw rate and the city rate
    for r, s in zip(raw["pop_65plus"], smooth["pop_65plus"]):
        assert min(r, city) - 1e-9 <= s <= max(r, city) + 1e-9
