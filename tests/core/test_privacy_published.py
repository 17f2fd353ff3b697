"""Published outputs are functions of the published counts only (issue #9).

The leak: a derived value computed from a raw count gives the count back, e.g.
demand published as 300 next to required = 0.75 × 0.0282 × 301 = 6.36615. The
key property checked here: perturb every raw count WITHIN its rounding bucket
(301 -> 299 or 302.4, all published as 300; a suppressed 1-7 anywhere in 1-7)
and every published row stays IDENTICAL, for the indicators (target rows and
service rows with their accessibility columns), the accessibility driver, the
forecast and the scenario comparison. Then published values worked out by hand
on the tiny city (tests/fixtures/tiny_city.py), and the equity measures on a
published layer with a suppressed count.
"""
import math

import numpy as np
import pandas as pd
import pytest

from fixtures import tiny_city as tc
from welfare_core import scenario as sc
from welfare_core import scenario_compare as cmp
from welfare_core.errors import InputError
from welfare_core.forecast import publish_forecast
from welfare_core.indicators import service_access, zone_indicators
from welfare_core.privacy import (DEFAULT, publish_zone_indicators, safe_counts,
                                  stand_in_counts, with_published_demand)
from welfare_core.zone_access import published_accessibility

N1, N2, N3, N4 = (f"015146-N{k}" for k in range(1, 5))
LEVEL, YEAR = "neighbourhood", 2023
TRIES = 12


def city():
    """The tiny city with N1's 65+ at 301 (the leak of the issue) and N2's children at 6
    (suppressed), N4's alone-65+ households at 9 (published 10, too few for a rate)."""
    t = tc.tables()
    d = t["demand"]
    for zone, target, v in ((N1, "pop_65plus", 301.0), (N2, "pop_0_2", 6.0),
                            (N4, "alone_65plus", 9.0)):
        d.loc[(d.zone_id == zone) & (d.target_id == target), "demand"] = v
    return t


def within_bucket(x, rng, rules=DEFAULT):
    """Random values publishing as ``x`` does (fractional too: demand is an estimate)."""
    x = np.asarray(x, dtype=float)
    want = safe_counts(x, rules)
    out = x.copy()
    for i, v in enumerate(x):
        for _ in range(200):
            # a published 0 is exactly 0; a suppressed count anything in (0, 7.5)
            c = rng.uniform(0.01, rules.suppress_below - 0.51) if np.isnan(want[i]) else \
                max(0.0, v + rng.uniform(-3.0, 3.0)) if v > 0 else 0.0
            if np.array_equal(safe_counts([c], rules), want[i:i + 1], equal_nan=True):
                out[i] = c
                break
    assert np.array_equal(safe_counts(out, rules), want, equal_nan=True)
    return out


def perturbed(t, rng):
    """Every count of the tables moved within its bucket: demand rows, and each zone's
    residents and households (through one row, so the zone total stays in its bucket)."""
    t = {k: v.copy() for k, v in t.items()}
    t["demand"]["demand"] = within_bucket(t["demand"]["demand"], rng)
    pop = t["population"]
    for z, total in pop.groupby("zone_id")["persons"].sum().items():
        i = pop.index[(pop.zone_id == z) & (pop.age == 40)][0]
        pop.loc[i, "persons"] += within_bucket([total], rng)[0] - total
    hh = t["household"]
    hh["households"] = within_bucket(hh["households"], rng)
    return t


def published_indicators(t, level=LEVEL):
    rows, services = zone_indicators(t, level, YEAR, accessibility=True)
    pub_s = publish_zone_indicators(services, level=level,
                                    access=service_access(with_published_demand(t), level, YEAR))
    pub_t = publish_zone_indicators(rows, level=level, services=services,
                                    service_target=t["service_target"])
    return pub_t, pub_s


def frame_equal(a, b):
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_exact=True)


# --- the property: published rows depend on published counts only -----------------

def test_perturbing_raw_counts_within_their_buckets_leaves_indicators_unchanged():
    base_t, base_s = published_indicators(city())
    t_cols = ["zone_id", "target_id", "demand", "reference_population", "incidence_per_100",
              "supply", "coverage_per_100", "required", "gap", "location_quotient",
              "incidence_rank", "incidence_pct_rank", "incidence_z", "coverage_rank",
              "coverage_pct_rank", "coverage_z", "published"]
    s_cols = ["zone_id", "service_type_id", "reference_population", "supply",
              "coverage_per_100", "gap", "coverage_rank", "coverage_pct_rank", "coverage_z",
              "gap_rank", "gap_pct_rank", "gap_z", "access_per_100", "nearest_cost",
              "share_within", "published"]
    rng = np.random.default_rng(9)
    for _ in range(TRIES):
        got_t, got_s = published_indicators(perturbed(city(), rng))
        frame_equal(got_t[t_cols], base_t[t_cols])
        frame_equal(got_s[s_cols], base_s[s_cols])


def test_the_raw_values_did_change_so_the_property_is_not_vacuous():
    rng = np.random.default_rng(9)
    raw, _ = zone_indicators(city(), LEVEL, YEAR)
    moved, _ = zone_indicators(perturbed(city(), rng), LEVEL, YEAR)
    assert not np.allclose(raw["required"], moved["required"], equal_nan=True)
    assert not np.allclose(raw["incidence_per_100"], moved["incidence_per_100"],
                           equal_nan=True)


@pytest.mark.parametrize("service_type, method", [("rsa", "2sfca"), ("nursery", "3sfca"),
                                                  ("rsa", "gravity")])
def test_perturbing_within_buckets_leaves_published_accessibility_unchanged(service_type,
                                                                             method):
    def pub(t):
        out = published_accessibility(t, service_type, YEAR, LEVEL, method=method,
                                      sensitive=["alone_65plus"])
        return out[["zone_id", "target_id", "demand", "access", "nearest_cost",
                    "share_within", "published"]]

    base = pub(city())
    rng = np.random.default_rng(11)
    for _ in range(TRIES):
        frame_equal(pub(perturbed(city(), rng)), base)


def test_perturbing_within_buckets_leaves_published_forecast_unchanged():
    rows = pd.DataFrame({"zone_id": [N1, N2, N3, N4] * 2, "level": LEVEL,
                         "target_id": ["pop_65plus"] * 4 + ["alone_65plus"] * 4,
                         "unit": "persons", "period": 2028, "base_period": YEAR,
                         "demand": [301.2, 6.0, 0.0, 212.6, 118.0, 31.0, 3.0, 9.0],
                         "method": "hamilton_perry", "note": None})
    rows["lower"], rows["upper"] = rows["demand"] * 0.9, rows["demand"] * 1.1
    cols = ["demand_pub", "lower_pub", "upper_pub", "published"]
    base = publish_forecast(rows, sensitive=["alone_65plus"], level=LEVEL)[cols]
    rng = np.random.default_rng(5)
    for _ in range(TRIES):
        r = rows.copy()
        for c in ("demand", "lower", "upper"):
            r[c] = within_bucket(r[c], rng)
        frame_equal(publish_forecast(r, sensitive=["alone_65plus"], level=LEVEL)[cols], base)


def test_perturbing_within_buckets_leaves_published_scenario_unchanged():
    opened = sc.change("open", facility_id="F9", service_type_id="rsa", capacity=8,
                       x=tc.X0 + 2500, y=tc.Y0 + 2500)
    pub_cols = ["zone_id", "target_id", "measure", "published", "base_pub", "scenario_pub",
                "change_pub", "change_pct_pub", "demand_effect_pub", "supply_effect_pub",
                "catchment_effect_pub"]

    def pub(base):
        base = cmp.prepare(base)
        scen = sc.apply(base, [opened])
        out = cmp.published_comparison(base, scen, LEVEL, YEAR,
                                       targets=["pop_65plus", "alone_65plus"])
        return out[pub_cols]

    want = pub(city())
    # the new beds change coverage and access, and the published values are the ones
    # computed on published demand: 65+ access 100 x 0.75 x (12 + 4) / 600 = 2 before,
    # 100 x 0.75 x (12 + 4 + 8) / 600 = 3 after (raw: / 601); N3 has no 65+
    acc = want[(want.measure == "access") & (want.target_id == "pop_65plus")] \
        .sort_values("zone_id")
    np.testing.assert_allclose(acc["base_pub"], [2, 2, np.nan, 2], equal_nan=True)
    np.testing.assert_allclose(acc["scenario_pub"], [3, 3, np.nan, 3], equal_nan=True)
    rng = np.random.default_rng(3)
    for _ in range(4):  # 8 evaluations each, twice: slower than the others
        frame_equal(pub(perturbed(city(), rng)), want)


def test_perturbing_within_buckets_leaves_composite_and_benchmark_unchanged():
    """The stored composite and compare_zones runs read the PUBLISHED indicator values
    (130-comparisons.sql, indicator_run(published=True)): so are functions of the
    published counts only. (On raw rates, a raw incidence beside the rounded reference
    population gives the raw count back: 301 / 1340 x 100 -> 301.)"""
    from welfare_core import benchmark, composite

    def pub(t):
        rows, _ = published_indicators(t)
        rows = rows[rows["published"]]
        values, comps, population = composite.components_from_indicators(
            rows, ["pop_65plus", "pop_0_2", "pop_65plus:coverage_per_100"])
        index = composite.composite_index(values, comps, method="svi").index
        bench = benchmark.benchmark_indicators(rows, None, targets=["pop_65plus", "pop_0_2"],
                                               peers="none")
        return (index.sort_values("zone_id").reset_index(drop=True),
                bench.sort_values(["indicator", "zone_id"]).reset_index(drop=True), population)

    want_index, want_bench, want_pop = pub(city())
    assert want_index["score"].notna().any() and want_bench["value"].notna().any()
    # the composite's inputs are published values: N1's 65+ incidence is 300 / 1340
    rows, _ = published_indicators(city())
    n1 = rows[(rows.zone_id == N1) & (rows.target_id == "pop_65plus")].incidence_per_100
    assert math.isclose(float(n1.iloc[0]), 300 / 1340 * 100)
    rng = np.random.default_rng(13)
    for _ in range(TRIES):
        got_index, got_bench, got_pop = pub(perturbed(city(), rng))
        frame_equal(got_index, want_index)
        frame_equal(got_bench, want_bench)
        np.testing.assert_array_equal(np.asarray(got_pop), np.asarray(want_pop))


def test_published_direction_reads_the_published_change():
    """Raw demand 301 -> 302 is a loss (more demand), but both publish as 300: change 0,
    direction "none"; coverage 3.0 -> 3.5 published is a gain; gap 10 -> 5 a gain; a
    hidden change has no direction; access 2 -> 1.5 a loss."""
    got = cmp.published_direction(["demand", "coverage_per_100", "gap", "demand", "access"],
                                  [300.0, 3.0, 10.0, np.nan, 2.0],
                                  [300.0, 3.5, 5.0, 10.0, 1.5],
                                  [0.0, 0.5, -5.0, np.nan, -0.5])
    assert got.tolist() == ["none", "gain", "gain", None, "loss"]
    comparison = pd.DataFrame({"zone_id": [N1], "target_id": ["pop_65plus"],
                               "measure": ["demand"], "base": [301.0], "scenario": [302.0],
                               "change": [1.0], "direction": ["loss"], "demand_effect": [1.0],
                               "supply_effect": [0.0], "catchment_effect": [0.0]})
    pub = cmp.publish_comparison(comparison, level=LEVEL)
    assert pub.change_pub.tolist() == [0.0] and pub.direction_pub.tolist() == ["none"]


# --- published values by hand ------------------------------------------------------------

def test_published_target_values_by_hand():
    t = city()
    pub, _ = published_indicators(t)
    p = pub.set_index(["zone_id", "target_id"])
    n1 = p.loc[(N1, "pop_65plus")]
    # N1: 301 -> 300; residents 300 + 40 + 1000 = 1340
    assert n1.demand == 300 and n1.reference_population == 1340
    assert math.isclose(n1.incidence_per_100, 300 / 1340 * 100)
    # supply 0.75 x 12 beds = 9; coverage over the PUBLISHED demand
    assert math.isclose(n1.coverage_per_100, 9 / 300 * 100)
    # required from the published 65+ (the rsa's reference): 0.75 x 2.82 / 100 x 300,
    # not the leaky 0.75 x 0.0282 x 301 = 6.36615
    assert math.isclose(n1.required, 6.345) and n1.gap == 0.0
    # LQ: (300 / 1340) / (600 / 4720), totals of published counts (residents
    # 1340 + 1160 + 1000 + 1220 = 4720)
    assert math.isclose(n1.location_quotient, (300 / 1340) / (600 / 4720))
    n4 = p.loc[(N4, "pop_65plus")]
    assert math.isclose(n4.required, 0.75 * 0.0282 * 200)
    assert math.isclose(n4.gap, 0.75 * 0.0282 * 200 - 3)
    # alone 65+ in N1: required 0.25 x 0.0282 x 300 from the published 65+, gap 0
    assert math.isclose(p.loc[(N1, "alone_65plus")].required, 0.25 * 0.0282 * 300)
    # N2's 6 children: everything derived from them is hidden
    n2 = p.loc[(N2, "pop_0_2")]
    assert n2[["demand", "incidence_per_100", "coverage_per_100", "required", "gap",
               "location_quotient", "incidence_rank"]].isna().all()
    # N4's 9 households -> 10: a count, but too few for a rate
    n4a = p.loc[(N4, "alone_65plus")]
    assert n4a.demand == 10 and pd.isna(n4a.incidence_per_100) and pd.isna(
        n4a.coverage_per_100)


def test_published_service_values_by_hand():
    _, pub = published_indicators(city())
    s = pub.set_index(["zone_id", "service_type_id"])
    rsa1 = s.loc[(N1, "rsa")]
    assert rsa1.reference_population == 300
    assert math.isclose(rsa1.coverage_per_100, 12 / 300 * 100) and rsa1.gap == 0.0
    assert math.isclose(s.loc[(N4, "rsa")].gap, 2.82 / 100 * 200 - 4)
    # 2SFCA, every zone within 5000 m of both homes: 100 x 16 beds / 600 published 65+
    # (raw: 100 x 16 / 601 = 2.662)
    for z in (N1, N2, N4):
        assert math.isclose(s.loc[(z, "rsa")].access_per_100, 100 * 16 / 600)
    assert math.isclose(rsa1.nearest_cost, math.hypot(500, 500))
    # nursery: N2's 6 children hidden, so is its access; N1 out of reach, shown as 0
    assert s.loc[(N2, "nursery")][["reference_population", "access_per_100",
                                   "coverage_per_100", "gap"]].isna().all()
    assert s.loc[(N1, "nursery")].access_per_100 == 0 and s.loc[(N1, "nursery")].share_within == 0


def test_stand_in_counts_and_published_demand():
    np.testing.assert_array_equal(stand_in_counts([0, 1, 7, 301, np.nan]),
                                  [0, 4, 4, 300, np.nan])
    t = with_published_demand(city(), sensitive=["pop_0_2"])
    d = t["demand"].set_index(["zone_id", "target_id"])["demand"]
    assert d[(N1, "pop_65plus")] == 300 and d[(N2, "pop_0_2")] == 4


# --- equity on a published layer ---------------------------------------------------------

def test_equity_leaves_out_suppressed_zones_and_says_how_many():
    from welfare_core import benchmark
    from welfare_core.equity import equity_measures
    t = tc.tables()
    d = t["demand"]
    d.loc[(d.zone_id == N2) & (d.target_id == "pop_65plus"), "demand"] = 6.0
    rows, _ = zone_indicators(t, LEVEL, YEAR)
    pub = publish_zone_indicators(rows, level=LEVEL)
    with pytest.raises(InputError, match="weights must be finite"):
        equity_measures([3.0, np.nan], [300.0, np.nan])  # direct call: still refused
    out = benchmark.equity_of_indicators(pub, targets=["pop_65plus"],
                                         column="coverage_per_100").set_index("measure")
    # published zones: N1 coverage 9 / 300 = 3 % (weight 300), N4 3 / 200 = 1.5 % (200);
    # N2 (6: suppressed) left out, N3 (no 65+) has no weight anyway.
    # mean 2.4; Gini = 2 x 300 x 200 x 1.5 / (2 x 500^2 x 2.4) = 0.15
    assert out.loc["gini", "zones"] == 2 and out.loc["gini", "weight_total"] == 500
    assert math.isclose(out.loc["gini", "mean"], 2.4)
    assert math.isclose(out.loc["gini", "value"], 0.15)
    assert out.attrs["left_out"] == {"pop_65plus:coverage_per_100": 1}
