"""Forecasts through the SQL door: same numbers as the core, runs stored, BI view safe, clear errors."""
import numpy as np
import pandas as pd
import psycopg
import pytest

from fixtures import tiny_city as tc
from sql.wi_sql import assert_same, frame, import_all
from welfare_core import forecast as fc
from welfare_core.indicators import SERVICE_COLUMNS, TARGET_COLUMNS, zone_indicators

YEARS = range(2016, 2024)
SQL_COLUMNS = ["zone_id", "level", "target_id", "unit", "period", "base_period", "demand",
               "lower", "upper", "method", "note"]


def history_city():
    """The tiny city with eight years of whole-person pyramids by neighbourhood (N3 empty)."""
    t = tc.tables()
    rng = np.random.default_rng(2016)
    ages = np.arange(fc.AGES)
    rows = []
    for zone, size in (("015146-N1", 30), ("015146-N2", 12), ("015146-N4", 3)):
        pyramid = size * np.exp(-0.012 * ages) * (1 + (ages < 85))
        for year in YEARS:
            for sex in ("F", "M"):
                counts = rng.poisson(pyramid * (1 + 0.01 * (year - 2016)))
                rows.append(pd.DataFrame({"zone_id": zone, "period": year, "sex": sex,
                                          "age": ages, "persons": counts.astype(float)}))
    t["population"] = pd.concat(rows, ignore_index=True).assign(source_id="test")
    return t


@pytest.fixture(scope="module")
def loaded(dbname):
    with psycopg.connect(f"dbname={dbname}") as c:
        assert import_all(c, history_city()) == []
        c.commit()
    return dbname


@pytest.mark.parametrize("args", [
    dict(target="pop_65plus", horizon=7),
    dict(target="pop_0_2", horizon=10, step=5, level="district", control="cohort_component"),
    dict(target="pop_65plus", horizon=4, method="log_linear", level="city"),
])
def test_sql_equals_core(loaded, args):
    a = dict(method="hamilton_perry", level="neighbourhood", step=1, control=None) | args
    core = fc.forecast_demand(history_city(), [a["target"]], a["horizon"], method=a["method"],
                              level=a["level"], step=a["step"], control=a["control"])
    with psycopg.connect(f"dbname={loaded}") as c:
        got = frame(c, "SELECT * FROM welfare.forecast_demand(%s, %s, %s, %s, %s, %s)",
                    [a["target"], a["horizon"], a["method"], a["level"], a["step"],
                     a["control"]], SQL_COLUMNS)
    assert_same(got, core[SQL_COLUMNS], ["zone_id", "period"], abs_tol=1e-9)
    assert got["lower"].notna().all() and (got["lower"] <= got["demand"] + 1e-9).all()
    assert (got["upper"] >= got["demand"] - 1e-9).all()


def test_run_is_stored_logged_and_published_in_bi(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        run_id = c.execute("SELECT welfare.run_forecast_demand('pop_65plus', 7)").fetchone()[0]
        run = c.execute("SELECT kind, parameters ->> 'target', status, duration_ms > 0, "
                        "message LIKE 'Hamilton-Perry%%' FROM welfare.run WHERE run_id = %s",
                        [run_id]).fetchone()
        assert run == ("forecast_demand", "pop_65plus", "ok", True, True)
        n, raw = c.execute("SELECT count(*), sum(demand) FROM welfare.forecast_result "
                           "WHERE run_id = %s AND period = 2030", [run_id]).fetchone()
        core = fc.forecast_demand(history_city(), ["pop_65plus"], 7)
        assert n == 4 and raw == pytest.approx(core.loc[core["period"] == 2030, "demand"].sum())
        bi = c.execute("SELECT demand, lower, upper, lat, lon, geojson, observed FROM "
                       "welfare_bi.demand_forecast WHERE run_id = %s", [run_id]).fetchall()
        assert len(bi) == 4 * 8
        for demand, lower, upper, lat, lon, geojson, _ in bi:
            for v in (demand, lower, upper):
                assert v is None or v % 5 == 0          # rounded to 5, or suppressed
            assert 45 < lat < 46 and 9 < lon < 10 and geojson.startswith('{"type":"MultiPolygon"')
        assert sum(r[6] for r in bi) == 4                # one observed base row per zone
        comments = c.execute(
            "SELECT count(*) FILTER (WHERE col_description('welfare_bi.demand_forecast'::regclass,"
            " attnum) IS NULL) FROM pg_attribute WHERE attrelid = "
            "'welfare_bi.demand_forecast'::regclass AND attnum > 0").fetchone()[0]
        assert comments == 0


def test_future_indicators_equal_core_and_leave_demand_alone(loaded):
    t = history_city()
    core_t, core_s = zone_indicators(fc.future_tables(t, "neighbourhood", 2030), "neighbourhood",
                                     2030)
    with psycopg.connect(f"dbname={loaded}") as c:
        before = c.execute("SELECT count(*), sum(demand) FROM welfare.demand").fetchone()
        got_t = frame(c, "SELECT * FROM welfare.forecast_indicators('neighbourhood', 2030)", [],
                      TARGET_COLUMNS)
        got_s = frame(c, "SELECT * FROM welfare.forecast_service_indicators('neighbourhood', "
                         "2030)", [], SERVICE_COLUMNS)
        assert c.execute("SELECT count(*), sum(demand) FROM welfare.demand").fetchone() == before
    # the tiny city has one year of households: its household target is left out, not zero
    assert "alone_65plus" not in set(got_t["target_id"]) and len(got_t) == 4 * 2
    assert_same(got_t, core_t[list(TARGET_COLUMNS)], ["target_id", "zone_id"], abs_tol=1e-9)
    assert_same(got_s, core_s[list(SERVICE_COLUMNS)], ["service_type_id", "zone_id"], abs_tol=1e-9)


@pytest.mark.parametrize("call, state, fragment", [
    ("welfare.forecast_demand('nope', 7)", "23503", "unknown target"),
    ("welfare.forecast_demand('pop_65plus', 0)", "22023", "horizon"),
    ("welfare.forecast_demand('pop_65plus', -2)", "22023", "horizon"),
    ("welfare.forecast_demand('pop_65plus', 7, 'arima')", "22023", "unknown method"),
    ("welfare.forecast_demand('pop_65plus', 7, level => 'block')", "22023", "unknown level"),
    ("welfare.forecast_demand('alone_65plus', 7)", "22023", "Hamilton-Perry"),
    ("welfare.forecast_demand('alone_65plus', 7, 'linear')", "22023", "too little households"),
    ("welfare.forecast_demand('pop_65plus', 7, level => 'section')", "22023",
     "no zones of level"),
    ("welfare.run_forecast_demand('pop_65plus', 0)", "22023", "horizon"),
    ("welfare.forecast_indicators('neighbourhood', 2023)", "22023", "not after"),
])
def test_clear_errors(loaded, call, state, fragment):
    with psycopg.connect(f"dbname={loaded}") as c:
        with pytest.raises(psycopg.Error) as err:
            c.execute(f"SELECT * FROM {call}")
    assert err.value.sqlstate == state
    assert fragment in err.value.diag.message_primary
    assert "Traceback" not in str(err.value) and "plpy" not in err.value.diag.message_primary


def test_zone_indicators_take_a_future_period(loaded):
    """After the last population year the indicator functions use the projection."""
    with psycopg.connect(f"dbname={loaded}") as c:
        direct = frame(c, "SELECT * FROM welfare.zone_indicators('neighbourhood', 2030, "
                          "ARRAY['pop_65plus'])", [], TARGET_COLUMNS)
        via = frame(c, "SELECT * FROM welfare.forecast_indicators('neighbourhood', 2030)", [],
                    TARGET_COLUMNS)
        services = frame(c, "SELECT * FROM welfare.zone_service_indicators('neighbourhood', "
                            "2030)", [], SERVICE_COLUMNS)
        via_s = frame(c, "SELECT * FROM welfare.forecast_service_indicators('neighbourhood', "
                         "2030)", [], SERVICE_COLUMNS)
        run_id = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2030)").fetchone()[0]
        stored = c.execute("SELECT count(*), min(period), max(period) FROM "
                           "welfare.zone_indicator_result WHERE run_id = %s", [run_id]).fetchone()
        c.rollback()
    assert_same(direct, via[via.target_id == "pop_65plus"], ["target_id", "zone_id"])
    assert_same(services, via_s, ["service_type_id", "zone_id"])
    assert stored == (len(via), 2030, 2030)
