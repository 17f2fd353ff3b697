"""Install, drop, reinstall in two databases; PostGIS placement; the bootstrap's version check."""
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from sql.wi_sql import admin_conn, fresh_database

LIB = Path("/usr/local/lib/welfare_intelligence")


def test_install_drop_reinstall_in_two_databases():
    with fresh_database("wi_test_a") as a, fresh_database("wi_test_b") as b:
        for name in (a, b, a):
            with psycopg.connect(f"dbname={name}", autocommit=True) as c:
                c.execute("DROP EXTENSION welfare_intelligence")
                assert c.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                                 "n.oid = c.relnamespace WHERE n.nspname IN "
                                 "('welfare', 'welfare_bi')").fetchone()[0] == 0
                c.execute("CREATE EXTENSION welfare_intelligence CASCADE")
                assert c.execute("SELECT welfare._bootstrap()").fetchone()[0] == \
                    c.execute("SELECT extversion FROM pg_extension "
                              "WHERE extname = 'welfare_intelligence'").fetchone()[0]
                assert c.execute("SELECT count(*) FROM welfare.validate_data()").fetchone()[0] == 0


def test_postgis_outside_public_is_refused_with_hint():
    name = "wi_test_gis_schema"
    with admin_conn() as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(f"dbname={name}", autocommit=True) as c:
            c.execute("CREATE SCHEMA gis; CREATE EXTENSION postgis SCHEMA gis")
            with pytest.raises(psycopg.Error) as err:
                c.execute("CREATE EXTENSION welfare_intelligence CASCADE")
            assert err.value.sqlstate == "0A000"
            assert "schema gis" in err.value.diag.message_primary
            assert "public" in err.value.diag.message_hint
    finally:
        with admin_conn() as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def other_core():
    """A copy of the installed core claiming another version, readable by the server."""
    with psycopg.connect("dbname=postgres") as c:
        version = c.execute("SELECT default_version FROM pg_available_extensions "
                            "WHERE name = 'welfare_intelligence'").fetchone()[0]
    folder = Path(tempfile.mkdtemp(prefix="wi_core_"))
    folder.chmod(0o755)
    shutil.copytree(LIB / version / "welfare_core", folder / "welfare_core")
    init = folder / "welfare_core" / "__init__.py"
    init.write_text(init.read_text().replace(f'__version__ = "{version}"', '__version__ = "0.0.0-old"'))
    yield folder, version
    shutil.rmtree(folder)


def test_cold_session_with_other_core_version_errors_clearly(dbname, other_core):
    folder, version = other_core
    # a new connection: nothing cached in GD yet
    with psycopg.connect(f"dbname={dbname}", options=f"-c welfare.lib_dir={folder}") as c:
        with pytest.raises(psycopg.Error) as err:
            c.execute("SELECT * FROM welfare.validate_data()")
    e = err.value
    assert e.sqlstate == "55000"
    assert "0.0.0-old" in e.diag.message_primary and version in e.diag.message_primary
    assert str(folder) in e.diag.message_primary
    assert "make install" in e.diag.message_hint
    assert not e.diag.message_primary.startswith("plpy")


def test_missing_core_directory_errors_clearly(dbname, tmp_path):
    empty = Path(tempfile.mkdtemp(prefix="wi_none_"))
    try:
        with psycopg.connect(f"dbname={dbname}", options=f"-c welfare.lib_dir={empty}") as c:
            with pytest.raises(psycopg.Error) as err:
                c.execute("SELECT * FROM welfare.validate_data()")
        assert err.value.sqlstate == "58P01"
        assert "make install" in err.value.diag.message_hint
    finally:
        empty.rmdir()


def test_lib_dir_override_is_for_superusers_only(dbname):
    with psycopg.connect(f"dbname={dbname}", autocommit=True) as c:
        c.execute("DROP ROLE IF EXISTS wi_test_analyst_login")
        c.execute("CREATE ROLE wi_test_analyst_login IN ROLE welfare_analyst")
        try:
            c.execute("SET ROLE wi_test_analyst_login")
            c.execute("SET welfare.lib_dir = '/tmp'")
            with pytest.raises(psycopg.Error) as err:
                c.execute("SELECT * FROM welfare.validate_data()")
            assert err.value.sqlstate == "42501"
            assert "welfare.lib_dir" in err.value.diag.message_primary
        finally:
            c.execute("RESET ROLE")
            c.execute("DROP ROLE wi_test_analyst_login")


def test_warm_calls_reuse_the_bootstrap(dbname):
    with psycopg.connect(f"dbname={dbname}") as c:
        version = c.execute("SELECT welfare._bootstrap()").fetchone()[0]
        c.execute("DO $$ GD['probe'] = id(GD['welfare_intelligence %s']) $$ LANGUAGE plpython3u"
                  % version)
        c.execute("SELECT count(*) FROM welfare.validate_data()")
        c.execute("DO $$\nassert GD['probe'] == id(GD['welfare_intelligence %s'])\n$$ "
                  "LANGUAGE plpython3u" % version)


def test_analyst_validates_without_superuser(dbname):
    with psycopg.connect(f"dbname={dbname}", autocommit=True) as c:
        c.execute("DROP ROLE IF EXISTS wi_test_analyst2")
        c.execute("CREATE ROLE wi_test_analyst2 IN ROLE welfare_analyst")
        try:
            c.execute("SET ROLE wi_test_analyst2")
            assert c.execute("SELECT count(*) FROM welfare.validate_data()").fetchone()[0] == 0
            with pytest.raises(psycopg.Error) as err:
                c.execute("SELECT * FROM welfare.import_datasets('{}'::text[], '{}'::regclass[])")
            assert err.value.sqlstate == "42501"
        finally:
            c.execute("RESET ROLE")
            c.execute("DROP ROLE wi_test_analyst2")


@pytest.fixture
def new_cluster():
    """A throwaway PostgreSQL cluster with none of our roles: (port, socket dir)."""
    import subprocess
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                            check=True).stdout.strip()
    base = Path(tempfile.mkdtemp(prefix="wi-cluster-"))
    shutil.chown(base, "postgres")
    data, port = base / "data", 54329

    def as_postgres(*cmd):
        return subprocess.run(["su", "postgres", "-c", " ".join(map(str, cmd))],
                              capture_output=True, text=True, check=True)
    as_postgres(f"{bindir}/initdb", "-A", "trust", "-D", data)
    as_postgres(f"{bindir}/pg_ctl", "-D", data, "-w", "-l", base / "log", "-o",
                f"\"-p {port} -k {base} -c listen_addresses=''\"", "start")
    try:
        yield port, base
    finally:
        as_postgres(f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


def test_create_extension_in_a_cluster_without_our_roles(new_cluster):
    """The roles are created before any file grants to them (a first install anywhere)."""
    port, socket_dir = new_cluster
    with psycopg.connect(host=str(socket_dir), port=port, user="postgres", dbname="postgres",
                         autocommit=True) as c:
        assert c.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'welfare%'"
                         ).fetchone()[0] == 0
        c.execute("CREATE EXTENSION welfare_intelligence CASCADE")
        assert sorted(r for r, in c.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'welfare%'")) == [
            "welfare_admin", "welfare_analyst", "welfare_bi_reader", "welfare_provider"]
        assert c.execute("SELECT count(*) FROM welfare.validate_data()").fetchone()[0] == 0
