"""welfare:composite_index — a composite vulnerability index per zone (CDC SVI, English IMD, AMPI).

A thin door over ``welfare_core.composite``: it reads the zone × target layer
written by welfare:zone_indicators (INDICATORS), builds the component table,
calls the core, hides the index of zones below the population floor
(``publish_composite``) and writes one polygon per zone (OUTPUT) and one row
per zone × component with its contribution (OUTPUT_COMPONENTS). The helpers
at the bottom are shared by the other comparison algorithms (hot_spots,
compare_zones, equity_measures). No formula lives here.
"""
from qgis.core import (QgsProcessing, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterNumber,
                       QgsProcessingParameterString, QgsVectorLayer)

from .base import FROM_INPUT, WelfareAlgorithm
from .model_inputs import zone_geometry

METHODS = ("svi", "imd", "ampi")
DIRECTIONS = ("high_is_bad", "high_is_good")
NUMERIC = ("demand", "reference_population", "incidence_per_100", "supply", "coverage_per_100",
           "required", "gap", "location_quotient", "period")
ROW_COLUMNS = ("zone_id", "level", "parent_id", "period", "target_id", "unit", "polarity",
               "demand", "reference_population", "incidence_per_100", "supply",
               "coverage_per_100", "required", "gap", "location_quotient", "published")
_POST_PROCESSORS = {}


class CompositeIndex(WelfareAlgorithm):
    ALG_ID = "composite_index"
    GROUP = "composite"
    PUBLICATION = FROM_INPUT  # as safe as INDICATORS

    def declare(self):
        add_indicators(self)
        self.add(QgsProcessingParameterString("COMPONENTS", "COMPONENTS"))
        self.add(QgsProcessingParameterEnum("METHOD", "METHOD", list(METHODS), defaultValue=0))
        self.add(QgsProcessingParameterEnum("DIRECTION", "DIRECTION", list(DIRECTIONS),
                                            defaultValue=0))
        self.add(QgsProcessingParameterString("REFERENCE", "REFERENCE", defaultValue="mean",
                                              optional=True), advanced=True)
        self.add(QgsProcessingParameterBoolean("SMOOTH", "SMOOTH", defaultValue=False))
        self.add(QgsProcessingParameterNumber(
            "MIN_POPULATION", "MIN_POPULATION", QgsProcessingParameterNumber.Integer,
            defaultValue=100, minValue=0))
        self.add_sink("OUTPUT", geometry="MultiPolygon")
        self.add_sink("OUTPUT_COMPONENTS")

    def compute(self, parameters, context, feedback, progress):
        from welfare_core import composite
        rows, geometry, crs = read_indicators(self, parameters, context, progress.scaled(0, 60))
        spec = parse_components(self.parameterAsString(parameters, "COMPONENTS", context))
        method = METHODS[self.parameterAsEnum(parameters, "METHOD", context)]
        direction = DIRECTIONS[self.parameterAsEnum(parameters, "DIRECTION", context)]
        reference = (self.parameterAsString(parameters, "REFERENCE", context) or "mean").strip()
        if reference.startswith("{"):
            import json
            reference = json.loads(reference)
        values, comps, population = composite.components_from_indicators(
            rows, spec, smooth=self.parameterAsBool(parameters, "SMOOTH", context))
        result = composite.composite_index(values, comps, method=method, direction=direction,
                                           reference=reference)
        floor = self.parameterAsInt(parameters, "MIN_POPULATION", context)
        pub = composite.publish_composite(result, population, floor)
        hidden = int((~pub.index["published"]).sum())
        if hidden:
            feedback.pushInfo(f"{hidden} zone(s) with fewer than {floor} residents get no "
                              "index: read their parent zone")
        progress(80)
        index = pub.index.assign(population=population)
        out = {"OUTPUT": write_zone_sink(self, index, geometry, parameters, "OUTPUT", context,
                                         crs)}
        comp = pub.contributions
        out["OUTPUT_COMPONENTS"] = self.write_sink(nulls(comp), parameters, "OUTPUT_COMPONENTS",
                                                   context, types=field_types(comp))
        if context.willLoadLayerOnCompletion(out["OUTPUT"]):
            post = _POST_PROCESSORS[out["OUTPUT"]] = GraduateScore()
            context.layerToLoadOnCompletionDetails(out["OUTPUT"]).setPostProcessor(post)
        return out


def _graduate_class():
    from qgis.core import QgsProcessingLayerPostProcessorInterface

    class Graduate(QgsProcessingLayerPostProcessorInterface):
        def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API)
            from ..maps import graduate
            if isinstance(layer, QgsVectorLayer) and layer.fields().indexOf("score") >= 0:
                graduate(layer, "score", invert=True)  # red = most vulnerable
    return Graduate


GraduateScore = _graduate_class()


# --- shared by the comparison algorithms (no formulas) -----------------------------

def add_indicators(alg):
    """INDICATORS: the zone × target polygon layer of welfare:zone_indicators."""
    return alg.add(QgsProcessingParameterFeatureSource(
        "INDICATORS", "INDICATORS", [QgsProcessing.TypeVectorPolygon]))


def read_indicators(alg, parameters, context, progress=None, *, target_crs=None):
    """(typed indicator rows, zone_id -> MultiPolygon WKB, CRS of the geometry)."""
    import pandas as pd
    from qgis.core import QgsFeatureRequest, QgsProcessingException
    from welfare_core.errors import InputError
    from . import frames
    source = alg.parameterAsSource(parameters, "INDICATORS", context)
    if source is None:
        raise QgsProcessingException(alg.invalidSourceError(parameters, "INDICATORS"))
    request = QgsFeatureRequest()
    crs = source.sourceCrs()
    if target_crs is not None and target_crs.isValid() and target_crs != crs:
        request.setDestinationCrs(target_crs, context.transformContext())
        crs = target_crs
    rows = frames.source_to_frame(source, ROW_COLUMNS, geometry=True, request=request,
                                  progress=progress)
    missing = [c for c in ("zone_id", "target_id", "polarity", "unit", "demand",
                           "reference_population") if c not in rows]
    if missing:
        raise InputError(f"layer INDICATORS has no column {', '.join(missing)}",
                         hint="use the OUTPUT (by target) layer of welfare:zone_indicators")
    for c in NUMERIC:
        if c in rows:
            rows[c] = pd.to_numeric(rows[c], errors="coerce").astype(float)
    if "published" in rows:
        rows["published"] = rows["published"].map(lambda v: True if v is None else bool(v))
    if rows.duplicated(["zone_id", "target_id"]).any():
        raise InputError("layer INDICATORS has a zone twice for the same target",
                         hint="give the indicators of one level and one year")
    geometry = zone_geometry(rows.drop_duplicates("zone_id"))
    return rows.drop(columns=["geometry"]), geometry, crs


def add_zones(alg):
    """ZONES: the optional zone layer whose parent_id gives each zone's district."""
    return alg.add(QgsProcessingParameterFeatureSource(
        "ZONES", "ZONES", [QgsProcessing.TypeVectorPolygon], optional=True))


def district_map(alg, parameters, context, key="ZONES"):
    """zone_id -> district id from the optional ZONES layer (None when not given)."""
    if parameters.get(key) in (None, ""):
        return None
    from qgis.core import QgsProcessingException
    from welfare_core.indicators import ancestor_map
    from . import frames
    source = alg.parameterAsSource(parameters, key, context)
    if source is None:
        raise QgsProcessingException(alg.invalidSourceError(parameters, key))
    zone = frames.source_to_frame(source, ("zone_id", "level", "parent_id"))
    up = ancestor_map(zone, "district")
    return {z: d for z, d in up.items() if z != d}


def parse_components(text):
    """COMPONENTS: "a, b:coverage_per_100" or a JSON array of names / objects."""
    import json
    from welfare_core.errors import InputError
    text = (text or "").strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError as e:
            raise InputError(f"COMPONENTS is not valid JSON: {e}",
                             hint='e.g. ["pop_65plus", {"name": "pop_0_2", "theme": "children"}]')
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise InputError("COMPONENTS is empty", hint="e.g. pop_65plus, poverty_absolute")
    return names


def field_types(frame):
    """Sink field types from the dtypes (object columns are text)."""
    out = {}
    for c in frame.columns:
        if c == "geometry":
            continue
        kind = frame[c].dtype.kind
        name = str(frame[c].dtype)
        out[c] = ("int" if kind in "iu" or name == "Int64" else "float" if kind == "f"
                  else "bool" if kind == "b" or name == "boolean" else "text")
    return out


def nulls(frame):
    """Nullable pandas columns (<NA>) as object columns of None, for the sinks."""
    frame = frame.copy()
    for c in frame.columns:
        if str(frame[c].dtype) in ("Int64", "boolean"):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


def zone_sink(frame, geometry):
    """(frame with each zone's polygon, field types) for a MultiPolygon sink."""
    types = field_types(frame)
    out = nulls(frame)
    out["geometry"] = out["zone_id"].map(geometry)
    return out, types


def write_zone_sink(alg, frame, geometry, parameters, key, context, crs):
    out, types = zone_sink(frame, geometry)
    return alg.write_sink(out, parameters, key, context, geometry="MultiPolygon", crs=crs,
                          types=types)
