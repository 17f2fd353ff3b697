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
from .base import WelfareAlgorithm

CATALOGUE = ("target", "service_type", "service_target")
METHODS = ("2sfca", "3sfca", "gravity")  # METHOD options: the index is stored in models
VALUES = {"en": ("published (privacy rules applied)", "raw (analysts only)"),
          "it": ("pubblicati (regole di riservatezza applicate)", "grezzi (solo analisti)")}
PUBLISHED, RAW = 0, 1
STYLE_FIELD = "access"
_INT = ("period",)
_TEXT = ("zone_id", "level", "parent_id", "municipality_code", "service_type_id", "target_id",
         "method", "cost_unit", "null_reason")

# Post-processors must outlive the algorithm run (QGIS keeps only a pointer).
_POST_PROCESSORS = {}


class Accessibility(WelfareAlgorithm):
    ALG_ID = "accessibility"
    GROUP = "accessibility"

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
        self.add_target_crs()
        self.add_sink("OUTPUT", geometry="MultiPolygon")

    def compute(self, parameters, context, feedback, progress):
        from welfare_core.errors import InputError
        from welfare_core.model import ZONE_LEVELS
        from welfare_core.zone_access import ACCESS_COLUMNS, zone_accessibility

        from .zone_indicators import bundled_catalogue, model_frame, output_frame, zone_geometry
        service_type = self.parameterAsString(parameters, "SERVICE_TYPE", context).strip()
        level = ZONE_LEVELS[self.parameterAsEnum(parameters, "LEVEL", context)]
        period = self.parameterAsInt(parameters, "PERIOD", context)
        method = METHODS[self.parameterAsEnum(parameters, "METHOD", context)]
        max_cost = (None if parameters.get("MAX_COST") in (None, "")
                    else self.parameterAsDouble(parameters, "MAX_COST", context))
        raw = self.parameterAsEnum(parameters, "VALUES", context) == RAW

        inputs = self.read_tables(parameters, context, progress.scaled(0, 40))
        tables = inputs.tables
        keys = {table: key for key, table in self._tables.items()}
        given = [t for t in CATALOGUE if t in tables]
        if not given:
            tables.update(bundled_catalogue())
            feedback.pushInfo("catalogue: the bundled sample catalogue "
                              f"({len(tables['service_type'])} service types)")
        elif len(given) < len(CATALOGUE):
            missing = [keys[t] for t in CATALOGUE if t not in given]
            raise InputError(f"{', '.join(missing)} not given while "
                             f"{', '.join(keys[t] for t in given)} is",
                             hint="give TARGETS, SERVICE_TYPES and SERVICE_TARGETS together, "
                                  "or none of them to use the bundled sample catalogue")
        for table, frame in tables.items():
            tables[table] = model_frame(table, frame, keys[table])
        progress(45)

        rows = zone_accessibility(tables, service_type, period, level, method=method,
                                  max_cost=max_cost, progress=progress.scaled(45, 85))
        if not raw:
            from welfare_core.privacy import DEFAULT
            from welfare_core.zone_access import publish_accessibility
            target = tables["target"]
            sensitive = target.loc[target["sensitive"].fillna(False).astype(bool), "target_id"]
            pub = publish_accessibility(rows, DEFAULT, sensitive=list(sensitive), level=level)
            hidden = int((~pub["published"]).sum())
            if hidden:
                feedback.pushInfo(f"{hidden} row(s) of sensitive targets left out: they are "
                                  f"published only at coarser levels")
            rows = pub[pub["published"]]
        feedback.pushInfo(f"{len(rows)} zone × target rows for service type {service_type} "
                          f"({method}, cutoff {rows['max_cost'].iloc[0] if len(rows) else '-'} "
                          f"{rows['cost_unit'].iloc[0] if len(rows) else ''}; "
                          f"{'raw' if raw else 'published'} values)")

        frame = output_frame(rows, ACCESS_COLUMNS, zone_geometry(tables["zone"]))
        dest = self.write_sink(frame, parameters, "OUTPUT", context, geometry="MultiPolygon",
                               crs=inputs.qgis_crs, types=field_types(ACCESS_COLUMNS),
                               progress=progress.scaled(85, 100))
        if context.willLoadLayerOnCompletion(dest):
            from .zone_indicators import GraduateOnLoad
            post = _POST_PROCESSORS[dest] = GraduateOnLoad(STYLE_FIELD)
            context.layerToLoadOnCompletionDetails(dest).setPostProcessor(post)
        return {"OUTPUT": dest}


def field_types(columns):
    return {c: "int" if c in _INT else "text" if c in _TEXT else "float" for c in columns}
