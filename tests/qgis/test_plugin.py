"""The packaged plugin: zip contents, metadata, provider, help in English and Italian."""
import configparser
import zipfile

import pytest

from qgis_door import PLUGIN, ROOT, core_version

LANGUAGES = ("en", "it")


def metadata(text):
    meta = configparser.ConfigParser()
    meta.read_string(text)
    return meta["general"]


def test_zip_holds_the_plugin_and_the_core(plugin_zip):
    with zipfile.ZipFile(plugin_zip) as z:
        names = z.namelist()
        meta = metadata(z.read(f"{PLUGIN}/metadata.txt").decode("utf-8"))
    assert plugin_zip.name == f"{PLUGIN}-{core_version()}.zip"
    assert all(n.startswith(f"{PLUGIN}/") for n in names)
    for required in ("__init__.py", "metadata.txt", "provider.py", "icons/welfare.svg",
                     "algorithms/base.py", "ext/welfare_core/__init__.py",
                     "ext/welfare_core/validation.py"):
        assert f"{PLUGIN}/{required}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert meta["name"] == "Welfare Intelligence"
    assert meta["version"] == core_version()
    assert meta["qgisMinimumVersion"] == "3.22"
    assert meta["hasProcessingProvider"] == "yes"
    assert meta["license"] == "GPL-2.0-or-later"
    for key in ("description", "about", "author", "email"):
        assert meta[key].strip()


def test_source_metadata_version_is_the_core_version():
    text = (ROOT / "qgis_plugin" / PLUGIN / "metadata.txt").read_text(encoding="utf-8")
    assert metadata(text)["version"] == core_version()


def algorithms():
    from qgis.core import QgsApplication
    return QgsApplication.processingRegistry().providerById("welfare").algorithms()


def test_algorithms_declare_ids_groups_and_icons(welfare_plugin):
    from welfare_intelligence.algorithms.base import GROUPS
    for alg in algorithms():
        assert alg.name() == alg.name().lower() and alg.id() == f"welfare:{alg.name()}"
        assert alg.groupId() in GROUPS
        assert not alg.icon().isNull()
        assert not (alg.flags() & alg.FlagHideFromModeler)
        for p in alg.parameterDefinitions():
            assert p.name() == p.name().upper(), p.name()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_help_for_every_algorithm_and_parameter(welfare_plugin, lang):
    from welfare_intelligence.algorithms import helpdoc
    for alg in algorithms():
        path = ROOT / "qgis_plugin" / PLUGIN / "help" / f"{alg.name()}.{lang}.md"
        assert path.exists(), path
        doc = helpdoc.load(alg.name(), lang)
        assert doc.title and len(doc.description) > 100, alg.name()
        keys = [p.name() for p in alg.parameterDefinitions()]
        assert sorted(doc.parameters) == sorted(keys), f"{alg.name()} {lang}"
        for key in keys:
            assert doc.parameters[key].label != key and len(doc.parameters[key].text) > 20, key


@pytest.fixture
def italian(welfare_plugin):
    from qgis.core import QgsSettings
    settings = QgsSettings()
    old = settings.value("locale/overrideFlag"), settings.value("locale/userLocale")
    settings.setValue("locale/overrideFlag", True)
    settings.setValue("locale/userLocale", "it_IT")
    yield
    for key, value in zip(("locale/overrideFlag", "locale/userLocale"), old):
        if value is None:
            settings.remove(key)
        else:
            settings.setValue(key, value)


def _fresh(alg_id):
    from qgis.core import QgsApplication
    return QgsApplication.processingRegistry().createAlgorithmById(alg_id)


def test_english_by_default(welfare_plugin):
    alg = _fresh("welfare:validate_data")
    assert alg.displayName() == "Validate data" and alg.group() == "Data"
    assert alg.parameterDefinition("ZONES").description() == "Zones"
    assert "Columns: zone_id, municipality_code, level" in alg.parameterDefinition("ZONES").help()
    assert "<h3>Parameters</h3>" in alg.shortHelpString()


def test_italian_when_qgis_runs_in_italian(italian):
    alg = _fresh("welfare:validate_data")
    assert alg.displayName() == "Verifica dati" and alg.group() == "Dati"
    assert alg.parameterDefinition("ZONES").description() == "Zone"
    assert alg.parameterDefinition("FACILITIES").description() == "Strutture"
    assert "Colonne: facility_id" in alg.parameterDefinition("FACILITIES").help()
    assert "<h3>Parametri</h3>" in alg.shortHelpString()
    assert alg.groupId() == "data" and alg.name() == "validate_data"  # ids never translated
