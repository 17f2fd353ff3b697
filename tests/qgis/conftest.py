"""QGIS tests: the plugin is loaded from the BUILT zip, the way QGIS loads it.

The session unpacks ``dist/welfare_intelligence-<version>.zip`` (built by
``make plugin``, or the zip named by ``WELFARE_PLUGIN_ZIP``) into a temporary
plugin directory, puts it on ``sys.path`` and calls ``qgis.utils.loadPlugin``
and ``startProcessingPlugin`` as QGIS and qgis_process do.  The core the
algorithms run is therefore the copy inside the zip (``ext/welfare_core``).
"""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from qgis_door import KEYS, PLUGIN, ROOT, core_version


@pytest.fixture(scope="session")
def plugin_zip() -> Path:
    if os.environ.get("WELFARE_PLUGIN_ZIP"):
        return Path(os.environ["WELFARE_PLUGIN_ZIP"])
    # Cheap when up to date; never test a zip older than the sources.
    subprocess.run(["make", "-s", "plugin"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return ROOT / "dist" / f"{PLUGIN}-{core_version()}.zip"


@pytest.fixture(scope="session")
def plugin_dir(plugin_zip, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("qgis_plugins")
    with zipfile.ZipFile(plugin_zip) as z:
        z.extractall(target)
    return target


@pytest.fixture(scope="session")
def welfare_plugin(qgis_processing, plugin_dir):
    """The plugin started for Processing, from the unpacked zip."""
    import qgis.utils
    # Whatever welfare_core another test imported from the checkout, use the zip's.
    for name in [m for m in sys.modules if m.split(".")[0] in ("welfare_core", PLUGIN)]:
        del sys.modules[name]
    sys.path.insert(0, str(plugin_dir))
    qgis.utils.plugin_paths.insert(0, str(plugin_dir))
    assert qgis.utils.loadPlugin(PLUGIN)
    assert qgis.utils.startProcessingPlugin(PLUGIN)
    plugin = qgis.utils.plugins[PLUGIN]
    yield plugin
    # What qgis.utils.unloadPlugin does, minus its module bookkeeping (which
    # only exists for plugins imported through the QGIS application's hook).
    plugin.unload()
    del qgis.utils.plugins[PLUGIN]
    qgis.utils.active_plugins.remove(PLUGIN)


@pytest.fixture(scope="session")
def write_gpkg(welfare_plugin, tmp_path_factory):
    """write_gpkg(tables, name, crs_epsg=32632, driver="GPKG") -> {parameter key: layer uri}."""
    from gpkg_io import write
    folder = tmp_path_factory.mktemp("gpkg")

    def _write(tables, name, crs_epsg=32632, driver="GPKG"):
        path = folder / (f"{name}.gpkg" if driver == "GPKG" else name)
        uris = write(path, tables, crs_epsg, driver=driver)
        return {KEYS[t]: uri for t, uri in uris.items()}
    return _write


@pytest.fixture(scope="session")
def bad_city(write_gpkg):
    from fixtures import tiny_city as tc
    return write_gpkg(tc.tables_with_problems(), "bad_city")


@pytest.fixture(scope="session")
def clean_city(write_gpkg):
    from fixtures import tiny_city as tc
    return write_gpkg(tc.tables(), "clean_city")

