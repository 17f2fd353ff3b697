"""Welfare Intelligence for QGIS: a Processing provider over the welfare_core library.

The core is pure Python and is shipped inside the packaged plugin as
``ext/welfare_core`` (``make plugin`` copies it there).  Running from a
checkout (development, tests) the plugin falls back to ``<repo>/core``.
"""
import os
import sys

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))


def _core_path():
    bundled = os.path.join(PLUGIN_DIR, "ext")
    checkout = os.path.join(os.path.dirname(os.path.dirname(PLUGIN_DIR)), "core")
    for path in (bundled, checkout):
        if os.path.isfile(os.path.join(path, "welfare_core", "__init__.py")):
            return path
    return None


CORE_PATH = _core_path()
if CORE_PATH is not None:
    # Front of the path: our copy of the core wins over any other on the system.
    if CORE_PATH in sys.path:
        sys.path.remove(CORE_PATH)
    sys.path.insert(0, CORE_PATH)


def classFactory(iface):  # noqa: N802 (QGIS plugin entry point)
    """Called by QGIS (and qgis_process, with iface None) to create the plugin."""
    if CORE_PATH is None:
        raise ImportError("Welfare Intelligence: the welfare_core library is missing from "
                          f"{PLUGIN_DIR}/ext; install the packaged plugin zip (make plugin)")
    from .plugin import WelfarePlugin
    return WelfarePlugin(iface)
