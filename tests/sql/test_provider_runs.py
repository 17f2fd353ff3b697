"""Providers run analyses through welfare.run_published (sql/idempotent/152-provider-runs.sql).

The tiny city (tests/fixtures/tiny_city.py) with two unpublished nursing homes
that would change every number if they were counted: Casa Luna (Coop Luna,
100 beds, neighbourhood N4) and Coop Sole's own draft Casa Bozza (50 beds, N2).
The published ones are F1 (Comune, 12 beds, N1) and F2 (Coop Sole, 4 beds, N4).
Expected numbers are worked out by hand in each test. Providers act as NOLOGIN
roles taken with SET ROLE, and as a real LOGIN role connected over TCP with a
password (session_user = the provider).
"""
from __future__ import annotations

import json
import secrets

import pandas as pd
import psycopg
import pytest
from psycopg import sql

from fixtures import tiny_city as tc
from sql.wi_sql import as_role, denied, admin_conn, import_all

PUBLISHED = {"F1", "F2"}


@pytest.fixture(scope="module")
def city(dbname):
    tables = tc.tables()
    fac = tables["facility"]
    extra = pd.DataFrame([
        ("F4", tc.MUNI, "rsa", "Casa Luna", "Coop Luna", None, None, False, "test", 100.0,
         tc.pt(3500, 3500)),
        ("F5", tc.MUNI, "rsa", "Casa Bozza", "Coop Sole", None, None, False, "test", 50.0,
         tc.pt(1000, 3500))],
        columns=["facility_id", "municipality_code", "service_type_id", "name", "provider_org",
                 "active_from", "active_to", "published", "source_id", "capacity", "geometry"])
    tables["facility"] = pd.concat([fac, extra[fac.columns]], ignore_index=True)
    suffix = secrets.token_hex(3)
    sole, luna = f"wi_sole_{suffix}", f"wi_luna_{suffix}"
    password = secrets.token_urlsafe(16)
    with admin_conn() as a:
        a.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(sole)))
        a.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(luna), sql.Literal(password)))
    try:
        with psycopg.connect(f"dbname={dbname}") as c:
            assert import_all(c, tables) == []
            c.execute("SET ROLE welfare_admin")
            for r, org in ((sole, "Coop Sole"), (luna, "Coop Luna")):
                c.execute("SELECT welfare.grant_role('welfare_provider', %s)", [r])
                c.execute("INSERT INTO welfare.provider_member VALUES (%s, %s)", [r, org])
            c.execute("RESET ROLE")
            c.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(dbname), sql.Identifier(luna)))
            c.commit()
        yield dict(db=dbname, sole=sole, luna=luna,
                   luna_dsn=f"host=127.0.0.1 dbname={dbname} user={luna} password={password}")
    finally:
        with admin_conn() as a:
            for r in (sole, luna):
                with psycopg.connect(f"dbname={dbname}", autocommit=True) as c:
                    c.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(r)))
                a.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(r)))


@pytest.fixture
def db(city):
    with psycopg.connect(f"dbname={city['db']}") as c:
        yield c
        c.rollback()




def run_published(conn, kind, params):
    return conn.execute("SELECT welfare.run_published(%s, %s::jsonb)",
                        [kind, json.dumps(params)]).fetchone()[0]


def service_rows(conn, run_id):
    return {r[0]: r[1:] for r in conn.execute(
        "SELECT zone_id, supply, facilities, coverage_per_100, gap "
        "FROM welfare_bi.zone_service_indicators WHERE run_id = %s AND service_type_id = 'rsa'",
        [run_id])}


def test_zone_indicators_count_every_published_facility_and_no_unpublished_one(db, city):
    as_role(db, city["sole"])
    run_id = run_published(db, "zone_indicators", {"level": "neighbourhood", "period": 2023})
    got = service_rows(db, run_id)
    # by hand, published rsa beds: F1 12 in N1, F2 4 in N4 (F5, Sole's own draft, and
    # Luna's F4 are left out). Standard 2.82 per 100 residents 65+ (N1 300, N2 100, N4 200):
    #   N1: 12 beds, coverage 12/300*100 = 4,  gap max(0, 8.46 - 12) = 0
    #   N2:  0 beds, coverage 0,               gap 2.82
    #   N4:  4 beds, coverage 4/200*100 = 2,   gap 5.64 - 4 = 1.64
    want = {"015146-N1": (12.0, 1, 4.0, 0.0), "015146-N2": (0.0, 0, 0.0, 2.82),
            "015146-N4": (4.0, 1, 2.0, 1.64)}
    for zone, (supply, n, coverage, gap) in want.items():
        assert got[zone][0] == pytest.approx(supply, abs=1e-9), zone
        assert got[zone][1] == n, zone
        assert got[zone][2] == pytest.approx(coverage, abs=1e-9), zone
        assert got[zone][3] == pytest.approx(gap, abs=1e-9), zone
    # per target: rsa beds serve residents 65+ with share 0.75 -> N4 supply 3, 3/200*100 = 1.5
    row = db.execute("SELECT supply, coverage_per_100 FROM welfare_bi.zone_indicators "
                     "WHERE run_id = %s AND zone_id = '015146-N4' AND target_id = 'pop_65plus'",
                     [run_id]).fetchone()
    assert row == (pytest.approx(3.0, abs=1e-9), pytest.approx(1.5, abs=1e-9))
    # logged under the provider, not the function's owner, and marked
    db.execute("RESET ROLE")
    assert db.execute("SELECT kind, run_by, status, parameters FROM welfare.run WHERE run_id = %s",
                      [run_id]).fetchone() == (
        "zone_indicators", city["sole"], "ok",
        {"level": "neighbourhood", "period": 2023, "published_facilities_only": True})
    # an analyst's run counts the published facilities only too (the same numbers) ...
    as_role(db, "welfare_analyst")
    assert service_rows(db, db.execute(
        "SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]) == got
    # ... unless its session asks for the unpublished ones, which would change the result
    # (N2: F5 50 beds, coverage 50; N4: 4 + 100 = 104 beds, 2 facilities, gap 0)
    db.execute("SET welfare.count_unpublished_facilities = on")
    wider = db.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
    db.execute("RESET welfare.count_unpublished_facilities")
    full = service_rows(db, wider)
    assert full["015146-N2"][:3] == (pytest.approx(50.0), 1, pytest.approx(50.0))
    assert full["015146-N4"][:2] == (pytest.approx(104.0), 2) and full["015146-N4"][3] == 0
    # such a run is logged so, and shown in welfare_bi to its author only
    assert db.execute("SELECT parameters ->> 'unpublished_facilities_counted', audience "
                      "FROM welfare.run WHERE run_id = %s", [wider]).fetchone() == ("true", "caller")
    db.execute("RESET ROLE")
    as_role(db, "welfare_bi_reader")
    assert service_rows(db, wider) == {}


def test_a_login_provider_runs_accessibility_and_reads_only_published_outputs(city):
    with psycopg.connect(city["luna_dsn"]) as c:
        assert c.execute("SELECT session_user, current_user").fetchone() == (city["luna"],) * 2
        run_id = run_published(c, "accessibility", {"service_type_id": "rsa", "period": 2023,
                                                    "level": "neighbourhood"})
        access = dict(c.execute(
            "SELECT zone_id, access FROM welfare_bi.accessibility WHERE run_id = %s "
            "AND target_id = 'pop_65plus'", [run_id]).fetchall())
        # by hand: the farthest pair is F1 (500, 500) - N4's centre (3000, 3000), 3536 m,
        # within the 5000 m catchment, so every zone reaches both published homes and
        # 2SFCA gives everyone total supply / total demand: (12 + 4) * 0.75 / 600 * 100 = 2.
        # Counting F4 and F5 (all within 3536 m too) would give 166 * 0.75 / 6 = 20.75.
        for zone in ("015146-N1", "015146-N2", "015146-N4"):
            assert access[zone] == pytest.approx(2.0, rel=1e-9), zone
        c.commit()
        # raw tables and raw functions stay closed
        for q in ("SELECT * FROM welfare.demand", "SELECT * FROM welfare.population",
                  "SELECT * FROM welfare.run", "SELECT * FROM welfare.accessibility_result",
                  "SELECT * FROM welfare.zone_indicator_result",
                  "SELECT * FROM welfare.optimise_site",
                  "SELECT * FROM welfare.accessibility('rsa', 2023)",
                  "SELECT * FROM welfare.zone_indicators('neighbourhood', 2023)",
                  "SELECT welfare.run_accessibility('rsa', 2023)",
                  "SELECT welfare._run_zone_indicators('neighbourhood', 2023)",
                  "SELECT welfare._published_param('{}', 'x', 'y', 'text')",
                  "SELECT welfare.log_run_start('probe')",
                  "COPY welfare.demand TO STDOUT"):
            denied(c, q)
        c.rollback()
    with psycopg.connect(f"dbname={city['db']}") as c:  # logged under the login user
        assert c.execute("SELECT run_by, status, parameters ->> 'published_facilities_only' "
                         "FROM welfare.run WHERE run_id = %s",
                         [run_id]).fetchone() == (city["luna"], "ok", "true")


def test_optimisation_runs_see_only_published_sites(db, city):
    as_role(db, city["sole"])
    for kind, params in (("optimise_locations", {"service_type_id": "rsa", "model": "mclp",
                                                 "new_sites": 1, "period": 2023}),
                         ("allocate_capacity", {"service_type_id": "rsa", "budget": 10,
                                                "period": 2023, "candidates": True,
                                                "time_limit": 20})):
        run_id = run_published(db, kind, params)
        sites = dict(db.execute("SELECT site_id, site_kind FROM welfare_bi.optimise_sites "
                                "WHERE run_id = %s", [run_id]).fetchall())
        assert sites == {"F1": "existing", "F2": "existing", "S1": "candidate"}, kind
        assert db.execute("SELECT count(*) FROM welfare_bi.optimise_summary WHERE run_id = %s",
                          [run_id]).fetchone()[0] == 1


def shown_run(conn, role, view, where):
    conn.execute("RESET ROLE")
    as_role(conn, role)
    return {r[0] for r in conn.execute(f"SELECT DISTINCT run_id FROM welfare_bi.{view} {where}")}


def test_a_providers_run_is_shown_to_that_provider_only(db, city):
    """A third party must not replace the city's published figures: everyone else keeps
    reading the analyst's latest run on the published facilities; the provider reads its
    own, the analyst its own run that counted the drafts."""
    as_role(db, "welfare_analyst")
    official = db.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
    official_opt = db.execute("SELECT welfare.run_optimise_locations('rsa', 'mclp', 1, 2023)"
                              ).fetchone()[0]
    db.execute("SET welfare.count_unpublished_facilities = on")
    wider = db.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
    db.execute("RESET welfare.count_unpublished_facilities")
    db.execute("RESET ROLE")
    as_role(db, city["sole"])
    own = run_published(db, "zone_indicators", {"level": "neighbourhood", "period": 2023})
    own_opt = run_published(db, "optimise_locations", {"service_type_id": "rsa", "model": "mclp",
                                                       "new_sites": 1, "period": 2023})
    where = "WHERE zone_level = 'neighbourhood' AND period = 2023"
    assert own > wider > official
    for role in ("welfare_bi_reader", city["luna"]):
        assert shown_run(db, role, "zone_service_indicators", where) == {official}, role
        assert shown_run(db, role, "zone_indicators", where) == {official}, role
        opt = shown_run(db, role, "optimise_summary", "")
        assert official_opt in opt and own_opt not in opt, role
    # each author sees its own latest run
    assert shown_run(db, "welfare_analyst", "zone_service_indicators", where) == {wider}
    assert shown_run(db, city["sole"], "zone_service_indicators", where) == {own}
    assert {own_opt, official_opt} <= shown_run(db, city["sole"], "optimise_summary", "")
    # by hand (see the first test): N4 has 4 published beds, 104 counting the drafts
    assert service_rows(db, own)["015146-N4"][0] == pytest.approx(4.0)
    db.execute("RESET ROLE")
    as_role(db, "welfare_bi_reader")
    assert service_rows(db, official)["015146-N4"][0] == pytest.approx(4.0)
    db.execute("RESET ROLE")
    assert db.execute("SELECT audience FROM welfare.run WHERE run_id = ANY(%s) ORDER BY run_id",
                      [[official, official_opt, wider, own, own_opt]]).fetchall() == [
        ("everyone",), ("everyone",), ("caller",), ("caller",), ("caller",)]


def test_a_provider_runs_accessibility_of_every_service_type_at_once(db, city):
    as_role(db, city["sole"])
    run_id = run_published(db, "accessibility", {"period": 2023, "level": "neighbourhood"})
    got = {(r[0], r[1]): r[2] for r in db.execute(
        "SELECT service_type_id, zone_id, access FROM welfare_bi.accessibility "
        "WHERE run_id = %s AND target_id = 'pop_65plus'", [run_id])}
    # rsa by hand as in the login-provider test: (12 + 4) * 0.75 / 600 * 100 = 2 everywhere
    for zone in ("015146-N1", "015146-N2", "015146-N4"):
        assert got[("rsa", zone)] == pytest.approx(2.0, rel=1e-9), zone
    types = {r[0] for r in db.execute(
        "SELECT DISTINCT service_type_id FROM welfare_bi.accessibility WHERE run_id = %s",
        [run_id])}
    db.execute("RESET ROLE")
    served = {r[0] for r in db.execute("SELECT DISTINCT service_type_id FROM welfare.service_target")}
    assert types == served


def test_the_caller_cannot_widen_the_run_nor_choose_the_library(city):
    """A fresh session (bootstrap not cached) that turns the filter off and points
    welfare.lib_dir at an empty folder: the function pins both."""
    with psycopg.connect(f"dbname={city['db']}") as c:
        as_role(c, city["sole"])
        c.execute("SET welfare.published_facilities_only = off")
        c.execute("SET welfare.lib_dir = '/nonexistent'")
        run_id = run_published(c, "zone_indicators", {"level": "neighbourhood", "period": 2023})
        got = service_rows(c, run_id)
        assert got["015146-N2"][:2] == (pytest.approx(0.0), 0)
        assert got["015146-N4"][:2] == (pytest.approx(4.0), 1)
        assert c.execute("SELECT current_setting('welfare.published_facilities_only')"
                         ).fetchone()[0] == "off"  # restored after the call
        c.rollback()


BAD = [
    (None, {}, "NULL"),
    ("scenario", {"scenario_id": 1}, "not an analysis"),
    ("run_zone_indicators", {}, "not an analysis"),
    ("zone_indicators'; DROP TABLE welfare.run; --", {}, "not an analysis"),
    ("zone_indicators", [1], "JSON object"),
    ("zone_indicators", None, "JSON object"),
    ("zone_indicators", {"level": "neighbourhood", "period": 2023, "evil": 1}, "unknown parameter"),
    ("zone_indicators", {"level": "neighbourhood"}, "period is required"),
    ("zone_indicators", {"level": "neighbourhood", "period": None}, "period is required"),
    ("zone_indicators", {"level": "neighbourhood", "period": "2023"}, "must be a JSON number"),
    ("zone_indicators", {"level": "neighbourhood", "period": 2023.5}, "whole number"),
    ("zone_indicators", {"level": "neighbourhood", "period": 10 ** 12}, "whole number"),
    ("zone_indicators", {"level": 7, "period": 2023}, "must be a JSON string"),
    ("zone_indicators", {"level": "x" * 201, "period": 2023}, "longer than 200"),
    ("zone_indicators", {"level": "neighbourhood'; DROP TABLE welfare.run; --", "period": 2023},
     "level"),
    ("accessibility", {"service_type_id": "rsa", "period": 2023, "max_cost": 1e300},
     "out of range"),
    ("optimise_locations", {"service_type_id": "rsa", "model": "mclp", "new_sites": 10 ** 15,
                            "period": 2023}, "whole number"),
    ("optimise_locations", {"service_type_id": "rsa", "model": "mclp", "new_sites": 2 ** 31 - 1,
                            "period": 2023}, "new_sites"),
    ("optimise_locations", {"service_type_id": "rsa", "model": "mclp", "new_sites": 1,
                            "period": 2023, "time_limit": 1e6}, "time_limit"),
    ("optimise_locations", {"service_type_id": "rsa", "model": "mclp", "new_sites": 1,
                            "period": 2023, "capacitated": "yes"}, "JSON boolean"),
    ("allocate_capacity", {"service_type_id": "rsa", "period": 2023}, "budget is required"),
]


@pytest.mark.parametrize("kind,params,fragment", BAD)
def test_bad_kinds_and_parameters_get_clear_errors(db, city, kind, params, fragment):
    runs = db.execute("SELECT count(*), count(*) FILTER (WHERE status = 'ok') "
                      "FROM welfare.run").fetchone()
    as_role(db, city["sole"])
    err = denied(db, "SELECT welfare.run_published(%s, %s::jsonb)",
                 [kind, None if params is None else json.dumps(params)], state="22023")
    msg = err.diag.message_primary
    assert fragment in msg, msg
    assert err.diag.message_hint, msg
    assert "Traceback" not in msg and not msg.startswith(("plpy", "WelfareSqlError"))
    db.execute("RESET ROLE")
    # nothing written in this transaction (a run that started and failed is logged as
    # failed by an autonomous transaction, never as ok)
    after = db.execute("SELECT count(*) FILTER (WHERE status = 'ok') FROM welfare.run").fetchone()
    assert after[0] == runs[1]


def test_a_failed_provider_run_is_logged_under_the_provider(city):
    with psycopg.connect(f"dbname={city['db']}", autocommit=True) as c:
        as_role(c, city["sole"])
        with pytest.raises(psycopg.Error) as err:
            run_published(c, "optimise_locations", {"service_type_id": "rsa", "model": "mclp",
                                                    "new_sites": 5, "period": 2023})
        assert err.value.sqlstate == "22023" and "new_sites" in str(err.value)
        c.execute("RESET ROLE")
        row = c.execute("SELECT run_by, status, parameters ->> 'published_facilities_only' "
                        "FROM welfare.run WHERE kind = 'optimise_locations' "
                        "ORDER BY run_id DESC LIMIT 1").fetchone()
        assert row == (city["sole"], "failed", "true")


def test_entry_point_is_a_pinned_definer_owned_by_the_extension_owner(db):
    row = db.execute("""
        SELECT p.prosecdef, p.proconfig, p.proowner = e.extowner,
               has_function_privilege('public', p.oid, 'EXECUTE'),
               has_function_privilege('welfare_bi_reader', p.oid, 'EXECUTE'),
               has_function_privilege('welfare_provider', p.oid, 'EXECUTE'),
               has_function_privilege('welfare_analyst', p.oid, 'EXECUTE'),
               has_function_privilege('welfare_provider',
                   'welfare._published_param(jsonb,text,text,text)', 'EXECUTE')
          FROM pg_proc p, pg_extension e
         WHERE p.oid = 'welfare.run_published(text,jsonb)'::regprocedure
           AND e.extname = 'welfare_intelligence'""").fetchone()
    definer, config, owned, public, bi, provider, analyst, helper = row
    assert definer and owned and provider and analyst
    assert not public and not bi and not helper
    assert "search_path=pg_catalog, pg_temp" in config
    assert "welfare.published_facilities_only=on" in config
    assert "welfare.lib_dir=" in config
