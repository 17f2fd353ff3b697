"""welfare:close_facilities and welfare:sweep_locations — closure plans and trade-off curves.

Two thin doors over ``welfare_core.optimise.zone_models``:

* ``close_facilities`` (``close_points``): which K of the facilities to close
  with the least loss of coverage within MAX_COST (a separate algorithm
  rather than a MODE of optimise_locations: its inputs are the facilities
  only, its objective is a loss, and a separate id keeps users' models
  stable). Writes the facilities (``chosen`` false = close it), the
  allocation after closing and a one-row summary (objective = coverage lost).
* ``sweep_locations`` (``sweep_points``): optimise_locations for 0 .. MAX_NEW
  new sites; writes the curve (objective, coverage, marginal gain) as a table.

Layers are read as in optimise_locations (point on surface, one projected
metric CRS); the core computes distances and solves exactly (HiGHS). Both
take optimise_locations' optional OD table (``add_od_table`` / ``read_od``),
whose costs then replace the planar distances.
"""
from qgis.core import (QgsProcessing, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterNumber)

from .base import RAW, WelfareAlgorithm
from .optimise_locations import (add_layers, add_od_table, add_outputs, read_od, read_points, working_crs,
                                 write_lines, write_sites, write_summary)

SWEEP_MODELS = ("mclp", "p_median")  # MODEL options of sweep_locations: the index is stored in models
_KINDS = [QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon]


def _max_cost(alg, parameters, context):
    return None if parameters.get("MAX_COST") in (None, "") else alg.parameterAsDouble(parameters, "MAX_COST", context)


class CloseFacilities(WelfareAlgorithm):
    ALG_ID = "close_facilities"
    GROUP = "optimisation"
    PUBLICATION = RAW  # demand covered / lost: raw counts

    def declare(self):
        add_layers(self)
        self.add(QgsProcessingParameterFeatureSource("FACILITIES", "FACILITIES", _KINDS))
        self.add(QgsProcessingParameterField("FACILITY_ID", "FACILITY_ID", parentLayerParameterName="FACILITIES",
                                             optional=True))
        self.add(QgsProcessingParameterField("FACILITY_CAPACITY", "FACILITY_CAPACITY",
                                             parentLayerParameterName="FACILITIES",
                                             type=QgsProcessingParameterField.Numeric, optional=True))
        self.add(QgsProcessingParameterField("KEEP", "KEEP", parentLayerParameterName="FACILITIES", optional=True))
        self.add(QgsProcessingParameterNumber("K", "K", QgsProcessingParameterNumber.Integer, defaultValue=1,
                                              minValue=0))
        self.add(QgsProcessingParameterNumber("MAX_COST", "MAX_COST", QgsProcessingParameterNumber.Double,
                                              minValue=0.0))
        self.add(QgsProcessingParameterBoolean("CAPACITATED", "CAPACITATED", defaultValue=False))
        self.add(QgsProcessingParameterNumber("TIME_LIMIT", "TIME_LIMIT", QgsProcessingParameterNumber.Double,
                                              defaultValue=60.0, minValue=0.1))
        add_od_table(self)
        add_outputs(self)

    def compute(self, parameters, context, feedback, progress):
        from welfare_core.errors import InputError
        from welfare_core.optimise.zone_models import close_points
        crs = working_crs(self, parameters, context)
        field = lambda k: self.parameterAsString(parameters, k, context) or None  # noqa: E731
        weight, cap, keep = field("DEMAND_WEIGHT"), field("FACILITY_CAPACITY"), field("KEEP")
        d_ids, d_xy, d_vals = read_points(self, parameters, "DEMAND", context, crs, [weight], field("DEMAND_ID"))
        progress(10)
        f_ids, f_xy, f_vals = read_points(self, parameters, "FACILITIES", context, crs, [cap, keep],
                                          field("FACILITY_ID"))
        progress(20)
        capacitated = self.parameterAsBool(parameters, "CAPACITATED", context)
        if capacitated and cap is None:
            raise InputError("CAPACITATED needs FACILITY_CAPACITY")
        keep_ids = [i for i, v in zip(f_ids, f_vals[keep]) if v] if keep else None
        cost, unit = read_od(self, parameters, context, feedback, d_ids, f_ids, ["DEMAND_ID", "FACILITY_ID"])
        sites, alloc, summary = close_points(
            d_xy, d_vals[weight], f_xy, self.parameterAsInt(parameters, "K", context),
            _max_cost(self, parameters, context), keep=keep_ids, capacity=f_vals[cap] if capacitated else None,
            demand_ids=d_ids, facility_ids=f_ids, time_limit=self.parameterAsDouble(parameters, "TIME_LIMIT", context),
            progress=progress.scaled(20, 85), cost=cost, cost_unit=unit)
        closed = sites.loc[~sites["chosen"], "site_id"].tolist()
        feedback.pushInfo(f"close {', '.join(map(str, closed)) or 'nothing'}: coverage lost {summary['objective']:g} "
                          f"({summary['coverage_pct_before']} % -> {summary['coverage_pct_after']} %); status "
                          f"{summary['status']}, gap {summary['gap']}, {summary['seconds']:.2f} s ({summary['solver']})")
        out = {"SITES": write_sites(self, sites, parameters, "SITES", context, crs)}
        progress(90)
        out["ALLOCATION"] = write_lines(self, alloc, dict(zip(d_ids, map(tuple, d_xy))),
                                        dict(zip(sites["site_id"], zip(sites["x"], sites["y"]))), parameters,
                                        "ALLOCATION", context, crs)
        out["SUMMARY"] = write_summary(self, summary, parameters, "SUMMARY", context)
        progress(100)
        return out


class SweepLocations(WelfareAlgorithm):
    ALG_ID = "sweep_locations"
    GROUP = "optimisation"
    PUBLICATION = RAW  # demand covered / lost: raw counts

    def declare(self):
        add_layers(self)
        self.add(QgsProcessingParameterFeatureSource("CANDIDATES", "CANDIDATES", _KINDS))
        self.add(QgsProcessingParameterField("CANDIDATE_ID", "CANDIDATE_ID", parentLayerParameterName="CANDIDATES",
                                             optional=True))
        self.add(QgsProcessingParameterField("CANDIDATE_CAPACITY", "CANDIDATE_CAPACITY",
                                             parentLayerParameterName="CANDIDATES",
                                             type=QgsProcessingParameterField.Numeric, optional=True))
        self.add(QgsProcessingParameterFeatureSource("EXISTING", "EXISTING", _KINDS, optional=True))
        self.add(QgsProcessingParameterField("EXISTING_ID", "EXISTING_ID", parentLayerParameterName="EXISTING",
                                             optional=True))
        self.add(QgsProcessingParameterField("EXISTING_CAPACITY", "EXISTING_CAPACITY",
                                             parentLayerParameterName="EXISTING",
                                             type=QgsProcessingParameterField.Numeric, optional=True))
        self.add(QgsProcessingParameterEnum("MODEL", "MODEL", list(SWEEP_MODELS), defaultValue=0))
        self.add(QgsProcessingParameterNumber("MAX_NEW", "MAX_NEW", QgsProcessingParameterNumber.Integer,
                                              defaultValue=5, minValue=0))
        self.add(QgsProcessingParameterNumber("MAX_COST", "MAX_COST", QgsProcessingParameterNumber.Double,
                                              optional=True, minValue=0.0))
        self.add(QgsProcessingParameterBoolean("CAPACITATED", "CAPACITATED", defaultValue=False))
        self.add(QgsProcessingParameterNumber("TIME_LIMIT", "TIME_LIMIT", QgsProcessingParameterNumber.Double,
                                              defaultValue=60.0, minValue=0.1))
        add_od_table(self)
        self.add_target_crs()
        self.add_sink("SWEEP")

    def compute(self, parameters, context, feedback, progress):
        from welfare_core.errors import InputError
        from welfare_core.optimise.zone_models import sweep_points
        crs = working_crs(self, parameters, context)
        field = lambda k: self.parameterAsString(parameters, k, context) or None  # noqa: E731
        weight, c_cap, e_cap = field("DEMAND_WEIGHT"), field("CANDIDATE_CAPACITY"), field("EXISTING_CAPACITY")
        d_ids, d_xy, d_vals = read_points(self, parameters, "DEMAND", context, crs, [weight], field("DEMAND_ID"))
        c_ids, c_xy, c_vals = read_points(self, parameters, "CANDIDATES", context, crs, [c_cap],
                                          field("CANDIDATE_ID"))
        existing = read_points(self, parameters, "EXISTING", context, crs, [e_cap], field("EXISTING_ID"),
                               optional=True)
        progress(15)
        capacitated = self.parameterAsBool(parameters, "CAPACITATED", context)
        if capacitated and (c_cap is None or (existing is not None and e_cap is None)):
            raise InputError("CAPACITATED needs CANDIDATE_CAPACITY (and EXISTING_CAPACITY when EXISTING is given)")
        e_ids, e_xy, e_vals = existing if existing is not None else ([], None, {})
        if set(e_ids) & set(c_ids):
            raise InputError("EXISTING and CANDIDATES share ids; choose id fields that tell them apart")
        model = SWEEP_MODELS[self.parameterAsEnum(parameters, "MODEL", context)]
        cost, _unit = read_od(self, parameters, context, feedback, d_ids, list(e_ids) + list(c_ids),
                              ["DEMAND_ID", "CANDIDATE_ID"] + (["EXISTING_ID"] if existing is not None else []))
        curve = sweep_points(model, d_xy, d_vals[weight], c_xy, self.parameterAsInt(parameters, "MAX_NEW", context),
                             _max_cost(self, parameters, context), existing_xy=e_xy,
                             candidate_capacity=c_vals.get(c_cap) if capacitated else None,
                             existing_capacity=e_vals.get(e_cap) if capacitated else None, candidate_ids=c_ids,
                             existing_ids=e_ids, time_limit=self.parameterAsDouble(parameters, "TIME_LIMIT", context),
                             progress=progress.scaled(15, 90), cost=cost)
        for r in curve.itertuples():
            feedback.pushInfo(f"{r.new_sites} new: objective {r.objective:g}, coverage {r.coverage_pct} %, "
                              f"gain {r.gain}, {r.status}")
        frame = curve.assign(new_site_ids=[",".join(map(str, ids)) for ids in curve["new_site_ids"]])
        types = {"new_sites": "int", "p": "int", "objective": "float", "covered": "float", "coverage_pct": "float",
                 "gain": "float", "status": "text", "gap": "float", "new_site_ids": "text", "seconds": "float"}
        out = {"SWEEP": self.write_sink(frame, parameters, "SWEEP", context, types=types)}
        progress(100)
        return out
