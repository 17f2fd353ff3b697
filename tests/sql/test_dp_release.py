"""Differentially private demand from SQL (welfare.dp_zone_demand) against the real server:
the epsilon budget, the release record, the noise distribution, who may call it, bad input.

A release is committed by an autonomous transaction before its noise is drawn, so the
budget and the releases live outside each test's transaction: the budget is set and the
releases are cleared with autocommit connections.

Noise statistics are compared with the closed form of the discrete Laplace distribution
P(k) = (1 - q) / (1 + q) q^|k|, q = exp(-epsilon) (sensitivity 1), worked out here:
E|X| = 2q / (1 - q^2), E X^2 = 2q / (1 - q)^2. OpenDP's generator has no seed (a CSPRNG),
so the tolerances are five standard errors wide.
"""
from __future__ import annotations

import math
import threading
import time

import pandas as pd
import psycopg
import pytest
from psycopg import sql
from shapely.geometry import MultiPolygon, box

from fixtures import tiny_city as tc
from sql.wi_sql import as_role, denied, fresh_database, import_all

CALL = "SELECT * FROM welfare.dp_zone_demand(%s, %s, %s, %s, %s)"
SIGNATURE = "welfare.dp_zone_demand(text,integer,text,double precision,text)"




def set_budget(dbname, value):
    """Commit the budget: the autonomous transaction that records a release reads it."""
    with psycopg.connect(f"dbname={dbname}", autocommit=True) as c:
        c.execute("UPDATE welfare.setting SET value = %s WHERE name = 'dp_epsilon_budget'",
                  [value])


def releases(conn):
    return conn.execute("SELECT description, epsilon, cells, released_by "
                        "FROM welfare.dp_release ORDER BY release_id").fetchall()


@pytest.fixture(autouse=True)
def no_releases(loaded):
    """Each test starts with budget 1.0 and no release, and leaves none."""
    set_budget(loaded, "1.0")
    yield
    with psycopg.connect(f"dbname={loaded}", autocommit=True) as c:
        c.execute("DELETE FROM welfare.dp_release")


@pytest.fixture
def analyst(loaded):
    """An analyst's connection, rolled back afterwards."""
    with psycopg.connect(f"dbname={loaded}") as c:
        as_role(c, "welfare_analyst")
        yield c
        c.rollback()


# --- release and budget ----------------------------------------------------------------

def test_a_release_is_recorded_and_counts_are_whole_and_non_negative(analyst):
    rows = analyst.execute(CALL, ["neighbourhood", 2023, "pop_65plus", 0.5,
                                  "elderly per neighbourhood, 2024 report"]).fetchall()
    assert [r[1] for r in rows] == ["015146-N1", "015146-N2", "015146-N3", "015146-N4"]
    assert {(r[2], r[3], r[4]) for r in rows} == {("neighbourhood", 2023, "pop_65plus")}
    assert all(isinstance(r[5], int) and r[5] >= 0 for r in rows)
    release_id = rows[0][0]
    assert {r[0] for r in rows} == {release_id}
    assert analyst.execute("SELECT release_id, description, epsilon, cells, released_by "
                           "FROM welfare.dp_release").fetchall() == [
        (release_id, "elderly per neighbourhood, 2024 report", 0.5, 4, "welfare_analyst")]
    run = analyst.execute("SELECT status, run_by, parameters ->> 'epsilon', "
                          "parameters ->> 'target' FROM welfare.run "
                          "WHERE kind = 'dp_zone_demand' AND message = %s",
                          [f"release {release_id}: 4 cells, epsilon 0.5"]).fetchall()
    assert run == [("ok", "welfare_analyst", "0.5", "pop_65plus")]


def test_demand_is_aggregated_to_the_level(loaded):
    """At the largest epsilon (100) the noise is 0 but with probability ~2e-44, so the
    release shows the demand summed to the districts by hand: West = N1 + N2 = 300 + 100,
    East = N3 + N4 = 0 + 200."""
    set_budget(loaded, "100")
    with psycopg.connect(f"dbname={loaded}") as c:
        as_role(c, "welfare_admin")
        rows = c.execute(CALL, ["district", 2023, "pop_65plus", 100, "exact check"]).fetchall()
        assert [(r[1], r[5]) for r in rows] == [("015146-D1", 400), ("015146-D2", 200)]
        assert releases(c) == [("exact check", 100.0, 2, "welfare_admin")]
        c.rollback()


def test_the_budget_refuses_overspending_and_records_nothing(analyst):
    analyst.execute(CALL, ["neighbourhood", 2023, "pop_65plus", 0.6, "first"])
    err = denied(analyst, CALL, ["district", 2023, "pop_0_2", 0.5, "too much"], state="23514")
    assert "budget" in err.diag.message_primary and "0.6 of 1" in err.diag.message_primary
    assert "dp_epsilon_budget" in err.diag.message_hint
    assert releases(analyst) == [("first", 0.6, 4, "welfare_analyst")]
    # what is left can still be spent, to the last of it
    analyst.execute(CALL, ["district", 2023, "pop_0_2", 0.4, "the rest"])
    assert analyst.execute("SELECT sum(epsilon) FROM welfare.dp_release").fetchone()[0] == \
        pytest.approx(1.0, abs=1e-12)
    denied(analyst, CALL, ["district", 2023, "pop_0_2", 1e-6, "nothing left"], state="23514")
    assert len(releases(analyst)) == 2


def test_concurrent_releases_cannot_both_take_the_last_of_the_budget(loaded):
    """A holds an uncommitted release of 0.6 (a direct insert); B's call records its 0.6
    in an autonomous transaction, which waits for A's lock, then sees A's release and is
    refused: B gets the budget error and no noisy counts."""
    a = psycopg.connect(f"dbname={loaded}")
    b = psycopg.connect(f"dbname={loaded}")
    try:
        as_role(a, "welfare_analyst")
        as_role(b, "welfare_analyst")
        a.execute("INSERT INTO welfare.dp_release (description, epsilon, cells) "
                  "VALUES ('A', 0.6, 4)")
        outcome = {}

        def release_b():
            try:
                outcome["b"] = b.execute(CALL, ["neighbourhood", 2023, "pop_0_2", 0.6, "B"]
                                         ).fetchall()
            except psycopg.Error as e:
                outcome["b"] = e
        t = threading.Thread(target=release_b)
        t.start()
        with psycopg.connect(f"dbname={loaded}", autocommit=True) as w:
            for _ in range(80):  # B's recording session waits on A's advisory lock
                if w.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                             "'welfare_dp_release' AND wait_event_type = 'Lock'"
                             ).fetchone()[0] == 1:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("B's release did not wait for A's")
        a.commit()
        t.join(60)
        assert isinstance(outcome["b"], psycopg.Error), outcome
        assert outcome["b"].sqlstate == "23514" and "budget" in str(outcome["b"])
        b.rollback()
        assert releases(b) == [("A", 0.6, 4, "welfare_analyst")]
    finally:
        a.close()
        b.close()


def test_a_rolled_back_call_still_spends_its_epsilon(loaded, analyst):
    """The noisy counts were seen: rolling back must not give the epsilon back."""
    rows = analyst.execute(CALL, ["district", 2023, "pop_65plus", 0.7, "seen, then rolled back"]
                           ).fetchall()
    assert len(rows) == 2
    analyst.rollback()
    with psycopg.connect(f"dbname={loaded}") as c:
        assert releases(c) == [("seen, then rolled back", 0.7, 2, "welfare_analyst")]
    as_role(analyst, "welfare_analyst")
    err = denied(analyst, CALL, ["district", 2023, "pop_65plus", 0.7, "again"], state="23514")
    assert "0.7 of 1" in err.diag.message_primary


def test_a_repeatable_read_transaction_records_its_release_outside(analyst):
    """A direct insert in REPEATABLE READ could sum the budget with a stale snapshot, so the
    trigger refuses it; the function records in its own READ COMMITTED transaction."""
    analyst.rollback()
    analyst.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    as_role(analyst, "welfare_analyst")
    err = denied(analyst, "INSERT INTO welfare.dp_release (description, epsilon, cells) "
                          "VALUES ('rr', 0.1, 2)", state="55000")
    assert "READ COMMITTED" in err.diag.message_primary
    rows = analyst.execute(CALL, ["district", 2023, "pop_65plus", 0.1, "rr"]).fetchall()
    assert len(rows) == 2
    analyst.rollback()
    assert releases(analyst) == [("rr", 0.1, 2, "welfare_analyst")]


# --- who may call it ---------------------------------------------------------------------

@pytest.mark.parametrize("role", ["welfare_provider", "welfare_bi_reader"])
def test_providers_and_bi_readers_may_not_release(loaded, role):
    with psycopg.connect(f"dbname={loaded}") as c:
        assert c.execute("SELECT has_function_privilege(%s, %s, 'EXECUTE')",
                         [role, SIGNATURE]).fetchone() == (False,)
        as_role(c, role)
        denied(c, CALL, ["district", 2023, "pop_65plus", 0.1, "not mine"])
        c.rollback()
        assert releases(c) == []


# --- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("args,state,fragment", [
    (("district", 2023, "pop_65plus", 0, "x"), "22023", "epsilon"),
    (("district", 2023, "pop_65plus", -0.5, "x"), "22023", "epsilon"),
    (("district", 2023, "pop_65plus", float("nan"), "x"), "22023", "epsilon"),
    (("district", 2023, "pop_65plus", None, "x"), "22023", "epsilon"),
    (("district", 2023, "pop_65plus", float("inf"), "x"), "22023", "epsilon"),
    (("district", 2023, "pop_65plus", 101, "x"), "22023", "epsilon"),
    (("ward", 2023, "pop_65plus", 0.1, "x"), "22023", "unknown level"),
    (("district", 2023, "no_such_target", 0.1, "x"), "23503", "unknown target"),
    ((None, 2023, "pop_65plus", 0.1, "x"), "22023", "required"),
    (("district", 2023, None, 0.1, "x"), "22023", "required"),
    (("district", 2023, "pop_65plus", 0.1, None), "22023", "description"),
    (("district", 2023, "pop_65plus", 0.1, "   "), "22023", "description"),
    (("district", 2019, "pop_65plus", 0.1, "x"), "22023", "no demand rows"),
    (("district", 2030, "pop_65plus", 0.1, "x"), "22023", "projection"),
    (("district", 2023, "x'); DROP TABLE welfare.dp_release; --", 0.1, "x"), "23503",
     "unknown target"),
])
def test_bad_input_gets_a_clear_error_and_spends_nothing(analyst, args, state, fragment):
    err = denied(analyst, CALL, list(args), state=state)
    assert fragment in err.diag.message_primary, err.diag.message_primary
    assert "Traceback" not in str(err) and "plpy" not in str(err)
    assert releases(analyst) == []


def test_estimated_demand_is_refused(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        c.execute("UPDATE welfare.demand SET demand = 120.5 "
                  "WHERE zone_id = '015146-N1' AND target_id = 'alone_65plus'")
        as_role(c, "welfare_analyst")
        err = denied(c, CALL, ["district", 2023, "alone_65plus", 0.1, "x"], state="22023")
        assert "not a whole count" in err.diag.message_primary
        assert "zone 015146-D1: 150.5" in err.diag.message_primary  # 120.5 + 30
        assert releases(c) == []
        c.rollback()


def test_without_opendp_the_function_says_so_and_records_nothing(loaded):
    """An installation where make install could not download OpenDP: hidden from this
    session's Python (sys.modules entry None makes the import fail)."""
    with psycopg.connect(f"dbname={loaded}") as c:
        c.execute("DO $$ import sys; sys.modules['opendp'] = None $$ LANGUAGE plpython3u")
        as_role(c, "welfare_analyst")
        err = denied(c, CALL, ["district", 2023, "pop_65plus", 0.1, "x"], state="0A000")
        assert "OpenDP is not installed" in err.diag.message_primary
        assert "make install" in err.diag.message_hint
        assert releases(c) == []
        c.rollback()


# --- noise statistics over many cells --------------------------------------------------

N_SECTIONS = 2000
COUNT = 1000  # far from 0: the floor at 0 never acts at these scales


def grid_city():
    """The tiny city's catalogue over one neighbourhood cut into N_SECTIONS sections
    (50 x 40 cells of 40 m x 50 m), each with COUNT residents aged 70."""
    t = tc.tables()
    z = t["zone"]
    keep = z[z["zone_id"].isin(["015146", "015146-D1", "015146-N1"])]
    cells = [(f"015146-S{i:04d}", tc.MUNI, "section", f"cell {i}", "015146-N1", "test",
              MultiPolygon([box(tc.X0 + 40 * (i % 50), tc.Y0 + 50 * (i // 50),
                                tc.X0 + 40 * (i % 50 + 1), tc.Y0 + 50 * (i // 50 + 1))]))
             for i in range(N_SECTIONS)]
    t["zone"] = pd.concat([keep, pd.DataFrame(cells, columns=z.columns)], ignore_index=True)
    ids = [c[0] for c in cells]
    t["population"] = pd.DataFrame({"zone_id": ids, "period": 2023, "sex": "F", "age": 70,
                                    "persons": float(COUNT), "source_id": "test"})
    t["demand"] = pd.DataFrame({"zone_id": ids, "target_id": "pop_65plus", "period": 2023,
                                "demand": float(COUNT), "source_id": "test"})
    t["facility"] = t["facility"][t["facility"]["facility_id"] == "F1"]
    for name in ("household", "candidate_site"):
        del t[name]
    return t


def discrete_laplace(epsilon):
    """E|X|, sd |X| and E X^2 of the discrete Laplace noise of scale 1 / epsilon."""
    q = math.exp(-epsilon)
    mean_abs = 2 * q / (1 - q * q)
    second = 2 * q / (1 - q) ** 2
    return mean_abs, math.sqrt(second - mean_abs ** 2), second


@pytest.fixture(scope="module")
def grid():
    with fresh_database() as name:
        with psycopg.connect(f"dbname={name}") as c:
            assert import_all(c, grid_city()) == []
            c.commit()
        set_budget(name, "10")
        yield name


@pytest.mark.parametrize("epsilon", [2.0, 0.1])
def test_noise_has_the_discrete_laplace_spread_of_scale_one_over_epsilon(grid, epsilon):
    with psycopg.connect(f"dbname={grid}") as c:
        as_role(c, "welfare_analyst")
        rows = c.execute(CALL, ["section", 2023, "pop_65plus", epsilon, "spread"]).fetchall()
        c.rollback()
    assert len(rows) == N_SECTIONS
    noise = [r[5] - COUNT for r in rows]
    mean_abs, sd_abs, second = discrete_laplace(epsilon)
    n = len(noise)
    assert abs(sum(abs(x) for x in noise) / n - mean_abs) < 5 * sd_abs / math.sqrt(n)
    assert abs(sum(noise) / n) < 5 * math.sqrt(second / n)  # centred
