"""welfare:accessibility — access to a service type per zone × target (2SFCA, 3SFCA, gravity).

A thin door over ``welfare_core.zone_access.zone_accessibility``: read the
layers, call the core, apply ``welfare_core.privacy`` in published mode
(``zone_access.publish_accessibility``), write one polygon feature per zone ×
target. No formula and no distance lives here: the core computes distances
from the zones' and facilities' coordinates in the working CRS.
"""
from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from . import helpdoc
from .base import VALUES_SWITCH, WelfareAlgorithm
from .model_inputs import (CATALOGUE, PUBLISHED, RAW, VALUES, GraduateOnLoad,
                           add_count_unpublished, field_types,
                           note_left_out, output_frame, read_model, sensitive_targets,
                           style_on_load, zone_geometry)

METHODS = ("2sfca", "3sfca", "gravity")  # METHOD options: the index is stored in models
STYLE_FIELD = "access"
_INT = ("period",)
_TEXT = ("zone_id", "level", "parent_id", "municipality_code", "service_type_id", "target_id",
         "method", "cost_unit", "null_reason")


class Accessibility(WelfareAlgorithm):
    ALG_ID = "accessibility"
    GROUP = "accessibility"
    PUBLICATION = VALUES_SWITCH  # published unless VALUES = raw

    def declare(self):
        from welfare_core.model import ZONE_LEVELS
        for table in ("zone", "demand", "facility"):
            self.add_table(table)
        for table in CATALOGUE:
            self.add_table(table, optional=True)
        self.add(QgsProcessingParameterString("SERVICE_TYPE", "SERVICE_TYPE"))
        self.add(QgsProcessingParameterEnum(
            "LEVEL", "LEVEL", list(ZONE_LEVELS), defaultValue=ZONE_LEVELS.index("section")))
        self.add(QgsProcessingParameterNumber(
            "PERIOD", "PERIOD", QgsProcessingParameterNumber.Integer, defaultValue=2023))
        self.add(QgsProcessingParameterEnum("METHOD", "METHOD", list(METHODS), defaultValue=0))
        self.add(QgsProcessingParameterNumber(
            "MAX_COST", "MAX_COST", QgsProcessingParameterNumber.Double, optional=True))
        self.add(QgsProcessingParameterEnum(
            "VALUES", "VALUES", list(VALUES[helpdoc.language()]), defaultValue=PUBLISHED))
        add_count_unpublished(self)
        self.add_target_crs()
        self.add_sink("OUTPUT", geometry="MultiPolygon")

    def compute(self, parameters, context, feedback, progress):
        from welfare_core.model import ZONE_LEVELS
        from welfare_core.zone_access import ACCESS_COLUMNS, zone_accessibility
        service_type = self.parameterAsString(parameters, "SERVICE_TYPE", context).strip()
        level = ZONE_LEVELS[self.parameterAsEnum(parameters, "LEVEL", context)]
        period = self.parameterAsInt(parameters, "PERIOD", context)
        method = METHODS[self.parameterAsEnum(parameters, "METHOD", context)]
        max_cost = (None if parameters.get("MAX_COST") in (None, "")
                    else self.parameterAsDouble(parameters, "MAX_COST", context))
        raw = self.parameterAsEnum(parameters, "VALUES", context) == RAW

        inputs = read_model(self, parameters, context, feedback, progress, small=(0, 40),
                            count_targets=False)
        tables = inputs.tables
        progress(45)

        rows = zone_accessibility(tables, service_type, period, level, method=method,
                                  max_cost=max_cost, progress=progress.scaled(45, 85))
        if not raw:
            # access computed again on the published demands (welfare_core.privacy)
            from welfare_core.privacy import DEFAULT
            from welfare_core.zone_access import published_accessibility
            pub = published_accessibility(tables, service_type, period, level, rules=DEFAULT,
                                          sensitive=sensitive_targets(tables), rows=rows,
                                          method=method, max_cost=max_cost)
            note_left_out(pub["published"], feedback)
            rows = pub[pub["published"]]
        feedback.pushInfo(f"{len(rows)} zone × target rows for service type {service_type} "
                          f"({method}, cutoff {rows['max_cost'].iloc[0] if len(rows) else '-'} "
                          f"{rows['cost_unit'].iloc[0] if len(rows) else ''}; "
                          f"{'raw' if raw else 'published'} values)")

        frame = output_frame(rows, ACCESS_COLUMNS, zone_geometry(tables["zone"]))
        dest = self.write_sink(frame, parameters, "OUTPUT", context, geometry="MultiPolygon",
                               crs=inputs.qgis_crs,
                               types=field_types(ACCESS_COLUMNS, _INT, _TEXT),
                               progress=progress.scaled(85, 100))
        style_on_load(context, dest, GraduateOnLoad(STYLE_FIELD))
        return {"OUTPUT": dest}
