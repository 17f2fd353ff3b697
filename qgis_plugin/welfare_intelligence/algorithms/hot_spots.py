"""welfare:hot_spots — local Moran (LISA) clusters of one indicator, with global Moran's I.

A thin door over ``welfare_core.spatial``: read the zone × target layer of
welfare:zone_indicators, take one target's value per zone, build queen
contiguity or distance-band weights from the zones' polygons, run seeded
local and global Moran, and write one polygon per zone with its LISA class,
styled in the usual four colours plus grey for not significant.
"""
from qgis.core import (QgsProcessingLayerPostProcessorInterface, QgsProcessingOutputNumber,
                       QgsProcessingParameterBoolean,
                       QgsProcessingParameterEnum, QgsProcessingParameterNumber,
                       QgsProcessingParameterString, QgsVectorLayer)

from .base import FROM_INPUT, WelfareAlgorithm
from .composite_index import add_indicators, read_indicators, write_zone_sink

VALUE_COLUMNS = ("incidence_per_100", "coverage_per_100", "gap", "location_quotient",
                 "demand", "supply", "required")
WEIGHTS = ("queen", "distance")
# GeoDa's LISA colours
COLOURS = {"high-high": "#d7191c", "low-low": "#2c7bb6", "low-high": "#abd9e9",
           "high-low": "#fdae61", "not significant": "#e0e0e0", "no neighbours": "#ffffff"}
_POST_PROCESSORS = {}


class HotSpots(WelfareAlgorithm):
    ALG_ID = "hot_spots"
    GROUP = "composite"
    PUBLICATION = FROM_INPUT  # as safe as INDICATORS

    def declare(self):
        add_indicators(self)
        self.add(QgsProcessingParameterString("TARGET_ID", "TARGET_ID"))
        self.add(QgsProcessingParameterEnum("VALUE_COLUMN", "VALUE_COLUMN", list(VALUE_COLUMNS),
                                            defaultValue=0))
        self.add(QgsProcessingParameterEnum("WEIGHTS", "WEIGHTS", list(WEIGHTS), defaultValue=0))
        self.add(QgsProcessingParameterNumber(
            "DISTANCE", "DISTANCE", QgsProcessingParameterNumber.Double, defaultValue=1000.0,
            minValue=0.0))
        self.add(QgsProcessingParameterNumber(
            "PERMUTATIONS", "PERMUTATIONS", QgsProcessingParameterNumber.Integer,
            defaultValue=999, minValue=0))
        self.add(QgsProcessingParameterNumber("SEED", "SEED", QgsProcessingParameterNumber.Integer,
                                              defaultValue=0))
        self.add(QgsProcessingParameterNumber("ALPHA", "ALPHA", QgsProcessingParameterNumber.Double,
                                              defaultValue=0.05, minValue=0.0001, maxValue=0.5))
        self.add(QgsProcessingParameterBoolean("FDR", "FDR", defaultValue=False))
        self.add(QgsProcessingParameterBoolean("SMOOTH", "SMOOTH", defaultValue=False))
        self.add_target_crs()
        self.add_sink("OUTPUT", geometry="MultiPolygon")
        self.addOutput(QgsProcessingOutputNumber("MORAN_I", "Moran's I"))
        self.addOutput(QgsProcessingOutputNumber("MORAN_P_SIM", "Moran's I permutation p-value"))

    def compute(self, parameters, context, feedback, progress):
        from welfare_core import benchmark, spatial
        from welfare_core.validation import check_projected_crs
        from .base import TARGET_CRS, core_crs
        target_crs = self.parameterAsCrs(parameters, TARGET_CRS, context)
        rows, geometry, crs = read_indicators(self, parameters, context, progress.scaled(0, 40),
                                              target_crs=target_crs)
        target = self.parameterAsString(parameters, "TARGET_ID", context).strip()
        column = VALUE_COLUMNS[self.parameterAsEnum(parameters, "VALUE_COLUMN", context)]
        values = benchmark.indicator_rows(rows, [target], column,
                                          smooth=self.parameterAsBool(parameters, "SMOOTH",
                                                                      context))
        values = values[values["value"].notna()].reset_index(drop=True)
        kind = WEIGHTS[self.parameterAsEnum(parameters, "WEIGHTS", context)]
        ids = values["zone_id"].tolist()
        if kind == "queen":
            w = spatial.queen_weights(ids, [geometry.get(z) for z in ids])
        else:
            check_projected_crs(core_crs(crs), what="layer INDICATORS")
            from shapely import wkb
            pts = [wkb.loads(geometry[z]).representative_point() for z in ids]
            w = spatial.distance_weights(ids, [(p.x, p.y) for p in pts],
                                         self.parameterAsDouble(parameters, "DISTANCE", context))
        permutations = self.parameterAsInt(parameters, "PERMUTATIONS", context)
        seed = self.parameterAsInt(parameters, "SEED", context)
        lisa = spatial.local_moran(values["value"].to_numpy(), w, permutations=permutations,
                                   seed=seed,
                                   alpha=self.parameterAsDouble(parameters, "ALPHA", context),
                                   fdr=self.parameterAsBool(parameters, "FDR", context),
                                   progress=progress.scaled(40, 80))
        m = spatial.moran(values["value"].to_numpy(), w, permutations=permutations, seed=seed)
        feedback.pushInfo(f"global Moran's I = {m.i:.4f} (E[I] = {m.expected:.4f}, "
                          f"z = {m.z_norm:.2f}, permutation p = {m.p_sim}); "
                          f"{len(w.islands)} zone(s) without neighbours")
        lisa = lisa.assign(indicator=values["indicator"].to_numpy(), moran_i=m.i,
                           moran_p_sim=m.p_sim if m.p_sim is not None else float("nan"))
        dest = write_zone_sink(self, lisa, geometry, parameters, "OUTPUT", context, crs)
        if context.willLoadLayerOnCompletion(dest):
            post = _POST_PROCESSORS[dest] = LisaStyle()
            context.layerToLoadOnCompletionDetails(dest).setPostProcessor(post)
        return {"OUTPUT": dest, "MORAN_I": m.i, "MORAN_P_SIM": m.p_sim}


def style_lisa(layer):
    """Categorised by lisa_class: HH red, LL blue, LH light blue, HL orange, others grey."""
    from qgis.core import QgsCategorizedSymbolRenderer, QgsFillSymbol, QgsRendererCategory
    categories = []
    for name, colour in COLOURS.items():
        symbol = QgsFillSymbol.createSimple({"color": colour, "outline_color": "#808080",
                                             "outline_width": "0.1"})
        categories.append(QgsRendererCategory(name, symbol, name))
    layer.setRenderer(QgsCategorizedSymbolRenderer("lisa_class", categories))
    layer.triggerRepaint()


class LisaStyle(QgsProcessingLayerPostProcessorInterface):
    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API)
        if isinstance(layer, QgsVectorLayer) and layer.fields().indexOf("lisa_class") >= 0:
            style_lisa(layer)
