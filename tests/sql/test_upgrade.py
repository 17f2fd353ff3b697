"""ALTER EXTENSION welfare_intelligence UPDATE from every released version.

A database created at a released version, with data and analysis runs in it,
is updated to the current version. Afterwards:
- its catalog (functions, tables, columns, constraints, indexes, policies,
  views, triggers, comments, privileges, extension membership) is the same as
  that of a database created at the current version: the upgrade script leaves
  no stale overload, column or grant behind, and misses nothing;
- the data and the results stored before the update are still there, still
  published the same way, and new runs give the same numbers.

The released install script is rebuilt from the release's commit (git archive),
and its core is loaded from there too (welfare.lib_dir), as a server that ran
that release would have had it.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from sql.wi_sql import ROOT, SYSTEM_PY, admin_conn, fresh_database, import_all

# version -> commit of the release (also tagged v<version>); a clone without
# this history (shallow) cannot run the test and says so.
RELEASES = {"0.1.0": "e746992cf29726e390cdb833dfc0f8b0fecb670a",
            "0.1.1": "b6bfa02207c1b6f81e8f33c803fd75ce16fe669a"}
SCHEMAS = ("welfare", "welfare_bi")


def current_version():
    import welfare_core
    return welfare_core.__version__


@pytest.fixture(scope="module", params=sorted(RELEASES))
def release(request):
    """The released version's core folder, with its install script in the server."""
    version = request.param
    commit = RELEASES[version]
    # the server's OS user must read the core: not pytest's private tmp_path
    out = Path(tempfile.mkdtemp(prefix=f"wi-release-{version}-"))
    out.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(out, ignore_errors=True))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit,
                              "core", "sql", "db_extension"], capture_output=True)
    if archive.returncode:
        pytest.fail(f"cannot read release {version} ({commit}) from git: "
                    f"{archive.stderr.decode().strip()} (a full, non-shallow clone is needed)")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(out)
    built = out / "built"
    built.mkdir()
    subprocess.run([SYSTEM_PY, str(out / "db_extension" / "build.py"), "--out", str(built)],
                   check=True, capture_output=True)
    sharedir = subprocess.run(["pg_config", "--sharedir"], check=True, capture_output=True,
                              text=True).stdout.strip()
    script = f"welfare_intelligence--{version}.sql"
    shutil.copy(built / script, Path(sharedir) / "extension" / script)
    return version, out / "core"


def old_core_option(core):
    """Connection option loading the release's core (the installed one is the current)."""
    return f"-c welfare.lib_dir={core}"


def snapshot(conn):
    """The extension's catalog as comparable sets of text rows, by kind (ACL entries
    sorted: their order records the order of the grants, not a privilege)."""
    schemas = list(SCHEMAS)
    queries = {
        "functions": """
            SELECT p.oid::regprocedure::text, pg_get_function_result(p.oid), md5(p.prosrc),
                   p.provolatile, p.prosecdef, p.proconfig::text, (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(p.proacl) x)::text,
                   obj_description(p.oid, 'pg_proc')
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = ANY(%s)""",
        "relations": """
            SELECT c.oid::regclass::text, c.relkind, (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(c.relacl) x)::text, c.relrowsecurity,
                   c.relforcerowsecurity, obj_description(c.oid, 'pg_class')
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY(%s)""",
        "columns": """
            SELECT a.attrelid::regclass::text,
                   row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
                   a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(a.attacl) x)::text,
                   col_description(a.attrelid, a.attnum)
              FROM pg_attribute a
              JOIN pg_class c ON c.oid = a.attrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE n.nspname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped""",
        "constraints": """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
              FROM pg_constraint WHERE connamespace = ANY(
                   SELECT oid FROM pg_namespace WHERE nspname = ANY(%s))""",
        "indexes": "SELECT indexdef FROM pg_indexes WHERE schemaname = ANY(%s)",
        "policies": """
            SELECT schemaname, tablename, policyname, permissive, roles::text, cmd, qual,
                   with_check FROM pg_policies WHERE schemaname = ANY(%s)""",
        "views": """
            SELECT schemaname, viewname, definition FROM pg_views
             WHERE schemaname = ANY(%s)""",
        "triggers": """
            SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(t.oid)
              FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY(%s) AND NOT t.tgisinternal""",
        "schemas": """
            SELECT nspname, (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(nspacl) x)::text, obj_description(oid, 'pg_namespace')
              FROM pg_namespace WHERE nspname = ANY(%s)""",
        "members": """
            SELECT pg_describe_object(d.classid, d.objid, d.objsubid)
              FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
             WHERE e.extname = 'welfare_intelligence' AND d.deptype = 'e'
""",
        "settings": "SELECT to_jsonb(s)::text FROM welfare.setting s",
        "migrations": "SELECT name, body_md5 FROM welfare.migration",
    }
    return {kind: {tuple(map(str, r))
                   for r in conn.execute(q, [schemas] if "%s" in q else None).fetchall()}
            for kind, q in queries.items()}


def differences(a, b):
    out = []
    for kind in a:
        for row in sorted(a[kind] - b[kind]):
            out.append(f"{kind}: only after the upgrade: {row}")
        for row in sorted(b[kind] - a[kind]):
            out.append(f"{kind}: only in a fresh install: {row}")
    return out


PUBLISHED = """SELECT zone_id, target_id, demand, incidence_per_100, supply, coverage_per_100, gap
                 FROM welfare_bi.zone_indicators ORDER BY zone_id, target_id"""


@pytest.fixture(scope="module")
def upgraded(release):
    """A database created at the release, loaded and analysed, then updated."""
    from fixtures import tiny_city as tc
    version, old_core = release
    with fresh_database("wi_upgrade", version, old_core_option(old_core)) as name:
        with psycopg.connect(f"dbname={name}") as c:
            c.execute(sql.SQL("SET welfare.lib_dir = {}").format(sql.Literal(str(old_core))))
            assert c.execute("SELECT extversion FROM pg_extension "
                             "WHERE extname = 'welfare_intelligence'").fetchone()[0] == version
            assert import_all(c, tc.tables()) == []
            run = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)"
                            ).fetchone()[0]
            c.commit()
            before = c.execute(PUBLISHED).fetchall()
        with psycopg.connect(f"dbname={name}", autocommit=True) as c:
            c.execute("ALTER EXTENSION welfare_intelligence UPDATE")
        yield name, version, run, before


def test_update_reaches_the_current_version(upgraded):
    name, version, _, _ = upgraded
    with psycopg.connect(f"dbname={name}") as c:
        now = c.execute("SELECT extversion FROM pg_extension "
                        "WHERE extname = 'welfare_intelligence'").fetchone()[0]
        applied = dict(c.execute("SELECT name, applied_in_version FROM welfare.migration"
                                 ).fetchall())
    assert now == current_version() != version
    assert set(applied.values()) <= {version, now}
    assert all(v == version for n, v in applied.items() if n <= "071-optimise-sweep.sql")


def test_upgraded_catalog_equals_a_fresh_install(upgraded):
    name, _, _, _ = upgraded
    with fresh_database("wi_fresh") as fresh:
        with psycopg.connect(f"dbname={fresh}") as c:
            want = snapshot(c)
    with psycopg.connect(f"dbname={name}") as c:
        got = snapshot(c)
    assert all(want[k] for k in ("functions", "relations", "columns", "views", "members"))
    assert differences(got, want) == []


def test_results_stored_before_the_update_are_kept(upgraded):
    name, _, run, before = upgraded
    assert before, "the release published no indicator rows"
    with psycopg.connect(f"dbname={name}") as c:
        assert c.execute(PUBLISHED).fetchall() == before
        assert c.execute("SELECT status FROM welfare.run WHERE run_id = %s", [run]
                         ).fetchone()[0] == "ok"


def test_a_new_run_after_the_update_equals_one_in_a_fresh_install(upgraded):
    """The updated database computes and publishes exactly as the current version does."""
    from fixtures import tiny_city as tc
    name, _, run, _ = upgraded
    runs = "SELECT welfare.run_zone_indicators(%s, 2023)"
    with fresh_database("wi_fresh") as fresh, psycopg.connect(f"dbname={fresh}") as c:
        assert import_all(c, tc.tables()) == []
        for level in ("city", "district", "neighbourhood"):  # coarse first (publication audit)
            c.execute(runs, [level])
        c.commit()
        want = c.execute(PUBLISHED).fetchall()
    with psycopg.connect(f"dbname={name}") as c:
        for level in ("city", "district", "neighbourhood"):
            assert c.execute(runs, [level]).fetchone()[0] > run
        c.commit()
        assert c.execute(PUBLISHED).fetchall() == want


def test_the_update_hides_runs_that_counted_unpublished_facilities(release):
    """Releases before 0.1.2 counted unpublished facilities in every analysis: where the
    database has some, the update stops showing those runs to everyone (090)."""
    from fixtures import tiny_city as tc
    version, old_core = release
    tables = tc.tables()
    tables["facility"].loc[0, "published"] = False
    with fresh_database("wi_hidden", version, old_core_option(old_core)) as name:
        with psycopg.connect(f"dbname={name}") as c:
            c.execute(sql.SQL("SET welfare.lib_dir = {}").format(sql.Literal(str(old_core))))
            assert import_all(c, tables) == []
            run = c.execute("SELECT welfare.run_zone_indicators('city', 2023)").fetchone()[0]
            c.commit()
        with psycopg.connect(f"dbname={name}", autocommit=True) as c:
            c.execute("ALTER EXTENSION welfare_intelligence UPDATE")
            assert c.execute("SELECT audience FROM welfare.run WHERE run_id = %s",
                             [run]).fetchone()[0] == "caller"
            c.execute("SET ROLE welfare_bi_reader")
            assert c.execute("SELECT count(*) FROM welfare_bi.zone_indicators").fetchone()[0] == 0


def test_the_update_script_refuses_an_edited_release_step(release):
    """A released run-once file edited afterwards stops the update (md5 guard)."""
    version, old_core = release
    with fresh_database("wi_guard", version, old_core_option(old_core)) as name:
        with psycopg.connect(f"dbname={name}", autocommit=True) as c:
            c.execute("UPDATE welfare.migration SET body_md5 = 'edited' "
                      "WHERE name = '002-tables.sql'")
            with pytest.raises(psycopg.errors.RaiseException, match="002-tables.sql changed"):
                c.execute("ALTER EXTENSION welfare_intelligence UPDATE")
            assert c.execute("SELECT extversion FROM pg_extension WHERE extname = "
                             "'welfare_intelligence'").fetchone()[0] == version
