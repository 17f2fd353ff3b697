"""Demand of targets from population and households (pure pandas).

Person targets:    demand(zone, target, period) = sum over age, sex of
                   persons(zone, period, age, sex) x prevalence(target, age, sex)
Household targets: demand(zone, target, period) = sum over household types of
                   households(zone, period, type) x share(target, type)

Ages and household types not covered by a target's rows count with
prevalence / share 0. Every (zone, period) present in the input gets a row for
every target of the catalogue passed in, zero when nobody qualifies, so a zone
with residents never silently lacks a demand figure.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError
from .model import MAX_AGE

DEMAND_COLUMNS = ["zone_id", "target_id", "period", "demand"]


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{name} has no column(s) {missing}",
                         hint=f"give {name} the columns {columns}")


def expand_bands(prevalence: pd.DataFrame) -> pd.DataFrame:
    """One row per (target_id, sex, age) from rows with age_from..age_to bands.

    Raises InputError if a target's bands overlap for a sex (a person would be
    counted twice) or a band is reversed or outside 0..MAX_AGE.
    """
    _require(prevalence, ["target_id", "sex", "age_from", "age_to", "prevalence"],
             "prevalence")
    lo = prevalence["age_from"].to_numpy(dtype=np.int64)
    hi = prevalence["age_to"].to_numpy(dtype=np.int64)
    if ((hi < lo) | (lo < 0) | (hi > MAX_AGE)).any():
        raise InputError("prevalence has an age band with age_to below age_from or "
                         f"outside 0..{MAX_AGE}", hint="fix age_from / age_to")
    width = hi - lo + 1
    rows = np.repeat(np.arange(len(prevalence)), width)
    # age = age_from + position inside the band
    offset = np.arange(width.sum()) - np.repeat(np.cumsum(width) - width, width)
    out = pd.DataFrame({
        "target_id": prevalence["target_id"].to_numpy()[rows],
        "sex": prevalence["sex"].to_numpy()[rows],
        "age": lo[rows] + offset,
        "prevalence": prevalence["prevalence"].to_numpy(dtype=float)[rows],
    })
    dup = out.duplicated(["target_id", "sex", "age"])
    if dup.any():
        first = out[dup].iloc[0]
        raise InputError(f"prevalence bands of target {first.target_id!r} overlap at sex "
                         f"{first.sex} age {first.age}", hint="make the bands disjoint")
    return out


def _complete(demand: pd.DataFrame, zone_periods: pd.DataFrame,
              targets: np.ndarray) -> pd.DataFrame:
    """Add zero rows so every (zone, period) has every target; sort by key."""
    grid = zone_periods.merge(pd.DataFrame({"target_id": targets}), how="cross")
    out = grid.merge(demand, on=["zone_id", "period", "target_id"], how="left")
    out["demand"] = out["demand"].fillna(0.0)
    return (out[DEMAND_COLUMNS].sort_values(["zone_id", "target_id", "period"])
            .reset_index(drop=True))


def person_demand(population: pd.DataFrame, prevalence: pd.DataFrame) -> pd.DataFrame:
    """Demand of person targets.

    population: zone_id, period, sex, age, persons (single years of age).
    prevalence: target_id, sex, age_from, age_to, prevalence (rows of person targets).
    Returns zone_id, target_id, period, demand (float persons).
    """
    _require(population, ["zone_id", "period", "sex", "age", "persons"], "population")
    rates = expand_bands(prevalence)
    pop = population[["zone_id", "period", "sex", "age", "persons"]]
    joined = pop.merge(rates, on=["sex", "age"], how="inner")
    joined["demand"] = joined["persons"].astype(float) * joined["prevalence"]
    summed = (joined.groupby(["zone_id", "period", "target_id"], sort=False)["demand"]
              .sum().reset_index())
    zone_periods = pop[["zone_id", "period"]].drop_duplicates()
    return _complete(summed, zone_periods, np.sort(rates["target_id"].unique()))


def household_demand(household: pd.DataFrame, target_household: pd.DataFrame) -> pd.DataFrame:
    """Demand of household targets.

    household:        zone_id, period, household_type_id, households.
    target_household: target_id, household_type_id, share.
    Returns zone_id, target_id, period, demand (float households).
    """
    _require(household, ["zone_id", "period", "household_type_id", "households"], "household")
    _require(target_household, ["target_id", "household_type_id", "share"], "target_household")
    hh = household[["zone_id", "period", "household_type_id", "households"]]
    joined = hh.merge(target_household[["target_id", "household_type_id", "share"]],
                      on="household_type_id", how="inner")
    joined["demand"] = joined["households"].astype(float) * joined["share"].astype(float)
    summed = (joined.groupby(["zone_id", "period", "target_id"], sort=False)["demand"]
              .sum().reset_index())
    zone_periods = hh[["zone_id", "period"]].drop_duplicates()
    return _complete(summed, zone_periods, np.sort(target_household["target_id"].unique()))
