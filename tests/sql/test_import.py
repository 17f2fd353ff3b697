"""welfare.import_dataset(s), welfare.validate_data and the CLI on the tiny city."""
import math

import psycopg
import pytest
from shapely.geometry import MultiPolygon, Point, box

from fixtures import tiny_city as tc
from sql.wi_sql import fresh_database, import_all, run_cli, stage, table_contents, write_files
from welfare_core import model


def triples(rows):
    return sorted((r[0], r[1], r[3]) for r in rows)


def table_counts(conn):
    return {n: conn.execute(f"SELECT count(*) FROM welfare.{n}").fetchone()[0]
            for n in model.LOAD_ORDER}


def test_clean_city_loads_and_validates(conn):
    assert import_all(conn, tc.tables()) == []
    counts = table_counts(conn)
    assert {n: counts[n] for n in ("zone", "population", "facility", "service_target")} == \
        dict(zone=7, population=24, facility=3, service_target=3)
    assert conn.execute("SELECT * FROM welfare.validate_data()").fetchall() == []
    # values arrive as given: a hand-checked row and a geometry
    assert conn.execute("SELECT persons FROM welfare.population WHERE zone_id = '015146-N1' "
                        "AND sex = 'F' AND age = 70").fetchone()[0] == 150.0
    assert conn.execute("SELECT ST_AsText(geom), ST_SRID(geom) FROM welfare.facility "
                        "WHERE facility_id = 'F2'").fetchone() == ("POINT(513000 5033000)", 32632)


def test_known_problems_through_import_are_the_core_list(conn):
    rows = import_all(conn, tc.tables_with_problems())
    assert triples(rows) == tc.KNOWN_PROBLEMS
    assert all(n == 0 for n in table_counts(conn).values())


def test_import_dataset_one_at_a_time_with_context(conn):
    t = tc.tables()
    for name in model.LOAD_ORDER:
        if name in t:
            staged = stage(conn, name, t[name])
            assert conn.execute("SELECT * FROM welfare.import_dataset(%s, %s)",
                                [name, staged]).fetchall() == []
    # a second facility file only: references and zones come from the tables
    f = t["facility"].iloc[[0]].copy()
    f["facility_id"] = "F9"
    f["service_type_id"] = "ghost"
    staged = stage(conn, "facility", f, table="more_facility")
    rows = conn.execute("SELECT * FROM welfare.import_dataset('facility', %s)", [staged]).fetchall()
    assert [(r[1], r[2], r[3]) for r in rows] == [("F9", "service_type_id", "unknown_reference")]
    assert "ghost" in rows[0][4]


def test_reimport_updates_rows_and_fills_source(conn):
    assert import_all(conn, tc.tables()) == []
    z = tc.tables()["zone"].iloc[[3]].copy()
    z["name"] = "Renamed"
    z = z.drop(columns=["source_id"])
    staged = stage(conn, "zone", z, table="zone_again")
    assert conn.execute("SELECT * FROM welfare.import_dataset('zone', %s, 'test')",
                        [staged]).fetchall() == []
    assert conn.execute("SELECT name, source_id FROM welfare.zone WHERE zone_id = '015146-N1'"
                        ).fetchone() == ("Renamed", "test")
    assert table_counts(conn)["zone"] == 7


def _geographic(frame):
    import pyproj
    from shapely.ops import transform
    tr = pyproj.Transformer.from_crs(32632, 4326, always_xy=True).transform
    frame = frame.copy()
    frame["geometry"] = [transform(tr, g) for g in frame["geometry"]]
    return frame


def test_geographic_input_is_reprojected(conn):
    t = tc.tables()
    t["facility"] = _geographic(t["facility"])
    order = [n for n in model.LOAD_ORDER if n in t]
    staged = [stage(conn, n, t[n], 4326 if n == "facility" else 32632) for n in order]
    assert conn.execute("SELECT * FROM welfare.import_datasets(%s::text[], %s::regclass[])",
                        [order, staged]).fetchall() == []
    x, y = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM welfare.facility "
                        "WHERE facility_id = 'F1'").fetchone()
    assert math.isclose(x, tc.X0 + 500, abs_tol=0.01) and math.isclose(y, tc.Y0 + 500, abs_tol=0.01)


@pytest.mark.parametrize("srid,fragment", [(0, "SRID 0"), (999999, "SRID 999999")])
def test_unusable_staging_srid_is_an_error(conn, srid, fragment):
    staged = stage(conn, "zone", tc.tables()["zone"], srid=srid)
    with pytest.raises(psycopg.Error) as err:
        conn.execute("SELECT * FROM welfare.import_dataset('zone', %s)", [staged])
    assert err.value.sqlstate == "22023"
    assert fragment in err.value.diag.message_primary
    assert "stage_zone" in err.value.diag.message_primary
    assert err.value.diag.message_hint


def test_geometry_with_wrong_srid_refused_by_table(conn):
    import_all(conn, tc.tables())
    with pytest.raises(psycopg.Error) as err:
        conn.execute("INSERT INTO welfare.candidate_site VALUES ('S2', '015146', NULL, 'x', 0, 0, "
                     "'test', ST_SetSRID(ST_MakePoint(9.1, 45.4), 4326))")
    assert err.value.sqlstate == "22023"
    msg = err.value.diag.message_primary
    assert "S2" in msg and "4326" in msg and "32632" in msg
    assert "ST_Transform" in err.value.diag.message_hint


def _one_fault(name, change):
    t = tc.tables()
    change(t[name])
    return t


FAULTS = {
    "negative capacity": ("facility", lambda f: f.__setitem__("capacity", [-1.0, 4.0, 30.0]),
                          ("facility", "F1", "capacity", "negative_value"), "-1"),
    "NaN capacity": ("facility", lambda f: f.__setitem__("capacity", [float("nan"), 4.0, 30.0]),
                     ("facility", "F1", "capacity", "not_finite"), "capacity"),
    "NULL id": ("facility", lambda f: f.__setitem__("facility_id", ["F1", None, "F3"]),
                ("facility", "NULL", "facility_id", "missing_value"), "facility_id"),
    "unknown reference": ("population", lambda p: p.__setitem__("zone_id", ["015146-NX"] + list(p.zone_id[1:])),
                          ("population", "015146-NX|2023|F|70", "zone_id", "unknown_reference"),
                          "015146-NX"),
    "duplicate key": ("facility", lambda f: f.__setitem__("facility_id", ["F1", "F1", "F3"]),
                      ("facility", "F1", "facility_id", "duplicate_key"), "F1"),
    "shares": ("service_target", lambda s: s.__setitem__("share", [0.5, 0.25, 1.0]),
               ("service_target", "rsa", "share", "shares_not_one"), "0.75"),
    "not nested": ("zone", lambda z: z.__setitem__("geometry", list(z.geometry[:3]) + [
                       tc.sq(0, 0, 3000, 2000)] + list(z.geometry[4:])),
                   ("zone", "015146-N1", "geometry", "not_nested"), "015146-D1"),
    "parent level": ("zone", lambda z: z.__setitem__("parent_id", list(z.parent_id[:4]) + [
                         "015146-N1"] + list(z.parent_id[5:])),
                     ("zone", "015146-N2", "parent_id", "parent_level"), "015146-N1"),
    "empty geometry": ("zone", lambda z: z.__setitem__("geometry", list(z.geometry[:6]) + [
                           MultiPolygon()]), ("zone", "015146-N4", "geometry", "empty_geometry"),
                       "empty"),
    "wrong type": ("candidate_site", lambda c: c.__setitem__("geometry", [tc.sq(0, 0, 5, 5)]),
                   ("candidate_site", "S1", "geometry", "wrong_geometry_type"), "MultiPolygon"),
    "age out of range": ("population", lambda p: p.__setitem__("age", [130] + list(p.age[1:])),
                         ("population", "015146-N1|2023|F|130", "age", "above_maximum"), "130"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_bad_input_is_reported_and_nothing_written(conn, fault):
    name, change, expected, fragment = FAULTS[fault]
    rows = import_all(conn, _one_fault(name, change))
    assert [r[:4] for r in rows] == [expected]
    assert fragment in rows[0][4]
    assert all(n == 0 for n in table_counts(conn).values())


def test_validate_data_reports_what_constraints_let_through(conn):
    """Rows inserted directly (not through import) are checked by validate_data."""
    assert import_all(conn, tc.tables()) == []
    conn.execute("UPDATE welfare.service_target SET share = 0.15 WHERE target_id = 'alone_65plus'")
    conn.execute("INSERT INTO welfare.zone VALUES "
                 "('015146-N7', '015146', 'neighbourhood', 'Bow tie', '015146-D1', 'test', "
                 " ST_Multi(ST_GeomFromText('POLYGON((510000 5030000, 510010 5030010, 510010 "
                 "5030000, 510000 5030010, 510000 5030000))', 32632))),"
                 "('015146-N8', '015146', 'neighbourhood', 'Spills', '015146-D1', 'test', "
                 " ST_Multi(ST_MakeEnvelope(511000, 5030000, 513000, 5031000, 32632))),"
                 "('015146-N9', '015146', 'neighbourhood', 'Peer', '015146-N1', 'test', "
                 " ST_Multi(ST_MakeEnvelope(510000, 5030000, 510100, 5030100, 32632))),"
                 "('015146-N6', '015146', 'neighbourhood', 'Empty', '015146-D1', 'test', "
                 " 'SRID=32632;MULTIPOLYGON EMPTY')")
    conn.execute("INSERT INTO welfare.facility VALUES ('F4', '015146', 'nursery', 'Far', 'Comune', "
                 "30, NULL, NULL, true, 'test', ST_SetSRID(ST_MakePoint(519000, 5039000), 32632))")
    rows = conn.execute("SELECT * FROM welfare.validate_data()").fetchall()
    # the subset of KNOWN_PROBLEMS that the table constraints cannot stop
    expected = [p for p in tc.KNOWN_PROBLEMS if p[2] in (
        "shares_not_one", "invalid_geometry", "not_nested", "parent_level", "empty_geometry",
        "outside_zones")]
    assert triples(rows) == expected


def test_table_constraints_mirror_the_model(conn):
    import_all(conn, tc.tables())
    for stmt, state in [
        ("UPDATE welfare.facility SET capacity = -1 WHERE facility_id = 'F1'", "23514"),
        ("UPDATE welfare.facility SET capacity = 'NaN' WHERE facility_id = 'F1'", "23514"),
        ("UPDATE welfare.population SET age = 101 WHERE persons = 150", "23514"),
        ("UPDATE welfare.zone SET level = 'borough' WHERE zone_id = '015146-N1'", "23514"),
        ("UPDATE welfare.zone SET parent_id = 'nowhere' WHERE zone_id = '015146-N1'", "23503"),
        ("UPDATE welfare.facility SET name = NULL WHERE facility_id = 'F1'", "23502"),
    ]:
        conn.execute("SAVEPOINT s")
        with pytest.raises(psycopg.Error) as err:
            conn.execute(stmt)
        assert err.value.sqlstate == state, stmt
        conn.execute("ROLLBACK TO SAVEPOINT s")


# --- the CLI: one transaction over every file --------------------------------------------

@pytest.fixture(scope="module")
def cli_db():
    with fresh_database("wi_test_cli") as name:
        yield name


def test_cli_loads_clean_city(cli_db, tmp_path):
    files = write_files(tc.tables(), tmp_path)
    r = run_cli(cli_db, *files)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "population: 24 rows" in r.stdout
    with psycopg.connect(f"dbname={cli_db}") as c:
        assert c.execute("SELECT * FROM welfare.validate_data()").fetchall() == []


def test_cli_failed_import_leaves_database_unchanged(cli_db, tmp_path):
    with psycopg.connect(f"dbname={cli_db}") as c:
        before = table_contents(c)
    assert sum(map(len, before.values())) > 0, "run after test_cli_loads_clean_city"
    # valid changes to several datasets plus problems in others: nothing may land
    t = tc.tables_with_problems()
    t["population"].loc[1:, "persons"] = 999.0
    t["source"].loc[0, "name"] = "changed"
    files = write_files(t, tmp_path)
    r = run_cli(cli_db, *files)
    assert r.returncode == 1
    assert "nothing was loaded" in r.stdout
    reported = sorted(tuple(line.split("\t")[i] for i in (0, 1, 3))
                      for line in r.stdout.splitlines()[2:])
    assert reported == tc.KNOWN_PROBLEMS
    with psycopg.connect(f"dbname={cli_db}") as c:
        assert table_contents(c) == before


def test_cli_refuses_layer_without_crs_clearly(cli_db, tmp_path):
    import geopandas as gpd
    gdf = gpd.GeoDataFrame(tc.tables()["candidate_site"], geometry="geometry")  # no CRS
    gdf.to_file(tmp_path / "x.gpkg", layer="candidate_site", driver="GPKG")
    r = run_cli(cli_db, tmp_path / "x.gpkg")
    assert r.returncode != 0
    assert "SRID 0" in r.stderr and "candidate_site" in r.stderr


def test_projected_coordinates_labelled_geographic_are_refused(conn):
    staged = stage(conn, "candidate_site", tc.tables()["candidate_site"], srid=4326)
    with pytest.raises(psycopg.Error) as err:
        conn.execute("SELECT * FROM welfare.import_dataset('candidate_site', %s)", [staged])
    assert err.value.sqlstate == "22023"
    assert "not longitude/latitude" in err.value.diag.message_primary
    assert "stage_candidate_site" in err.value.diag.message_primary
