"""Zone indicators: need, supply, coverage and gaps per zone × target and × service type.

Formulas (../shared/DOMAIN.md), for zone a of the requested level and period:

target rows (zone × target t)
    demand          D_a        persons / households of t living in a
    reference       P_a        all residents (person targets) or all households
    incidence       D_a / P_a × 100
    supply          S_a = Σ_s share(s, t) · capacity of active facilities of type s in a
    coverage        S_a / D_a × 100
    required        Σ_s share(s, t) · standard_s / 100 · R_{s,a}
    gap             max(0, required − S_a), in the capacity units of the serving types
    LQ              (D_a / P_a) / (D / P), D and P summed over all zones of the level

service rows (zone × service type s)
    reference       R_{s,a}    demand of the type's reference target (e.g. residents 65+)
    supply          capacity of active facilities of type s in a
    coverage        S / R × 100
    gap             max(0, standard / 100 × R − S)
    with ``accessibility=True`` (:func:`_service_access`), from the sections' values:
    access_per_100  accessible capacity per 100 of the reference population (2SFCA,
                    or 3SFCA, in the type's catchment, across zone borders)
    nearest_cost    cost to the nearest active facility of the type (cost unit of the type)
    share_within    share of the reference population with a facility within max_cost
    each the demand-weighted mean Σ_i R_i v_i / Σ_i R_i over the zone's sections i

Ranks are ascending among zones of the same level for the same subject; ties
share the minimum rank; percentile rank (r − 1)/(N − 1); z-score with the
population standard deviation. Undefined values are NULL (NaN in the frame)
and ``null_reason`` says why. Parents are aggregated from their children by
parent_id, so a district's totals are exactly the sums of its sections.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from .errors import InputError, UnknownIdError
from .geometry import locate_points
from .model import LEVEL_RANK, ZONE_LEVELS

TARGET_COLUMNS = (
    "zone_id", "level", "parent_id", "period", "target_id", "unit", "polarity",
    "demand", "reference_population", "incidence_per_100", "supply", "coverage_per_100",
    "required", "gap", "location_quotient",
    "incidence_rank", "incidence_pct_rank", "incidence_z",
    "coverage_rank", "coverage_pct_rank", "coverage_z", "null_reason")

SERVICE_COLUMNS = (
    "zone_id", "level", "parent_id", "period", "service_type_id", "reference_target_id",
    "reference_population", "supply", "coverage_per_100", "standard_per_100", "gap",
    "facilities", "coverage_rank", "coverage_pct_rank", "coverage_z",
    "gap_rank", "gap_pct_rank", "gap_z", "access_per_100", "nearest_cost", "share_within",
    "null_reason")

ACCESS_VALUES = ("access_per_100", "nearest_cost", "share_within")  # service rows, optional
ACCESS_METHODS = ("2sfca", "3sfca")  # measures in supply per unit of demand
OUTSIDE = "outside the study area of the catchments"


def zone_indicators(tables: Mapping[str, pd.DataFrame], level: str, period: int,
                    *, targets=None, accessibility: bool = False,
                    access_method: str = "2sfca") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Indicators for every zone of ``level`` in ``period``.

    tables: canonical tables (model.TABLES names): zone, demand, population,
            household, target, service_type, service_target, facility. Facilities
            carry either ``zone_id`` or a ``geometry`` located in the zones.
    targets: optional list of target ids to report (default: all).
    accessibility: also fill the service rows' :data:`ACCESS_VALUES` (else NaN),
            with ``access_method`` "2sfca" (default) or "3sfca" in each service
            type's catchment; needs zone and facility geometries.
    Returns (target rows, service rows) with TARGET_COLUMNS / SERVICE_COLUMNS.
    """
    zones = _zones_at(tables["zone"], level)
    if accessibility and access_method not in ACCESS_METHODS:
        raise InputError(f"unknown access_method {access_method!r}",
                         hint=f"use one of {', '.join(ACCESS_METHODS)}")
    up = ancestor_map(tables["zone"], level)
    period = int(period)

    demand = _period_rows(tables["demand"], period, "demand")
    demand = _lift(demand, up, ["target_id"], "demand", level, period)
    people = _lift(_period_rows(tables["population"], period, "population"),
                   up, [], "persons", level, period)
    households = tables.get("household")
    households = (_lift(_period_rows(households, period, None), up, [], "households", level,
                        period) if households is not None and len(households) else
                  pd.DataFrame({"zone_id": [], "households": []}))

    target = tables["target"].set_index("target_id")
    wanted = list(target.index) if targets is None else list(targets)
    unknown = sorted(set(wanted) - set(target.index))
    if unknown:
        raise UnknownIdError(f"unknown target(s) {unknown}",
                             hint="use target ids from the target table")
    supply = _supply_by_zone(tables, up, period)  # zone_id, service_type_id, capacity, n
    return (_target_rows(zones, target.loc[wanted], demand, people, households, supply, tables,
                         level, period),
            _service_rows(zones, tables, demand, supply, level, period,
                          _service_access(tables, level, period, access_method)
                          if accessibility else None))


# --- zones and aggregation ------------------------------------------------------

def _zones_at(zone: pd.DataFrame, level: str) -> pd.DataFrame:
    if level not in LEVEL_RANK:
        raise InputError(f"unknown level {level!r}", hint=f"use one of {', '.join(ZONE_LEVELS)}")
    zones = zone.loc[zone["level"] == level, ["zone_id", "level", "parent_id"]]
    if zones.empty:
        raise InputError(f"there are no zones of level {level!r}",
                         hint="load zones of that level or choose another level")
    return zones.sort_values("zone_id").reset_index(drop=True)


def ancestor_map(zone: pd.DataFrame, level: str) -> pd.Series:
    """For every zone at or below ``level``: its ancestor at ``level`` (itself if at it).

    Walks parent_id one level at a time (a few vectorised steps, not a loop
    over zones). Zones coarser than ``level`` are absent.
    """
    rank = zone["level"].map(LEVEL_RANK)
    parent = zone.set_index("zone_id")["parent_id"]
    level_of = zone.set_index("zone_id")["level"]
    cur = pd.Series(zone["zone_id"].values, index=zone["zone_id"].values)
    cur = cur[(rank <= LEVEL_RANK[level]).values]
    for _ in range(len(ZONE_LEVELS)):
        below = cur.map(level_of) != level
        if not below.any():
            break
        cur[below] = cur[below].map(parent)
        cur = cur.dropna()
    return cur[cur.map(level_of) == level]


def _period_rows(frame: pd.DataFrame, period: int, what: str | None) -> pd.DataFrame:
    rows = frame[frame["period"] == period]
    if rows.empty and what:
        have = sorted(frame["period"].unique().tolist())
        raise InputError(f"no {what} rows for period {period}",
                         hint=f"periods available: {have}" if have else f"load {what} first")
    return rows


def _lift(rows: pd.DataFrame, up: pd.Series, keys: list[str], value: str,
          level: str, period: int) -> pd.DataFrame:
    """Sum ``value`` of rows stored at or below ``level`` to their ancestor zone."""
    anc = rows["zone_id"].map(up)
    if anc.isna().all() and len(rows):
        raise InputError(f"{value} for {period} is stored only at levels coarser than {level}",
                         hint="choose a coarser level for this period")
    rows = rows.assign(zone_id=anc).dropna(subset=["zone_id"])
    return rows.groupby(["zone_id", *keys], as_index=False)[value].sum()


def _supply_by_zone(tables, up: pd.Series, period: int) -> pd.DataFrame:
    fac = tables["facility"]
    fac = fac[_active(fac, period)]
    if "zone_id" in fac:
        located = fac["zone_id"]
    else:
        # Any zone at or below the level will do: nested zones share their ancestor, and
        # a point in a part of a parent that no child covers is still counted.
        zone = tables["zone"]
        below = zone[zone["zone_id"].isin(up.index)]
        located = pd.Series(locate_points(fac["geometry"].tolist(), below["zone_id"].tolist(),
                                          below["geometry"].tolist()), index=fac.index)
    fac = fac.assign(zone_id=located.map(up)).dropna(subset=["zone_id"])
    return (fac.groupby(["zone_id", "service_type_id"], as_index=False)
               .agg(capacity=("capacity", "sum"), facilities=("facility_id", "count")))


def _active(fac: pd.DataFrame, period: int) -> np.ndarray:
    return ((fac["active_from"].isna() | (fac["active_from"] <= period)) &
            (fac["active_to"].isna() | (fac["active_to"] >= period))).to_numpy()


# --- target rows ---------------------------------------------------------------

def _target_rows(zones, target, demand, people, households, supply, tables, level, period):
    grid = zones.merge(pd.DataFrame({"target_id": target.index}), how="cross")
    grid["period"] = period
    grid["unit"] = grid["target_id"].map(target["unit"])
    grid["polarity"] = grid["target_id"].map(target["polarity"])
    grid = grid.merge(demand, on=["zone_id", "target_id"], how="left")
    grid["demand"] = grid["demand"].fillna(0.0)
    persons = grid["zone_id"].map(people.set_index("zone_id")["persons"]).fillna(0.0)
    hh = grid["zone_id"].map(households.set_index("zone_id")["households"]).fillna(0.0)
    grid["reference_population"] = np.where(grid["unit"] == "households", hh, persons)

    # supply and requirement for each target through the service types serving it
    shares = tables["service_target"][["service_type_id", "target_id", "share"]]
    stype = tables["service_type"].set_index("service_type_id")
    ref = _reference_by_zone(demand, stype)  # zone_id, service_type_id, reference
    per_type = ref.merge(supply, on=["zone_id", "service_type_id"], how="outer").fillna(
        {"reference": 0.0, "capacity": 0.0})
    per_type["required"] = per_type["service_type_id"].map(stype["standard_per_100"]) / 100 * \
        per_type["reference"]
    per_target = per_type.merge(shares, on="service_type_id")
    per_target["supply"] = per_target["capacity"] * per_target["share"]
    per_target["required"] = per_target["required"] * per_target["share"]
    by = per_target.groupby(["zone_id", "target_id"])
    sums = pd.DataFrame({"supply": by["supply"].sum(),
                         "required": by["required"].sum(min_count=1)}).reset_index()
    grid = grid.merge(sums, on=["zone_id", "target_id"], how="left")
    served = grid["target_id"].isin(shares["target_id"])
    grid["supply"] = grid["supply"].where(~served | grid["supply"].notna(), 0.0)

    reasons = pd.Series("", index=grid.index)
    grid["incidence_per_100"] = _ratio(grid["demand"], grid["reference_population"], 100,
                                       reasons, "no residents of the unit in the zone")
    grid["coverage_per_100"] = _ratio(grid["supply"], grid["demand"], 100, reasons,
                                      "no demand in the zone")
    _note(reasons, ~served, "no service type serves this target")
    grid["gap"] = (grid["required"] - grid["supply"]).clip(lower=0)
    _note(reasons, served & grid["required"].isna(), "no coverage standard")

    tot = grid.groupby("target_id")[["demand", "reference_population"]].transform("sum")
    city_rate = _ratio(tot["demand"], tot["reference_population"], 1, None, "")
    grid["location_quotient"] = _ratio(grid["incidence_per_100"] / 100, city_rate, 1, None, "")
    _ranks(grid, "target_id", "incidence_per_100", "incidence")
    _ranks(grid, "target_id", "coverage_per_100", "coverage")
    grid["null_reason"] = reasons.str.strip("; ").replace("", None)
    return grid[list(TARGET_COLUMNS)].sort_values(["target_id", "zone_id"]).reset_index(drop=True)


def _reference_by_zone(demand: pd.DataFrame, stype: pd.DataFrame) -> pd.DataFrame:
    refs = pd.DataFrame({"service_type_id": stype.index,
                         "target_id": stype["reference_target_id"].values})
    out = refs.merge(demand, on="target_id")
    return out.rename(columns={"demand": "reference"})[["zone_id", "service_type_id",
                                                         "reference"]]


# --- service rows --------------------------------------------------------------

def _service_rows(zones, tables, demand, supply, level, period, access=None):
    stype = tables["service_type"].set_index("service_type_id")
    grid = zones.merge(pd.DataFrame({"service_type_id": stype.index}), how="cross")
    grid["period"] = period
    grid["reference_target_id"] = grid["service_type_id"].map(stype["reference_target_id"])
    grid["standard_per_100"] = grid["service_type_id"].map(stype["standard_per_100"])
    grid = grid.merge(_reference_by_zone(demand, stype), on=["zone_id", "service_type_id"],
                      how="left")
    grid["reference_population"] = grid.pop("reference").fillna(0.0)
    grid = grid.merge(supply, on=["zone_id", "service_type_id"], how="left")
    grid["supply"] = grid.pop("capacity").fillna(0.0)
    grid["facilities"] = grid["facilities"].fillna(0).astype(int)
    if access is None:  # not asked for: NULL, without a reason to give
        study = np.ones(len(grid), dtype=bool)
        grid = grid.assign(**{c: np.nan for c in ACCESS_VALUES}, access_reason=None)
    else:
        study = grid["zone_id"].isin(access["zone_id"]).to_numpy()
        grid = grid.merge(access, on=["zone_id", "service_type_id"], how="left")
    grid.loc[grid["reference_population"] <= 0, list(ACCESS_VALUES)] = np.nan
    reasons = pd.Series("", index=grid.index)
    grid["coverage_per_100"] = _ratio(grid["supply"], grid["reference_population"], 100, reasons,
                                      "no reference population in the zone")
    grid["gap"] = (grid["standard_per_100"] / 100 * grid["reference_population"]
                   - grid["supply"]).clip(lower=0)
    _note(reasons, grid["standard_per_100"].isna(), "no coverage standard")
    _ranks(grid, "service_type_id", "coverage_per_100", "coverage")
    _ranks(grid, "service_type_id", "gap", "gap")
    why = grid["access_reason"].notna().to_numpy()
    reasons[why] = reasons[why] + "; " + grid.loc[why, "access_reason"]
    _note(reasons, ~study, OUTSIDE)
    grid["null_reason"] = reasons.str.strip("; ").replace("", None)
    return grid[list(SERVICE_COLUMNS)].sort_values(["service_type_id", "zone_id"]) \
        .reset_index(drop=True)


def service_access(tables: Mapping[str, pd.DataFrame], level: str, period: int,
                   access_method: str = "2sfca") -> pd.DataFrame:
    """The accessibility columns of the service rows alone: zone_id, service_type_id,
    :data:`ACCESS_VALUES` (see :func:`_service_access`).

    For publication, call it on ``privacy.with_published_demand(tables, rules)`` and
    pass the result as ``access`` to :func:`welfare_core.privacy.publish_zone_indicators`:
    the published means are then computed from published demands only.
    """
    _zones_at(tables["zone"], level)
    if access_method not in ACCESS_METHODS:
        raise InputError(f"unknown access_method {access_method!r}",
                         hint=f"use one of {', '.join(ACCESS_METHODS)}")
    out = _service_access(tables, level, int(period), access_method)
    return out[["zone_id", "service_type_id", *ACCESS_VALUES]].reset_index(drop=True)


def _service_access(tables, level: str, period: int, method: str) -> pd.DataFrame:
    """The accessibility of the service rows: zone_id, service_type_id, ACCESS_VALUES and
    access_reason, one row per zone of ``level`` in the study area and service type.

    Why per zone × service type and not per zone × target: a service row has one
    catchment (max_cost, decay), one cost unit and one supply, and its
    coverage_per_100 is capacity per 100 of the reference population, so
    access_per_100 is the same ratio with the capacity that can be reached across
    zone borders and is shared with the demand competing for it. A target row adds
    up every service type serving the target (in the sample city four serve
    persons with disabilities, with catchments from 3 to 8 km, and cost units may
    differ between types): one nearest cost or one share within "the" catchment
    would have no meaning there. Per target and serving type the values are those
    of ``zone_access.zone_accessibility`` (welfare.accessibility, welfare:accessibility).

    Each type is ``zone_access.zone_accessibility`` with its reference target as
    the only served target, share 1 (the type's whole capacity): the formulas,
    the origins (the finest zones carrying demand, the ring comuni taking part in
    the catchments) and the demand-weighted means are that driver's, nothing is
    recomputed here. A type with no facility open in ``period`` reaches nobody:
    access_per_100 and share_within 0, nearest_cost NULL with the reason.
    """
    from .zone_access import (NO_DEMAND, NO_FACILITY, _reported_zones, zone_accessibility,
                              zone_points)

    zone, fac = tables["zone"], tables["facility"]
    if "geometry" not in zone or "geometry" not in fac:
        raise InputError("the accessibility columns need the geometries of the zones and of "
                         "the facilities", hint="give both, or leave accessibility off")
    if "municipality_code" not in zone:  # one municipality: every zone is in the study area
        zone = zone.assign(municipality_code="")
    xy = zone_points(zone["geometry"].tolist())  # once, for every service type
    demand = tables["demand"]
    run = dict(tables, zone=zone, demand=demand[demand["period"] == period])
    active = fac[_active(fac, period)]
    study = _reported_zones(zone, level, None)["zone_id"].to_numpy()
    frames = []
    for sid, ref in tables["service_type"][["service_type_id", "reference_target_id"]] \
            .itertuples(index=False):
        mine = active[active["service_type_id"] == sid]
        if mine.empty:
            frames.append(pd.DataFrame({"zone_id": study, "service_type_id": sid,
                                        "access_per_100": 0.0, "nearest_cost": np.nan,
                                        "share_within": 0.0, "access_reason": NO_FACILITY}))
            continue
        one = pd.DataFrame({"service_type_id": [sid], "target_id": [ref], "share": [1.0]})
        try:
            out = zone_accessibility({**run, "facility": mine, "service_target": one}, sid,
                                     period, level, method=method, zone_xy=xy)
        except InputError as e:
            raise type(e)(f"service type {sid!r}: {e.message}", hint=e.hint) from None
        frames.append(pd.DataFrame({
            "zone_id": out["zone_id"], "service_type_id": sid,
            "access_per_100": out["access"], "nearest_cost": out["nearest_cost"],
            "share_within": out["share_within"],
            # no demand: coverage already says "no reference population in the zone"
            "access_reason": out["null_reason"].where(out["null_reason"] != NO_DEMAND)}))
    return pd.concat(frames, ignore_index=True)


# --- shared arithmetic ---------------------------------------------------------

def _note(reasons: pd.Series, mask, text: str) -> None:
    mask = np.asarray(mask, dtype=bool)
    reasons[mask] = reasons[mask] + "; " + text


def _ratio(num, den, scale, reasons, why) -> pd.Series:
    """num / den × scale, NaN (NULL) where den is 0 — with the reason recorded."""
    num = pd.Series(num, dtype=float)
    den = pd.Series(den, dtype=float)
    zero = (den == 0) | den.isna()
    out = (num / den.where(~zero)) * scale
    if reasons is not None:
        _note(reasons, zero & num.notna(), why)
    return out


def rank_min(values: pd.Series, groups: pd.Series) -> pd.DataFrame:
    """rank (ascending, ties at the minimum), pct_rank (r-1)/(N-1), z (ddof 0) per group.

    NULL values get NULL everywhere and do not count in N; pct_rank is NULL
    when N = 1 and z is NULL when every value in the group is equal.
    """
    g = values.groupby(groups)
    rank = g.rank(method="min")
    n = g.transform("count")
    pct = (rank - 1) / (n - 1).where(n > 1)
    sd = g.transform("std", ddof=0)
    z = (values - g.transform("mean")) / sd.where(sd > 0)
    return pd.DataFrame({"rank": rank, "pct_rank": pct, "z": z})


def _ranks(grid: pd.DataFrame, by: str, column: str, prefix: str) -> None:
    r = rank_min(grid[column], grid[by])
    grid[f"{prefix}_rank"] = r["rank"].astype("Int64")
    grid[f"{prefix}_pct_rank"] = r["pct_rank"]
    grid[f"{prefix}_z"] = r["z"]
