"""welfare:forecast_demand — projected demand of targets per zone, years ahead, with intervals.

A thin door over ``welfare_core.forecast.forecast_demand``: read the layers, call
the core, apply ``welfare_core.forecast.publish_forecast`` in published mode and
write two outputs: a polygon layer with one feature per zone × target and one
field per horizon year (``demand_YYYY``, ``lower_YYYY``, ``upper_YYYY``), and a
chart-friendly long table (one row per zone × target × year).  No formula lives here.
"""
from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from . import helpdoc
from .base import VALUES_SWITCH, WelfareAlgorithm
from .model_inputs import (PUBLISHED, RAW, VALUES, note_left_out, read_model, sensitive_targets,
                           target_ids, zone_geometry)

STEPS = (1, 5)
CONTROLS = {"en": ("none", "cohort-component projection of all zones"),
            "it": ("nessuno", "proiezione per componenti di tutte le zone")}
LONG_COLUMNS = ("zone_id", "level", "target_id", "unit", "period", "base_period", "demand",
                "lower", "upper", "method", "note")
_TEXT = ("zone_id", "level", "target_id", "unit", "method", "note")
_INT = ("period", "base_period")


class ForecastDemand(WelfareAlgorithm):
    ALG_ID = "forecast_demand"
    GROUP = "forecast"
    PUBLICATION = VALUES_SWITCH  # published unless VALUES = raw

    def declare(self):
        from welfare_core.forecast import DAMPING, INTERVAL, METHODS
        from welfare_core.model import ZONE_LEVELS
        self.add_table("zone")
        self.add_table("population")
        self.add_table("target")
        self.add_table("target_prevalence", optional=True)
        self.add_table("household", optional=True)
        self.add_table("target_household", optional=True)
        self.add(QgsProcessingParameterString("TARGET_IDS", "TARGET_IDS",
                                              defaultValue="pop_80plus"))
        self.add(QgsProcessingParameterNumber(
            "HORIZON", "HORIZON", QgsProcessingParameterNumber.Integer, defaultValue=7,
            minValue=1))
        self.add(QgsProcessingParameterEnum("METHOD", "METHOD", list(METHODS), defaultValue=0))
        self.add(QgsProcessingParameterEnum(
            "LEVEL", "LEVEL", list(ZONE_LEVELS), defaultValue=ZONE_LEVELS.index("neighbourhood")))
        self.add(QgsProcessingParameterEnum("STEP", "STEP", [str(s) for s in STEPS],
                                            defaultValue=0), advanced=True)
        self.add(QgsProcessingParameterEnum("CONTROL", "CONTROL",
                                            list(CONTROLS[helpdoc.language()]), defaultValue=0),
                 advanced=True)
        self.add(QgsProcessingParameterNumber(
            "DAMPING", "DAMPING", QgsProcessingParameterNumber.Double, defaultValue=DAMPING,
            minValue=0), advanced=True)
        self.add(QgsProcessingParameterNumber(
            "INTERVAL", "INTERVAL", QgsProcessingParameterNumber.Double, defaultValue=INTERVAL,
            minValue=0.01, maxValue=0.99), advanced=True)
        self.add(QgsProcessingParameterEnum(
            "VALUES", "VALUES", list(VALUES[helpdoc.language()]), defaultValue=PUBLISHED))
        self.add_target_crs()
        self.add_sink("OUTPUT", geometry="MultiPolygon")
        self.add_sink("OUTPUT_TABLE")

    def compute(self, parameters, context, feedback, progress):
        from welfare_core.forecast import METHODS, forecast_demand, publish_forecast
        from welfare_core.model import ZONE_LEVELS
        targets = target_ids(self.parameterAsString(parameters, "TARGET_IDS", context))
        if not targets:
            from welfare_core.errors import InputError
            raise InputError("no target given", hint="write target ids in TARGET_IDS, "
                             "e.g. pop_80plus, pop_0_2")
        level = ZONE_LEVELS[self.parameterAsEnum(parameters, "LEVEL", context)]
        control = (None, "cohort_component")[self.parameterAsEnum(parameters, "CONTROL", context)]
        raw = self.parameterAsEnum(parameters, "VALUES", context) == RAW

        inputs = read_model(self, parameters, context, feedback, progress, small=(0, 50),
                            catalogue=False)
        tables = inputs.tables
        if "target_prevalence" not in tables:
            import pandas as pd
            tables["target_prevalence"] = pd.DataFrame(
                columns=["target_id", "sex", "age_from", "age_to", "prevalence"])
        rows = forecast_demand(
            tables, targets, self.parameterAsInt(parameters, "HORIZON", context),
            method=METHODS[self.parameterAsEnum(parameters, "METHOD", context)], level=level,
            step=STEPS[self.parameterAsEnum(parameters, "STEP", context)], control=control,
            damping=self.parameterAsDouble(parameters, "DAMPING", context),
            interval=self.parameterAsDouble(parameters, "INTERVAL", context),
            progress=progress.scaled(50, 85))
        feedback.pushInfo(rows["note"].iloc[0])
        if not raw:
            pub = publish_forecast(rows, sensitive=sensitive_targets(tables), level=level)
            note_left_out(pub["published"], feedback)
            pub = pub[pub["published"]]
            rows = pub.assign(demand=pub["demand_pub"], lower=pub["lower_pub"],
                              upper=pub["upper_pub"])[list(LONG_COLUMNS)]
        rows = rows[list(LONG_COLUMNS)]

        wide = wide_frame(rows)
        geometry = zone_geometry(tables["zone"])
        wide["geometry"] = wide["zone_id"].map(geometry)
        types = {c: "int" if c in _INT else "text" if c in _TEXT else "float"
                 for c in wide.columns if c != "geometry"}
        out = {"OUTPUT": self.write_sink(wide, parameters, "OUTPUT", context,
                                         geometry="MultiPolygon", crs=inputs.qgis_crs,
                                         types=types, progress=progress.scaled(85, 95))}
        out["OUTPUT_TABLE"] = self.write_sink(
            rows, parameters, "OUTPUT_TABLE", context,
            types={c: "int" if c in _INT else "text" if c in _TEXT else "float"
                   for c in LONG_COLUMNS}, progress=progress.scaled(95, 100))
        return out


def wide_frame(rows):
    """One row per zone × target: demand_YYYY, lower_YYYY, upper_YYYY for every year."""
    import pandas as pd
    keys = ["zone_id", "level", "target_id", "unit", "base_period", "method"]
    pivot = rows.pivot_table(index=keys, columns="period", values=["demand", "lower", "upper"],
                             aggfunc="first", dropna=False)
    years = sorted(rows["period"].unique())
    cols = [(v, y) for y in years for v in ("demand", "lower", "upper")]
    pivot = pivot.reindex(columns=pd.MultiIndex.from_tuples(cols))
    pivot.columns = [f"{v}_{y}" for v, y in cols]
    out = pivot.reset_index()
    out = out.astype({c: object for c in pivot.columns})
    out[list(pivot.columns)] = out[list(pivot.columns)].where(out[list(pivot.columns)].notna(),
                                                              None)
    return out
