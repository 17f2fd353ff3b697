"""Closure, sweep and the candidate-municipality filter through the SQL door.

References worked out by hand on the tiny city (tests/fixtures/tiny_city.py),
brute force over the site subsets, and the core (welfare_core.optimise.zone_models)
on the same rows, so the door equals the core.

Hand numbers (rsa, period 2023): demand points are the neighbourhood centres
N1 (1000,1000), N2 (1000,3000), N3 (3000,1000), N4 (3000,3000); weights
0.75 x residents 65+ + 0.25 x one-person 65+ households: N1 255, N2 82.5,
N3 0, N4 150 (total 487.5). Facilities F1 (500,500) capacity 12, F2
(3000,3000) capacity 4; candidate S1 (2500,1000) in 015146. Within 1000 m F1
covers N1 (707 m), F2 covers N4 (0 m): 405 covered, N2 uncovered.
"""
import itertools

import numpy as np
import psycopg
import pytest

from fixtures import tiny_city as tc
from welfare_core.optimise import zone_models

PTS = {"015146-N1": (1000, 1000), "015146-N2": (1000, 3000), "015146-N3": (3000, 1000),
       "015146-N4": (3000, 3000)}
W = {"015146-N1": 255.0, "015146-N2": 82.5, "015146-N3": 0.0, "015146-N4": 150.0}
FAC = {"F1": (500, 500), "F2": (3000, 3000)}
# extra candidates: X1 next to N2 but in a neighbouring comune; X2 in the city, useless within 1000 m
EXTRA = [("X1", "015999", (1000, 3200)), ("X2", tc.MUNI, (2000, 200))]
CANDS = {"S1": (tc.MUNI, (2500, 1000))} | {s: (m, xy) for s, m, xy in EXTRA}


def covered(open_xy, max_cost=1000.0):
    return sum(w for z, w in W.items()
               if any(np.hypot(PTS[z][0] - x, PTS[z][1] - y) <= max_cost for x, y in open_xy))


def brute_mclp(new, municipality=None, max_cost=1000.0):
    cands = [s for s, (m, _) in CANDS.items() if municipality is None or m == municipality]
    return max(covered(list(FAC.values()) + [CANDS[s][1] for s in sub], max_cost)
               for sub in itertools.combinations(cands, new))


def add_candidates(c):
    for sid, muni, (x, y) in EXTRA:
        c.execute("INSERT INTO welfare.candidate_site VALUES (%s, %s, 'rsa', %s, 1e6, 50, 'test', "
                  "public.ST_SetSRID(public.ST_MakePoint(%s, %s), 32632))", [sid, muni, sid, tc.X0 + x, tc.Y0 + y])


def core_tables(extra=False):
    import pandas as pd
    t = tc.tables()
    if extra:
        t["candidate_site"] = pd.concat([t["candidate_site"], pd.DataFrame(
            [(sid, muni, "rsa", sid, 1e6, 50.0, "test", tc.pt(x, y)) for sid, muni, (x, y) in EXTRA],
            columns=t["candidate_site"].columns)], ignore_index=True)
    for k in ("zone", "facility", "candidate_site"):
        t[k] = t[k].copy()
        t[k]["geometry"] = [g.wkb for g in t[k]["geometry"]]
    return t


@pytest.fixture
def extra(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        add_candidates(c)
        yield c
        c.rollback()


# --- candidate_municipality ---------------------------------------------------------------

def test_no_overload_remains(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        rows = c.execute("SELECT p.proname, p.oid::regprocedure::text FROM pg_proc p "
                         "WHERE p.pronamespace = 'welfare'::regnamespace AND p.proname IN "
                         "('optimise_locations', 'run_optimise_locations', '_optimise_locations', "
                         "'_run_optimise_locations') ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == ["_optimise_locations", "_run_optimise_locations", "optimise_locations",
                                    "run_optimise_locations"]
    assert all(r[1].endswith("double precision,boolean,double precision,text,text)") for r in rows)


def test_candidate_municipality_hand_and_brute_force(extra):
    q = ("SELECT site_id, kind, chosen, objective, status FROM welfare.optimise_locations('rsa', 'mclp', 1, 2023, "
         "1000, candidate_municipality => %s) ORDER BY site_id")
    anywhere = extra.execute(q, [None]).fetchall()
    inside = extra.execute(q, [tc.MUNI]).fetchall()
    new_any = [r[0] for r in anywhere if r[1] == "candidate" and r[2]]
    new_in = [r[0] for r in inside if r[1] == "candidate" and r[2]]
    # unrestricted: X1 (next door) covers N2 -> 487.5; inside 015146 no candidate reaches N2 -> 405
    assert new_any == ["X1"] and anywhere[0][3] == pytest.approx(487.5) == pytest.approx(brute_mclp(1))
    assert len(new_in) == 1 and all(CANDS[s][0] == tc.MUNI for s in new_in)
    assert inside[0][3] == pytest.approx(405.0) == pytest.approx(brute_mclp(1, tc.MUNI))
    assert inside[0][3] <= anywhere[0][3] and inside[0][4] == "optimal"
    assert {r[0] for r in inside} == {"F1", "F2", "S1", "X2"}  # X1 left out of the model
    # two new sites in the city: objective still <= unrestricted, sites all in 015146
    two = extra.execute(q.replace("1, 2023", "2, 2023"), [tc.MUNI]).fetchall()
    assert {r[0] for r in two if r[1] == "candidate" and r[2]} == {"S1", "X2"}


@pytest.mark.parametrize("model,max_cost", [("mclp", 1000.0), ("p_median", None), ("p_center", None),
                                            ("equity", 1500.0)])
def test_candidate_municipality_equals_core(extra, model, max_cost):
    sites, _, summary = zone_models.optimise_locations(core_tables(True), "rsa", 2023, model, 1, max_cost=max_cost,
                                                       candidate_municipality=tc.MUNI)
    free = zone_models.optimise_locations(core_tables(True), "rsa", 2023, model, 1, max_cost=max_cost)[2]
    rows = extra.execute("SELECT site_id, chosen, objective FROM welfare.optimise_locations('rsa', %s, 1, 2023, %s, "
                         "candidate_municipality => %s) ORDER BY site_id", [model, max_cost, tc.MUNI]).fetchall()
    sites = sites.sort_values("site_id")
    assert [r[0] for r in rows] == sites["site_id"].tolist() and "X1" not in sites["site_id"].tolist()
    assert [r[1] for r in rows] == sites["chosen"].tolist()
    assert rows[0][2] == pytest.approx(summary["objective"])
    worse_or_equal = summary["objective"] <= free["objective"] + 1e-9 if model in ("mclp",) else \
        summary["objective"] >= free["objective"] - 1e-9
    assert worse_or_equal


def test_run_optimise_locations_with_municipality(extra):
    run = extra.execute("SELECT welfare.run_optimise_locations('rsa', 'mclp', 1, 2023, 1000, "
                        "candidate_municipality => %s)", [tc.MUNI]).fetchone()[0]
    chosen = extra.execute("SELECT site_id FROM welfare.optimise_site WHERE run_id = %s AND kind = 'candidate' "
                           "AND chosen", [run]).fetchall()
    params = extra.execute("SELECT parameters->>'candidate_municipality' FROM welfare.run WHERE run_id = %s",
                           [run]).fetchone()[0]
    assert len(chosen) == 1 and CANDS[chosen[0][0]][0] == tc.MUNI and params == tc.MUNI


def test_candidate_municipality_without_candidates_is_clean(extra):
    with pytest.raises(psycopg.Error) as err:
        extra.execute("SELECT * FROM welfare.optimise_locations('rsa', 'mclp', 1, 2023, "
                      "candidate_municipality => '099999')")
    assert err.value.sqlstate == "22023" and "in municipality '099999'" in str(err.value)
    assert "Traceback" not in str(err.value)


# --- closure --------------------------------------------------------------------------------

def brute_closure(k, keep=(), max_cost=1000.0):
    before = covered(FAC.values(), max_cost)
    best = min((before - covered([FAC[f] for f in FAC if f not in sub], max_cost), sub)
               for sub in itertools.combinations([f for f in FAC if f not in keep], k))
    return best[0], set(best[1])


def test_closure_plan_hand_and_brute_force(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        rows = c.execute("SELECT site_id, closed, status, objective, covered_before, covered_after "
                         "FROM welfare.closure_plan('rsa', 1, 2023, 1000) ORDER BY site_id").fetchall()
        kept = c.execute("SELECT site_id, closed, objective FROM welfare.closure_plan('rsa', 1, 2023, 1000, "
                         "keep => ARRAY['F2']) ORDER BY site_id").fetchall()
    loss, closed = brute_closure(1)
    # closing F2 loses N4 (150), closing F1 loses N1 (255)
    assert loss == 150.0 and closed == {"F2"}
    assert [(r[0], r[1]) for r in rows] == [("F1", False), ("F2", True)]
    assert rows[0][2] == "optimal" and rows[0][3] == pytest.approx(150.0)
    assert rows[0][4] == pytest.approx(405.0) and rows[0][5] == pytest.approx(255.0)
    assert [(r[0], r[1]) for r in kept] == [("F1", True), ("F2", False)]
    assert kept[0][2] == pytest.approx(brute_closure(1, keep=("F2",))[0]) == pytest.approx(255.0)


def test_closure_plan_capacitated_hand(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        cap = c.execute("SELECT site_id, closed, objective, covered_before FROM welfare.closure_plan('rsa', 1, 2023, "
                        "1000, capacitated => true) ORDER BY site_id").fetchall()
    # capacitated: F1 serves 12 of N1, F2 4 of N4: closing F2 loses 4
    assert [(r[0], r[1]) for r in cap] == [("F1", False), ("F2", True)]
    assert cap[0][2] == pytest.approx(4.0) and cap[0][3] == pytest.approx(16.0)


@pytest.mark.parametrize("max_cost,keep", [(1000.0, None), (3000.0, None), (2600.0, ["F1"])])
def test_closure_plan_equals_core(loaded, max_cost, keep):
    sites, _, summary = zone_models.closure_plan(core_tables(), "rsa", 1, 2023, max_cost=max_cost, keep=keep)
    with psycopg.connect(f"dbname={loaded}") as c:
        rows = c.execute("SELECT site_id, closed, objective, coverage_pct_after FROM welfare.closure_plan('rsa', 1, "
                         "2023, %s, %s) ORDER BY site_id", [max_cost, keep]).fetchall()
    sites = sites.sort_values("site_id")
    assert [r[1] for r in rows] == (~sites["chosen"]).tolist()
    assert rows[0][2] == pytest.approx(summary["objective"]) == pytest.approx(brute_closure(1, keep or (), max_cost)[0])
    assert rows[0][3] == pytest.approx(summary["coverage_pct_after"])


def test_run_closure_plan_is_stored(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        run = c.execute("SELECT welfare.run_closure_plan('rsa', 1, 2023, 1000)").fetchone()[0]
        log = c.execute("SELECT kind, status FROM welfare.run WHERE run_id = %s", [run]).fetchone()
        site = c.execute("SELECT site_id, chosen FROM welfare.optimise_site WHERE run_id = %s ORDER BY site_id",
                         [run]).fetchall()
        alloc = c.execute("SELECT zone_id, site_id FROM welfare.optimise_allocation WHERE run_id = %s",
                          [run]).fetchall()
        summ = c.execute("SELECT model, existing_sites, p, objective, covered_before, covered_after, status "
                         "FROM welfare.optimise_summary WHERE run_id = %s", [run]).fetchone()
        c.rollback()
    assert log == ("closure_plan", "ok")
    assert site == [("F1", True), ("F2", False)] and alloc == [("015146-N1", "F1")]
    assert summ == ("closure", 2, 1, pytest.approx(150.0), pytest.approx(405.0), pytest.approx(255.0), "optimal")


@pytest.mark.parametrize("sql,sqlstate,match", [
    ("welfare.closure_plan('rsa', 2, 2023)", "22023", "closing all 2"),
    ("welfare.closure_plan('rsa', 1, 2023, keep => ARRAY['F1', 'F2'])", "22023", "cannot close 1"),
    ("welfare.closure_plan('rsa', 1, 2023, keep => ARRAY['nope'])", "22023", "unknown facility id"),
    ("welfare.closure_plan('rsa', 1, 2023, time_limit => -1)", "22023", "time_limit"),
    ("welfare.closure_plan('rsa', -1, 2023)", "22023", "k: must be a whole number"),
    ("welfare.closure_plan('ghost', 1, 2023)", "23503", "unknown service type"),
    ("welfare.run_closure_plan('rsa', 1, 1990)", "22023", ""),
    ("welfare.sweep_locations('rsa', 'p_center', 1, 2023)", "22023", "unknown model 'p_center' for a sweep"),
    ("welfare.sweep_locations('rsa', 'mclp', 3, 2023)", "22023", "only 1 candidate sites"),
    ("welfare.sweep_locations('rsa', 'mclp', -1, 2023)", "22023", "max_new"),
    ("welfare.run_sweep_locations('rsa', 'mclp', 1, 2023, time_limit => 0)", "22023", "time_limit"),
])
def test_errors_are_clean(loaded, sql, sqlstate, match):
    with psycopg.connect(f"dbname={loaded}") as c:
        with pytest.raises(psycopg.Error) as err:
            c.execute(f"SELECT * FROM {sql}")
    assert err.value.sqlstate == sqlstate, str(err.value)
    assert match in str(err.value)
    assert "Traceback" not in str(err.value) + (err.value.diag.context or "")


# --- sweep ----------------------------------------------------------------------------------

def test_sweep_hand_and_brute_force(extra):
    q = ("SELECT new_sites, p, objective, covered, coverage_pct, gain, status, new_site_ids "
         "FROM welfare.sweep_locations('rsa', 'mclp', 2, 2023, 1000, candidate_municipality => %s) ORDER BY 1")
    free = extra.execute(q, [None]).fetchall()
    city = extra.execute(q, [tc.MUNI]).fetchall()
    assert [r[0] for r in free] == [0, 1, 2] and [r[1] for r in free] == [2, 3, 4]
    assert [r[2] for r in free] == pytest.approx([405.0, brute_mclp(1), brute_mclp(2)])
    assert [r[2] for r in free] == pytest.approx([405.0, 487.5, 487.5])
    assert free[0][5] is None and free[1][5] == pytest.approx(82.5) and free[2][5] == pytest.approx(0.0)
    assert free[1][7] == ["X1"] and free[1][4] == pytest.approx(100.0) and free[0][7] == []
    assert [r[2] for r in city] == pytest.approx([405.0, 405.0, 405.0])
    assert all(r[6] == "optimal" for r in free + city)
    assert all(CANDS[s][0] == tc.MUNI for r in city for s in r[7])


@pytest.mark.parametrize("model,max_cost", [("mclp", 1500.0), ("p_median", 1000.0), ("p_median", None)])
def test_sweep_equals_core(extra, model, max_cost):
    core = zone_models.sweep_locations(core_tables(True), "rsa", model, 3, 2023, max_cost=max_cost)
    rows = extra.execute("SELECT new_sites, objective, covered, gain, new_site_ids FROM welfare.sweep_locations("
                         "'rsa', %s, 3, 2023, %s) ORDER BY 1", [model, max_cost]).fetchall()
    assert [r[0] for r in rows] == core["new_sites"].tolist()
    assert [r[1] for r in rows] == pytest.approx(core["objective"].tolist())
    assert [r[2] for r in rows] == pytest.approx(core["covered"].tolist())
    assert [r[3] for r in rows[1:]] == pytest.approx(core["gain"].tolist()[1:])
    # p-median by brute force: least sum w x distance to the nearest open site
    if model == "p_median":
        for r in rows:
            best = min(sum(w * min(np.hypot(PTS[z][0] - x, PTS[z][1] - y) for x, y in
                                   list(FAC.values()) + [CANDS[s][1] for s in sub]) for z, w in W.items())
                       for sub in itertools.combinations(CANDS, r[0]))
            assert r[1] == pytest.approx(best)


def test_run_sweep_is_stored(extra):
    run = extra.execute("SELECT welfare.run_sweep_locations('rsa', 'mclp', 2, 2023, 1000)").fetchone()[0]
    log = extra.execute("SELECT kind, status FROM welfare.run WHERE run_id = %s", [run]).fetchone()
    rows = extra.execute("SELECT new_sites, model, p, objective, gain, status, new_site_ids FROM welfare.optimise_sweep "
                         "WHERE run_id = %s ORDER BY new_sites", [run]).fetchall()
    assert log == ("sweep_locations", "ok")
    assert [(r[0], r[1], r[2]) for r in rows] == [(0, "mclp", 2), (1, "mclp", 3), (2, "mclp", 4)]
    assert [r[3] for r in rows] == pytest.approx([405.0, 487.5, 487.5])
    assert rows[0][4] is None and rows[1][4] == pytest.approx(82.5) and rows[1][6] == ["X1"]


def test_analyst_can_run_and_bi_cannot(extra):
    extra.execute("SET ROLE welfare_analyst")
    run = extra.execute("SELECT welfare.run_sweep_locations('rsa', 'mclp', 1, 2023, 1000)").fetchone()[0]
    assert extra.execute("SELECT count(*) FROM welfare.optimise_sweep WHERE run_id = %s", [run]).fetchone()[0] == 2
    extra.execute("RESET ROLE")
    extra.execute("SET ROLE welfare_bi_reader")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        extra.execute("SELECT * FROM welfare.closure_plan('rsa', 1, 2023)")


@pytest.mark.parametrize("rel", ["welfare.optimise_sweep"])
def test_every_column_commented(loaded, rel):
    with psycopg.connect(f"dbname={loaded}") as c:
        missing = c.execute("SELECT a.attname FROM pg_attribute a WHERE a.attrelid = %s::regclass "
                            "AND a.attnum > 0 AND NOT a.attisdropped AND col_description(a.attrelid, a.attnum) IS NULL",
                            [rel]).fetchall()
        desc = c.execute("SELECT obj_description(%s::regclass)", [rel]).fetchone()[0]
    assert missing == [] and desc


# --- closure: facility_municipality ------------------------------------------------------------
# G1 (1000,3200) is a neighbouring comune's rsa (015999), 200 m from N2: it covers N2 (82.5).
# All three open cover 487.5. Unrestricted, closing G1 loses least (82.5); with only Milan's
# facilities closable G1 stays open and closing F2 loses N4 (150).
G1 = ("G1", "015999", (1000, 3200))


@pytest.fixture
def border(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        c.execute("INSERT INTO welfare.facility VALUES (%s, %s, 'rsa', 'Casa Oltre', 'Comune vicino', 10, NULL, "
                  "NULL, true, 'test', public.ST_SetSRID(public.ST_MakePoint(%s, %s), 32632))",
                  [G1[0], G1[1], tc.X0 + G1[2][0], tc.Y0 + G1[2][1]])
        yield c
        c.rollback()


def brute_closure_muni(k, municipality=None, max_cost=1000.0):
    fac = dict(FAC) | {G1[0]: G1[2]}
    muni = {f: tc.MUNI for f in FAC} | {G1[0]: G1[1]}
    closable = [f for f in fac if municipality is None or muni[f] == municipality]
    before = covered(fac.values(), max_cost)
    return min((before - covered([fac[f] for f in fac if f not in sub], max_cost), set(sub))
               for sub in itertools.combinations(closable, k))


def test_closure_no_overload_remains(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        rows = c.execute("SELECT p.proname, p.oid::regprocedure::text FROM pg_proc p "
                         "WHERE p.pronamespace = 'welfare'::regnamespace AND p.proname IN "
                         "('closure_plan', 'run_closure_plan', '_closure_plan', '_run_closure_plan') "
                         "ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == ["_closure_plan", "_run_closure_plan", "closure_plan", "run_closure_plan"]
    assert all(r[1].endswith("boolean,double precision,text)") for r in rows)


@pytest.mark.parametrize("k", [1, 2])
def test_closure_facility_municipality_hand_and_brute_force(border, k):
    q = ("SELECT site_id, closed, objective, covered_before, covered_after, status FROM welfare.closure_plan("
         "'rsa', %s, 2023, 1000, facility_municipality => %s) ORDER BY site_id")
    anywhere = border.execute(q, [k, None]).fetchall()
    milan = border.execute(q, [k, tc.MUNI]).fetchall()
    loss_any, closed_any = brute_closure_muni(k)
    loss_in, closed_in = brute_closure_muni(k, tc.MUNI)
    # hand: k = 1 -> close G1 (82.5) anywhere, F2 (150) in Milan; k = 2 -> G1 + F2 (232.5), F1 + F2 (405)
    assert (loss_any, loss_in) == ({1: (82.5, 150.0), 2: (232.5, 405.0)}[k])
    assert {r[0] for r in anywhere if r[1]} == closed_any
    assert {r[0] for r in milan if r[1]} == closed_in and "G1" not in closed_in
    assert [r[0] for r in milan] == ["F1", "F2", "G1"]          # G1 still in the model, open
    assert milan[0][2] == pytest.approx(loss_in) and anywhere[0][2] == pytest.approx(loss_any)
    assert milan[0][3] == pytest.approx(487.5) and milan[0][4] == pytest.approx(487.5 - loss_in)
    assert milan[0][5] == "optimal"


def test_closure_facility_municipality_equals_core(border):
    import pandas as pd
    t = core_tables()
    g = pd.DataFrame([(G1[0], G1[1], "rsa", "Casa Oltre", "Comune vicino", 10.0, None, None, True, "test",
                       tc.pt(*G1[2]).wkb)], columns=t["facility"].columns)
    t["facility"] = pd.concat([t["facility"], g], ignore_index=True)
    sites, _, summary = zone_models.closure_plan(t, "rsa", 1, 2023, max_cost=1500.0, keep=["F1"],
                                                 facility_municipality=tc.MUNI)
    rows = border.execute("SELECT site_id, closed, objective FROM welfare.closure_plan('rsa', 1, 2023, 1500, "
                          "ARRAY['F1'], facility_municipality => %s) ORDER BY site_id", [tc.MUNI]).fetchall()
    sites = sites.sort_values("site_id")
    assert [r[1] for r in rows] == (~sites["chosen"]).tolist() == [False, True, False]
    assert rows[0][2] == pytest.approx(summary["objective"])


def test_run_closure_plan_with_municipality_is_stored(border):
    run = border.execute("SELECT welfare.run_closure_plan('rsa', 1, 2023, 1000, facility_municipality => %s)",
                         [tc.MUNI]).fetchone()[0]
    site = border.execute("SELECT site_id, chosen FROM welfare.optimise_site WHERE run_id = %s ORDER BY site_id",
                          [run]).fetchall()
    summ = border.execute("SELECT objective, p FROM welfare.optimise_summary WHERE run_id = %s", [run]).fetchone()
    params = border.execute("SELECT parameters->>'facility_municipality' FROM welfare.run WHERE run_id = %s",
                            [run]).fetchone()[0]
    assert site == [("F1", True), ("F2", False), ("G1", True)]
    assert summ == (pytest.approx(150.0), 2) and params == tc.MUNI


@pytest.mark.parametrize("sql,match", [
    ("welfare.closure_plan('rsa', 3, 2023, facility_municipality => '015146')", "only 2 of type 'rsa'"),
    ("welfare.closure_plan('rsa', 2, 2023, keep => ARRAY['F1'], facility_municipality => '015146')", "only 1 of"),
    ("welfare.closure_plan('rsa', 1, 2023, facility_municipality => '099999')", "in municipality '099999'"),
])
def test_closure_facility_municipality_errors_are_clean(border, sql, match):
    with pytest.raises(psycopg.Error) as err:
        border.execute(f"SELECT * FROM {sql}")
    assert err.value.sqlstate == "22023" and match in str(err.value)
    assert "Traceback" not in str(err.value)
    border.rollback()


def test_equity_level_groups_the_demand_points_hand(loaded):
    # rsa within 1500 m, every site open (F1, F2, the only candidate S1): N1 (255) and N4 (150)
    # covered, N2 (82.5) not, N3 without demand. Worst uncovered share per demand point:
    # N2 = 1; per district D1 = {N1, N2}: 82.5 / 337.5; for the city 82.5 / 487.5.
    q = ("SELECT DISTINCT objective, status FROM welfare.optimise_locations('rsa', 'equity', 1, 2023, "
         "1500, equity_level => %s)")
    with psycopg.connect(f"dbname={loaded}") as c:
        for level, worst in ((None, 1.0), ("district", 82.5 / 337.5), ("city", 82.5 / 487.5)):
            (objective, status), = c.execute(q, [level]).fetchall()
            assert objective == pytest.approx(worst) and status == "optimal"
        run = c.execute("SELECT welfare.run_optimise_locations('rsa', 'equity', 1, 2023, 1500, "
                        "equity_level => 'district')").fetchone()[0]
        assert c.execute("SELECT parameters->>'groups_level' FROM welfare.run WHERE run_id = %s",
                         [run]).fetchone()[0] == "district"
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="only the equity model"):
            c.execute("SELECT * FROM welfare.optimise_locations('rsa', 'mclp', 1, 2023, "
                      "equity_level => 'district')")
