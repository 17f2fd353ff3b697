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
