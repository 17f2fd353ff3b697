"""welfare:compare_zones — each zone against the city, its district and its peer group.

A thin door over ``welfare_core.benchmark.benchmark_indicators`` on the zone ×
target layer of welfare:zone_indicators; districts come from the optional
ZONES layer (by parent_id). One polygon per zone × indicator × comparator.
"""
from qgis.core import (QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterNumber, QgsProcessingParameterString)

from .base import FROM_INPUT, WelfareAlgorithm
from .composite_index import (add_indicators, add_zones, district_map, read_indicators,
                              write_zone_sink)
from .hot_spots import VALUE_COLUMNS
from .model_inputs import target_ids

PEERS = ("size", "profile", "none")


class CompareZones(WelfareAlgorithm):
    ALG_ID = "compare_zones"
    GROUP = "composite"
    PUBLICATION = FROM_INPUT  # as safe as INDICATORS

    def declare(self):
        add_indicators(self)
        add_zones(self)
        self.add(QgsProcessingParameterString("TARGET_IDS", "TARGET_IDS", optional=True))
        self.add(QgsProcessingParameterEnum("VALUE_COLUMN", "VALUE_COLUMN", list(VALUE_COLUMNS),
                                            defaultValue=0))
        self.add(QgsProcessingParameterEnum("PEERS", "PEERS", list(PEERS), defaultValue=0))
        self.add(QgsProcessingParameterNumber(
            "PEER_GROUPS", "PEER_GROUPS", QgsProcessingParameterNumber.Integer, defaultValue=5,
            minValue=1))
        self.add(QgsProcessingParameterNumber(
            "THRESHOLD_Z", "THRESHOLD_Z", QgsProcessingParameterNumber.Double, defaultValue=2.0,
            minValue=0.01))
        self.add(QgsProcessingParameterNumber("SEED", "SEED", QgsProcessingParameterNumber.Integer,
                                              defaultValue=0))
        self.add(QgsProcessingParameterBoolean("ONLY_STANDING_OUT", "ONLY_STANDING_OUT",
                                               defaultValue=False))
        self.add_sink("OUTPUT", geometry="MultiPolygon")

    def compute(self, parameters, context, feedback, progress):
        from welfare_core import benchmark
        rows, geometry, crs = read_indicators(self, parameters, context, progress.scaled(0, 50))
        bench = benchmark.benchmark_indicators(
            rows, district_map(self, parameters, context),
            targets=target_ids(self.parameterAsString(parameters, "TARGET_IDS", context)),
            column=VALUE_COLUMNS[self.parameterAsEnum(parameters, "VALUE_COLUMN", context)],
            peers=PEERS[self.parameterAsEnum(parameters, "PEERS", context)],
            peer_groups=self.parameterAsInt(parameters, "PEER_GROUPS", context),
            threshold_z=self.parameterAsDouble(parameters, "THRESHOLD_Z", context),
            seed=self.parameterAsInt(parameters, "SEED", context))
        if self.parameterAsBool(parameters, "ONLY_STANDING_OUT", context):
            bench = bench[bench["stands_out"]]
        feedback.pushInfo(f"{int(bench['stands_out'].sum())} zone × indicator × comparator "
                          "rows stand out")
        progress(80)
        return {"OUTPUT": write_zone_sink(self, bench.reset_index(drop=True), geometry,
                                          parameters, "OUTPUT", context, crs)}
