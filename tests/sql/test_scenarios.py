"""Scenarios through the SQL door: same numbers as the core, runs stored, privacy, concurrency."""
import secrets
import threading

import numpy as np
import pandas as pd
import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from fixtures import tiny_city as tc
from sql.wi_sql import admin_conn
from welfare_core import scenario as sc
from welfare_core import scenario_compare as cmp

X0, Y0 = tc.X0, tc.Y0
CLOSE_F2 = ("close", {"facility_id": "F2"})
OPEN_F9 = ("open", {"facility_id": "F9", "service_type_id": "rsa", "capacity": 8,
                    "x": X0 + 2500, "y": Y0 + 2500})
MORE_OLD = ("demand", {"target_id": "pop_65plus", "zone_ids": ["015146-D1"], "mode": "pct",
                       "value": 50})
SHORT_RSA = ("catchment", {"service_type_id": "rsa", "max_cost": 1000})
COLS = ["zone_id", "level", "parent_id", "period", "target_id", "measure", "base", "scenario",
        "change", "change_pct", "direction", "demand_effect", "supply_effect",
        "catchment_effect", "null_reason"]


@pytest.fixture(scope="module")
def analysts(loaded):
    """Two login-less analyst roles (cluster-wide: dropped afterwards)."""
    names = [f"wi_analyst_{secrets.token_hex(3)}" for _ in range(3)]
    with admin_conn() as c:
        for n in names:
            c.execute(sql.SQL("CREATE ROLE {} NOLOGIN IN ROLE welfare_analyst").format(
                sql.Identifier(n)))
    yield names
    with psycopg.connect(f"dbname={loaded}", autocommit=True) as c:
        for n in names:
            c.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(n)))
    with admin_conn() as c:
        for n in names:
            c.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(n)))


def session(dbname, role=None):
    c = psycopg.connect(f"dbname={dbname}", autocommit=True)
    if role:
        c.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    return c


def make(c, name, changes, shared=False, base=None):
    sid = c.execute("SELECT welfare.create_scenario(%s, 'test', %s, %s)",
                    [name, shared, base]).fetchone()[0]
    for kind, params in changes:
        c.execute("SELECT welfare.add_scenario_change(%s, %s, %s)", [sid, kind, Jsonb(params)])
    return sid


def core_compare(a_changes, b_changes):
    base = cmp.prepare(tc.tables())
    a = sc.apply(base, [sc.change(k, **p) for k, p in a_changes])
    b = sc.apply(base, [sc.change(k, **p) for k, p in b_changes])
    return cmp.compare(a, b, "neighbourhood", 2023)


def assert_same(got, want):
    keys = ["measure", "target_id", "zone_id"]
    got = got.sort_values(keys).reset_index(drop=True)
    want = want.sort_values(keys).reset_index(drop=True)
    assert len(got) == len(want) > 0
    for col in want.columns:
        if want[col].dtype.kind == "f":
            np.testing.assert_allclose(got[col].astype(float), want[col], rtol=1e-12,
                                       atol=1e-12, equal_nan=True, err_msg=col)
        else:
            assert [None if pd.isna(x) else x for x in got[col]] == \
                [None if pd.isna(x) else x for x in want[col]], col


def stored(c, run_id):
    return pd.DataFrame(c.execute(
        f"SELECT {', '.join(COLS)} FROM welfare.scenario_result WHERE run_id = %s",
        [run_id]).fetchall(), columns=COLS)


def test_run_stores_the_core_comparison(loaded):
    with session(loaded) as c:
        sid = make(c, "close F2, open F9", [CLOSE_F2, OPEN_F9, MORE_OLD, SHORT_RSA])
        run_id = c.execute("SELECT welfare.run_scenario(%s, 'neighbourhood', 2023)",
                           [sid]).fetchone()[0]
        got = stored(c, run_id)
        kind, status, params = c.execute(
            "SELECT kind, status, parameters FROM welfare.run WHERE run_id = %s",
            [run_id]).fetchone()
    assert (kind, status, params["scenario_id"]) == ("scenario", "ok", sid)
    assert_same(got, core_compare([], [CLOSE_F2, OPEN_F9, MORE_OLD, SHORT_RSA]))
    ok = got.change.notna() & got.demand_effect.notna()
    np.testing.assert_allclose(got.loc[ok, ["demand_effect", "supply_effect",
                                            "catchment_effect"]].sum(axis=1),
                               got.loc[ok, "change"], atol=1e-12)


def test_scenarios_of_scenarios_and_compare(loaded):
    with session(loaded) as c:
        first = make(c, "close F2", [CLOSE_F2])
        second = make(c, "and open F9", [OPEN_F9], base=first)
        copy = c.execute("SELECT welfare.copy_scenario(%s, 'copy')", [second]).fetchone()[0]
        got = pd.DataFrame(c.execute("SELECT * FROM welfare.compare_scenarios(%s, %s, "
                                     "'neighbourhood', 2023)", [first, copy]).fetchall(),
                           columns=COLS)
        n = c.execute("SELECT count(*) FROM welfare.scenario_change WHERE scenario_id = %s",
                      [copy]).fetchone()[0]
    assert n == 1
    assert_same(got, core_compare([CLOSE_F2], [CLOSE_F2, OPEN_F9]))


def test_bad_changes_and_failed_runs_leave_nothing(loaded):
    with session(loaded) as c:
        sid = make(c, "bad", [])
        with pytest.raises(psycopg.errors.InvalidParameterValue) as e:
            c.execute("SELECT welfare.add_scenario_change(%s, 'open', %s)",
                      [sid, Jsonb({"facility_id": "X", "service_type_id": "rsa"})])
        assert "needs capacity" in str(e.value) and "Traceback" not in str(e.value)
        c.execute("SELECT welfare.add_scenario_change(%s, 'close', %s)",
                  [sid, Jsonb({"facility_id": "NOPE"})])
        counts = ("SELECT (SELECT count(*) FROM welfare.run WHERE status <> 'failed'), "
                  "(SELECT count(*) FROM welfare.scenario_result)")
        before = c.execute(counts).fetchone()
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="NOPE"):
            c.execute("SELECT welfare.run_scenario(%s, 'neighbourhood', 2023)", [sid])
        c.rollback()
        assert c.execute(counts).fetchone() == before
        # only the failure itself is on record, outside the rolled-back transaction
        kind, message = c.execute("SELECT kind, message FROM welfare.run WHERE status = 'failed' "
                                  "ORDER BY run_id DESC LIMIT 1").fetchone()
    assert kind == "scenario" and "NOPE" in message


def test_privacy_between_owners(loaded, analysts):
    alice, bob, _ = analysts
    with session(loaded, alice) as a, session(loaded, bob) as b:
        private = make(a, "alice private", [CLOSE_F2])
        shared = make(a, "alice shared", [OPEN_F9], shared=True)
        a.execute("SELECT welfare.run_scenario(%s, 'neighbourhood', 2023)", [private])
        a.execute("SELECT welfare.run_scenario(%s, 'neighbourhood', 2023)", [shared])
        seen = {r[0] for r in b.execute("SELECT scenario_id FROM welfare.scenario")}
        assert shared in seen and private not in seen
        assert b.execute("SELECT count(*) FROM welfare.scenario_change WHERE scenario_id = %s",
                         [private]).fetchone()[0] == 0
        assert b.execute("SELECT count(*) FROM welfare.scenario_result WHERE scenario_id = %s",
                         [private]).fetchone()[0] == 0
        assert b.execute("SELECT count(*) FROM welfare.scenario_result WHERE scenario_id = %s",
                         [shared]).fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="read-only"):
            b.execute("SELECT welfare.add_scenario_change(%s, 'close', %s)",
                      [shared, Jsonb({"facility_id": "F1"})])
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="private"):
            b.execute("SELECT welfare.run_scenario(%s, 'neighbourhood', 2023)", [private])
        assert b.execute("UPDATE welfare.scenario SET name = 'mine' WHERE scenario_id = %s",
                         [shared]).rowcount == 0
        assert b.execute("DELETE FROM welfare.scenario_change WHERE scenario_id = %s",
                         [shared]).rowcount == 0
        mine = b.execute("SELECT welfare.copy_scenario(%s)", [shared]).fetchone()[0]
        b.execute("SELECT welfare.add_scenario_change(%s, 'close', %s)",
                  [mine, Jsonb({"facility_id": "F1"})])
        bi = {r[0] for r in b.execute("SELECT DISTINCT scenario_id FROM "
                                      "welfare_bi.scenario_comparison")}
        assert shared in bi and private not in bi


def test_concurrent_sessions(loaded, analysts):
    """Three analysts at once, each creating and running scenarios in its own session."""
    plans = {0: [CLOSE_F2], 1: [OPEN_F9, MORE_OLD], 2: [SHORT_RSA, CLOSE_F2]}
    out, errors = {}, []

    def work(k):
        try:
            with session(loaded, analysts[k]) as c:
                for rep in range(2):
                    sid = make(c, f"concurrent {k}.{rep}", plans[k])
                    run_id = c.execute("SELECT welfare.run_scenario(%s, 'neighbourhood', 2023)",
                                       [sid]).fetchone()[0]
                    out[k, rep] = (sid, stored(c, run_id),
                                   {r[0] for r in c.execute(
                                       "SELECT scenario_id FROM welfare.scenario")})
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    mine = {k: {out[k, r][0] for r in range(2)} for k in plans}
    for (k, rep), (sid, frame, seen) in out.items():
        assert_same(frame, core_compare([], plans[k]))
        others = set().union(*(mine[j] for j in plans if j != k))
        assert not (seen & others)  # never another analyst's private scenario


def test_bi_view_every_column_commented(loaded):
    with session(loaded) as c:
        missing = c.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = "
            "'welfare_bi.scenario_comparison'::regclass AND a.attnum > 0 "
            "AND col_description(a.attrelid, a.attnum) IS NULL").fetchall()
    assert missing == []


def test_bi_view_rounds_the_parts_of_demand_changes(loaded):
    """Published demand rows: parts rounded to sum exactly to the published change (by hand)."""
    plan = [
        # pop_0_2 in N1: 40 -> 43.4; published 40 -> 45 (43.4 -> 43 -> 45), change 5,
        # raw part 3.4 (/5 = .68: floor 0, the missing unit) -> 5
        ("demand", {"target_id": "pop_0_2", "zone_ids": ["015146-N1"], "mode": "delta",
                    "value": 3.4}),
        # pop_65plus in N2: 100 -> 96.6; published 100 -> 95, change -5; part -3.4 -> -5
        ("demand", {"target_id": "pop_65plus", "zone_ids": ["015146-N2"], "mode": "delta",
                    "value": -3.4}),
        # alone_65plus in N4: 0 -> 5, suppressed: change and parts hidden
        ("demand", {"target_id": "alone_65plus", "zone_ids": ["015146-N4"], "mode": "set",
                    "value": 5}),
        # pop_65plus in N1: 300 -> 301 (raw: a loss, more demand); published 300 -> 300:
        # change 0, so the published direction is "none" (issue 9)
        ("demand", {"target_id": "pop_65plus", "zone_ids": ["015146-N1"], "mode": "delta",
                    "value": 1.0}),
        CLOSE_F2]
    with session(loaded) as c:
        sid = make(c, "small demand changes", plan, shared=True)
        run_id = c.execute("SELECT welfare.run_scenario(%s, 'neighbourhood', 2023)",
                           [sid]).fetchone()[0]
        cols = ["zone_id", "target_id", "measure", "base", "scenario", "change",
                "demand_effect", "supply_effect", "catchment_effect", "direction"]
        bi = pd.DataFrame(c.execute(
            f"SELECT {', '.join(cols)} FROM welfare_bi.scenario_comparison WHERE run_id = %s",
            [run_id]).fetchall(), columns=cols)
        raw = stored(c, run_id)
    dem = bi[bi.measure == "demand"].set_index(["zone_id", "target_id"])
    assert len(dem) == 12  # 4 neighbourhoods x 3 targets

    def row(z, t):
        return [None if pd.isna(v) else float(v) for v in dem.loc[
            (f"015146-{z}", t), ["base", "scenario", "change", "demand_effect",
                                 "supply_effect", "catchment_effect"]]]

    assert row("N1", "pop_0_2") == [40, 45, 5, 5, 0, 0]
    assert row("N2", "pop_65plus") == [100, 95, -5, -5, 0, 0]
    assert row("N4", "alone_65plus") == [0, None, None, None, None, None]
    assert row("N1", "alone_65plus") == [120, 120, 0, 0, 0, 0]
    # the direction shown is that of the published change, not of the raw one
    assert row("N1", "pop_65plus")[:3] == [300, 300, 0]
    assert dem.loc[("015146-N1", "pop_65plus"), "direction"] == "none"
    assert dem.loc[("015146-N1", "pop_0_2"), "direction"] == "loss"   # 40 -> 45
    assert dem.loc[("015146-N2", "pop_65plus"), "direction"] == "gain"  # 100 -> 95
    assert pd.isna(dem.loc[("015146-N4", "alone_65plus"), "direction"])  # hidden
    r65 = raw[(raw.measure == "demand") & (raw.zone_id == "015146-N1") &
              (raw.target_id == "pop_65plus")].iloc[0]
    assert r65.direction == "loss" and r65.change == pytest.approx(1.0)
    # the raw rows keep the unrounded values for analysts
    r = raw[(raw.measure == "demand") & (raw.zone_id == "015146-N1") &
            (raw.target_id == "pop_0_2")].iloc[0]
    assert r.change == pytest.approx(3.4) and r.demand_effect == pytest.approx(3.4)
    # every published demand figure: a multiple of 5, none in 1-7, parts sum to the change
    shown = dem[dem["change"].notna()]
    parts = shown[["demand_effect", "supply_effect", "catchment_effect"]].astype(float)
    np.testing.assert_array_equal(parts.sum(axis=1), shown["change"].astype(float))
    figures = dem[["base", "scenario", "change", "demand_effect", "supply_effect",
                   "catchment_effect"]].to_numpy(dtype=float).ravel()
    figures = figures[~np.isnan(figures)]
    np.testing.assert_array_equal(figures % 5, 0)
    counts = dem[["base", "scenario"]].to_numpy(dtype=float).ravel()
    assert not ((counts >= 1) & (counts <= 7)).any()
    # the access rows of the closed F2 keep their (rate) parts, summing to the change
    acc = bi[(bi.measure == "access") & bi["change"].notna()]
    assert len(acc) > 0
    np.testing.assert_allclose(acc[["demand_effect", "supply_effect", "catchment_effect"]]
                               .astype(float).sum(axis=1), acc["change"].astype(float),
                               atol=1e-12)
