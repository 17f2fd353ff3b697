"""What-if scenarios: named lists of changes applied to the canonical tables.

A scenario is a list of :class:`Change` on a base: the current data, or
another scenario (whose changes are applied first, so scenarios of scenarios
compose). :func:`apply` is pure: it returns a new dict of tables and never
mutates the input; tables no change touches are the very same objects as in
the input (so an empty scenario reproduces the base bit for bit, and callers
can tell cheaply what changed).

Changes (``kind`` and its parameters; every door stores them as kind + a JSON
object of parameters):

============  ===================================================================
open          facility_id (new), service_type_id, capacity, and either x, y (working
              CRS metres) or site_id (a candidate site); optional name, provider_org,
              municipality_code
close         facility_id (or facility_ids): the facilities are removed
move          facility_id, and x, y or site_id
capacity      facility_id / facility_ids / service_type_id (all its facilities),
              mode ``set`` | ``delta`` | ``pct``, value: new capacity = value,
              capacity + value, or capacity × (1 + value/100); never below 0
demand        target_id, zone_ids (any level; None = every zone, ``pct`` only),
              optional period (None = every period), mode set | delta | pct,
              value. ``pct`` multiplies every demand row of the target in the zones
              by (1 + value/100); ``set`` / ``delta`` make the total of each listed
              zone value / total + value, spread over the rows beneath it in
              proportion to their demand (equally when they are all 0)
catchment     service_type_id and any of max_cost, decay, decay_param
adopt         service_type_id, sites: [{site_id, capacity}, ...] (the outcome of an
              optimisation run): each site opens a facility of the type with that
              id (an existing facility id only gets its capacity); replace=true
              also closes the type's facilities that are not listed
============  ===================================================================
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from .errors import InputError, UnknownIdError

KINDS = ("open", "close", "move", "capacity", "demand", "catchment", "adopt")
MODES = ("set", "delta", "pct")
DECAYS = ("none", "linear", "gaussian", "exponential", "gravity")

# parameters each kind accepts: (required, optional)
PARAMS = {
    "open": ({"facility_id", "service_type_id", "capacity"},
             {"x", "y", "site_id", "name", "provider_org", "municipality_code"}),
    "close": (set(), {"facility_id", "facility_ids"}),
    "move": ({"facility_id"}, {"x", "y", "site_id"}),
    "capacity": ({"mode", "value"}, {"facility_id", "facility_ids", "service_type_id"}),
    "demand": ({"target_id", "mode", "value"}, {"zone_ids", "period"}),
    "catchment": ({"service_type_id"}, {"max_cost", "decay", "decay_param"}),
    "adopt": ({"service_type_id", "sites"}, {"replace"}),
}


@dataclass(frozen=True)
class Change:
    """One validated change: ``kind`` and its ``params`` (plain JSON-able values)."""

    kind: str
    params: Mapping = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dict(self.params), sort_keys=True)


@dataclass(frozen=True)
class Scenario:
    """A named list of changes on a base scenario (None = the current data)."""

    name: str
    changes: tuple = ()
    base: "Scenario | None" = None

    def all_changes(self) -> tuple:
        """The base's changes (recursively), then this scenario's own."""
        chain, seen, s = [], set(), self
        while s is not None:
            if id(s) in seen:
                raise InputError(f"scenario {self.name!r} is its own base",
                                 hint="choose another base scenario")
            seen.add(id(s))
            chain.append(s)
            s = s.base
        return tuple(c for s in reversed(chain) for c in s.changes)


def change(kind: str, **params) -> Change:
    """A validated :class:`Change`; the message of a bad one says what to fix."""
    if kind not in KINDS:
        raise InputError(f"unknown scenario change kind {kind!r}",
                         hint=f"use one of {', '.join(KINDS)}")
    params = {k: v for k, v in params.items() if v is not None and not _nan(v)}
    required, optional = PARAMS[kind]
    missing = sorted(required - set(params))
    if missing:
        raise InputError(f"change {kind!r} needs {', '.join(missing)}",
                         hint=f"it accepts {', '.join(sorted(required | optional))}")
    extra = sorted(set(params) - required - optional)
    if extra:
        raise InputError(f"change {kind!r} does not take {', '.join(extra)}",
                         hint=f"it accepts {', '.join(sorted(required | optional))}")
    if "mode" in params and params["mode"] not in MODES:
        raise InputError(f"change {kind!r}: unknown mode {params['mode']!r}",
                         hint="use set, delta or pct")
    for key in ("value", "capacity", "x", "y", "max_cost", "decay_param"):
        if key in params:
            params[key] = _number(params[key], f"{kind}.{key}")
    if kind in ("open", "move") and "site_id" not in params and not {"x", "y"} <= set(params):
        raise InputError(f"change {kind!r} needs a place: x and y, or site_id",
                         hint="x, y in the working CRS (metres), or a candidate site id")
    if kind == "open" and params["capacity"] < 0:
        raise InputError("change 'open': capacity must be >= 0")
    if kind == "close" and not ({"facility_id", "facility_ids"} & set(params)):
        raise InputError("change 'close' needs facility_id or facility_ids")
    if kind == "capacity" and not ({"facility_id", "facility_ids", "service_type_id"}
                                   & set(params)):
        raise InputError("change 'capacity' needs facility_id, facility_ids or service_type_id",
                         hint="say which facilities change")
    if kind == "demand":
        if params["mode"] != "pct" and not params.get("zone_ids"):
            raise InputError(f"demand change with mode {params['mode']!r} needs zone_ids",
                             hint="list the zones, or use mode pct for every zone")
        if "zone_ids" in params:
            params["zone_ids"] = _id_list(params["zone_ids"], "demand.zone_ids")
        if "period" in params:
            params["period"] = int(params["period"])
    if kind == "catchment":
        if params.get("decay") is not None and params["decay"] not in DECAYS:
            raise InputError(f"catchment change: unknown decay {params['decay']!r}",
                             hint=f"use one of {', '.join(DECAYS)}")
        if params.get("max_cost") is not None and params["max_cost"] < 0:
            raise InputError("catchment change: max_cost must be >= 0")
    if "facility_ids" in params:
        params["facility_ids"] = _id_list(params["facility_ids"], f"{kind}.facility_ids")
    if kind == "adopt":
        params["sites"] = _sites(params["sites"])
        params["replace"] = bool(params.get("replace", False))
    return Change(kind, params)


def changes_from_records(records: Iterable) -> list[Change]:
    """Changes from rows with ``kind`` and ``params`` (a dict or a JSON text), in order.

    Rows may instead carry the parameters as their own columns (a changes
    table in QGIS): every column other than ``kind`` / ``seq`` / ``change_id``
    with a value is a parameter; list parameters are JSON text or
    comma-separated ids.
    """
    out = []
    for k, rec in enumerate(records, 1):
        rec = dict(rec)
        kind = rec.pop("kind", None)
        if kind is None:
            raise InputError(f"change number {k} has no kind", hint=f"use one of {', '.join(KINDS)}")
        params = rec.pop("params", None)
        if isinstance(params, str):
            try:
                params = json.loads(params) if params.strip() else {}
            except ValueError as e:
                raise InputError(f"change number {k}: params is not valid JSON ({e})") from None
        if params is None:
            params = {key: _json_or_text(v) for key, v in rec.items()
                      if key not in ("seq", "change_id", "scenario_id", "fid")
                      and v is not None and not _nan(v) and v != ""}
        if not isinstance(params, Mapping):
            raise InputError(f"change number {k}: params must be a JSON object")
        out.append(change(str(kind), **params))
    return out


# --- apply -----------------------------------------------------------------------------

def apply(tables: Mapping[str, pd.DataFrame], changes) -> dict:
    """New tables with ``changes`` (a :class:`Scenario` or a list of :class:`Change`) applied.

    Pure: the input is never modified; untouched tables are returned as the
    same objects. Changes apply in order, each to the result of the previous.
    """
    if isinstance(changes, Scenario):
        changes = changes.all_changes()
    out = dict(tables)
    for c in changes:
        if not isinstance(c, Change):
            c = change(c["kind"], **dict(c.get("params") or {}))
        out = _APPLY[c.kind](out, dict(c.params))
    return out


def _open(t, p):
    fac = t["facility"]
    fid = str(p["facility_id"])
    if (fac["facility_id"] == fid).any():
        raise InputError(f"cannot open facility {fid!r}: a facility with that id exists",
                         hint="choose a new id, or use a capacity change")
    stype = str(p["service_type_id"])
    if not (t["service_type"]["service_type_id"] == stype).any():
        raise UnknownIdError(f"unknown service type {stype!r} in change 'open'",
                             hint="use an id of the service_type table")
    geom, muni = _place(t, p, "open")
    row = {c: None for c in fac.columns}
    row.update(facility_id=fid, service_type_id=stype, capacity=float(p["capacity"]),
               name=p.get("name", fid), provider_org=p.get("provider_org", "scenario"),
               municipality_code=p.get("municipality_code", muni), published=False,
               source_id="scenario", geometry=geom)
    if "active_from" in fac:
        row["active_from"] = None
        row["active_to"] = None
    new = pd.DataFrame([row], columns=fac.columns)
    new = new.astype({c: fac[c].dtype for c in fac.columns if fac[c].dtype.kind in "fi"
                      and new[c].notna().all()}, errors="ignore")
    if "zone_id" in fac:
        new["zone_id"] = _locate(t, [geom])
    return {**t, "facility": pd.concat([fac, new], ignore_index=True)}


def _close(t, p):
    fac = t["facility"]
    ids = _ids(p)
    _known(fac, ids, "close")
    return {**t, "facility": fac[~fac["facility_id"].isin(ids)].reset_index(drop=True)}


def _move(t, p):
    fac = t["facility"].copy()
    fid = str(p["facility_id"])
    _known(fac, [fid], "move")
    geom, _ = _place(t, p, "move")
    at = (fac["facility_id"] == fid).to_numpy()
    fac["geometry"] = fac["geometry"].astype(object)
    fac.loc[at, "geometry"] = pd.Series([geom] * int(at.sum()), index=fac.index[at])
    if "zone_id" in fac:
        fac.loc[at, "zone_id"] = _locate(t, [geom])[0]
    return {**t, "facility": fac}


def _capacity(t, p):
    fac = t["facility"].copy()
    if "service_type_id" in p:
        at = (fac["service_type_id"] == p["service_type_id"]).to_numpy()
        if not at.any():
            raise UnknownIdError(f"capacity change: no facility of service type "
                                 f"{p['service_type_id']!r}", hint="check the service type id")
    else:
        ids = _ids(p)
        _known(fac, ids, "capacity")
        at = fac["facility_id"].isin(ids).to_numpy()
    cap = fac["capacity"].to_numpy(dtype=float).copy()
    cap[at] = _new_values(cap[at], p["mode"], p["value"])
    if (cap[at] < 0).any():
        raise InputError("capacity change would make a capacity negative",
                         hint="use a smaller reduction, or close the facility")
    fac["capacity"] = cap
    return {**t, "facility": fac}


def _demand(t, p):
    dem = t["demand"]
    target = str(p["target_id"])
    if "target" in t and not (t["target"]["target_id"] == target).any():
        raise UnknownIdError(f"unknown target {target!r} in a demand change",
                             hint="use an id of the target table")
    rows = (dem["target_id"] == target).to_numpy()
    if p.get("period") is not None:
        rows &= (dem["period"] == p["period"]).to_numpy()
    value = np.asarray(dem["demand"], dtype=float).copy()
    zone_ids = p.get("zone_ids")
    if zone_ids is None:  # pct over every zone
        value[rows] = _new_values(value[rows], "pct", p["value"])
        return {**t, "demand": dem.assign(demand=value)}
    known = set(t["zone"]["zone_id"])
    unknown = sorted(set(zone_ids) - known)
    if unknown:
        raise UnknownIdError(f"demand change: unknown zone(s) {unknown[:5]}",
                             hint="use ids of the zone table")
    owner = _listed_ancestor(t["zone"], dem["zone_id"], zone_ids)
    rows &= owner.notna().to_numpy()
    extra = []
    for zid in zone_ids:  # one group per listed zone (and period): a handful, not per row
        mine = rows & (owner == zid).to_numpy()
        periods = ([p["period"]] if p.get("period") is not None
                   else sorted(dem.loc[(dem["target_id"] == target).to_numpy(), "period"].unique()))
        for per in periods:
            g = mine & (dem["period"] == per).to_numpy()
            if p["mode"] == "pct":
                value[g] = _new_values(value[g], "pct", p["value"])
                continue
            total = value[g].sum()
            new_total = p["value"] if p["mode"] == "set" else total + p["value"]
            if new_total < 0:
                raise InputError(f"demand change would make the demand of {target!r} in "
                                 f"{zid} negative ({new_total:g})", hint="use a smaller reduction")
            if not g.any():
                extra.append((zid, per, new_total))
            elif total > 0:
                value[g] = value[g] * (new_total / total)
            else:
                value[g] = new_total / g.sum()
    if (value < 0).any():
        raise InputError("demand change would make a demand negative",
                         hint="use a smaller reduction")
    out = dem.assign(demand=value)
    if extra:
        add = pd.DataFrame({c: None for c in dem.columns}, index=range(len(extra)))
        add["zone_id"] = [e[0] for e in extra]
        add["target_id"] = target
        add["period"] = [e[1] for e in extra]
        add["demand"] = [float(e[2]) for e in extra]
        if "source_id" in add:
            add["source_id"] = "scenario"
        out = pd.concat([out, add.astype({"period": dem["period"].dtype})], ignore_index=True)
    return {**t, "demand": out}


def _catchment(t, p):
    st = t["service_type"].copy()
    at = (st["service_type_id"] == p["service_type_id"]).to_numpy()
    if not at.any():
        raise UnknownIdError(f"catchment change: unknown service type {p['service_type_id']!r}",
                             hint="use an id of the service_type table")
    for key in ("max_cost", "decay", "decay_param"):
        if key in p:
            if key == "decay":
                st[key] = st[key].astype(object)
            st.loc[at, key] = p[key]
    if p.get("decay") == "none" and "decay_param" not in p:
        st.loc[at, "decay_param"] = np.nan
    return {**t, "service_type": st}


def _adopt(t, p):
    stype = p["service_type_id"]
    fac = t["facility"]
    listed = [s["site_id"] for s in p["sites"]]
    if p.get("replace"):
        drop = fac["service_type_id"].eq(stype) & ~fac["facility_id"].isin(listed)
        t = {**t, "facility": fac[~drop.to_numpy()].reset_index(drop=True)}
    for s in p["sites"]:
        have = t["facility"]["facility_id"] == s["site_id"]
        if have.any():
            t = _capacity(t, {"facility_id": s["site_id"], "mode": "set",
                              "value": s["capacity"]})
        else:
            t = _open(t, {"facility_id": s["site_id"], "site_id": s["site_id"],
                          "service_type_id": stype, "capacity": s["capacity"]})
    return t


_APPLY = {"open": _open, "close": _close, "move": _move, "capacity": _capacity,
          "demand": _demand, "catchment": _catchment, "adopt": _adopt}


# --- helpers ---------------------------------------------------------------------------

def _new_values(old: np.ndarray, mode: str, value: float) -> np.ndarray:
    if mode == "set":
        return np.full_like(old, float(value))
    if mode == "delta":
        return old + float(value)
    return old * (1.0 + float(value) / 100.0)


def _place(t, p, kind):
    """Geometry (like the facility table's) and municipality of the place of an open/move."""
    if "site_id" in p and "x" not in p:
        sites = t.get("candidate_site")
        row = None if sites is None else sites[sites["site_id"] == p["site_id"]]
        if row is None or row.empty:
            raise UnknownIdError(f"change {kind!r}: unknown candidate site {p['site_id']!r}",
                                 hint="use an id of the candidate_site table, or give x and y")
        geom = _like(t["facility"]["geometry"], row["geometry"].iloc[0])
        return geom, row["municipality_code"].iloc[0] if "municipality_code" in row else None
    from shapely.geometry import Point
    geom = _like(t["facility"]["geometry"], Point(p["x"], p["y"]))
    zone = _locate(t, [geom])[0]
    muni = None
    if zone is not None and "municipality_code" in t["zone"]:
        muni = t["zone"].set_index("zone_id")["municipality_code"].get(zone)
    return geom, muni


def _like(column: pd.Series, geom):
    """``geom`` in the representation of ``column`` (shapely object, WKB bytes or hex)."""
    from shapely import wkb
    from .validation import geometries
    sample = next((g for g in column if g is not None), None)
    g = geometries([geom])[0]
    if isinstance(sample, (bytes, bytearray, memoryview)):
        return wkb.dumps(g)
    if isinstance(sample, str):
        return wkb.dumps(g, hex=True)
    return g


def _locate(t, geoms) -> list:
    from .geometry import locate_points
    zone = t["zone"]
    if "geometry" not in zone:
        return [None] * len(geoms)
    finest = zone[~zone["zone_id"].isin(zone["parent_id"].dropna())]
    return list(locate_points(list(geoms), finest["zone_id"].tolist(), finest["geometry"].tolist()))


def _listed_ancestor(zone: pd.DataFrame, zone_ids: pd.Series, listed) -> pd.Series:
    """For each zone id: itself or its nearest ancestor in ``listed`` (None if neither)."""
    parent = zone.set_index("zone_id")["parent_id"]
    listed = set(listed)
    cur = pd.Series(zone_ids.to_numpy(), index=zone_ids.index, dtype=object)
    found = pd.Series(None, index=zone_ids.index, dtype=object)
    for _ in range(8):
        hit = found.isna() & cur.isin(listed)
        found[hit] = cur[hit]
        cur = cur.map(parent)
        if cur.isna().all():
            break
    return found


def _ids(p) -> list:
    return list(p.get("facility_ids") or []) + ([str(p["facility_id"])] if "facility_id" in p
                                                 else [])


def _known(fac, ids, kind):
    unknown = sorted(set(ids) - set(fac["facility_id"]))
    if unknown:
        raise UnknownIdError(f"change {kind!r}: unknown facility id(s) {unknown[:5]}",
                             hint="use ids of the facility table (of the base scenario)")


def _sites(sites) -> list:
    if isinstance(sites, str):
        sites = json.loads(sites)
    out = []
    for s in sites or []:
        if not isinstance(s, Mapping) or "site_id" not in s or "capacity" not in s:
            raise InputError("adopt: each site needs site_id and capacity",
                             hint='e.g. [{"site_id": "S1", "capacity": 40}]')
        cap = _number(s["capacity"], "adopt.capacity")
        if cap < 0:
            raise InputError(f"adopt: capacity of site {s['site_id']!r} is negative")
        out.append({"site_id": str(s["site_id"]), "capacity": cap})
    if not out:
        raise InputError("adopt: the list of sites is empty", hint="give at least one site")
    return out


def _id_list(v, name) -> list:
    if isinstance(v, str):
        v = json.loads(v) if v.strip().startswith("[") else [s.strip() for s in v.split(",")]
    try:
        out = [str(x) for x in v if str(x)]
    except TypeError:
        raise InputError(f"{name} must be a list of ids") from None
    return out


def _number(v, name) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {v!r}") from None
    if not math.isfinite(f):
        raise InputError(f"{name} must be finite, got {v!r}")
    return f


def _nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _json_or_text(v):
    if isinstance(v, str) and v.strip()[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v.item() if hasattr(v, "item") else v


def changes_from_facilities(base: pd.DataFrame, edited: pd.DataFrame) -> list[Change]:
    """The changes that turn facility table ``base`` into ``edited`` (a layer a user edited).

    A facility only in ``base`` is closed, one only in ``edited`` is opened at
    its point, one whose point moved is moved, one whose capacity changed gets
    it set. Order: close, open, move, capacity (ids sorted within each).
    """
    from .validation import geometries
    for name, frame in (("base", base), ("edited", edited)):
        dup = frame["facility_id"][frame["facility_id"].duplicated()]
        if len(dup):
            raise InputError(f"the {name} facilities repeat id(s) {sorted(set(dup))[:5]}",
                             hint="every facility needs its own facility_id")
    a = base.set_index(base["facility_id"].astype(str))
    b = edited.set_index(edited["facility_id"].astype(str))
    out = [change("close", facility_ids=sorted(set(a.index) - set(b.index)))] \
        if set(a.index) - set(b.index) else []
    pts_b = dict(zip(b.index, geometries(b["geometry"].tolist())))
    for fid in sorted(set(b.index) - set(a.index)):
        row, p = b.loc[fid], pts_b[fid]
        if p is None or p.is_empty:
            raise InputError(f"new facility {fid!r} has no point", hint="draw it on the map")
        out.append(change("open", facility_id=fid, service_type_id=row["service_type_id"],
                          capacity=row["capacity"], x=p.x, y=p.y,
                          name=row.get("name"), provider_org=row.get("provider_org")))
    both = sorted(set(a.index) & set(b.index))
    pts_a = dict(zip(a.index, geometries(a["geometry"].tolist())))
    for fid in both:
        pa, pb = pts_a[fid], pts_b[fid]
        if pb is not None and not pb.is_empty and (pa is None or not pa.equals_exact(pb, 1e-6)):
            out.append(change("move", facility_id=fid, x=pb.x, y=pb.y))
    for fid in both:
        ca, cb = float(a.loc[fid, "capacity"]), float(b.loc[fid, "capacity"])
        if not (ca == cb or (math.isnan(ca) and math.isnan(cb))):
            out.append(change("capacity", facility_id=fid, mode="set", value=cb))
    return out
