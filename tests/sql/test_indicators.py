"""Zone indicators through the SQL door: same numbers as the core, runs stored, BI view safe."""
import math

import pandas as pd
import pytest
import psycopg

from fixtures import tiny_city as tc
from sql.wi_sql import assert_same, frame
from welfare_core.indicators import SERVICE_COLUMNS, TARGET_COLUMNS, zone_indicators


@pytest.mark.parametrize("level", ["neighbourhood", "district", "city"])
def test_sql_equals_core(loaded, level):
    core_t, _ = zone_indicators(tc.tables(), level, 2023)
    _, core_s = zone_indicators(tc.tables(), level, 2023, accessibility=True)
    with psycopg.connect(f"dbname={loaded}") as c:
        t = frame(c, "SELECT * FROM welfare.zone_indicators(%s, %s)", [level, 2023], TARGET_COLUMNS)
        s = frame(c, "SELECT * FROM welfare.zone_service_indicators(%s, %s)", [level, 2023],
                  SERVICE_COLUMNS)
    assert_same(t, core_t, ["target_id", "zone_id"])
    assert_same(s, core_s, ["service_type_id", "zone_id"])


def test_undefined_values_are_null_never_nan(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        nulls, nans = c.execute(
            "SELECT count(*) FILTER (WHERE coverage_per_100 IS NULL), "
            "count(*) FILTER (WHERE coverage_per_100 = 'NaN' OR incidence_per_100 = 'NaN' "
            "OR location_quotient = 'NaN' OR incidence_z = 'NaN') "
            "FROM welfare.zone_indicators('neighbourhood', 2023)").fetchone()
    assert (nulls, nans) == (4, 0)  # N3 x 3 targets and N4 alone 65+; never NaN


def test_hand_values_through_sql(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        got = dict(c.execute(
            "SELECT zone_id, gap FROM welfare.zone_service_indicators('neighbourhood', 2023) "
            "WHERE service_type_id = 'rsa'").fetchall())
        cov = c.execute("SELECT coverage_per_100, null_reason FROM welfare.zone_indicators("
                        "'neighbourhood', 2023, ARRAY['pop_65plus']) WHERE zone_id = '015146-N3'"
                        ).fetchone()
    assert got == pytest.approx({"015146-N1": 0.0, "015146-N2": 2.82, "015146-N3": 0.0,
                                 "015146-N4": 1.64})
    assert cov == (None, "no demand in the zone")


def test_run_is_stored_and_logged(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        run_id = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
        run = c.execute("SELECT kind, parameters, status, run_by = current_user, duration_ms > 0, "
                        "finished_at >= started_at FROM welfare.run WHERE run_id = %s",
                        [run_id]).fetchone()
        assert run == ("zone_indicators", {"level": "neighbourhood", "period": 2023}, "ok",
                       True, True, True)
        n = c.execute("SELECT count(*) FROM welfare.zone_indicator_result WHERE run_id = %s",
                      [run_id]).fetchone()[0]
        m = c.execute("SELECT count(*) FROM welfare.zone_service_result WHERE run_id = %s",
                      [run_id]).fetchone()[0]
        assert (n, m) == (4 * 3, 4 * 2)  # 4 neighbourhoods x 3 targets, x 2 service types
        c.rollback()


def test_bi_view_shows_latest_run_with_privacy(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)")
        latest = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
        rows = c.execute(
            "SELECT zone_id, target_id, demand, incidence_per_100, run_id, lat, lon, geojson "
            "FROM welfare_bi.zone_indicators ORDER BY target_id, zone_id").fetchall()
        c.rollback()
    assert {r[4] for r in rows} == {latest}
    by = {(r[0], r[1]): r for r in rows}
    # 300 -> 300, 100 -> 100, 0 -> 0, 200 -> 200 (multiples of 5 stay); alone 65+: 120, 30
    assert by[("015146-N1", "pop_65plus")][2] == 300
    assert by[("015146-N3", "pop_65plus")][2] == 0
    # lat/lon of a point inside N1 (x 510000-512000, y 5030000-5032000 in UTM 32N ~ 45.4 N, 9.1 E)
    lat, lon = by[("015146-N1", "pop_65plus")][5:7]
    assert 45.40 < lat < 45.44 and 9.12 < lon < 9.16
    assert '"MultiPolygon"' in by[("015146-N1", "pop_65plus")][7]


def test_bi_view_suppresses_small_counts(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        c.execute("UPDATE welfare.demand SET demand = 3 WHERE zone_id = '015146-N2' "
                  "AND target_id = 'pop_0_2'")
        c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)")
        row = c.execute("SELECT demand, incidence_per_100, coverage_per_100, gap, incidence_rank, "
                        "coverage_pct_rank FROM "
                        "welfare_bi.zone_indicators WHERE zone_id = '015146-N2' "
                        "AND target_id = 'pop_0_2'").fetchone()
        raw = c.execute("SELECT demand FROM welfare.zone_indicators('neighbourhood', 2023) "
                        "WHERE zone_id = '015146-N2' AND target_id = 'pop_0_2'").fetchone()
        c.rollback()
    assert row == (None, None, None, None, None, None)  # ranks would narrow the count down
    assert raw == (3.0,)


@pytest.mark.parametrize("level,period,sqlstate,match", [
    ("ward", 2023, "22023", "unknown level"),
    ("neighbourhood", 1990, "22023", "no demand rows for period 1990"),
    (None, 2023, "22023", "level and period are required"),
])
def test_bad_requests_are_clear_errors(loaded, level, period, sqlstate, match):
    with psycopg.connect(f"dbname={loaded}") as c:
        with pytest.raises(psycopg.Error) as err:
            c.execute("SELECT * FROM welfare.zone_indicators(%s, %s)", [level, period])
    assert err.value.sqlstate == sqlstate
    assert match in str(err.value)
    assert "Traceback" not in str(err.value) + (err.value.diag.context or "")
    assert not str(err.value).startswith(("plpy", "WelfareSqlError"))


def test_unknown_target_names_it(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        with pytest.raises(psycopg.Error, match="ghost") as err:
            c.execute("SELECT * FROM welfare.zone_indicators('district', 2023, ARRAY['ghost'])")
    assert err.value.sqlstate == "23503"


# Accessibility of the service rows, by hand (tiny city as loaded: rsa catchment 5000 m,
# nursery 1500 m, no decay). Every neighbourhood centre is within 3536 m of both rsa
# homes, so 2SFCA shares all 16 beds over all 600 residents 65+: 100 x 16/600 = 8/3 per
# 100 in every zone with demand, at every level. Nursery: only N2's centre (F3 on it) is
# within 1500 m: 30 places / 60 children -> 50 per 100 in N2, 0 in N1 and N4 (2000 m).
# Nearest rsa: N1 hypot(500, 500), N2 2000 (F2), N4 0 (F2 on its centre).
def test_accessibility_columns_by_hand(loaded):
    q = ("SELECT zone_id, access_per_100, nearest_cost, share_within, null_reason "
         "FROM welfare.zone_service_indicators(%s, 2023) WHERE service_type_id = %s "
         "ORDER BY zone_id")
    with psycopg.connect(f"dbname={loaded}") as c:
        rsa = c.execute(q, ["neighbourhood", "rsa"]).fetchall()
        nursery = c.execute(q, ["neighbourhood", "nursery"]).fetchall()
        district = c.execute(q, ["district", "nursery"]).fetchall()
    n = ["015146-N1", "015146-N2", "015146-N3", "015146-N4"]
    assert [r[0] for r in rsa] == n
    for got, want in zip(rsa, [(8 / 3, math.hypot(500, 500), 1.0), (8 / 3, 2000.0, 1.0), None,
                               (8 / 3, 0.0, 1.0)]):
        if want is None:
            assert got[1:] == (None, None, None, "no reference population in the zone")
        else:
            assert got[1:4] == pytest.approx(want, abs=1e-9) and got[4] is None
    assert nursery[2][1:4] == (None, None, None)
    assert [r[1:4] for r in nursery[:2] + nursery[3:]] == [
        pytest.approx((0.0, 2000.0, 0.0)), pytest.approx((50.0, 0.0, 1.0)),
        pytest.approx((0.0, 2000.0, 0.0))]
    # D1 = N1 + N2: (40 x 0 + 60 x 50)/100 = 30, nearest (40 x 2000)/100 = 800, share 0.6
    # D2 = N3 + N4 (children only in N4): 0, 2000, 0
    assert [r[1:4] for r in district] == [pytest.approx((30.0, 800.0, 0.6)),
                                          pytest.approx((0.0, 2000.0, 0.0))]


def test_accessibility_stored_and_published(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        # 12 children 0-2 in N4: published as 10, too few (< 20) for a rate or a mean
        c.execute("UPDATE welfare.demand SET demand = 12 WHERE zone_id = '015146-N4' "
                  "AND target_id = 'pop_0_2'")
        run_id = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)"
                           ).fetchone()[0]
        stored = c.execute(
            "SELECT zone_id, access_per_100, access_pub, nearest_cost_pub, share_within_pub "
            "FROM welfare.zone_service_result WHERE run_id = %s AND service_type_id = 'nursery' "
            "ORDER BY zone_id", [run_id]).fetchall()
        bi = c.execute(
            "SELECT zone_id, reference_population, coverage_per_100, access_per_100, "
            "nearest_cost, share_within, cost_unit, max_cost FROM "
            "welfare_bi.zone_service_indicators WHERE service_type_id = 'nursery' "
            "ORDER BY zone_id").fetchall()
        comments = c.execute(
            "SELECT count(*) FILTER (WHERE col_description(attrelid, attnum) IS NULL) "
            "FROM pg_attribute WHERE attrelid = 'welfare_bi.zone_service_indicators'::regclass "
            "AND attnum > 0").fetchone()[0]
        c.rollback()
    # raw: 30 places / (60 in N2) -> 50 in N2; N4 reaches nothing (0) however small
    assert [r[1] for r in stored] == [0.0, 50.0, None, 0.0]
    assert stored[3][2:] == (None, None, None) and stored[1][2:] == (50.0, 0.0, 1.0)
    assert bi[0] == ("015146-N1", 40.0, 0.0, 0.0, 2000.0, 0.0, "m", 1500.0)
    assert bi[1] == ("015146-N2", 60.0, 50.0, 50.0, 0.0, 1.0, "m", 1500.0)
    assert bi[3] == ("015146-N4", 10.0, None, None, None, None, "m", 1500.0)
    assert comments == 0
