"""Zone indicators on the tiny city, every value worked out by hand.

Tiny city, 2023 (see tests/fixtures/tiny_city.py):
  residents  N1 1340, N2 1160, N3 1000, N4 1220 (all 4720)
  65+        N1 300,  N2 100,  N3 0,    N4 200
  0-2        N1 40,   N2 60,   N3 0,    N4 20
  alone 65+  N1 120,  N2 30 households (the only households)
  rsa beds: F1 12 in N1, F2 4 in N4; standard 2.82 per 100 65+; shares 65+ .75, alone .25
  nursery places: F3 30 in N2; standard 33 per 100 children 0-2
"""
import math

import pandas as pd
import pytest

from fixtures import tiny_city as tc
from welfare_core.errors import InputError, UnknownIdError
from welfare_core.geometry import locate_points
from welfare_core.indicators import ancestor_map, rank_min, zone_indicators

N = ["015146-N1", "015146-N2", "015146-N3", "015146-N4"]
NAN = float("nan")


@pytest.fixture
def city():
    return tc.tables()


def col(frame, key, subject, column):
    rows = frame[frame[key] == subject].set_index("zone_id")
    return [rows.loc[z, column] for z in sorted(rows.index)]


def close(actual, expected, tol=1e-9):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        if isinstance(e, float) and math.isnan(e):
            assert a is None or pd.isna(a), (actual, expected)
        else:
            assert a == pytest.approx(e, abs=tol), (actual, expected)


def test_service_rows_neighbourhood(city):
    _, s = zone_indicators(city, "neighbourhood", 2023)
    close(col(s, "service_type_id", "rsa", "reference_population"), [300, 100, 0, 200])
    close(col(s, "service_type_id", "rsa", "supply"), [12, 0, 0, 4])
    close(col(s, "service_type_id", "rsa", "coverage_per_100"), [4.0, 0.0, NAN, 2.0])
    close(col(s, "service_type_id", "rsa", "gap"), [0, 2.82, 0, 1.64])
    # coverage ranks among N1 4, N2 0, N4 2; N3 is NULL and not counted
    close(col(s, "service_type_id", "rsa", "coverage_rank"), [3, 1, NAN, 2])
    close(col(s, "service_type_id", "rsa", "coverage_pct_rank"), [1.0, 0.0, NAN, 0.5])
    sd = math.sqrt(8 / 3)
    close(col(s, "service_type_id", "rsa", "coverage_z"), [2 / sd, -2 / sd, NAN, 0.0])
    # gap ties: N1 and N3 both 0 share rank 1
    close(col(s, "service_type_id", "rsa", "gap_rank"), [1, 4, 1, 3])
    close(col(s, "service_type_id", "rsa", "gap_pct_rank"), [0, 1, 0, 2 / 3])
    close(col(s, "service_type_id", "nursery", "gap"), [13.2, 0, 0, 6.6])
    close(col(s, "service_type_id", "nursery", "coverage_rank"), [1, 3, NAN, 1])
    reasons = col(s, "service_type_id", "rsa", "null_reason")
    assert reasons[2] == "no reference population in the zone" and reasons[0] is None


def test_target_rows_neighbourhood(city):
    t, _ = zone_indicators(city, "neighbourhood", 2023)
    old = "pop_65plus"
    close(col(t, "target_id", old, "reference_population"), [1340, 1160, 1000, 1220])
    close(col(t, "target_id", old, "incidence_per_100"),
          [30000 / 1340, 10000 / 1160, 0.0, 20000 / 1220])
    close(col(t, "target_id", old, "supply"), [9, 0, 0, 3])          # 0.75 of the beds
    close(col(t, "target_id", old, "coverage_per_100"), [3.0, 0.0, NAN, 1.5])
    close(col(t, "target_id", old, "required"), [6.345, 2.115, 0, 4.23])
    close(col(t, "target_id", old, "gap"), [0, 2.115, 0, 1.23])
    close(col(t, "target_id", old, "location_quotient"),
          [(300 / 1340) / (600 / 4720), (100 / 1160) / (600 / 4720), 0.0,
           (200 / 1220) / (600 / 4720)])
    close(col(t, "target_id", old, "incidence_rank"), [4, 2, 1, 3])
    # household target: reference is all households, NULL where there are none
    alone = "alone_65plus"
    close(col(t, "target_id", alone, "incidence_per_100"), [100.0, 100.0, NAN, NAN])
    close(col(t, "target_id", alone, "supply"), [3, 0, 0, 1])        # 0.25 of the beds
    close(col(t, "target_id", alone, "coverage_per_100"), [2.5, 0.0, NAN, NAN])
    close(col(t, "target_id", alone, "gap"), [0, 0.705, 0, 0.41])
    close(col(t, "target_id", alone, "incidence_z"), [NAN, NAN, NAN, NAN])  # sd = 0
    assert "no demand" in col(t, "target_id", alone, "null_reason")[3]


def test_parent_totals_are_sums_of_children(city):
    t_n, s_n = zone_indicators(city, "neighbourhood", 2023)
    t_d, s_d = zone_indicators(city, "district", 2023)
    close(col(s_d, "service_type_id", "rsa", "reference_population"), [400, 200])
    close(col(s_d, "service_type_id", "rsa", "supply"), [12, 4])
    close(col(s_d, "service_type_id", "rsa", "coverage_per_100"), [3.0, 2.0])
    close(col(s_d, "service_type_id", "rsa", "gap"), [0.0, 1.64])  # 11.28 needed, 12 there
    t_n["district"] = t_n["parent_id"]
    sums = t_n.groupby(["district", "target_id"])[["demand", "supply",
                                                   "reference_population"]].sum()
    for (d, target), row in sums.iterrows():
        got = t_d[(t_d.zone_id == d) & (t_d.target_id == target)].iloc[0]
        for c in ("demand", "supply", "reference_population"):
            assert got[c] == pytest.approx(row[c])
    t_c, _ = zone_indicators(city, "city", 2023)
    assert t_c[t_c.target_id == "pop_65plus"].demand.item() == 600
    assert t_c.location_quotient.dropna().eq(1.0).all()


def test_rank_ties_minimum_and_percentiles():
    v = pd.Series([5.0, 1.0, 5.0, NAN, 3.0])
    r = rank_min(v, pd.Series(["a"] * 5))
    close(list(r["rank"]), [3, 1, 3, NAN, 2])
    close(list(r["pct_rank"]), [2 / 3, 0, 2 / 3, NAN, 1 / 3])
    single = rank_min(pd.Series([7.0]), pd.Series(["a"]))
    assert single["rank"][0] == 1 and pd.isna(single["pct_rank"][0])


def test_facility_on_a_border_goes_to_smallest_zone_id(city):
    zones = city["zone"][city["zone"].level == "neighbourhood"]
    on_border = [tc.pt(2000, 1000), tc.pt(2000, 2000), tc.pt(9000, 9000), tc.pt(3500, 100)]
    got = locate_points(on_border, zones.zone_id.tolist(), zones.geometry.tolist())
    assert list(got) == ["015146-N1", "015146-N1", None, "015146-N3"]


def test_only_facilities_active_in_the_period_count(city):
    city["facility"].loc[0, "active_to"] = 2020   # F1 closed before 2023
    _, s = zone_indicators(city, "neighbourhood", 2023)
    close(col(s, "service_type_id", "rsa", "supply"), [0, 0, 0, 4])


def test_ancestor_map_walks_levels(city):
    up = ancestor_map(city["zone"], "district")
    assert up["015146-N3"] == "015146-D2" and up["015146-D1"] == "015146-D1"
    assert "015146" not in up.index


@pytest.mark.parametrize("level,period,targets,error,match", [
    ("ward", 2023, None, InputError, "unknown level"),
    ("section", 2023, None, InputError, "no zones of level"),
    ("neighbourhood", 1999, None, InputError, "no demand rows for period 1999"),
    ("neighbourhood", 2023, ["ghost"], UnknownIdError, "ghost"),
])
def test_bad_requests_say_what_to_change(city, level, period, targets, error, match):
    with pytest.raises(error, match=match):
        zone_indicators(city, level, period, targets=targets)


def test_facility_in_a_parent_not_covered_by_its_children_counts(city):
    # a section covering only the south-west corner of N1: F1 (500, 500) lies outside it,
    # inside N1; it must still count for N1 and D1
    extra = city["zone"].iloc[[3]].copy()
    extra["zone_id"], extra["level"], extra["parent_id"] = "015146-S1", "section", "015146-N1"
    extra["geometry"] = [tc.sq(0, 0, 100, 100)]
    city["zone"] = pd.concat([city["zone"], extra], ignore_index=True)
    _, s = zone_indicators(city, "neighbourhood", 2023)
    close(col(s, "service_type_id", "rsa", "supply"), [12, 0, 0, 4])


# --- accessibility columns of the service rows (zone_access driver, by hand) ----------------
# Neighbourhood points are the squares' centres: N1 (1000, 1000), N2 (1000, 3000),
# N3 (3000, 1000), N4 (3000, 3000). Reference populations: 65+ 300, 100, 0, 200;
# 0-2 40, 60, 0, 20. The whole capacity of a type serves its reference population.
# rsa with max_cost 2600 m, no decay (F1 12 beds (500, 500), F2 4 beds (3000, 3000)):
#   F1 <- N1 707.1, N2 2549.5, N3 2549.5; F2 <- N2 2000, N3 2000, N4 0 (N1 2828.4 > 2600)
#   R1 = 12 / (300 + 100 + 0) = 0.03; R2 = 4 / (100 + 0 + 200) = 1/75
#   access per 100: N1 3.0, N2 100 (0.03 + 1/75) = 4.3333, N4 100/75 = 1.3333
#   nearest: N1 707.107 (F1), N2 2000 (F2), N4 0 (F2 on its centre); share within: 1, 1, 1
# nursery, max_cost 1500 m, no decay (F3 30 places at (1000, 3000) = N2's centre):
#   only N2 is within 1500 m (N1, N4 at 2000, N3 at 2828.4): R = 30 / 60 = 0.5
#   access per 100: N1 0, N2 50, N4 0; nearest 2000, 0, 2000; share within 0, 1, 0
# Parents, demand-weighted means of the neighbourhoods' values:
#   D1 (N1, N2): rsa access (300·3 + 100·4.3333)/400 = 3.3333,
#                nearest (300·707.107 + 100·2000)/400 = 1030.330;
#                nursery access (40·0 + 60·50)/100 = 30, nearest 80000/100 = 800, share 0.6
#   D2 (N3, N4): demand only in N4: rsa 1.3333, 0, 1; nursery 0, 2000, 0
#   city: rsa access 1600/600 = 2.6667, nearest (212132.03 + 200000)/600 = 686.887;
#         nursery 3000/120 = 25, nearest 120000/120 = 1000, share 60/120 = 0.5
R707 = math.hypot(500, 500)


@pytest.fixture
def rsa2600(city):
    city["service_type"].loc[city["service_type"].service_type_id == "rsa", "max_cost"] = 2600.0
    return city


@pytest.mark.parametrize("level, zones, rsa, nursery", [
    ("neighbourhood", N,
     {"access_per_100": [3.0, 13 / 3, NAN, 4 / 3], "nearest_cost": [R707, 2000, NAN, 0],
      "share_within": [1, 1, NAN, 1]},
     {"access_per_100": [0, 50, NAN, 0], "nearest_cost": [2000, 0, NAN, 2000],
      "share_within": [0, 1, NAN, 0]}),
    ("district", ["015146-D1", "015146-D2"],
     {"access_per_100": [10 / 3, 4 / 3], "nearest_cost": [(300 * R707 + 100 * 2000) / 400, 0],
      "share_within": [1, 1]},
     {"access_per_100": [30, 0], "nearest_cost": [800, 2000], "share_within": [0.6, 0]}),
    ("city", ["015146"],
     {"access_per_100": [1600 / 600], "nearest_cost": [(300 * R707 + 100 * 2000) / 600],
      "share_within": [1]},
     {"access_per_100": [25], "nearest_cost": [1000], "share_within": [0.5]}),
])
def test_service_accessibility_by_hand(rsa2600, level, zones, rsa, nursery):
    _, s = zone_indicators(rsa2600, level, 2023, accessibility=True)
    for stype, expected in (("rsa", rsa), ("nursery", nursery)):
        assert sorted(s.loc[s.service_type_id == stype, "zone_id"]) == zones
        for column, values in expected.items():
            close(col(s, "service_type_id", stype, column), [float(v) for v in values])
    if level == "neighbourhood":
        assert col(s, "service_type_id", "rsa", "null_reason")[2] == \
            "no reference population in the zone"
    assert s["null_reason"].notna().sum() == (2 if level == "neighbourhood" else 0)


def test_service_accessibility_is_off_by_default(city):
    _, s = zone_indicators(city, "neighbourhood", 2023)
    assert s[["access_per_100", "nearest_cost", "share_within"]].isna().all().all()
    _, with_access = zone_indicators(city, "neighbourhood", 2023, accessibility=True)
    other = [c for c in s.columns if c not in ("access_per_100", "nearest_cost", "share_within")]
    pd.testing.assert_frame_equal(s[other], with_access[other])


# 3SFCA, same rsa catchments, W = 1: selection weights G = 1 / (facilities in reach):
#   N1 {F1}: 1; N2 {F1, F2}: 1/2 each; N4 {F2}: 1
#   R1 = 12 / (300·1 + 100·½) = 12/350; R2 = 4 / (100·½ + 200·1) = 0.016
#   access per 100: N1 1200/350, N2 100 (½·12/350 + ½·0.016), N4 1.6
#   (supply conserved: 300·3.4286 + 100·2.5143 + 200·1.6 = 1600 = 100 × 16 beds)
def test_service_accessibility_3sfca_by_hand(rsa2600):
    _, s = zone_indicators(rsa2600, "neighbourhood", 2023, accessibility=True,
                           access_method="3sfca")
    close(col(s, "service_type_id", "rsa", "access_per_100"),
          [1200 / 350, 100 * (6 / 350 + 0.008), NAN, 1.6])


# A ring comune east of the city (not subdivided, level city) with 100 residents 65+ at
# (5000, 3000): 2000 m from F2, 5147.8 m from F1, so it competes for F2 only:
#   R2 = 4 / (100 + 200 + 100) = 0.01 -> N2 100 (0.03 + 0.01) = 4, N4 1; N1 still 3
#   city 015146: (300·3 + 100·4 + 200·1)/600 = 2.5; the ring comune is not reported
def test_ring_demand_competes_but_is_not_reported(rsa2600):
    z = rsa2600["zone"]
    ring = z.iloc[[0]].copy()
    ring["zone_id"], ring["municipality_code"], ring["name"] = "015999", "015999", "Ring"
    ring["geometry"] = [tc.sq(4000, 2000, 6000, 4000)]
    rsa2600["zone"] = pd.concat([z, ring], ignore_index=True)
    d = rsa2600["demand"]
    rsa2600["demand"] = pd.concat([d, pd.DataFrame([("015999", "pop_65plus", 2023, 100.0,
                                                     "test")], columns=d.columns)])
    _, s = zone_indicators(rsa2600, "neighbourhood", 2023, accessibility=True)
    close(col(s, "service_type_id", "rsa", "access_per_100"), [3.0, 4.0, NAN, 1.0])
    _, c = zone_indicators(rsa2600, "city", 2023, accessibility=True)
    close(col(c, "service_type_id", "rsa", "access_per_100"), [2.5, NAN])
    close(col(c, "service_type_id", "rsa", "reference_population"), [600, 100])
    assert col(c, "service_type_id", "rsa", "null_reason") == [
        None, "outside the study area of the catchments"]


def test_service_type_without_open_facility_reaches_nobody(city):
    city["facility"].loc[city["facility"].facility_id == "F3", "active_to"] = 2020
    _, s = zone_indicators(city, "neighbourhood", 2023, accessibility=True)
    close(col(s, "service_type_id", "nursery", "access_per_100"), [0, 0, NAN, 0])
    close(col(s, "service_type_id", "nursery", "share_within"), [0, 0, NAN, 0])
    close(col(s, "service_type_id", "nursery", "nearest_cost"), [NAN] * 4)
    assert col(s, "service_type_id", "nursery", "null_reason")[0] == "no facility of this type"


def test_published_accessibility_is_hidden_like_coverage(city):
    from welfare_core.privacy import publish_zone_indicators
    d = city["demand"]
    d.loc[(d.zone_id == "015146-N4") & (d.target_id == "pop_0_2"), "demand"] = 12.0
    from welfare_core.indicators import service_access
    from welfare_core.privacy import with_published_demand
    _, s = zone_indicators(city, "neighbourhood", 2023, accessibility=True)
    access = service_access(with_published_demand(city), "neighbourhood", 2023)
    pub = publish_zone_indicators(s, level="neighbourhood", access=access)
    # without the access computed on published demand, the means are not published
    assert publish_zone_indicators(s, level="neighbourhood")["access_per_100"].isna().all()
    # N4's 12 children: published as 10, too few for a rate (< 20): every mean hidden
    for c in ("coverage_per_100", "access_per_100", "nearest_cost", "share_within"):
        assert pd.isna(col(pub, "service_type_id", "nursery", c)[3]), c
    close(col(pub, "service_type_id", "nursery", "access_per_100"), [0, 50, NAN, NAN])
    close(col(pub, "service_type_id", "nursery", "nearest_cost"), [2000, 0, NAN, NAN])


@pytest.mark.parametrize("change, error, match", [
    (dict(access_method="gravity"), InputError, "unknown access_method"),
    (dict(decay="gaussian"), InputError, "service type 'rsa': gaussian decay needs"),
])
def test_bad_accessibility_requests_say_what_to_change(city, change, error, match):
    st = city["service_type"]
    if "decay" in change:
        st.loc[st.service_type_id == "rsa", "decay"] = change["decay"]
    method = change.get("access_method", "2sfca")
    with pytest.raises(error, match=match):
        zone_indicators(city, "neighbourhood", 2023, accessibility=True, access_method=method)
