"""Sensitivity of zone accessibility to the catchment size and the decay parameter.

Re-runs :func:`welfare_core.zone_access.zone_accessibility` for one service
type over a grid (every max_cost × every decay_param) or a seeded random
sample (``draws`` uniform draws in ``max_cost_range`` × ``decay_param_range``)
and summarises, per zone × target:

=====================  =========================================================
access                 the value at the service type's own parameters
min, median, max       of the access over the draws
low, high              the ``interval`` quantiles (default 5 % and 95 %)
rank_min, rank_max     the zone's rank (ascending: 1 = least access, ties at the
                       minimum) among the zones of the level, over the draws
rank_stable            rank_max − rank_min <= ``rank_tolerance``
underserved_share      share of draws in which the zone is *under-served*: its
                       percentile rank (r − 1)/(N − 1) is <= ``underserved``
                       (default: the bottom fifth)
flag_stable            the flag is the same in every draw (share 0 or 1)
=====================  =========================================================

Zones without demand (NULL access) take no rank and get NULL statistics.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from .errors import InputError

SUMMARY_COLUMNS = (
    "zone_id", "level", "period", "service_type_id", "target_id", "draws", "access",
    "min", "median", "max", "low", "high", "rank_min", "rank_max", "rank_stable",
    "underserved_share", "flag_stable")
DRAW_COLUMNS = ("draw", "max_cost", "decay_param", "zone_id", "target_id", "access", "rank",
                "underserved")


def parameter_draws(*, max_costs=None, decay_params=None, draws=None, seed=0,
                    max_cost_range=None, decay_param_range=None) -> pd.DataFrame:
    """The (max_cost, decay_param) pairs to run: a grid, or ``draws`` seeded random pairs.

    A None value keeps the service type's own parameter (column value NaN).
    """
    if draws is not None:
        draws = int(draws)
        if draws < 1:
            raise InputError("draws must be at least 1", hint="e.g. draws = 100")
        if max_cost_range is None and decay_param_range is None:
            raise InputError("a random sample needs max_cost_range and/or decay_param_range",
                             hint="e.g. max_cost_range = (500, 1500)")
        rng = np.random.default_rng(seed)
        out = {}
        for name, rng_ in (("max_cost", max_cost_range), ("decay_param", decay_param_range)):
            if rng_ is None:
                out[name] = np.full(draws, np.nan)
            else:
                lo, hi = map(float, rng_)
                if not 0 <= lo <= hi:
                    raise InputError(f"{name}_range must be (low, high) with 0 <= low <= high")
                out[name] = rng.uniform(lo, hi, draws)
        return pd.DataFrame(out)
    grid = list(itertools.product(list(max_costs) if max_costs is not None else [np.nan],
                                  list(decay_params) if decay_params is not None else [np.nan]))
    if not grid:
        raise InputError("the grid is empty", hint="give max_costs and/or decay_params")
    return pd.DataFrame(grid, columns=["max_cost", "decay_param"], dtype=float)


def sensitivity(tables, service_type_id: str, period: int, level: str = "neighbourhood", *,
                max_costs=None, decay_params=None, draws=None, seed: int = 0,
                max_cost_range=None, decay_param_range=None, method: str = "2sfca",
                interval=(0.05, 0.95), underserved: float = 0.2, rank_tolerance: int = 0,
                progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary with :data:`SUMMARY_COLUMNS`, every draw with :data:`DRAW_COLUMNS`)."""
    from .indicators import rank_min
    from .zone_access import zone_accessibility

    report = progress or (lambda pct: None)
    params = parameter_draws(max_costs=max_costs, decay_params=decay_params, draws=draws,
                             seed=seed, max_cost_range=max_cost_range,
                             decay_param_range=decay_param_range)
    lo_q, hi_q = map(float, interval)
    if not 0 <= lo_q <= hi_q <= 1:
        raise InputError("interval must be two quantiles 0 <= low <= high <= 1",
                         hint="e.g. (0.05, 0.95)")

    def one(mc, dp):
        return zone_accessibility(tables, service_type_id, period, level, method=method,
                                  max_cost=None if np.isnan(mc) else float(mc),
                                  decay_param=None if np.isnan(dp) else float(dp))

    base = one(np.nan, np.nan)
    values = np.empty((len(params), len(base)))
    for k, (mc, dp) in enumerate(params.itertuples(index=False, name=None)):
        values[k] = one(mc, dp)["access"].to_numpy(dtype=float)
        report(100.0 * (k + 1) / len(params))

    # ranks per draw among the zones of each target, all draws at once
    n, m = values.shape
    long = pd.DataFrame({"draw": np.repeat(np.arange(n), m),
                         "row": np.tile(np.arange(m), n), "access": values.ravel()})
    group = long["draw"].astype(str) + "|" + np.tile(base["target_id"].to_numpy(), n)
    r = rank_min(long["access"], group)
    rank = r["rank"].to_numpy().reshape(n, m)
    flag = (r["pct_rank"].to_numpy() <= underserved).reshape(n, m)
    defined = ~np.isnan(values)

    with np.errstate(invalid="ignore"), _quiet():
        summary = base[["zone_id", "level", "period", "service_type_id", "target_id",
                        "access"]].copy()
        summary["draws"] = n
        summary["min"] = np.nanmin(values, axis=0)
        summary["median"] = np.nanmedian(values, axis=0)
        summary["max"] = np.nanmax(values, axis=0)
        summary["low"] = np.nanquantile(values, lo_q, axis=0)
        summary["high"] = np.nanquantile(values, hi_q, axis=0)
        summary["rank_min"] = np.nanmin(rank, axis=0)
        summary["rank_max"] = np.nanmax(rank, axis=0)
        share = np.where(defined, flag, 0).sum(axis=0) / np.maximum(defined.sum(axis=0), 1)
    none = ~defined.any(axis=0)
    summary["rank_stable"] = np.where(none, None,
                                      (summary["rank_max"] - summary["rank_min"]) <= rank_tolerance)
    summary["underserved_share"] = np.where(none, np.nan, share)
    summary["flag_stable"] = np.where(none, None, (share == 0) | (share == 1))
    for c in ("rank_min", "rank_max"):
        summary[c] = summary[c].astype("Int64")

    draws_frame = pd.DataFrame({
        "draw": long["draw"], "max_cost": np.repeat(params["max_cost"].to_numpy(), m),
        "decay_param": np.repeat(params["decay_param"].to_numpy(), m),
        "zone_id": np.tile(base["zone_id"].to_numpy(), n),
        "target_id": np.tile(base["target_id"].to_numpy(), n), "access": long["access"],
        "rank": r["rank"].astype("Int64"), "underserved": flag.ravel() & defined.ravel()})
    return summary[list(SUMMARY_COLUMNS)], draws_frame[list(DRAW_COLUMNS)]


class _quiet:
    """Silence numpy's all-NaN-slice warnings (those zones get NULL on purpose)."""

    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)
