"""SQL injection and malformed input through every text and regclass parameter.

Every public function of schema welfare (read from the catalog, so functions
added later are swept too) is called with hostile values in each of its
text / text[] / regclass / regclass[] / jsonb parameters. Each call must either
return or fail cleanly: an error a user can read (no Python traceback, no
plpy class prefix), never a syntax error (which would mean the value reached
the SQL text), never an internal error, and nothing changed: the canary table
survives, no role is created or granted, no run is left behind.
Then functions shadowing built-ins in schema public and tables in pg_temp must
not change what the extension computes. Finally, hypothesis throws malformed
values at the SQL functions.
"""
from __future__ import annotations

import secrets

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from psycopg import sql

from fixtures import tiny_city as tc
from sql.wi_sql import import_all

CANARY = "public.wi_canary"
PAYLOADS = [
    "'; DROP TABLE public.wi_canary; --",
    "x'); DROP TABLE public.wi_canary; --",
    '"; DROP TABLE public.wi_canary; --',
    "neighbourhood'; SELECT pg_sleep(0); --",
    "welfare.demand", "pg_catalog.pg_authid", "public.wi_canary", "pg_temp.evil",
    "\\x00", "$$; DROP TABLE public.wi_canary; $$", "a\u00a0b\u202e", "x" * 10_000,
]
BAD_STATES = {"42601",  # syntax_error: user text reached the SQL text
              "XX000", "XX001", "XX002", "58000", "38000", "38001", "38003", "39000"}
SKIP_PARAMS = {"bigint", "integer", "double precision", "boolean", "numeric", "date",
               "smallint", "real", "timestamp with time zone", "json"}


@pytest.fixture(scope="module")
def city(dbname):
    with psycopg.connect(f"dbname={dbname}") as c:
        assert import_all(c, tc.tables()) == []
        c.execute(f"CREATE TABLE {CANARY} (x int)")
        c.execute(f"GRANT ALL ON {CANARY} TO PUBLIC")
        c.commit()
    return dbname


def public_functions(conn):
    """(regprocedure, [argument types]) of every public (not _internal) welfare function."""
    return conn.execute("""
        SELECT p.oid::regprocedure::text,
               ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) t)
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'welfare' AND p.proname !~ '^_' AND p.prokind = 'f'
           AND p.prorettype <> 'trigger'::regtype
         ORDER BY 1""").fetchall()


def literal_for(typ, payload):
    if typ in ("text", "character varying", "name"):
        return sql.Literal(payload)
    if typ == "text[]":
        return sql.SQL("ARRAY[{}]::text[]").format(sql.Literal(payload))
    if typ == "regclass":  # a hostile name that resolves, or one that does not parse
        return sql.SQL("{}::text::regclass").format(sql.Literal(payload))
    if typ == "regclass[]":
        return sql.SQL("ARRAY[{}::text::regclass]").format(sql.Literal(payload))
    if typ == "jsonb":
        return sql.SQL("pg_catalog.jsonb_build_object('x', {}::text)").format(sql.Literal(payload))
    return None


# runs that are not failures: a failed run is logged (150-governance.sql), nothing else
DONE_RUNS = "SELECT count(*) FROM welfare.run WHERE status <> 'failed'"


def state_of_world(conn):
    return conn.execute(
        "SELECT (SELECT count(*) FROM pg_class WHERE oid = to_regclass(%s)), "
        "(SELECT count(*) FROM pg_roles), (SELECT count(*) FROM pg_auth_members), "
        "(SELECT count(*) FROM welfare.run WHERE status <> 'failed'), "
        "(SELECT count(*) FROM welfare.facility), "
        "(SELECT count(*) FROM welfare.demand)", [CANARY]).fetchone()


def check_clean(err, where):
    msg = str(err)
    assert err.sqlstate not in BAD_STATES, (where, err.sqlstate, msg)
    assert "Traceback" not in msg + (err.diag.context or ""), (where, msg)
    assert not msg.startswith(("plpy.", "WelfareSqlError", "spiexceptions")), (where, msg)


def call(conn, fn, types, position, payload, role=None):
    regproc_name = fn.split("(")[0]
    args = []
    for i, typ in enumerate(types):
        if i == position:
            args.append(literal_for(typ, payload))
        else:
            args.append(sql.SQL("NULL::{}").format(sql.SQL(typ)))
    q = sql.SQL("SELECT * FROM {}({})").format(
        sql.SQL(regproc_name), sql.SQL(", ").join(args))
    try:
        with conn.transaction():
            conn.execute("SET LOCAL statement_timeout = '20s'")
            if role:
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            conn.execute(q).fetchall()
    except psycopg.errors.QueryCanceled:
        pytest.fail(f"{fn} arg {position} = {payload[:40]!r}: no answer within 20 s")
    except psycopg.Error as err:
        if err.sqlstate in ("22P02", "42P01", "42602", "3F000", "42704") and \
                types[position].startswith("regclass"):
            return  # the cast to regclass refused the name before the function ran
        check_clean(err, f"{fn} arg {position} = {payload[:40]!r}")


@pytest.mark.parametrize("role", [None, "welfare_analyst", "welfare_provider"])
def test_every_text_and_regclass_parameter_fails_cleanly(city, role):
    with psycopg.connect(f"dbname={city}") as c:
        before = state_of_world(c)
        functions = public_functions(c)
        assert len(functions) >= 10
        swept = 0
        for fn, types in functions:
            if fn.startswith(("welfare.grant_role", "welfare.revoke_role")) and role is None:
                continue  # as superuser they would work on a real member; tested below
            for pos, typ in enumerate(types):
                if typ in SKIP_PARAMS or literal_for(typ, "x") is None:
                    continue
                for payload in PAYLOADS:
                    call(c, fn, types, pos, payload, role)
                    swept += 1
        c.rollback()
        assert state_of_world(c) == before
        assert swept > 50


@pytest.mark.parametrize("payload", PAYLOADS)
def test_grant_role_payloads_as_admin(city, payload):
    with psycopg.connect(f"dbname={city}") as c:
        before = state_of_world(c)
        for args in ((payload, "welfare_analyst"), ("welfare_bi_reader", payload)):
            with pytest.raises(psycopg.Error) as err:
                with c.transaction():
                    c.execute("SET LOCAL ROLE welfare_admin")
                    c.execute("SELECT welfare.grant_role(%s, %s)", args)
            assert err.value.sqlstate in ("22023", "42704"), str(err.value)
        c.rollback()
        assert state_of_world(c) == before


def test_staging_names_cannot_reach_other_tables(city):
    """regclass parameters: schema-qualified names of other tables give problems or a
    clean error, and write nothing."""
    with psycopg.connect(f"dbname={city}") as c:
        before = state_of_world(c)
        c.execute("SET ROLE welfare_admin")
        for staging in ("pg_catalog.pg_authid", "welfare.run", "pg_catalog.pg_class"):
            try:
                with c.transaction():
                    problems = c.execute("SELECT * FROM welfare.import_dataset('facility', "
                                         "%s::regclass)", [staging]).fetchall()
                assert problems, staging  # e.g. missing columns: nothing imported
                assert "rolpassword" not in str(problems)
            except psycopg.Error as err:
                check_clean(err, staging)
        c.execute("RESET ROLE")
        assert state_of_world(c) == before
        c.rollback()


def zone_numbers(conn):
    return conn.execute("SELECT zone_id, target_id, demand, incidence_per_100, coverage_per_100 "
                        "FROM welfare.zone_indicators('neighbourhood', 2023) ORDER BY 1, 2").fetchall()


def test_shadowing_builtins_in_public_and_tables_in_pg_temp_changes_nothing(city):
    marker = f"hijacked_{secrets.token_hex(3)}"
    shadows = [
        ("lower(text)", "text"), ("upper(text)", "text"), ("length(text)", "integer"),
        ("format(text)", "text"), ("quote_ident(text)", "text"), ("quote_literal(text)", "text"),
        ("current_setting(text)", "text"), ("to_jsonb(text)", "jsonb"),
        ("json_populate_recordset(anyelement, json)", "SETOF anyelement"),
        ("jsonb_build_object(text, text)", "jsonb"), ("clock_timestamp()", "timestamptz"),
        ("regexp_replace(text, text, text)", "text"), ("pg_has_role(name, oid, text)", "boolean"),
    ]
    with psycopg.connect(f"dbname={city}") as c:
        baseline = zone_numbers(c)
        for sig, ret in shadows:
            body = (f"BEGIN INSERT INTO {CANARY} VALUES (1); RAISE NOTICE '{marker}'; "
                    f"RETURN NULL; END")
            if ret.startswith("SETOF"):
                body = f"BEGIN INSERT INTO {CANARY} VALUES (1); RAISE NOTICE '{marker}'; END"
            c.execute(f"CREATE FUNCTION public.{sig} RETURNS {ret} LANGUAGE plpgsql AS $$ {body} $$")
        c.execute(f"CREATE FUNCTION public.\"=\"(text, text) RETURNS boolean LANGUAGE sql AS "
                  f"$$ SELECT false $$")
        for t in ("run", "setting", "demand", "zone", "facility", "target"):
            c.execute(f"CREATE TEMP TABLE {t} (x int)")
        c.execute("CREATE FUNCTION pg_temp.setting_value(text) RETURNS text LANGUAGE sql "
                  "AS $$ SELECT '2' $$")
        seen = []
        c.add_notice_handler(lambda d: seen.append(d.message_primary))
        assert zone_numbers(c) == baseline
        run_id = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
        assert c.execute("SELECT status FROM welfare.run WHERE run_id = %s", [run_id]).fetchone() == ("ok",)
        c.execute("SELECT * FROM welfare.processing_records()").fetchall()
        c.execute("SET ROLE welfare_analyst")
        rid = c.execute("SELECT welfare.log_run_start('probe')").fetchone()[0]
        c.execute("SELECT welfare.log_run_finish(%s)", [rid])
        c.execute("RESET ROLE")
        assert c.execute(f"SELECT count(*) FROM {CANARY}").fetchone()[0] == 0
        assert marker not in " ".join(seen)
        c.rollback()


# --- hypothesis: malformed values give a clear error or a correct result --------

# no NUL (PostgreSQL text cannot hold it) and no lone surrogates (no client can send them:
# they are not encodable in UTF-8, so psycopg refuses them before the server sees them)
TEXT = st.one_of(st.none(), st.text(st.characters(blacklist_characters="\x00",
                                                  blacklist_categories=("Cs",)), max_size=40),
                 st.sampled_from(["neighbourhood", "district", "city", "section", "NEIGHBOURHOOD",
                                  "neighbourhood ", "", "pop_65plus"]))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(level=TEXT, period=st.one_of(st.none(), st.integers(-2**31, 2**31 - 1)),
       targets=st.one_of(st.none(), st.lists(TEXT, max_size=4)))
def test_zone_indicators_malformed_inputs(city, level, period, targets):
    with psycopg.connect(f"dbname={city}") as c:
        runs = c.execute(DONE_RUNS).fetchone()[0]
        rows = c.execute("SELECT count(*) FROM welfare.zone_indicator_result").fetchone()[0]
        try:
            with c.transaction():
                got = c.execute("SELECT zone_id, demand FROM welfare.zone_indicators(%s, %s, %s)",
                                [level, period, targets]).fetchall()
            assert level in ("neighbourhood", "district", "city") and period == 2023
            assert all(d is not None and d >= 0 for _, d in got)
        except psycopg.Error as err:
            check_clean(err, (level, period, targets))
            assert err.sqlstate.startswith(("22", "23", "42", "0A", "55"))
        try:
            with c.transaction():
                c.execute("SELECT welfare.run_zone_indicators(%s, %s)", [level, period])
        except psycopg.Error as err:
            check_clean(err, (level, period))
        c.rollback()
        # a failed or rolled-back run leaves nothing behind but its 'failed' log row
        assert c.execute(DONE_RUNS).fetchone()[0] == runs
        assert c.execute("SELECT count(*) FROM welfare.zone_indicator_result").fetchone()[0] == rows


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=TEXT, params=st.one_of(st.none(), st.dictionaries(st.text("abc", max_size=5), st.integers(-9, 9))),
       status=TEXT, message=TEXT)
def test_run_log_malformed_inputs(city, kind, params, status, message):
    import json
    with psycopg.connect(f"dbname={city}") as c:
        c.execute("SET ROLE welfare_analyst")
        try:
            with c.transaction():
                rid = c.execute("SELECT welfare.log_run_start(%s, %s::jsonb)",
                                [kind, None if params is None else json.dumps(params)]).fetchone()[0]
                c.execute("SELECT welfare.log_run_finish(%s, %s, %s)", [rid, status, message])
                row = c.execute("SELECT kind, status, run_by FROM welfare.run WHERE run_id = %s",
                                [rid]).fetchone()
                assert row == (kind, status, "welfare_analyst")
        except psycopg.Error as err:
            check_clean(err, (kind, status))
            assert err.sqlstate in ("22023", "22021", "22P05"), str(err)
        c.rollback()
