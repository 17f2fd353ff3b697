"""Validation of the canonical tables: every problem, with the rows it concerns.

``validate`` never stops at the first problem: it returns one row per problem
so a user can fix a whole file at once. The same function runs behind every
door (SQL ``welfare.validate_data``, the importers, QGIS
``welfare:validate_data``), so they report the same list.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from .errors import CrsError, InputError
from .model import LEVEL_RANK, SHARE_TOLERANCE, TABLES, Table

PROBLEM_COLUMNS = ("dataset", "row_key", "field", "code", "message")
# Share of a child zone's area allowed outside its parent (digitising noise).
NEST_TOLERANCE = 1e-4


def validate(tables: Mapping[str, pd.DataFrame], *, crs=None,
             context: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Check datasets against the data model and each other.

    tables:  datasets to check, keyed by table name (see ``model.TABLES``);
             geometry in a ``geometry`` column (shapely objects or WKB bytes).
    crs:     coordinate system of the geometries (EPSG code, "EPSG:32632",
             WKT or pyproj.CRS); None counts as missing.
    context: datasets already accepted (e.g. loaded in the database), used to
             resolve references and geometric checks but not reported on.
    Returns a DataFrame with columns dataset, row_key, field, code, message,
    sorted; empty when everything is fine.
    """
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise InputError(f"unknown dataset(s) {unknown}",
                         hint=f"use one of {sorted(TABLES)}")
    context = dict(context or {})
    found: list[dict] = []
    checked: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        spec = TABLES[name]
        problems, frame = _check_columns(spec, frame)
        found += problems
        if frame is None:
            continue
        checked[name] = frame
        found += _check_values(spec, frame)
        found += _check_keys(spec, frame)
        if spec.geometry_type:
            found += _check_geometry(spec, frame)

    if any(TABLES[n].geometry_type for n in checked):
        found += _check_crs(crs, [n for n in checked if TABLES[n].geometry_type])

    everything = {**context, **checked}
    for name, frame in checked.items():
        found += _check_references(TABLES[name], frame, everything)
    if "zone" in checked:
        found += _check_nesting(checked["zone"], everything["zone"])
    if "service_target" in checked:
        found += _check_shares(checked["service_target"])
    if "target_prevalence" in checked:
        found += _check_age_bands(checked["target_prevalence"])
    zones = everything.get("zone")
    for name in ("facility", "candidate_site"):
        if name in checked and zones is not None:
            found += _check_inside_zones(TABLES[name], checked[name], zones)

    out = pd.DataFrame(found, columns=list(PROBLEM_COLUMNS))
    return out.sort_values(list(PROBLEM_COLUMNS[:4]), kind="stable").reset_index(drop=True)


def raise_on_problems(problems: pd.DataFrame) -> None:
    """Raise ValidationFailed summarising ``problems`` if there are any."""
    from .errors import ValidationFailed
    if len(problems):
        first = problems.iloc[0]
        raise ValidationFailed(
            f"{len(problems)} problem(s) in the input; first: {first.dataset} "
            f"{first.row_key}: {first.message}", problems,
            hint="fix the rows listed in the report and load again")


# --- helpers -----------------------------------------------------------------

def _problem(dataset, row_key, field, code, message) -> dict:
    return dict(dataset=dataset, row_key=str(row_key), field=field, code=code, message=message)


class row_keys:
    """Readable key of a row by position: the id, or key parts joined by '|'.

    Built only for rows that have a problem: formatting every key of a
    million-row table would cost more than the whole validation.
    """

    def __init__(self, spec: Table, frame: pd.DataFrame):
        self.columns = [frame[c] for c in spec.key if c in frame]

    def __getitem__(self, i: int) -> str:
        if not self.columns:
            return f"row {i + 1}"
        return "|".join(_fmt(c.iat[i]) for c in self.columns)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "NULL"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _check_columns(spec: Table, frame: pd.DataFrame):
    missing = [c for c in spec.column_names if c not in frame.columns]
    if missing:
        return [_problem(spec.name, "*", c, "missing_column",
                         f"{spec.name} has no column '{c}'; add it "
                         f"(expected columns: {', '.join(spec.column_names)})")
                for c in missing], None
    return [], frame.reset_index(drop=True)


def _as_number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _check_values(spec: Table, frame: pd.DataFrame) -> list[dict]:
    keys = row_keys(spec, frame)
    out = []
    for col in spec.columns:
        if col.kind == "geometry":
            continue
        s = frame[col.name]
        null = s.isna()
        if col.kind in ("int", "float"):
            num = _as_number(s)
            bad_type = num.isna() & ~null
            for i in np.flatnonzero(bad_type):
                out.append(_problem(spec.name, keys[i], col.name, "not_a_number",
                                    f"{col.name} = {s.iloc[i]!r} is not a number"))
            # pandas cannot tell NULL from NaN: both are "not finite" here.
            not_finite = null | np.isinf(num.fillna(0))
            if col.required:
                for i in np.flatnonzero(not_finite):
                    out.append(_problem(spec.name, keys[i], col.name, "not_finite",
                                        f"{col.name} is empty, NaN or infinite; "
                                        "give a finite number"))
            if col.kind == "int":
                frac = num.notna() & ~np.isinf(num) & (num != np.floor(num))
                for i in np.flatnonzero(frac):
                    out.append(_problem(spec.name, keys[i], col.name, "not_an_integer",
                                        f"{col.name} = {s.iloc[i]!r} must be a whole number"))
            if col.minimum is not None:
                for i in np.flatnonzero(num < col.minimum):
                    code = "negative_value" if col.minimum == 0 else "below_minimum"
                    out.append(_problem(spec.name, keys[i], col.name, code,
                                        f"{col.name} = {num.iloc[i]:g} is below {col.minimum:g}"))
            if col.maximum is not None:
                for i in np.flatnonzero(num > col.maximum):
                    out.append(_problem(spec.name, keys[i], col.name, "above_maximum",
                                        f"{col.name} = {num.iloc[i]:g} is above {col.maximum:g}"))
            continue
        elif col.choices:
            bad = ~null & ~s.isin(col.choices)
            for i in np.flatnonzero(bad):
                out.append(_problem(spec.name, keys[i], col.name, "invalid_choice",
                                    f"{col.name} = {s.iloc[i]!r} is not one of "
                                    f"{', '.join(col.choices)}"))
        if col.required:
            for i in np.flatnonzero(null):
                out.append(_problem(spec.name, keys[i], col.name, "missing_value",
                                    f"{col.name} is empty; it is required"))
    return out


def _check_keys(spec: Table, frame: pd.DataFrame) -> list[dict]:
    keys = row_keys(spec, frame)
    dup = frame.duplicated(subset=list(spec.key), keep="first")
    return [_problem(spec.name, keys[i], ",".join(spec.key), "duplicate_key",
                     f"{'/'.join(spec.key)} {keys[i]} appears more than once; keep one row")
            for i in np.flatnonzero(dup)]


def _ids(frame: pd.DataFrame | None, column: str) -> set:
    if frame is None or column not in frame:
        return set()
    return set(frame[column].dropna().astype(str))


def _check_references(spec: Table, frame: pd.DataFrame, everything) -> list[dict]:
    keys = row_keys(spec, frame)
    out = []
    for ref in spec.references:
        target = TABLES[ref.table]
        if ref.table not in everything:
            # Nothing to resolve against: the reference cannot be checked here.
            continue
        known = _ids(everything[ref.table], target.key[0])
        values = frame[ref.column]
        bad = values.notna() & ~values.astype(str).isin(known)
        for i in np.flatnonzero(bad):
            out.append(_problem(spec.name, keys[i], ref.column, "unknown_reference",
                                f"{ref.column} = {values.iloc[i]!r} is not a known "
                                f"{ref.table}; load that {ref.table} first or fix the id"))
    return out


def geometries(values: Iterable) -> list:
    """Shapely geometries from shapely objects, WKB bytes or hex WKB (None stays)."""
    from shapely import wkb
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            out.append(None)
        elif isinstance(v, (bytes, bytearray, memoryview)):
            out.append(wkb.loads(bytes(v)))
        elif isinstance(v, str):
            out.append(wkb.loads(v, hex=True))
        else:
            out.append(v)
    return out


def _check_geometry(spec: Table, frame: pd.DataFrame) -> list[dict]:
    from shapely.validation import explain_validity
    keys = row_keys(spec, frame)
    allowed = {"MultiPolygon": ("Polygon", "MultiPolygon"), "Point": ("Point",)}
    out = []
    for i, g in enumerate(geometries(frame["geometry"])):
        if g is None or g.is_empty:
            out.append(_problem(spec.name, keys[i], "geometry", "empty_geometry",
                                "geometry is missing or empty; draw it or drop the row"))
        elif g.geom_type not in allowed[spec.geometry_type]:
            out.append(_problem(spec.name, keys[i], "geometry", "wrong_geometry_type",
                                f"geometry is a {g.geom_type}; {spec.name} needs "
                                f"{spec.geometry_type}"))
        elif not g.is_valid:
            out.append(_problem(spec.name, keys[i], "geometry", "invalid_geometry",
                                f"geometry is invalid ({explain_validity(g)}); repair it, "
                                "e.g. with ST_MakeValid or QGIS 'Fix geometries'"))
    return out


def check_projected_crs(crs, what: str = "the data") -> None:
    """Raise CrsError unless ``crs`` is a projected (metric) CRS."""
    import pyproj
    if crs is None:
        raise CrsError(f"{what} has no coordinate reference system",
                       hint="assign one (e.g. EPSG:32632) before loading")
    c = pyproj.CRS.from_user_input(crs)
    if c.is_geographic or not c.is_projected:
        raise CrsError(f"{what} is in {c.to_string()}, a geographic CRS (degrees); "
                       "distances need a projected metric CRS",
                       hint="reproject, e.g. to EPSG:32632 (UTM 32N) for Milan")
    units = {a.unit_name for a in c.axis_info}
    if not units <= {"metre", "meter"}:
        raise CrsError(f"{what} is in {c.to_string()} with units {sorted(units)}; "
                       "costs are in metres", hint="reproject to a metric CRS")


def _check_crs(crs, names) -> list[dict]:
    try:
        check_projected_crs(crs)
    except CrsError as e:
        code = "missing_crs" if crs is None else "geographic_crs"
        return [_problem(n, "*", "geometry", code, str(e)) for n in names]
    except Exception as e:  # pyproj could not parse it
        return [_problem(n, "*", "geometry", "unknown_crs",
                         f"coordinate system {crs!r} is not recognised ({e})") for n in names]
    return []


def _check_nesting(zones: pd.DataFrame, all_zones: pd.DataFrame) -> list[dict]:
    keys = zones["zone_id"].map(_fmt)
    level_of = dict(zip(all_zones["zone_id"].astype(str), all_zones["level"]))
    geom_of = dict(zip(all_zones["zone_id"].astype(str), geometries(all_zones["geometry"])))
    out = []
    for i, (zid, level, parent, g) in enumerate(zip(keys, zones["level"], zones["parent_id"],
                                                    geometries(zones["geometry"]))):
        if level not in LEVEL_RANK:
            continue
        if parent is None or parent != parent:
            if level != "city":
                out.append(_problem("zone", zid, "parent_id", "missing_parent",
                                    f"a {level} needs a parent_id (a coarser zone containing it)"))
            continue
        plevel = level_of.get(str(parent))
        if plevel is None:
            continue  # reported as unknown_reference
        if LEVEL_RANK.get(plevel, -1) <= LEVEL_RANK[level]:
            out.append(_problem("zone", zid, "parent_id", "parent_level",
                                f"parent {parent} is a {plevel}, not coarser than this {level}; "
                                "a parent must be of a coarser level"))
            continue
        pg = geom_of.get(str(parent))
        if g is None or pg is None or g.is_empty or pg.is_empty or not (g.is_valid and pg.is_valid):
            continue  # geometry problems are reported on their own
        outside = g.difference(pg).area
        if outside > NEST_TOLERANCE * max(g.area, 1e-9):
            out.append(_problem("zone", zid, "geometry", "not_nested",
                                f"{outside / g.area:.1%} of this {level} lies outside its parent "
                                f"{parent}; zones must nest inside their parent"))
    return out


def _check_shares(shares: pd.DataFrame) -> list[dict]:
    total = _as_number(shares["share"]).groupby(shares["service_type_id"].astype(str)).sum()
    return [_problem("service_target", sid, "share", "shares_not_one",
                     f"shares of service type {sid} sum to {s:.6g}, not 1; "
                     "rescale them so they add up to 1")
            for sid, s in total.items() if abs(s - 1.0) > SHARE_TOLERANCE]


def _check_age_bands(prev: pd.DataFrame) -> list[dict]:
    spec = TABLES["target_prevalence"]
    keys = row_keys(spec, prev)
    bad = _as_number(prev["age_to"]) < _as_number(prev["age_from"])
    return [_problem(spec.name, keys[i], "age_to", "bad_age_band",
                     "age_to is below age_from; give an increasing band") for i in np.flatnonzero(bad)]


def _check_inside_zones(spec: Table, points: pd.DataFrame, zones: pd.DataFrame) -> list[dict]:
    import geopandas as gpd
    keys = row_keys(spec, points)
    pts = gpd.GeoSeries(geometries(points["geometry"]))
    polys = [g for g in geometries(zones["geometry"]) if g is not None and not g.is_empty]
    usable = pts.notna() & ~pts.is_empty & (pts.geom_type == "Point")
    if not usable.any() or not polys:
        return []
    pts_df = gpd.GeoDataFrame({"i": np.flatnonzero(usable)}, geometry=list(pts[usable]))
    zone_df = gpd.GeoDataFrame({"z": range(len(polys))}, geometry=polys)
    hits = gpd.sjoin(pts_df, zone_df, how="inner", predicate="intersects")
    inside = set(hits["i"])
    return [_problem(spec.name, keys[i], "geometry", "outside_zones",
                     "point lies outside every zone; move it or add the zone that contains it")
            for i in pts_df["i"] if i not in inside]
