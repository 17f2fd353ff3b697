"""Equity of access and coverage across zones: Gini, Theil, Palma, P90/P10, concentration.

Every measure takes zone values x_i (access, coverage ...) and optional
weights w_i (the people the value applies to, e.g. the target's demand), so
it describes persons, not polygons; W = Σ w, μ = Σ w x / W.

    Gini       G = Σ_i Σ_j w_i w_j |x_i − x_j| / (2 W² μ)          (0 = equal)
    Theil T    T = (1/W) Σ w_i (x_i/μ) ln(x_i/μ)   (0 ln 0 = 0)
               split by groups g (e.g. districts), s_g = W_g μ_g / (W μ):
               T = Σ_g s_g T_g  (within)  +  Σ_g s_g ln(μ_g/μ)  (between)
    Palma      mean x of the best-off 10 % of people / mean x of the worst-off
               40 %, people ordered by ``rank_by`` (default x itself; with a
               vulnerability, the least vulnerable 10 % over the most
               vulnerable 40 %), as R's ``accessibility::palma_ratio``; a zone
               straddling a cut counts with the part of its weight inside
    P90/P10    weighted 90th over 10th percentile (inverse of the weighted CDF)
    CI         concentration index 2 Σ w_i (x_i − μ)(R_i − ½) / (W μ), R_i the
               weighted fractional rank (W_<i + w_i/2)/W of people ordered from
               the MOST vulnerable to the least (ties share their mean rank).
               CI > 0: x is concentrated among the less vulnerable, i.e. the most
               fragile zones are the worst served; CI < 0: pro-vulnerable.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError

MEASURES = ("gini", "theil_t", "theil_within", "theil_between", "palma_ratio", "p90_p10",
            "concentration_index")
EQUITY_COLUMNS = ("measure", "value", "zones", "weight_total", "mean", "null_reason")


def _prepare(x, w=None):
    x = np.asarray(x, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    if x.shape != w.shape:
        raise InputError("values and weights must have the same length")
    if np.any(w < 0) or not np.isfinite(w).all():
        raise InputError("weights must be finite and not negative",
                         hint="a NULL weight is a suppressed count: leave those zones out "
                              "(benchmark.equity_of_indicators / equity_of_access do so)")
    if np.any(x[np.isfinite(x)] < 0):
        raise InputError("inequality measures need values of 0 or more",
                         hint="use access, coverage or counts, not differences")
    keep = np.isfinite(x) & (w > 0)
    return x[keep], w[keep], keep


def _mean(x, w):
    return float((w * x).sum() / w.sum()) if w.sum() > 0 else np.nan


def gini(x, weights=None) -> float:
    """Weighted Gini coefficient (sorting, no pairwise matrix)."""
    x, w, _ = _prepare(x, weights)
    mu = _mean(x, w)
    if not len(x) or not mu > 0:
        return np.nan
    order = np.argsort(x, kind="mergesort")
    x, w = x[order], w[order]
    total = w.sum()
    before = np.cumsum(w) - w
    return float((w * x * (2 * before + w - total)).sum() / (total * total * mu))


def theil(x, weights=None, groups=None) -> dict:
    """Theil T with its within / between split by ``groups`` (total = within + between)."""
    x, w, keep = _prepare(x, weights)
    mu = _mean(x, w)
    if not len(x) or not mu > 0:
        return {"theil_t": np.nan, "theil_within": np.nan, "theil_between": np.nan}
    total = _t(x, w, mu)
    if groups is None:
        return {"theil_t": total, "theil_within": total, "theil_between": 0.0}
    g = pd.Series(np.asarray(groups, dtype=object)[keep])
    frame = pd.DataFrame({"g": g.values, "x": x, "w": w, "wx": w * x})
    sums = frame.groupby("g")[["w", "wx"]].sum()
    mu_g = sums["wx"] / sums["w"]
    share = sums["wx"] / (w * x).sum()
    within = sum(share[k] * _t(sub["x"].to_numpy(), sub["w"].to_numpy(), mu_g[k])
                 for k, sub in frame.groupby("g") if mu_g[k] > 0)
    with np.errstate(divide="ignore"):
        between = float((share * np.log(mu_g / mu)).where(share > 0, 0.0).sum())
    return {"theil_t": total, "theil_within": float(within), "theil_between": between}


def _t(x, w, mu) -> float:
    r = x / mu
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(r > 0, r * np.log(r), 0.0)
    return float((w * term).sum() / w.sum())


def _slice_mean(x, w, key, lo, hi):
    """Weighted mean of x over the people whose share in the ``key`` order is in [lo, hi]."""
    order = np.lexsort((x, key))
    x, w = x[order], w[order]
    c = np.cumsum(w) / w.sum()
    start = c - w / w.sum()
    inside = np.clip(np.minimum(c, hi) - np.maximum(start, lo), 0, None)
    return _mean(x, inside) if inside.sum() > 0 else np.nan


def palma_ratio(x, weights=None, rank_by=None) -> float:
    """Mean of the top 10 % over the mean of the bottom 40 % (people ordered by ``rank_by``)."""
    x, w, keep = _prepare(x, weights)
    if not len(x):
        return np.nan
    key = x if rank_by is None else np.asarray(rank_by, dtype=float)[keep]
    top = _slice_mean(x, w, key, 0.9, 1.0)
    bottom = _slice_mean(x, w, key, 0.0, 0.4)
    return float(top / bottom) if bottom > 0 else np.nan


def weighted_percentile(x, weights, q) -> float:
    """Smallest x whose weighted cumulative share reaches q (0-1)."""
    x, w, _ = _prepare(x, weights)
    if not len(x):
        return np.nan
    order = np.argsort(x, kind="mergesort")
    c = np.cumsum(w[order]) / w.sum()
    return float(x[order][min(np.searchsorted(c, q - 1e-12), len(x) - 1)])


def percentile_ratio(x, weights=None, upper=0.9, lower=0.1) -> float:
    hi = weighted_percentile(x, weights, upper)
    lo = weighted_percentile(x, weights, lower)
    return float(hi / lo) if lo > 0 else np.nan


def concentration_index(x, vulnerability, weights=None) -> float:
    """Concentration index of x with people ranked from the most vulnerable to the least."""
    x, w, keep = _prepare(x, weights)
    v = np.asarray(vulnerability, dtype=float)[keep]
    ok = np.isfinite(v)
    x, w, v = x[ok], w[ok], v[ok]
    mu = _mean(x, w)
    if len(x) < 2 or not mu > 0:
        return np.nan
    key = -v  # most vulnerable first
    order = np.argsort(key, kind="mergesort")
    xs, ws, ks = x[order], w[order], key[order]
    total = ws.sum()
    rank = (np.cumsum(ws) - ws / 2) / total
    # ties in vulnerability share the weighted mean of their fractional ranks
    tie = pd.Series(rank * ws).groupby(ks).transform("sum") / pd.Series(ws).groupby(ks) \
        .transform("sum")
    rank = tie.to_numpy()
    return float(2 * (ws * (xs - mu) * (rank - 0.5)).sum() / (total * mu))


def equity_measures(values, weights=None, *, groups=None, vulnerability=None) -> pd.DataFrame:
    """Every measure of MEASURES as rows (EQUITY_COLUMNS); NULL with a reason when undefined."""
    x, w, keep = _prepare(values, weights)
    mu = _mean(x, w) if len(x) else np.nan
    out = {"gini": gini(values, weights)}
    out.update(theil(values, weights, groups))
    out["palma_ratio"] = palma_ratio(values, weights,
                                     None if vulnerability is None else
                                     -np.asarray(vulnerability, dtype=float))
    out["p90_p10"] = percentile_ratio(values, weights)
    out["concentration_index"] = (np.nan if vulnerability is None
                                  else concentration_index(values, vulnerability, weights))
    reasons = {}
    for k, v in out.items():
        if np.isnan(v):
            reasons[k] = ("no vulnerability ranking given" if k == "concentration_index" and
                          vulnerability is None else
                          "no values" if not len(x) else
                          "mean is 0" if not mu > 0 else
                          "lower group mean or percentile is 0")
    return pd.DataFrame({"measure": list(MEASURES),
                         "value": [out[m] for m in MEASURES],
                         "zones": int(keep.sum()), "weight_total": float(w.sum()),
                         "mean": mu, "null_reason": [reasons.get(m) for m in MEASURES]})
