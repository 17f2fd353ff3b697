"""Headless map export: a graduated layer with title and legend, to PNG.

Used by the demo and by algorithms that style their output. Pure PyQGIS,
no Processing and no interface: runs under QT_QPA_PLATFORM=offscreen.
"""
from __future__ import annotations

from qgis.core import (QgsClassificationJenks, QgsClassificationQuantile, QgsGraduatedSymbolRenderer, QgsLayoutExporter,
                       QgsLayoutItemLabel, QgsLayoutItemLegend, QgsLayoutItemMap,
                       QgsLayoutItemScaleBar, QgsLayoutPoint, QgsLayoutSize, QgsPrintLayout,
                       QgsProject, QgsRectangle, QgsStyle, QgsUnitTypes, QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor, QFont


def graduate(layer: QgsVectorLayer, field: str, *, classes: int = 5, ramp: str = "RdYlGn",
             invert: bool = False, legend_title: str | None = None,
             method: str = "quantile") -> None:
    """Style ``layer`` by classes of ``field``: quantiles, or natural breaks ("jenks")
    when many values are equal (quantile classes would collapse)."""
    renderer = QgsGraduatedSymbolRenderer(field)
    method = QgsClassificationJenks() if method == "jenks" else QgsClassificationQuantile()
    method.setLabelPrecision(1)
    renderer.setClassificationMethod(method)
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


# Colours of categorise_direction: loss red, gain blue, no change grey (ColorBrewer RdBu).
DIRECTION_COLOURS = {"loss": "#d6604d", "none": "#e0e0e0", "gain": "#4393c3"}


def categorise_direction(layer: QgsVectorLayer, field: str = "direction", *,
                         labels: dict | None = None) -> None:
    """Style ``layer`` by the categories of ``field`` (loss red, none grey, gain blue).

    A diverging legend for comparisons whose ``direction`` already says, per
    measure, whether a change is a gain or a loss; features without a value
    (hidden or undefined) are drawn unfilled.
    """
    from qgis.core import QgsCategorizedSymbolRenderer, QgsRendererCategory, QgsSymbol
    labels = labels or {}
    categories = []
    for value, colour in DIRECTION_COLOURS.items():
        symbol = QgsSymbol.defaultSymbol(layer.geometryType())
        symbol.setColor(QColor(colour))
        categories.append(QgsRendererCategory(value, symbol, labels.get(value, value)))
    empty = QgsSymbol.defaultSymbol(layer.geometryType())
    empty.setColor(QColor(255, 255, 255, 0))
    categories.append(QgsRendererCategory(None, empty, labels.get(None, "no value")))
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, categories))
    layer.triggerRepaint()


def categorise(layer: QgsVectorLayer, field: str, styles, *, legend_title: str | None = None) -> None:
    """Style ``layer`` by the values of ``field``: ``styles`` is a list of
    ``(value, colour, label, size_mm)``, drawn in that order in the legend
    (size applies to point layers); other values are not drawn."""
    from qgis.core import QgsCategorizedSymbolRenderer, QgsMarkerSymbol, QgsRendererCategory, QgsSymbol
    categories = []
    for value, colour, label, size in styles:
        symbol = QgsSymbol.defaultSymbol(layer.geometryType())
        symbol.setColor(QColor(colour))
        if isinstance(symbol, QgsMarkerSymbol):
            symbol.setSize(size)
        categories.append(QgsRendererCategory(value, symbol, label))
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, categories))
    if legend_title:
        layer.setName(legend_title)
    layer.triggerRepaint()


def export_png(layers: list[QgsVectorLayer], png: str, title: str, *, subtitle: str = "",
               width_mm: float = 260, height_mm: float = 200, dpi: int = 150) -> str:
    """A print layout with map, title, legend and scale bar exported to ``png``."""
    project = QgsProject.instance()
    project.setCrs(layers[0].crs())  # a CRS-less project makes PROJ complain while drawing
    for layer in layers:
        if not project.mapLayer(layer.id()):
            project.addMapLayer(layer, False)
    layout = QgsPrintLayout(project)
    layout.initializeDefaults()
    page = layout.pageCollection().page(0)
    page.setPageSize(QgsLayoutSize(width_mm, height_mm, QgsUnitTypes.LayoutMillimeters))
    map_item = QgsLayoutItemMap(layout)
    map_item.setRect(20, 20, 20, 20)  # a new map item has a null rect: no extent can be set
    layout.addLayoutItem(map_item)
    _place(map_item, 5, 22, width_mm - 80, height_mm - 27)
    map_item.setLayers(layers)
    map_item.setCrs(layers[0].crs())
    extent = QgsRectangle(layers[0].extent())
    for layer in layers[1:]:
        extent.combineExtentWith(layer.extent())
    extent.scale(1.03)
    map_item.zoomToExtent(extent)
    map_item.refresh()
    map_item.setFrameEnabled(True)
    _label(layout, title, 5, 4, width_mm - 10, 10, 18, bold=True)
    if subtitle:
        _label(layout, subtitle, 5, 13, width_mm - 10, 8, 10)
    legend = QgsLayoutItemLegend(layout)
    layout.addLayoutItem(legend)
    legend.setLinkedMap(map_item)
    legend.setTitle("")
    legend.setWrapString("|")  # long layer names wrap where the caller puts a '|' 
    legend.setAutoUpdateModel(False)  # only our layers, whatever else the project holds
    root = legend.model().rootGroup()
    root.removeAllChildren()
    for layer in layers:
        root.addLayer(layer)
    legend.attemptMove(QgsLayoutPoint(width_mm - 72, 24, QgsUnitTypes.LayoutMillimeters))
    bar = QgsLayoutItemScaleBar(layout)
    layout.addLayoutItem(bar)
    bar.setLinkedMap(map_item)
    bar.setStyle("Single Box")
    bar.applyDefaultSize()
    bar.setNumberOfSegmentsLeft(0)
    bar.setNumberOfSegments(2)
    bar.setUnitsPerSegment(2000)
    bar.attemptMove(QgsLayoutPoint(8, height_mm - 14, QgsUnitTypes.LayoutMillimeters))
    # Render the page ourselves: exportToImage would also try to georeference
    # the PNG through GDAL, which cannot update a PNG in place.
    image = QgsLayoutExporter(layout).renderPageToImage(0, QSize(), dpi)
    if image.isNull() or not image.save(png, "PNG"):
        raise RuntimeError(f"could not write the map to {png}")
    return png


def _place(item, x, y, w, h):
    item.attemptMove(QgsLayoutPoint(x, y, QgsUnitTypes.LayoutMillimeters))
    item.attemptResize(QgsLayoutSize(w, h, QgsUnitTypes.LayoutMillimeters))


def _label(layout, text, x, y, w, h, size, bold=False):
    label = QgsLayoutItemLabel(layout)
    layout.addLayoutItem(label)
    label.setText(text)
    font = QFont()
    font.setPointSize(size)
    font.setBold(bold)
    label.setFont(font)
    _place(label, x, y, w, h)
