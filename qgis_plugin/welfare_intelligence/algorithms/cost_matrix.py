"""welfare:cost_matrix — an origin–destination cost table between two layers, with a cutoff.

A thin door over ``welfare_core.costs``: read the two layers in one projected
metric CRS, take one point per feature (``welfare_core.zone_access.zone_points``:
the centroid, or a point on the surface when the centroid falls outside a
polygon, as ``welfare:accessibility`` does), call ``costs.euclidean`` (tiled
range join, cutoff inclusive) and, with a travel mode, ``costs.travel_time``;
write one row per reachable pair.  With a NETWORK line layer the costs are
shortest paths along it instead (``costs.network_from_lines`` + ``costs.network``:
each point snapped to its nearest node, the snapping distance added).
No distance is computed here.
"""
from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsFeatureRequest,
                       QgsFeatureSink, QgsGeometry, QgsPointXY, QgsProcessing,
                       QgsProcessingException, QgsProcessingFeatureSource,
                       QgsProcessingParameterEnum, QgsProcessingParameterFeatureSink,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
                       QgsProcessingParameterNumber, QgsWkbTypes)
from qgis.PyQt.QtCore import QVariant

from . import helpdoc
from .base import NO_COUNTS, TARGET_CRS, WelfareAlgorithm, core_crs

# TRAVEL_MODE options: the index is stored in models; names are welfare_core.costs.SPEED_KMH
# keys (None: costs stay in metres).
TRAVEL_MODES = (None, "walk", "walk_elderly", "bike", "car", "transit")
NO_MODE = {"en": "none (metres)", "it": "nessuno (metri)"}
COLUMNS = ("origin_id", "destination_id", "cost", "cost_unit")
_TYPES = {"origin_id": "text", "destination_id": "text", "cost": "float", "cost_unit": "text"}
_LAYERS = [QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon]


class CostMatrix(WelfareAlgorithm):
    ALG_ID = "cost_matrix"
    GROUP = "accessibility"
    PUBLICATION = NO_COUNTS  # costs between places, no counts of people

    def declare(self):
        self.add(QgsProcessingParameterFeatureSource("ORIGINS", "ORIGINS", _LAYERS))
        self.add(QgsProcessingParameterField("ORIGIN_ID", "ORIGIN_ID",
                                             parentLayerParameterName="ORIGINS"))
        self.add(QgsProcessingParameterFeatureSource("DESTINATIONS", "DESTINATIONS", _LAYERS))
        self.add(QgsProcessingParameterField("DESTINATION_ID", "DESTINATION_ID",
                                             parentLayerParameterName="DESTINATIONS"))
        self.add(QgsProcessingParameterNumber(
            "MAX_COST", "MAX_COST", QgsProcessingParameterNumber.Double, defaultValue=1000.0,
            minValue=0.0))
        self.add(QgsProcessingParameterEnum(
            "TRAVEL_MODE", "TRAVEL_MODE",
            [NO_MODE[helpdoc.language()] if m is None else m for m in TRAVEL_MODES],
            defaultValue=0,
            optional=True))
        self.add(QgsProcessingParameterFeatureSource(
            "NETWORK", "NETWORK", [QgsProcessing.TypeVectorLine], optional=True))
        self.add(QgsProcessingParameterField(
            "NETWORK_COST", "NETWORK_COST", parentLayerParameterName="NETWORK",
            type=QgsProcessingParameterField.Numeric, optional=True))
        self.add(QgsProcessingParameterField(
            "NETWORK_ONEWAY", "NETWORK_ONEWAY", parentLayerParameterName="NETWORK",
            optional=True))
        self.add_target_crs()
        self.add_sink("OUTPUT")
        self.add(QgsProcessingParameterFeatureSink(
            "OUTPUT_LINES", "OUTPUT_LINES", QgsProcessing.TypeVectorLine, optional=True,
            createByDefault=False))

    def compute(self, parameters, context, feedback, progress):
        import pandas as pd
        from welfare_core import costs
        from welfare_core.errors import InputError

        max_cost = costs.check_max_cost(self.parameterAsDouble(parameters, "MAX_COST", context),
                                        "MAX_COST")
        mode = TRAVEL_MODES[self.parameterAsEnum(parameters, "TRAVEL_MODE", context)
                            if parameters.get("TRAVEL_MODE") not in (None, "") else 0]
        origins = self._source(parameters, "ORIGINS", context)
        destinations = self._source(parameters, "DESTINATIONS", context)
        crs = self._working_crs(parameters, origins, context)

        o_ids, o_xy = self._points(origins, parameters, "ORIGINS", "ORIGIN_ID", crs, context,
                                   progress.scaled(0, 20))
        d_ids, d_xy = self._points(destinations, parameters, "DESTINATIONS", "DESTINATION_ID",
                                   crs, context, progress.scaled(20, 40))
        for key, ids in (("ORIGINS", o_ids), ("DESTINATIONS", d_ids)):
            if not len(ids):
                raise InputError(f"layer {key} has no features",
                                 hint="choose a layer with features (or clear its selection "
                                      "filter)")
        progress(40)
        network = self.parameterAsSource(parameters, "NETWORK", context)
        if network is not None:
            edges, nodes = self._network(network, parameters, crs, context)
            cm = costs.network(edges, nodes, o_xy, d_xy, max_cost)
            feedback.pushInfo(f"network: {len(edges['cost'])} line(s), "
                              f"{len(nodes['node_id'])} node(s)")
        else:
            cm = costs.euclidean(o_xy, d_xy, max_cost)
        unit = "m"
        if mode is not None:
            cm = costs.travel_time(cm, mode)
            unit = "min"
        progress(50)
        feedback.pushInfo(f"{cm.nnz} origin–destination pair(s) within {max_cost:g} m "
                          f"({len(o_ids)} origins × {len(d_ids)} destinations)"
                          + (f"; costs in minutes at {mode} speed" if mode else ""))

        frame = pd.DataFrame({"origin_id": o_ids[cm.row], "destination_id": d_ids[cm.col],
                              "cost": cm.cost, "cost_unit": unit}, columns=list(COLUMNS))
        result = {"OUTPUT": self.write_sink(frame, parameters, "OUTPUT", context, types=_TYPES,
                                            progress=progress.scaled(50, 80))}
        if parameters.get("OUTPUT_LINES") not in (None, ""):
            result["OUTPUT_LINES"] = self._write_lines(frame, cm, o_xy, d_xy, parameters,
                                                       context, crs, progress.scaled(80, 100))
        return result

    # --- reading ------------------------------------------------------------------------
    def _source(self, parameters, key, context):
        source = self.parameterAsSource(parameters, key, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, key))
        return source

    def _working_crs(self, parameters, origins, context) -> QgsCoordinateReferenceSystem:
        """TARGET_CRS when given, else the CRS of ORIGINS; projected in metres either way."""
        from welfare_core.errors import CrsError
        from welfare_core.validation import check_projected_crs
        target = self.parameterAsCrs(parameters, TARGET_CRS, context)
        if target.isValid():
            try:
                check_projected_crs(core_crs(target), what=TARGET_CRS)
            except CrsError as e:
                raise CrsError(e.message, hint="choose a projected metric CRS for TARGET_CRS, "
                               "e.g. EPSG:32632 (UTM 32N) for northern Italy") from None
            return target
        target = origins.sourceCrs()
        try:
            check_projected_crs(core_crs(target), what="layer ORIGINS")
        except CrsError as e:
            raise CrsError(e.message, hint="set TARGET_CRS to a projected metric CRS "
                           "(e.g. EPSG:32632, UTM 32N, for northern Italy) or assign the "
                           "layer its CRS") from None
        return target

    def _points(self, source, parameters, key, id_key, crs, context, progress):
        """(ids as a text array, (k, 2) representative points in ``crs``) of a layer."""
        import numpy as np
        from welfare_core.errors import GeometryError, InputError
        from welfare_core.zone_access import zone_points
        field = self.parameterAsString(parameters, id_key, context)
        index = source.fields().lookupField(field)
        if index < 0:
            raise InputError(f"layer {key} has no field {field!r}",
                             hint=f"choose one of its fields for {id_key}")
        if core_crs(source.sourceCrs()) is None:
            raise InputError(f"layer {key} has no coordinate reference system",
                             hint="set its CRS in the layer properties (Source tab)")
        request = QgsFeatureRequest()
        request.setSubsetOfAttributes([index])
        if source.sourceCrs() != crs:
            request.setDestinationCrs(crs, context.transformContext())
        ids, geoms = [], []
        total = max(source.featureCount(), 1)
        step = max(total // 50, 1)
        for n, f in enumerate(source.getFeatures(
                request, QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks)):
            ids.append(_text(f.attributes()[index]))
            g = f.geometry()
            geoms.append(None if g is None or g.isNull() or g.isEmpty() else bytes(g.asWkb()))
            if n % step == 0:
                progress(100.0 * n / total)
        ids = np.array(ids, dtype=object)
        missing = [n for n, v in enumerate(ids) if v is None]
        if missing:
            raise InputError(f"layer {key}: {len(missing)} feature(s) have no value in "
                             f"{id_key} field {field!r} (e.g. feature number {missing[0] + 1})",
                             hint=f"give every feature an id, or choose another {id_key} field")
        seen, dup = set(), []
        for v in ids:
            (dup.append(v) if v in seen else seen.add(v))
        if dup:
            raise InputError(f"layer {key}: {id_key} field {field!r} has duplicate id(s), "
                             f"e.g. {sorted(set(dup))[:5]}",
                             hint=f"each feature needs its own id; choose a unique field "
                                  f"for {id_key}")
        empty = [n for n, g in enumerate(geoms) if g is None]
        if empty:
            raise GeometryError(f"layer {key}: {len(empty)} feature(s) have no geometry, "
                                f"e.g. {ids[empty[0]]!r}", hint="draw them or drop them")
        xy = zone_points(geoms) if geoms else np.empty((0, 2))
        return ids, xy

    def _network(self, source, parameters, crs, context):
        """(edges, nodes) of the NETWORK layer in ``crs`` (welfare_core.costs.network_from_lines)."""
        from welfare_core import costs
        from welfare_core.errors import InputError
        if core_crs(source.sourceCrs()) is None:
            raise InputError("layer NETWORK has no coordinate reference system",
                             hint="set its CRS in the layer properties (Source tab)")
        fields = {}
        for key in ("NETWORK_COST", "NETWORK_ONEWAY"):
            name = self.parameterAsString(parameters, key, context)
            if name:
                index = source.fields().lookupField(name)
                if index < 0:
                    raise InputError(f"layer NETWORK has no field {name!r}",
                                     hint=f"choose one of its fields for {key}, or none")
                fields[key] = index
        request = QgsFeatureRequest()
        request.setSubsetOfAttributes(list(fields.values()))
        if source.sourceCrs() != crs:
            request.setDestinationCrs(crs, context.transformContext())
        geoms, cost, oneway = [], [], []
        for f in source.getFeatures(request,
                                    QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks):
            g = f.geometry()
            geoms.append(None if g is None or g.isNull() or g.isEmpty() else bytes(g.asWkb()))
            attrs = f.attributes()
            if "NETWORK_COST" in fields:
                value = attrs[fields["NETWORK_COST"]]
                if value is None or isinstance(value, QVariant):
                    raise InputError(f"layer NETWORK: line number {len(geoms)} has no value in "
                                     "field NETWORK_COST",
                                     hint="give every line a cost, or leave NETWORK_COST empty "
                                          "to use the line lengths")
                cost.append(value)
            if "NETWORK_ONEWAY" in fields:
                oneway.append(_truthy(attrs[fields["NETWORK_ONEWAY"]]))
        return costs.network_from_lines(geoms, cost=cost if "NETWORK_COST" in fields else None,
                                        oneway=oneway if "NETWORK_ONEWAY" in fields else None)

    # --- writing ------------------------------------------------------------------------
    def _write_lines(self, frame, cm, o_xy, d_xy, parameters, context, crs, progress):
        from . import frames
        fields = frames.qgis_fields(frame, _TYPES)
        sink, dest = self.parameterAsSink(parameters, "OUTPUT_LINES", context, fields,
                                          QgsWkbTypes.LineString, crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT_LINES"))
        rows = frame.itertuples(index=False)
        ox, oy = o_xy[cm.row, 0].tolist(), o_xy[cm.row, 1].tolist()
        dx, dy = d_xy[cm.col, 0].tolist(), d_xy[cm.col, 1].tolist()
        n = len(frame)
        step = max(n // 50, 1)
        for k, row in enumerate(rows):
            feature = QgsFeature(fields)
            feature.setAttributes([row.origin_id, row.destination_id, float(row.cost),
                                   row.cost_unit])
            feature.setGeometry(QgsGeometry.fromPolylineXY(
                [QgsPointXY(ox[k], oy[k]), QgsPointXY(dx[k], dy[k])]))
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
            if k % step == 0:
                progress(100.0 * k / n)
        return dest


def _truthy(value) -> bool:
    """A one-way flag: 1, true, t, yes, y (any case) or a true boolean; NULL is two-way."""
    if value is None or isinstance(value, QVariant):
        return False
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes", "y")
    return bool(value)


def _text(value):
    """An id value as text; NULL and blank text are None (missing)."""
    if value is None or isinstance(value, QVariant):
        return None
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    return text or None
