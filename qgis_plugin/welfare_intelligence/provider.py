"""Processing provider ``welfare``: the toolbox entry holding every algorithm."""
import configparser
import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import PLUGIN_DIR
from .algorithms import ALGORITHMS

ICON = os.path.join(PLUGIN_DIR, "icons", "welfare.svg")


def plugin_version() -> str:
    meta = configparser.ConfigParser()
    meta.read(os.path.join(PLUGIN_DIR, "metadata.txt"), encoding="utf-8")
    return meta.get("general", "version")


class WelfareProvider(QgsProcessingProvider):
    def id(self):
        return "welfare"

    def name(self):
        return "Welfare Intelligence"

    def longName(self):  # noqa: N802 (QGIS API)
        return f"Welfare Intelligence {plugin_version()}"

    def versionInfo(self):  # noqa: N802 (QGIS API)
        return plugin_version()

    def icon(self):
        return QIcon(ICON)

    def svgIconPath(self):  # noqa: N802 (QGIS API)
        return ICON

    def loadAlgorithms(self):  # noqa: N802 (QGIS API)
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())
