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
    core_t, core_s = zone_indicators(tc.tables(), level, 2023)
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
