"""welfare:equity_measures — Gini, Theil (within / between districts), Palma, P90/P10, concentration.

A thin door over ``welfare_core.benchmark.equity_of_indicators`` on the zone ×
target layer of welfare:zone_indicators; districts from the optional ZONES
layer, the vulnerability ranking from an optional welfare:composite_index
output. One row per indicator × measure.
"""
from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterString)

from .base import WelfareAlgorithm
from .composite_index import (add_indicators, add_zones, district_map, field_types,
                              read_indicators)
from .hot_spots import VALUE_COLUMNS
from .model_inputs import target_ids


class EquityMeasures(WelfareAlgorithm):
    ALG_ID = "equity_measures"
    GROUP = "composite"

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
        rows, _, _ = read_indicators(self, parameters, context, progress.scaled(0, 60))
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
        out = benchmark.equity_of_indicators(
            rows, district_map(self, parameters, context),
            targets=target_ids(self.parameterAsString(parameters, "TARGET_IDS", context)),
            column=VALUE_COLUMNS[self.parameterAsEnum(parameters, "VALUE_COLUMN", context)],
            vulnerability=vulnerability, ranked_by=ranked_by)
        out = out[["indicator", "measure", "value", "zones", "weight_total", "mean",
                   "ranked_by", "null_reason"]]
        types = field_types(out)
        types.update(ranked_by="text", null_reason="text")
        return {"OUTPUT": self.write_sink(out, parameters, "OUTPUT", context, types=types)}
