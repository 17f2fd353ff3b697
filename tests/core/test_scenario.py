"""Scenarios on the tiny city: apply, recompute, compare, Shapley — values worked out by hand.

Tiny city, 2023 (tests/fixtures/tiny_city.py), neighbourhood level:
  65+ demand N1 300, N2 100, N3 0, N4 200 (600); alone 65+ N1 120, N2 30 (150)
  rsa: F1 12 beds at (500, 500) in N1, F2 4 beds at (3000, 3000) in N4; shares 65+ .75,
       alone .25; catchment 5000 m, no decay; standard 2.82 per 100 65+
  Origins are the neighbourhood centroids (1000|3000, 1000|3000). Every centroid is
  within 3536 m of every rsa, so with the 5000 m catchment the 2SFCA access of every
  zone with demand is 100 x total supply / total demand: 65+ 100 x 12/600 = 2.0.
"""
import math

import numpy as np
import pandas as pd
import pytest

from fixtures import tiny_city as tc
from welfare_core import scenario as sc
from welfare_core import scenario_compare as cmp
from welfare_core.errors import InputError, UnknownIdError
from welfare_core.indicators import zone_indicators

X0, Y0 = tc.X0, tc.Y0
N1, N2, N3, N4 = (f"015146-N{k}" for k in range(1, 5))
LEVEL, YEAR = "neighbourhood", 2023

CLOSE_F2 = sc.change("close", facility_id="F2")
OPEN_F9 = sc.change("open", facility_id="F9", service_type_id="rsa", capacity=8,
                    x=X0 + 2500, y=Y0 + 2500)
MORE_OLD_WEST = sc.change("demand", target_id="pop_65plus", zone_ids=["015146-D1"],
                          mode="pct", value=50)
SHORT_RSA = sc.change("catchment", service_type_id="rsa", max_cost=1000)


@pytest.fixture
def city():
    return cmp.prepare(tc.tables())


def value(frame, measure, target, zone, column="scenario"):
    row = frame[(frame.measure == measure) & (frame.target_id == target) & (frame.zone_id == zone)]
    assert len(row) == 1
    return row[column].iloc[0]


# --- changes ------------------------------------------------------------------------

def test_bad_changes_say_what_to_fix():
    with pytest.raises(InputError, match="unknown scenario change kind"):
        sc.change("explode")
    with pytest.raises(InputError, match="needs capacity"):
        sc.change("open", facility_id="X", service_type_id="rsa", x=1, y=2)
    with pytest.raises(InputError, match="x and y, or site_id"):
        sc.change("open", facility_id="X", service_type_id="rsa", capacity=3)
    with pytest.raises(InputError, match="needs zone_ids"):
        sc.change("demand", target_id="pop_65plus", mode="delta", value=5)
    with pytest.raises(InputError, match="does not take"):
        sc.change("close", facility_id="F1", capacity=3)


def test_changes_from_records_params_json_or_columns():
    a = sc.changes_from_records([{"kind": "close", "params": '{"facility_id": "F2"}'},
                                 {"kind": "demand", "target_id": "pop_65plus",
                                  "zone_ids": "015146-N1, 015146-N2", "mode": "pct",
                                  "value": 10, "x": None}])
    assert a[0] == CLOSE_F2
    assert a[1].params["zone_ids"] == [N1, N2]


# --- apply --------------------------------------------------------------------------

def test_apply_is_pure_and_empty_scenario_is_the_base(city):
    before = {k: v.copy() for k, v in city.items()}
    out = sc.apply(city, [CLOSE_F2, OPEN_F9, MORE_OLD_WEST, SHORT_RSA])
    for k, v in city.items():
        pd.testing.assert_frame_equal(v, before[k])
    empty = sc.apply(city, [])
    assert all(empty[k] is city[k] for k in city)
    a = cmp.outcome(city, LEVEL, YEAR)
    b = cmp.outcome(empty, LEVEL, YEAR)
    pd.testing.assert_frame_equal(a, b)  # bit for bit
    assert set(out["facility"].facility_id) == {"F1", "F3", "F9"}


def test_open_close_move_capacity_by_hand(city):
    out = sc.apply(city, [CLOSE_F2, OPEN_F9])
    f9 = out["facility"].set_index("facility_id").loc["F9"]
    assert (f9.zone_id, f9.capacity, f9.municipality_code) == (N4, 8.0, "015146")
    moved = sc.apply(city, [sc.change("move", facility_id="F1", x=X0 + 1500, y=Y0 + 3500)])
    assert moved["facility"].set_index("facility_id").loc["F1", "zone_id"] == N2
    cap = sc.apply(city, [sc.change("capacity", facility_id="F1", mode="pct", value=-25),
                          sc.change("capacity", service_type_id="rsa", mode="delta", value=1)])
    assert cap["facility"].set_index("facility_id").capacity.to_dict() == \
        {"F1": 10.0, "F2": 5.0, "F3": 30.0}
    with pytest.raises(InputError, match="negative"):
        sc.apply(city, [sc.change("capacity", facility_id="F2", mode="delta", value=-5)])
    with pytest.raises(UnknownIdError, match="F7"):
        sc.apply(city, [sc.change("close", facility_id="F7")])


def test_demand_change_on_a_district_spreads_over_its_zones(city):
    pct = sc.apply(city, [MORE_OLD_WEST])["demand"]
    got = pct[pct.target_id == "pop_65plus"].set_index("zone_id").demand.to_dict()
    assert got == {N1: 450.0, N2: 150.0, N3: 0.0, N4: 200.0}
    # set the district total to 800: 300:100 -> 600:200
    st = sc.apply(city, [sc.change("demand", target_id="pop_65plus", zone_ids=["015146-D1"],
                                   mode="set", value=800)])["demand"]
    got = st[st.target_id == "pop_65plus"].set_index("zone_id").demand.to_dict()
    assert got == {N1: 600.0, N2: 200.0, N3: 0.0, N4: 200.0}
    # delta on a zone whose only row is 0: the row takes it all
    de = sc.apply(city, [sc.change("demand", target_id="pop_65plus", zone_ids=[N3],
                                   mode="delta", value=40)])["demand"]
    assert de[(de.target_id == "pop_65plus") & (de.zone_id == N3)].demand.tolist() == [40.0]


def test_adopt_an_optimisation_outcome(city):
    out = sc.apply(city, [sc.change("adopt", service_type_id="rsa", replace=True,
                                    sites=[{"site_id": "S1", "capacity": 20},
                                           {"site_id": "F1", "capacity": 6}])])
    rsa = out["facility"][out["facility"].service_type_id == "rsa"].set_index("facility_id")
    assert rsa.capacity.to_dict() == {"F1": 6.0, "S1": 20.0}
    assert rsa.loc["S1", "zone_id"] == N3  # candidate site S1 at (2500, 1000)


def test_catchment_change(city):
    st = sc.apply(city, [SHORT_RSA, sc.change("catchment", service_type_id="nursery",
                                              decay="gaussian", decay_param=300)])["service_type"]
    st = st.set_index("service_type_id")
    assert st.loc["rsa", "max_cost"] == 1000 and st.loc["rsa", "decay"] == "none"
    assert (st.loc["nursery", "decay"], st.loc["nursery", "decay_param"]) == ("gaussian", 300)


def test_scenarios_of_scenarios_compose(city):
    first = sc.Scenario("close F2", (CLOSE_F2,))
    second = sc.Scenario("and open F9", (OPEN_F9,), base=first)
    a = sc.apply(city, second)
    b = sc.apply(sc.apply(city, first), [OPEN_F9])
    pd.testing.assert_frame_equal(a["facility"], b["facility"])
    # changes telescope: base -> first -> second equals base -> second
    one = cmp.compare(city, sc.apply(city, first), LEVEL, YEAR, targets=["pop_65plus"])
    two = cmp.compare(sc.apply(city, first), a, LEVEL, YEAR, targets=["pop_65plus"])
    both = cmp.compare(city, a, LEVEL, YEAR, targets=["pop_65plus"])
    np.testing.assert_allclose((one.change + two.change).to_numpy(), both.change.to_numpy(),
                               atol=1e-12, equal_nan=True)


# --- recompute and compare -------------------------------------------------------------

def test_outcome_equals_the_indicators(city):
    out = cmp.outcome(city, LEVEL, YEAR, access=False)
    ind, _ = zone_indicators(tc.tables(), LEVEL, YEAR)
    ind = ind.sort_values(["target_id", "zone_id"]).reset_index(drop=True)
    for m in ("demand", "supply", "coverage_per_100", "gap"):
        np.testing.assert_allclose(out[m].to_numpy(float), ind[m].to_numpy(float), rtol=1e-12,
                                   equal_nan=True)


def test_close_one_open_one_by_hand(city):
    res = cmp.compare(city, sc.apply(city, [CLOSE_F2, OPEN_F9]), LEVEL, YEAR)
    assert sorted(res.target_id.unique()) == ["alone_65plus", "pop_65plus"]  # what rsa serves
    # N4 65+: supply 4 x .75 = 3 -> 8 x .75 = 6; coverage 1.5 -> 3.0 per 100
    assert value(res, "supply", "pop_65plus", N4, "base") == pytest.approx(3.0)
    assert value(res, "coverage_per_100", "pop_65plus", N4) == pytest.approx(3.0)
    assert value(res, "coverage_per_100", "pop_65plus", N4, "change_pct") == pytest.approx(100)
    # gap: required .0282 x 200 x .75 = 4.23; 4.23 - 3 = 1.23 -> 0
    assert value(res, "gap", "pop_65plus", N4, "base") == pytest.approx(1.23)
    assert value(res, "gap", "pop_65plus", N4, "change") == pytest.approx(-1.23)
    assert value(res, "gap", "pop_65plus", N4, "direction") == "gain"
    # access: 100 x 12/600 = 2.0 -> 100 x 15/600 = 2.5 everywhere with demand
    for z in (N1, N2, N4):
        assert value(res, "access", "pop_65plus", z, "base") == pytest.approx(2.0)
        assert value(res, "access", "pop_65plus", z) == pytest.approx(2.5)
        assert value(res, "access", "alone_65plus", z, "base") == pytest.approx(
            100 * 4 / 150 if z != N4 else float("nan"), nan_ok=True)
    assert math.isnan(value(res, "access", "pop_65plus", N3))  # no demand
    assert value(res, "access", "pop_65plus", N3, "null_reason") == "undefined in both"
    # a supply-only change is all supply effect
    acc = res[(res.measure == "access") & res.change.notna()]
    np.testing.assert_allclose(acc.supply_effect, acc.change, atol=1e-12)
    np.testing.assert_allclose(acc.demand_effect, 0, atol=1e-12)
    np.testing.assert_allclose(acc.catchment_effect, 0, atol=1e-12)


def test_shapley_two_factors_by_hand(city):
    """f(D,S): 000 2.0, 100 100x12/800 = 1.5, 010 100x15/600 = 2.5, 110 100x15/800 = 1.875.
    phi_D = ((1.5-2) + (1.875-2.5))/2 = -0.5625; phi_S = ((2.5-2) + (1.875-1.5))/2 = 0.4375."""
    scen = sc.apply(city, [CLOSE_F2, OPEN_F9, MORE_OLD_WEST])
    res = cmp.compare(city, scen, LEVEL, YEAR, measures=["access"], targets=["pop_65plus"])
    row = res[res.zone_id == N4].iloc[0]
    assert row.base == pytest.approx(2.0) and row.scenario == pytest.approx(1.875)
    assert row.demand_effect == pytest.approx(-0.5625)
    assert row.supply_effect == pytest.approx(0.4375)
    assert row.catchment_effect == pytest.approx(0.0, abs=1e-12)


def test_catchment_effect_by_hand(city):
    """rsa catchment 1000 m: N1's centroid reaches F1 (707 m) alone, N4's F2 (0 m) alone,
    N2 nothing: access N1 100 x 9/300 = 3, N2 0, N4 100 x 3/200 = 1.5."""
    res = cmp.compare(city, sc.apply(city, [SHORT_RSA]), LEVEL, YEAR, measures=["access"],
                      targets=["pop_65plus"]).set_index("zone_id")
    assert res.loc[[N1, N2, N4], "scenario"].tolist() == pytest.approx([3.0, 0.0, 1.5])
    np.testing.assert_allclose(res.loc[[N1, N2, N4], "catchment_effect"], [1.0, -2.0, -0.5])


def test_shapley_parts_sum_to_the_total_with_all_three_factors(city):
    scen = sc.apply(city, [CLOSE_F2, OPEN_F9, MORE_OLD_WEST, SHORT_RSA])
    res = cmp.compare(city, scen, LEVEL, YEAR)
    ok = res.change.notna() & res.demand_effect.notna()
    assert ok.sum() > 10
    parts = res.loc[ok, ["demand_effect", "supply_effect", "catchment_effect"]].sum(axis=1)
    np.testing.assert_allclose(parts, res.loc[ok, "change"], rtol=1e-12, atol=1e-12)
    # each factor matters somewhere
    assert all((res.loc[ok, c].abs() > 1e-9).any()
               for c in ("demand_effect", "supply_effect", "catchment_effect"))


def test_winners_and_losers(city):
    res = cmp.compare(city, sc.apply(city, [SHORT_RSA]), LEVEL, YEAR, targets=["pop_65plus"])
    win, lose = cmp.winners_losers(res, "access", n=2)
    assert win.zone_id.tolist() == [N1]
    assert lose.zone_id.tolist() == [N2, N4]


def test_changes_from_an_edited_facility_layer(city):
    from shapely.geometry import Point
    base = tc.tables()["facility"]
    edited = base[base.facility_id != "F2"].copy()
    edited.loc[edited.facility_id == "F1", "capacity"] = 20.0
    edited["geometry"] = [Point(X0 + 1500, Y0 + 3500) if f == "F3" else g
                          for f, g in zip(edited.facility_id, edited.geometry)]
    new = base[base.facility_id == "F2"].assign(facility_id="F9", capacity=8.0,
                                               geometry=Point(X0 + 2500, Y0 + 2500))
    edited = pd.concat([edited, new], ignore_index=True)
    changes = sc.changes_from_facilities(base, edited)
    assert [c.kind for c in changes] == ["close", "open", "move", "capacity"]
    out = sc.apply(city, changes)
    f = out["facility"].set_index("facility_id")
    assert f.capacity.to_dict() == {"F1": 20.0, "F3": 30.0, "F9": 8.0}
    assert (f.loc["F9", "zone_id"], f.loc["F3", "zone_id"]) == (N4, N2)
