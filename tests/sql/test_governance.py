"""Governance against the real server: settings as overrides (what pg_dump carries),
failed runs recorded outside the failing transaction, nobody able to plant or edit them."""
from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from sql.wi_sql import as_role, denied




# --- settings ---------------------------------------------------------------------

def test_a_change_is_an_override_and_the_default_stays(conn):
    as_role(conn, "welfare_admin")
    conn.execute("UPDATE welfare.setting SET value = '10' WHERE name = 'suppress_below'")
    assert conn.execute("SELECT s.value, o.value, o.changed_by, welfare.setting_value(s.name) "
                        "FROM welfare.setting s JOIN welfare.setting_override o USING (name) "
                        "WHERE name = 'suppress_below'").fetchone() == ("8", "10", "welfare_admin", "10")
    conn.execute("INSERT INTO welfare.setting_override (name, value) VALUES ('round_to', '10') "
                 "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value")
    assert conn.execute("SELECT welfare.setting_value('round_to')").fetchone() == ("10",)
    # what the PL/Python doors read (bootstrap rules(), 130-comparisons settings())
    conn.execute("RESET ROLE")
    got = conn.execute("SELECT s.name, welfare.setting_value(s.name) AS value FROM welfare.setting s "
                       "WHERE s.name IN ('suppress_below', 'round_to') ORDER BY 1").fetchall()
    assert got == [("round_to", "10"), ("suppress_below", "10")]
    # setting the default back removes the override
    conn.execute("UPDATE welfare.setting SET value = '8' WHERE name = 'suppress_below'")
    assert conn.execute("SELECT count(*) FROM welfare.setting_override "
                        "WHERE name = 'suppress_below'").fetchone() == (0,)
    # a description change does not touch the override
    conn.execute("UPDATE welfare.setting SET description = description WHERE name = 'round_to'")
    assert conn.execute("SELECT welfare.setting_value('round_to')").fetchone() == ("10",)


@pytest.mark.parametrize("name,value,state", [
    ("suppress_below", "-1", "22023"), ("srid", "4326", "22023"), ("srid", "utm", "22023"),
    ("dp_epsilon_budget", "lots", "22023"), ("nonexistent", "1", "42704"),
])
def test_a_bad_override_is_refused(conn, name, value, state):
    err = denied(conn, "INSERT INTO welfare.setting_override (name, value) VALUES (%s, %s)",
                 [name, value], state=state)
    assert name in str(err)


def test_srid_override_applies_while_empty_and_its_removal_is_refused_with_data(conn):
    conn.execute("INSERT INTO welfare.setting_override (name, value) VALUES ('srid', '3003')")
    assert conn.execute("SELECT welfare.working_srid(), srid FROM geometry_columns "
                        "WHERE f_table_schema = 'welfare' AND f_table_name = 'facility'"
                        ).fetchone() == (3003, 3003)
    conn.execute("INSERT INTO welfare.source VALUES ('s', 'n', 'o', 'open data', 'p', 'l', false, "
                 "'2026-01-01', 'r')")
    conn.execute("INSERT INTO welfare.zone VALUES ('z', '015146', 'city', 'c', NULL, 's', "
                 "ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 3003)))")
    denied(conn, "DELETE FROM welfare.setting_override WHERE name = 'srid'", state="55006")
    denied(conn, "UPDATE welfare.setting SET value = '32632' WHERE name = 'srid'", state="55006")


def test_the_admin_changes_the_srid_while_empty(conn):
    """The admin does not own the geometry tables; the srid change still moves their
    constraints (welfare._apply_srid), and is still refused once a geometry is stored.
    The analyst cannot call the definer."""
    srid = ("SELECT array_agg(DISTINCT srid) FROM geometry_columns "
            "WHERE f_table_schema = 'welfare'")
    as_role(conn, "welfare_admin")
    conn.execute("UPDATE welfare.setting SET value = '3003' WHERE name = 'srid'")
    assert conn.execute(srid).fetchone()[0] == [3003]
    conn.execute("DELETE FROM welfare.setting_override WHERE name = 'srid'")
    assert conn.execute(srid).fetchone()[0] == [32632]
    conn.execute("RESET ROLE")
    as_role(conn, "welfare_analyst")
    denied(conn, "SELECT welfare._apply_srid('32632', 3003)")
    conn.execute("RESET ROLE")
    conn.execute("INSERT INTO welfare.source VALUES ('s', 'n', 'o', 'open data', 'p', 'l', false, "
                 "'2026-01-01', 'r')")
    conn.execute("INSERT INTO welfare.zone VALUES ('z', '015146', 'city', 'c', NULL, 's', "
                 "ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 32632)))")
    as_role(conn, "welfare_admin")
    err = denied(conn, "UPDATE welfare.setting SET value = '3003' WHERE name = 'srid'",
                 state="55006")
    assert "already stored" in str(err)


def test_only_the_admin_changes_settings(conn):
    for role in ("welfare_analyst", "welfare_provider", "welfare_bi_reader"):
        as_role(conn, role)
        denied(conn, "INSERT INTO welfare.setting_override (name, value) VALUES ('round_to', '1')")
        denied(conn, "UPDATE welfare.setting SET value = '1' WHERE name = 'round_to'")
    as_role(conn, "welfare_provider")  # reads the value in force, like the defaults
    assert conn.execute("SELECT welfare.setting_value('round_to')").fetchone() == ("5",)


def test_override_is_registered_for_pg_dump(conn):
    dumped = {r[0] for r in conn.execute(
        "SELECT unnest(extconfig)::regclass::text FROM pg_extension "
        "WHERE extname = 'welfare_intelligence'")}
    assert {"welfare.setting_override", "welfare.dp_release"} <= dumped
    assert "welfare.setting" not in dumped
    # the restore-order anchor (091-restore-settings-first.sql): dumped, sorts first, never
    # holds a row, so the foreign key that orders pg_restore cannot block anything
    assert "welfare._restore_settings_first" in dumped
    assert min(t.split(".")[1] for t in dumped if t.startswith("welfare.")) == "_restore_settings_first"
    conn.execute("INSERT INTO welfare.setting_override (name, value) VALUES ('round_to', '10')")
    denied(conn, "INSERT INTO welfare._restore_settings_first VALUES ('round_to')", state="23514")
    conn.execute("DELETE FROM welfare.setting_override WHERE name = 'round_to'")


# --- failed runs --------------------------------------------------------------------

def runs(dbname):
    with psycopg.connect(f"dbname={dbname}") as c:
        c.execute("SET ROLE welfare_admin")
        return c.execute("SELECT run_id, kind, parameters, run_by, status, message, "
                         "finished_at >= started_at, duration_ms >= 0 FROM welfare.run "
                         "ORDER BY run_id").fetchall()


def test_a_failed_run_is_recorded_although_its_statement_rolls_back(dbname):
    before = len(runs(dbname))
    with psycopg.connect(f"dbname={dbname}") as c:
        as_role(c, "welfare_analyst")
        with pytest.raises(psycopg.Error) as err:  # bad input: no demand loaded for 1999
            c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 1999)")
        assert "1999" in err.value.diag.message_primary
        c.rollback()
        # the same transaction's later statements still work, and roll back as usual
        as_role(c, "welfare_analyst")
        with pytest.raises(psycopg.Error):
            c.execute("SELECT welfare.run_forecast_demand('no_such_target', 7)")
        c.rollback()
    got = runs(dbname)[before:]
    assert [g[1:] for g in got] == [
        ("zone_indicators", {"level": "neighbourhood", "period": 1999}, "welfare_analyst",
         "failed", err.value.diag.message_primary, True, True),
        (got[1][1], got[1][2], "welfare_analyst", "failed", got[1][5], True, True)]
    assert got[1][1] == "forecast_demand" and "no_such_target" in got[1][5]
    assert not got[0][5].startswith(("WelfareSqlError", "plpy"))


def test_a_failed_run_cannot_be_edited_or_planted(dbname):
    with psycopg.connect(f"dbname={dbname}") as c:
        as_role(c, "welfare_analyst")
        with pytest.raises(psycopg.Error):
            c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 1999)")
        c.rollback()
        rid = runs(dbname)[-1][0]
        for role in ("welfare_analyst", "welfare_admin"):
            as_role(c, role)
            denied(c, "UPDATE welfare.run SET status = 'ok' WHERE run_id = %s", [rid])
            denied(c, "DELETE FROM welfare.run WHERE run_id = %s", [rid])
            denied(c, "SELECT welfare.log_run_finish(%s, 'ok')", [rid])
            # the session's pending runs are the log functions' own
            denied(c, "SELECT welfare._pending_run(1, 'forged', '{}', 'welfare_admin')")
            denied(c, "SELECT * FROM welfare._take_pending_runs()")
        # called by hand with nothing pending, the failure logger writes nothing
        as_role(c, "welfare_analyst")
        n = len(runs(dbname))
        assert c.execute("SELECT welfare._log_run_failure('forged')").fetchone() == (0,)
        c.commit()
        assert len(runs(dbname)) == n


def test_a_run_rolled_back_after_success_or_still_open_is_not_a_failure(dbname):
    n = len(runs(dbname))
    with psycopg.connect(f"dbname={dbname}") as c:
        as_role(c, "welfare_analyst")
        rid = c.execute("SELECT welfare.log_run_start('probe')").fetchone()[0]
        # its row is alive in this transaction: the logger leaves it alone (and does not
        # wait on it over dblink)
        assert c.execute("SELECT welfare._log_run_failure('x')").fetchone() == (0,)
        c.execute("SELECT welfare.log_run_finish(%s, 'ok')", [rid])
        c.rollback()
    assert len(runs(dbname)) == n


# --- differential privacy budget -------------------------------------------------------

def test_dp_releases_stay_within_the_epsilon_budget(conn):
    as_role(conn, "welfare_admin")
    conn.execute("UPDATE welfare.setting SET value = '1.0' WHERE name = 'dp_epsilon_budget'")
    as_role(conn, "welfare_analyst")
    ins = "INSERT INTO welfare.dp_release (description, epsilon, cells, released_by) VALUES (%s, %s, 10, %s)"
    conn.execute(ins, ["district counts 2023", 0.6, "someone_else"])
    conn.execute(ins, ["neighbourhood counts 2023", 0.4, "x"])   # 1.0 in total: allowed
    err = denied(conn, ins, ["one more", 0.01, "x"], state="23514")
    assert "budget" in str(err) and "1" in str(err)
    assert conn.execute("SELECT sum(epsilon), array_agg(DISTINCT released_by) FROM welfare.dp_release"
                        ).fetchone() == (1.0, ["welfare_analyst"])
    # spent is spent: the analyst cannot give epsilon back
    denied(conn, "DELETE FROM welfare.dp_release")
    denied(conn, "UPDATE welfare.dp_release SET epsilon = 0.1")
    denied(conn, ins, ["bad", 0, "x"], state="23514")  # epsilon must be > 0
