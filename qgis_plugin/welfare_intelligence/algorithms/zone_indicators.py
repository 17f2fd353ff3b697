"""welfare:zone_indicators — need, supply, coverage and gaps per zone × target and × service type.

A thin door over ``welfare_core.indicators.zone_indicators``: read the layers,
call the core, apply ``welfare_core.privacy`` in published mode, write one
polygon feature per zone × target (OUTPUT) and per zone × service type
(OUTPUT_SERVICES).  No formula lives here.

The big attribute tables are read column by column, only the fields the
core uses: a city's population table has close to a million rows (about 10 s
for Milan's 822k).  Population and households are only needed as totals per
zone and year, so they are summed per (zone, period) right after reading, as
the SQL door does in its query.  Other fields of the layers are dropped, so a
``zone_id`` field on the facilities layer cannot override their location.
"""
import os

from qgis.core import (QgsFeatureRequest, QgsGeometry, QgsProcessingException,
                       QgsProcessingFeatureSource, QgsProcessingLayerPostProcessorInterface,
                       QgsProcessingParameterEnum, QgsProcessingParameterNumber,
                       QgsProcessingParameterString, QgsVectorLayer)

from .. import PLUGIN_DIR
from . import helpdoc
from .base import WelfareAlgorithm

CATALOGUE_DIR = os.path.join(PLUGIN_DIR, "catalogue")
CATALOGUE = ("target", "service_type", "service_target")
# Attribute tables with many rows: only the columns the core uses are read
# (much faster than whole features); population and households as sums per
# zone and year, all the core needs of them.
COLUMNS = {"demand": ("zone_id", "target_id", "period", "demand"),
           "population": ("zone_id", "period", "persons"),
           "household": ("zone_id", "period", "households")}
SUMMED = {"population": "persons", "household": "households"}
# VALUES options; the index is what models store, the labels may be translated.
VALUES = {"en": ("published (privacy rules applied)", "raw (analysts only)"),
          "it": ("pubblicati (regole di riservatezza applicate)", "grezzi (solo analisti)")}
PUBLISHED, RAW = 0, 1
STYLE_FIELD = "coverage_per_100"

# Output field types where a column's dtype may not say it (all-NULL columns).
_INT = ("period", "incidence_rank", "coverage_rank", "gap_rank", "facilities")
_TEXT = ("zone_id", "level", "parent_id", "target_id", "unit", "polarity", "service_type_id",
         "reference_target_id", "null_reason")

# Post-processors must outlive the algorithm run (QGIS keeps only a pointer).
_POST_PROCESSORS = {}


class ZoneIndicators(WelfareAlgorithm):
    ALG_ID = "zone_indicators"
    GROUP = "indicators"

    def declare(self):
        from welfare_core.model import ZONE_LEVELS
        for table in ("zone", "demand", "population"):
            self.add_table(table)
        self.add_table("household", optional=True)
        self.add_table("facility")
        for table in CATALOGUE:
            self.add_table(table, optional=True)
        self.add(QgsProcessingParameterEnum(
            "LEVEL", "LEVEL", list(ZONE_LEVELS), defaultValue=ZONE_LEVELS.index("neighbourhood")))
        self.add(QgsProcessingParameterNumber(
            "PERIOD", "PERIOD", QgsProcessingParameterNumber.Integer, defaultValue=2023))
        self.add(QgsProcessingParameterString("TARGET_IDS", "TARGET_IDS", optional=True))
        self.add(QgsProcessingParameterEnum(
            "VALUES", "VALUES", list(VALUES[helpdoc.language()]), defaultValue=PUBLISHED))
        self.add_target_crs()
        self.add_sink("OUTPUT", geometry="MultiPolygon")
        self.add_sink("OUTPUT_SERVICES", geometry="MultiPolygon")

    def compute(self, parameters, context, feedback, progress):
        from welfare_core.indicators import SERVICE_COLUMNS, TARGET_COLUMNS, zone_indicators
        from welfare_core.model import ZONE_LEVELS
        level = ZONE_LEVELS[self.parameterAsEnum(parameters, "LEVEL", context)]
        period = self.parameterAsInt(parameters, "PERIOD", context)
        targets = target_ids(self.parameterAsString(parameters, "TARGET_IDS", context))
        raw = self.parameterAsEnum(parameters, "VALUES", context) == RAW

        # Layers and small tables through the base (CRS checks, reprojection) ...
        keys = {table: key for key, table in self._tables.items()}
        inputs = self.read_tables({k: v for k, v in parameters.items()
                                   if k not in (keys[t] for t in COLUMNS)},
                                  context, progress.scaled(0, 10))
        tables = inputs.tables
        # ... the big attribute tables column by column.
        for table, part in (("demand", (10, 25)), ("population", (25, 60)),
                            ("household", (60, 70))):
            if parameters.get(keys[table]) in (None, ""):
                continue  # households are optional
            source = self.parameterAsSource(parameters, keys[table], context)
            if source is None:
                raise QgsProcessingException(self.invalidSourceError(parameters, keys[table]))
            frame = read_columns(source, keys[table], table, progress.scaled(*part))
            if table in SUMMED:
                frame = frame.groupby(["zone_id", "period"], as_index=False,
                                      sort=True)[SUMMED[table]].sum()
            tables[table] = frame
        given = [t for t in CATALOGUE if t in tables]
        if not given:
            tables.update(bundled_catalogue())
            feedback.pushInfo("catalogue: the bundled sample catalogue "
                              f"({len(tables['target'])} targets, "
                              f"{len(tables['service_type'])} service types)")
        elif len(given) < len(CATALOGUE):
            from welfare_core.errors import InputError
            missing = [keys[t] for t in CATALOGUE if t not in given]
            raise InputError(f"{', '.join(missing)} not given while "
                             f"{', '.join(keys[t] for t in given)} is",
                             hint="give TARGETS, SERVICE_TYPES and SERVICE_TARGETS together, "
                                  "or none of them to use the bundled sample catalogue")
        for table, frame in tables.items():
            tables[table] = model_frame(table, frame, keys[table])
        if not set(tables["demand"]["target_id"]) & set(tables["target"]["target_id"]):
            feedback.pushWarning("no demand row is for a target of the catalogue: every "
                                 "demand will be 0; check the TARGETS and DEMAND inputs")
        progress(70)

        rows, services = zone_indicators(tables, level, period, targets=targets)
        progress(80)
        if not raw:
            from welfare_core.privacy import DEFAULT, publish_zone_indicators
            target = tables["target"]
            sensitive = target.loc[target["sensitive"].fillna(False).astype(bool), "target_id"]
            rows = publish_zone_indicators(rows, DEFAULT, sensitive=list(sensitive), level=level)
            hidden = int((~rows["published"]).sum())
            if hidden:
                feedback.pushInfo(f"{hidden} row(s) of sensitive targets left out: they are "
                                  f"published only at coarser levels")
            rows = rows[rows["published"]]
            services = publish_zone_indicators(services, DEFAULT, level=level)
            services = services[services["published"]]
        feedback.pushInfo(f"{len(rows)} zone × target rows, {len(services)} zone × service "
                          f"type rows ({'raw' if raw else 'published'} values)")

        geometry = zone_geometry(tables["zone"])
        out = {}
        for key, frame, columns, part in (("OUTPUT", rows, TARGET_COLUMNS, (80, 95)),
                                          ("OUTPUT_SERVICES", services, SERVICE_COLUMNS,
                                           (95, 100))):
            frame = output_frame(frame, columns, geometry)
            out[key] = self.write_sink(frame, parameters, key, context, geometry="MultiPolygon",
                                       crs=inputs.qgis_crs, types=field_types(columns),
                                       progress=progress.scaled(*part))
            self._style_on_load(out[key], context)
        return out

    def _style_on_load(self, dest, context):
        if context.willLoadLayerOnCompletion(dest):
            post = _POST_PROCESSORS[dest] = GraduateOnLoad(STYLE_FIELD)
            context.layerToLoadOnCompletionDetails(dest).setPostProcessor(post)


class GraduateOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Style a loaded result graduated by ``field`` (quantiles, red = low coverage)."""

    def __init__(self, field):
        super().__init__()
        self.field = field

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API)
        from ..maps import graduate
        if isinstance(layer, QgsVectorLayer) and layer.fields().indexOf(self.field) >= 0:
            graduate(layer, self.field)


# --- data access helpers (no formulas) ---------------------------------------------

def target_ids(text: str):
    """TARGET_IDS "a, b" -> ["a", "b"]; empty -> None (every target)."""
    ids = [t.strip() for t in (text or "").split(",") if t.strip()]
    return ids or None


def read_columns(source, key: str, table: str, progress=None):
    """The ``COLUMNS[table]`` of a processing source as a typed DataFrame, nothing else read."""
    import pandas as pd
    from welfare_core.errors import InputError
    columns = COLUMNS[table]
    names = [n.strip().lower() for n in source.fields().names()]
    missing = [c for c in columns if c not in names]
    if missing:
        raise InputError(f"layer {key} has no column {', '.join(missing)}",
                         hint=f"{key} needs the columns {', '.join(columns)}; "
                              "check it with welfare:validate_data")
    index = [names.index(c) for c in columns]
    request = QgsFeatureRequest()
    request.setFlags(QgsFeatureRequest.NoGeometry)
    request.setSubsetOfAttributes(index)
    total = max(source.featureCount(), 1)
    step = max(total // 50, 1)
    values = [[] for _ in columns]
    appends = [(v.append, i) for v, i in zip(values, index)]
    features = source.getFeatures(request,
                                  QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks)
    for n, f in enumerate(features):
        a = f.attributes()
        for append, i in appends:
            append(a[i])
        if progress is not None and n % step == 0:
            progress(100.0 * n / total)
    frame = model_frame(table, pd.DataFrame({c: _nulls(v) for c, v in zip(columns, values)}),
                        key)
    empty = [c for c in columns if frame[c].isna().any()]
    if empty:
        raise InputError(f"layer {key} has empty values in {', '.join(empty)}",
                         hint="check it with welfare:validate_data")
    return frame


def _nulls(values):
    from qgis.PyQt.QtCore import QVariant
    return [None if isinstance(v, QVariant) else v for v in values]


def bundled_catalogue():
    """The sample city's target, service_type and service_target tables shipped in the plugin."""
    import pandas as pd
    from welfare_core.errors import InputError
    from welfare_core.model import TABLES
    out = {}
    for table in CATALOGUE:
        path = os.path.join(CATALOGUE_DIR, f"{table}.csv")
        if not os.path.exists(path):
            raise InputError("the bundled catalogue is missing from the plugin "
                             f"({path})", hint="install the packaged plugin (make plugin) or "
                             "give TARGETS, SERVICE_TYPES and SERVICE_TARGETS")
        kinds = {c.name: c.kind for c in TABLES[table].columns}
        frame = pd.read_csv(path, dtype={c: str for c, k in kinds.items() if k != "float"},
                            keep_default_na=False, na_values={c: [""] for c in kinds},
                            float_precision="round_trip", encoding="utf-8")
        out[table] = frame
    return out


def model_frame(table, frame, key):
    """``frame`` typed as the model says (numbers from text, booleans from 0/1/true/false)."""
    import pandas as pd
    from welfare_core.errors import InputError
    from welfare_core.model import TABLES
    kinds = {c.name: c.kind for c in TABLES[table].columns}
    frame = frame[[c for c in frame.columns if c in kinds]].copy()  # model columns only
    for name, kind in kinds.items():
        if name not in frame.columns:
            continue
        col = frame[name]
        if kind in ("int", "float") and col.dtype.kind not in "iuf":
            blank = col.map(lambda v: v is None or v != v or (isinstance(v, str) and not v.strip()))
            num = pd.to_numeric(col.where(~blank, None), errors="coerce")
            bad = num.isna() & ~blank
            if bad.any():
                raise InputError(f"layer {key}: column {name} holds "
                                 f"{col[bad].iloc[0]!r}, not a number",
                                 hint="check it with welfare:validate_data")
            frame[name] = num
        elif kind == "bool" and col.dtype.kind != "b":
            frame[name] = col.map(_boolean)
        elif kind == "text":
            frame[name] = col.astype(object).where(col.notna(), None).map(
                lambda v: v if v is None or isinstance(v, str) else str(v))
    return frame


def _boolean(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes", "y")
    return bool(value)


def zone_geometry(zone):
    """zone_id -> MultiPolygon WKB (single polygons promoted, as the sinks are multi)."""
    out = {}
    for zone_id, wkb in zip(zone["zone_id"], zone["geometry"]):
        if wkb is None:
            continue
        g = QgsGeometry()
        g.fromWkb(bytes(wkb))
        g.convertToMultiType()
        out[zone_id] = bytes(g.asWkb())
    return out


def output_frame(frame, columns, geometry):
    """The core's columns in order, NULL as None, plus each zone's geometry."""
    frame = frame[list(columns)].copy()
    for name in columns:
        if str(frame[name].dtype) == "Int64":  # nullable ranks: <NA> -> None
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    frame["geometry"] = frame["zone_id"].map(geometry)
    return frame


def field_types(columns):
    return {c: "int" if c in _INT else "text" if c in _TEXT else "float" for c in columns}
