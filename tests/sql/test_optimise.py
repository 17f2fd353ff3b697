"""Optimisation through the SQL door: generic location models over the caller's relations,
the model functions over the welfare tables, stored runs and BI views, clean errors.

References: brute force over site subsets on a hand-made instance, and the core
(welfare_core.optimise.zone_models) on the tiny city for the model functions."""
import itertools

import numpy as np
import psycopg
import pytest

from fixtures import tiny_city as tc
from welfare_core.optimise import zone_models

# demand points (id, weight, x, y) and candidate sites (id, capacity, x, y), metres from (X0, Y0)
DEM = [("a", 10.0, 0, 0), ("b", 20.0, 1000, 0), ("c", 5.0, 0, 1000), ("d", 30.0, 3000, 3000),
       ("e", 8.0, 2500, 3000)]
CAND = [("s1", 40.0, 0, 0), ("s2", 40.0, 1000, 0), ("s3", 40.0, 3000, 3000), ("s4", 40.0, 500, 500)]


def xy(rows):
    return np.array([[r[2], r[3]] for r in rows], dtype=float)


COST = np.hypot(*(xy(DEM)[:, None, :] - xy(CAND)[None, :, :]).transpose(2, 0, 1))
W = np.array([r[1] for r in DEM])


def table(conn, name, rows, srid=32632, required=()):
    conn.execute(f"CREATE TEMP TABLE {name} (pid text, val double precision, req boolean, geom geometry)")
    for pid, val, x, y in rows:
        conn.execute(f"INSERT INTO {name} VALUES (%s, %s, %s, public.ST_SetSRID(public.ST_MakePoint(%s, %s), {srid}))",
                     [pid, val, pid in required, tc.X0 + x, tc.Y0 + y])


@pytest.fixture
def rel(conn):
    table(conn, "dem", DEM)
    table(conn, "cand", CAND, required=("s3",))
    return conn


def sites(rows):
    return sorted(r[1] for r in rows if r[0] == "site")


def test_p_median_equals_brute_force(rel):
    rows = rel.execute("SELECT * FROM welfare.p_median('dem', 'pid', 'val', 'geom', 'cand', 'pid', 'geom', 2)").fetchall()
    best = min((W @ COST[:, list(s)].min(axis=1), s) for s in itertools.combinations(range(4), 2))
    assert rows[0][5] == "optimal" and rows[0][6] == pytest.approx(best[0]) and rows[0][8] == 0
    assert sites(rows) == sorted(CAND[j][0] for j in best[1])
    assign = {r[2]: (r[1], r[3]) for r in rows if r[0] == "assignment"}
    assert set(assign) == {"a", "b", "c", "d", "e"}
    assert sum(W[i] * assign[d[0]][1] for i, d in enumerate(DEM)) == pytest.approx(best[0])


def test_mclp_required_and_capacity(rel):
    rows = rel.execute("SELECT * FROM welfare.mclp('dem', 'pid', 'val', 'geom', 'cand', 'pid', 'geom', 2, 600, "
                       "required => 'req')").fetchall()
    best = max(W[(COST[:, list(s)] <= 600).any(axis=1)].sum()
               for s in itertools.combinations(range(4), 2) if 2 in s)
    assert rows[0][6] == pytest.approx(best) and "s3" in sites(rows)
    # capacitated: 40 per site
    rows = rel.execute("SELECT * FROM welfare.mclp('dem', 'pid', 'val', 'geom', 'cand', 'pid', 'geom', 1, 600, "
                       "candidate_capacity => 'val')").fetchall()
    assert rows[0][6] == pytest.approx(38.0)  # s3 covers d (30) + e (8)


def test_lscp_and_p_center(rel):
    rows = rel.execute("SELECT * FROM welfare.lscp('dem', 'pid', 'geom', 'cand', 'pid', 'geom', 710)").fetchall()
    best = min(k for k in range(1, 5) for s in itertools.combinations(range(4), k)
               if (COST[:, list(s)] <= 710).any(axis=1).all())
    assert rows[0][6] == best == len(sites(rows))
    rows = rel.execute("SELECT * FROM welfare.p_center('dem', 'pid', 'geom', 'cand', 'pid', 'geom', 2)").fetchall()
    best = min(COST[:, list(s)].min(axis=1).max() for s in itertools.combinations(range(4), 2))
    assert rows[0][6] == pytest.approx(best) and rows[0][5] == "optimal"


@pytest.mark.parametrize("sql,sqlstate,match", [
    ("welfare.p_median('dem', 'pid', 'val', 'geom', 'cand', 'pid', 'geom', 9)", "22023", "only 4 candidate sites"),
    ("welfare.mclp('dem', 'pid', 'val', 'geom', 'cand', 'pid', 'geom', 2, 500, time_limit => 0)", "22023", "time_limit"),
    ("welfare.lscp('dem', 'pid', 'geom', 'cand', 'pid', 'geom', 10)", "22000", "no candidate site within max_cost"),
    ("welfare.mclp('geo', 'pid', 'val', 'geom', 'cand', 'pid', 'geom', 2, 500)", "22023", "geographic"),
])
def test_generic_errors_are_clean(rel, sql, sqlstate, match):
    table(rel, "geo", [("z", 1.0, 9.1 - tc.X0, 45.4 - tc.Y0)], srid=4326)
    with pytest.raises(psycopg.Error) as err:
        rel.execute(f"SELECT * FROM {sql}")
    assert err.value.sqlstate == sqlstate, str(err.value)
    assert match in str(err.value)
    assert "Traceback" not in str(err.value) + (err.value.diag.context or "")


# --- model functions ------------------------------------------------------------------

def core_tables():
    t = tc.tables()
    for k in ("zone", "facility", "candidate_site"):
        t[k] = t[k].copy()
        t[k]["geometry"] = [g.wkb for g in t[k]["geometry"]]
    return t


@pytest.mark.parametrize("model,new,max_cost", [("mclp", 1, 1500.0), ("p_median", 1, None),
                                                ("p_center", 1, None), ("equity", 1, 2000.0)])
def test_optimise_locations_equals_core(loaded, model, new, max_cost):
    core, _, summary = zone_models.optimise_locations(core_tables(), "rsa", 2023, model, new, max_cost=max_cost)
    with psycopg.connect(f"dbname={loaded}") as c:
        rows = c.execute("SELECT site_id, kind, chosen, added_capacity, status, objective, coverage_pct_after "
                         "FROM welfare.optimise_locations('rsa', %s, %s, 2023, %s) ORDER BY site_id",
                         [model, new, max_cost]).fetchall()
    core = core.sort_values("site_id")
    assert [r[0] for r in rows] == core["site_id"].tolist()
    assert [r[2] for r in rows] == core["chosen"].tolist()
    assert rows[0][4] == "optimal" and rows[0][5] == pytest.approx(summary["objective"])
    assert rows[0][6] == pytest.approx(summary["coverage_pct_after"])


def test_optimise_locations_hand(loaded):
    # rsa: F1 (500,500), F2 (3000,3000) open; S1 (2500,1000) is the only candidate: it must open.
    with psycopg.connect(f"dbname={loaded}") as c:
        rows = c.execute("SELECT site_id, kind, chosen FROM welfare.optimise_locations('rsa', 'p_median', 1, 2023) "
                         "ORDER BY site_id").fetchall()
    assert rows == [("F1", "existing", True), ("F2", "existing", True), ("S1", "candidate", True)]


def test_allocate_capacity_equals_core_and_hand(loaded):
    # nursery: F3 (1000,3000) 30 places, reach 1500 m; need = 33 % of children 0-2:
    # N1 40 -> 13.2 (centroid (1000,1000): 2000 m, out of reach), N2 60 -> 19.8 (0 m),
    # N4 20 -> 6.6 ((3000,3000): 2000 m). Only N2 reaches F3, and its 19.8 fit in 30:
    # unmet before = 13.2 + 6.6 = 19.8, and no added place can help.
    _, _, summary = zone_models.allocate_capacity_plan(core_tables(), "nursery", 2023, 10)
    with psycopg.connect(f"dbname={loaded}") as c:
        rows = c.execute("SELECT site_id, added_capacity, unmet_before, unmet_after, status "
                         "FROM welfare.allocate_capacity('nursery', 10, 2023)").fetchall()
        wide = c.execute("SELECT site_id, added_capacity, unmet_before, unmet_after "
                         "FROM welfare.allocate_capacity('nursery', 4, 2023, max_cost => 2500, uptake => 1)").fetchall()
    assert rows == [("F3", 0.0, pytest.approx(19.8), pytest.approx(19.8), "optimal")]
    assert summary["unmet_after"] == pytest.approx(rows[0][3])
    # within 2500 m every zone reaches F3: need 120 children, 30 places -> unmet 90, +4 places -> 86
    assert wide == [("F3", 4.0, pytest.approx(90.0), pytest.approx(86.0))]


@pytest.mark.parametrize("sql,sqlstate,match", [
    ("welfare.optimise_locations('rsa', 'kmeans', 1, 2023)", "22023", "unknown model 'kmeans'"),
    ("welfare.optimise_locations('rsa', 'mclp', 5, 2023)", "22023", "only 1 candidate sites"),
    ("welfare.optimise_locations('ghost', 'mclp', 1, 2023)", "23503", "unknown service type"),
    ("welfare.optimise_locations('rsa', 'mclp', 1, 2023, time_limit => -1)", "22023", "time_limit"),
    ("welfare.allocate_capacity('nursery', -5, 2023)", "22023", "budget"),
])
def test_model_errors_are_clean(loaded, sql, sqlstate, match):
    with psycopg.connect(f"dbname={loaded}") as c:
        with pytest.raises(psycopg.Error) as err:
            c.execute(f"SELECT * FROM {sql}")
    assert err.value.sqlstate == sqlstate, str(err.value)
    assert match in str(err.value)
    assert "Traceback" not in str(err.value) + (err.value.diag.context or "")


def test_runs_are_stored_and_shown_in_bi(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        r1 = c.execute("SELECT welfare.run_optimise_locations('rsa', 'mclp', 1, 2023, 1500)").fetchone()[0]
        r2 = c.execute("SELECT welfare.run_allocate_capacity('nursery', 4, 2023, max_cost => 2500, uptake => 1)").fetchone()[0]
        run = c.execute("SELECT kind, status FROM welfare.run WHERE run_id IN (%s, %s) ORDER BY run_id", [r1, r2]).fetchall()
        assert run == [("optimise_locations", "ok"), ("allocate_capacity", "ok")]
        n_site = c.execute("SELECT count(*) FROM welfare.optimise_site WHERE run_id = %s", [r1]).fetchone()[0]
        n_alloc = c.execute("SELECT count(*), sum(demand) FROM welfare.optimise_allocation WHERE run_id = %s", [r2]).fetchone()
        summ = c.execute("SELECT model, unmet_before, unmet_after, spend, status FROM welfare.optimise_summary "
                         "WHERE run_id = %s", [r2]).fetchone()
        c.execute("SET ROLE welfare_bi_reader")
        bi = c.execute("SELECT site_id, new_site, lat, lon FROM welfare_bi.optimise_sites WHERE run_id = %s "
                       "ORDER BY site_id", [r1]).fetchall()
        bs = c.execute("SELECT model, coverage_pct_before, coverage_pct_after, status FROM welfare_bi.optimise_summary "
                       "WHERE run_id = %s", [r2]).fetchone()
        c.rollback()
    assert n_site == 3 and n_alloc[0] >= 1 and n_alloc[1] == pytest.approx(34.0)
    assert summ == ("allocate_capacity", pytest.approx(90.0), pytest.approx(86.0), 4.0, "optimal")
    assert [b[0] for b in bi] == ["F1", "F2", "S1"] and 45.40 < bi[0][2] < 45.44 and 9.12 < bi[0][3] < 9.16
    assert bs == ("allocate_capacity", pytest.approx(25.0), pytest.approx(100 * 34 / 120), "optimal")


@pytest.mark.parametrize("rel", ["welfare.optimise_site", "welfare.optimise_allocation", "welfare.optimise_summary",
                                 "welfare_bi.optimise_sites", "welfare_bi.optimise_summary"])
def test_every_column_commented(loaded, rel):
    with psycopg.connect(f"dbname={loaded}") as c:
        missing = c.execute("SELECT a.attname FROM pg_attribute a WHERE a.attrelid = %s::regclass "
                            "AND a.attnum > 0 AND NOT a.attisdropped AND col_description(a.attrelid, a.attnum) IS NULL",
                            [rel]).fetchall()
        desc = c.execute("SELECT obj_description(%s::regclass)", [rel]).fetchone()[0]
    assert missing == [] and desc


def test_bi_sites_leave_out_unpublished_facilities(loaded):
    """A draft facility counts only when the analyst opts in; that run is then the author's alone,
    and welfare_bi never shows the draft's name or place."""
    with psycopg.connect(f"dbname={loaded}") as c:
        c.execute("UPDATE welfare.facility SET published = false WHERE facility_id = 'F2'")
        sites = ("SELECT site_id FROM welfare.optimise_site WHERE run_id = %s ORDER BY 1")
        bi_sites = ("SELECT site_id FROM welfare_bi.optimise_sites WHERE run_id = %s ORDER BY 1")
        default = c.execute("SELECT welfare.run_optimise_locations('rsa', 'mclp', 1, 2023, 1500)").fetchone()[0]
        c.execute("SET welfare.count_unpublished_facilities = on")
        opted = c.execute("SELECT welfare.run_optimise_locations('rsa', 'mclp', 1, 2023, 1500)").fetchone()[0]
        c.execute("RESET welfare.count_unpublished_facilities")
        raw = {run: [r for r, in c.execute(sites, [run])] for run in (default, opted)}
        author = [r for r, in c.execute(bi_sites, [opted])]
        c.execute("SET ROLE welfare_bi_reader")
        reader = {run: [r for r, in c.execute(bi_sites, [run])] for run in (default, opted)}
        c.rollback()
    assert raw == {default: ["F1", "S1"], opted: ["F1", "F2", "S1"]}
    assert reader == {default: ["F1", "S1"], opted: []}
    assert author == ["F1", "S1"]
