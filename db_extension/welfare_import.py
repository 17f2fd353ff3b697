#!/usr/bin/python3
"""Load GeoPackage layers and CSV files into the welfare tables, all or nothing.

    /usr/bin/python3 db_extension/welfare_import.py --db DBNAME data.gpkg population.csv.gz ...

A GeoPackage layer or a CSV file is a dataset when its name is a table of the
data model (welfare_core.model.TABLES): layer `zone`, file `population.csv.gz`.
Other layers are listed and skipped. Each dataset is copied (COPY) into a
temporary staging table, geometry as EWKB carrying the SRID of the file's CRS,
then welfare.import_datasets validates them together and upserts them in load
order. Everything happens in one transaction: if any row has a problem the
report is printed, nothing is written, and the exit code is 1.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PROJ_DATA", "/usr/share/proj")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from welfare_core import model  # noqa: E402

CHUNK = 1 << 20


def dataset_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def find_datasets(paths: list[Path]) -> dict[str, tuple[str, Path, str | None]]:
    """dataset -> (kind, path, layer)."""
    found: dict[str, tuple[str, Path, str | None]] = {}

    def add(name, entry):
        if name in found:
            raise SystemExit(f"dataset {name} is given twice ({found[name][1]} and {entry[1]}); "
                             "give it once")
        found[name] = entry

    for path in paths:
        if not path.exists():
            raise SystemExit(f"{path}: no such file")
        if path.suffix.lower() == ".gpkg":
            import fiona
            for layer in fiona.listlayers(str(path)):
                if layer in model.TABLES:
                    add(layer, ("gpkg", path, layer))
                else:
                    print(f"skipping layer {layer} of {path.name}: not a dataset", file=sys.stderr)
        elif path.name.endswith((".csv", ".csv.gz")):
            name = dataset_name(path)
            if name not in model.TABLES:
                raise SystemExit(f"{path}: {name} is not a dataset; name the file after one of "
                                 f"{', '.join(model.LOAD_ORDER)}")
            add(name, ("csv", path, None))
        else:
            raise SystemExit(f"{path}: give a .gpkg, .csv or .csv.gz file")
    return found


def open_text(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def stage_csv(cur, table: sql.Identifier, path: Path) -> int:
    with open_text(path) as f:
        header = next(csv.reader([f.readline().decode("utf-8-sig")]))
    cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in header)
    cur.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(table, cols))
    with open_text(path) as f, cur.copy(sql.SQL(
            "COPY {} FROM STDIN WITH (FORMAT csv, HEADER true)").format(table)) as copy:
        while data := f.read(CHUNK):
            copy.write(data)
    return cur.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()[0]


def as_text(value, kind: str):
    """Text for COPY; None for NULL. Whole floats in integer columns lose their '.0'."""
    if value is None:
        return None
    if isinstance(value, float) or hasattr(value, "dtype"):
        value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float):
        if math.isnan(value):
            return None if kind != "float" else "NaN"
        if kind == "int" and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stage_gpkg(cur, table: sql.Identifier, path: Path, layer: str, name: str) -> int:
    import geopandas as gpd
    from shapely import wkb
    spec = model.TABLES[name]
    frame = gpd.read_file(path, layer=layer)
    srid = 0
    if spec.geometry_type:
        crs = frame.crs
        # no guessing: an 'Undefined' CRS stays SRID 0 and the server refuses it
        srid = (crs.to_epsg() or 0) if crs is not None else 0
    columns = [c for c in frame.columns if c != "geometry"]
    kinds = [spec.column(c).kind if c in spec.column_names else "text" for c in columns]
    defs = [sql.SQL("{} text").format(sql.Identifier(c)) for c in columns]
    if spec.geometry_type:
        defs.append(sql.SQL("geom public.geometry"))
    cur.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
        table, sql.SQL(", ").join(defs)))
    names = sql.SQL(", ").join([sql.Identifier(c) for c in columns]
                               + ([sql.Identifier("geom")] if spec.geometry_type else []))
    geoms = frame.geometry if spec.geometry_type else None
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(table, names)) as copy:
        for i, row in enumerate(frame[columns].itertuples(index=False, name=None)):
            out = [as_text(v, k) for v, k in zip(row, kinds)]
            if spec.geometry_type:
                g = geoms.iloc[i]
                out.append(None if g is None else wkb.dumps(g, hex=True, srid=srid))
            copy.write_row(out)
    return len(frame)


def run(conninfo: str, paths: list[Path], source_id: str | None) -> int:
    datasets = find_datasets(paths)
    order = [n for n in model.LOAD_ORDER if n in datasets]
    if not order:
        raise SystemExit("no dataset found in the files given")
    t0 = time.perf_counter()
    with psycopg.connect(conninfo) as conn:
        cur = conn.cursor()
        counts = {}
        for name in order:
            kind, path, layer = datasets[name]
            table = sql.Identifier(f"wi_stage_{name}")
            if kind == "csv":
                counts[name] = stage_csv(cur, table, path)
            else:
                counts[name] = stage_gpkg(cur, table, path, layer, name)
        t_staged = time.perf_counter()
        problems = cur.execute(
            "SELECT * FROM welfare.import_datasets(%s::text[], %s::regclass[], %s)",
            [order, [f"pg_temp.wi_stage_{n}" for n in order], source_id]).fetchall()
        if problems:
            conn.rollback()
            print(f"{len(problems)} problem(s); nothing was loaded:")
            print("dataset\trow_key\tfield\tcode\tmessage")
            for p in problems:
                print("\t".join(p))
            return 1
        conn.commit()
    t_end = time.perf_counter()
    for name in order:
        print(f"{name}: {counts[name]} rows")
    print(f"loaded {len(order)} dataset(s), {sum(counts.values())} rows in "
          f"{t_end - t0:.1f} s (copy {t_staged - t0:.1f} s, validate and write "
          f"{t_end - t_staged:.1f} s)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True,
                    help="database name or libpq connection string")
    ap.add_argument("--source-id", help="source_id for rows that have none")
    ap.add_argument("files", nargs="+", type=Path)
    a = ap.parse_args(argv)
    conninfo = a.db if ("=" in a.db or "://" in a.db) else f"dbname={a.db}"
    return run(conninfo, a.files, a.source_id)


if __name__ == "__main__":
    sys.exit(main())
