"""Backtest of the forecasts: project from the years up to a past base, compare with what came.

For each method and target, the projection uses only population (or household)
rows up to ``base``, is compared with the known demand of ``year`` at ``level``,
and errors are summarised by zone-size band (``forecast.BANDS``, population in
the base year):

    MAPE = mean |P - A| / A x 100        bias = mean (P - A) / A x 100  (over zones with A > 0)

plus the same over all zones and the error of the total over zones.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import forecast as fc

BACKTEST_COLUMNS = ["method", "target_id", "band", "zones", "mape", "bias", "total_error_pct"]


def _until(tables, year):
    out = dict(tables)
    for name in ("population", "household"):
        if tables.get(name) is not None:
            out[name] = tables[name][tables[name]["period"].astype(int) <= year]
    return out


def actual_demand(tables, targets, level, year) -> pd.DataFrame:
    """Known demand of person targets at ``level`` in ``year`` (population x prevalence)."""
    cube, _ = fc._cube_at(tables, level)
    d = fc._person_demand(cube.at(year), fc.prevalence_matrix(tables["target_prevalence"],
                                                               targets))
    z, g = np.indices(d.shape).reshape(2, -1)
    return pd.DataFrame({"zone_id": cube.zones[z], "target_id": np.asarray(targets)[g],
                         "actual": d.ravel()})


def backtest(tables, targets, *, base: int = 2018, year: int = 2023,
             level: str = "neighbourhood", methods=("hamilton_perry", "linear", "log_linear",
                                                    "share_of_city"),
             step: int = 1, damping: float = fc.DAMPING, control=None) -> pd.DataFrame:
    """MAPE and bias (percent) by method, target and zone-size band (BACKTEST_COLUMNS)."""
    past = _until(tables, base)
    actual = actual_demand(tables, targets, level, year)
    cube, _ = fc._cube_at(tables, level)
    sizes = pd.Series(cube.at(base).sum(axis=(1, 2)), index=cube.zones)
    out = []
    for method in methods:  # a handful of methods
        f = fc.forecast_demand(past, targets, year - base, method=method, level=level,
                               step=step, damping=damping, control=control)
        f = f[f["period"] == year].merge(actual, on=["zone_id", "target_id"])
        f["band"] = fc.band_of(f["zone_id"].map(sizes).to_numpy())
        out.append(summarise(f, method))
    return pd.concat(out, ignore_index=True)[BACKTEST_COLUMNS]


def summarise(f: pd.DataFrame, method: str) -> pd.DataFrame:
    """Rows of one method from zone rows with demand, actual, band, target_id."""
    ok = f[f["actual"] > 0].assign(pe=lambda x: (x["demand"] / x["actual"] - 1) * 100)
    labels = {i: b[2] for i, b in enumerate(fc.BANDS)}
    rows = []
    for keys, grp in [*ok.groupby(["target_id", "band"]),
                      *((k, g) for k, g in ok.assign(band=-1).groupby(["target_id", "band"]))]:
        rows.append({"method": method, "target_id": keys[0],
                     "band": labels.get(keys[1], "all zones"), "zones": len(grp),
                     "mape": grp["pe"].abs().mean(), "bias": grp["pe"].mean(),
                     "total_error_pct": (grp["demand"].sum() / grp["actual"].sum() - 1) * 100})
    return pd.DataFrame(rows)
