"""sample_project.qgz opens headless, every layer valid and non-empty, paths relative;
its indicator layers hold the core's published 2023 neighbourhood values."""
import math
import os
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.qgis

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "sample_project.qgz"
GPKG = ROOT / "data" / "sample" / "milan_sample.gpkg"
INDICATORS = ROOT / "data" / "sample" / "zone_indicators_2023.gpkg"
INDICATOR_GROUP = "Indicators 2023 (published)"
# (target of the layer's subset string, graduated field)
INDICATOR_MAPS = (("pop_0_2", "coverage_per_100"), ("pop_65plus", "gap"))


@pytest.fixture(scope="module")
def project():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    core = pytest.importorskip("qgis.core")
    # QGIS may switch the GeoPackage to WAL mode (a header write): the committed
    # file must stay byte-identical, so its bytes are put back afterwards.
    originals = {path: path.read_bytes() for path in (GPKG, INDICATORS)}
    app = core.QgsApplication.instance()
    own = app is None
    if own:
        app = core.QgsApplication([], False)
        app.initQgis()
    proj = core.QgsProject.instance()
    assert proj.read(str(PROJECT)), proj.error()
    yield proj
    proj.clear()
    if own:
        app.exitQgis()
    for path, original in originals.items():
        if path.read_bytes() != original:
            path.write_bytes(original)
        for extra in ("-wal", "-shm"):
            Path(f"{path}{extra}").unlink(missing_ok=True)


def test_every_layer_valid_and_not_empty(project):
    layers = list(project.mapLayers().values())
    assert len(layers) >= 7
    for layer in layers:
        assert layer.isValid(), layer.name()
        assert layer.featureCount() > 0, layer.name()


def test_styles_and_join(project):
    by_name = {l.name(): l for l in project.mapLayers().values()}
    fac = by_name["Facilities by service type"]
    assert fac.renderer().type() == "categorizedSymbol"
    assert len(fac.renderer().categories()) >= 10
    for name in ("Sections", "Neighbourhoods", "Districts"):
        layer = by_name[name]
        assert layer.renderer().type() == "graduatedSymbol"
        assert layer.renderer().classAttribute() == "pop_persons_2023"
        values = [f["pop_persons_2023"] for f in layer.getFeatures()]
        assert all(v is not None for v in values), name


def test_paths_are_relative():
    with zipfile.ZipFile(PROJECT) as z:
        qgs = next(n for n in z.namelist() if n.endswith(".qgs"))
        text = z.read(qgs).decode("utf-8")
    assert "./data/sample/milan_sample.gpkg" in text
    assert str(ROOT) not in text


@pytest.fixture(scope="module")
def published():
    """The core's published 2023 neighbourhood rows, computed here from data/sample."""
    sys.path.insert(0, str(ROOT / "data" / "sample"))
    from card import load_sample  # puts core/ on the path
    from welfare_core.indicators import zone_indicators
    from welfare_core.privacy import publish_zone_indicators
    tables = load_sample(ROOT / "data" / "sample")
    target = tables["target"]
    sensitive = list(target.loc[target["sensitive"].astype(bool), "target_id"])
    rows, services = zone_indicators(tables, "neighbourhood", 2023)
    # required and gap come from the published reference populations of the serving
    # types: without services they would be hidden (privacy.publish_zone_indicators)
    rows = publish_zone_indicators(rows, level="neighbourhood", sensitive=sensitive,
                                   services=services, service_target=tables["service_target"])
    return rows[rows["published"]].set_index(["target_id", "zone_id"])


def _number(value):
    """A feature's attribute as float, or None for NULL (a null QVariant in QGIS 3.22)."""
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return None
    return float(value)


def _indicator_layers(project):
    group = project.layerTreeRoot().findGroup(INDICATOR_GROUP)
    assert group is not None, f"no group {INDICATOR_GROUP!r}"
    layers = [node.layer() for node in group.findLayers()]
    by_target = {}
    for layer in layers:
        for target_id, field in INDICATOR_MAPS:
            if layer.subsetString() == f"\"target_id\" = '{target_id}'":
                by_target[target_id] = (layer, field)
    assert set(by_target) == {t for t, _ in INDICATOR_MAPS}, [l.subsetString() for l in layers]
    return by_target


def test_indicator_layers(project, published):
    for target_id, (layer, field) in _indicator_layers(project).items():
        assert layer.isValid(), layer.name()
        assert "zone_indicators_2023.gpkg" in layer.source()
        assert layer.renderer().type() == "graduatedSymbol"
        assert layer.renderer().classAttribute() == field
        feats = list(layer.getFeatures())
        expected = published.xs(target_id, level="target_id")
        assert len(feats) == len(expected) > 0, layer.name()
        assert {f["target_id"] for f in feats} == {target_id}
        assert all(f["level"] == "neighbourhood" and f["period"] == 2023 for f in feats)
        assert all(not f.geometry().isEmpty() for f in feats)
        # A zone with a value: the layer holds the core's published value.
        feat = next(f for f in sorted(feats, key=lambda f: f["zone_id"])
                    if _number(f[field]) not in (None, 0.0))
        want = expected.loc[feat["zone_id"], field]
        assert not math.isnan(want)
        assert _number(feat[field]) == pytest.approx(want, rel=1e-12), (target_id,
                                                                        feat["zone_id"])
        # Every published value of the field, hidden ones (NULL) included.
        got = {f["zone_id"]: _number(f[field]) for f in feats}
        for zone_id, value in expected[field].items():
            if math.isnan(value):
                assert got[zone_id] is None, zone_id
            else:
                assert got[zone_id] == pytest.approx(value, rel=1e-12), zone_id


def test_indicator_path_relative():
    with zipfile.ZipFile(PROJECT) as z:
        qgs = next(n for n in z.namelist() if n.endswith(".qgs"))
        text = z.read(qgs).decode("utf-8")
    assert "./data/sample/zone_indicators_2023.gpkg" in text
