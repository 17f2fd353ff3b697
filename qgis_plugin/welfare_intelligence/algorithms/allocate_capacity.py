"""welfare:allocate_capacity — spread a budget of capacity to minimise unmet demand.

A thin door over ``welfare_core.optimise.allocate_capacity``: read a demand
layer with a need field, the facilities with their capacity and optionally
candidate sites (capacity 0, at most their maximum field), all in one
projected metric CRS; the core computes planar distances within MAX_COST and
solves exactly (HiGHS). Writes the sites with the capacity added, the
demand -> site flows as lines and a one-row summary (unmet demand before and
after, spend, status, gap). An optional OD table (e.g. network costs from
welfare:cost_matrix) replaces the planar distances; MAX_COST is then in its unit.
"""
from qgis.core import (QgsProcessing, QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterNumber)

from .base import RAW, WelfareAlgorithm
from .optimise_locations import (add_layers, add_od_table, add_outputs, read_od, read_points, working_crs,
                                 write_lines, write_sites, write_summary)


class AllocateCapacity(WelfareAlgorithm):
    ALG_ID = "allocate_capacity"
    GROUP = "optimisation"
    PUBLICATION = RAW  # demand served / unmet: raw counts

    def declare(self):
        kinds = [QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon]
        add_layers(self)
        self.add(QgsProcessingParameterFeatureSource("FACILITIES", "FACILITIES", kinds))
        self.add(QgsProcessingParameterField("FACILITY_ID", "FACILITY_ID", parentLayerParameterName="FACILITIES",
                                             optional=True))
        self.add(QgsProcessingParameterField("FACILITY_CAPACITY", "FACILITY_CAPACITY",
                                             parentLayerParameterName="FACILITIES",
                                             type=QgsProcessingParameterField.Numeric))
        self.add(QgsProcessingParameterFeatureSource("CANDIDATES", "CANDIDATES", kinds, optional=True))
        self.add(QgsProcessingParameterField("CANDIDATE_ID", "CANDIDATE_ID", parentLayerParameterName="CANDIDATES",
                                             optional=True))
        self.add(QgsProcessingParameterField("CANDIDATE_MAX", "CANDIDATE_MAX", parentLayerParameterName="CANDIDATES",
                                             type=QgsProcessingParameterField.Numeric, optional=True))
        num = QgsProcessingParameterNumber.Double
        self.add(QgsProcessingParameterNumber("MAX_COST", "MAX_COST", num, minValue=0.0))
        self.add(QgsProcessingParameterNumber("BUDGET", "BUDGET", num, minValue=0.0))
        self.add(QgsProcessingParameterNumber("MODULE_SIZE", "MODULE_SIZE", num, defaultValue=1.0, minValue=0.0))
        self.add(QgsProcessingParameterNumber("UNIT_COST", "UNIT_COST", num, defaultValue=1.0, minValue=0.0))
        self.add(QgsProcessingParameterNumber("MAX_INCREASE", "MAX_INCREASE", num, optional=True, minValue=0.0))
        self.add(QgsProcessingParameterNumber("TIME_LIMIT", "TIME_LIMIT", num, defaultValue=60.0, minValue=0.1))
        add_od_table(self)
        add_outputs(self)

    def compute(self, parameters, context, feedback, progress):
        import numpy as np
        import pandas as pd
        from welfare_core import costs
        from welfare_core.optimise import allocate_capacity
        crs = working_crs(self, parameters, context)
        field = lambda k: self.parameterAsString(parameters, k, context) or None  # noqa: E731
        weight, f_cap, c_max = field("DEMAND_WEIGHT"), field("FACILITY_CAPACITY"), field("CANDIDATE_MAX")
        d_ids, d_xy, d_vals = read_points(self, parameters, "DEMAND", context, crs, [weight], field("DEMAND_ID"))
        f_ids, f_xy, f_vals = read_points(self, parameters, "FACILITIES", context, crs, [f_cap],
                                          field("FACILITY_ID"))
        cand = read_points(self, parameters, "CANDIDATES", context, crs, [c_max], field("CANDIDATE_ID"),
                           optional=True)
        progress(20)
        num = lambda k: self.parameterAsDouble(parameters, k, context)  # noqa: E731
        c_ids, c_xy, c_vals = cand if cand is not None else ([], np.zeros((0, 2)), {})
        ids = list(f_ids) + list(c_ids)
        s_xy = np.vstack([f_xy, c_xy])
        cap0 = np.r_[f_vals[f_cap], np.zeros(len(c_ids))]
        limit = np.full(len(ids), np.inf)
        if parameters.get("MAX_INCREASE") not in (None, ""):
            limit[:len(f_ids)] = num("MAX_INCREASE")
        if len(c_ids):
            limit[len(f_ids):] = c_vals[c_max] if c_max else np.inf
        module = num("MODULE_SIZE")
        kmax = np.where(np.isfinite(limit), np.floor(limit / module + 1e-9) if module > 0 else 0.0, 1e9)
        max_cost = num("MAX_COST")
        if parameters.get("OD_TABLE") not in (None, "") and set(f_ids) & set(c_ids):
            from welfare_core.errors import InputError
            raise InputError("OD_TABLE: FACILITIES and CANDIDATES share ids, so the table's rows cannot be "
                             "matched", hint="choose id fields that tell them apart")
        od, _ = read_od(self, parameters, context, feedback, d_ids, ids,
                        ["DEMAND_ID", "FACILITY_ID"] + (["CANDIDATE_ID"] if len(c_ids) else []))
        cm = costs.euclidean(d_xy, s_xy, max_cost) if od is None else od.within(max_cost)
        res = allocate_capacity(cm, d_vals[weight], max_cost, cap0, num("BUDGET"), module_size=module,
                                unit_cost=num("UNIT_COST"), max_modules=kmax, time_limit=num("TIME_LIMIT"),
                                progress=progress.scaled(20, 85))
        total = float(d_vals[weight].sum())
        feedback.pushInfo(f"unmet demand {res.unmet_before:g} -> {res.unmet_after:g} of {total:g}; spend "
                          f"{res.spend:g}; status {res.status}, gap {res.gap}, {res.seconds:.2f} s ({res.solver})")
        flows = res.served.tocoo()
        lookup = dict(zip((cm.row.astype(np.int64) * len(ids) + cm.col).tolist(), np.asarray(cm.cost).tolist()))
        alloc = pd.DataFrame({"zone_id": np.asarray(d_ids, dtype=object)[flows.row],
                              "site_id": np.asarray(ids, dtype=object)[flows.col], "demand": flows.data,
                              "cost": [lookup.get(int(r) * len(ids) + int(c)) for r, c in zip(flows.row, flows.col)],
                              "share": flows.data / np.where(d_vals[weight][flows.row] > 0,
                                                             d_vals[weight][flows.row], 1.0)})
        sites = pd.DataFrame({"site_id": ids, "kind": ["existing"] * len(f_ids) + ["candidate"] * len(c_ids),
                              "name": [None] * len(ids), "chosen": res.modules > 0, "x": s_xy[:, 0],
                              "y": s_xy[:, 1], "capacity": cap0, "added_capacity": res.added_capacity,
                              "demand_served": res.site_load, "n_points": np.bincount(flows.col, minlength=len(ids))})
        summary = dict(model="allocate_capacity", total_demand=total, unmet_before=res.unmet_before,
                       unmet_after=res.unmet_after, coverage_pct_before=100 * (total - res.unmet_before) / total
                       if total > 0 else None, coverage_pct_after=100 * (total - res.unmet_after) / total
                       if total > 0 else None, budget=num("BUDGET"), spend=res.spend, objective=res.objective,
                       bound=res.bound, gap=res.gap, status=res.status, solver=res.solver, seconds=res.seconds)
        out = {"SITES": write_sites(self, sites, parameters, "SITES", context, crs)}
        progress(90)
        out["ALLOCATION"] = write_lines(self, alloc, dict(zip(d_ids, map(tuple, d_xy))),
                                        dict(zip(ids, map(tuple, s_xy))), parameters, "ALLOCATION", context, crs)
        out["SUMMARY"] = write_summary(self, summary, parameters, "SUMMARY", context)
        progress(100)
        return out
