"""The one base class of every Welfare Intelligence algorithm.

A subclass declares ``ALG_ID`` (stable, lowercase: it lives in users' models),
``GROUP`` (a key of ``GROUPS``), ``declare()`` (its parameters, through the
``add_*`` helpers) and ``compute()`` (read inputs, call the core, write sinks;
not ``run``, which is QGIS's own).  Everything else comes from here: name,
display name, group, help in English and Italian (``help/<ALG_ID>.<lang>.md``,
labels and help of every parameter included), icon, createInstance, progress
and cancel wiring, the mapping of ``WelfareError`` to
``QgsProcessingException``, reading layers into DataFrames reprojected to a
metric CRS, and writing DataFrames to sinks.

Example, a complete algorithm (plus its two help files and a line in
``algorithms/__init__.py``)::

    class ZoneIndicators(WelfareAlgorithm):
        ALG_ID = "zone_indicators"
        GROUP = "indicators"

        def declare(self):
            for table in ("zone", "population", "demand", "target", "service_type",
                          "service_target", "facility"):
                self.add_table(table)
            self.add(QgsProcessingParameterEnum("LEVEL", "LEVEL", list(ZONE_LEVELS)))
            self.add(QgsProcessingParameterNumber("PERIOD", "PERIOD", defaultValue=2023))
            self.add_target_crs()
            self.add_sink("OUTPUT")

        def compute(self, parameters, context, feedback, progress):
            from welfare_core.indicators import zone_indicators
            inputs = self.read_tables(parameters, context, progress.scaled(0, 50))
            level = ZONE_LEVELS[self.parameterAsEnum(parameters, "LEVEL", context)]
            period = self.parameterAsInt(parameters, "PERIOD", context)
            rows, _ = zone_indicators(inputs.tables, level, period)
            return {"OUTPUT": self.write_sink(rows, parameters, "OUTPUT", context,
                                              progress=progress.scaled(50, 100))}

Import the core inside ``compute`` (not at module level): QGIS loads every
algorithm at start-up and pandas would slow it down.

Every algorithm also declares ``PUBLICATION``, whether its output may be
published (issue #9): ``PUBLISHED`` (privacy rules always applied), ``RAW``
(raw counts), ``NO_COUNTS`` (no counts of people), ``VALUES_SWITCH`` (its
VALUES parameter: published by default, raw on request) or ``FROM_INPUT``
(derived from ``PUBLICATION_INPUT``: as safe as that layer, known only when a
welfare algorithm marked it) or ``DIFFERENTIALLY_PRIVATE`` (noisy counts whose
epsilon was recorded; the algorithm overrides ``publication()``).  The base class adds the string output
PUBLICATION (``safe`` / ``not_safe`` / ``no_counts``), writes one line to the
log, marks the output layers it can reach (custom property
``welfare/publication``) and adds a section to the help.  An algorithm whose
status depends on more than that overrides ``publication()``.  Whatever it
says, a run that counted unpublished facilities (COUNT_UNPUBLISHED, see
model_inputs; ``unpublished_counted`` > 0) is not safe to publish.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from qgis.core import (QgsCoordinateReferenceSystem, QgsFeatureRequest, QgsProcessing,
                       QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingOutputString,
                       QgsProcessingParameterCrs, QgsProcessingParameterDefinition,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingUtils, QgsVectorLayer, QgsWkbTypes)
from qgis.PyQt.QtGui import QIcon

from .. import PLUGIN_DIR
from . import frames, helpdoc

ICON = os.path.join(PLUGIN_DIR, "icons", "welfare.svg")
HELP_URL = ""  # project documentation site, once there is one

# Toolbox groups: stable id -> display name per language.
GROUPS = {
    "data": {"en": "Data", "it": "Dati"},
    "indicators": {"en": "Indicators", "it": "Indicatori"},
    "accessibility": {"en": "Accessibility", "it": "Accessibilità"},
    "optimisation": {"en": "Location and capacity", "it": "Localizzazione e capacità"},
    "scenarios": {"en": "Scenarios", "it": "Scenari"},
    "forecast": {"en": "Forecast", "it": "Previsioni"},
    "composite": {"en": "Composite indices", "it": "Indici compositi"},
    "privacy": {"en": "Privacy", "it": "Privacy"},
}
PARAMETERS_HEADING = {"en": "Parameters", "it": "Parametri"}
COLUMNS_LABEL = {"en": "Columns", "it": "Colonne"}

# One parameter key per model table, the same in every algorithm.
TABLE_KEYS = {
    "source": "SOURCES",
    "zone": "ZONES",
    "household_type": "HOUSEHOLD_TYPES",
    "household": "HOUSEHOLDS",
    "target": "TARGETS",
    "target_prevalence": "TARGET_PREVALENCE",
    "target_household": "TARGET_HOUSEHOLDS",
    "demand": "DEMAND",
    "population": "POPULATION",
    "service_type": "SERVICE_TYPES",
    "service_target": "SERVICE_TARGETS",
    "facility": "FACILITIES",
    "candidate_site": "CANDIDATE_SITES",
    "travel_cost": "TRAVEL_COSTS",
}
TARGET_CRS = "TARGET_CRS"
_SOURCE_TYPES = {"MultiPolygon": QgsProcessing.TypeVectorPolygon,
                 "Point": QgsProcessing.TypeVectorPoint, None: QgsProcessing.TypeVector}
_SINK_TYPES = {"MultiPolygon": (QgsProcessing.TypeVectorPolygon, QgsWkbTypes.MultiPolygon),
               "Point": (QgsProcessing.TypeVectorPoint, QgsWkbTypes.Point),
               None: (QgsProcessing.TypeVector, QgsWkbTypes.NoGeometry)}

# Publication status (``WelfareAlgorithm.PUBLICATION``): what an algorithm declares ...
PUBLISHED, RAW, NO_COUNTS = "published", "raw", "no_counts"
VALUES_SWITCH = "values"  # the VALUES parameter (model_inputs.VALUES) decides
FROM_INPUT = "input"      # as safe as the layer PUBLICATION_INPUT
DIFFERENTIALLY_PRIVATE = "dp"  # noisy counts, epsilon recorded (overrides publication())
PUBLICATION_KINDS = (PUBLISHED, RAW, NO_COUNTS, VALUES_SWITCH, FROM_INPUT,
                     DIFFERENTIALLY_PRIVATE)
# ... and what a run reports: the string output PUBLICATION (stable codes, used in models)
PUBLICATION = "PUBLICATION"
SAFE, NOT_SAFE = "safe", "not_safe"
PUBLICATION_CODES = (SAFE, NOT_SAFE, NO_COUNTS)
LAYER_PROPERTY = "welfare/publication"  # custom property of the output layers: the code


@dataclass(frozen=True)
class Publication:
    """Whether a run's output is safe to publish: ``code`` (PUBLICATION_CODES) and why."""
    code: str
    reason: str  # in the QGIS language

    def line(self) -> str:
        """The log line, e.g. "Safe to publish: privacy rules applied (...)"."""
        return helpdoc.publication_line(self.code, self.reason, helpdoc.language())


@dataclass
class Inputs:
    """What ``read_tables`` returns."""
    tables: dict          # model table name -> DataFrame (geometry as WKB)
    crs: str | None       # working CRS for the core ("EPSG:32632" or WKT), None if unknown
    qgis_crs: QgsCoordinateReferenceSystem  # the same, for output sinks


def core_crs(crs: QgsCoordinateReferenceSystem) -> str | None:
    """A CRS as the core (pyproj) reads it: the EPSG code when there is one, else WKT.

    None when the layer has no CRS, including the "Undefined geographic SRS"
    (srs_id 0) that GDAL writes into a GeoPackage created without one: the fix
    is to assign the real CRS, not to reproject.
    """
    if crs is None or not crs.isValid():
        return None
    if not crs.authid() and crs.description().lower().startswith("undefined"):
        return None
    if crs.authid().upper().startswith("EPSG:"):
        return crs.authid()
    return crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED)


def error_text(error) -> str:
    """A WelfareError as one message a user can act on (no traceback)."""
    hint = {"en": "What to do", "it": "Cosa fare"}[helpdoc.language()]
    return error.message + (f"\n{hint}: {error.hint}" if error.hint else "")


class WelfareAlgorithm(QgsProcessingAlgorithm):
    ALG_ID = ""
    GROUP = "data"
    PUBLICATION = None          # one of PUBLICATION_KINDS: every algorithm declares it
    PUBLICATION_INPUT = "INDICATORS"  # the input layer of a FROM_INPUT algorithm

    def __init__(self):
        super().__init__()
        self._tables = {}  # parameter key -> model table name, in declaration order
        # unpublished facilities this run counted (COUNT_UNPUBLISHED, model_inputs):
        # any makes the output not safe to publish, whatever PUBLICATION says
        self.unpublished_counted = 0
        self.unpublished_ids = set()  # their ids, left out or counted (model_inputs)

    # --- to write in a subclass ------------------------------------------------
    def declare(self) -> None:
        """Add the parameters with the ``add_*`` helpers."""
        raise NotImplementedError

    def compute(self, parameters, context, feedback, progress) -> dict:
        """Do the work; ``progress`` is a welfare_core Progress (0-100, may cancel)."""
        raise NotImplementedError

    def publication(self, parameters, context) -> Publication:
        """Whether this run's output is safe to publish, from ``PUBLICATION``."""
        lang = helpdoc.language()
        kind = self.PUBLICATION
        if kind == VALUES_SWITCH:
            from .model_inputs import RAW as RAW_VALUES
            kind = RAW if self.parameterAsEnum(parameters, "VALUES", context) == RAW_VALUES \
                else PUBLISHED
            if kind == RAW:
                return Publication(NOT_SAFE, helpdoc.PUBLICATION_REASONS["raw_values"][lang])
        if kind == PUBLISHED:
            from welfare_core.privacy import DEFAULT
            return Publication(SAFE, helpdoc.rules_text(DEFAULT, lang))
        if kind == RAW:
            return Publication(NOT_SAFE, helpdoc.PUBLICATION_REASONS["raw"][lang])
        if kind == NO_COUNTS:
            return Publication(NO_COUNTS, helpdoc.PUBLICATION_REASONS["no_counts"][lang])
        if kind == FROM_INPUT:
            key = self.PUBLICATION_INPUT
            layer = self.parameterAsVectorLayer(parameters, key, context)
            mark = layer.customProperty(LAYER_PROPERTY) if layer is not None else None
            if mark == SAFE:
                return Publication(SAFE, helpdoc.PUBLICATION_REASONS["input_safe"][lang]
                                   .format(key=key))
            return Publication(NOT_SAFE, helpdoc.PUBLICATION_REASONS["input_unknown"][lang]
                               .format(key=key))
        # not declared: never claim safety
        return Publication(NOT_SAFE, helpdoc.PUBLICATION_REASONS["undeclared"][lang])

    # --- QGIS API, from the declaration ----------------------------------------
    def name(self):
        return self.ALG_ID

    def help(self) -> helpdoc.AlgorithmHelp:
        return helpdoc.load(self.ALG_ID, helpdoc.language())

    def displayName(self):  # noqa: N802
        return self.help().title or self.ALG_ID

    def group(self):
        return GROUPS[self.GROUP][helpdoc.language()]

    def groupId(self):  # noqa: N802
        return self.GROUP

    def shortHelpString(self):  # noqa: N802
        params = [(p.name(), p.description(), p.help()) for p in self.parameterDefinitions()]
        lang = helpdoc.language()
        return (self.help().html(PARAMETERS_HEADING[lang], params or None)
                + helpdoc.publication_html(self.PUBLICATION, lang, key=self.PUBLICATION_INPUT))

    def helpUrl(self):  # noqa: N802
        return HELP_URL

    def icon(self):
        return QIcon(ICON)

    def svgIconPath(self):  # noqa: N802
        return ICON

    def createInstance(self):  # noqa: N802
        return type(self)()

    def initAlgorithm(self, config=None):  # noqa: N802
        self._tables = {}
        self.declare()
        self.addOutput(QgsProcessingOutputString(
            PUBLICATION, helpdoc.PUBLICATION_LABEL[helpdoc.language()]))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from welfare_core.errors import WelfareError
        from welfare_core.progress import Progress
        progress = Progress(feedback.setProgress, feedback.isCanceled)
        self.unpublished_counted, self.unpublished_ids = 0, set()
        try:
            results = self.compute(parameters, context, feedback, progress)
            status = self._unpublished_status(self.publication(parameters, context))
        except WelfareError as e:
            raise QgsProcessingException(error_text(e)) from None
        (feedback.pushWarning if status.code == NOT_SAFE else feedback.pushInfo)(status.line())
        self._mark_outputs(results, status, context)
        results[PUBLICATION] = status.code
        return results

    def _unpublished_status(self, status: Publication) -> Publication:
        """``status``, made not safe when the run counted unpublished facilities (their
        capacity would show through the zones' supply and access): in one place, for
        every algorithm and whatever its ``publication()`` says."""
        if not self.unpublished_counted:
            return status
        reason = helpdoc.PUBLICATION_REASONS["unpublished_counted"][helpdoc.language()].format(
            n=self.unpublished_counted)
        if status.code == NOT_SAFE:
            return Publication(NOT_SAFE, f"{status.reason}; {reason}")
        return Publication(NOT_SAFE, reason)

    def _mark_outputs(self, results, status, context):
        """Mark the output layers already open (temporary layers) with the code, so that
        a FROM_INPUT algorithm run on them knows; it is saved with the project."""
        for key, value in results.items():
            out = self.outputDefinition(key)
            if out is None or out.type() != "outputVector" or not isinstance(value, str):
                continue
            layer = QgsProcessingUtils.mapLayerFromString(value, context, False)
            if isinstance(layer, QgsVectorLayer):
                layer.setCustomProperty(LAYER_PROPERTY, status.code)

    # --- parameters ------------------------------------------------------------
    def add(self, parameter: QgsProcessingParameterDefinition, *, advanced: bool = False):
        """Add a parameter, taking its label and help from the help file."""
        doc = self.help().parameters.get(parameter.name())
        if doc is not None:
            parameter.setDescription(doc.label)
            parameter.setHelp(doc.text)
        if advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(parameter)
        return parameter

    def add_table(self, table: str, *, key: str | None = None, optional: bool = False,
                  advanced: bool = False):
        """An input layer or table holding the model table ``table`` (see welfare_core.model)."""
        from welfare_core.model import TABLES
        key = key or TABLE_KEYS[table]
        self._tables[key] = table
        spec = TABLES[table]
        param = self.add(QgsProcessingParameterFeatureSource(
            key, key, [_SOURCE_TYPES[spec.geometry_type]], optional=optional), advanced=advanced)
        # The expected columns come from the model, so the help never drifts from it.
        columns = ", ".join(c for c in spec.column_names if c != frames.GEOMETRY)
        param.setHelp(f"{param.help()}\n{COLUMNS_LABEL[helpdoc.language()]}: {columns}".strip())
        return param

    def add_target_crs(self):
        """TARGET_CRS: the projected metric CRS the work is done in."""
        return self.add(QgsProcessingParameterCrs(TARGET_CRS, TARGET_CRS, optional=True))

    def add_sink(self, key: str = "OUTPUT", *, geometry: str | None = None):
        """An output layer (``geometry`` "MultiPolygon" or "Point") or table (None)."""
        return self.add(QgsProcessingParameterFeatureSink(key, key, _SINK_TYPES[geometry][0]))

    # --- reading ---------------------------------------------------------------
    def read_tables(self, parameters, context, progress=None, *,
                    require_projected: bool = True) -> Inputs:
        """Every table input given, as DataFrames in one working CRS.

        The working CRS is TARGET_CRS when given (it must be projected), else
        the CRS of the first geometry input (zones, then facilities, ...);
        other geometry inputs are reprojected to it.  With
        ``require_projected`` a missing or geographic working CRS is an error;
        without (validation) it is passed to the core, which reports it.
        """
        from welfare_core.errors import CrsError, InputError
        from welfare_core.model import TABLES
        from welfare_core.validation import check_projected_crs
        sources = {}
        for key in self._tables:
            if parameters.get(key) in (None, ""):
                continue  # optional input not given
            source = self.parameterAsSource(parameters, key, context)
            if source is None:
                raise QgsProcessingException(self.invalidSourceError(parameters, key))
            sources[key] = source
        geo = [k for k in sources if TABLES[self._tables[k]].geometry_type]
        for key in geo:
            self._check_geometry_type(key, sources[key])

        target = (self.parameterAsCrs(parameters, TARGET_CRS, context)
                  if self.parameterDefinition(TARGET_CRS) else QgsCoordinateReferenceSystem())
        if target.isValid():
            try:
                check_projected_crs(core_crs(target), what=TARGET_CRS)
            except CrsError as e:
                raise CrsError(e.message, hint="choose a projected metric CRS for TARGET_CRS, "
                               "e.g. EPSG:32632 (UTM 32N) for northern Italy") from None
        elif geo:
            target = sources[geo[0]].sourceCrs()
            if core_crs(target) is None:
                target = QgsCoordinateReferenceSystem()
            if require_projected:
                try:
                    check_projected_crs(core_crs(target), what=f"layer {geo[0]}")
                except CrsError as e:
                    raise CrsError(e.message, hint="set TARGET_CRS to a projected metric CRS "
                                   "(e.g. EPSG:32632, UTM 32N, for northern Italy) or "
                                   "assign the layer its CRS") from None

        tables = {}
        for n, (key, source) in enumerate(sources.items()):
            table = self._tables[key]
            request = QgsFeatureRequest()
            if key in geo and target.isValid():
                if core_crs(source.sourceCrs()) is None:
                    raise InputError(
                        f"layer {key} has no coordinate reference system, so it cannot be "
                        f"reprojected to {target.authid() or 'the working CRS'}",
                        hint="set its CRS in the layer properties (Source tab)")
                if source.sourceCrs() != target:
                    request.setDestinationCrs(target, context.transformContext())
            part = progress.scaled(100 * n / len(sources), 100 * (n + 1) / len(sources)) \
                if progress is not None else None
            tables[table] = frames.source_to_frame(
                source, TABLES[table].column_names, geometry=key in geo, request=request,
                progress=part)
        return Inputs(tables, core_crs(target), target)

    def _check_geometry_type(self, key, source):
        """A whole layer of another geometry type is the wrong input, not a data problem."""
        from welfare_core.errors import GeometryError
        from welfare_core.model import TABLES
        expected = TABLES[self._tables[key]].geometry_type
        wanted = {"MultiPolygon": QgsWkbTypes.PolygonGeometry,
                  "Point": QgsWkbTypes.PointGeometry}[expected]
        found = QgsWkbTypes.geometryType(source.wkbType())
        if found not in (wanted, QgsWkbTypes.UnknownGeometry):  # unknown: mixed, rows checked
            raise GeometryError(
                f"layer {key} has {QgsWkbTypes.displayString(source.wkbType())} geometry; "
                f"{self._tables[key]} needs {expected}",
                hint=f"choose a {expected.lower()} layer for {key}")

    # --- writing ---------------------------------------------------------------
    def write_sink(self, frame, parameters, key, context, *, geometry: str | None = None,
                   crs: QgsCoordinateReferenceSystem | None = None, types: dict | None = None,
                   progress=None) -> str:
        """Write ``frame`` to the sink ``key``; returns its destination id.

        ``geometry``: "MultiPolygon" or "Point" to write the ``geometry`` column
        (WKB or shapely) in ``crs``; ``types``: column -> "int" | "float" |
        "bool" | "text" where the dtype does not say it (e.g. empty frames).
        """
        fields = frames.qgis_fields(frame, types)
        sink, dest = self.parameterAsSink(parameters, key, context, fields,
                                          _SINK_TYPES[geometry][1],
                                          crs or QgsCoordinateReferenceSystem())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, key))
        frames.write_frame(sink, frame, fields, progress)
        return dest
