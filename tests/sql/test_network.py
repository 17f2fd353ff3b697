"""Network costs through the SQL door: welfare.network_cost_matrix with pgRouting and with
the core, on the synthetic street grid of tests/fixtures/street_grid.py (hand-worked costs).

pgRouting (Debian postgresql-15-pgrouting, in the Makefile's APT_PACKAGES) is created in the
test database here; the test fails, it does not skip, when it is missing.
"""
import psycopg
import pytest

from fixtures import street_grid as sg

X0, Y0 = sg.X0, sg.Y0


@pytest.fixture(scope="module")
def grid_db(dbname):
    with psycopg.connect(f"dbname={dbname}", autocommit=True) as c:
        assert c.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'"
                         ).fetchone(), "pgRouting missing: apt-get install postgresql-15-pgrouting"
        c.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
        c.execute("CREATE TABLE streets (gid int, source bigint, target bigint, "
                  "cost double precision, reverse_cost double precision, "
                  "geom public.geometry(LineString, 32632))")
        for gid, s, t, cost, rev, (x1, y1), (x2, y2) in sg.grid_edges():
            c.execute("INSERT INTO streets VALUES (%s, %s, %s, %s, %s, public.ST_SetSRID("
                      "public.ST_MakeLine(public.ST_MakePoint(%s, %s), public.ST_MakePoint(%s, %s)),"
                      " 32632))", [gid, s, t, cost, rev, X0 + x1, Y0 + y1, X0 + x2, Y0 + y2])
        for table, rows in (("homes", sg.ORIGINS), ("services", sg.DESTINATIONS)):
            c.execute(f"CREATE TABLE {table} (pid text, geom public.geometry)")
            for pid, x, y in rows:
                c.execute(f"INSERT INTO {table} VALUES (%s, public.ST_SetSRID("
                          "public.ST_MakePoint(%s, %s), 32632))", [pid, X0 + x, Y0 + y])
    return dbname


@pytest.fixture
def gconn(grid_db):
    with psycopg.connect(f"dbname={grid_db}") as c:
        yield c
        c.rollback()


def matrix(conn, max_cost, engine=None, edges="streets", **kw):
    args = ", ".join(f"{k} => %({k})s" for k in kw)
    rows = conn.execute(
        "SELECT origin_id, destination_id, cost FROM welfare.network_cost_matrix("
        "%(edges)s, 'homes', 'pid', 'geom', 'services', 'pid', 'geom', %(max_cost)s, "
        f"engine => %(engine)s{', ' + args if args else ''})",
        dict(kw, edges=edges, max_cost=max_cost, engine=engine)).fetchall()
    assert len({(o, d) for o, d, _ in rows}) == len(rows)
    return {(o, d): c for o, d, c in rows}


@pytest.mark.parametrize("engine", ["pgrouting", "core", None])
@pytest.mark.parametrize("max_cost", [1000.0, 320.0, 110.0])
def test_hand_worked_grid(gconn, engine, max_cost):
    got = matrix(gconn, max_cost, engine)
    want = sg.within(sg.HAND_DIRECTED, max_cost)
    assert got.keys() == want.keys()  # O3 reaches only D3: the other pairs are absent
    assert got == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("kw,hand", [
    ({"directed": False}, sg.HAND_UNDIRECTED),
    ({"edge_reverse_cost": None}, None),  # no reverse column: every edge one-way
    ({"max_snap": 15.0}, {k: v for k, v in sg.HAND_DIRECTED.items() if k[0] != "O2"}),
])
def test_pgrouting_and_core_agree(gconn, kw, hand):
    via_pgr = matrix(gconn, 1000, "pgrouting", **kw)
    via_core = matrix(gconn, 1000, "core", **kw)
    assert via_pgr.keys() == via_core.keys()
    assert via_pgr == pytest.approx(via_core, abs=1e-9)
    if hand is not None:
        assert via_pgr == pytest.approx(hand, abs=1e-9)
    else:  # east / north only: O2 (node 3) cannot get back west to D1 (node 2)
        assert ("O2", "D1") not in via_pgr and via_pgr[("O1", "D2")] == pytest.approx(620)


def test_minutes_at_walking_speed(gconn):
    gconn.execute("CREATE TEMP VIEW streets_min AS SELECT source, target, cost / 75 AS cost, "
                  "CASE WHEN reverse_cost < 0 THEN -1 ELSE reverse_cost / 75 END AS reverse_cost, "
                  "geom FROM streets")
    for engine in ("pgrouting", "core"):
        got = matrix(gconn, 1000 / 75, engine, edges="streets_min", cost_unit="min",
                     travel_mode="walk")
        assert got == pytest.approx({k: v / 75 for k, v in sg.HAND_DIRECTED.items()}, abs=1e-9)


def test_result_feeds_a_cost_relation(gconn):
    """The returned relation has the long OD shape: stored and read back as welfare.travel_cost."""
    gconn.execute("CREATE TEMP TABLE od AS SELECT * FROM welfare.network_cost_matrix("
                  "'streets', 'homes', 'pid', 'geom', 'services', 'pid', 'geom', 1000)")
    n, zero = gconn.execute("SELECT count(*), count(*) FILTER (WHERE cost = 0) FROM od").fetchone()
    assert (n, zero) == (len(sg.HAND_DIRECTED), 1)


@pytest.mark.parametrize("sql,match", [
    ("UPDATE streets SET cost = -5 WHERE gid = 1", "negative"),
    ("UPDATE streets SET cost = NULL WHERE gid = 1", "NULL"),
    ("UPDATE streets SET geom = public.ST_Reverse(geom) WHERE gid = 1", "two places"),
    ("UPDATE homes SET geom = public.ST_Transform(geom, 4326)", "SRID"),
    ("DELETE FROM streets", "no edges"),
])
def test_bad_input_is_a_clear_error(gconn, sql, match):
    gconn.execute(sql)
    for engine in ("pgrouting", "core"):
        gconn.execute("SAVEPOINT s")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=match) as e:
            matrix(gconn, 1000, engine)
        assert e.value.diag.message_hint
        gconn.execute("ROLLBACK TO SAVEPOINT s")


def test_bad_column_and_engine(gconn):
    with pytest.raises(psycopg.errors.UndefinedColumn):
        matrix(gconn, 1000, "core", edge_cost="length; DROP TABLE streets")
    gconn.rollback()
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="engine"):
        matrix(gconn, 1000, "osrm")
    gconn.rollback()
    assert gconn.execute("SELECT count(*) FROM streets").fetchone()[0] == 25


def test_pgrouting_engine_needs_the_extension(gconn):
    """Without pgRouting, engine 'pgrouting' is an error and NULL falls back to the core."""
    gconn.execute("DROP EXTENSION pgrouting")  # rolled back after the test
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="pgrouting") as e:
        matrix(gconn, 1000, "pgrouting")
    assert "CREATE EXTENSION pgrouting" in e.value.diag.message_hint
    gconn.rollback()
    gconn.execute("DROP EXTENSION pgrouting")
    assert matrix(gconn, 1000) == pytest.approx(sg.HAND_DIRECTED, abs=1e-9)
