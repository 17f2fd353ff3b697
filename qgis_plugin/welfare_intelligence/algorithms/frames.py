"""Features <-> pandas DataFrames, the shape the core works on.

Columns take the canonical names of ``welfare_core.model`` (field names are
matched without regard to case); geometry travels as WKB bytes in a column
named ``geometry``.  NULL becomes None (NaN in number columns) and back.
"""
from __future__ import annotations

from qgis.core import (QgsFeature, QgsFeatureRequest, QgsFeatureSink, QgsField, QgsFields,
                       QgsGeometry, QgsProcessingFeatureSource)
from qgis.PyQt.QtCore import QDate, QDateTime, QTime, QVariant

GEOMETRY = "geometry"


def canonical_names(field_names, model_columns) -> list[str]:
    """Field names, with those that match a model column (any case) renamed to it."""
    by_lower = {c.lower(): c for c in model_columns}
    return [by_lower.get(n.strip().lower(), n) for n in field_names]


def _python(value):
    if value is None or isinstance(value, QVariant):  # QVariant here means NULL
        return None
    if isinstance(value, QDate):
        return value.toPyDate() if value.isValid() else None
    if isinstance(value, QDateTime):
        return value.toPyDateTime() if value.isValid() else None
    if isinstance(value, QTime):
        return value.toPyTime() if value.isValid() else None
    return value


def source_to_frame(source, model_columns=(), *, geometry: bool = False,
                    request: QgsFeatureRequest | None = None, progress=None):
    """Every feature of a processing feature source as a DataFrame.

    Geometry validity is not checked here: reporting bad geometry is the core's job.
    ``progress`` (a welfare_core Progress) is called with 0-100 and may cancel.
    """
    import pandas as pd
    request = QgsFeatureRequest(request) if request is not None else QgsFeatureRequest()
    if not geometry:
        request.setFlags(request.flags() | QgsFeatureRequest.NoGeometry)
    names = canonical_names(source.fields().names(), model_columns)
    rows, geoms = [], []
    total = max(source.featureCount(), 1)
    step = max(total // 50, 1)
    features = source.getFeatures(request,
                                  QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks)
    for i, f in enumerate(features):
        rows.append([_python(v) for v in f.attributes()])
        if geometry:
            g = f.geometry()
            geoms.append(None if g is None or g.isNull() else bytes(g.asWkb()))
        if progress is not None and i % step == 0:
            progress(100.0 * i / total)
    frame = pd.DataFrame(rows, columns=names) if rows else pd.DataFrame(
        {n: pd.Series(dtype=object) for n in names})
    if geometry:
        frame[GEOMETRY] = pd.Series(geoms, dtype=object, index=frame.index)
    return frame


def qgis_fields(frame, types: dict | None = None) -> QgsFields:
    """QGIS fields for the non-geometry columns, typed from the dtypes (or ``types``)."""
    fields = QgsFields()
    for name in frame.columns:
        if name == GEOMETRY:
            continue
        kind = (types or {}).get(name) or frame[name].dtype.kind
        qtype = {"i": QVariant.LongLong, "u": QVariant.LongLong, "int": QVariant.LongLong,
                 "f": QVariant.Double, "float": QVariant.Double,
                 "b": QVariant.Bool, "bool": QVariant.Bool}.get(kind, QVariant.String)
        fields.append(QgsField(str(name), qtype))
    return fields


def _column_values(series) -> list:
    values = series.tolist()  # numpy scalars -> Python scalars
    if series.dtype.kind in "fO":
        values = [None if v is None or (isinstance(v, float) and v != v) else v for v in values]
    return values


def write_frame(sink, frame, fields: QgsFields, progress=None) -> None:
    """Add one feature per row of ``frame`` to ``sink``; geometry (WKB or shapely) if present."""
    columns = [_column_values(frame[f.name()]) for f in fields]
    geoms = frame[GEOMETRY].tolist() if GEOMETRY in frame.columns else None
    n = len(frame)
    step = max(n // 50, 1)
    for i in range(n):
        feature = QgsFeature(fields)
        feature.setAttributes([col[i] for col in columns])
        if geoms is not None and geoms[i] is not None:
            g = QgsGeometry()
            value = geoms[i]
            g.fromWkb(value.wkb if hasattr(value, "wkb") else bytes(value))  # shapely or WKB
            feature.setGeometry(g)
        sink.addFeature(feature, QgsFeatureSink.FastInsert)
        if progress is not None and i % step == 0:
            progress(100.0 * i / n)
