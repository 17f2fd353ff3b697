"""Headless map export: a graduated layer with title and legend, to PNG.

Used by the demo and by algorithms that style their output. Pure PyQGIS,
no Processing and no interface: runs under QT_QPA_PLATFORM=offscreen.
"""
from __future__ import annotations

from qgis.core import (QgsClassificationQuantile, QgsGraduatedSymbolRenderer, QgsLayoutExporter,
                       QgsLayoutItemLabel, QgsLayoutItemLegend, QgsLayoutItemMap,
                       QgsLayoutItemScaleBar, QgsLayoutPoint, QgsLayoutSize, QgsPrintLayout,
                       QgsProject, QgsStyle, QgsUnitTypes, QgsVectorLayer)
from qgis.PyQt.QtGui import QColor, QFont


def graduate(layer: QgsVectorLayer, field: str, *, classes: int = 5, ramp: str = "RdYlGn",
             invert: bool = False, legend_title: str | None = None) -> None:
    """Style ``layer`` by quantiles of ``field`` (NULL features drawn grey)."""
    renderer = QgsGraduatedSymbolRenderer(field)
    renderer.setClassificationMethod(QgsClassificationQuantile())
    colour_ramp = QgsStyle().defaultStyle().colorRamp(ramp)
    if invert:
        colour_ramp.invert()
    renderer.updateColorRamp(colour_ramp)
    renderer.updateClasses(layer, classes)
    for i in range(len(renderer.ranges())):
        renderer.updateRangeLabel(i, renderer.ranges()[i].label())
    layer.setRenderer(renderer)
    if legend_title:
        layer.setName(legend_title)
    layer.triggerRepaint()


def export_png(layers: list[QgsVectorLayer], png: str, title: str, *, subtitle: str = "",
               width_mm: float = 260, height_mm: float = 200, dpi: int = 150) -> str:
    """A print layout with map, title, legend and scale bar exported to ``png``."""
    project = QgsProject.instance()
    for layer in layers:
        if not project.mapLayer(layer.id()):
            project.addMapLayer(layer, False)
    layout = QgsPrintLayout(project)
    layout.initializeDefaults()
    page = layout.pageCollection().page(0)
    page.setPageSize(QgsLayoutSize(width_mm, height_mm, QgsUnitTypes.LayoutMillimeters))
    map_item = QgsLayoutItemMap(layout)
    map_item.attemptMove(QgsLayoutPoint(5, 22, QgsUnitTypes.LayoutMillimeters))
    map_item.attemptResize(QgsLayoutSize(width_mm - 80, height_mm - 27,
                                         QgsUnitTypes.LayoutMillimeters))
    map_item.setLayers(layers)
    extent = layers[0].extent()
    for layer in layers[1:]:
        extent.combineExtentWith(layer.extent())
    extent.scale(1.03)
    map_item.setCrs(layers[0].crs())
    map_item.zoomToExtent(extent)
    map_item.setBackgroundColor(QColor(255, 255, 255))
    layout.addLayoutItem(map_item)
    _label(layout, title, 5, 4, width_mm - 10, 10, 18, bold=True)
    if subtitle:
        _label(layout, subtitle, 5, 13, width_mm - 10, 8, 10)
    legend = QgsLayoutItemLegend(layout)
    legend.setLinkedMap(map_item)
    legend.setTitle("Legend")
    legend.attemptMove(QgsLayoutPoint(width_mm - 72, 24, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(legend)
    bar = QgsLayoutItemScaleBar(layout)
    bar.setLinkedMap(map_item)
    bar.applyDefaultSize()
    bar.attemptMove(QgsLayoutPoint(8, height_mm - 18, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(bar)
    settings = QgsLayoutExporter.ImageExportSettings()
    settings.dpi = dpi
    result = QgsLayoutExporter(layout).exportToImage(png, settings)
    if result != QgsLayoutExporter.Success:
        raise RuntimeError(f"could not write the map to {png} (QGIS export error {result})")
    return png


def _label(layout, text, x, y, w, h, size, bold=False):
    label = QgsLayoutItemLabel(layout)
    label.setText(text)
    font = QFont()
    font.setPointSize(size)
    font.setBold(bold)
    label.setFont(font)
    label.attemptMove(QgsLayoutPoint(x, y, QgsUnitTypes.LayoutMillimeters))
    label.attemptResize(QgsLayoutSize(w, h, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(label)
