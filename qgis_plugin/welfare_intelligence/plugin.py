"""The plugin object QGIS creates: it only registers the Processing provider."""
from qgis.core import QgsApplication

from .provider import WelfareProvider


class WelfarePlugin:
    def __init__(self, iface=None):
        self.iface = iface  # None under qgis_process
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS API)
        """Register the provider; QGIS calls this in the desktop and in qgis_process."""
        if self.provider is None:
            self.provider = WelfareProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS API)
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
