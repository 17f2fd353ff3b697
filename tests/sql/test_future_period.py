"""A future period through accessibility, scenarios and optimisation (issue 8).

The tiny city with eight years of population history (tests/sql/test_forecast.py),
its demand table made consistent with it (persons aged 0-2 / 65+ per zone and
year). After the last population year (2023) every function must work on the
demand projected by welfare_core.forecast (Hamilton-Perry at neighbourhood
level, default damping); the expected numbers below are worked out by hand from
those projected counts and the fixture's geometry:

* neighbourhood points are the square centres N1 (1000, 1000), N2 (1000, 3000),
  N3 (3000, 1000), N4 (3000, 3000) (+ X0, Y0); N3 has nobody.
* nursery F3 (30 places) sits on N2's centre; the nursery catchment is 1500 m,
  so only N2 reaches it (N1, N4 are 2000 m away): 2SFCA access of N2 =
  100 x 30 / D_N2, 0 elsewhere.
* RSA F1 (500, 500) is 707 m from N1, F2 (3000, 3000) is on N4, candidate S1
  (2500, 1000) 1500 m from N1: with a 1000 m cutoff the RSA covers N1 and N4.
"""
import numpy as np
import pandas as pd
import psycopg
import pytest

from fixtures import tiny_city as tc
from sql.test_forecast import history_city
from sql.wi_sql import import_all
from welfare_core import forecast as fc

FUTURE, PRESENT = 2030, 2023


def city():
    t = history_city()
    pop = t["population"]
    rows = []
    for target, lo, hi in (("pop_0_2", 0, 2), ("pop_65plus", 65, 100)):
        d = (pop[pop["age"].between(lo, hi)].groupby(["zone_id", "period"], as_index=False)
             ["persons"].sum().rename(columns={"persons": "demand"}))
        rows.append(d.assign(target_id=target))
    hh = t["demand"][t["demand"]["target_id"] == "alone_65plus"]
    t["demand"] = pd.concat(rows + [hh], ignore_index=True).assign(source_id="test")
    return t


def projected(target, year=FUTURE):
    """Demand of ``target`` per neighbourhood in ``year``, by welfare_core.forecast_demand."""
    f = fc.forecast_demand(city(), [target], year - PRESENT, level="neighbourhood")
    return f[f["period"] == year].set_index("zone_id")["demand"]


def present(target):
    d = city()["demand"]
    return d[(d["target_id"] == target) & (d["period"] == PRESENT)].set_index("zone_id")["demand"]


@pytest.fixture(scope="module")
def loaded(dbname):
    with psycopg.connect(f"dbname={dbname}") as c:
        assert import_all(c, city()) == []
        c.commit()
    return dbname


@pytest.fixture(scope="module")
def untouched(loaded):
    """Counts and sums of the real tables, checked again after every test."""
    q = ("SELECT (SELECT count(*) FROM welfare.demand), (SELECT sum(demand) FROM welfare.demand), "
         "(SELECT count(*) FROM welfare.population), (SELECT sum(persons) FROM welfare.population), "
         "(SELECT max(period) FROM welfare.demand)")
    with psycopg.connect(f"dbname={loaded}") as c:
        before = c.execute(q).fetchone()
    yield loaded
    with psycopg.connect(f"dbname={loaded}") as c:
        assert c.execute(q).fetchone() == before
    assert before[4] == PRESENT


def test_demand_grows_in_the_fixture():
    """The premise of the 'future differs from present' checks below."""
    assert projected("pop_0_2")["015146-N2"] > 1.2 * present("pop_0_2")["015146-N2"]
    assert abs(projected("pop_65plus")["015146-N2"] / present("pop_65plus")["015146-N2"] - 1) > 0.1


def access(c, year):
    rows = c.execute("SELECT zone_id, access, demand, null_reason FROM welfare.accessibility("
                     "'nursery', %s, 'neighbourhood') WHERE target_id = 'pop_0_2'",
                     [year]).fetchall()
    return {z: (a, d, r) for z, a, d, r in rows}


def test_accessibility_of_a_future_year_uses_projected_demand(untouched):
    with psycopg.connect(f"dbname={untouched}") as c:
        future, now = access(c, FUTURE), access(c, PRESENT)
        run_id = c.execute("SELECT welfare.run_accessibility('nursery', %s, 'neighbourhood')",
                           [FUTURE]).fetchone()[0]
        stored = c.execute("SELECT min(period), max(period), max(access) FILTER (WHERE zone_id "
                           "= '015146-N2' AND target_id = 'pop_0_2') FROM "
                           "welfare.accessibility_result WHERE run_id = %s", [run_id]).fetchone()
        c.rollback()
    for year, got, dem in ((FUTURE, future, projected("pop_0_2")),
                           (PRESENT, now, present("pop_0_2"))):
        for zone in ("015146-N1", "015146-N2", "015146-N4"):
            assert got[zone][1] == pytest.approx(dem[zone], rel=1e-9), (year, zone)
        assert got["015146-N2"][0] == pytest.approx(100 * 30 / dem["015146-N2"], rel=1e-9)
        assert got["015146-N1"][0] == pytest.approx(0.0, abs=1e-12)
        assert got["015146-N4"][0] == pytest.approx(0.0, abs=1e-12)
        assert got["015146-N3"][0] is None and got["015146-N3"][2] == "no demand in the zone"
    assert future["015146-N2"][0] < 0.8 * now["015146-N2"][0]
    assert stored[:2] == (FUTURE, FUTURE)
    assert stored[2] == pytest.approx(100 * 30 / projected("pop_0_2")["015146-N2"], rel=1e-9)


def test_scenario_comparison_of_a_future_year(untouched):
    """Doubling the nursery: base coverage 100 x 30 / D, scenario 100 x 60 / D (N2 only)."""
    with psycopg.connect(f"dbname={untouched}") as c:
        sid = c.execute("SELECT welfare.create_scenario('double the nursery')").fetchone()[0]
        c.execute("SELECT welfare.add_scenario_change(%s, 'capacity', "
                  "'{\"facility_id\": \"F3\", \"mode\": \"set\", \"value\": 60}')", [sid])
        got = {}
        for year in (FUTURE, PRESENT):
            rows = c.execute(
                "SELECT measure, base, scenario, change FROM welfare.compare_scenarios("
                "NULL, %s, 'neighbourhood', %s) WHERE zone_id = '015146-N2' AND "
                "target_id = 'pop_0_2'", [sid, year]).fetchall()
            got[year] = {m: (b, s, ch) for m, b, s, ch in rows}
        run_id = c.execute("SELECT welfare.run_scenario(%s, 'neighbourhood', %s)",
                           [sid, FUTURE]).fetchone()[0]
        stored = c.execute("SELECT base, scenario FROM welfare.scenario_result WHERE run_id = %s "
                           "AND zone_id = '015146-N2' AND target_id = 'pop_0_2' AND measure = "
                           "'coverage_per_100'", [run_id]).fetchone()
        c.rollback()
    for year, dem in ((FUTURE, projected("pop_0_2")["015146-N2"]),
                      (PRESENT, present("pop_0_2")["015146-N2"])):
        g = got[year]
        assert g["demand"][0] == pytest.approx(dem, rel=1e-9)
        assert g["coverage_per_100"][:2] == pytest.approx((3000 / dem, 6000 / dem), rel=1e-9)
        assert g["access"][:2] == pytest.approx((3000 / dem, 6000 / dem), rel=1e-9)
        assert g["gap"][0] == pytest.approx(max(0.0, 0.33 * dem - 30), rel=1e-9)
    assert got[FUTURE]["coverage_per_100"][0] < 0.8 * got[PRESENT]["coverage_per_100"][0]
    assert stored == pytest.approx(got[FUTURE]["coverage_per_100"][:2], rel=1e-9)


def test_optimise_locations_and_closure_of_a_future_year(untouched):
    """MCLP with a 1000 m cutoff: the RSA covers N1 and N4, S1 adds nobody."""
    with psycopg.connect(f"dbname={untouched}") as c:
        pct = {year: c.execute(
            "SELECT DISTINCT coverage_pct_before, coverage_pct_after FROM "
            "welfare.optimise_locations('rsa', 'mclp', 1, %s, max_cost => 1000)",
            [year]).fetchall() for year in (FUTURE, PRESENT)}
        closure = c.execute("SELECT DISTINCT covered_before FROM welfare.closure_plan('rsa', 1, "
                            "%s, max_cost => 1000)", [FUTURE]).fetchall()
        sweep = c.execute("SELECT new_sites, covered FROM welfare.sweep_locations('rsa', 'mclp', "
                          "1, %s, max_cost => 1000) ORDER BY new_sites", [FUTURE]).fetchall()
        run_id = c.execute("SELECT welfare.run_optimise_locations('rsa', 'mclp', 1, %s, "
                           "max_cost => 1000)", [FUTURE]).fetchone()[0]
        summary = c.execute("SELECT period, total_demand FROM welfare.optimise_summary "
                            "WHERE run_id = %s", [run_id]).fetchone()
        c.rollback()
    d = projected("pop_65plus")
    share = (d["015146-N1"] + d["015146-N4"]) / d.sum()
    assert len(pct[FUTURE]) == 1
    assert pct[FUTURE][0] == pytest.approx((100 * share, 100 * share), rel=1e-9)
    # in 2023 the one-person 65+ households (N1 120, N2 30) weigh 0.25 as well; they cannot
    # be projected (one year of households), so the future weights are 0.75 x 65+ only
    now = present("pop_65plus")
    hh = {"015146-N1": 120.0, "015146-N2": 30.0, "015146-N4": 0.0}
    w = {z: 0.75 * now[z] + 0.25 * hh[z] for z in hh}
    assert pct[PRESENT][0][0] == pytest.approx(
        100 * (w["015146-N1"] + w["015146-N4"]) / sum(w.values()), rel=1e-9)
    assert pct[FUTURE][0][0] != pytest.approx(pct[PRESENT][0][0], rel=1e-3)
    covered = 0.75 * (d["015146-N1"] + d["015146-N4"])
    assert closure == [(pytest.approx(covered, rel=1e-9),)]
    assert sweep[0] == (0, pytest.approx(covered, rel=1e-9))
    assert summary == (FUTURE, pytest.approx(0.75 * d.sum(), rel=1e-9))


def test_allocate_capacity_of_a_future_year(untouched):
    """Need = 0.33 x D (nursery standard); F3 reaches N2 only: covered = min(0.33 D_N2, 30 + 10)."""
    with psycopg.connect(f"dbname={untouched}") as c:
        got = {year: c.execute(
            "SELECT coverage_pct_before, coverage_pct_after, added_capacity FROM "
            "welfare.allocate_capacity('nursery', 10, %s) WHERE site_id = 'F3'",
            [year]).fetchone() for year in (FUTURE, PRESENT)}
        run_id = c.execute("SELECT welfare.run_allocate_capacity('nursery', 10, %s)",
                           [FUTURE]).fetchone()[0]
        total = c.execute("SELECT total_demand FROM welfare.optimise_summary WHERE run_id = %s",
                          [run_id]).fetchone()[0]
        c.rollback()
    for year, d in ((FUTURE, projected("pop_0_2")), (PRESENT, present("pop_0_2"))):
        need = 0.33 * d[["015146-N1", "015146-N2", "015146-N4"]]
        assert need["015146-N2"] > 40  # the budget is used in full
        before, after, added = got[year]
        assert before == pytest.approx(100 * 30 / need.sum(), rel=1e-6)
        assert after == pytest.approx(100 * 40 / need.sum(), rel=1e-6)
        assert added == pytest.approx(10.0)
    assert total == pytest.approx(0.33 * projected("pop_0_2").sum(), rel=1e-9)


def test_future_facilities_follow_their_active_years(untouched):
    """A nursery closing in 2027 is gone in 2030 (active_to < period): F3 alone remains."""
    with psycopg.connect(f"dbname={untouched}") as c:
        c.execute("INSERT INTO welfare.facility (facility_id, municipality_code, service_type_id, "
                  "name, provider_org, capacity, active_from, active_to, published, source_id, "
                  "geom) VALUES ('F9', %s, 'nursery', 'Nido chiuso', 'Comune', 50, NULL, 2027, "
                  "true, 'test', ST_SetSRID(ST_MakePoint(%s, %s), 32632))",
                  [tc.MUNI, tc.X0 + 1000, tc.Y0 + 3000])
        future, now = access(c, FUTURE), access(c, PRESENT)
        c.rollback()
    assert future["015146-N2"][0] == pytest.approx(3000 / projected("pop_0_2")["015146-N2"])
    assert now["015146-N2"][0] == pytest.approx(8000 / present("pop_0_2")["015146-N2"])


@pytest.mark.parametrize("call", [
    "welfare.accessibility('nursery', 2015)",
    "welfare.compare_scenarios(NULL, NULL, 'neighbourhood', 2015)",
    "welfare.optimise_locations('rsa', 'mclp', 1, 2015)",
    "welfare.allocate_capacity('nursery', 10, 2015)",
    "welfare.closure_plan('rsa', 1, 2015)",
    "welfare.sweep_locations('rsa', 'mclp', 1, 2015)",
    "welfare.zone_indicators('neighbourhood', 2015)",
])
def test_a_period_before_the_history_is_a_clear_error(untouched, call):
    with psycopg.connect(f"dbname={untouched}") as c:
        with pytest.raises(psycopg.Error) as err:
            c.execute(f"SELECT * FROM {call}")
    assert err.value.sqlstate == "22023"
    assert "before the first population year 2016" in err.value.diag.message_primary
    assert "2023" in err.value.diag.message_hint
    assert "Traceback" not in str(err.value)


def test_sample_shaped_carriers():
    """Sections (2 years) under neighbourhoods (8 years) and a ring comune at city level:
    the future rows sit on the sections and the comune, and a neighbourhood's sections
    sum to its own projection."""
    t = history_city()
    zone = t["zone"]
    n1 = zone[zone["zone_id"] == "015146-N1"].iloc[0]
    extra = pd.DataFrame([
        {**n1.to_dict(), "zone_id": "015146-S1a", "level": "section", "parent_id": "015146-N1"},
        {**n1.to_dict(), "zone_id": "015146-S1b", "level": "section", "parent_id": "015146-N1"},
        {**n1.to_dict(), "zone_id": "015999", "level": "city", "parent_id": None,
         "municipality_code": "015999"}])
    t["zone"] = pd.concat([zone, extra], ignore_index=True)
    pop = t["population"]
    last = pop[(pop["zone_id"] == "015146-N1") & (pop["period"] >= 2022)]
    split = [last.assign(zone_id="015146-S1a", persons=np.floor(last["persons"] * 0.3)),
             last.assign(zone_id="015146-S1b",
                         persons=last["persons"] - np.floor(last["persons"] * 0.3)),
             last.assign(zone_id="015999")]
    t["population"] = pd.concat(
        [pop[~((pop["zone_id"] == "015146-N1") & (pop["period"] >= 2022))]] + split,
        ignore_index=True)
    assert fc.carriers(t["population"], t["zone"], 2023) == {
        "section": ["015146-S1a", "015146-S1b"],
        "neighbourhood": ["015146-N2", "015146-N4"], "city": ["015999"]}
    out = fc.future_inputs(t, FUTURE)
    d = out["demand"].set_index(["zone_id", "target_id"])["demand"]
    assert set(out["demand"]["zone_id"]) == {"015146-S1a", "015146-S1b", "015146-N2",
                                             "015146-N4", "015999"}
    whole = fc.future_tables(t, "neighbourhood", FUTURE)["demand"].set_index(
        ["zone_id", "target_id"])["demand"]
    for target in ("pop_0_2", "pop_65plus"):
        assert d["015146-S1a", target] + d["015146-S1b", target] == pytest.approx(
            whole["015146-N1", target], rel=1e-9)
        assert d["015146-N2", target] == pytest.approx(whole["015146-N2", target], rel=1e-12)
