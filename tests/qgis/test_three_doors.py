"""Three doors, one core: the WHOLE sample city gives the same zone indicators through
(a) welfare_core called directly on tables read from the files,
(b) SQL welfare.zone_indicators / welfare.zone_service_indicators in a fresh database
    loaded with the import CLI (db_extension/welfare_import.py),
(c) QGIS processing.run("welfare:zone_indicators", VALUES=raw) on the same files;
SQL and QGIS by default, so (a) is given the published facilities only.

Raw values, 2023, at section and neighbourhood level; every column compared,
numbers with relative tolerance 1e-9, NULL equal to NULL.

Needs PostgreSQL with the installed extension (``make test`` provides both:
``make install``, then ``make test-qgis`` runs this file).  The sample files are
copied to a temporary folder first, so a regeneration of data/sample running
meanwhile cannot mix two versions.  Timings of each door are printed (-s) and
recorded as junit properties.
"""
import gzip
import shutil
import time

import pandas as pd
import pytest

from qgis_door import ROOT

SAMPLE = ROOT / "data" / "sample"
FILES = ("milan_sample.gpkg", "population.csv.gz", "household.csv.gz", "demand.csv.gz")
GPKG_TABLES = ("zone", "facility", "target", "service_type", "service_target")
CSV_TABLES = ("population", "household", "demand")
KEYS = {"zone": "ZONES", "facility": "FACILITIES", "target": "TARGETS",
        "service_type": "SERVICE_TYPES", "service_target": "SERVICE_TARGETS",
        "population": "POPULATION", "household": "HOUSEHOLDS", "demand": "DEMAND"}
LEVELS = ("section", "neighbourhood", "district", "city")  # welfare_core.model.ZONE_LEVELS
PERIOD = 2023
RAW = 1
TIMINGS = {}


def assert_same(door, core, keys, what, rel=1e-9):
    """Row for row, every column of the core frame (``door`` columns by position)."""
    door = door.set_axis(list(core.columns), axis=1)
    a = door.sort_values(keys).reset_index(drop=True)
    b = core.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b) > 0, what
    bad = []
    for c in core.columns:
        for i, (x, y) in enumerate(zip(a[c], b[c])):
            null_x = x is None or (not isinstance(x, str) and pd.isna(x))
            null_y = y is None or (not isinstance(y, str) and pd.isna(y))
            if null_x or null_y:
                ok = null_x and null_y
            elif isinstance(y, str):
                ok = x == y
            else:
                ok = float(x) == pytest.approx(float(y), rel=rel, abs=1e-12)
            if not ok:
                bad.append((c, tuple(b.loc[i, keys]), x, y))
    assert not bad, f"{what}: {len(bad)} value(s) differ, e.g. {bad[:5]}"


# --- the files, once -----------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    """A consistent copy of data/sample (retried if the files change while copying)."""
    folder = tmp_path_factory.mktemp("sample_copy")
    for _ in range(10):
        before = [(SAMPLE / f).stat().st_mtime_ns for f in FILES]
        for f in FILES:
            shutil.copy2(SAMPLE / f, folder / f)
        if [(SAMPLE / f).stat().st_mtime_ns for f in FILES] == before:
            return folder
        time.sleep(5)
    pytest.fail("data/sample kept changing while it was copied; rerun when it is regenerated")


@pytest.fixture(scope="module")
def core_tables(sample_dir):
    """(a) the canonical tables read from the files with fiona and pandas."""
    import fiona
    from shapely.geometry import shape
    from welfare_core.model import TABLES
    tables = {}
    for name in GPKG_TABLES:
        spec = TABLES[name]
        with fiona.open(sample_dir / "milan_sample.gpkg", layer=name) as src:
            feats = list(src)
        frame = pd.DataFrame([dict(f["properties"]) for f in feats])
        if spec.geometry_type:
            frame["geometry"] = [shape(f["geometry"]) for f in feats]
        tables[name] = frame
    # every door counts published facilities only by default (README, issue #9): the
    # sample's confidential shelters (published false) are left out here by hand
    fac = tables["facility"]
    assert (~fac["published"].astype(bool)).sum() > 0  # the sample has some: the check can fail
    tables["facility"] = fac[fac["published"].astype(bool)].reset_index(drop=True)
    text = {c: str for c in ("zone_id", "target_id", "household_type_id", "sex", "source_id")}
    for name in CSV_TABLES:
        tables[name] = pd.read_csv(sample_dir / f"{name}.csv.gz", dtype=text,
                                   float_precision="round_trip")
    assert len(tables["population"]) > 800_000  # the whole city, not a cut
    return tables


@pytest.fixture(scope="module")
def database(sample_dir):
    """(b) a fresh database loaded with the import CLI, once for the module."""
    from sql.wi_sql import fresh_database, run_cli
    with fresh_database("wi_three_doors") as name:
        t0 = time.perf_counter()
        done = run_cli(name, *(sample_dir / f for f in FILES))
        TIMINGS["sql import"] = time.perf_counter() - t0
        assert done.returncode == 0, done.stdout + done.stderr
        yield name


CSVT = {"text": '"String"', "int": '"Integer64"', "float": '"Real"', "bool": '"Integer"',
        "date": '"Date"'}


@pytest.fixture(scope="module")
def qgis_layers(welfare_plugin, sample_dir):
    """(c) parameter key -> layer uri: GeoPackage layers; the CSVs decompressed, with
    a .csvt beside each so OGR reads the model's types (zone ids stay text)."""
    from welfare_core.model import TABLES
    layers = {KEYS[n]: f"{sample_dir / 'milan_sample.gpkg'}|layername={n}" for n in GPKG_TABLES}
    for name in CSV_TABLES:
        csv = sample_dir / f"{name}.csv"
        with gzip.open(sample_dir / f"{name}.csv.gz", "rb") as src, open(csv, "wb") as dst:
            shutil.copyfileobj(src, dst)
        header = csv.open(encoding="utf-8").readline().strip().split(",")
        kinds = {c.name: c.kind for c in TABLES[name].columns}
        (sample_dir / f"{name}.csvt").write_text(
            ",".join(CSVT[kinds.get(c, "text")] for c in header) + "\n")
        layers[KEYS[name]] = str(csv)
    return layers


def qgis_run(layers, level):
    import processing
    from qgis.PyQt.QtCore import QVariant
    t0 = time.perf_counter()
    out = processing.run("welfare:zone_indicators", {
        **layers, "LEVEL": LEVELS.index(level), "PERIOD": PERIOD, "VALUES": RAW,
        "OUTPUT": "memory:", "OUTPUT_SERVICES": "memory:"})
    TIMINGS[f"qgis {level}"] = time.perf_counter() - t0
    frames = []
    for key in ("OUTPUT", "OUTPUT_SERVICES"):
        layer = out[key]
        rows = [[None if isinstance(v, QVariant) else v for v in f.attributes()]
                for f in layer.getFeatures()]
        frames.append(pd.DataFrame(rows, columns=layer.fields().names()))
    return frames


def sql_run(dbname, level):
    import psycopg
    t0 = time.perf_counter()
    with psycopg.connect(f"dbname={dbname}") as c:  # a new connection: cold, as a user's
        t = c.execute("SELECT * FROM welfare.zone_indicators(%s, %s)", [level, PERIOD])
        targets = pd.DataFrame(t.fetchall(), columns=[d.name for d in t.description])
        s = c.execute("SELECT * FROM welfare.zone_service_indicators(%s, %s)", [level, PERIOD])
        services = pd.DataFrame(s.fetchall(), columns=[d.name for d in s.description])
    TIMINGS[f"sql {level}"] = time.perf_counter() - t0
    return targets, services


@pytest.mark.parametrize("level", ["section", "neighbourhood"])
def test_three_doors_give_the_same_indicators(core_tables, database, qgis_layers, level,
                                              record_property):
    from welfare_core.indicators import zone_indicators
    t0 = time.perf_counter()
    # SQL's service rows and QGIS's (ACCESSIBILITY on by default) carry the accessibility
    core_t, core_s = zone_indicators(core_tables, level, PERIOD, accessibility=True)
    TIMINGS[f"core {level}"] = time.perf_counter() - t0
    zones = core_tables["zone"]
    n_zones = int((zones.level == level).sum())
    assert len(core_t) == n_zones * len(core_tables["target"]) > 0
    assert len(core_s) == n_zones * len(core_tables["service_type"])
    assert core_t["demand"].sum() > 0 and core_s["supply"].sum() > 0

    sql_t, sql_s = sql_run(database, level)
    assert_same(sql_t, core_t, ["target_id", "zone_id"], f"SQL targets {level}")
    assert_same(sql_s, core_s, ["service_type_id", "zone_id"], f"SQL services {level}")

    qgis_t, qgis_s = qgis_run(qgis_layers, level)
    assert list(qgis_t.columns) == list(core_t.columns)
    assert list(qgis_s.columns) == list(core_s.columns)
    assert_same(qgis_t, core_t, ["target_id", "zone_id"], f"QGIS targets {level}")
    assert_same(qgis_s, core_s, ["service_type_id", "zone_id"], f"QGIS services {level}")

    for door in ("core", "sql", "qgis"):
        record_property(f"{door}_{level}_seconds", round(TIMINGS[f"{door} {level}"], 2))
    print(f"\n{level}: " + ", ".join(f"{k} {v:.1f} s" for k, v in TIMINGS.items()))
