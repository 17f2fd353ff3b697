"""welfare:equity_measures — Gini, Theil (within / between districts), Palma, P90/P10, concentration.

A thin door over ``welfare_core.benchmark.equity_of_indicators`` on the zone ×
target layer of welfare:zone_indicators, or over
``welfare_core.benchmark.equity_of_access`` on the OUTPUT layer of
welfare:accessibility (VALUE_COLUMN access, share_within or nearest_cost,
zones weighted by their demand); districts from the optional ZONES layer, the
vulnerability ranking from an optional welfare:composite_index output. One
row per indicator × measure.
"""
from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterString)

from .base import FROM_INPUT, WelfareAlgorithm
from .composite_index import (add_indicators, add_zones, district_map, field_types,
                              read_indicators)
from .hot_spots import VALUE_COLUMNS as INDICATOR_COLUMNS
from .model_inputs import target_ids

ACCESS_COLUMNS = ("access", "share_within", "nearest_cost")  # benchmark.ACCESS_COLUMNS
# new choices go at the end: models store the index
VALUE_COLUMNS = INDICATOR_COLUMNS + ACCESS_COLUMNS


class EquityMeasures(WelfareAlgorithm):
    ALG_ID = "equity_measures"
    GROUP = "composite"
    PUBLICATION = FROM_INPUT  # as safe as INDICATORS

    def declare(self):
        add_indicators(self)
        add_zones(self)
        self.add(QgsProcessingParameterFeatureSource(
            "VULNERABILITY", "VULNERABILITY", [QgsProcessing.TypeVector], optional=True))
        self.add(QgsProcessingParameterString("TARGET_IDS", "TARGET_IDS", optional=True))
        self.add(QgsProcessingParameterEnum("VALUE_COLUMN", "VALUE_COLUMN", list(VALUE_COLUMNS),
                                            defaultValue=VALUE_COLUMNS.index("coverage_per_100")))
        self.add_sink("OUTPUT")

    def compute(self, parameters, context, feedback, progress):
        from welfare_core import benchmark
        from welfare_core.errors import InputError
        from . import frames
        column = VALUE_COLUMNS[self.parameterAsEnum(parameters, "VALUE_COLUMN", context)]
        source = self.parameterAsSource(parameters, "INDICATORS", context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, "INDICATORS"))
        fields = set(source.fields().names())
        access_layer = "access" in fields and "reference_population" not in fields
        if access_layer and column not in ACCESS_COLUMNS:
            if parameters.get("VALUE_COLUMN") not in (None, ""):
                raise InputError(f"layer INDICATORS is an accessibility layer: it has no "
                                 f"{column}", hint="choose VALUE_COLUMN access, share_within "
                                 "or nearest_cost")
            column = "access"  # the default of an accessibility layer
        if column in ACCESS_COLUMNS:
            rows = frames.source_to_frame(source, ("zone_id", "target_id", "demand", column),
                                          progress=progress.scaled(0, 60))
            missing = [c for c in ("zone_id", "target_id", "demand", column) if c not in rows]
            if missing:
                raise InputError(f"layer INDICATORS has no column {', '.join(missing)}",
                                 hint="use the OUTPUT layer of welfare:accessibility")
            for c in ("demand", column):
                rows[c] = rows[c].map(lambda v: float("nan") if v is None else float(v))
            measure = benchmark.equity_of_access
        else:
            rows, _, _ = read_indicators(self, parameters, context, progress.scaled(0, 60))
            measure = benchmark.equity_of_indicators
        vulnerability, ranked_by = None, None
        if parameters.get("VULNERABILITY") not in (None, ""):
            source = self.parameterAsSource(parameters, "VULNERABILITY", context)
            if source is None:
                raise QgsProcessingException(self.invalidSourceError(parameters,
                                                                     "VULNERABILITY"))
            v = frames.source_to_frame(source, ("zone_id", "score"))
            if "score" not in v or "zone_id" not in v:
                raise InputError("layer VULNERABILITY has no zone_id and score columns",
                                 hint="use the OUTPUT layer of welfare:composite_index")
            vulnerability = dict(zip(v["zone_id"], v["score"].astype(float)))
            ranked_by = f"layer {source.sourceName()}"
        out = measure(
            rows, district_map(self, parameters, context),
            targets=target_ids(self.parameterAsString(parameters, "TARGET_IDS", context)),
            column=column, vulnerability=vulnerability, ranked_by=ranked_by)
        left = out.attrs.get("left_out", {})
        for indicator, n in sorted(left.items()):
            feedback.pushInfo(f"{indicator}: {n} zone(s) with a suppressed value or weight "
                              "left out; computed on the published zones")
        out = out.assign(left_out=out["indicator"].map(left).fillna(0).astype(int))
        out = out[["indicator", "measure", "value", "zones", "left_out", "weight_total", "mean",
                   "ranked_by", "null_reason"]]
        types = field_types(out)
        types.update(ranked_by="text", null_reason="text")
        return {"OUTPUT": self.write_sink(out, parameters, "OUTPUT", context, types=types)}
