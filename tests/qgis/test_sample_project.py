"""sample_project.qgz opens headless, every layer valid and non-empty, paths relative."""
import os
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.qgis

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "sample_project.qgz"
GPKG = ROOT / "data" / "sample" / "milan_sample.gpkg"


@pytest.fixture(scope="module")
def project():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    core = pytest.importorskip("qgis.core")
    # QGIS may switch the GeoPackage to WAL mode (a header write): the committed
    # file must stay byte-identical, so its bytes are put back afterwards.
    original = GPKG.read_bytes()
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
    if GPKG.read_bytes() != original:
        GPKG.write_bytes(original)
    for extra in ("-wal", "-shm"):
        Path(f"{GPKG}{extra}").unlink(missing_ok=True)


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
