"""welfare:validate_data through processing.run, on the tiny city in GeoPackages.

The cross-door check: the QGIS door reports exactly the fixture's
KNOWN_PROBLEMS, row for row the same as the core called directly.
"""
import pytest

from fixtures import tiny_city as tc

ALG = "welfare:validate_data"
COLUMNS = ["dataset", "row_key", "field", "code", "message"]


def run(params, feedback=None):
    import processing
    return processing.run(ALG, {**params, "OUTPUT": "memory:"}, feedback=feedback)["OUTPUT"]


def rows(layer):
    return [tuple(f[c] for c in COLUMNS) for f in layer.getFeatures()]


def triples(layer):
    return sorted((d, k, c) for d, k, _, c, _ in rows(layer))


def to_wgs84(tables):
    """The same tables with geometry in EPSG:4326 (longitude, latitude)."""
    from pyproj import Transformer
    from shapely.ops import transform
    project = Transformer.from_crs(tc.CRS, "EPSG:4326", always_xy=True).transform
    out = {}
    for name, frame in tables.items():
        frame = frame.copy()
        if "geometry" in frame:
            frame["geometry"] = [transform(project, g) for g in frame["geometry"]]
        out[name] = frame
    return out


def test_provider_and_core_come_from_the_zip(welfare_plugin, plugin_dir):
    import welfare_core
    import welfare_intelligence
    from qgis.core import QgsApplication
    from qgis_door import core_version
    provider = QgsApplication.processingRegistry().providerById("welfare")
    assert provider is not None and provider.name() == "Welfare Intelligence"
    assert ALG in [a.id() for a in provider.algorithms()]
    assert welfare_intelligence.__file__.startswith(str(plugin_dir))
    assert welfare_core.__file__.startswith(str(plugin_dir / "welfare_intelligence" / "ext"))
    assert provider.versionInfo() == welfare_core.__version__ == core_version()


def test_planted_problems_are_the_core_list(welfare_plugin, bad_city):
    from welfare_core.validation import validate
    out = run(bad_city)
    assert out.fields().names() == COLUMNS
    assert triples(out) == tc.KNOWN_PROBLEMS
    core = validate(tc.tables_with_problems(), crs=tc.CRS)
    assert rows(out) == list(core[COLUMNS].itertuples(index=False, name=None))


def test_clean_city_gives_an_empty_table(welfare_plugin, clean_city):
    out = run(clean_city)
    assert out.fields().names() == COLUMNS
    assert rows(out) == []


def test_missing_column_is_a_row_like_in_the_core(welfare_plugin, write_gpkg):
    zone = tc.tables()["zone"].drop(columns=["level"])
    out = run(write_gpkg({"zone": zone}, "no_level"))
    assert triples(out) == [("zone", "*", "missing_column")]


def test_geographic_layers_are_reported_as_the_core_does(welfare_plugin, write_gpkg):
    t = to_wgs84(tc.tables())
    out = run(write_gpkg({"zone": t["zone"], "facility": t["facility"]}, "wgs84", 4326))
    assert triples(out) == [("facility", "*", "geographic_crs"), ("zone", "*", "geographic_crs")]


@pytest.mark.parametrize("driver", ["FlatGeobuf", "GPKG"])
def test_missing_crs_is_reported_as_the_core_does(welfare_plugin, write_gpkg, driver):
    # FlatGeobuf: no CRS at all; GeoPackage: the "Undefined geographic SRS" GDAL writes.
    t = tc.tables()
    out = run(write_gpkg({"zone": t["zone"], "facility": t["facility"]}, f"no_crs_{driver}",
                         None, driver))
    assert triples(out) == [("facility", "*", "missing_crs"), ("zone", "*", "missing_crs")]


def test_layer_without_crs_cannot_be_reprojected(welfare_plugin, write_gpkg):
    from qgis.core import QgsProcessingException
    t = tc.tables()
    params = write_gpkg({"zone": t["zone"]}, "no_crs_target", None, "FlatGeobuf")
    with pytest.raises(QgsProcessingException, match="no coordinate reference system"):
        run({**params, "TARGET_CRS": "EPSG:32632"})


def test_target_crs_reprojects_geographic_layers(welfare_plugin, write_gpkg):
    params = write_gpkg(to_wgs84(tc.tables()), "wgs84_all", 4326)
    assert rows(run({**params, "TARGET_CRS": "EPSG:32632"})) == []
    bad = write_gpkg(to_wgs84(tc.tables_with_problems()), "wgs84_bad", 4326)
    assert triples(run({**bad, "TARGET_CRS": "EPSG:32632"})) == tc.KNOWN_PROBLEMS


def test_secondary_layer_is_reprojected_to_the_zones_crs(welfare_plugin, write_gpkg):
    t = tc.tables()
    zones = write_gpkg({"zone": t["zone"]}, "zones_utm")
    facilities = write_gpkg({"facility": to_wgs84(t)["facility"]}, "facilities_wgs84", 4326)
    assert rows(run({**zones, **facilities})) == []


def test_geographic_target_crs_is_refused(welfare_plugin, clean_city):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="geographic"):
        run({**clean_city, "TARGET_CRS": "EPSG:4326"})


def test_layer_of_the_wrong_geometry_type_is_refused(welfare_plugin, clean_city):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="ZONES"):
        run({"ZONES": clean_city["FACILITIES"]})


def test_nothing_to_check_is_a_clear_error(welfare_plugin):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="no layer or table"):
        run({})


def test_cancel_stops_the_run(welfare_plugin, clean_city):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback
    feedback = QgsProcessingFeedback()
    feedback.cancel()
    with pytest.raises(QgsProcessingException, match="cancelled"):
        run(clean_city, feedback)
