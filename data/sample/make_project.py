"""Write sample_project.qgz: the sample city styled in QGIS (run headless).

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 data/sample/make_project.py
    /usr/bin/python3 data/sample/make_project.py --indicators-only DIR   (sample-check)

Zones by level with graduated 2023 population (joined from the
zone_population_2023 table, so the zone layer keeps the model's columns),
facilities categorised by service type, candidate sites, and the published
2023 neighbourhood indicators of the core (welfare_core.indicators, privacy
rules applied), written first to data/sample/zone_indicators_2023.gpkg with
reproducible bytes. Paths are saved relative to the project file at the
repository top.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PROJ_DATA", "/usr/share/proj")
# The GeoPackage's last_change timestamps, fixed as in generate.py: same bytes every run.
os.environ["OGR_CURRENT_DATE"] = "2023-01-01T00:00:00.000Z"
sys.path.append("/usr/share/qgis/python/plugins")

from qgis.core import (  # noqa: E402
    QgsApplication, QgsCategorizedSymbolRenderer, QgsClassificationQuantile,
    QgsCoordinateReferenceSystem, QgsFillSymbol, QgsGraduatedSymbolRenderer,
    QgsMarkerSymbol, QgsProject, QgsRendererCategory, QgsSettings, QgsStyle, QgsVectorLayer,
    QgsVectorLayerJoinInfo,
)
from qgis.PyQt.QtGui import QColor  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GPKG = HERE / "milan_sample.gpkg"
PROJECT = ROOT / "sample_project.qgz"
INDICATORS = HERE / "zone_indicators_2023.gpkg"
INDICATOR_LAYER = "zone_indicators_neighbourhood"
INDICATOR_LEVEL, INDICATOR_PERIOD = "neighbourhood", 2023
# Indicator maps: (layer name, target, field, ramp inverted?) — red is the bad end.
INDICATOR_MAPS = (
    ("Children 0-2: places per 100 (published)", "pop_0_2", "coverage_per_100", False),
    ("Residents 65+: gap in places (published)", "pop_65plus", "gap", True),
)
sys.path.insert(0, str(ROOT / "qgis_plugin"))  # reuse the plugin's graduate()
sys.path.insert(0, str(HERE))                  # card.load_sample (puts core/ on the path)

ZONE_LEVELS = (  # (label, filter, colour ramp, outline width)
    ("Sections", "\"level\" = 'section'", "Blues", 0.05),
    ("Neighbourhoods", "\"level\" = 'neighbourhood'", "Greens", 0.2),
    ("Districts", "\"level\" = 'district'", "Purples", 0.5),
    ("Comuni (Milan and first ring)", "\"level\" = 'city'", "Oranges", 0.6),
)
# Colours of the facility categories, one per service type (stable across runs).
PALETTE = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a6761d", "#f781bf",
           "#1b9e77", "#666666", "#e6ab02", "#7570b3", "#66a61e", "#d95f02", "#17becf")


def gpkg_layer(layer: str, name: str, subset: str | None = None,
               gpkg: Path = GPKG) -> QgsVectorLayer:
    uri = f"{gpkg}|layername={layer}"
    lyr = QgsVectorLayer(uri, name, "ogr")
    if not lyr.isValid():
        raise SystemExit(f"cannot open layer {layer} of {gpkg}")
    if subset:
        lyr.setSubsetString(subset)
    return lyr


def zone_layer(label, subset, ramp_name, width, population) -> QgsVectorLayer:
    """A zone level, joined to its 2023 population and graduated by it (quantiles)."""
    lyr = gpkg_layer("zone", label, subset)
    join = QgsVectorLayerJoinInfo()
    join.setJoinLayer(population)
    join.setJoinFieldName("zone_id")
    join.setTargetFieldName("zone_id")
    join.setPrefix("pop_")
    join.setUsingMemoryCache(True)
    join.setJoinFieldNamesSubset(["persons_2023"])
    lyr.addJoin(join)
    renderer = QgsGraduatedSymbolRenderer("pop_persons_2023")
    symbol = QgsFillSymbol.createSimple({"outline_color": "#404040",
                                         "outline_width": str(width)})
    renderer.setSourceSymbol(symbol)
    renderer.setClassificationMethod(QgsClassificationQuantile())
    renderer.updateClasses(lyr, 5)
    renderer.updateColorRamp(QgsStyle.defaultStyle().colorRamp(ramp_name))
    lyr.setRenderer(renderer)
    return lyr


def facility_layer() -> QgsVectorLayer:
    lyr = gpkg_layer("facility", "Facilities by service type")
    idx = lyr.fields().indexOf("service_type_id")
    names = {f["service_type_id"]: f["name"]
             for f in gpkg_layer("service_type", "types").getFeatures()}
    cats = []
    for i, value in enumerate(sorted(lyr.uniqueValues(idx))):
        sym = QgsMarkerSymbol.createSimple({"name": "circle", "size": "2.2",
                                            "color": PALETTE[i % len(PALETTE)],
                                            "outline_color": "white"})
        cats.append(QgsRendererCategory(value, sym, names.get(value, value)))
    lyr.setRenderer(QgsCategorizedSymbolRenderer("service_type_id", cats))
    return lyr


def site_layer() -> QgsVectorLayer:
    lyr = gpkg_layer("candidate_site", "Candidate sites")
    lyr.renderer().setSymbol(QgsMarkerSymbol.createSimple(
        {"name": "star", "size": "3", "color": "#ffd700", "outline_color": "black"}))
    return lyr


def published_indicators(directory: Path = HERE):
    """Published 2023 neighbourhood × target rows of the core, sorted, with geometry.

    The core's zone_indicators on the sample tables (published facilities only, as
    every door counts them), then the privacy rules (sensitive targets from the
    target table); only ``published`` rows stay.
    """
    from card import load_sample
    from welfare_core.indicators import TARGET_COLUMNS, zone_indicators
    from welfare_core.privacy import publish_zone_indicators, published_facilities
    tables = load_sample(directory)
    tables["facility"], _ = published_facilities(tables["facility"])
    # One row per zone and period is all the core sums (as the SQL door passes them).
    tables["population"] = (tables["population"].groupby(["zone_id", "period"], as_index=False)
                            ["persons"].sum())
    tables["household"] = (tables["household"].groupby(["zone_id", "period"], as_index=False)
                           [["households", "members"]].sum())
    target = tables["target"]
    sensitive = list(target.loc[target["sensitive"].astype(bool), "target_id"])
    rows, services = zone_indicators(tables, INDICATOR_LEVEL, INDICATOR_PERIOD)
    rows = publish_zone_indicators(rows, level=INDICATOR_LEVEL, sensitive=sensitive,
                                   services=services, service_target=tables["service_target"])
    rows = rows[rows["published"]]
    rows = rows[list(TARGET_COLUMNS)].sort_values(["target_id", "zone_id"], kind="stable")
    geometry = tables["zone"].set_index("zone_id")["geometry"]
    return rows.reset_index(drop=True), geometry


_INT = ("period", "incidence_rank", "coverage_rank")
_TEXT = ("zone_id", "level", "parent_id", "target_id", "unit", "polarity", "null_reason")


def write_indicators(path: Path = INDICATORS, directory: Path = HERE) -> int:
    """Write the published indicators as ``zone_indicators_neighbourhood`` of ``path``."""
    import fiona
    import numpy as np
    import pandas as pd
    from shapely.geometry import MultiPolygon, Polygon
    rows, geometry = published_indicators(directory)
    props = {c: "str" if c in _TEXT else "int" if c in _INT else "float" for c in rows.columns}
    schema = {"geometry": "MultiPolygon", "properties": props}

    def value(v):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        return v.item() if isinstance(v, np.generic) else v

    def multi(g):
        return MultiPolygon([g]) if isinstance(g, Polygon) else g
    records = [{"geometry": multi(geometry[r["zone_id"]]).__geo_interface__,
                "properties": {c: value(r[c]) for c in props}}
               for r in rows.to_dict("records")]
    path.unlink(missing_ok=True)
    with fiona.open(path, "w", driver="GPKG", schema=schema, layer=INDICATOR_LAYER,
                    crs="EPSG:32632") as dst:
        dst.writerecords(records)
    return len(records)


def indicator_layer(name: str, target_id: str, field: str, invert: bool) -> QgsVectorLayer:
    """The published indicators of one target, graduated by ``field`` (red = bad end)."""
    from welfare_intelligence.maps import graduate
    lyr = gpkg_layer(INDICATOR_LAYER, name, f"\"target_id\" = '{target_id}'", gpkg=INDICATORS)
    # Many zones share 0 (no place, no gap): natural breaks keep the classes apart.
    graduate(lyr, field, ramp="RdYlGn", invert=invert, method="jenks")
    return lyr


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--indicators-only", type=Path, metavar="DIR",
                    help="only write DIR/zone_indicators_2023.gpkg from the sample in DIR "
                         "(no QGIS project)")
    args = ap.parse_args(argv)
    if args.indicators_only:
        out = args.indicators_only / INDICATORS.name
        n = write_indicators(out, args.indicators_only)
        print(f"wrote {out} ({n} published rows)")
        return
    n = write_indicators()
    print(f"wrote {INDICATORS} ({n} published rows)")
    # QGIS may switch a GeoPackage to WAL journal mode while it reads it, which
    # rewrites the file header: keep the generated bytes and put them back after.
    originals = {path: path.read_bytes() for path in (GPKG, INDICATORS)}
    try:
        build_project()
    finally:
        for path, original in originals.items():
            path.write_bytes(original)
            for extra in ("-wal", "-shm"):
                Path(f"{path}{extra}").unlink(missing_ok=True)


def build_project() -> None:
    # A throw-away settings profile, so the user's QGIS settings stay untouched,
    # with SQLite WAL off: no journal-mode switch on the committed GeoPackage.
    with tempfile.TemporaryDirectory() as profile:
        app = QgsApplication([], False, profile)
        QgsSettings().setValue("qgis/walForSqlite3", False)
        app.initQgis()
        write_project()
        app.exitQgis()


def write_project() -> None:
    project = QgsProject.instance()
    project.clear()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:32632"))
    project.setTitle("Welfare Intelligence - sample city (Milan)")
    project.writeEntryBool("Paths", "/Absolute", False)
    root = project.layerTreeRoot()

    tables = root.addGroup("Tables")
    population = gpkg_layer("zone_population_2023", "zone_population_2023")
    project.addMapLayer(population, False)
    tables.addLayer(population)
    for name in ("service_type", "target", "source"):
        lyr = gpkg_layer(name, name)
        project.addMapLayer(lyr, False)
        tables.addLayer(lyr)

    services = root.insertGroup(0, "Services")
    for lyr in (facility_layer(), site_layer()):
        project.addMapLayer(lyr, False)
        services.addLayer(lyr)
    zones = root.insertGroup(1, "Zones (residents 1 Jan 2023)")
    for args in reversed(ZONE_LEVELS):
        lyr = zone_layer(*args, population)
        project.addMapLayer(lyr, False)
        zones.insertLayer(0, lyr)
        # Show neighbourhoods over the comuni; sections and districts on demand.
        if args[0] in ("Sections", "Districts"):
            zones.findLayer(lyr.id()).setItemVisibilityChecked(False)
    indicators = root.insertGroup(1, "Indicators 2023 (published)")
    for i, args in enumerate(INDICATOR_MAPS):
        lyr = indicator_layer(*args)
        project.addMapLayer(lyr, False)
        indicators.addLayer(lyr)
        if i:  # one indicator map at a time
            indicators.findLayer(lyr.id()).setItemVisibilityChecked(False)
    if not project.write(str(PROJECT)):
        raise SystemExit(f"could not write {PROJECT}: {project.error()}")
    print(f"wrote {PROJECT}")


if __name__ == "__main__":
    main()
