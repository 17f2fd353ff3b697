"""Helpers of the SQL tests: fresh databases, staging, the import CLI.

Needs `make install` (core in /usr/local/lib/welfare_intelligence/<version>,
extension files in the server's share directory) and a running server that the
current OS user reaches as a superuser over the socket.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
IMPORT_CLI = ROOT / "db_extension" / "welfare_import.py"
SYSTEM_PY = "/usr/bin/python3"


def admin_conn():
    return psycopg.connect("dbname=postgres", autocommit=True)


@contextmanager
def fresh_database(prefix="wi_test", version=None, options=""):
    """A new database with the extension (at `version`, default the current one)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with admin_conn() as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(f"dbname={name}", autocommit=True, options=options) as c:
            c.execute(sql.SQL("CREATE EXTENSION welfare_intelligence {} CASCADE").format(
                sql.SQL("VERSION {}").format(sql.Literal(version)) if version else sql.SQL("")))
        yield name
    finally:
        with admin_conn() as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def sql_type(kind):
    return {"text": "text", "int": "integer", "float": "double precision", "bool": "boolean",
            "date": "date", "geometry": "public.geometry"}[kind]


def stage(conn, name, frame, srid=32632, table=None, types=None):
    """Copy a fixture DataFrame into a TEMP table named like the dataset; return its name.

    Columns keep the model's types (text when the model does not know the
    column); `geometry` (shapely) becomes `geom` with `srid`.
    """
    from shapely import wkb
    from welfare_core import model
    spec = model.TABLES[name]
    table = table or f"stage_{name}"
    types = dict(types or {})
    cols, defs = [], []
    for c in frame.columns:
        kind = spec.column(c).kind if c in spec.column_names else "text"
        target = "geom" if c == "geometry" else c
        cols.append((c, target))
        defs.append(sql.SQL("{} {}").format(sql.Identifier(target),
                                            sql.SQL(types.get(c, sql_type(kind)))))
    conn.execute(sql.SQL("CREATE TEMP TABLE {} ({})").format(
        sql.Identifier(table), sql.SQL(", ").join(defs)))
    names = sql.SQL(", ").join(sql.Identifier(t) for _, t in cols)
    with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), names)) as copy:
        for row in frame.itertuples(index=False, name=None):
            out = []
            for (c, _), v in zip(cols, row):
                if c == "geometry":
                    out.append(None if v is None else wkb.dumps(v, hex=True, srid=srid))
                elif v is None or (isinstance(v, float) and v != v and c not in (
                        "capacity", "persons", "share", "demand", "households", "members",
                        "opening_cost", "max_capacity", "prevalence", "max_cost", "cost",
                        "standard_per_100", "decay_param")):
                    out.append(None)
                elif hasattr(v, "item"):
                    out.append(v.item())
                else:
                    out.append(v)
            copy.write_row(out)
    return table


def import_all(conn, tables, srid=32632, source_id=None):
    """Stage every dataset and call welfare.import_datasets; return the problem rows."""
    from welfare_core import model
    order = [n for n in model.LOAD_ORDER if n in tables]
    staged = [stage(conn, n, tables[n], srid) for n in order]
    return conn.execute("SELECT * FROM welfare.import_datasets(%s::text[], %s::regclass[], %s)",
                        [order, staged, source_id]).fetchall()


def run_cli(dbname, *files, check=False):
    env = dict(os.environ, PROJ_DATA="/usr/share/proj")
    return subprocess.run([SYSTEM_PY, str(IMPORT_CLI), "--db", dbname, *map(str, files)],
                          capture_output=True, text=True, env=env, check=check)


def write_files(tables, folder: Path, crs="EPSG:32632", gpkg_name="city.gpkg"):
    """Geometry datasets as layers of one GeoPackage, the others as CSV(.gz)."""
    import geopandas as gpd
    from welfare_core import model
    files = []
    gpkg = folder / gpkg_name
    for name, frame in tables.items():
        if model.TABLES[name].geometry_type:
            gdf = gpd.GeoDataFrame(frame.copy(), geometry="geometry", crs=crs)
            gdf.to_file(gpkg, layer=name, driver="GPKG")
        else:
            path = folder / (f"{name}.csv.gz" if name == "population" else f"{name}.csv")
            frame.to_csv(path, index=False)
            files.append(path)
    if gpkg.exists():
        files.insert(0, gpkg)
    return files


def table_contents(conn):
    """Every row of every welfare data table, as sorted text (geometry as EWKT)."""
    from welfare_core import model
    out = {}
    for name in model.LOAD_ORDER:
        rows = conn.execute(sql.SQL(
            "SELECT to_jsonb(t) - 'geom' || jsonb_build_object('geom', public.ST_AsEWKT(t.geom))"
            " FROM welfare.{} t" if model.TABLES[name].geometry_type else
            "SELECT to_jsonb(t) FROM welfare.{} t").format(sql.Identifier(name))).fetchall()
        out[name] = sorted(str(r[0]) for r in rows)
    return out


def frame(conn, query, params, columns):
    """Rows of a query as a DataFrame with the given column names."""
    import pandas as pd
    return pd.DataFrame(conn.execute(query, params).fetchall(), columns=list(columns))


def assert_same(sql_frame, core_frame, keys, *, rel=1e-12, abs_tol=1e-12):
    """Every column of the core's frame equals the SQL rows (NULL where the core has NaN)."""
    import pandas as pd
    import pytest
    a = sql_frame.sort_values(keys).reset_index(drop=True)
    b = core_frame.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b) > 0
    for col in core_frame.columns:
        for x, y in zip(a[col], b[col]):
            if y is None or (not isinstance(y, str) and pd.isna(y)):
                assert x is None or pd.isna(x), (col, x, y)  # NULL (pandas shows it as NaN)
            elif isinstance(y, str):
                assert x == y, (col, x, y)
            else:
                assert x == pytest.approx(float(y), rel=rel, abs=abs_tol), (col, x, y)


def as_role(conn, role):
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))


def denied(conn, query, params=None, state="42501"):
    """The statement fails with `state` (one SQLSTATE or several); the transaction goes on
    after a savepoint."""
    import pytest
    with pytest.raises(psycopg.Error) as err:
        with conn.transaction():
            conn.execute(query, params)
    states = (state,) if isinstance(state, str) else state
    assert err.value.sqlstate in states, (query, err.value.sqlstate, str(err.value))
    return err.value
