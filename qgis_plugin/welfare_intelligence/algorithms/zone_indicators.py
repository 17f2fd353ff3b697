"""welfare:zone_indicators — need, supply, coverage and gaps per zone × target and × service type.

A thin door over ``welfare_core.indicators.zone_indicators``: read the layers,
call the core, apply ``welfare_core.privacy`` in published mode, write one
polygon feature per zone × target (OUTPUT) and per zone × service type
(OUTPUT_SERVICES).  No formula lives here.

ACCESSIBILITY (default on) adds the service rows' floating-catchment columns
(``welfare_core.indicators.ACCESS_VALUES``, 2SFCA in each type's catchment):
about 0.6 s more on the whole sample city (13 service types, 1,661 sections),
next to the seconds it takes to read its population table.

The big attribute tables are read column by column, only the fields the
core uses: a city's population table has close to a million rows (about 10 s
for Milan's 822k).  Population and households are only needed as totals per
zone and year, so they are summed per (zone, period) right after reading, as
the SQL door does in its query.  Other fields of the layers are dropped, so a
``zone_id`` field on the facilities layer cannot override their location.
"""
from qgis.core import (QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterNumber, QgsProcessingParameterString)

from . import helpdoc
from .base import VALUES_SWITCH, WelfareAlgorithm
from .model_inputs import (CATALOGUE, PUBLISHED, RAW, VALUES, GraduateOnLoad,
                           add_count_unpublished, add_model_tables, field_types, note_left_out,
                           output_frame, read_model, sensitive_targets, style_on_load,
                           target_ids, zone_geometry)

STYLE_FIELD = "coverage_per_100"

# Output field types where a column's dtype may not say it (all-NULL columns).
_INT = ("period", "incidence_rank", "coverage_rank", "gap_rank", "facilities")
_TEXT = ("zone_id", "level", "parent_id", "target_id", "unit", "polarity", "service_type_id",
         "reference_target_id", "null_reason")


class ZoneIndicators(WelfareAlgorithm):
    ALG_ID = "zone_indicators"
    GROUP = "indicators"
    PUBLICATION = VALUES_SWITCH  # published unless VALUES = raw

    def declare(self):
        from welfare_core.model import ZONE_LEVELS
        add_model_tables(self)
        for table in CATALOGUE:
            self.add_table(table, optional=True)
        self.add(QgsProcessingParameterEnum(
            "LEVEL", "LEVEL", list(ZONE_LEVELS), defaultValue=ZONE_LEVELS.index("neighbourhood")))
        self.add(QgsProcessingParameterNumber(
            "PERIOD", "PERIOD", QgsProcessingParameterNumber.Integer, defaultValue=2023))
        self.add(QgsProcessingParameterString("TARGET_IDS", "TARGET_IDS", optional=True))
        self.add(QgsProcessingParameterEnum(
            "VALUES", "VALUES", list(VALUES[helpdoc.language()]), defaultValue=PUBLISHED))
        add_count_unpublished(self)
        self.add(QgsProcessingParameterBoolean("ACCESSIBILITY", "ACCESSIBILITY",
                                               defaultValue=True))
        self.add_target_crs()
        self.add_sink("OUTPUT", geometry="MultiPolygon")
        self.add_sink("OUTPUT_SERVICES", geometry="MultiPolygon")

    def compute(self, parameters, context, feedback, progress):
        from welfare_core.indicators import (ACCESS_VALUES, SERVICE_COLUMNS, TARGET_COLUMNS,
                                             zone_indicators)
        from welfare_core.model import ZONE_LEVELS
        level = ZONE_LEVELS[self.parameterAsEnum(parameters, "LEVEL", context)]
        period = self.parameterAsInt(parameters, "PERIOD", context)
        targets = target_ids(self.parameterAsString(parameters, "TARGET_IDS", context))
        raw = self.parameterAsEnum(parameters, "VALUES", context) == RAW
        access = self.parameterAsBoolean(parameters, "ACCESSIBILITY", context)

        inputs = read_model(self, parameters, context, feedback, progress, small=(0, 10),
                            big=(("demand", (10, 25)), ("population", (25, 60)),
                                 ("household", (60, 70))))
        tables = inputs.tables
        if not set(tables["demand"]["target_id"]) & set(tables["target"]["target_id"]):
            feedback.pushWarning("no demand row is for a target of the catalogue: every "
                                 "demand will be 0; check the TARGETS and DEMAND inputs")
        progress(70)

        rows, services = zone_indicators(tables, level, period, targets=targets,
                                         accessibility=access)
        progress(80)
        if not raw:
            # every published value from published counts only (welfare_core.privacy):
            # the accessibility means are recomputed on the published demands
            from welfare_core.indicators import service_access
            from welfare_core.privacy import (DEFAULT, publish_zone_indicators,
                                              with_published_demand)
            sensitive = sensitive_targets(tables)
            means = (service_access(with_published_demand(tables, DEFAULT, sensitive=sensitive),
                                    level, period) if access else None)
            rows = publish_zone_indicators(rows, DEFAULT, sensitive=sensitive, level=level,
                                           services=services,
                                           service_target=tables["service_target"])
            note_left_out(rows["published"], feedback)
            rows = rows[rows["published"]]
            services = publish_zone_indicators(services, DEFAULT, sensitive=sensitive,
                                               level=level, access=means)
            services = services[services["published"]]
        feedback.pushInfo(f"{len(rows)} zone × target rows, {len(services)} zone × service "
                          f"type rows ({'raw' if raw else 'published'} values)")

        geometry = zone_geometry(tables["zone"])
        service_columns = tuple(c for c in SERVICE_COLUMNS if access or c not in ACCESS_VALUES)
        out = {}
        for key, frame, columns, part in (("OUTPUT", rows, TARGET_COLUMNS, (80, 95)),
                                          ("OUTPUT_SERVICES", services, service_columns,
                                           (95, 100))):
            frame = output_frame(frame, columns, geometry)
            out[key] = self.write_sink(frame, parameters, key, context, geometry="MultiPolygon",
                                       crs=inputs.qgis_crs, types=field_types(columns, _INT, _TEXT),
                                       progress=progress.scaled(*part))
            style_on_load(context, out[key], GraduateOnLoad(STYLE_FIELD))
        return out
