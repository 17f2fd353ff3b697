r"""Accessibility of zones to the facilities of a service type (the model-level driver).

The doors (SQL ``welfare.accessibility``, QGIS ``welfare:accessibility``) call
:func:`zone_accessibility` on the canonical tables; the generic SQL functions
``welfare.two_step_fca`` / ``three_step_fca`` call :func:`point_fca` on the
caller's points. Formulas are those of :mod:`welfare_core.accessibility`.

Model, for service type s, period p and zone level L:

* **origins** i: the zones that carry the demand of period p, finest first (a
  zone whose descendant also carries demand is dropped, so nothing is counted
  twice). For the sample city in 2022-2023 these are the sections *and* the
  ring comuni (level city, not subdivided): the ring's demand competes for the
  facilities near the border and the ring's facilities serve Milan's edge.
  Each origin is represented by one point (:func:`zone_points`): its centroid
  when the centroid lies in the zone, otherwise a point on its surface. There
  is no population below the zone, so no population-weighted centroid.
* **demand** D_it: demand of every target t served by s (``service_target``).
* **supply** S_jt = capacity_j × share(s, t) of the facilities of type s
  active in p (``active_from <= p <= active_to``, NULL = open-ended).
* **costs** c_ij: planar distance in metres between origin point and facility
  (:func:`welfare_core.costs.euclidean`, cutoff inclusive); when the service
  type's ``cost_unit`` is ``min``, converted to minutes at the speed of its
  ``travel_mode`` (:func:`welfare_core.costs.travel_time`).
* **decay** W from the service type (:func:`service_decay`).

Values per origin and target:

=================  ===========================================================
access             2sfca: 100 × A_i (accessible supply per 100 of demand);
                   3sfca: the same with selection weights (Wan et al. 2012);
                   gravity: Σ_j S_j W(c_ij) over c_ij <= max_cost (capacity
                   units within reach, no competition)
nearest_cost       cost to the nearest active facility of the type (no cutoff)
share_within       1 if a facility is within max_cost (inclusive), else 0
=================  ===========================================================

A zone of level L gets the **demand-weighted mean** of its origins' values,
:math:`v_Z = \sum_{i \in Z} D_{it} v_{it} / \sum_{i \in Z} D_{it}`, so its
share_within is the share of its demand within reach. A zone without demand
of the target gets NULL (NaN) values with ``null_reason`` "no demand in the
zone"; an infinite nearest cost gives NULL with "no facility of this type".
Only the study area is reported: zones of municipalities that are subdivided
below the city level (or the ``municipality_code`` asked for); the ring
comuni take part in the catchments but are not reported.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from . import accessibility as acc
from . import costs as costs_mod
from . import decay as decay_mod
from .errors import GeometryError, InputError, UnknownIdError
from .model import LEVEL_RANK, ZONE_LEVELS

METHODS = ("2sfca", "3sfca", "gravity")
DECAY_NAMES = ("none", "linear", "gaussian", "exponential", "gravity")

ACCESS_COLUMNS = (
    "zone_id", "level", "parent_id", "municipality_code", "period", "service_type_id",
    "target_id", "method", "demand", "access", "nearest_cost", "share_within",
    "max_cost", "cost_unit", "null_reason")

NO_DEMAND = "no demand in the zone"
NO_FACILITY = "no facility of this type"


# --- points ------------------------------------------------------------------------

def zone_points(geoms) -> np.ndarray:
    """One representative (x, y) per geometry, shape (n, 2).

    The centroid when the geometry covers it (convex and most compact
    shapes), else shapely's ``representative_point`` (a point on the
    surface, as PostGIS ST_PointOnSurface): a demand point never falls
    outside its zone. A point is its own representative. Geometries are
    shapely objects, WKB or hex WKB; a missing or empty one is an error.
    """
    geoms = list(geoms)
    xy = _wkb_points(geoms)
    if xy is not None:
        return xy
    key = _wkb_key(geoms)
    if key is not None and key in _POINTS_CACHE:
        _POINTS_CACHE[key] = _POINTS_CACHE.pop(key)  # most recently used last
        return _POINTS_CACHE[key].copy()
    out = _zone_points(geoms)
    if key is not None:
        # a session (SQL) or a scenario comparison asks for the same zones' points once per
        # service type: shapely 1.8 takes ~0.15 ms a polygon (≈ 1 s for 6,000 sections)
        while len(_POINTS_CACHE) >= 4:
            _POINTS_CACHE.pop(next(iter(_POINTS_CACHE)))
        _POINTS_CACHE[key] = out.copy()
    return out


_POINTS_CACHE: dict = {}


def _wkb_points(geoms):
    """(n, 2) coordinates when every geometry is a 2D WKB Point, read without shapely."""
    if not geoms or not all(isinstance(g, (bytes, bytearray)) and len(g) == 21 for g in geoms):
        return None
    raw = np.frombuffer(b"".join(geoms), dtype=np.uint8).reshape(-1, 21)
    little = raw[:, 0] == 1
    kind = np.where(little, raw[:, 1:5].copy().view("<u4")[:, 0],
                    raw[:, 1:5].copy().view(">u4")[:, 0])
    if not (kind == 1).all():
        return None
    xy = np.where(little[:, None], raw[:, 5:21].copy().view("<f8"),
                  raw[:, 5:21].copy().view(">f8"))
    return None if np.isnan(xy).any() else xy.astype(np.float64)  # NaN: an empty point


def _wkb_key(geoms):
    """A content key for a list of WKB geometries (None when any is not WKB bytes)."""
    import hashlib

    if not geoms or not all(isinstance(g, (bytes, bytearray)) for g in geoms):
        return None
    h = hashlib.blake2b(digest_size=20)
    h.update(np.fromiter(map(len, geoms), dtype=np.int64, count=len(geoms)).tobytes())
    h.update(b"".join(geoms))
    return (len(geoms), h.digest())


def _zone_points(geoms) -> np.ndarray:
    from .validation import geometries

    shapes = geometries(geoms)
    out = np.empty((len(shapes), 2), dtype=np.float64)
    # one coords read per point: each shapely 1.8 attribute access costs microseconds
    for k, g in enumerate(shapes):
        try:
            if g.geom_type == "Point":
                out[k] = g.coords[0][:2]
                continue
            c = g.centroid
            out[k] = (c if g.covers(c) else g.representative_point()).coords[0][:2]
        except (AttributeError, IndexError):  # None, or empty (no coordinates)
            raise GeometryError(f"geometry number {k + 1} is missing or empty",
                                hint="draw it or drop the row") from None
    return out


# --- decay ------------------------------------------------------------------------

def service_decay(name, param=None, max_cost=None):
    """The decay of a service type: ``decay`` name and ``decay_param`` -> callable or None.

    ====================  ======================================================
    none (or NULL)        None: W = 1 inside the catchment
    linear                W(c) = max(0, 1 - c/d), d = param, default max_cost
    gaussian              W(c) = exp(-c²/(2σ²)), σ = param (required)
    exponential           W(c) = exp(-β c), β = param (required)
    gravity               W(c) = c ** α, α = param (default -1); a zero cost is
                          an error (infinite weight)
    ====================  ======================================================
    """
    if name is None or name == "none":
        return None
    if name not in DECAY_NAMES:
        raise InputError(f"unknown decay {name!r}",
                         hint=f"use one of {', '.join(DECAY_NAMES)} (or NULL for none)")
    if param is not None and isinstance(param, float) and math.isnan(param):
        param = None
    if name == "linear":
        d = param if param is not None else max_cost
        if d is None:
            raise InputError("linear decay needs decay_param (the distance where the weight "
                             "reaches 0) or max_cost", hint="e.g. decay_param = 1000")
        return decay_mod.from_name("linear", max_cost=d)
    if name == "gravity":
        return decay_mod.from_name("gravity", alpha=-1.0 if param is None else param)
    if param is None:
        what = {"gaussian": "sigma, in the cost's units", "exponential": "beta, per cost unit"}
        raise InputError(f"{name} decay needs decay_param ({what[name]})",
                         hint="e.g. decay_param = 500 for gaussian, 0.002 for exponential")
    key = {"gaussian": "sigma", "exponential": "beta"}[name]
    return decay_mod.from_name(name, **{key: param})


# --- points in, accessibility out (the generic SQL functions) --------------------------

def point_fca(demand, demand_xy, supply, supply_xy, max_cost, *, decay=None,
              decay_param=None, method: str = "2sfca", cost=None) -> np.ndarray:
    """2SFCA / 3SFCA A_i of demand points over supply points (planar metres).

    demand (n,), demand_xy (n, 2); supply (m,), supply_xy (m, 2); max_cost in
    metres (inclusive); decay: a name of :func:`service_decay` (or None) with
    its ``decay_param``. Returns A_i (n,), supply per unit of demand.
    cost: the (n, m) costs as a CostMatrix or dense array (e.g. network costs
    from :func:`welfare_core.costs.from_od_table`), used instead of the planar
    distances; max_cost and the decay are then in its unit, and demand_xy /
    supply_xy are not read (None).
    """
    if method not in acc.METHODS:
        raise InputError(f"unknown method {method!r}", hint=f"use one of {', '.join(acc.METHODS)}")
    max_cost = costs_mod.check_max_cost(max_cost)
    w = service_decay(decay, decay_param, max_cost)
    if cost is None:
        cm = costs_mod.euclidean(demand_xy, supply_xy, max_cost)
    else:
        cm = costs_mod.as_cost(cost, max_cost=max_cost,
                               shape=(len(np.atleast_1d(demand)), len(np.atleast_1d(supply))))
    return acc.fca(demand, supply, cm, max_cost, w, method=method)


# --- the model-level driver ----------------------------------------------------------

def zone_accessibility(tables: Mapping, service_type_id: str, period: int,
                       level: str = "section", *, method: str = "2sfca", max_cost=None,
                       decay=None, decay_param=None, municipality_code=None,
                       zone_xy=None, carriers=None, progress=None):
    """Accessibility of every zone of ``level`` to service type ``service_type_id`` in ``period``.

    tables: canonical tables zone (with geometry), demand, service_type,
    service_target, facility (with geometry). max_cost, decay, decay_param:
    override the service type's (None = the type's; ``decay`` "none" = no
    decay). municipality_code: report this municipality's zones (default:
    every municipality subdivided below the city level, or all if none is).
    zone_xy: the (n, 2) points of ``tables["zone"]``'s rows as :func:`zone_points`
    gives them, for callers running several service types on the same zones
    (computed here when None). carriers: the ids of every zone carrying demand
    rows in ``period`` (any target), for callers whose ``tables["demand"]`` holds
    only the served targets' rows (default: the zones of ``tables["demand"]``).
    Returns a DataFrame with :data:`ACCESS_COLUMNS`, one row per zone × served
    target, sorted by target and zone.
    """
    return zone_accessibility_types(
        tables, [service_type_id], period, level, method=method, max_cost=max_cost,
        decay=decay, decay_param=decay_param, municipality_code=municipality_code,
        zone_xy=zone_xy, carriers=carriers, progress=progress)


def zone_accessibility_types(tables: Mapping, service_type_ids=None, period=None,
                             level: str = "section", *, method: str = "2sfca", max_cost=None,
                             decay=None, decay_param=None, municipality_code=None,
                             zone_xy=None, carriers=None, progress=None):
    """:func:`zone_accessibility` for several service types at once (None = every type of
    ``tables["service_type"]``), sharing the work that does not depend on the type (the
    origins and their demand, their points, the zone hierarchy). Options apply to every
    type (max_cost in each type's cost unit). Returns the rows of each type as
    :func:`zone_accessibility` gives them, types in sorted order: the same numbers as
    one call per type.
    """
    import pandas as pd

    from .indicators import ancestor_map

    report = progress or (lambda pct: None)
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    if level not in LEVEL_RANK:
        raise InputError(f"unknown level {level!r}", hint=f"use one of {', '.join(ZONE_LEVELS)}")
    if period is None:
        raise InputError("period is required", hint="e.g. 2023")
    period = int(period)
    if service_type_ids is None:
        service_type_ids = tables["service_type"]["service_type_id"].astype(str).tolist()
        if not service_type_ids:
            raise InputError("there is no service type", hint="load the service_type table first")
    elif isinstance(service_type_ids, str):
        service_type_ids = [service_type_ids]
    service_type_ids = sorted(dict.fromkeys(service_type_ids))

    # per type: catchment, decay, served targets and shares, open facilities (errors first)
    plans = []
    for sid in service_type_ids:
        stype = _service_type(tables["service_type"], sid)
        cutoff = costs_mod.check_max_cost(stype["max_cost"] if max_cost is None else max_cost)
        dname, dparam = decay, decay_param
        if dname is None:  # the type's decay; a decay_param given alone overrides its parameter
            dname = stype["decay"]
            dparam = stype.get("decay_param") if dparam is None else dparam
        w = service_decay(dname, dparam, cutoff)
        shares = tables["service_target"]
        shares = shares[shares["service_type_id"] == sid]
        if shares.empty:
            raise InputError(f"service type {sid!r} serves no target",
                             hint="add its targets and shares to service_target")
        target_ids = sorted(shares["target_id"].astype(str))
        share = (shares.set_index("target_id")["share"].astype(float).reindex(target_ids)
                 .to_numpy())
        fac = _active_facilities(tables["facility"], sid, period)
        plans.append((sid, cutoff, w, stype["cost_unit"], stype["travel_mode"], target_ids,
                      share, fac))

    zone = tables["zone"]
    all_targets = sorted({t for plan in plans for t in plan[5]})
    origins, demand_all = _origins(zone, tables["demand"], all_targets, period, carriers)
    column = {t: k for k, t in enumerate(all_targets)}
    report(20)

    if zone_xy is None:
        o_xy = zone_points(zone.set_index("zone_id").loc[origins, "geometry"].tolist())
    else:
        o_xy = np.asarray(zone_xy, dtype=float)
        if o_xy.shape != (len(zone), 2):
            raise InputError(f"zone_xy has shape {o_xy.shape}, the zone table {len(zone)} rows",
                             hint="pass zone_points(tables['zone']['geometry']) or None")
        o_xy = o_xy[pd.Index(zone["zone_id"]).get_indexer(origins)]

    # zone values: demand-weighted means of the origins' values (same zones for every type)
    up = ancestor_map(zone, level)
    zones = _reported_zones(zone, level, municipality_code)
    anc = pd.Series(origins).map(up)
    if anc.isna().all():
        raise InputError(f"demand for {period} is stored only at levels coarser than {level}",
                         hint="choose a coarser level for this period")
    pos = pd.Index(zones["zone_id"]).get_indexer(anc.fillna("").to_numpy())
    keep = pos >= 0
    nz = len(zones)
    zone_ids = zones["zone_id"].to_numpy()
    parents = zones["parent_id"].to_numpy()
    munis = zones["municipality_code"].to_numpy()

    frames = []
    for done, (sid, cutoff, w, cost_unit, mode, target_ids, share, fac) in enumerate(plans):
        demand = demand_all[:, [column[t] for t in target_ids]]
        f_xy = zone_points(fac["geometry"].tolist())
        supply = fac["capacity"].to_numpy(dtype=float)[:, None] * share[None, :]
        # costs: metres from the points, minutes at the travel mode's speed when asked
        metres = cutoff if cost_unit == "m" else cutoff * _metres_per_minute(mode)
        cm = costs_mod.euclidean(o_xy, f_xy, metres)
        cm._pairs()  # made now: nearest and share within need them, so the FCA uses them too
        if cost_unit == "min":
            cm = costs_mod.travel_time(cm, mode).within(cutoff)
        if method == "gravity":
            # no decay means W = 1 inside the catchment, as for the FCA methods
            access = acc.gravity_potential(supply, cm, w or decay_mod.step({cutoff: 1.0}),
                                           cutoff)
        else:
            access = 100.0 * acc.fca(demand, supply, cm, cutoff, w, method=method)
        nearest = _nearest(cm, o_xy, f_xy, cost_unit, mode)
        within = np.zeros(len(origins))
        within[cm._pairs()[0]] = 1.0  # order-free: no need to sort the pairs

        k = len(target_ids)
        dk = demand[keep]
        dsum = _group_sum(pos[keep], dk, nz)
        values = {}
        for name, v in (("access", access), ("nearest_cost", np.repeat(nearest[:, None], k, 1)),
                        ("share_within", np.repeat(within[:, None], k, 1))):
            dv = dk * v[keep]
            dv[dk == 0] = 0.0  # 0 × inf: an origin without demand does not count
            with np.errstate(invalid="ignore", divide="ignore"):
                values[name] = _group_sum(pos[keep], dv, nz) / dsum

        # target-major, zones sorted within: already in (target_id, zone_id) order
        d = dsum.T.ravel()
        grid = pd.DataFrame({
            "zone_id": np.tile(zone_ids, k), "level": level,
            "parent_id": np.tile(parents, k), "municipality_code": np.tile(munis, k),
            "period": period, "service_type_id": sid,
            "target_id": np.repeat(np.asarray(target_ids, dtype=object), nz),
            "method": method, "demand": d})
        no_demand = d <= 0
        reason = np.where(no_demand, NO_DEMAND, None).astype(object)
        for name, v in values.items():
            v = v.T.ravel()
            infinite = ~no_demand & np.isinf(v)
            if name == "nearest_cost":
                reason[infinite] = NO_FACILITY
            grid[name] = np.where(no_demand | infinite, np.nan, v)
        grid["max_cost"] = cutoff
        grid["cost_unit"] = cost_unit
        grid["null_reason"] = reason
        frames.append(grid[list(ACCESS_COLUMNS)])
        report(20 + 80 * (done + 1) // len(plans))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def publish_accessibility(rows, rules=None, *, sensitive=(), level: str,
                          sensitive_levels=("neighbourhood", "district", "city"),
                          on_published=None):
    """Published copy of :func:`zone_accessibility` rows (``published`` added).

    Every published value is a function of published counts only:

    * demand: the zone's demand through :func:`welfare_core.privacy.safe_counts`
      (sensitive targets under ``rules.for_target(True)``);
    * access, nearest_cost, share_within: read from ``on_published``, the rows of
      the same call of :func:`zone_accessibility` on
      ``privacy.with_published_demand(tables, rules, sensitive=sensitive)``. A 2SFCA
      value is S_j over the demand of a catchment, and a zone's value is a mean
      weighted by its origins' demand: computed on raw demand, a zone alone in a
      facility's catchment would give its raw demand back (S / A); computed on
      the origins' published demands (a suppressed one standing in as
      ``suppress_below / 2``) it says nothing the published counts do not;
    * each is hidden like a rate when the published demand is hidden or below
      ``min_rate_denominator``.

    Rows of a sensitive target below ``sensitive_levels`` are not published.
    """
    from . import privacy

    rules = rules or privacy.DEFAULT
    means = ("access", "nearest_cost", "share_within")
    if on_published is None:
        raise InputError("publish_accessibility needs the rows computed on published demand "
                         "(on_published)", hint="pass on_published=zone_accessibility("
                         "privacy.with_published_demand(tables, rules, sensitive=...), "
                         "<same arguments>)")
    key = ["service_type_id", "zone_id", "target_id"]  # rows may hold several types
    pub = rows[key].merge(on_published[key + list(means)], on=key, how="left")
    out = rows.copy()
    is_sensitive = rows["target_id"].isin(list(sensitive)).to_numpy()
    d = rows["demand"].to_numpy(dtype=float)
    d_pub = np.where(is_sensitive, privacy.safe_counts(d, rules.for_target(True)),
                     privacy.safe_counts(d, rules))
    out["demand"] = d_pub
    for name in means:
        out[name] = privacy.safe_rates(pub[name].to_numpy(dtype=float), d_pub, rules)
    out["published"] = ~(is_sensitive & (level not in sensitive_levels))
    return out


def published_accessibility(tables, service_type_id, period, level="section", *, rules=None,
                            sensitive=(), sensitive_levels=("neighbourhood", "district", "city"),
                            rows=None, **options):
    """:func:`zone_accessibility` then :func:`publish_accessibility`, in one call.

    service_type_id: one id, a list of ids or None (every type:
    :func:`zone_accessibility_types`); rows: the raw rows of the same call when
    the caller already has them; options: the keyword arguments of
    :func:`zone_accessibility`.
    """
    from . import privacy

    rules = rules or privacy.DEFAULT
    ids = [service_type_id] if isinstance(service_type_id, str) else service_type_id
    if rows is None:
        rows = zone_accessibility_types(tables, ids, period, level, **options)
    options.pop("progress", None)
    on_pub = zone_accessibility_types(
        privacy.with_published_demand(tables, rules, sensitive=sensitive), ids, period, level,
        **options)
    return publish_accessibility(rows, rules, sensitive=sensitive, level=level,
                                 sensitive_levels=sensitive_levels, on_published=on_pub)


# --- helpers --------------------------------------------------------------------------

def _service_type(frame, service_type_id) -> dict:
    rows = frame[frame["service_type_id"] == service_type_id]
    if rows.empty:
        have = sorted(frame["service_type_id"].astype(str))
        raise UnknownIdError(f"unknown service type {service_type_id!r}",
                             hint=f"use one of {', '.join(have)}" if have else
                             "load the service_type table first")
    return rows.iloc[0].to_dict()


def _active_facilities(fac, service_type_id, period):
    mine = fac[fac["service_type_id"] == service_type_id]
    start = mine["active_from"].astype(float)
    stop = mine["active_to"].astype(float)
    active = (start.isna() | (start <= period)) & (stop.isna() | (stop >= period))
    mine = mine[active.to_numpy()]
    if mine.empty:
        raise InputError(f"no facility of service type {service_type_id!r} is active in {period}",
                         hint="check the facility table (service_type_id, active_from, "
                              "active_to) or choose another period")
    if mine["capacity"].isna().any():
        raise InputError(f"{int(mine['capacity'].isna().sum())} facilities of type "
                         f"{service_type_id!r} have no capacity", hint="fill in their capacity")
    return mine


def _origins(zone, demand, target_ids, period, carriers=None):
    """Ids of the finest zones carrying demand in ``period`` and their demand (n, k).

    carriers: the zones carrying demand rows in ``period`` (any target) when
    ``demand`` holds only some targets' rows (default: the zones of ``demand``).
    """
    import pandas as pd

    rows = demand[demand["period"] == period]
    if rows.empty and carriers is None:
        have = sorted(demand["period"].unique().tolist())
        raise InputError(f"no demand rows for period {period}",
                         hint=f"periods available: {have}" if have else "load demand first")
    carriers = pd.Index(rows["zone_id"].astype(str).unique() if carriers is None else
                        pd.unique(np.asarray(list(carriers), dtype=object)).astype(str))
    known = pd.Index(zone["zone_id"].astype(str))
    unknown = carriers.difference(known)
    if len(unknown):
        raise UnknownIdError(f"demand refers to {len(unknown)} unknown zone(s), "
                             f"e.g. {list(unknown[:5])}", hint="load those zones or drop the rows")
    # drop every zone that is an ancestor of another carrier (no double counting)
    parent = zone.set_index("zone_id")["parent_id"]
    ancestors, cur = set(), pd.Series(carriers, index=carriers)
    for _ in range(len(ZONE_LEVELS)):
        cur = cur.map(parent).dropna()
        if cur.empty:
            break
        ancestors.update(cur.tolist())
    origins = sorted(set(carriers) - ancestors)
    served = rows[rows["target_id"].isin(target_ids) & rows["zone_id"].isin(origins)]
    table = (served.groupby(["zone_id", "target_id"])["demand"].sum().unstack()
             .reindex(index=origins, columns=target_ids).fillna(0.0))
    values = table.to_numpy(dtype=float)
    if (values < 0).any():
        raise InputError("demand has negative values", hint="fix the demand table")
    return origins, values


def _reported_zones(zone, level, municipality_code):
    zones = zone[zone["level"] == level]
    if municipality_code is not None:
        zones = zones[zones["municipality_code"] == municipality_code]
        if zones.empty:
            raise InputError(f"municipality {municipality_code!r} has no zones of level {level!r}",
                             hint="check the municipality code and the level")
    else:
        split = zone.loc[zone["level"] != "city", "municipality_code"].unique()
        if len(split):
            zones = zones[zones["municipality_code"].isin(split)]
        if zones.empty:
            raise InputError(f"there are no zones of level {level!r} in the study area",
                             hint="load zones of that level or choose another level")
    return (zones[["zone_id", "parent_id", "municipality_code"]]
            .sort_values("zone_id").reset_index(drop=True))


def _metres_per_minute(mode) -> float:
    if mode not in costs_mod.SPEED_KMH:
        raise InputError(f"unknown travel mode {mode!r}",
                         hint=f"use one of {', '.join(costs_mod.SPEED_KMH)}")
    return costs_mod.SPEED_KMH[mode] * 1000.0 / 60.0


def _nearest(cm, o_xy, f_xy, cost_unit, mode) -> np.ndarray:
    """Nearest facility cost per origin: from the pairs within the cutoff when there
    are some (the same numbers as the catchment), else a KD-tree query (no cutoff)."""
    from scipy.spatial import cKDTree

    best = acc.nearest_cost(cm)
    far = np.isinf(best)
    if far.any() and len(f_xy):
        dist, _ = cKDTree(f_xy).query(o_xy[far], k=1)
        best[far] = dist if cost_unit == "m" else costs_mod.travel_time(dist, mode)
    return best


def _group_sum(pos, values, n) -> np.ndarray:
    """Sum of the rows of ``values`` (r, k) by group ``pos`` (r,) into (n, k)."""
    out = np.zeros((n, values.shape[1]))
    np.add.at(out, pos, values)
    return out
