"""welfare:optimise_locations — where to open new sites (MCLP, p-median, p-center, equity).

A thin door over ``welfare_core.optimise.zone_models.locate_points``: read a
demand layer (points or polygons, one point each: point on surface) with a
weight field, a candidate-site layer and optionally the existing facilities
(always open), all in one projected metric CRS; the core computes planar
distances and solves exactly (HiGHS). Writes the sites (chosen or not), the
demand -> site allocation as lines and a one-row summary with the solver's
status, objective, bound, gap and the coverage before/after. An optional OD
table (e.g. network costs from welfare:cost_matrix or a routing tool) replaces
the planar distances; DEMAND_GROUP gives the equity model its groups (zones).
"""
from qgis.core import (QgsFeatureRequest, QgsProcessing, QgsProcessingException,
                       QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber, QgsWkbTypes)

from .base import RAW, TARGET_CRS, WelfareAlgorithm, core_crs

MODELS = ("mclp", "p_median", "p_center", "equity")  # MODEL options: the index is stored in models


def read_points(alg, parameters, key, context, crs, fields=(), id_field=None, optional=False, texts=()):
    """ids, (n, 2) coordinates in ``crs`` (point on surface) and the values of ``fields`` (numbers)
    and ``texts`` (text, None when NULL)."""
    import numpy as np
    from welfare_core.errors import InputError
    from .cost_matrix import _text
    if optional and parameters.get(key) in (None, ""):
        return None
    source = alg.parameterAsSource(parameters, key, context)
    if source is None:
        raise QgsProcessingException(alg.invalidSourceError(parameters, key))
    request = QgsFeatureRequest()
    if core_crs(source.sourceCrs()) is None:
        raise InputError(f"layer {key} has no coordinate reference system",
                         hint="set its CRS in the layer properties (Source tab)")
    if source.sourceCrs() != crs:
        request.setDestinationCrs(crs, context.transformContext())
    names = source.fields().names()
    idx = {f: names.index(f) for f in fields if f}
    tidx = {f: names.index(f) for f in texts if f}
    ids, xy, values = [], [], {f: [] for f in [*idx, *tidx]}
    id_idx = names.index(id_field) if id_field else None
    for feature in source.getFeatures(request):
        g = feature.geometry()
        if g is None or g.isNull() or g.isEmpty():
            raise InputError(f"layer {key}: feature {feature.id()} has no geometry",
                             hint="remove features without geometry")
        p = g.pointOnSurface().asPoint()
        attrs = feature.attributes()
        ids.append(str(attrs[id_idx]) if id_idx is not None else str(feature.id()))
        xy.append((p.x(), p.y()))
        for f, i in idx.items():
            v = attrs[i]
            try:
                values[f].append(float(v))
            except (TypeError, ValueError):
                raise InputError(f"layer {key}: field {f} of feature {ids[-1]} is not a number ({v!r})",
                                 hint="fill in the field or filter the layer") from None
        for f, i in tidx.items():
            values[f].append(_text(attrs[i]))
    if not ids:
        raise InputError(f"layer {key} has no features")
    if len(set(ids)) != len(ids):
        raise InputError(f"layer {key}: the id field {id_field} has duplicate values",
                         hint="choose a field with one value per feature")
    return ids, np.asarray(xy, dtype=float).reshape(-1, 2), \
        {f: np.asarray(v, dtype=object if f in tidx else float) for f, v in values.items()}


def add_od_table(alg):
    """OD_TABLE (optional, e.g. the output of welfare:cost_matrix) and its three fields."""
    alg.add(QgsProcessingParameterFeatureSource("OD_TABLE", "OD_TABLE", [QgsProcessing.TypeVector], optional=True))
    for key, default, numeric in (("OD_ORIGIN", "origin_id", False), ("OD_DESTINATION", "destination_id", False),
                                  ("OD_COST", "cost", True)):
        alg.add(QgsProcessingParameterField(
            key, key, defaultValue=default, parentLayerParameterName="OD_TABLE", optional=True,
            type=QgsProcessingParameterField.Numeric if numeric else QgsProcessingParameterField.Any))


def read_od(alg, parameters, context, feedback, demand_ids, site_ids, id_keys):
    """``(CostMatrix, cost unit)`` of demand points x sites from OD_TABLE, or ``(None, "m")`` without one.

    Rows are matched by id as text (the DEMAND ids to OD_ORIGIN, the site
    ids to OD_DESTINATION); pairs absent from the table are unreachable. Rows
    naming ids that are in neither layer (e.g. a table made for more sites)
    are left out and counted in the log; a table with no matching row is an
    error. ``id_keys``: the id-field parameters that must be set.
    """
    import numpy as np
    from welfare_core import costs
    from welfare_core.errors import InputError
    from . import frames
    from .cost_matrix import _text
    if parameters.get("OD_TABLE") in (None, ""):
        return None, "m"
    missing = [k for k in id_keys if not alg.parameterAsString(parameters, k, context)]
    if missing:
        raise InputError(f"OD_TABLE: set {', '.join(missing)} so that the table's rows can be matched to the "
                         "features", hint="choose the id fields whose values the OD table uses")
    source = alg.parameterAsSource(parameters, "OD_TABLE", context)
    if source is None:
        raise QgsProcessingException(alg.invalidSourceError(parameters, "OD_TABLE"))
    frame = frames.source_to_frame(source)
    cols = [alg.parameterAsString(parameters, k, context) or d for k, d in
            (("OD_ORIGIN", "origin_id"), ("OD_DESTINATION", "destination_id"), ("OD_COST", "cost"))]
    lacking = [c for c in cols if c not in frame.columns]
    if lacking:
        raise InputError(f"OD_TABLE has no field {', '.join(lacking)}",
                         hint="set OD_ORIGIN, OD_DESTINATION and OD_COST to its fields")
    o, d = frame[cols[0]].map(_text), frame[cols[1]].map(_text)
    known = (o.isin(set(demand_ids)) & d.isin(set(site_ids))).to_numpy()
    if not known.any():
        raise InputError(f"OD_TABLE: none of its {len(frame)} rows joins a demand id to a site id",
                         hint="check OD_ORIGIN / OD_DESTINATION and the id fields of the layers")
    if not known.all():
        feedback.pushInfo(f"OD_TABLE: {int((~known).sum())} of {len(frame)} rows name ids not in the layers "
                          "and were left out")
    od = frame.loc[known, [cols[2]]].assign(origin_id=o[known].to_numpy(), destination_id=d[known].to_numpy())
    cm = costs.from_od_table(od, list(demand_ids), list(site_ids), cost_col=cols[2])
    units = frame["cost_unit"].dropna().unique() if "cost_unit" in frame.columns else np.array([])
    unit = str(units[0]) if len(units) == 1 else None
    feedback.pushInfo(f"OD_TABLE: {cm.nnz} reachable pair(s) of {len(demand_ids)} demand points x "
                      f"{len(site_ids)} sites; costs in {unit or 'the table' + chr(39) + 's unit'}")
    return cm, unit


def working_crs(alg, parameters, context, key="DEMAND"):
    from welfare_core.validation import check_projected_crs
    crs = alg.parameterAsCrs(parameters, TARGET_CRS, context)
    if not crs.isValid():
        source = alg.parameterAsSource(parameters, key, context)
        crs = source.sourceCrs()
    check_projected_crs(core_crs(crs), what=f"{TARGET_CRS if parameters.get(TARGET_CRS) else 'layer ' + key}")
    return crs


def add_layers(alg, *, demand=True):
    point_or_poly = [QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon]
    if demand:
        alg.add(QgsProcessingParameterFeatureSource("DEMAND", "DEMAND", point_or_poly))
        alg.add(QgsProcessingParameterField("DEMAND_WEIGHT", "DEMAND_WEIGHT", parentLayerParameterName="DEMAND",
                                            type=QgsProcessingParameterField.Numeric))
        alg.add(QgsProcessingParameterField("DEMAND_ID", "DEMAND_ID", parentLayerParameterName="DEMAND",
                                            optional=True))


def add_outputs(alg):
    """TARGET_CRS and the three results: SITES (points), ALLOCATION (lines), SUMMARY."""
    alg.add_target_crs()
    alg.add_sink("SITES", geometry="Point")
    alg.add(QgsProcessingParameterFeatureSink("ALLOCATION", "ALLOCATION", QgsProcessing.TypeVectorLine))
    alg.add_sink("SUMMARY")


def write_lines(alg, allocation, coords_d, coords_s, parameters, key, context, crs):
    """The allocation as one line per demand point -> site."""
    from shapely.geometry import LineString
    from . import frames
    frame = allocation.copy()
    frame["geometry"] = [LineString([coords_d[a], coords_s[b]]).wkb
                         for a, b in zip(frame["zone_id"], frame["site_id"])]
    frame = frame.rename(columns={"zone_id": "demand_id"})
    fields = frames.qgis_fields(frame, {"demand_id": "text", "site_id": "text", "demand": "float",
                                        "cost": "float", "share": "float"})
    sink, dest = alg.parameterAsSink(parameters, key, context, fields, QgsWkbTypes.LineString, crs)
    if sink is None:
        raise QgsProcessingException(alg.invalidSinkError(parameters, key))
    frames.write_frame(sink, frame, fields)
    return dest


def write_sites(alg, sites, parameters, key, context, crs):
    from shapely.geometry import Point
    frame = sites.drop(columns=["x", "y"]).assign(geometry=[Point(x, y).wkb for x, y in zip(sites["x"], sites["y"])])
    return alg.write_sink(frame, parameters, key, context, geometry="Point", crs=crs,
                          types={"site_id": "text", "kind": "text", "name": "text", "chosen": "bool",
                                 "capacity": "float", "added_capacity": "float", "demand_served": "float",
                                 "n_points": "int"})


def write_summary(alg, summary, parameters, key, context):
    import pandas as pd
    frame = pd.DataFrame([summary])
    types = {k: ("text" if k in ("model", "service_type_id", "cost_unit", "status", "solver") else
                 "int" if k in ("period", "existing_sites", "new_sites", "p") else "float") for k in frame.columns}
    return alg.write_sink(frame, parameters, key, context, types=types)


class OptimiseLocations(WelfareAlgorithm):
    ALG_ID = "optimise_locations"
    GROUP = "optimisation"
    PUBLICATION = RAW  # demand served / unmet: raw counts

    def declare(self):
        add_layers(self)
        self.add(QgsProcessingParameterFeatureSource("CANDIDATES", "CANDIDATES", [QgsProcessing.TypeVectorPoint,
                                                                                 QgsProcessing.TypeVectorPolygon]))
        self.add(QgsProcessingParameterField("CANDIDATE_ID", "CANDIDATE_ID", parentLayerParameterName="CANDIDATES",
                                             optional=True))
        self.add(QgsProcessingParameterField("CANDIDATE_CAPACITY", "CANDIDATE_CAPACITY",
                                             parentLayerParameterName="CANDIDATES",
                                             type=QgsProcessingParameterField.Numeric, optional=True))
        self.add(QgsProcessingParameterFeatureSource("EXISTING", "EXISTING", [QgsProcessing.TypeVectorPoint,
                                                                             QgsProcessing.TypeVectorPolygon],
                                                     optional=True))
        self.add(QgsProcessingParameterField("EXISTING_ID", "EXISTING_ID", parentLayerParameterName="EXISTING",
                                             optional=True))
        self.add(QgsProcessingParameterField("EXISTING_CAPACITY", "EXISTING_CAPACITY",
                                             parentLayerParameterName="EXISTING",
                                             type=QgsProcessingParameterField.Numeric, optional=True))
        self.add(QgsProcessingParameterEnum("MODEL", "MODEL", list(MODELS), defaultValue=0))
        self.add(QgsProcessingParameterNumber("NEW_SITES", "NEW_SITES", QgsProcessingParameterNumber.Integer,
                                              defaultValue=1, minValue=0))
        self.add(QgsProcessingParameterNumber("MAX_COST", "MAX_COST", QgsProcessingParameterNumber.Double,
                                              optional=True, minValue=0.0))
        self.add(QgsProcessingParameterBoolean("CAPACITATED", "CAPACITATED", defaultValue=False))
        self.add(QgsProcessingParameterNumber("TIME_LIMIT", "TIME_LIMIT", QgsProcessingParameterNumber.Double,
                                              defaultValue=60.0, minValue=0.1))
        self.add(QgsProcessingParameterField("DEMAND_GROUP", "DEMAND_GROUP", parentLayerParameterName="DEMAND",
                                             optional=True))
        add_od_table(self)
        add_outputs(self)

    def compute(self, parameters, context, feedback, progress):
        from welfare_core.errors import InputError
        from welfare_core.optimise.zone_models import locate_points
        crs = working_crs(self, parameters, context)
        field = lambda k: self.parameterAsString(parameters, k, context) or None  # noqa: E731
        weight, group = field("DEMAND_WEIGHT"), field("DEMAND_GROUP")
        d_ids, d_xy, d_vals = read_points(self, parameters, "DEMAND", context, crs, [weight], field("DEMAND_ID"),
                                          texts=[group])
        progress(15)
        c_cap, e_cap = field("CANDIDATE_CAPACITY"), field("EXISTING_CAPACITY")
        c_ids, c_xy, c_vals = read_points(self, parameters, "CANDIDATES", context, crs, [c_cap],
                                          field("CANDIDATE_ID"))
        existing = read_points(self, parameters, "EXISTING", context, crs, [e_cap], field("EXISTING_ID"),
                               optional=True)
        progress(25)
        capacitated = self.parameterAsBool(parameters, "CAPACITATED", context)
        if capacitated and (c_cap is None or (existing is not None and e_cap is None)):
            raise InputError("CAPACITATED needs CANDIDATE_CAPACITY (and EXISTING_CAPACITY when EXISTING is given)")
        max_cost = None if parameters.get("MAX_COST") in (None, "") else \
            self.parameterAsDouble(parameters, "MAX_COST", context)
        model = MODELS[self.parameterAsEnum(parameters, "MODEL", context)]
        e_ids, e_xy, e_vals = existing if existing is not None else ([], None, {})
        if len(set(e_ids) & set(c_ids)):
            raise InputError("EXISTING and CANDIDATES share ids; choose id fields that tell them apart")
        groups = None
        if group is not None:
            if model == "equity":
                groups = d_vals[group]
            else:
                feedback.pushWarning(f"DEMAND_GROUP is used by the equity model only; ignored for {model}")
        cost, unit = read_od(self, parameters, context, feedback, d_ids, list(e_ids) + list(c_ids),
                             ["DEMAND_ID", "CANDIDATE_ID"] + (["EXISTING_ID"] if existing is not None else []))
        sites, alloc, summary = locate_points(
            model, d_xy, d_vals[weight], c_xy, self.parameterAsInt(parameters, "NEW_SITES", context), max_cost,
            existing_xy=e_xy, candidate_capacity=c_vals.get(c_cap) if capacitated else None,
            existing_capacity=e_vals.get(e_cap) if capacitated else None, demand_ids=d_ids,
            candidate_ids=c_ids, existing_ids=e_ids, cost=cost, cost_unit=unit, groups=groups,
            time_limit=self.parameterAsDouble(parameters, "TIME_LIMIT", context), progress=progress.scaled(25, 85))
        feedback.pushInfo(f"{model}: status {summary['status']}, objective {summary['objective']:g}, "
                          f"gap {summary['gap']}, {summary['seconds']:.2f} s ({summary['solver']}); "
                          f"coverage within max_cost {summary['coverage_pct_before']} % -> "
                          f"{summary['coverage_pct_after']} %")
        s_xy = dict(zip(sites["site_id"], zip(sites["x"], sites["y"])))
        dmap = dict(zip(d_ids, map(tuple, d_xy)))
        out = {"SITES": write_sites(self, sites, parameters, "SITES", context, crs)}
        progress(90)
        out["ALLOCATION"] = write_lines(self, alloc, dmap, s_xy, parameters, "ALLOCATION", context, crs)
        out["SUMMARY"] = write_summary(self, summary, parameters, "SUMMARY", context)
        progress(100)
        return out
