"""Reading the model tables, shared by the algorithms that take them (no formulas).

``read_model`` reads an algorithm's model tables the way every door does:
layers and small tables through ``WelfareAlgorithm.read_tables`` (CRS checks,
reprojection), the big attribute tables column by column (``read_columns``:
only the fields the core uses; population and households summed per zone and
year right after reading, as the SQL door does in its query), the bundled
sample catalogue when none of TARGETS, SERVICE_TYPES and SERVICE_TARGETS is
given, every table typed as the model says (``model_frame``), and the
facilities as the SQL door counts them: published ones only, unless the
algorithm's COUNT_UNPUBLISHED is on (``unpublished_facilities``).  The other
helpers turn the core's results into sink features.
"""
import os

from qgis.core import (QgsFeatureRequest, QgsGeometry, QgsProcessingException,
                       QgsProcessingFeatureSource, QgsProcessingLayerPostProcessorInterface,
                       QgsVectorLayer)

from .. import PLUGIN_DIR

CATALOGUE_DIR = os.path.join(PLUGIN_DIR, "catalogue")
CATALOGUE = ("target", "service_type", "service_target")
# Attribute tables with many rows: only the columns the core uses are read
# (much faster than whole features); population and households as sums per
# zone and year, all the core needs of them.
COLUMNS = {"demand": ("zone_id", "target_id", "period", "demand"),
           "population": ("zone_id", "period", "persons"),
           "household": ("zone_id", "period", "households")}
SUMMED = {"population": "persons", "household": "households"}
# VALUES options; the index is what models store, the labels may be translated.
VALUES = {"en": ("published (privacy rules applied)", "raw (analysts only)"),
          "it": ("pubblicati (regole di riservatezza applicate)", "grezzi (solo analisti)")}
PUBLISHED, RAW = 0, 1
# Boolean parameter: count unpublished facilities too (the output is then not safe to
# publish; the SQL door's SET welfare.count_unpublished_facilities = on)
COUNT_UNPUBLISHED = "COUNT_UNPUBLISHED"

# Post-processors must outlive the algorithm run (QGIS keeps only a pointer).
_POST_PROCESSORS = {}


def read_model(alg, parameters, context, feedback, progress, *, small=(0, 100), big=(),
               skip=(), catalogue=True, count_targets=True):
    """The model tables of ``alg`` (an ``Inputs``), typed, catalogue bundled when not given.

    ``small``: the progress range of the layers and small tables; ``big``:
    ``(table, (start, end))`` pairs of the attribute tables read column by
    column (skipped when not given: they may be optional); ``skip``: parameter
    keys left out (read apart by the algorithm); ``catalogue``: whether the
    catalogue tables are optional (bundled when none is given);
    ``count_targets``: whether the bundled catalogue's note counts targets.
    """
    keys = {table: key for key, table in alg._tables.items() if key not in skip}
    # Layers and small tables through the base (CRS checks, reprojection) ...
    inputs = alg.read_tables({k: v for k, v in parameters.items()
                              if k not in [keys[t] for t, _ in big] + list(skip)},
                             context, progress.scaled(*small))
    tables = inputs.tables
    # ... the big attribute tables column by column.
    for table, part in big:
        if parameters.get(keys[table]) in (None, ""):
            continue  # households are optional
        source = alg.parameterAsSource(parameters, keys[table], context)
        if source is None:
            raise QgsProcessingException(alg.invalidSourceError(parameters, keys[table]))
        frame = read_columns(source, keys[table], table, progress.scaled(*part))
        if table in SUMMED:
            frame = frame.groupby(["zone_id", "period"], as_index=False,
                                  sort=True)[SUMMED[table]].sum()
        tables[table] = frame
    given = [t for t in CATALOGUE if t in tables]
    if catalogue and not given:
        tables.update(bundled_catalogue())
        counted = f"{len(tables['target'])} targets, " if count_targets else ""
        feedback.pushInfo("catalogue: the bundled sample catalogue "
                          f"({counted}{len(tables['service_type'])} service types)")
    elif catalogue and len(given) < len(CATALOGUE):
        from welfare_core.errors import InputError
        missing = [keys[t] for t in CATALOGUE if t not in given]
        raise InputError(f"{', '.join(missing)} not given while "
                         f"{', '.join(keys[t] for t in given)} is",
                         hint="give TARGETS, SERVICE_TYPES and SERVICE_TARGETS together, "
                              "or none of them to use the bundled sample catalogue")
    for table, frame in tables.items():
        tables[table] = model_frame(table, frame, keys.get(table, table))
    if "facility" in tables:
        tables["facility"] = unpublished_facilities(alg, parameters, context, feedback,
                                                    tables["facility"])
    return inputs


def add_count_unpublished(alg):
    """COUNT_UNPUBLISHED (advanced, off): count the facilities whose ``published`` is
    not true as well; the run's PUBLICATION is then not_safe when there are any."""
    from qgis.core import QgsProcessingParameterBoolean
    return alg.add(QgsProcessingParameterBoolean(COUNT_UNPUBLISHED, COUNT_UNPUBLISHED,
                                                 defaultValue=False), advanced=True)


def counts_unpublished(alg, parameters, context) -> bool:
    """Whether the run counts unpublished facilities (False where not declared)."""
    return (alg.parameterDefinition(COUNT_UNPUBLISHED) is not None
            and alg.parameterAsBoolean(parameters, COUNT_UNPUBLISHED, context))


def unpublished_facilities(alg, parameters, context, feedback, facility):
    """The facilities the run counts: the published ones (``privacy.published_facilities``:
    ``published`` true; a layer without the field is all published), or every one with
    COUNT_UNPUBLISHED, adding how many unpublished to ``alg.unpublished_counted`` (the
    base then reports the output not safe to publish)."""
    from welfare_core.privacy import published_facilities
    kept, left_out = published_facilities(facility)
    # their ids: an edited copy of the layer may not bring them back (unpublished_edits)
    alg.unpublished_ids = set(facility["facility_id"].astype(str)) - set(
        kept["facility_id"].astype(str)) if left_out else set()
    if not left_out:
        return facility
    if counts_unpublished(alg, parameters, context):
        alg.unpublished_counted += left_out
        feedback.pushWarning(f"{left_out} unpublished facilities counted (COUNT_UNPUBLISHED): "
                             "the output is not safe to publish")
        return facility
    feedback.pushInfo(f"{left_out} unpublished facilities left out (COUNT_UNPUBLISHED counts "
                      "them; the output is then not safe to publish)")
    return kept


def unpublished_edits(alg, parameters, context, feedback, edited, key):
    """An edited copy ``edited`` (layer ``key``) of the facilities, as the run counts it.

    Left out, unless COUNT_UNPUBLISHED: the facilities that were unpublished in
    FACILITIES (``alg.unpublished_ids``, whatever the copy now says: otherwise they
    would come back as opened) and the rows whose ``published`` is false. A new
    facility with ``published`` empty is kept: a drawn what-if, not a real service
    point whose listing was withheld. With COUNT_UNPUBLISHED nothing is left out and
    the copy's own unpublished rows are added to ``alg.unpublished_counted``.
    """
    ids = edited["facility_id"].astype(str)
    was = ids.isin(getattr(alg, "unpublished_ids", set()))
    false = (edited["published"].map(lambda v: v is not None and v == v and not v)
             if "published" in edited.columns else ids.map(lambda _: False)).astype(bool)
    if counts_unpublished(alg, parameters, context):
        more = int((false & ~was).sum())
        if more:
            alg.unpublished_counted += more
            feedback.pushWarning(f"{more} unpublished facilities of {key} counted "
                                 "(COUNT_UNPUBLISHED): the output is not safe to publish")
        return edited
    left = was | false
    if left.any():
        feedback.pushInfo(f"{int(left.sum())} unpublished facilities of {key} left out "
                          "(COUNT_UNPUBLISHED counts them; the output is then not safe to "
                          "publish)")
    return edited.loc[~left.to_numpy()].reset_index(drop=True)


def add_model_tables(alg):
    """The base data: ZONES, DEMAND, POPULATION, optional HOUSEHOLDS, FACILITIES."""
    for table in ("zone", "demand", "population"):
        alg.add_table(table)
    alg.add_table("household", optional=True)
    alg.add_table("facility")


def style_on_load(context, dest, post):
    """Style the result ``dest`` with the post-processor ``post`` if it is loaded."""
    if context.willLoadLayerOnCompletion(dest):
        _POST_PROCESSORS[dest] = post
        context.layerToLoadOnCompletionDetails(dest).setPostProcessor(post)


def sensitive_targets(tables):
    """The ids of the catalogue's sensitive targets (privacy rules)."""
    target = tables["target"]
    return list(target.loc[target["sensitive"].fillna(False).astype(bool), "target_id"])


def note_left_out(published, feedback):
    """Tell how many rows of sensitive targets the privacy rules left out (``published``)."""
    hidden = int((~published).sum())
    if hidden:
        feedback.pushInfo(f"{hidden} row(s) of sensitive targets left out: they are "
                          "published only at coarser levels")


class GraduateOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Style a loaded result graduated by ``field`` (quantiles, red = low coverage)."""

    def __init__(self, field):
        super().__init__()
        self.field = field

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API)
        from ..maps import graduate
        if isinstance(layer, QgsVectorLayer) and layer.fields().indexOf(self.field) >= 0:
            graduate(layer, self.field)


def target_ids(text: str):
    """TARGET_IDS "a, b" -> ["a", "b"]; empty -> None (every target)."""
    ids = [t.strip() for t in (text or "").split(",") if t.strip()]
    return ids or None


def read_columns(source, key: str, table: str, progress=None):
    """The ``COLUMNS[table]`` of a processing source as a typed DataFrame, nothing else read."""
    import pandas as pd
    from welfare_core.errors import InputError
    columns = COLUMNS[table]
    names = [n.strip().lower() for n in source.fields().names()]
    missing = [c for c in columns if c not in names]
    if missing:
        raise InputError(f"layer {key} has no column {', '.join(missing)}",
                         hint=f"{key} needs the columns {', '.join(columns)}; "
                              "check it with welfare:validate_data")
    index = [names.index(c) for c in columns]
    request = QgsFeatureRequest()
    request.setFlags(QgsFeatureRequest.NoGeometry)
    request.setSubsetOfAttributes(index)
    total = max(source.featureCount(), 1)
    step = max(total // 50, 1)
    values = [[] for _ in columns]
    appends = [(v.append, i) for v, i in zip(values, index)]
    features = source.getFeatures(request,
                                  QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks)
    for n, f in enumerate(features):
        a = f.attributes()
        for append, i in appends:
            append(a[i])
        if progress is not None and n % step == 0:
            progress(100.0 * n / total)
    frame = model_frame(table, pd.DataFrame({c: _nulls(v) for c, v in zip(columns, values)}),
                        key)
    empty = [c for c in columns if frame[c].isna().any()]
    if empty:
        raise InputError(f"layer {key} has empty values in {', '.join(empty)}",
                         hint="check it with welfare:validate_data")
    return frame


def _nulls(values):
    from qgis.PyQt.QtCore import QVariant
    return [None if isinstance(v, QVariant) else v for v in values]


def bundled_catalogue():
    """The sample city's target, service_type and service_target tables shipped in the plugin."""
    import pandas as pd
    from welfare_core.errors import InputError
    from welfare_core.model import TABLES
    out = {}
    for table in CATALOGUE:
        path = os.path.join(CATALOGUE_DIR, f"{table}.csv")
        if not os.path.exists(path):
            raise InputError("the bundled catalogue is missing from the plugin "
                             f"({path})", hint="install the packaged plugin (make plugin) or "
                             "give TARGETS, SERVICE_TYPES and SERVICE_TARGETS")
        kinds = {c.name: c.kind for c in TABLES[table].columns}
        frame = pd.read_csv(path, dtype={c: str for c, k in kinds.items() if k != "float"},
                            keep_default_na=False, na_values={c: [""] for c in kinds},
                            float_precision="round_trip", encoding="utf-8")
        out[table] = frame
    return out


def model_frame(table, frame, key):
    """``frame`` typed as the model says (numbers from text, booleans from 0/1/true/false)."""
    import pandas as pd
    from welfare_core.errors import InputError
    from welfare_core.model import TABLES
    kinds = {c.name: c.kind for c in TABLES[table].columns}
    frame = frame[[c for c in frame.columns if c in kinds]].copy()  # model columns only
    for name, kind in kinds.items():
        if name not in frame.columns:
            continue
        col = frame[name]
        if kind in ("int", "float") and col.dtype.kind not in "iuf":
            blank = col.map(lambda v: v is None or v != v or (isinstance(v, str) and not v.strip()))
            num = pd.to_numeric(col.where(~blank, None), errors="coerce")
            bad = num.isna() & ~blank
            if bad.any():
                raise InputError(f"layer {key}: column {name} holds "
                                 f"{col[bad].iloc[0]!r}, not a number",
                                 hint="check it with welfare:validate_data")
            frame[name] = num
        elif kind == "bool" and col.dtype.kind != "b":
            frame[name] = col.map(_boolean)
        elif kind == "text":
            frame[name] = col.astype(object).where(col.notna(), None).map(
                lambda v: v if v is None or isinstance(v, str) else str(v))
    return frame


def _boolean(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes", "y")
    return bool(value)


def zone_geometry(zone):
    """zone_id -> MultiPolygon WKB (single polygons promoted, as the sinks are multi)."""
    out = {}
    for zone_id, wkb in zip(zone["zone_id"], zone["geometry"]):
        if wkb is None:
            continue
        g = QgsGeometry()
        g.fromWkb(bytes(wkb))
        g.convertToMultiType()
        out[zone_id] = bytes(g.asWkb())
    return out


def output_frame(frame, columns, geometry):
    """The core's columns in order, NULL as None, plus each zone's geometry."""
    frame = frame[list(columns)].copy()
    for name in columns:
        if str(frame[name].dtype) == "Int64":  # nullable ranks: <NA> -> None
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    frame["geometry"] = frame["zone_id"].map(geometry)
    return frame


def field_types(columns, ints=(), texts=()):
    """Sink field types of ``columns``: ``ints`` int, ``texts`` text, the others float."""
    return {c: "int" if c in ints else "text" if c in texts else "float" for c in columns}
