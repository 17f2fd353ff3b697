"""The SQL surface: tables equal model.TABLES, comments, roles, privileges, settings."""
import psycopg
import pytest

from welfare_core import model

SQL_TYPES = {"text": "text", "int": "integer", "float": "double precision", "bool": "boolean",
             "date": "date", "geometry": "USER-DEFINED"}


def test_every_table_has_exactly_the_model_columns(conn):
    for name, spec in model.TABLES.items():
        rows = conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'welfare' AND table_name = %s ORDER BY ordinal_position",
            [name]).fetchall()
        expected = [("geom" if c.kind == "geometry" else c.name, SQL_TYPES[c.kind],
                     "YES" if not c.required else "NO") for c in spec.columns]
        assert rows == expected, name
        key = conn.execute(
            "SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_constraint c, "
            "unnest(c.conkey) WITH ORDINALITY k(att, ord) JOIN pg_attribute a "
            "ON a.attrelid = %s::regclass AND a.attnum = k.att "
            "WHERE c.conrelid = %s::regclass AND c.contype = 'p'",
            [f"welfare.{name}", f"welfare.{name}"]).fetchone()[0]
        assert tuple(key) == spec.key, name


def test_geometry_columns_carry_type_and_working_srid(conn):
    rows = conn.execute("SELECT f_table_name, type, srid FROM geometry_columns "
                        "WHERE f_table_schema = 'welfare' ORDER BY 1").fetchall()
    assert rows == sorted((n, t.geometry_type.upper(), 32632) for n, t in model.TABLES.items()
                          if t.geometry_type)


def test_every_table_and_column_is_commented_from_the_model(conn):
    for name, spec in model.TABLES.items():
        assert conn.execute("SELECT obj_description(%s::regclass, 'pg_class')",
                            [f"welfare.{name}"]).fetchone()[0] == spec.description
        for c in spec.columns:
            col = "geom" if c.kind == "geometry" else c.name
            assert conn.execute(
                "SELECT col_description(%s::regclass, attnum) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attname = %s",
                [f"welfare.{name}", f"welfare.{name}", col]).fetchone()[0] == c.description
    missing = conn.execute(
        "SELECT c.relname || '.' || a.attname FROM pg_class c JOIN pg_namespace n ON "
        "n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
        "AND NOT a.attisdropped WHERE n.nspname = 'welfare' AND c.relkind = 'r' "
        "AND col_description(c.oid, a.attnum) IS NULL").fetchall()
    assert missing == []


def test_user_data_tables_are_dumped(conn):
    dumped = {r[0] for r in conn.execute(
        "SELECT unnest(extconfig)::regclass::text FROM pg_extension "
        "WHERE extname = 'welfare_intelligence'")}
    assert {f"welfare.{n}" for n in model.TABLES} | {"welfare.run"} <= dumped


def test_roles_and_privileges(conn):
    roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'welfare%'")}
    assert {"welfare_admin", "welfare_analyst", "welfare_provider", "welfare_bi_reader"} <= roles
    priv = lambda role, obj, p: conn.execute(  # noqa: E731
        "SELECT has_table_privilege(%s, %s, %s)", [role, obj, p]).fetchone()[0]
    assert priv("welfare_admin", "welfare.population", "INSERT")
    assert priv("welfare_analyst", "welfare.population", "SELECT")
    assert not priv("welfare_analyst", "welfare.population", "INSERT")
    assert not priv("welfare_analyst", "welfare.run", "INSERT")  # only via log_run_start
    assert not priv("welfare_provider", "welfare.population", "SELECT")
    assert not priv("welfare_bi_reader", "welfare.zone", "SELECT")
    assert not priv("public", "welfare.zone", "SELECT")
    schema = lambda role, s: conn.execute(  # noqa: E731
        "SELECT has_schema_privilege(%s, %s, 'USAGE')", [role, s]).fetchone()[0]
    assert schema("welfare_bi_reader", "welfare_bi") and not schema("welfare_bi_reader", "welfare")
    assert not conn.execute("SELECT has_function_privilege('public', "
                            "'welfare.validate_data()', 'EXECUTE')").fetchone()[0]


# The run log's writers (and the providers' entry point welfare.run_published,
# the admin's srid change and the autonomous DP release record) are the only SECURITY DEFINER functions: no role may
# write welfare.run directly (test_privileges.py checks them in detail).
DEFINERS = {"welfare.log_run_start(text,jsonb)", "welfare.log_run_finish(bigint,text,text)",
            "welfare._set_role_membership(boolean,text,text)", "welfare._log_run_failure(text)",
            "welfare.run_published(text,jsonb)", "welfare._apply_srid(text,integer)",
            "welfare._record_dp_release(text,double precision,integer)"}


def test_functions_are_invoker_with_pinned_search_path(conn):
    rows = conn.execute(
        "SELECT p.oid::regprocedure::text, p.prosecdef, p.proconfig FROM pg_proc p "
        "JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e' JOIN pg_extension e "
        "ON e.oid = d.refobjid WHERE e.extname = 'welfare_intelligence'").fetchall()
    assert rows
    assert {sig for sig, definer, _ in rows if definer} == DEFINERS
    for sig, definer, config in rows:
        pinned = "search_path=pg_catalog, pg_temp" if definer else \
            "search_path=pg_catalog, public, pg_temp"
        assert pinned in (config or []), sig


def test_privacy_and_srid_defaults(conn):
    assert dict(conn.execute("SELECT name, value FROM welfare.setting")).items() >= {
        "srid": "32632", "suppress_below": "8", "round_to": "5", "min_threshold_floor": "3"}.items()


@pytest.mark.parametrize("stmt,state,fragment", [
    ("UPDATE welfare.setting SET value = '4326' WHERE name = 'srid'", "22023", "not a projected"),
    ("UPDATE welfare.setting SET value = '12345678' WHERE name = 'srid'", "22023", "12345678"),
    ("UPDATE welfare.setting SET value = 'utm' WHERE name = 'srid'", "22023", "'utm'"),
    ("UPDATE welfare.setting SET value = '-1' WHERE name = 'suppress_below'", "22023", "suppress_below"),
    ("DELETE FROM welfare.setting WHERE name = 'srid'", "23001", "srid"),
])
def test_bad_settings_are_refused(conn, stmt, state, fragment):
    with pytest.raises(psycopg.Error) as err:
        conn.execute(stmt)
    assert err.value.sqlstate == state
    assert fragment in err.value.diag.message_primary


def test_srid_change_applies_while_empty_and_is_refused_with_data(conn):
    conn.execute("UPDATE welfare.setting SET value = '3003' WHERE name = 'srid'")
    assert conn.execute("SELECT srid FROM geometry_columns WHERE f_table_schema = 'welfare' "
                        "AND f_table_name = 'zone'").fetchone()[0] == 3003
    conn.execute("INSERT INTO welfare.source VALUES ('s', 'n', 'o', 'open data', 'p', 'l', false, "
                 "'2026-01-01', 'r')")
    conn.execute("INSERT INTO welfare.zone VALUES ('z', '015146', 'city', 'c', NULL, 's', "
                 "ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 3003)))")
    conn.execute("SAVEPOINT s")
    with pytest.raises(psycopg.Error) as err:
        conn.execute("UPDATE welfare.setting SET value = '32632' WHERE name = 'srid'")
    conn.execute("ROLLBACK TO SAVEPOINT s")
    assert err.value.sqlstate == "55006"
    assert "already stored" in err.value.diag.message_primary
    assert "3003" in err.value.diag.message_primary
    with pytest.raises(psycopg.Error) as err:
        conn.execute("INSERT INTO welfare.zone VALUES ('z2', '015146', 'city', 'c', NULL, 's', "
                     "ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 32632)))")
    assert err.value.sqlstate == "22023"
    assert "z2" in err.value.diag.message_primary and "32632" in err.value.diag.message_primary
