"""welfare_core.forecast: closed forms, hand computations and brute force.

Expected values are built independently of the vectorised code: stationary
populations (must stay as they are), explicit per-age loops for constant ratios,
sums for raking, a 3-age Leslie model multiplied out by hand, exact lines and
exponentials for the trends.
"""
import numpy as np
import pandas as pd
import pytest

from welfare_core import forecast as fc
from welfare_core import forecast_cc as cc
from welfare_core.demand import person_demand
from welfare_core.errors import InputError, UnknownIdError
from welfare_core.indicators import zone_indicators

A = fc.AGES
RNG = np.random.default_rng(7)


def stationary(scale, decline):
    """A life-table-like stationary pyramid (2, A): the same every year."""
    ages = np.arange(A)
    f = scale * np.exp(-decline * ages) * (1 + (ages < 90))
    return np.vstack([f, f * 0.97])


# --- Hamilton-Perry ------------------------------------------------------------------------

@pytest.mark.parametrize("step", [1, 5])
def test_stationary_population_stays_stationary(step):
    pop = np.stack([stationary(100, 0.01), stationary(40, 0.03), stationary(7, 0.002)])
    proj = fc.hamilton_perry(pop, pop, step, 12, damping=0.0)
    assert proj.shape == (13, 3, 2, A)
    np.testing.assert_allclose(proj, np.broadcast_to(pop, proj.shape), rtol=1e-12)


def test_stationary_with_damping_when_zones_share_a_structure():
    pop = np.stack([stationary(100, 0.01), stationary(3, 0.01)])  # a tiny zone, same ratios
    proj = fc.hamilton_perry(pop, pop, 1, 10, damping=50.0)
    np.testing.assert_allclose(proj[-1], pop, rtol=1e-12)


def brute_force_hp(launch, ccr, cwr, k, steps):
    """Per zone, sex and age: the textbook recursion written as plain loops."""
    p = launch.copy()
    out = [p.copy()]
    for _ in range(steps):
        new = np.zeros_like(p)
        for z in range(p.shape[0]):
            for s in range(2):
                for a in range(k, A - 1):
                    new[z, s, a] = ccr[z, s, a] * p[z, s, a - k]
                new[z, s, A - 1] = ccr[z, s, A - 1] * sum(p[z, s, x] for x in range(A - 1 - k, A))
        for z in range(p.shape[0]):
            women = sum(new[z, 0, a] for a in range(15, 50))
            for s in range(2):
                for a in range(k):
                    new[z, s, a] = cwr[z, s, a] * women
        out.append(new)
        p = new
    return np.array(out)


@pytest.mark.parametrize("k", [1, 5])
def test_constant_known_ratios_are_projected_exactly(k):
    n = 3
    launch = RNG.uniform(5, 50, (n, 2, A))
    ccr = np.ones((n, 2, A)) * RNG.uniform(0.8, 1.2, (n, 2, A))   # index = target age
    cwr = RNG.uniform(0.001, 0.02, (n, 2, A))
    truth = brute_force_hp(launch, ccr, cwr, k, 3)   # launch, base, base+k, base+2k
    proj = fc.hamilton_perry(truth[0], truth[1], k, 2 * k, damping=0.0)
    np.testing.assert_allclose(proj[k], truth[2], rtol=1e-10)
    np.testing.assert_allclose(proj[2 * k], truth[3], rtol=1e-10)
    if k == 5:  # years between steps: linear interpolation
        np.testing.assert_allclose(proj[2], truth[1] * 0.6 + truth[2] * 0.4, rtol=1e-10)


def test_damping_shrinks_a_tiny_zone_toward_all_zones():
    launch = np.full((2, 2, A), 100.0)
    base = launch.copy()
    launch[1] = 2.0
    base[1] = 4.0                                  # tiny zone: ratio 2 everywhere
    ccr, _ = fc.hp_ratios(launch, base, 1, damping=50.0)
    r_all = 104.0 / 102.0
    # (num + m R_all) / (den + m) = (4 + 50 R_all) / (2 + 50)
    assert ccr[1, 0, 10] == pytest.approx((4 + 50 * r_all) / 52)
    assert ccr[0, 0, 10] == pytest.approx((100 + 50 * r_all) / 150)
    raw, _ = fc.hp_ratios(launch, base, 1, damping=0.0)
    assert raw[1, 0, 10] == pytest.approx(2.0)


# --- raking and shares ---------------------------------------------------------------------

def test_raking_hits_the_control_exactly():
    proj = RNG.uniform(0, 10, (4, 6, 2, A))
    proj[1, :, 0, 3] = 0.0                          # a cell empty in every zone
    cell = RNG.uniform(10, 60, (4, 2, A))
    raked = fc.rake(proj, cell)
    np.testing.assert_allclose(raked.sum(axis=1), cell, rtol=1e-12)
    total = np.array([100.0, 200.0, 300.0, 400.0])
    raked = fc.rake(proj, total)
    np.testing.assert_allclose(raked.sum(axis=(1, 2, 3)), total, rtol=1e-12)
    # one total per year keeps each zone's age structure
    np.testing.assert_allclose(raked[2] / raked[2].sum(), proj[2] / proj[2].sum(), rtol=1e-12)


def test_share_down_sums_to_parent_and_follows_cohorts():
    child = np.zeros((2, 2, A))
    child[0, 0, 70], child[1, 0, 70] = 30.0, 10.0    # 75 % of the parent's women aged 70
    child[0, 0, 30], child[1, 0, 30] = 5.0, 15.0     # 25 % of its women 15-49
    parent = RNG.uniform(1, 100, (4, 1, 2, A))
    out = fc.share_down(parent, child, np.array([0, 0]))
    np.testing.assert_allclose(out.sum(axis=1), parent[:, 0], rtol=1e-12)
    assert out[3, 0, 0, 73] == pytest.approx(0.75 * parent[3, 0, 0, 73])  # cohort aged 3 years
    assert out[3, 0, 0, 1] == pytest.approx(0.25 * parent[3, 0, 0, 1])    # born after: women


# --- cohort-component ------------------------------------------------------------------------

def test_leslie_projection_by_hand():
    # ages 0, 1, 2+ ; survival F (.9, .8, .5), M (.85, .7, .4); fertility at age 1 only: 1.0;
    # male share .5, birth survival 1; migration F (0, 1, 0), M (2, 0, 0)
    comp = cc.Components(np.array([[.9, .8, .5], [.85, .7, .4]]), np.array([0.0, 1.0, 0.0]),
                         np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]]), 1.0, 0.5)
    start = np.array([[10.0, 20.0, 30.0], [10.0, 20.0, 30.0]])
    out = cc.cohort_component(start, comp, 2)
    # year 1, women: age0 = .5 x 1.0 x 20 = 10; age1 = .9 x 10 + 1 = 10; age2 = .8 x 20 + .5 x 30 = 31
    # men: age0 = .5 x 20 + 2 = 12; age1 = .85 x 10 = 8.5; age2 = .7 x 20 + .4 x 30 = 26
    np.testing.assert_allclose(out[1], [[10, 10, 31], [12, 8.5, 26]])
    # year 2, women: age0 = .5 x 10 = 5; age1 = .9 x 10 + 1 = 10; age2 = .8 x 10 + .5 x 31 = 23.5
    # men: age0 = .5 x 10 + 2 = 7; age1 = .85 x 12 = 10.2; age2 = .7 x 8.5 + .4 x 26 = 16.35
    np.testing.assert_allclose(out[2], [[5, 10, 23.5], [7, 10.2, 16.35]])


def test_components_recovered_from_a_history_they_made():
    n = A
    s = cc.gompertz_survival(n)
    f = 1.4 * cc.fertility_shape(n)
    mig = RNG.uniform(-20, 60, (2, n))
    comp = cc.Components(s, f, mig, 1 - cc.GOMPERTZ["infant"] / 2, cc.MALE_SHARE_AT_BIRTH)
    hist = cc.cohort_component(np.vstack([stationary(9000, 0.01)] * 1)[:2] + 100, comp, 6)
    est = cc.estimate_components(hist)
    np.testing.assert_allclose(est.survival, s)
    # age-0 migrants are folded into births, so compare the other ages
    np.testing.assert_allclose(est.migration[:, 1:], mig[:, 1:], rtol=1e-9, atol=1e-7)


# --- trends ----------------------------------------------------------------------------------

def test_trend_models_exact_on_their_own_shapes():
    years = np.arange(2016, 2024)
    line = np.stack([100 + 5 * (years - 2016), 40 - 2 * (years - 2016)], axis=1).astype(float)
    out = fc.trend(line, years, [2030, 2040], "linear")
    np.testing.assert_allclose(out, [[170, 12], [220, 0]])      # 40 - 48 clipped at 0
    expo = np.stack([50 * 1.03 ** (years - 2016), 9 * 0.9 ** (years - 2016)], axis=1)
    out = fc.trend(expo, years, [2030], "log_linear")
    np.testing.assert_allclose(out, [[50 * 1.03 ** 14, 9 * 0.9 ** 14]], rtol=1e-10)
    shares = np.stack([0.25 * (1000 + 10 * (years - 2016)), 0.75 * (1000 + 10 * (years - 2016))],
                      axis=1)
    out = fc.trend(shares, years, [2030], "share_of_city")
    np.testing.assert_allclose(out, [[0.25 * 1140, 0.75 * 1140]], rtol=1e-12)


# --- whole forecasts on a small stationary city -----------------------------------------------

def city(years=range(2016, 2024)):
    """Zones of a city with stationary pyramids: known future = the present."""
    zone = pd.DataFrame({
        "zone_id": ["C", "D", "N1", "N2", "N3", "S1", "S2"],
        "level": ["city", "district", "neighbourhood", "neighbourhood", "neighbourhood",
                  "section", "section"],
        "parent_id": [None, "C", "D", "D", "D", "N1", "N1"]})
    pyramids = {"N1": stationary(30, 0.012), "N2": stationary(80, 0.02),
                "N3": stationary(2, 0.01)}
    rows = []
    for zid, pyr in pyramids.items():
        s, a = np.indices(pyr.shape).reshape(2, -1)
        for y in years:
            rows.append(pd.DataFrame({"zone_id": zid, "period": y, "sex": np.array(["F", "M"])[s],
                                      "age": a, "persons": pyr.ravel()}))
    population = pd.concat(rows, ignore_index=True)
    target = pd.DataFrame({"target_id": ["pop_65plus", "pop_0_2", "hh"],
                           "unit": ["persons", "persons", "households"],
                           "polarity": "high_is_bad", "sensitive": False})
    prevalence = pd.DataFrame([(t, s, a, b, p) for t, a, b, p in
                               (("pop_65plus", 65, 100, 1.0), ("pop_0_2", 0, 2, 1.0))
                               for s in ("F", "M")],
                              columns=["target_id", "sex", "age_from", "age_to", "prevalence"])
    household = pd.DataFrame([(z, y, "one", 100.0 + 10 * (y - 2022) * (i + 1), 1.0)
                              for i, z in enumerate(["N1", "N2"]) for y in (2022, 2023)],
                             columns=["zone_id", "period", "household_type_id", "households",
                                      "members"])
    th = pd.DataFrame({"target_id": ["hh"], "household_type_id": ["one"], "share": [0.5]})
    return dict(zone=zone, population=population, target=target, target_prevalence=prevalence,
                household=household, target_household=th)


def test_forecast_demand_of_a_stationary_city_is_flat_with_zero_error():
    t = city()
    # zones of different structures: exact without damping (damping pulls toward all zones)
    f = fc.forecast_demand(t, ["pop_65plus", "pop_0_2"], 7, damping=0)
    assert list(f.columns) == fc.FORECAST_COLUMNS
    assert sorted(f["period"].unique()) == list(range(2023, 2031))
    pyr = {"N1": stationary(30, 0.012), "N2": stationary(80, 0.02), "N3": stationary(2, 0.01)}
    for (z, tgt), g in f.groupby(["zone_id", "target_id"]):
        ages = slice(65, None) if tgt == "pop_65plus" else slice(0, 3)
        np.testing.assert_allclose(g["demand"], pyr[z][:, ages].sum(), rtol=1e-10)
        np.testing.assert_allclose(g["lower"], g["demand"], rtol=1e-9)   # past errors are 0
        np.testing.assert_allclose(g["upper"], g["demand"], rtol=1e-9)
    assert (f["unit"] == "persons").all() and (f["base_period"] == 2023).all()


def test_demand_equals_population_times_prevalence_of_demand_module():
    t = city()
    t["population"].loc[t["population"]["zone_id"] == "N2", "persons"] *= np.linspace(
        0.9, 1.1, (t["population"]["zone_id"] == "N2").sum())
    proj = fc.forecast_population(t, 4, damping=10.0)
    f = fc.forecast_demand(t, ["pop_65plus", "pop_0_2"], 4, damping=10.0)
    ref = person_demand(proj.frame(), t["target_prevalence"])
    got = f.merge(ref, on=["zone_id", "target_id", "period"], suffixes=("", "_ref"))
    assert len(got) == len(f)
    np.testing.assert_allclose(got["demand"], got["demand_ref"], rtol=1e-12)


def test_sections_are_shares_of_their_neighbourhood():
    t = city()
    sec = t["population"][(t["population"]["zone_id"] == "N1") &
                          (t["population"]["period"] == 2023)]
    t["population"] = pd.concat([t["population"][~((t["population"]["zone_id"] == "N1") &
                                                   (t["population"]["period"] >= 2022))],
                                 sec.assign(zone_id="S1", persons=sec["persons"] * 0.3),
                                 sec.assign(zone_id="S2", persons=sec["persons"] * 0.7),
                                 sec.assign(zone_id="S1", period=2022, persons=sec["persons"] * .3),
                                 sec.assign(zone_id="S2", period=2022, persons=sec["persons"] * .7)])
    f = fc.forecast_demand(t, ["pop_65plus"], 5, level="section")
    n = fc.forecast_demand(t, ["pop_65plus"], 5, level="neighbourhood")
    s = f.pivot_table(index="period", columns="zone_id", values="demand")
    nb = n[n["zone_id"] == "N1"].set_index("period")["demand"]
    np.testing.assert_allclose(s["S1"] + s["S2"], nb, rtol=1e-12)
    np.testing.assert_allclose(s["S1"] / nb, 0.3, rtol=1e-12)
    assert "cohort shares" in f["note"].iloc[0]


def test_section_intervals_come_from_section_errors():
    """N1 is stationary (its projection is exact, so its own interval is 0) but its sections
    drift: 50/50 in 2022, 60/40 in 2023. The one past projection of the chain (2022 -> 2023)
    gives S1 0.5 N1 for an actual 0.6 N1 and S2 0.5 N1 for 0.4 N1: errors 1/6 and 1/4. Too few
    for a band (MIN_OBS), so both sections get their 80 % quantile (linear interpolation)
    1/6 + 0.8 (1/4 - 1/6) = 7/30 at horizon 1, h x 7/30 beyond; lower floored at 0."""
    t = city()
    pop = t["population"]
    n1 = pop[(pop["zone_id"] == "N1") & (pop["period"] == 2023)]
    parts = [pop[~((pop["zone_id"] == "N1") & (pop["period"] >= 2022))]]
    for year, share in ((2022, 0.5), (2023, 0.6)):
        parts += [n1.assign(zone_id="S1", period=year, persons=n1["persons"] * share),
                  n1.assign(zone_id="S2", period=year, persons=n1["persons"] * (1 - share))]
    t["population"] = pd.concat(parts, ignore_index=True)
    f = fc.forecast_demand(t, ["pop_65plus"], 5, level="section", damping=0)
    n = fc.forecast_demand(t, ["pop_65plus"], 5, level="neighbourhood", damping=0)
    old = stationary(30, 0.012)[:, 65:].sum()
    np.testing.assert_allclose(n.loc[n["zone_id"] == "N1", ["lower", "upper"]], old, rtol=1e-9)
    for zone, share in (("S1", 0.6), ("S2", 0.4)):
        g = f[f["zone_id"] == zone].set_index("period")
        h = g.index.to_numpy() - 2023
        d = share * old
        np.testing.assert_allclose(g["demand"], d, rtol=1e-9)
        np.testing.assert_allclose(g["upper"], d * (1 + h * 7 / 30), rtol=1e-9)
        np.testing.assert_allclose(g["lower"], np.maximum(0, d * (1 - h * 7 / 30)), rtol=1e-9,
                                   atol=1e-9)
    assert "errors at section level" in f["note"].iloc[0]
    # one year of sections: no past projection of the chain, so the parent's interval (0 here)
    pop = t["population"]
    t["population"] = pop[~(pop["zone_id"].isin(["S1", "S2"]) & (pop["period"] == 2022))]
    f1 = fc.forecast_demand(t, ["pop_65plus"], 5, level="section", damping=0)
    np.testing.assert_allclose(f1["upper"], f1["demand"], rtol=1e-9)
    assert "relative interval" in f1["note"].iloc[0]


def test_cohort_component_control_and_household_trend():
    t = city()
    f = fc.forecast_demand(t, ["pop_65plus"], 3, level="district", control="cohort_component")
    assert f["demand"].notna().all() and (f["demand"] > 0).all()
    h = fc.forecast_demand(t, ["hh"], 3, method="auto")
    n1 = h[h["zone_id"] == "N1"].set_index("period")
    # shares of the city (mean over 2022-2023) x linear city total (2022 100+100, 2023 110+120)
    share = np.mean([100 / 200, 110 / 230])
    assert n1.loc[2026, "demand"] == pytest.approx(share * 0.5 * (230 + 3 * 30))
    assert n1.loc[2026, ["lower", "upper"]].isna().all()          # no past projection possible
    assert "no interval" in n1["note"].iloc[0]


def test_future_indicators_of_a_stationary_city_equal_todays():
    t = city()
    t["service_type"] = pd.DataFrame({"service_type_id": ["rsa"], "reference_target_id":
                                      ["pop_65plus"], "standard_per_100": [2.82]})
    t["service_target"] = pd.DataFrame({"service_type_id": ["rsa"], "target_id": ["pop_65plus"],
                                        "share": [1.0]})
    t["facility"] = pd.DataFrame({"facility_id": ["F"], "service_type_id": ["rsa"],
                                  "capacity": [10.0], "active_from": [None], "active_to": [None],
                                  "zone_id": ["N1"]})
    from welfare_core.demand import person_demand as pdem
    now = dict(t, demand=pdem(t["population"], t["target_prevalence"]),
               population=t["population"].groupby(["zone_id", "period"], as_index=False)
               ["persons"].sum(), household=pd.DataFrame({"zone_id": [], "period": [],
                                                          "households": []}))
    today, _ = zone_indicators(now, "neighbourhood", 2023, targets=["pop_65plus"])
    future, _ = zone_indicators(fc.future_tables(t, "neighbourhood", 2030, damping=0),
                                "neighbourhood",
                                2030, targets=["pop_65plus"])
    for col in ("demand", "reference_population", "gap", "coverage_per_100"):
        np.testing.assert_allclose(future[col], today[col], rtol=1e-10)


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, text", [
    (dict(targets=["nope"]), UnknownIdError, "unknown target"),
    (dict(horizon=0), InputError, "horizon"),
    (dict(horizon=-3), InputError, "horizon"),
    (dict(method="arima"), InputError, "unknown method"),
    (dict(level="block"), InputError, "unknown level"),
    (dict(step=3), InputError, "step"),
    (dict(targets=["hh"], method="hamilton_perry"), InputError, "Hamilton-Perry"),
])
def test_clear_errors(kwargs, error, text):
    args = dict(targets=["pop_65plus"], horizon=5) | kwargs
    with pytest.raises(error, match=text):
        fc.forecast_demand(city(), args.pop("targets"), args.pop("horizon"), **args)


def test_too_little_history():
    with pytest.raises(InputError, match="too little population history"):
        fc.forecast_demand(city(years=[2022, 2023]), ["pop_65plus"], 5)
    with pytest.raises(InputError, match="too little history"):
        fc.forecast_demand(city(), ["pop_65plus"], 5, step=5, min_history=2,
                           base_period=2020)
