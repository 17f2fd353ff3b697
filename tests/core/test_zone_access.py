"""Zone accessibility driver on the tiny city, every value worked out by hand.

Tiny city, 2023 (tests/fixtures/tiny_city.py). Neighbourhood squares of 2 km;
their points are the centres (squares contain their centroid):
  N1 (1000, 1000)   N2 (1000, 3000)   N3 (3000, 1000)   N4 (3000, 3000)
Facilities: F1 rsa 12 beds at (500, 500); F2 rsa 4 beds at (3000, 3000) (= N4's
point: a zero cost); F3 nursery 30 places at (1000, 3000) (= N2's point).
rsa shares: pop_65plus .75, alone_65plus .25 -> S(65+) = F1 9, F2 3; S(alone) = F1 3, F2 1
Demand 65+ N1 300, N2 100, N3 0, N4 200; alone 65+ 120, 30, 0, 0; 0-2 40, 60, 0, 20.

Distances (metres):      F1                       F2                    F3
  N1    sqrt(500²+500²)   = 707.1     sqrt(2·2000²) = 2828.4    2000
  N2    sqrt(500²+2500²)  = 2549.5    2000                      0
  N3    2549.5                        2000                      2828.4
  N4    sqrt(2·2500²)     = 3535.5    0                         2000
"""
import math

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Polygon

from fixtures import tiny_city as tc
from welfare_core.errors import GeometryError, InputError, UnknownIdError
from welfare_core.zone_access import (ACCESS_COLUMNS, point_fca, publish_accessibility,
                                      service_decay, zone_accessibility, zone_points)

N1, N2, N3, N4 = (f"015146-N{i}" for i in range(1, 5))
NAN = float("nan")


@pytest.fixture
def city():
    return tc.tables()


def values(frame, target, column):
    rows = frame[frame["target_id"] == target].set_index("zone_id")
    return {z: rows.loc[z, column] for z in rows.index}


def close(actual: dict, expected: dict, tol=1e-9):
    assert set(actual) == set(expected)
    for k, e in expected.items():
        a = actual[k]
        if isinstance(e, float) and math.isnan(e):
            assert pd.isna(a), (k, a)
        else:
            assert a == pytest.approx(e, rel=tol, abs=tol), (k, a, e)


# --- 2SFCA, max_cost 2600 m (rsa, no decay) -------------------------------------------
# Catchments (c <= 2600): F1 <- N1, N2, N3; F2 <- N2, N3, N4 (F2 from N1 is 2828 > 2600)
# 65+:   R1 = 9 / (300 + 100 + 0) = 0.0225;  R2 = 3 / (100 + 0 + 200) = 0.01
#        A: N1 0.0225, N2 0.0325, N4 0.01 -> per 100: 2.25, 3.25, 1.0; N3 no demand
#        supply conserved: 300·0.0225 + 100·0.0325 + 200·0.01 = 12 = 9 + 3
# alone: R1 = 3 / (120 + 30) = 0.02;  R2 = 1 / 30
#        A: N1 0.02 -> 2.0, N2 0.02 + 1/30 -> 5.3333; N3, N4 no demand
def test_2sfca_neighbourhoods_by_hand(city):
    out = zone_accessibility(city, "rsa", 2023, "neighbourhood", max_cost=2600)
    assert list(out.columns) == list(ACCESS_COLUMNS)
    assert len(out) == 4 * 2
    close(values(out, "pop_65plus", "access"), {N1: 2.25, N2: 3.25, N3: NAN, N4: 1.0})
    close(values(out, "alone_65plus", "access"), {N1: 2.0, N2: 100 * (0.02 + 1 / 30),
                                                   N3: NAN, N4: NAN})
    close(values(out, "pop_65plus", "nearest_cost"),
          {N1: math.hypot(500, 500), N2: 2000.0, N3: NAN, N4: 0.0})
    close(values(out, "pop_65plus", "share_within"), {N1: 1.0, N2: 1.0, N3: NAN, N4: 1.0})
    assert values(out, "pop_65plus", "null_reason") == {N1: None, N2: None,
                                                        N3: "no demand in the zone", N4: None}
    assert set(out["max_cost"]) == {2600.0} and set(out["cost_unit"]) == {"m"}
    assert set(out["method"]) == {"2sfca"}


# Parents: demand-weighted means of the neighbourhoods
#   D1 = (300·2.25 + 100·3.25) / 400 = 2.5;  D2 = (0 + 200·1.0) / 200 = 1.0
#   city = (675 + 325 + 200) / 600 = 2.0
#   nearest 65+: D1 = (300·707.107 + 100·2000) / 400;  D2 = 0;  city = (212132 + 200000) / 600
def test_2sfca_parents_are_demand_weighted_means(city):
    d = zone_accessibility(city, "rsa", 2023, "district", max_cost=2600)
    close(values(d, "pop_65plus", "access"), {"015146-D1": 2.5, "015146-D2": 1.0})
    close(values(d, "pop_65plus", "demand"), {"015146-D1": 400.0, "015146-D2": 200.0})
    close(values(d, "pop_65plus", "nearest_cost"),
          {"015146-D1": (300 * math.hypot(500, 500) + 100 * 2000) / 400, "015146-D2": 0.0})
    close(values(d, "alone_65plus", "access"), {"015146-D1": (120 * 2 + 30 * 16 / 3) / 150,
                                                 "015146-D2": NAN})
    c = zone_accessibility(city, "rsa", 2023, "city", max_cost=2600)
    close(values(c, "pop_65plus", "access"), {"015146": 2.0})
    close(values(c, "pop_65plus", "nearest_cost"),
          {"015146": (300 * math.hypot(500, 500) + 100 * 2000) / 600})


def test_service_type_default_catchment(city):
    # rsa max_cost 5000: everyone reaches F1 and F2 (largest cost 3535.5), so
    # R1 = 9/600, R2 = 3/600 and A = 12/600 = 0.02 -> 2.0 per 100 everywhere with demand
    out = zone_accessibility(city, "rsa", 2023, "neighbourhood")
    close(values(out, "pop_65plus", "access"), {N1: 2.0, N2: 2.0, N3: NAN, N4: 2.0})
    assert set(out["max_cost"]) == {5000.0}


# --- 3SFCA, same catchments; W = 1 so G = 1 / (facilities in reach) -------------------
# G: N1 F1 1; N2 F1 .5, F2 .5; N3 .5, .5; N4 F2 1
# 65+: R1 = 9 / (300 + 0.5·100) = 9/350;  R2 = 3 / (0.5·100 + 200) = 0.012
#      A: N1 9/350, N2 0.5·9/350 + 0.5·0.012, N4 0.012
def test_3sfca_by_hand(city):
    out = zone_accessibility(city, "rsa", 2023, "neighbourhood", max_cost=2600, method="3sfca")
    close(values(out, "pop_65plus", "access"),
          {N1: 100 * 9 / 350, N2: 100 * (0.5 * 9 / 350 + 0.006), N3: NAN, N4: 1.2})
    # supply still conserved: 300·9/350 + 100·0.018857 + 200·0.012 = 12
    a = values(out, "pop_65plus", "access")
    assert (300 * a[N1] + 100 * a[N2] + 200 * a[N4]) / 100 == pytest.approx(12.0)


# --- gravity potential, no decay: W = 1 within 2600 m ---------------------------------
# 65+: N1 reaches F1: 9;  N2: 9 + 3 = 12;  N4: 3;  D1 = (300·9 + 100·12) / 400 = 9.75
def test_gravity_potential_by_hand(city):
    out = zone_accessibility(city, "rsa", 2023, "neighbourhood", max_cost=2600, method="gravity")
    close(values(out, "pop_65plus", "access"), {N1: 9.0, N2: 12.0, N3: NAN, N4: 3.0})
    d = zone_accessibility(city, "rsa", 2023, "district", max_cost=2600, method="gravity")
    close(values(d, "pop_65plus", "access"), {"015146-D1": 9.75, "015146-D2": 3.0})


# --- nursery: max 1500 m; only N2 reaches F3 (cost 0, co-located) ---------------------
# R3 = 30 / 60 = 0.5 -> N2 50 per 100; N1 and N4 have demand but reach nothing: 0
# share: N1 0, N2 1, N4 0;  D1 share = 60/100 = 0.6, access = 60·50/100 = 30
# nearest: N1 2000, N2 0, N4 2000; D1 = 40·2000/100 = 800; city = (80000 + 40000)/120 = 1000
def test_nursery_zero_cost_and_share_within(city):
    out = zone_accessibility(city, "nursery", 2023, "neighbourhood")
    close(values(out, "pop_0_2", "access"), {N1: 0.0, N2: 50.0, N3: NAN, N4: 0.0})
    close(values(out, "pop_0_2", "share_within"), {N1: 0.0, N2: 1.0, N3: NAN, N4: 0.0})
    close(values(out, "pop_0_2", "nearest_cost"), {N1: 2000.0, N2: 0.0, N3: NAN, N4: 2000.0})
    d = zone_accessibility(city, "nursery", 2023, "district")
    close(values(d, "pop_0_2", "share_within"), {"015146-D1": 0.6, "015146-D2": 0.0})
    close(values(d, "pop_0_2", "access"), {"015146-D1": 30.0, "015146-D2": 0.0})
    c = zone_accessibility(city, "nursery", 2023, "city")
    close(values(c, "pop_0_2", "nearest_cost"), {"015146": 1000.0})
    close(values(c, "pop_0_2", "share_within"), {"015146": 0.5})


def test_facility_exactly_at_max_cost_is_inside(city):
    # N1 and N4 are exactly 2000 m from F3: with max_cost 2000 they are in its catchment
    # R3 = 30 / (40 + 60 + 20) = 0.25 -> 25 per 100 for all three
    out = zone_accessibility(city, "nursery", 2023, "neighbourhood", max_cost=2000)
    close(values(out, "pop_0_2", "access"), {N1: 25.0, N2: 25.0, N3: NAN, N4: 25.0})
    out = zone_accessibility(city, "nursery", 2023, "neighbourhood", max_cost=1999.999)
    close(values(out, "pop_0_2", "access"), {N1: 0.0, N2: 50.0, N3: NAN, N4: 0.0})


def test_minutes_at_the_travel_mode_speed(city):
    # walk 4.5 km/h = 75 m/min; 20 min = 1500 m: the nursery catchment again
    st = city["service_type"]
    st.loc[st["service_type_id"] == "nursery", ["cost_unit", "max_cost"]] = ["min", 20.0]
    out = zone_accessibility(city, "nursery", 2023, "neighbourhood")
    close(values(out, "pop_0_2", "access"), {N1: 0.0, N2: 50.0, N3: NAN, N4: 0.0})
    close(values(out, "pop_0_2", "nearest_cost"), {N1: 2000 / 75, N2: 0.0, N3: NAN,
                                                    N4: 2000 / 75})
    assert set(out["cost_unit"]) == {"min"}


def test_decay_of_the_service_type(city):
    # gaussian sigma 1000 on the rsa, cutoff 2600: W(c) = exp(-c²/2e6)
    st = city["service_type"]
    st.loc[st["service_type_id"] == "rsa", ["decay", "decay_param"]] = ["gaussian", 1000.0]
    w = lambda c: math.exp(-c * c / 2e6)  # noqa: E731
    c11, c21, c22 = math.hypot(500, 500), math.hypot(500, 2500), 2000.0
    r1 = 9 / (w(c11) * 300 + w(c21) * 100)          # N3 has no demand
    r2 = 3 / (w(c22) * 100 + w(0) * 200)
    out = zone_accessibility(city, "rsa", 2023, "neighbourhood", max_cost=2600)
    close(values(out, "pop_65plus", "access"),
          {N1: 100 * w(c11) * r1, N2: 100 * (w(c21) * r1 + w(c22) * r2), N3: NAN,
           N4: 100 * w(0) * r2})
    # overriding with decay "none" gives the plain 2SFCA again
    plain = zone_accessibility(city, "rsa", 2023, "neighbourhood", max_cost=2600, decay="none")
    close(values(plain, "pop_65plus", "access"), {N1: 2.25, N2: 3.25, N3: NAN, N4: 1.0})


# --- ring comuni: origins that compete, never reported ---------------------------------
# A ring comune 015999 (level city, not subdivided), square (4000..6000, 2000..4000),
# point (5000, 3000): 2000 m from F2, 5147 m from F1. 100 residents 65+.
# F2 catchment 65+ = 100 + 0 + 200 + 100 = 400 -> R2 = 3/400 = 0.0075
# A: N1 2.25, N2 100·(0.0225 + 0.0075) = 3.0, N4 0.75; city (675 + 300 + 150)/600 = 1.875
def with_ring(city):
    ring = pd.DataFrame([dict(zone_id="015999", municipality_code="015999", level="city",
                              name="Ring", parent_id=None, source_id="test",
                              geometry=tc.sq(4000, 2000, 6000, 4000))])
    city["zone"] = pd.concat([city["zone"], ring], ignore_index=True)
    city["demand"] = pd.concat([city["demand"], pd.DataFrame([dict(
        zone_id="015999", target_id="pop_65plus", period=2023, demand=100.0,
        source_id="test")])], ignore_index=True)
    return city


def test_ring_comuni_compete_but_are_not_reported(city):
    out = zone_accessibility(with_ring(city), "rsa", 2023, "neighbourhood", max_cost=2600)
    close(values(out, "pop_65plus", "access"), {N1: 2.25, N2: 3.0, N3: NAN, N4: 0.75})
    c = zone_accessibility(city, "rsa", 2023, "city", max_cost=2600)
    assert list(c["zone_id"].unique()) == ["015146"]
    close(values(c, "pop_65plus", "access"), {"015146": 1.875})
    ring = zone_accessibility(city, "rsa", 2023, "city", max_cost=2600,
                              municipality_code="015999")
    close(values(ring, "pop_65plus", "access"), {"015999": 0.75})


def test_demand_also_stored_at_a_parent_is_not_counted_twice(city):
    extra = pd.DataFrame([dict(zone_id="015146-D1", target_id="pop_65plus", period=2023,
                               demand=999.0, source_id="test")])
    city["demand"] = pd.concat([city["demand"], extra], ignore_index=True)
    out = zone_accessibility(city, "rsa", 2023, "district", max_cost=2600)
    close(values(out, "pop_65plus", "access"), {"015146-D1": 2.5, "015146-D2": 1.0})


def test_inactive_facilities_are_left_out(city):
    # F2 closed in 2022: only F1 (9 beds for 65+), reached by N1, N2, N3 -> R1 = 9/400
    fac = city["facility"]
    fac.loc[fac["facility_id"] == "F2", "active_to"] = 2022
    out = zone_accessibility(city, "rsa", 2023, "neighbourhood", max_cost=2600)
    close(values(out, "pop_65plus", "access"), {N1: 2.25, N2: 2.25, N3: NAN, N4: 0.0})
    close(values(out, "pop_65plus", "nearest_cost"),
          {N1: math.hypot(500, 500), N2: math.hypot(500, 2500), N3: NAN,
           N4: math.hypot(2500, 2500)})  # beyond the cutoff: a KD-tree query, no cutoff


# --- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,error,match", [
    (dict(service_type_id="ghost"), UnknownIdError, "unknown service type 'ghost'"),
    (dict(method="4sfca"), InputError, "unknown method"),
    (dict(max_cost=-5), InputError, "max_cost must be > 0"),
    (dict(level="ward"), InputError, "unknown level"),
    (dict(period=1990), InputError, "no demand rows for period 1990"),
    (dict(decay="cubic"), InputError, "unknown decay 'cubic'"),
    (dict(decay="gaussian"), InputError, "gaussian decay needs decay_param"),
    (dict(level="section"), InputError, "no zones of level 'section'"),
])
def test_bad_requests(city, kwargs, error, match):
    args = dict(service_type_id="rsa", period=2023, level="neighbourhood") | kwargs
    with pytest.raises(error, match=match):
        zone_accessibility(city, **args)


def test_demand_coarser_than_the_level_is_an_error(city):
    section = pd.DataFrame([dict(zone_id="015146-S1", municipality_code=tc.MUNI,
                                 level="section", name="S1", parent_id=N1, source_id="test",
                                 geometry=tc.sq(0, 0, 1000, 1000))])
    city["zone"] = pd.concat([city["zone"], section], ignore_index=True)
    with pytest.raises(InputError, match="demand for 2023 is stored only at levels coarser "
                                         "than section"):
        zone_accessibility(city, "rsa", 2023, "section")


def test_no_active_facility_is_an_error(city):
    fac = city["facility"]
    fac.loc[fac["service_type_id"] == "nursery", "active_from"] = 2030
    with pytest.raises(InputError, match="no facility of service type 'nursery' is active"):
        zone_accessibility(city, "nursery", 2023, "neighbourhood")


# --- building blocks -------------------------------------------------------------------

def test_zone_points_centroid_or_point_on_surface():
    square = tc.sq(0, 0, 2000, 2000)
    # an L whose centroid (in the notch) lies outside it
    ell = MultiPolygon([Polygon([(0, 0), (10, 0), (10, 1), (1, 1), (1, 10), (0, 10)])])
    pts = zone_points([square, ell.wkb, tc.pt(5, 6)])
    assert tuple(pts[0]) == (tc.X0 + 1000, tc.Y0 + 1000)
    from shapely.geometry import Point
    assert ell.covers(Point(pts[1])) and not ell.covers(ell.centroid)
    assert tuple(pts[2]) == (tc.X0 + 5, tc.Y0 + 6)
    with pytest.raises(GeometryError, match="geometry number 2 is missing"):
        zone_points([square, None])


def test_point_fca_hand_example():
    # demand a (0,0) 10, b (300,400) 30; supply f (0,0) 6 [zero cost to a],
    # g (600,800) 4 [exactly 500 from b, 1000 from a]; max_cost 500
    # f <- a (0), b (500): R_f = 6/40;  g <- b (500): R_g = 4/30
    # A_a = 6/40 = 0.15;  A_b = 0.15 + 4/30
    a = point_fca([10, 30], [[0, 0], [300, 400]], [6, 4], [[0, 0], [600, 800]], 500)
    np.testing.assert_allclose(a, [0.15, 0.15 + 4 / 30], rtol=1e-12)
    # 3SFCA: G_a = (1, 0), G_b = (.5, .5): R_f = 6/(10 + 15), R_g = 4/15
    a3 = point_fca([10, 30], [[0, 0], [300, 400]], [6, 4], [[0, 0], [600, 800]], 500,
                   method="3sfca")
    np.testing.assert_allclose(a3, [6 / 25, 0.5 * 6 / 25 + 0.5 * 4 / 15], rtol=1e-12)


def test_service_decay_mapping():
    assert service_decay(None) is None and service_decay("none", 5.0) is None
    lin = service_decay("linear", None, 1000.0)
    np.testing.assert_allclose(lin(np.array([0.0, 250.0, 1000.0])), [1.0, 0.75, 0.0])
    np.testing.assert_allclose(service_decay("exponential", 0.002)(np.array([500.0])),
                               [math.exp(-1)])
    np.testing.assert_allclose(service_decay("gravity", -2.0)(np.array([10.0])), [0.01])
    with pytest.raises(InputError, match="exponential decay needs decay_param"):
        service_decay("exponential", float("nan"))


def test_publish_hides_small_demand(city):
    from welfare_core.privacy import with_published_demand
    d = city["demand"]
    d.loc[(d.zone_id == N4) & (d.target_id == "pop_0_2"), "demand"] = 5.0  # suppressed (1-7)
    out = zone_accessibility(city, "nursery", 2023, "neighbourhood")
    on_pub = zone_accessibility(with_published_demand(city, sensitive=["pop_0_2"]),
                                "nursery", 2023, "neighbourhood")
    pub = publish_accessibility(out, level="neighbourhood", sensitive=["pop_0_2"],
                                on_published=on_pub)
    n4 = pub[pub["zone_id"] == N4].iloc[0]
    assert pd.isna(n4["demand"]) and pd.isna(n4["access"]) and pd.isna(n4["share_within"])
    n2 = pub[pub["zone_id"] == N2].iloc[0]
    assert n2["demand"] == 60 and n2["access"] == 50.0  # 30 places / 60 children, alone
    assert pub["published"].all()  # neighbourhoods are a fixed published geography
    assert not publish_accessibility(out, level="section", sensitive=["pop_0_2"],
                                     on_published=on_pub)[
        "published"].any()  # a sensitive target is not published by section
    assert publish_accessibility(out, level="section", on_published=on_pub)["published"].all()
    with pytest.raises(InputError, match="on_published"):
        publish_accessibility(out, level="neighbourhood")


def test_zone_points_given_once_give_the_same_values(city):
    # the centres of the squares, as zone_points finds them (each square covers its centroid)
    xy = np.array([[g.centroid.x, g.centroid.y] for g in city["zone"]["geometry"]])
    a = zone_accessibility(city, "rsa", 2023, "neighbourhood", max_cost=2600)
    b = zone_accessibility(city, "rsa", 2023, "neighbourhood", max_cost=2600, zone_xy=xy)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(InputError, match="zone_xy has shape"):
        zone_accessibility(city, "rsa", 2023, "neighbourhood", zone_xy=xy[:3])


# --- several service types in one call, and demand of the served targets only ---------

def test_every_type_in_one_call_equals_one_call_per_type(city):
    from welfare_core.zone_access import zone_accessibility_types

    for method in ("2sfca", "3sfca", "gravity"):
        every = zone_accessibility_types(city, None, 2023, "neighbourhood", method=method,
                                         max_cost=2600)
        each = pd.concat([zone_accessibility(city, s, 2023, "neighbourhood", method=method,
                                             max_cost=2600) for s in ("nursery", "rsa")],
                         ignore_index=True)
        pd.testing.assert_frame_equal(every, each)
    assert len(every) == 4 * 3
    # hand values (test_2sfca_neighbourhoods_by_hand): rsa, 65+, 2SFCA within 2600 m
    every = zone_accessibility_types(city, ["rsa", "nursery"], 2023, "neighbourhood",
                                     max_cost=2600)
    rsa = every[(every["service_type_id"] == "rsa") & (every["target_id"] == "pop_65plus")]
    close(dict(zip(rsa["zone_id"], rsa["access"])), {N1: 2.25, N2: 3.25, N3: NAN, N4: 1.0})


def test_carriers_keep_the_origins_when_only_served_demand_is_given(city):
    """The SQL door reads only the served targets' demand plus the zones carrying any
    demand (carriers): the origins must stay those of the full demand table.
    Here pop_0_2 is stored at N1, N2 and at district D2, and another target at N3 (a
    child of D2): with every row, D2 is an ancestor of a carrier and not an origin."""
    d = city["demand"]
    d = d[d["zone_id"].isin([N1, N2])]
    extra = pd.DataFrame([("015146-D2", "pop_0_2", 2023, 20.0, "test"),
                          (N3, "pop_65plus", 2023, 5.0, "test")], columns=d.columns)
    full = dict(city, demand=pd.concat([d, extra], ignore_index=True))
    served = dict(full, demand=full["demand"][full["demand"]["target_id"] == "pop_0_2"])
    carriers = full["demand"]["zone_id"].unique().tolist()
    want = zone_accessibility(full, "nursery", 2023, "district")
    got = zone_accessibility(served, "nursery", 2023, "district", carriers=carriers)
    pd.testing.assert_frame_equal(got, want)
    # without the carriers, D2 would become an origin and its 20 children count
    other = zone_accessibility(served, "nursery", 2023, "district")
    assert other["demand"].sum() == want["demand"].sum() + 20
