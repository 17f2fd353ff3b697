"""Accessibility through the SQL door: generic FCA functions over the caller's relations,
the model function over the welfare tables, stored runs and the BI view, clean errors."""
import math

import numpy as np
import pandas as pd
import psycopg
import pytest

from fixtures import tiny_city as tc
from welfare_core import accessibility as acc
from sql.wi_sql import assert_same, fresh_database, import_all
from welfare_core import costs
from welfare_core.zone_access import ACCESS_COLUMNS, zone_accessibility

SQL_COLUMNS = ["zone_id", "level", "parent_id", "municipality_code", "period",
               "service_type_id", "target_id", "method", "demand", "access", "nearest_cost",
               "share_within", "max_cost", "cost_unit", "null_reason"]  # ACCESS_COLUMNS order
N1, N2, N3, N4 = (f"015146-N{i}" for i in range(1, 5))


def points_table(conn, name, rows, srid=32632, geom_type="geometry"):
    """TEMP table (pid text, val float8, geom) from (id, value, x, y) rows; x None = NULL geom."""
    conn.execute(f"CREATE TEMP TABLE {name} (pid text, val double precision, geom {geom_type})")
    for pid, val, x, y in rows:
        conn.execute(f"INSERT INTO {name} VALUES (%s, %s, CASE WHEN %s::float8 IS NULL THEN NULL "
                     f"ELSE public.ST_SetSRID(public.ST_MakePoint(%s, %s), {srid}) END)",
                     [pid, val, x, x, y])


def fca_sql(conn, fn, max_cost, decay=None, decay_param=None, demand="dem", supply="sup"):
    rows = conn.execute(
        f"SELECT id, access FROM welfare.{fn}(%s, 'pid', 'val', 'geom', %s, 'pid', 'val', "
        "'geom', %s, %s, %s)", [demand, supply, max_cost, decay, decay_param]).fetchall()
    return dict(rows)


# --- generic functions -----------------------------------------------------------------
# demand a (0,0) 10, b (300,400) 30; supply f (0,0) 6 [zero cost to a, co-located],
# g (600,800) 4 [exactly 500 from b: inside, 1000 from a]; max_cost 500
# f <- a (0), b (500): R_f = 6/40;  g <- b (500): R_g = 4/30
# 2SFCA: A_a = 0.15;  A_b = 0.15 + 4/30
# 3SFCA: G_a = (1, 0), G_b = (.5, .5): R_f = 6/(10 + 15), R_g = 4/15
#        A_a = 6/25;  A_b = .5·6/25 + .5·4/15
HAND_DEMAND = [("a", 10.0, 0.0, 0.0), ("b", 30.0, 300.0, 400.0)]
HAND_SUPPLY = [("f", 6.0, 0.0, 0.0), ("g", 4.0, 600.0, 800.0)]


def offset(rows):
    return [(i, v, tc.X0 + x, tc.Y0 + y) for i, v, x, y in rows]


def test_two_step_fca_hand_example(conn):
    points_table(conn, "dem", offset(HAND_DEMAND))
    points_table(conn, "sup", offset(HAND_SUPPLY))
    got = fca_sql(conn, "two_step_fca", 500)
    assert got == pytest.approx({"a": 0.15, "b": 0.15 + 4 / 30}, rel=1e-12)
    got3 = fca_sql(conn, "three_step_fca", 500)
    assert got3 == pytest.approx({"a": 6 / 25, "b": 0.5 * 6 / 25 + 0.5 * 4 / 15}, rel=1e-12)
    # just below the cutoff, b loses both facilities at 500: f serves a only
    assert fca_sql(conn, "two_step_fca", 499.999) == pytest.approx({"a": 0.6, "b": 0.0})


def test_two_step_fca_with_decay_hand(conn):
    # linear decay d = 1000: W(0) = 1, W(500) = 0.5
    # R_f = 6 / (10 + 0.5·30) = 0.24;  R_g = 4 / (0.5·30) = 4/15
    # A_a = 0.24;  A_b = 0.5·0.24 + 0.5·4/15
    points_table(conn, "dem", offset(HAND_DEMAND))
    points_table(conn, "sup", offset(HAND_SUPPLY))
    got = fca_sql(conn, "two_step_fca", 500, "linear", 1000)
    assert got == pytest.approx({"a": 0.24, "b": 0.12 + 2 / 15}, rel=1e-12)


@pytest.mark.parametrize("fn,method", [("two_step_fca", "2sfca"), ("three_step_fca", "3sfca")])
@pytest.mark.parametrize("decay,param", [(None, None), ("gaussian", 400.0)])
def test_generic_equals_core_on_random_points(conn, fn, method, decay, param):
    rng = np.random.default_rng(20240615)
    n, m = 400, 60
    d_xy = rng.uniform(0, 5000, (n, 2))
    s_xy = rng.uniform(0, 5000, (m, 2))
    d_xy[:5] = s_xy[:5]  # some zero costs
    dem = rng.integers(0, 200, n).astype(float)
    sup = rng.uniform(1, 50, m)
    points_table(conn, "dem", [(f"d{i}", dem[i], *(d_xy[i] + (tc.X0, tc.Y0))) for i in range(n)])
    points_table(conn, "sup", [(f"s{j}", sup[j], *(s_xy[j] + (tc.X0, tc.Y0))) for j in range(m)])
    got = fca_sql(conn, fn, 900.0, decay, param)
    # reference: dense brute-force costs on the same (shifted) coordinates, the core FCA
    o, f = d_xy + (tc.X0, tc.Y0), s_xy + (tc.X0, tc.Y0)
    dense = np.sqrt(((o[:, None, :] - f[None, :, :]) ** 2).sum(axis=2))
    from welfare_core import decay as dk
    w = None if decay is None else dk.gaussian(param)
    want = acc.fca(dem, sup, np.where(dense <= 900.0, dense, np.inf), 900.0, w, method=method)
    assert len(got) == n
    np.testing.assert_allclose([got[f"d{i}"] for i in range(n)], want, rtol=1e-9, atol=1e-12)


def test_generic_reads_polygons_through_point_on_surface(conn):
    # a square demand zone: ST_PointOnSurface of a square is inside it; with the facility
    # 10 m away from every point of the square, all of it is within 3000 m
    conn.execute("CREATE TEMP TABLE dz AS SELECT 'z'::text AS pid, 10.0::float8 AS val, "
                 "public.ST_SetSRID(public.ST_MakeEnvelope(510000, 5030000, 511000, 5031000), "
                 "32632) AS geom")
    points_table(conn, "sup", [("f", 5.0, 510500.0, 5031010.0)])
    assert fca_sql(conn, "two_step_fca", 3000, demand="dz") == pytest.approx({"z": 0.5})


def clean_error(err):
    text = str(err.value) + (err.value.diag.context or "")
    assert "Traceback" not in text
    assert not str(err.value).startswith(("plpy", "WelfareSqlError", "spiexceptions"))


@pytest.mark.parametrize("setup,call,sqlstate,match", [
    # geographic SRID
    (lambda c: (points_table(c, "dem", [("a", 1.0, 9.1, 45.4)], srid=4326),
                points_table(c, "sup", [("f", 1.0, 9.1, 45.4)], srid=4326)),
     dict(max_cost=500), "22023", "geographic"),
    # no SRID at all
    (lambda c: (points_table(c, "dem", [("a", 1.0, 0.0, 0.0)], srid=0),
                points_table(c, "sup", [("f", 1.0, 0.0, 0.0)], srid=0)),
     dict(max_cost=500), "22023", "has no SRID"),
    # NULL geometry rows
    (lambda c: (points_table(c, "dem", offset([("a", 1.0, 0.0, 0.0)]) + [("b", 1.0, None, None)]),
                points_table(c, "sup", offset(HAND_SUPPLY))),
     dict(max_cost=500), "22023", "1 row(s) with NULL or empty geometry in column geom"),
    # negative max_cost
    (lambda c: (points_table(c, "dem", offset(HAND_DEMAND)),
                points_table(c, "sup", offset(HAND_SUPPLY))),
     dict(max_cost=-1), "22023", "max_cost must be > 0"),
    # unknown decay
    (lambda c: (points_table(c, "dem", offset(HAND_DEMAND)),
                points_table(c, "sup", offset(HAND_SUPPLY))),
     dict(max_cost=500, decay="cubic"), "22023", "unknown decay 'cubic'"),
    # different SRIDs
    (lambda c: (points_table(c, "dem", offset(HAND_DEMAND)),
                points_table(c, "sup", offset(HAND_SUPPLY), srid=32633)),
     dict(max_cost=500), "22023", "SRID 32632 but supply geometry in SRID 32633"),
])
def test_generic_bad_inputs_are_clear_errors(conn, setup, call, sqlstate, match):
    setup(conn)
    with pytest.raises(psycopg.Error) as err:
        fca_sql(conn, "two_step_fca", call["max_cost"], call.get("decay"))
    assert err.value.sqlstate == sqlstate, str(err.value)
    assert match in str(err.value)
    assert err.value.diag.message_hint  # every refusal says what to do
    clean_error(err)


def test_generic_geographic_error_hints_st_transform(conn):
    points_table(conn, "dem", [("a", 1.0, 9.1, 45.4)], srid=4326)
    points_table(conn, "sup", [("f", 1.0, 9.1, 45.4)], srid=4326)
    with pytest.raises(psycopg.Error) as err:
        fca_sql(conn, "three_step_fca", 500)
    assert "ST_Transform" in err.value.diag.message_hint


def test_generic_unknown_column_is_clean(conn):
    points_table(conn, "dem", offset(HAND_DEMAND))
    points_table(conn, "sup", offset(HAND_SUPPLY))
    with pytest.raises(psycopg.Error) as err:
        conn.execute("SELECT * FROM welfare.two_step_fca('dem', 'pid', 'nope', 'geom', 'sup', "
                     "'pid', 'val', 'geom', 500)")
    assert err.value.sqlstate == "42703" and "nope" in str(err.value)
    clean_error(err)


# --- generic functions over a cost relation (cost_rel) -----------------------------------
# Costs in minutes, long table (o, d, minutes); max_cost 10; demand a 10, b 30, c 20, d 5;
# supply f 6, g 4. Pairs: a-f 0 (zero cost), b-f 10 (exactly at the cutoff: inside), b-g 4,
# c-g 8, c-f Infinity (unreachable), d-g 12 (beyond the cutoff); a-g, d-f absent.
# 2SFCA: f <- a, b: R_f = 6/40 = 0.15;  g <- b, c: R_g = 4/50 = 0.08
#        A_a = 0.15, A_b = 0.15 + 0.08 = 0.23, A_c = 0.08, A_d = 0 (reaches nothing)
# 3SFCA (W = 1): G_a = {f: 1}, G_b = {f: .5, g: .5}, G_c = {g: 1}
#        R_f = 6/(10 + .5·30) = 0.24, R_g = 4/(.5·30 + 20) = 4/35
#        A_a = 0.24, A_b = .5·0.24 + .5·4/35, A_c = 4/35, A_d = 0
# linear decay, d = 20: W(0) = 1, W(4) = .8, W(8) = .6, W(10) = .5
#        R_f = 6/(10 + .5·30) = 0.24, R_g = 4/(.8·30 + .6·20) = 1/9
#        A_a = 0.24, A_b = .5·0.24 + .8/9, A_c = .6/9, A_d = 0
OD_DEMAND = [("a", 10.0), ("b", 30.0), ("c", 20.0), ("d", 5.0)]
OD_SUPPLY = [("f", 6.0), ("g", 4.0)]
OD_ROWS = [("a", "f", 0.0), ("b", "f", 10.0), ("b", "g", 4.0), ("c", "g", 8.0),
           ("c", "f", math.inf), ("d", "g", 12.0)]


def od_tables(conn, rows=OD_ROWS):
    """dem / sup without any geometry column, od (o, d, minutes)."""
    conn.execute("CREATE TEMP TABLE dem (pid text, val double precision)")
    conn.execute("CREATE TEMP TABLE sup (pid text, val double precision)")
    conn.execute("CREATE TEMP TABLE od (o text, d text, minutes double precision)")
    for table, data in (("dem", OD_DEMAND), ("sup", OD_SUPPLY), ("od", rows)):
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(data[0]))})",
                            data)


def fca_od(conn, fn, max_cost, decay=None, decay_param=None, cost_rel="od", **cols):
    cols = {"cost_origin": "o", "cost_destination": "d", "cost_col": "minutes"} | cols
    named = "".join(f", {k} => %({k})s" for k in cols)
    rows = conn.execute(
        f"SELECT id, access FROM welfare.{fn}('dem', 'pid', 'val', NULL, 'sup', 'pid', 'val', "
        f"NULL, %(max_cost)s, %(decay)s, %(decay_param)s, cost_rel => %(cost_rel)s{named})",
        dict(cols, max_cost=max_cost, decay=decay, decay_param=decay_param,
             cost_rel=cost_rel)).fetchall()
    return dict(rows)


def test_cost_relation_hand_example(conn):
    od_tables(conn)
    assert fca_od(conn, "two_step_fca", 10) == pytest.approx(
        {"a": 0.15, "b": 0.23, "c": 0.08, "d": 0.0}, rel=1e-12, abs=1e-15)
    assert fca_od(conn, "three_step_fca", 10) == pytest.approx(
        {"a": 0.24, "b": 0.12 + 2 / 35, "c": 4 / 35, "d": 0.0}, rel=1e-12, abs=1e-15)
    assert fca_od(conn, "two_step_fca", 10, "linear", 20) == pytest.approx(
        {"a": 0.24, "b": 0.12 + 0.8 / 9, "c": 0.6 / 9, "d": 0.0}, rel=1e-12, abs=1e-15)
    # just below the cutoff, b-f (10) drops out: f serves a alone, b reaches only g
    # R_f = 6/10, R_g = 4/50: A_a = 0.6, A_b = A_c = 0.08
    assert fca_od(conn, "two_step_fca", 9.999) == pytest.approx(
        {"a": 0.6, "b": 0.08, "c": 0.08, "d": 0.0}, rel=1e-12, abs=1e-15)


def test_cost_relation_default_column_names(conn):
    """origin_id, destination_id, cost by default; geometry columns ignored when given."""
    od_tables(conn)
    conn.execute("CREATE TEMP VIEW od_std AS SELECT o AS origin_id, d AS destination_id, "
                 "minutes AS cost FROM od")
    conn.execute("ALTER TABLE dem ADD COLUMN geom public.geometry")  # all NULL: not read
    got = dict(conn.execute(
        "SELECT id, access FROM welfare.two_step_fca('dem', 'pid', 'val', 'geom', 'sup', 'pid', "
        "'val', NULL, 10, cost_rel => 'od_std')").fetchall())
    assert got == pytest.approx({"a": 0.15, "b": 0.23, "c": 0.08, "d": 0.0}, rel=1e-12)


@pytest.mark.parametrize("fn,method", [("two_step_fca", "2sfca"), ("three_step_fca", "3sfca")])
def test_cost_relation_of_euclidean_distances_equals_geometry_path(conn, fn, method):
    """PostGIS ST_Distance between the points, every pair (also beyond the cutoff), as the
    cost relation: the same accessibility as the geometry path (core KD-tree distances)."""
    rng = np.random.default_rng(7)
    n, m = 150, 30
    d_xy = rng.uniform(0, 4000, (n, 2)) + (tc.X0, tc.Y0)
    s_xy = rng.uniform(0, 4000, (m, 2)) + (tc.X0, tc.Y0)
    d_xy[:3] = s_xy[:3]  # zero costs
    points_table(conn, "dem", [(f"d{i}", float(rng.integers(0, 100)), *d_xy[i])
                               for i in range(n)])
    points_table(conn, "sup", [(f"s{j}", float(rng.uniform(1, 30)), *s_xy[j]) for j in range(m)])
    conn.execute("CREATE TEMP TABLE dist AS SELECT a.pid AS origin_id, b.pid AS destination_id, "
                 "public.ST_Distance(a.geom, b.geom) AS cost FROM dem a, sup b")
    for decay, param in ((None, None), ("gaussian", 400.0)):
        geo = fca_sql(conn, fn, 800.0, decay, param)
        od = dict(conn.execute(
            f"SELECT id, access FROM welfare.{fn}('dem', 'pid', 'val', NULL, 'sup', 'pid', "
            "'val', NULL, 800, %s, %s, 'dist')", [decay, param]).fetchall())
        assert od.keys() == geo.keys() and len(od) == n
        np.testing.assert_allclose([od[k] for k in sorted(geo)], [geo[k] for k in sorted(geo)],
                                   rtol=1e-9, atol=1e-12)
        assert sum(v > 0 for v in od.values()) > n / 2  # the check is not vacuous


def test_network_cost_matrix_feeds_the_fca(conn):
    """welfare.network_cost_matrix (tests/fixtures/street_grid.py) as cost_rel, through a view.

    Hand-worked network costs (metres): O1-D1 110, O1-D2 620, O2-D1 320, O2-D2 430,
    O3-D3 110, O4-D1 0, O4-D2 510. max_cost 500 keeps O1-D1, O2-D1, O2-D2, O3-D3, O4-D1.
    demand O1 10, O2 20, O3 5, O4 15; supply D1 9, D2 6, D3 2:
    R_D1 = 9/(10 + 20 + 15) = 0.2, R_D2 = 6/20 = 0.3, R_D3 = 2/5 = 0.4
    A_O1 = 0.2, A_O2 = 0.2 + 0.3 = 0.5, A_O3 = 0.4, A_O4 = 0.2
    """
    from fixtures import street_grid as sg
    conn.execute("CREATE TEMP TABLE streets (source bigint, target bigint, cost float8, "
                 "reverse_cost float8, geom public.geometry(LineString, 32632))")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO streets VALUES (%s, %s, %s, %s, public.ST_SetSRID(public.ST_MakeLine("
            "public.ST_MakePoint(%s, %s), public.ST_MakePoint(%s, %s)), 32632))",
            [(s, t, c, r, sg.X0 + a[0], sg.Y0 + a[1], sg.X0 + b[0], sg.Y0 + b[1])
             for _, s, t, c, r, a, b in sg.grid_edges()])
    values = {"O1": 10.0, "O2": 20.0, "O3": 5.0, "O4": 15.0, "D1": 9.0, "D2": 6.0, "D3": 2.0}
    points_table(conn, "homes", [(p, values[p], sg.X0 + x, sg.Y0 + y) for p, x, y in sg.ORIGINS])
    points_table(conn, "services", [(p, values[p], sg.X0 + x, sg.Y0 + y)
                                    for p, x, y in sg.DESTINATIONS])
    conn.execute("CREATE TEMP VIEW net AS SELECT * FROM welfare.network_cost_matrix('streets', "
                 "'homes', 'pid', 'geom', 'services', 'pid', 'geom', 1000, engine => 'core')")
    got = dict(conn.execute(
        "SELECT id, access FROM welfare.two_step_fca('homes', 'pid', 'val', NULL, 'services', "
        "'pid', 'val', NULL, 500, cost_rel => 'net')").fetchall())
    assert got == pytest.approx({"O1": 0.2, "O2": 0.5, "O3": 0.4, "O4": 0.2}, rel=1e-12)
    # the geometry path (straight lines) gives other numbers: O3 is 90 m from D3 by air
    air = dict(conn.execute(
        "SELECT id, access FROM welfare.two_step_fca('homes', 'pid', 'val', 'geom', 'services', "
        "'pid', 'val', 'geom', 500)").fetchall())
    assert air["O1"] != pytest.approx(got["O1"])


@pytest.mark.parametrize("rows,kw,sqlstate,match", [
    (OD_ROWS, {"cost_col": "nope"}, "42703", "nope"),
    (OD_ROWS + [("a", "g", -1.0)], {}, "22023", "1 negative value(s)"),
    (OD_ROWS + [("a", "g", math.nan)], {}, "22023", "1 missing (NaN) value(s)"),
    (OD_ROWS + [("a", "g", None)], {}, "22023", "1 row(s) with a NULL cost in column minutes"),
    (OD_ROWS + [(None, "g", 1.0)], {}, "22023", "1 row(s) with a NULL o or d"),
    (OD_ROWS + [("a", None, 1.0)], {}, "22023", "1 row(s) with a NULL o or d"),
    (OD_ROWS + [("a", "f", 2.0)], {}, "22023", "1 duplicate (origin, destination) pair(s)"),
    (OD_ROWS + [("zz", "f", 1.0)], {}, "23503",
     "1 o value(s) that are not ids of the demand relation dem (column pid), e.g. ['zz']"),
    # swapped: origins are supply ids
    ([(d, o, c) for o, d, c in OD_ROWS], {}, "23503", "not ids of the demand relation"),
    (OD_ROWS, {"cost_destination": "o"}, "22023", "three different columns"),
])
def test_cost_relation_bad_inputs_are_clear_errors(conn, rows, kw, sqlstate, match):
    od_tables(conn, rows)
    with pytest.raises(psycopg.Error) as err:
        fca_od(conn, "two_step_fca", 10, **kw)
    assert err.value.sqlstate == sqlstate, str(err.value)
    assert match in str(err.value)
    if sqlstate != "42703":
        assert err.value.diag.message_hint
    clean_error(err)


def test_geometry_columns_are_required_without_a_cost_relation(conn):
    od_tables(conn)
    with pytest.raises(psycopg.Error) as err:
        fca_od(conn, "three_step_fca", 10, cost_rel=None)
    assert err.value.sqlstate == "22023" and "demand_geom is required" in str(err.value)
    clean_error(err)


# --- model function ---------------------------------------------------------------------

def model_frame(conn, *args, **kwargs):
    names = ["service_type_id", "period", "level", "method", "max_cost", "decay",
             "decay_param", "municipality_code"]
    params = dict(zip(names, args)) | kwargs
    named = ", ".join(f"{k} => %({k})s" for k in params)
    rows = conn.execute(f"SELECT * FROM welfare.accessibility({named})", params).fetchall()
    return pd.DataFrame(rows, columns=SQL_COLUMNS)


def assert_same_access(sql_frame, core_frame):
    assert_same(sql_frame, core_frame[list(ACCESS_COLUMNS)], ["target_id", "zone_id"])


@pytest.mark.parametrize("stype,level,method,max_cost", [
    ("rsa", "neighbourhood", "2sfca", 2600.0),
    ("rsa", "district", "3sfca", 2600.0),
    ("rsa", "city", "gravity", None),
    ("nursery", "neighbourhood", "2sfca", None),
    ("nursery", "district", "2sfca", 2000.0),
])
def test_model_function_equals_core(loaded, stype, level, method, max_cost):
    core = zone_accessibility(tc.tables(), stype, 2023, level, method=method, max_cost=max_cost)
    with psycopg.connect(f"dbname={loaded}") as c:
        got = model_frame(c, stype, 2023, level, method, max_cost)
    assert_same_access(got, core)


def test_model_function_hand_values(loaded):
    # worked in tests/core/test_zone_access.py: rsa within 2600 m, 65+ per 100
    with psycopg.connect(f"dbname={loaded}") as c:
        got = model_frame(c, "rsa", 2023, "neighbourhood", max_cost=2600)
    a = got[got["target_id"] == "pop_65plus"].set_index("zone_id")
    assert a.loc[N1, "access"] == pytest.approx(2.25)
    assert a.loc[N2, "access"] == pytest.approx(3.25)
    assert a.loc[N4, "access"] == pytest.approx(1.0) and a.loc[N4, "nearest_cost"] == 0.0
    assert a.loc[N3, "null_reason"] == "no demand in the zone"
    with psycopg.connect(f"dbname={loaded}") as c:
        n3 = c.execute("SELECT access IS NULL, nearest_cost IS NULL, share_within IS NULL, "
                       "access = 'NaN' FROM welfare.accessibility('rsa', 2023, 'neighbourhood') "
                       "WHERE zone_id = %s AND target_id = 'pop_65plus'", [N3]).fetchone()
    assert n3 == (True, True, True, None)  # NULL, never NaN
    # defaults: level section does not exist in the tiny city
    with psycopg.connect(f"dbname={loaded}") as c:
        with pytest.raises(psycopg.Error, match="no zones of level 'section'"):
            c.execute("SELECT * FROM welfare.accessibility('rsa', 2023)")


# every character the array literals the rows leave PL/Python in must escape or keep
TRICKY_IDS = {"015146-N1": 'n"1', "015146-N2": "n\\2", "015146-N3": "n,{3}",
              "015146-N4": " NULL ", "015146-D1": "d\\\"1 ü"}


def test_model_function_returns_any_zone_id_unchanged():
    tables = tc.tables()
    for frame in tables.values():
        for col in ("zone_id", "parent_id"):
            if col in frame:
                frame[col] = frame[col].replace(TRICKY_IDS)
    core = zone_accessibility(tables, "rsa", 2023, "neighbourhood", max_cost=2600.0)
    with fresh_database() as db, psycopg.connect(f"dbname={db}") as c:
        assert import_all(c, tables) == []
        got = model_frame(c, "rsa", 2023, "neighbourhood", max_cost=2600.0)
    assert set(got["zone_id"]) == {'n"1', "n\\2", "n,{3}", " NULL "}
    assert set(got["parent_id"]) == {"d\\\"1 ü", "015146-D2"}
    assert_same_access(got, core)


@pytest.mark.parametrize("sql,params,sqlstate,match", [
    ("welfare.accessibility('ghost', 2023, 'neighbourhood')", [], "23503",
     "unknown service type 'ghost'"),
    ("welfare.accessibility('rsa', 2023, 'neighbourhood', '4sfca')", [], "22023",
     "unknown method '4sfca'"),
    ("welfare.accessibility('rsa', 2023, 'neighbourhood', max_cost => -10)", [], "22023",
     "max_cost must be > 0"),
    ("welfare.accessibility('rsa', 2023, 'neighbourhood', decay => 'cubic')", [], "22023",
     "unknown decay 'cubic'"),
    ("welfare.accessibility('rsa', 1990, 'neighbourhood')", [], "22023",
     "no demand rows for period 1990"),
    ("welfare.accessibility('rsa', NULL)", [], "22023", "period is required"),
    # every type (service_type_id NULL) still checks each type's inputs
    ("welfare.accessibility(NULL, 2023, 'neighbourhood', decay => 'cubic')", [], "22023",
     "unknown decay 'cubic'"),
    ("welfare.run_accessibility('ghost', 2023, 'neighbourhood')", [], "23503",
     "unknown service type 'ghost'"),
])
def test_model_bad_requests_are_clear_errors(loaded, sql, params, sqlstate, match):
    with psycopg.connect(f"dbname={loaded}") as c:
        with pytest.raises(psycopg.Error) as err:
            c.execute(f"SELECT * FROM {sql}", params)
    assert err.value.sqlstate == sqlstate, str(err.value)
    assert match in str(err.value)
    clean_error(err)


def test_no_active_facility_is_a_clear_error(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        c.execute("UPDATE welfare.facility SET active_to = 2020 WHERE service_type_id = 'nursery'")
        with pytest.raises(psycopg.Error) as err:
            c.execute("SELECT * FROM welfare.accessibility('nursery', 2023, 'neighbourhood')")
        c.rollback()
    assert "no facility of service type 'nursery' is active in 2023" in str(err.value)
    clean_error(err)


ADD_DAY_CENTRE = [
    # a third service type sharing the target pop_65plus with the rsa (rolled back)
    "INSERT INTO welfare.service_type SELECT (pg_catalog.jsonb_populate_record("
    "NULL::welfare.service_type, pg_catalog.to_jsonb(s) || '{\"service_type_id\": \"day\", "
    "\"max_cost\": 1800, \"cost_unit\": \"m\"}')).* FROM welfare.service_type s "
    "WHERE service_type_id = 'rsa'",
    "INSERT INTO welfare.service_target VALUES ('day', 'pop_65plus', 1.0)",
    "INSERT INTO welfare.facility SELECT (pg_catalog.jsonb_populate_record(NULL::welfare.facility,"
    " pg_catalog.to_jsonb(f) || '{\"facility_id\": \"F4\", \"service_type_id\": \"day\", "
    "\"capacity\": 7}')).* FROM welfare.facility f WHERE facility_id = 'F2'",
]


@pytest.mark.parametrize("level,method", [("neighbourhood", "2sfca"), ("district", "3sfca"),
                                          ("city", "gravity")])
def test_every_type_in_one_call_equals_one_call_per_type(loaded, level, method):
    with psycopg.connect(f"dbname={loaded}") as c:
        for q in ADD_DAY_CENTRE:
            c.execute(q)
        every = model_frame(c, None, 2023, level, method)
        per_type = pd.concat([model_frame(c, st, 2023, level, method)
                              for st in ("day", "nursery", "rsa")], ignore_index=True)
        c.rollback()
    assert sorted(every["service_type_id"].unique()) == ["day", "nursery", "rsa"]
    assert len(every) == len(per_type) > 0
    key = ["service_type_id", "target_id", "zone_id"]
    assert every[key].equals(per_type[key])  # same rows in the same order
    assert_same(every, per_type, key)


def test_every_type_run_is_stored_and_read_per_type_by_bi(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        for q in ADD_DAY_CENTRE:
            c.execute(q)
        older = c.execute("SELECT welfare.run_accessibility('nursery', 2023, "
                          "'neighbourhood')").fetchone()[0]
        every = c.execute("SELECT welfare.run_accessibility(NULL, 2023, "
                          "'neighbourhood')").fetchone()[0]
        params = c.execute("SELECT parameters FROM welfare.run WHERE run_id = %s",
                           [every]).fetchone()[0]
        # pop_65plus is served by the rsa and by the day centre: twice in one run
        stored = pd.DataFrame(c.execute(
            "SELECT zone_id, level, parent_id, municipality_code, period, service_type_id, "
            "target_id, method, demand, access, nearest_cost, share_within, max_cost, "
            "cost_unit, null_reason FROM welfare.accessibility_result WHERE run_id = %s "
            "ORDER BY service_type_id, target_id, zone_id", [every]).fetchall(),
            columns=SQL_COLUMNS)
        bi_before = c.execute("SELECT service_type_id, run_id, count(*) FROM "
                              "welfare_bi.accessibility GROUP BY 1, 2 ORDER BY 1").fetchall()
        newer = c.execute("SELECT welfare.run_accessibility('rsa', 2023, "
                          "'neighbourhood')").fetchone()[0]
        bi_after = c.execute("SELECT service_type_id, run_id, count(*) FROM "
                             "welfare_bi.accessibility GROUP BY 1, 2 ORDER BY 1").fetchall()
        per_type = pd.concat([model_frame(c, st, 2023, "neighbourhood")
                              for st in ("day", "nursery", "rsa")], ignore_index=True)
        c.rollback()
    assert params["service_type_id"] is None
    assert params["service_type_ids"] == ["day", "nursery", "rsa"]
    assert len(stored) == 4 * (1 + 1 + 2)
    assert (stored.groupby(["zone_id", "target_id"]).size().max()) == 2
    assert_same(stored, per_type, ["service_type_id", "target_id", "zone_id"])
    # BI: the latest run per service type, the all-types run covering every type
    assert older not in {r[1] for r in bi_before}
    assert {r[0]: r[1] for r in bi_before} == {"day": every, "nursery": every, "rsa": every}
    assert {r[0]: r[1] for r in bi_after} == {"day": every, "nursery": every, "rsa": newer}
    assert {r[0]: r[2] for r in bi_after} == {"day": 4, "nursery": 4, "rsa": 8}


# --- runs and BI ------------------------------------------------------------------------

def test_run_is_stored_and_logged(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        run_id = c.execute("SELECT welfare.run_accessibility('rsa', 2023, 'neighbourhood', "
                           "max_cost => 2600)").fetchone()[0]
        run = c.execute("SELECT kind, parameters, status, run_by = current_user, duration_ms > 0, "
                        "finished_at >= started_at FROM welfare.run WHERE run_id = %s",
                        [run_id]).fetchone()
        assert run == ("accessibility", {
            "service_type_id": "rsa", "period": 2023, "level": "neighbourhood",
            "method": "2sfca", "max_cost": 2600.0, "decay": None, "decay_param": None,
            "municipality_code": None}, "ok", True, True, True)
        stored = pd.DataFrame(c.execute(
            "SELECT zone_id, level, parent_id, municipality_code, period, service_type_id, "
            "target_id, method, demand, access, nearest_cost, share_within, max_cost, "
            "cost_unit, null_reason FROM welfare.accessibility_result WHERE run_id = %s",
            [run_id]).fetchall(), columns=SQL_COLUMNS)
        c.rollback()
    assert len(stored) == 4 * 2  # 4 neighbourhoods x 2 targets of the rsa
    assert_same_access(stored, zone_accessibility(tc.tables(), "rsa", 2023, "neighbourhood",
                                                  max_cost=2600))


def test_bi_view_latest_run_with_privacy(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        c.execute("UPDATE welfare.demand SET demand = 5 WHERE zone_id = %s "
                  "AND target_id = 'pop_0_2'", [N4])
        c.execute("SELECT welfare.run_accessibility('nursery', 2023, 'neighbourhood')")
        latest = c.execute("SELECT welfare.run_accessibility('nursery', 2023, "
                           "'neighbourhood')").fetchone()[0]
        other = c.execute("SELECT welfare.run_accessibility('nursery', 2023, 'neighbourhood', "
                          "'3sfca')").fetchone()[0]
        rows = c.execute(
            "SELECT zone_id, method, demand, access, share_within, nearest_cost, run_id, lat, "
            "lon, geojson, target_name, service_type_name FROM welfare_bi.accessibility "
            "ORDER BY method, zone_id").fetchall()
        c.rollback()
    by = {(r[0], r[1]): r for r in rows}
    assert {r[6] for r in rows if r[1] == "2sfca"} == {latest}
    assert {r[6] for r in rows if r[1] == "3sfca"} == {other}
    assert by[(N2, "2sfca")][2:5] == (60, pytest.approx(50.0), 1.0)
    assert by[(N4, "2sfca")][2:6] == (None, None, None, None)  # 5 children: hidden
    assert by[(N3, "2sfca")][2:4] == (0, None)
    lat, lon = by[(N1, "2sfca")][7:9]
    assert 45.40 < lat < 45.44 and 9.12 < lon < 9.16
    assert '"MultiPolygon"' in by[(N1, "2sfca")][9]
    assert by[(N1, "2sfca")][10:] == ("Children 0-2", "Nursery")


def test_bi_view_every_column_commented(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        missing = c.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = "
            "'welfare_bi.accessibility'::regclass AND a.attnum > 0 "
            "AND col_description(a.attrelid, a.attnum) IS NULL").fetchall()
        view = c.execute("SELECT obj_description('welfare_bi.accessibility'::regclass)").fetchone()
    assert missing == [] and view[0]


def test_roles_can_run_and_read(loaded):
    with psycopg.connect(f"dbname={loaded}") as c:
        c.execute("SET ROLE welfare_analyst")
        run_id = c.execute("SELECT welfare.run_accessibility('rsa', 2023, 'district')").fetchone()[0]
        assert run_id
        c.execute("RESET ROLE")
        c.execute("SET ROLE welfare_bi_reader")
        n = c.execute("SELECT count(*) FROM welfare_bi.accessibility").fetchone()[0]
        assert n == 2 * 2
        with pytest.raises(psycopg.Error):
            c.execute("SELECT * FROM welfare.accessibility('rsa', 2023, 'district')")
        c.rollback()
