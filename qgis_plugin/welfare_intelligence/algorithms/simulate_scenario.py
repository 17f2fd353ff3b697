"""welfare:simulate_scenario — what if the facilities change? Per-zone comparison with the base.

A thin door over ``welfare_core.scenario`` and ``welfare_core.scenario_compare``:
read the layers, turn the user's edited copy of the facility layer into
changes (``scenario.changes_from_facilities``) and/or read a changes table
(``scenario.changes_from_records``), apply them to the base
(``scenario.apply``), compare (``scenario_compare.compare``), apply the
privacy rules in published mode (``scenario_compare.publish_comparison``, as
the ``welfare_bi.scenario_comparison`` view does) and write one polygon
feature per zone × target × measure. No formula lives here.

The loaded result is styled by the core's ``direction`` (gain / loss / none):
the core has no signed "gain" field, and the door computes nothing itself.

``ScenarioAlgorithm`` holds what welfare:compare_scenarios shares with it.
"""
from qgis.core import (QgsFeatureRequest, QgsProcessing, QgsProcessingException,
                       QgsProcessingLayerPostProcessorInterface, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterNumber,
                       QgsProcessingParameterString, QgsVectorLayer)

from . import helpdoc
from .base import TARGET_CRS, VALUES_SWITCH, WelfareAlgorithm
from .model_inputs import (CATALOGUE, PUBLISHED, RAW, VALUES, add_count_unpublished,
                           add_model_tables, counts_unpublished, field_types,
                           model_frame, note_left_out, output_frame, read_model,
                           sensitive_targets, style_on_load, target_ids, unpublished_edits,
                           zone_geometry)

MEASURES = ("demand", "supply", "coverage_per_100", "gap", "access")  # scenario_compare.MEASURES
METHODS = ("2sfca", "3sfca")  # access method of scenario_compare.compare
STYLE_FIELD = "direction"
# columns of a changes table that are bookkeeping, not change parameters
CHANGE_ORDER = "seq"
_INT = ("period",)
_TEXT = ("zone_id", "level", "parent_id", "target_id", "measure", "direction", "null_reason")


class ScenarioAlgorithm(WelfareAlgorithm):
    """Inputs, reading and writing shared by the two scenario algorithms."""

    GROUP = "scenarios"
    PUBLICATION = VALUES_SWITCH  # published unless VALUES = raw

    def declare_base(self):
        add_model_tables(self)

    def declare_options(self):
        from welfare_core.model import ZONE_LEVELS
        for table in CATALOGUE:
            self.add_table(table, optional=True)
        self.add_table("candidate_site", optional=True, advanced=True)
        self.add(QgsProcessingParameterEnum(
            "LEVEL", "LEVEL", list(ZONE_LEVELS), defaultValue=ZONE_LEVELS.index("neighbourhood")))
        self.add(QgsProcessingParameterNumber(
            "PERIOD", "PERIOD", QgsProcessingParameterNumber.Integer, defaultValue=2023))
        self.add(QgsProcessingParameterString("TARGET_IDS", "TARGET_IDS", optional=True))
        self.add(QgsProcessingParameterEnum(
            "MEASURES", "MEASURES", list(MEASURES), allowMultiple=True,
            defaultValue=list(range(len(MEASURES)))))
        self.add(QgsProcessingParameterEnum("METHOD", "METHOD", list(METHODS), defaultValue=0),
                 advanced=True)
        self.add(QgsProcessingParameterEnum(
            "VALUES", "VALUES", list(VALUES[helpdoc.language()]), defaultValue=PUBLISHED))
        add_count_unpublished(self)
        self.add_target_crs()
        self.add_sink("OUTPUT", geometry="MultiPolygon")

    def add_changes(self, key):
        """An optional table of changes (any fields: kind + params, or kind + parameters)."""
        return self.add(QgsProcessingParameterFeatureSource(
            key, key, [QgsProcessing.TypeVector], optional=True))

    # --- reading -----------------------------------------------------------------
    def read_base(self, parameters, context, feedback, progress, *, skip=()):
        """The model tables (base data), typed, catalogue bundled when not given."""
        return read_model(self, parameters, context, feedback, progress, small=(0, 30),
                          big=(("demand", (30, 50)), ("population", (50, 70)),
                               ("household", (70, 90))), skip=skip)

    def read_changes(self, parameters, key, context):
        """The changes of table ``key`` (None when not given), in feature order or by ``seq``."""
        from welfare_core.errors import InputError
        from welfare_core.scenario import changes_from_records

        from . import frames
        if parameters.get(key) in (None, ""):
            return None
        source = self.parameterAsSource(parameters, key, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, key))
        request = QgsFeatureRequest()
        request.setFlags(QgsFeatureRequest.NoGeometry)
        frame = frames.source_to_frame(source, ("kind", "params", CHANGE_ORDER),
                                       request=request)
        if "kind" not in frame.columns:
            raise InputError(f"table {key} has no column kind",
                             hint="one row per change: kind (open, close, move, capacity, "
                                  "demand, catchment, adopt) and its parameters, as a JSON "
                                  "params column or one column each")
        if CHANGE_ORDER in frame.columns:
            frame = frame.sort_values(CHANGE_ORDER, kind="stable")
        try:
            changes = changes_from_records(frame.to_dict("records"))
        except InputError as e:
            raise InputError(f"{key}: {e.message}", hint=e.hint) from None
        left_out = set() if counts_unpublished(self, parameters, context) else \
            getattr(self, "unpublished_ids", set())
        for c in changes:  # an unpublished facility left out: say so, not "unknown id"
            ids = list(c.params.get("facility_ids") or []) + (
                [str(c.params["facility_id"])] if "facility_id" in c.params else [])
            hidden = sorted(set(map(str, ids)) & left_out)
            if c.kind in ("close", "move", "capacity") and hidden:
                raise InputError(f"{key}: change {c.kind!r} names unpublished facilities "
                                 f"{hidden[:5]}, which this run leaves out",
                                 hint="set COUNT_UNPUBLISHED to count them (the output is then "
                                      "not safe to publish), or drop the change")
        return changes

    def read_edited(self, parameters, key, inputs, context, feedback):
        """The user's edited facility layer ``key`` (None when not given), in the working CRS,
        without its unpublished facilities unless COUNT_UNPUBLISHED (``unpublished_edits``)."""
        from welfare_core.errors import InputError
        if parameters.get(key) in (None, ""):
            return None
        edited = self.read_tables({key: parameters[key], TARGET_CRS: inputs.qgis_crs},
                                  context).tables["facility"]
        edited = model_frame("facility", edited, key)
        blank = edited["facility_id"].map(lambda v: v is None or not str(v).strip())
        if blank.any():
            raise InputError(f"{int(blank.sum())} feature(s) of {key} have no facility_id",
                             hint="give every facility, new ones too, its own facility_id")
        for column in ("service_type_id", "capacity"):
            if column not in edited.columns:
                raise InputError(f"layer {key} has no column {column}",
                                 hint="edit a copy of the FACILITIES layer, keeping its fields")
        return unpublished_edits(self, parameters, context, feedback, edited, key)

    def options(self, parameters, context):
        from welfare_core.model import ZONE_LEVELS
        chosen = self.parameterAsEnums(parameters, "MEASURES", context)
        return dict(
            level=ZONE_LEVELS[self.parameterAsEnum(parameters, "LEVEL", context)],
            period=self.parameterAsInt(parameters, "PERIOD", context),
            targets=target_ids(self.parameterAsString(parameters, "TARGET_IDS", context)),
            measures=tuple(MEASURES[i] for i in sorted(chosen)) if chosen else MEASURES,
            method=METHODS[self.parameterAsEnum(parameters, "METHOD", context)],
            raw=self.parameterAsEnum(parameters, "VALUES", context) == RAW)

    # --- comparing and writing ---------------------------------------------------
    def compare_and_write(self, base, scenario, tables, inputs, opts, parameters, context,
                          feedback, progress):
        """``scenario_compare.compare(base, scenario)`` written to OUTPUT (published or raw)."""
        from welfare_core.scenario_compare import COMPARE_COLUMNS, compare
        rows = compare(base, scenario, opts["level"], opts["period"], targets=opts["targets"],
                       measures=opts["measures"], method=opts["method"],
                       progress=progress.scaled(0, 80))
        if not len(rows):
            feedback.pushWarning("no target is affected by the changes, so there is nothing to "
                                 "compare; list TARGET_IDS to see them unchanged")
        if not opts["raw"] and len(rows):
            rows = published(rows, base, scenario, tables, opts, feedback)
        changed = int(rows["direction"].isin(["gain", "loss"]).sum())
        feedback.pushInfo(f"{len(rows)} zone × target × measure rows, {changed} changed "
                          f"({'raw' if opts['raw'] else 'published'} values)")
        frame = output_frame(rows, COMPARE_COLUMNS, zone_geometry(tables["zone"]))
        dest = self.write_sink(frame, parameters, "OUTPUT", context, geometry="MultiPolygon",
                               crs=inputs.qgis_crs,
                               types=field_types(COMPARE_COLUMNS, _INT, _TEXT),
                               progress=progress.scaled(80, 100))
        style_on_load(context, dest, DirectionOnLoad(STYLE_FIELD))
        return {"OUTPUT": dest}


class SimulateScenario(ScenarioAlgorithm):
    ALG_ID = "simulate_scenario"

    def declare(self):
        self.declare_base()
        self.add_table("facility", key="EDITED_FACILITIES", optional=True)
        self.add_changes("CHANGES")
        self.declare_options()

    def compute(self, parameters, context, feedback, progress):
        from welfare_core import scenario as sc
        from welfare_core.errors import InputError
        from welfare_core.scenario_compare import prepare
        if all(parameters.get(k) in (None, "") for k in ("EDITED_FACILITIES", "CHANGES")):
            raise InputError("no changes given: EDITED_FACILITIES and CHANGES are both empty",
                             hint="give an edited copy of the FACILITIES layer as "
                                  "EDITED_FACILITIES, or a table of changes as CHANGES, or both")
        opts = self.options(parameters, context)
        inputs = self.read_base(parameters, context, feedback, progress.scaled(0, 40),
                                skip=("EDITED_FACILITIES",))
        tables = inputs.tables
        changes = []
        edited = self.read_edited(parameters, "EDITED_FACILITIES", inputs, context, feedback)
        if edited is not None:
            changes += sc.changes_from_facilities(tables["facility"], edited)
        listed = self.read_changes(parameters, "CHANGES", context)
        if listed is not None:
            changes += listed
        feedback.pushInfo(f"{len(changes)} change(s): " + (", ".join(
            f"{c.kind} {c.to_json()}" for c in changes) or "none"))
        progress(45)
        base = prepare(tables)
        scenario = sc.apply(base, changes)
        progress(50)
        return self.compare_and_write(base, scenario, tables, inputs, opts, parameters,
                                      context, feedback, progress.scaled(50, 100))


class DirectionOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Style a loaded comparison by the core's ``direction``: loss red, gain blue."""

    def __init__(self, field):
        super().__init__()
        self.field = field

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API)
        from ..maps import categorise_direction
        if isinstance(layer, QgsVectorLayer) and layer.fields().indexOf(self.field) >= 0:
            categorise_direction(layer, self.field)


def published(rows, base, scenario, tables, opts, feedback):
    """The published comparison, as ``welfare_bi.scenario_comparison`` shows it: coverage,
    gap and access computed on published demand (``scenario_compare.published_comparison``)."""
    from welfare_core.privacy import DEFAULT
    from welfare_core.scenario_compare import published_comparison
    pub = published_comparison(base, scenario, opts["level"], opts["period"], rules=DEFAULT,
                               sensitive=sensitive_targets(tables), comparison=rows,
                               targets=opts["targets"], measures=opts["measures"],
                               method=opts["method"])
    note_left_out(pub["published"], feedback)
    shown = pub["change_pub"].notna()
    # the direction of the PUBLISHED change (a raw 301 -> 302 is "loss", published 300 -> 300)
    rows = rows.assign(base=pub["base_pub"], scenario=pub["scenario_pub"],
                       change=pub["change_pub"], change_pct=pub["change_pct_pub"],
                       direction=pub["direction_pub"].astype(object).where(shown, None))
    for column in ("demand_effect", "supply_effect", "catchment_effect"):
        # hidden with the change; demand parts rounded to sum to the published change
        rows[column] = pub[f"{column}_pub"].astype(object).where(shown, None)
    return rows[pub["published"].to_numpy()].reset_index(drop=True)
