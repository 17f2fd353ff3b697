"""welfare:zone_indicators through processing.run, on the tiny city in GeoPackages.

Hand-worked values (tiny city, 2023; see tests/fixtures/tiny_city.py and the
docstring of tests/core/test_indicators.py), re-derived here:
  65+        N1 300, N2 100, N3 0, N4 200; residents N1 1340, N2 1160, N3 1000, N4 1220
  0-2        N1 40,  N2 60,  N3 0, N4 20
  rsa beds   F1 12 in N1, F2 4 in N4; standard 2.82 per 100 65+; shares 65+ .75, alone 65+ .25
  nursery    F3 30 places in N2; standard 33 per 100 children 0-2
so, per neighbourhood (N1, N2, N3, N4):
  rsa coverage    12/300, 0/100, NULL (no 65+), 4/200  × 100 = 4, 0, NULL, 2
  rsa gap         max(0, .0282 × [300, 100, 0, 200] − [12, 0, 0, 4]) = 0, 2.82, 0, 1.64
  nursery gap     max(0, .33 × [40, 60, 0, 20] − [0, 30, 0, 0]) = 13.2, 0, 0, 6.6
  65+ supply      .75 × [12, 0, 0, 4] = 9, 0, 0, 3; coverage 9/300, 0/100, NULL, 3/200 = 3, 0, -, 1.5
  65+ gap         .75 × .0282 × 200 = 4.23 required in N4, minus 3 = 1.23; N2 2.115 − 0
  alone 65+       households N1 120, N2 30 and none in N3, N4: incidence 100, 100, NULL, NULL
"""
import math

import pandas as pd
import pytest

from fixtures import tiny_city as tc

ALG = "welfare:zone_indicators"
LEVELS = ("section", "neighbourhood", "district", "city")  # welfare_core.model.ZONE_LEVELS
PUBLISHED, RAW = 0, 1
N = ["015146-N1", "015146-N2", "015146-N3", "015146-N4"]
NAN = float("nan")
INPUTS = ("ZONES", "DEMAND", "POPULATION", "HOUSEHOLDS", "FACILITIES", "TARGETS",
          "SERVICE_TYPES", "SERVICE_TARGETS")
CATALOGUE = ("TARGETS", "SERVICE_TYPES", "SERVICE_TARGETS")


def run(layers, level="neighbourhood", period=2023, values=RAW, **extra):
    """(targets, services) layers of one run; ``layers`` holds parameter key -> uri."""
    import processing
    params = {k: v for k, v in layers.items() if k in INPUTS}
    params.update(LEVEL=LEVELS.index(level), PERIOD=period, VALUES=values,
                  OUTPUT="memory:", OUTPUT_SERVICES="memory:", **extra)
    out = processing.run(ALG, params)
    return out["OUTPUT"], out["OUTPUT_SERVICES"]


def frame(layer):
    """Attributes of a result layer as a DataFrame (NULL -> None)."""
    from qgis.PyQt.QtCore import QVariant
    names = layer.fields().names()
    rows = [[None if isinstance(v, QVariant) else v for v in f.attributes()]
            for f in layer.getFeatures()]
    return pd.DataFrame(rows, columns=names)


def col(frame, key, subject, column):
    rows = frame[frame[key] == subject].set_index("zone_id")
    return [rows.loc[z, column] for z in sorted(rows.index)]


def close(actual, expected, tol=1e-9):
    assert len(actual) == len(expected), (actual, expected)
    for a, e in zip(actual, expected):
        if isinstance(e, float) and math.isnan(e):
            assert a is None or pd.isna(a), (actual, expected)
        else:
            assert a is not None and a == pytest.approx(e, abs=tol), (actual, expected)


def is_null(v):
    return v is None or (not isinstance(v, str) and pd.isna(v))


def assert_same(qgis, core, keys, rel=1e-9, abs_tol=1e-12):
    """Row for row, every core column: NULL equals NULL, numbers to ``rel``."""
    assert list(qgis.columns) == list(core.columns)
    a = qgis.sort_values(keys).reset_index(drop=True)
    b = core.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b) > 0
    for c in core.columns:
        for i, (x, y) in enumerate(zip(a[c], b[c])):
            if is_null(y):
                assert is_null(x), (c, i, x, y)
            elif isinstance(y, str):
                assert x == y, (c, i, x, y)
            else:
                assert not is_null(x) and x == pytest.approx(float(y), rel=rel, abs=abs_tol), \
                    (c, i, x, y)


def errors_of(layers, **kw):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException) as e:
        run(layers, **kw)
    return str(e.value)


# --- raw values: hand-worked, and the core row for row ----------------------------

def test_registered_in_the_indicators_group(welfare_plugin):
    from qgis.core import QgsApplication
    alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    assert alg is not None and alg.groupId() == "indicators"
    assert alg.displayName() == "Zone indicators"
    assert [o.name() for o in alg.outputDefinitions()] == [
        "OUTPUT", "OUTPUT_SERVICES", "PUBLICATION"]
    level = alg.parameterDefinition("LEVEL")
    assert list(level.options()) == list(LEVELS) and level.defaultValue() == 1
    assert alg.parameterDefinition("VALUES").defaultValue() == PUBLISHED
    assert alg.parameterDefinition("PERIOD").defaultValue() == 2023
    for key in CATALOGUE + ("HOUSEHOLDS", "TARGET_IDS", "TARGET_CRS"):
        assert alg.parameterDefinition(key).flags() & alg.parameterDefinition(key).FlagOptional


def test_raw_values_are_the_hand_worked_ones(welfare_plugin, clean_city):
    from welfare_core.indicators import SERVICE_COLUMNS, TARGET_COLUMNS
    t_layer, s_layer = run(clean_city)
    t, s = frame(t_layer), frame(s_layer)
    assert list(t.columns) == list(TARGET_COLUMNS) and list(s.columns) == list(SERVICE_COLUMNS)
    assert len(t) == 4 * 3 and len(s) == 4 * 2  # 4 neighbourhoods x 3 targets / 2 types
    close(col(s, "service_type_id", "rsa", "coverage_per_100"), [4.0, 0.0, NAN, 2.0])
    close(col(s, "service_type_id", "rsa", "gap"), [0.0, 2.82, 0.0, 1.64])
    close(col(s, "service_type_id", "rsa", "facilities"), [1, 0, 0, 1])
    close(col(s, "service_type_id", "rsa", "gap_rank"), [1, 4, 1, 3])  # ties share rank 1
    close(col(s, "service_type_id", "nursery", "gap"), [13.2, 0.0, 0.0, 6.6])
    close(col(t, "target_id", "pop_65plus", "supply"), [9, 0, 0, 3])
    close(col(t, "target_id", "pop_65plus", "coverage_per_100"), [3.0, 0.0, NAN, 1.5])
    close(col(t, "target_id", "pop_65plus", "gap"), [0.0, 2.115, 0.0, 1.23])
    close(col(t, "target_id", "pop_65plus", "incidence_per_100"),
          [30000 / 1340, 10000 / 1160, 0.0, 20000 / 1220])
    close(col(t, "target_id", "alone_65plus", "incidence_per_100"), [100.0, 100.0, NAN, NAN])
    assert col(s, "service_type_id", "rsa", "null_reason")[2] == \
        "no reference population in the zone"
    # ranks are integer fields, NULL where the value is NULL
    assert t_layer.fields().field("coverage_rank").typeName().lower().startswith("int")
    close(col(s, "service_type_id", "rsa", "coverage_rank"), [3, 1, NAN, 2])


@pytest.mark.parametrize("level", ["neighbourhood", "district", "city"])
def test_equals_the_core_row_for_row(welfare_plugin, clean_city, level):
    from welfare_core.indicators import zone_indicators
    t_layer, s_layer = run(clean_city, level)
    core_t, core_s = zone_indicators(tc.tables(), level, 2023, accessibility=True)
    assert_same(frame(t_layer), core_t, ["target_id", "zone_id"])
    assert_same(frame(s_layer), core_s, ["service_type_id", "zone_id"])


def test_features_carry_their_zone_polygon(welfare_plugin, clean_city):
    from qgis.core import QgsWkbTypes
    t_layer, s_layer = run(clean_city, "district")
    zones = tc.tables()["zone"].set_index("zone_id")["geometry"]
    for layer in (t_layer, s_layer):
        assert layer.wkbType() == QgsWkbTypes.MultiPolygon
        assert layer.crs().authid() == "EPSG:32632"
        for f in layer.getFeatures():
            g = f.geometry()
            assert g.isMultipart()
            assert g.area() == pytest.approx(zones[f["zone_id"]].area)  # 2 km x 4 km
            assert g.boundingBox().xMinimum() == pytest.approx(zones[f["zone_id"]].bounds[0])


# Accessibility columns (ACCESSIBILITY, on by default), by hand. rsa catchment 5000 m:
# every neighbourhood centre (1000|3000, 1000|3000) is within 3536 m of both homes, so
# 2SFCA spreads all 16 beds over all 600 residents 65+: 100 x 16/600 = 8/3 per 100
# everywhere there is demand; nearest home N1 hypot(500, 500), N2 2000, N4 0.
# nursery catchment 1500 m: only N2's centre (F3 on it) is within reach: 30 places / 60
# children = 50 per 100 in N2, 0 in N1 and N4 (2000 m away); share within 0, 1, 0.
# District D1 = N1 + N2, weighted by children 40 and 60: access 30, nearest 800, share 0.6.
def test_accessibility_columns_by_hand(welfare_plugin, clean_city):
    from qgis.core import QgsApplication
    from welfare_core.indicators import ACCESS_VALUES, SERVICE_COLUMNS
    alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    assert alg.parameterDefinition("ACCESSIBILITY").defaultValue() is True
    s = frame(run(clean_city)[1])
    close(col(s, "service_type_id", "rsa", "access_per_100"), [8 / 3, 8 / 3, NAN, 8 / 3])
    close(col(s, "service_type_id", "rsa", "nearest_cost"), [math.hypot(500, 500), 2000, NAN, 0])
    close(col(s, "service_type_id", "rsa", "share_within"), [1, 1, NAN, 1])
    close(col(s, "service_type_id", "nursery", "access_per_100"), [0, 50, NAN, 0])
    close(col(s, "service_type_id", "nursery", "nearest_cost"), [2000, 0, NAN, 2000])
    close(col(s, "service_type_id", "nursery", "share_within"), [0, 1, NAN, 0])
    d = frame(run(clean_city, "district")[1])
    close(col(d, "service_type_id", "nursery", "access_per_100"), [30, 0])
    close(col(d, "service_type_id", "nursery", "nearest_cost"), [800, 2000])
    close(col(d, "service_type_id", "nursery", "share_within"), [0.6, 0])
    off = frame(run(clean_city, ACCESSIBILITY=False)[1])
    assert list(off.columns) == [c for c in SERVICE_COLUMNS if c not in ACCESS_VALUES]


def test_published_accessibility_hidden_with_the_coverage(welfare_plugin, small_count_city):
    layers, _ = small_count_city
    # 3 children in N2: 30 places / 3 = 1000 per 100 raw; published: hidden with the count
    raw = frame(run(layers)[1])
    pub = frame(run(layers, values=PUBLISHED)[1])
    close(col(raw, "service_type_id", "nursery", "access_per_100"), [0, 1000, NAN, 0])
    close(col(pub, "service_type_id", "nursery", "access_per_100"), [0, NAN, NAN, 0])
    close(col(pub, "service_type_id", "nursery", "share_within"), [0, NAN, NAN, 0])


def test_target_ids_select_the_targets(welfare_plugin, clean_city):
    t, s = run(clean_city, TARGET_IDS=" pop_0_2 ,alone_65plus")
    assert sorted(set(frame(t)["target_id"])) == ["alone_65plus", "pop_0_2"]
    assert len(frame(s)) == 4 * 2  # service rows do not depend on the targets asked for


# --- published values ----------------------------------------------------------------

@pytest.fixture(scope="module")
def small_count_city(write_gpkg):
    """The tiny city with 3 children 0-2 in N2 instead of 60: a count to suppress."""
    t = tc.tables()
    d = t["demand"]
    d.loc[(d.zone_id == "015146-N2") & (d.target_id == "pop_0_2"), "demand"] = 3.0
    return write_gpkg(t, "zi_small_count"), t


def test_published_suppresses_a_small_count(welfare_plugin, small_count_city):
    layers, tables = small_count_city
    t = frame(run(layers, values=PUBLISHED)[0])
    n2 = t[(t.zone_id == "015146-N2") & (t.target_id == "pop_0_2")].iloc[0]
    # 3 is in 1..7: the count and everything that could give it back are NULL
    for c in ("demand", "incidence_per_100", "location_quotient", "gap", "required",
              "coverage_per_100"):
        assert is_null(n2[c]), c
    assert n2["reference_population"] == 1160  # a multiple of 5 stays as it is
    assert n2["supply"] == 30  # capacities are public
    raw = frame(run(layers, values=RAW)[0])
    r2 = raw[(raw.zone_id == "015146-N2") & (raw.target_id == "pop_0_2")].iloc[0]
    assert r2["demand"] == 3 and r2["incidence_per_100"] == pytest.approx(300 / 1160)
    assert r2["gap"] == pytest.approx(0.0)  # 0.99 places needed, 30 there
    # other counts: rounded to 5 (300, 40, 20, 120, 30 already are)
    close(col(t, "target_id", "pop_0_2", "demand"), [40, NAN, 0, 20])


def test_published_is_the_core_privacy_rule_row_for_row(welfare_plugin, small_count_city):
    from welfare_core.indicators import zone_indicators
    from welfare_core.privacy import publish_zone_indicators
    layers, tables = small_count_city
    t_layer, s_layer = run(layers, values=PUBLISHED)
    from welfare_core.indicators import service_access
    from welfare_core.privacy import with_published_demand
    core_t, core_s = zone_indicators(tables, "neighbourhood", 2023, accessibility=True)
    # every published value from published counts: required from the published reference
    # populations, the accessibility means on published demand
    pub_t = publish_zone_indicators(core_t, level="neighbourhood", services=core_s,
                                    service_target=tables["service_target"])
    pub_s = publish_zone_indicators(core_s, level="neighbourhood", access=service_access(
        with_published_demand(tables), "neighbourhood", 2023))
    # one level on its own: no complementary cells (those are set against the levels
    # already published in the database), so the layer has no such field
    assert not pub_t["complementary"].any()
    hidden = ["published", "complementary"]
    assert_same(frame(t_layer), pub_t.drop(columns=hidden, errors="ignore"), ["target_id", "zone_id"])
    assert_same(frame(s_layer), pub_s.drop(columns=hidden, errors="ignore"),
                ["service_type_id", "zone_id"])


@pytest.fixture(scope="module")
def sections_city(write_gpkg):
    """Neighbourhoods relabelled as sections; the household target made sensitive."""
    t = tc.tables()
    t["zone"].loc[t["zone"].level == "neighbourhood", "level"] = "section"
    t["target"].loc[t["target"].target_id == "alone_65plus", "sensitive"] = True
    return write_gpkg(t, "zi_sections")


def test_sensitive_targets_are_published_only_at_coarse_levels(welfare_plugin, sections_city):
    published = frame(run(sections_city, "section", values=PUBLISHED)[0])
    raw = frame(run(sections_city, "section", values=RAW)[0])
    coarse = frame(run(sections_city, "district", values=PUBLISHED)[0])
    assert sorted(set(published.target_id)) == ["pop_0_2", "pop_65plus"]
    assert "alone_65plus" in set(raw.target_id) and "alone_65plus" in set(coarse.target_id)
    assert len(published) == 4 * 2 and len(raw) == 4 * 3


# --- the bundled catalogue -------------------------------------------------------------

def sample_ids(layer, column):
    from osgeo import ogr
    from qgis_door import ROOT
    ds = ogr.Open(str(ROOT / "data" / "sample" / "milan_sample.gpkg"))
    return sorted({f.GetField(column) for f in ds.GetLayerByName(layer)})


def test_bundled_catalogue_when_none_is_given(welfare_plugin, clean_city, plugin_zip):
    import zipfile
    with zipfile.ZipFile(plugin_zip) as z:
        names = z.namelist()
    for table in ("target", "service_type", "service_target"):
        assert f"welfare_intelligence/catalogue/{table}.csv" in names
    assert "welfare_intelligence/catalogue/export.py" not in names  # a build tool only
    layers = {k: v for k, v in clean_city.items() if k not in CATALOGUE}
    t_layer, s_layer = run(layers)
    t, s = frame(t_layer), frame(s_layer)
    # the sample city's 33 targets and 13 service types, not the tiny city's 3 and 2
    assert sorted(set(t.target_id)) == sample_ids("target", "target_id")
    assert sorted(set(s.service_type_id)) == sample_ids("service_type", "service_type_id")
    assert len(t) == 4 * len(sample_ids("target", "target_id"))
    # rsa and nursery keep their references and standards (65+ at 2.82, 0-2 at 33)
    close(col(s, "service_type_id", "rsa", "coverage_per_100"), [4.0, 0.0, NAN, 2.0])
    close(col(s, "service_type_id", "rsa", "gap"), [0.0, 2.82, 0.0, 1.64])
    close(col(s, "service_type_id", "nursery", "gap"), [13.2, 0.0, 0.0, 6.6])
    # but in the sample catalogue the 65+ target is served only by senior centres
    # (share 0.6, standard 3 per 100 65+) and the tiny city has none: supply 0,
    # required = 0.6 x 3/100 x [300, 100, 0, 200]
    close(col(t, "target_id", "pop_65plus", "supply"), [0, 0, 0, 0])
    close(col(t, "target_id", "pop_65plus", "required"), [5.4, 1.8, 0.0, 3.6])
    close(col(t, "target_id", "pop_65plus", "gap"), [5.4, 1.8, 0.0, 3.6])
    # a target of the catalogue without demand rows has demand 0
    close(col(t, "target_id", "disability", "demand"), [0, 0, 0, 0])


def test_part_of_a_catalogue_is_refused(welfare_plugin, clean_city):
    layers = {k: v for k, v in clean_city.items() if k != "SERVICE_TARGETS"}
    message = errors_of(layers)
    assert "SERVICE_TARGETS" in message and "together" in message


# --- clear errors --------------------------------------------------------------------------

def test_unknown_target_is_a_clear_error(welfare_plugin, clean_city):
    message = errors_of(clean_city, TARGET_IDS="pop_65plus,ghost")
    assert "unknown target(s) ['ghost']" in message and "target ids" in message


def test_level_without_zones_is_a_clear_error(welfare_plugin, clean_city):
    assert "there are no zones of level 'section'" in errors_of(clean_city, level="section")


def test_period_without_demand_is_a_clear_error(welfare_plugin, clean_city):
    message = errors_of(clean_city, period=1999)
    assert "no demand rows for period 1999" in message and "[2023]" in message


def to_wgs84(tables):
    from pyproj import Transformer
    from shapely.ops import transform
    project = Transformer.from_crs(tc.CRS, "EPSG:4326", always_xy=True).transform
    out = {}
    for name, f in tables.items():
        f = f.copy()
        if "geometry" in f:
            f["geometry"] = [transform(project, g) for g in f["geometry"]]
        out[name] = f
    return out


def test_geographic_crs_needs_target_crs(welfare_plugin, write_gpkg, clean_city):
    layers = write_gpkg(to_wgs84(tc.tables()), "zi_wgs84", 4326)
    message = errors_of(layers)
    assert "geographic" in message and "TARGET_CRS" in message
    # with TARGET_CRS the layers are reprojected and the numbers are the same
    t, s = run(layers, TARGET_CRS="EPSG:32632")
    assert t.crs().authid() == "EPSG:32632"
    t0, s0 = run(clean_city)
    # a zero distance (F2 on N4's centre) comes back from WGS 84 as ~1e-10 m
    assert_same(frame(s), frame(s0), ["service_type_id", "zone_id"], abs_tol=1e-6)
    assert_same(frame(t), frame(t0), ["target_id", "zone_id"])


def test_text_columns_of_numbers_are_read_as_numbers(welfare_plugin, write_gpkg, clean_city):
    """A CSV opened without types gives text; period and counts still work."""
    import tempfile
    from pathlib import Path
    folder = Path(tempfile.mkdtemp())
    tables = tc.tables()
    layers = dict(clean_city)
    for name, key in (("demand", "DEMAND"), ("population", "POPULATION")):
        path = folder / f"{name}.csv"
        tables[name].to_csv(path, index=False)
        layers[key] = str(path)  # OGR CSV without .csvt: every field is a string
    t, s = run(layers)
    t0, s0 = run(clean_city)
    assert_same(frame(t), frame(t0), ["target_id", "zone_id"])


# --- styling and help ---------------------------------------------------------------------

def test_loaded_result_is_graduated_by_coverage(welfare_plugin, clean_city):
    import processing
    from qgis.core import QgsGraduatedSymbolRenderer, QgsProject
    params = {k: v for k, v in clean_city.items() if k in INPUTS}
    params.update(LEVEL=1, PERIOD=2023, VALUES=RAW, OUTPUT="memory:",
                  OUTPUT_SERVICES="memory:")
    project = QgsProject.instance()
    before = set(project.mapLayers())
    out = processing.runAndLoadResults(ALG, params)
    added = [project.mapLayer(i) for i in set(project.mapLayers()) - before]
    try:
        assert len(added) == 2, out
        for layer in added:
            renderer = layer.renderer()
            assert isinstance(renderer, QgsGraduatedSymbolRenderer), type(renderer)
            assert renderer.classAttribute() == "coverage_per_100"
            assert len(renderer.ranges()) >= 2
    finally:
        project.removeMapLayers([layer.id() for layer in added])


@pytest.mark.parametrize("lang,title,group", [("en", "Zone indicators", "Indicators"),
                                              ("it", "Indicatori per zona", "Indicatori")])
def test_help_in_english_and_italian(welfare_plugin, lang, title, group):
    from qgis.core import QgsApplication
    from welfare_intelligence.algorithms import helpdoc
    from welfare_intelligence.algorithms.base import GROUPS
    alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    doc = helpdoc.load("zone_indicators", lang)
    assert doc.title == title and GROUPS["indicators"][lang] == group
    keys = sorted(p.name() for p in alg.parameterDefinitions())
    assert sorted(doc.parameters) == keys
    for key in keys:
        assert doc.parameters[key].label != key and len(doc.parameters[key].text) > 20


def test_facilities_are_placed_by_location_not_by_an_extra_field(welfare_plugin, write_gpkg,
                                                                  clean_city):
    """A zone_id field on the facilities layer (not a model column) is ignored, as in SQL."""
    t = tc.tables()
    t["facility"]["zone_id"] = "015146-N3"  # wrong on purpose: F1 is in N1, F2 in N4
    # gpkg_io types unknown columns as text, so the layer really has this field
    layers = {**clean_city, **write_gpkg({"facility": t["facility"]}, "zi_fac_zone_id")}
    s = frame(run(layers)[1])
    close(col(s, "service_type_id", "rsa", "supply"), [12, 0, 0, 4])


# --- unpublished facilities (issue #9): left out unless COUNT_UNPUBLISHED --------------

@pytest.fixture(scope="module")
def unpublished_city(write_gpkg):
    """The tiny city plus two facilities nobody may list: F4, an rsa of 8 beds in N2
    (published false, a confidential shelter), and F5, a nursery of 10 places in N4
    (published NULL: nobody said it may be listed)."""
    t = tc.tables()
    fac = t["facility"]
    extra = fac.iloc[[0, 2]].copy()
    extra["facility_id"] = ["F4", "F5"]
    extra["capacity"] = [8.0, 10.0]
    extra["geometry"] = [tc.pt(500, 2500), tc.pt(3500, 3500)]
    extra["published"] = [False, None]
    t["facility"] = pd.concat([fac, extra], ignore_index=True).astype({"published": object})
    return write_gpkg(t, "zi_unpublished")


def run_logged(layers, **params):
    """processing.run with the default VALUES (published): (outputs, log text)."""
    import processing
    from qgis.core import QgsProcessingFeedback
    feedback = QgsProcessingFeedback()
    p = {k: v for k, v in layers.items() if k in INPUTS}
    p.update(LEVEL=LEVELS.index("neighbourhood"), PERIOD=2023, OUTPUT="memory:",
             OUTPUT_SERVICES="memory:", **params)
    return processing.run(ALG, p, feedback=feedback), feedback.textLog()


def test_count_unpublished_is_an_advanced_option_off_by_default(welfare_plugin):
    from qgis.core import QgsApplication, QgsProcessingParameterDefinition
    alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    p = alg.parameterDefinition("COUNT_UNPUBLISHED")
    assert p.type() == "boolean" and p.defaultValue() is False
    assert p.flags() & QgsProcessingParameterDefinition.FlagAdvanced


def test_unpublished_facilities_are_left_out_by_default(welfare_plugin, unpublished_city):
    out, log = run_logged(unpublished_city)
    t, s = frame(out["OUTPUT"]), frame(out["OUTPUT_SERVICES"])
    # the tiny city's hand-worked values, as if F4 and F5 were not there (module docstring)
    close(col(t, "target_id", "pop_65plus", "supply"), [9, 0, 0, 3])
    close(col(t, "target_id", "pop_65plus", "coverage_per_100"), [3.0, 0.0, NAN, 1.5])
    close(col(s, "service_type_id", "rsa", "supply"), [12, 0, 0, 4])
    close(col(s, "service_type_id", "rsa", "coverage_per_100"), [4.0, 0.0, NAN, 2.0])
    close(col(s, "service_type_id", "rsa", "facilities"), [1, 0, 0, 1])
    close(col(s, "service_type_id", "nursery", "supply"), [0, 30, 0, 0])
    close(col(t, "target_id", "pop_0_2", "gap"), [13.2, 0.0, 0.0, 6.6])
    assert out["PUBLICATION"] == "safe"
    assert ("2 unpublished facilities left out (COUNT_UNPUBLISHED counts them; the output "
            "is then not safe to publish)") in log


def test_count_unpublished_counts_them_and_is_not_safe(welfare_plugin, unpublished_city):
    out, log = run_logged(unpublished_city, COUNT_UNPUBLISHED=True)
    t, s = frame(out["OUTPUT"]), frame(out["OUTPUT_SERVICES"])
    # F4's 8 beds in N2: rsa coverage 8/100 × 100 = 8, 65+ supply .75 × 8 = 6 (6 per 100),
    # gaps max(0, 2.82 − 8) = 0 and max(0, 2.115 − 6) = 0; F5's 10 places in N4: 0-2 supply
    # 10, gap max(0, .33 × 20 − 10) = 0
    close(col(t, "target_id", "pop_65plus", "supply"), [9, 6, 0, 3])
    close(col(t, "target_id", "pop_65plus", "coverage_per_100"), [3.0, 6.0, NAN, 1.5])
    close(col(t, "target_id", "pop_65plus", "gap"), [0.0, 0.0, 0.0, 1.23])
    close(col(s, "service_type_id", "rsa", "coverage_per_100"), [4.0, 8.0, NAN, 2.0])
    close(col(s, "service_type_id", "rsa", "gap"), [0.0, 0.0, 0.0, 1.64])
    close(col(s, "service_type_id", "rsa", "facilities"), [1, 1, 0, 1])
    close(col(s, "service_type_id", "nursery", "supply"), [0, 30, 0, 10])
    close(col(t, "target_id", "pop_0_2", "gap"), [13.2, 0.0, 0.0, 0.0])
    assert out["PUBLICATION"] == "not_safe"
    assert "NOT safe to publish: 2 unpublished facilities counted (COUNT_UNPUBLISHED)" in log
    assert out["OUTPUT"].customProperty("welfare/publication") == "not_safe"
    # raw values as well: both reasons
    raw, log = run_logged(unpublished_city, COUNT_UNPUBLISHED=True, VALUES=RAW)
    assert raw["PUBLICATION"] == "not_safe"
    assert "raw values (VALUES = raw)" in log and "2 unpublished facilities counted" in log


def test_count_unpublished_without_any_stays_safe(welfare_plugin, clean_city, write_gpkg):
    out, log = run_logged(clean_city, COUNT_UNPUBLISHED=True)
    assert out["PUBLICATION"] == "safe" and "unpublished" not in log
    # a facility layer without the published field: every facility counts, and is public
    fac = tc.tables()["facility"].drop(columns="published")
    layers = {**clean_city, **write_gpkg({"facility": fac}, "zi_no_published_field")}
    out, log = run_logged(layers)
    close(col(frame(out["OUTPUT_SERVICES"]), "service_type_id", "rsa", "supply"), [12, 0, 0, 4])
    assert out["PUBLICATION"] == "safe" and "unpublished" not in log
