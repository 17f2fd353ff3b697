"""Write fixture tables to a GeoPackage (or another OGR format) faithfully.

Every table becomes one layer named after it: geometry tables with the model's
geometry type (MultiPolygon, Point) and the fixture's CRS, the others as
attribute-only tables.  Fields are typed from ``welfare_core.model`` (text,
64-bit integer, real, boolean, date).  Bad geometry is stored as it is:
GDAL writes a polygon into a Point layer (non-conformant, with a warning we
silence), an empty MultiPolygon as an empty geometry and a self-intersecting
polygon untouched.  The one thing a GeoPackage cannot keep apart is NaN and
NULL in a number column (SQLite stores NaN as NULL); the core reports both as
``not_finite`` with the same message, so the problem list is unchanged.
"""
from __future__ import annotations

import math

from osgeo import gdal, ogr, osr

ogr.UseExceptions()

_FIELD_TYPES = {"text": (ogr.OFTString, None), "int": (ogr.OFTInteger64, None),
                "float": (ogr.OFTReal, None), "bool": (ogr.OFTInteger, ogr.OFSTBoolean),
                "date": (ogr.OFTDate, None)}
_GEOM_TYPES = {"MultiPolygon": ogr.wkbMultiPolygon, "Point": ogr.wkbPoint}


def _is_null(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _ogr_geometry(g, geometry_type):
    if g is None:
        return None
    if g.is_empty:  # keep the declared type: an empty MultiPolygon, not a collection
        return ogr.Geometry(_GEOM_TYPES[geometry_type])
    return ogr.CreateGeometryFromWkb(g.wkb)


def write(path, tables: dict, crs_epsg: int | None = 32632, *, driver: str = "GPKG"):
    """Write ``tables`` (name -> DataFrame) to ``path``; returns {table: QGIS layer uri}.

    ``crs_epsg`` None writes geometry layers without a CRS.  A GeoPackage then
    says "Undefined geographic SRS" (srs_id 0); a FlatGeobuf (``driver=
    "FlatGeobuf"``, ``path`` a directory, one file per table) has no CRS at all.
    """
    from welfare_core.model import TABLES
    srs = None
    if crs_epsg is not None:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(crs_epsg)
    ogr_driver = ogr.GetDriverByName(driver)
    ds = ogr_driver.Open(str(path), 1) if _exists(path) else ogr_driver.CreateDataSource(str(path))
    uris = {}
    gdal.PushErrorHandler("CPLQuietErrorHandler")  # "polygon in a Point layer" warnings
    try:
        for name, frame in tables.items():
            spec = TABLES[name]
            gtype = _GEOM_TYPES[spec.geometry_type] if spec.geometry_type else ogr.wkbNone
            layer = ds.CreateLayer(name, srs if spec.geometry_type else None, gtype,
                                   options=["OVERWRITE=YES"] if driver == "GPKG" else [])
            uris[name] = (f"{path}|layername={name}" if driver == "GPKG"
                          else f"{path}/{name}.fgb")
            kinds = {c.name: c.kind for c in spec.columns}
            columns = [c for c in frame.columns if c != "geometry"]
            for col in columns:
                ftype, subtype = _FIELD_TYPES[kinds.get(col, "text")]
                defn = ogr.FieldDefn(col, ftype)
                if subtype is not None:
                    defn.SetSubType(subtype)
                layer.CreateField(defn)
            transaction = ds.TestCapability(ogr.ODsCTransactions)
            if transaction:
                ds.StartTransaction()
            for row in frame.to_dict("records"):
                feature = ogr.Feature(layer.GetLayerDefn())
                for col in columns:
                    v = row[col]
                    if _is_null(v):
                        feature.SetFieldNull(col)
                    elif kinds.get(col) == "date":
                        y, m, d = (int(p) for p in str(v)[:10].split("-"))
                        feature.SetField(col, y, m, d, 0, 0, 0, 0)
                    elif kinds.get(col) == "bool":
                        feature.SetField(col, int(bool(v)))
                    else:
                        feature.SetField(col, v if not hasattr(v, "item") else v.item())
                if spec.geometry_type:
                    geom = _ogr_geometry(row.get("geometry"), spec.geometry_type)
                    if geom is not None:
                        feature.SetGeometry(geom)
                layer.CreateFeature(feature)
            if transaction:
                ds.CommitTransaction()
    finally:
        gdal.PopErrorHandler()
        ds = None
    return uris


def _exists(path) -> bool:
    import os
    return os.path.exists(str(path))
