"""Roles do exactly what the privilege matrix says: catalog check, then behaviour per role.

The matrix (privileges_expected.csv) is a list of rules; see its header. Every
(role, object, privilege) of schemas welfare and welfare_bi is compared with the
catalog. Behaviour is then checked through tables, views, functions and COPY
with SET ROLE inside transactions that are rolled back.
"""
from __future__ import annotations

import csv
import fnmatch
import io
import os
import secrets
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from psycopg import sql

from fixtures import tiny_city as tc
from sql.wi_sql import as_role, denied, admin_conn, fresh_database, import_all, table_contents

HERE = Path(__file__).resolve().parent
ROLES = ["public", "welfare_admin", "welfare_analyst", "welfare_provider", "welfare_bi_reader"]
PRIVS = {"schema": ["USAGE", "CREATE"],
         "table": ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"],
         "sequence": ["USAGE", "SELECT", "UPDATE"],
         "function": ["EXECUTE"]}
CHECK = {"schema": "has_schema_privilege", "table": "has_table_privilege",
         "sequence": "has_sequence_privilege", "function": "has_function_privilege"}


def load_rules():
    text = (HERE / "privileges_expected.csv").read_text()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines))


def expected(rules, role, kind, obj):
    """(set of privileges, at_least) from the first matching rule; None = anything."""
    for r in rules:
        if r["role"] == role and r["kind"] in ("*", kind) and (
                obj == r["object"] or fnmatch.fnmatchcase(obj, r["object"])):
            p = r["privileges"].strip()
            if p == "*":
                return None
            at_least = p.endswith("+")
            p = p.rstrip("+").strip()
            if p == "ALL":
                return set(PRIVS[kind]), at_least
            return (set() if p == "-" else set(p.split())), at_least
    raise AssertionError(f"no rule for {role} {kind} {obj}: add one to privileges_expected.csv")


def objects(conn):
    out = [("schema", n, n) for n in ("welfare", "welfare_bi")]
    for kind, name, ref in conn.execute("""
        SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END,
               n.nspname || '.' || c.relname, c.oid::regclass::text
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('welfare', 'welfare_bi') AND c.relkind IN ('r', 'v', 'm', 'S', 'p', 'f')
        UNION ALL
        SELECT 'function', p.oid::regprocedure::text, p.oid::regprocedure::text
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname IN ('welfare', 'welfare_bi')
         ORDER BY 1, 2"""):
        out.append((kind, name, ref))
    return out


def actual(conn, role, kind, ref):
    fn = CHECK[kind]
    held = set()
    for p in PRIVS[kind]:
        q = sql.SQL("SELECT {}(%s, %s, %s)").format(sql.Identifier(fn))
        if conn.execute(q, [role, ref, p]).fetchone()[0]:
            held.add(p)
    return held


def test_privilege_matrix(dbname):
    rules = load_rules()
    mismatches, lines = [], []
    with psycopg.connect(f"dbname={dbname}") as c:
        objs = objects(c)
        names = {o[1] for o in objs}
        for r in rules:  # rows naming one object must name an existing one
            if "*" not in r["object"] and r["kind"] != "*":
                assert r["object"] in names, f"privileges_expected.csv names a missing object: {r}"
        for kind, name, ref in objs:
            for role in ROLES:
                want = expected(rules, role, kind, name)
                got = actual(c, role, kind, ref)
                lines.append(f"{role},{kind},{name},{' '.join(sorted(got)) or '-'}")
                if want is None:
                    continue
                privs, at_least = want
                if (not privs <= got) if at_least else (privs != got):
                    mismatches.append(f"{role} {kind} {name}: expected "
                                      f"{sorted(privs)}{'+' if at_least else ''}, has {sorted(got)}")
    if os.environ.get("WI_PRIVILEGES_DUMP"):  # the expanded matrix, for review by eye
        Path(os.environ["WI_PRIVILEGES_DUMP"]).write_text("\n".join(lines) + "\n")
    assert not mismatches, "\n".join(mismatches)
    assert len(objs) > 40


# --- behaviour -------------------------------------------------------------------

@pytest.fixture(scope="module")
def city(dbname):
    """Tiny city with two provider organisations, each with one login-less role."""
    tables = tc.tables()
    fac = tables["facility"]
    fac.loc[fac.facility_id == "F2", "published"] = False          # Coop Sole, unpublished
    extra = fac[fac.facility_id == "F2"].copy()
    extra["facility_id"], extra["provider_org"], extra["name"] = "F4", "Coop Luna", "Casa Luna"
    tables["facility"] = pd.concat([fac, extra], ignore_index=True)
    suffix = secrets.token_hex(3)
    sole, luna = f"wi_sole_{suffix}", f"wi_luna_{suffix}"
    with admin_conn() as a:
        for r in (sole, luna):
            a.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(r)))
    try:
        with psycopg.connect(f"dbname={dbname}") as c:
            assert import_all(c, tables) == []
            c.execute("SET ROLE welfare_admin")
            for r, org in ((sole, "Coop Sole"), (luna, "Coop Luna")):
                c.execute("SELECT welfare.grant_role('welfare_provider', %s)", [r])
                c.execute("INSERT INTO welfare.provider_member VALUES (%s, %s)", [r, org])
            c.execute("RESET ROLE")
            c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)")
            c.commit()
        yield dict(db=dbname, sole=sole, luna=luna)
    finally:
        with admin_conn() as a:
            for r in (sole, luna):
                with psycopg.connect(f"dbname={dbname}", autocommit=True) as c:
                    c.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(r)))
                a.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(r)))




def copy_out(conn, query):
    buf = io.StringIO()
    with conn.cursor().copy(query) as cp:
        for data in cp:
            buf.write(bytes(data).decode())
    return buf.getvalue()


@pytest.fixture
def db(city):
    with psycopg.connect(f"dbname={city['db']}") as c:
        yield c
        c.rollback()


def test_bi_reader_sees_only_welfare_bi(db):
    as_role(db, "welfare_bi_reader")
    assert db.execute("SELECT count(*) FROM welfare_bi.zone_indicators").fetchone()[0] == 12
    assert copy_out(db, "COPY (SELECT zone_id, demand FROM welfare_bi.zone_indicators) TO STDOUT")
    for q in ("SELECT * FROM welfare.demand", "SELECT * FROM welfare.facility",
              "SELECT * FROM welfare.zone_indicators('neighbourhood', 2023)",
              "SELECT welfare.setting_value('srid')", "COPY welfare.demand TO STDOUT"):
        denied(db, q)
    # views are not writable anyway; no write privilege either
    denied(db, "INSERT INTO welfare_bi.zone_indicators (zone_id) VALUES ('x')",
           state=("42501", "55000"))
    denied(db, "COPY welfare_bi.zone_indicators FROM STDIN", state=("42501", "42809"))
    assert not db.execute("SELECT has_table_privilege('welfare_bi.zone_indicators', 'INSERT')"
                          ).fetchone()[0]


def test_bi_views_are_security_barriers_against_leaky_functions(db):
    """A caller's function in WHERE must not see rows the view filters out."""
    run = db.execute("SELECT max(run_id) FROM welfare.run WHERE kind = 'zone_indicators' "
                     "AND status = 'ok'").fetchone()[0]
    db.execute("UPDATE welfare.zone_indicator_result SET published = false "
               "WHERE run_id = %s AND zone_id = '015146-N1' AND target_id = 'alone_65plus'", [run])
    as_role(db, "welfare_bi_reader")
    db.execute("""CREATE FUNCTION pg_temp.leak(z text, t text) RETURNS boolean
                  LANGUAGE plpgsql COST 0.0000001 AS $$
                  BEGIN RAISE NOTICE 'saw % %', z, t; RETURN true; END $$""")
    seen = []
    db.add_notice_handler(lambda d: seen.append(d.message_primary))
    rows = db.execute("SELECT zone_id, target_id FROM welfare_bi.zone_indicators "
                      "WHERE pg_temp.leak(zone_id, target_id)").fetchall()
    assert ("015146-N1", "alone_65plus") not in rows and len(rows) == 11
    assert "saw 015146-N1 alone_65plus" not in seen and len(seen) == 11


def test_analyst_reads_everything_runs_analyses_writes_no_data(db):
    as_role(db, "welfare_analyst")
    assert db.execute("SELECT count(*) FROM welfare.facility").fetchone()[0] == 4  # all, RLS
    assert db.execute("SELECT count(*) FROM welfare.provider_member").fetchone()[0] == 2
    assert "015146-N1" in copy_out(db, "COPY welfare.demand TO STDOUT")
    run_id = db.execute("SELECT welfare.run_zone_indicators('district', 2023)").fetchone()[0]
    assert db.execute("SELECT run_by, status FROM welfare.run WHERE run_id = %s",
                      [run_id]).fetchone() == ("welfare_analyst", "ok")
    for q in ("UPDATE welfare.demand SET demand = 0", "DELETE FROM welfare.facility",
              "INSERT INTO welfare.run (kind) VALUES ('forged')",
              "UPDATE welfare.run SET status = 'failed'", "DELETE FROM welfare.run",
              "COPY welfare.demand FROM STDIN", "COPY welfare.run FROM STDIN",
              "UPDATE welfare.setting SET value = '3' WHERE name = 'suppress_below'",
              "SELECT * FROM welfare.import_datasets(ARRAY['demand'], ARRAY['welfare.demand'::regclass])",
              "SELECT welfare.grant_role('welfare_admin', 'welfare_analyst')",
              "SELECT welfare._set_role_membership(true, 'welfare_admin', current_user)",
              "INSERT INTO welfare.provider_member VALUES ('x', 'y')",
              "SELECT nextval('welfare.run_run_id_seq')"):
        denied(db, q)


def test_run_log_is_append_only_and_per_role(db, city):
    as_role(db, "welfare_analyst")
    rid = db.execute("SELECT welfare.log_run_start('probe', '{\"a\": 1}')").fetchone()[0]
    as_role(db, city["sole"])  # another role cannot finish it
    denied(db, "SELECT welfare.log_run_finish(%s, 'failed')", [rid])
    as_role(db, "welfare_admin")  # nor can the admin, nor edit it
    denied(db, "SELECT welfare.log_run_finish(%s, 'failed')", [rid])
    denied(db, "UPDATE welfare.run SET run_by = 'someone' WHERE run_id = %s", [rid])
    denied(db, "DELETE FROM welfare.run WHERE run_id = %s", [rid])
    as_role(db, "welfare_analyst")
    db.execute("SELECT welfare.log_run_finish(%s, 'ok', 'done')", [rid])
    denied(db, "SELECT welfare.log_run_finish(%s, 'failed')", [rid])  # only once
    row = db.execute("SELECT kind, run_by, status, message, duration_ms >= 0, finished_at >= started_at "
                     "FROM welfare.run WHERE run_id = %s", [rid]).fetchone()
    assert row == ("probe", "welfare_analyst", "ok", "done", True, True)
    for bad in ("Probe", "x; DROP TABLE welfare.run", "", None):
        denied(db, "SELECT welfare.log_run_start(%s)", [bad], state="22023")
    denied(db, "SELECT welfare.log_run_start('probe', '[1]')", state="22023")
    denied(db, "SELECT welfare.log_run_finish(%s, 'done')", [rid], state="22023")


def test_provider_reads_published_and_own_facilities(db, city):
    as_role(db, city["sole"])
    ids = [r[0] for r in db.execute("SELECT facility_id FROM welfare.facility ORDER BY 1")]
    assert ids == ["F1", "F2", "F3"]       # F2 unpublished but its own; F4 (Luna) hidden
    assert copy_out(db, "COPY welfare.facility (facility_id) TO STDOUT").split() == ids
    assert db.execute("SELECT provider_org FROM welfare.provider_member").fetchall() == [("Coop Sole",)]
    assert db.execute("SELECT count(*) FROM welfare_bi.zone_indicators").fetchone()[0] == 12
    for q in ("SELECT * FROM welfare.demand", "SELECT * FROM welfare.population",
              "SELECT * FROM welfare.run", "SELECT * FROM welfare.zone_indicator_result",
              "SELECT * FROM welfare.zone_indicators('neighbourhood', 2023)",
              "SELECT welfare.run_zone_indicators('neighbourhood', 2023)",
              "SELECT welfare.log_run_start('probe')", "COPY welfare.demand TO STDOUT",
              "INSERT INTO welfare.provider_member VALUES (current_user, 'Comune')"):
        denied(db, q)


def test_provider_writes_only_its_own_facilities(db, city):
    as_role(db, city["sole"])
    cols = ("facility_id, municipality_code, service_type_id, name, provider_org, capacity, "
            "published, source_id, geom")
    new = ("VALUES (%s, '015146', 'rsa', 'Nuova', %s, 10, false, 'test', "
           "public.ST_SetSRID(public.ST_MakePoint(511000, 5031000), 32632))")
    db.execute(f"INSERT INTO welfare.facility ({cols}) {new}", ["F9", "Coop Sole"])
    db.execute("UPDATE welfare.facility SET capacity = 6 WHERE facility_id = 'F2'")
    # another provider's facility, the city's, or moving one's own away: refused or no row
    denied(db, f"INSERT INTO welfare.facility ({cols}) {new}", ["F10", "Coop Luna"])
    assert db.execute("UPDATE welfare.facility SET capacity = 0 WHERE facility_id IN ('F1', 'F4') "
                      "RETURNING 1").fetchall() == []
    denied(db, "UPDATE welfare.facility SET provider_org = 'Comune' WHERE facility_id = 'F2'")
    denied(db, "DELETE FROM welfare.facility WHERE facility_id = 'F2'")
    denied(db, "TRUNCATE welfare.facility")
    with pytest.raises(psycopg.Error) as err:
        with db.transaction():
            with db.cursor().copy("COPY welfare.facility (facility_id, municipality_code, "
                                  "service_type_id, name, provider_org, capacity, published, "
                                  "source_id, geom) FROM STDIN") as cp:
                cp.write_row(["F11", "015146", "rsa", "x", "Coop Luna", 1, True, "test",
                              "SRID=32632;POINT(511000 5031000)"])
    assert err.value.sqlstate in ("42501", "0A000")  # COPY FROM is refused under RLS
    # ... even through functions: loading is admin-only, and SECURITY INVOKER everywhere
    denied(db, "SELECT * FROM welfare.import_dataset('facility', 'welfare.facility')")
    denied(db, "SELECT welfare.grant_role('welfare_admin', current_user)")
    db.execute("RESET ROLE")
    got = db.execute("SELECT facility_id, provider_org, capacity FROM welfare.facility "
                     "ORDER BY 1").fetchall()
    assert got == [("F1", "Comune", 12.0), ("F2", "Coop Sole", 6.0), ("F3", "Comune", 30.0),
                   ("F4", "Coop Luna", 4.0), ("F9", "Coop Sole", 10.0)]


def test_definer_functions_are_the_only_ones_and_pinned(db):
    rows = db.execute("""
        SELECT p.oid::regprocedure::text, p.prosecdef, p.proconfig
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname IN ('welfare', 'welfare_bi')""").fetchall()
    definers = sorted(r[0] for r in rows if r[1])
    assert definers == ["welfare._apply_srid(text,integer)",
                        "welfare._log_run_failure(text)",
                        "welfare._record_dp_release(text,double precision,integer)",
                        "welfare._set_role_membership(boolean,text,text)",
                        "welfare.log_run_finish(bigint,text,text)",
                        "welfare.log_run_start(text,jsonb)",
                        "welfare.run_published(text,jsonb)"]
    unpinned = [r[0] for r in rows if not any(c.startswith("search_path=pg_catalog")
                                              for c in (r[2] or []))]
    assert unpinned == []
    # definers: pg_temp last, no public
    for name, _, conf in (r for r in rows if r[1]):
        assert "search_path=pg_catalog, pg_temp" in conf, name


def test_grant_role_validates_and_quotes(db):
    odd = f'wi "odd"; role {secrets.token_hex(2)}'
    db.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(odd)))
    as_role(db, "welfare_admin")
    db.execute("SELECT welfare.grant_role('welfare_bi_reader', %s)", [odd])
    db.execute("RESET ROLE")
    assert db.execute("SELECT pg_has_role(%s, 'welfare_bi_reader', 'MEMBER')", [odd]).fetchone()[0]
    assert db.execute("SELECT run_by, parameters ->> 'member' FROM welfare.run "
                      "WHERE kind = 'grant_role' ORDER BY run_id DESC LIMIT 1").fetchone() == \
        ("welfare_admin", odd)
    as_role(db, "welfare_admin")
    for role, member, state in (("postgres", odd, "22023"), ("welfare_bi_reader; DROP", odd, "22023"),
                                ("welfare_admin", "nobody_" + secrets.token_hex(3), "42704"),
                                ("welfare_admin", "welfare_analyst", "22023"),
                                ("welfare_admin", "pg_read_all_data", "22023"),
                                ("welfare_admin", None, "42704")):
        denied(db, "SELECT welfare.grant_role(%s, %s)", [role, member], state=state)
    db.execute("SELECT welfare.revoke_role('welfare_bi_reader', %s)", [odd])
    db.execute("RESET ROLE")
    assert not db.execute("SELECT pg_has_role(%s, 'welfare_bi_reader', 'MEMBER')", [odd]).fetchone()[0]


def test_processing_records(db):
    as_role(db, "welfare_analyst")
    rows = db.execute("SELECT * FROM welfare.processing_records()").fetchall()
    assert len(rows) == 1
    (sid, dataset, controller, purpose, basis, personal, licence, retention, retrieved,
     stored, recipients, safeguards) = rows[0]
    assert (sid, controller, purpose, basis, personal) == (
        "test", "Welfare Intelligence tests", "testing", "open data", False)
    assert "demand (12 rows)" in stored and "facility (4 rows)" in stored
    assert "welfare_bi" in recipients and "counts 1-7 suppressed" in safeguards
    as_role(db, "welfare_bi_reader")
    denied(db, "SELECT * FROM welfare.processing_records()")


def test_dump_and_restore_gives_the_same_bi_results(city, tmp_path):
    """README procedure: roles first (pg_dump leaves them out), then pg_dump / pg_restore."""
    import subprocess
    src = city["db"]
    query = ("SELECT zone_id, target_id, demand, incidence_per_100, coverage_per_100, gap "
             "FROM welfare_bi.zone_indicators ORDER BY zone_id, target_id")
    with psycopg.connect(f"dbname={src}") as c:
        # a setting changed by an admin (an override row: dumped, unlike the defaults)
        c.execute("SET ROLE welfare_admin")
        c.execute("UPDATE welfare.setting SET value = '0.9' WHERE name = 'dominance_k'")
        c.execute("RESET ROLE")
        c.commit()
        want = c.execute(query).fetchall()
        members = c.execute("SELECT * FROM welfare.provider_member ORDER BY 1").fetchall()
        runs = c.execute("SELECT run_id, kind, run_by, status FROM welfare.run ORDER BY 1").fetchall()
    assert want
    roles = tmp_path / "roles.sql"
    roles.write_text(subprocess.run(["pg_dumpall", "--roles-only"], check=True,
                                    capture_output=True, text=True).stdout)
    dump = tmp_path / "wi.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), src], check=True)
    dst = f"wi_test_restore_{secrets.token_hex(3)}"
    with admin_conn() as a:
        a.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dst)))
    try:
        # on a new cluster: psql -f roles.sql (errors for roles that exist are harmless)
        subprocess.run(["psql", "-q", "-d", dst, "-f", str(roles)], capture_output=True)
        out = subprocess.run(["pg_restore", "--exit-on-error", "-d", dst, str(dump)],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        with psycopg.connect(f"dbname={dst}") as c:
            assert c.execute(query).fetchall() == want
            assert c.execute("SELECT * FROM welfare.provider_member ORDER BY 1").fetchall() == members
            assert c.execute("SELECT welfare.setting_value('dominance_k'), value, "
                             "(SELECT changed_by FROM welfare.setting_override o WHERE o.name = s.name) "
                             "FROM welfare.setting s WHERE name = 'dominance_k'"
                             ).fetchone() == ("0.9", "0.85", "welfare_admin")
            assert c.execute("SELECT run_id, kind, run_by, status FROM welfare.run "
                             "ORDER BY 1").fetchall() == runs
            # privileges and row-level security come back with the extension script
            c.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(city["sole"])))
            assert [r[0] for r in c.execute("SELECT facility_id FROM welfare.facility "
                                             "ORDER BY 1")] == ["F1", "F2", "F3"]
            c.execute("RESET ROLE")
            # a new run gets a new id (the sequence came back too)
            new = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
            assert new > max(r[0] for r in runs)
    finally:
        with admin_conn() as a:
            a.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dst)))
        with psycopg.connect(f"dbname={src}") as c:
            c.execute("DELETE FROM welfare.setting_override WHERE name = 'dominance_k'")


# --- a database whose srid is not the default (sql/incremental/091-restore-settings-first.sql)

SRID = 3003  # Monte Mario / Italy zone 1; the default is 32632
GEOMETRY_TABLES = {"zone": "zone_id", "facility": "facility_id", "candidate_site": "site_id"}
BI_QUERY = ("SELECT zone_id, target_id, demand, incidence_per_100, coverage_per_100, gap "
            "FROM welfare_bi.zone_indicators ORDER BY zone_id, target_id")


def geometries(conn):
    return {t: conn.execute(sql.SQL("SELECT {}, public.ST_AsBinary(geom), public.ST_SRID(geom) "
                                    "FROM welfare.{} ORDER BY 1").format(
                                        sql.Identifier(key), sql.Identifier(t))).fetchall()
            for t, key in GEOMETRY_TABLES.items()}


@pytest.fixture(scope="module")
def srid_dump(tmp_path_factory):
    """A database set to SRID 3003 before loading the tiny city, its dump and its contents."""
    import subprocess
    with fresh_database() as src, psycopg.connect(f"dbname={src}") as c:
        # as the extension's owner: the change ALTERs the tables' SRID constraints
        c.execute("UPDATE welfare.setting SET value = %s WHERE name = 'srid'", [str(SRID)])
        # staged in EPSG:32632; the importer reprojects to the working SRID
        assert import_all(c, tc.tables()) == []
        c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)")
        c.commit()
        # the rows really are the tiny city in 3003: N1 = [0, 2000]² off (X0, Y0) in 32632
        srid, x, y = c.execute(
            "SELECT ST_SRID(geom), ST_X(ST_Centroid(ST_Transform(geom, 32632))), "
            "ST_Y(ST_Centroid(ST_Transform(geom, 32632))) FROM welfare.zone "
            "WHERE zone_id = '015146-N1'").fetchone()
        assert srid == SRID
        assert x == pytest.approx(tc.X0 + 1000, abs=0.01) and y == pytest.approx(tc.Y0 + 1000, abs=0.01)
        dump = tmp_path_factory.mktemp("srid") / "wi.dump"
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), src], check=True)
        yield dict(dump=dump, geometries=geometries(c), contents=table_contents(c),
                   bi=c.execute(BI_QUERY).fetchall())


@pytest.mark.parametrize("options", [[], ["--single-transaction"]], ids=["plain", "single"])
def test_a_non_default_srid_restores_with_its_rows(srid_dump, options):
    import subprocess
    dst = f"wi_test_restore_{secrets.token_hex(3)}"
    with admin_conn() as a:
        a.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dst)))
    try:
        out = subprocess.run(["pg_restore", "--exit-on-error", *options, "-d", dst,
                              str(srid_dump["dump"])], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        with psycopg.connect(f"dbname={dst}") as c:
            assert c.execute("SELECT welfare.working_srid()").fetchone() == (SRID,)
            assert c.execute("SELECT f_table_name, srid FROM geometry_columns "
                             "WHERE f_table_schema = 'welfare' ORDER BY 1").fetchall() == \
                sorted((t, SRID) for t in GEOMETRY_TABLES)
            got = geometries(c)
            assert got == srid_dump["geometries"]
            assert {r[2] for rows in got.values() for r in rows} == {SRID}
            assert len(got["zone"]) == 7
            assert table_contents(c) == srid_dump["contents"]
            assert c.execute(BI_QUERY).fetchall() == srid_dump["bi"] != []
            # the guarantees hold on the restored database
            err = denied(c, "INSERT INTO welfare.zone VALUES ('z9', '015146', 'city', 'c', NULL, "
                            "'test', ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 32632)))", state="22023")
            assert "z9" in str(err) and "32632" in str(err) and str(SRID) in str(err)
            err = denied(c, "UPDATE welfare.setting SET value = '32632' WHERE name = 'srid'",
                         state="55006")
            assert "already stored" in str(err)
            # a new analysis runs on the restored rows and gives the same figures
            c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)")
            assert c.execute(BI_QUERY).fetchall() == srid_dump["bi"]
    finally:
        with admin_conn() as a:
            a.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dst)))
