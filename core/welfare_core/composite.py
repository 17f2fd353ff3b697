"""Composite indices of vulnerability, with each component's contribution.

Three published methods (formulas in ../shared/DOMAIN.md), on a wide table of
zones × components. Each component has a *polarity* (``high_is_bad``: a high
value means more vulnerability; ``high_is_good``: the opposite) and the index
has its own *direction* (default ``high_is_bad``: a high index = more
vulnerable). A component is oriented by the sign s = +1 when its polarity
equals the index direction, −1 otherwise, so the two are never confused.

CDC SVI (``svi``)
    p_ij  = percentile rank (r − 1)/(N − 1) of s_j x_ij, ascending, ties at the
            minimum rank (PERCENTRANK.INC); flag_ij = p_ij ≥ 0.90
    T_it  = Σ_{j in theme t} p_ij; theme percentile rank = pct rank of T_it
    SVI_i = percentile rank of Σ_t T_it; flags_i = Σ_j flag_ij
    contribution_ij = p_ij (points of the overall sum), share = p_ij / Σ_j p_ij

English IMD (``imd``)
    R_ij  = r_ij / N, r_ij the ascending rank of s_j x_ij (ties at the minimum),
            so R = 1 is the most deprived and 1/N the least
    X_ij  = −23 ln(1 − R_ij (1 − e^(−100/23)))       (X(0) = 0, X(1) = 100)
    IMD_i = Σ_j w_j X_ij with the weights normalised to sum to 1
    contribution_ij = w_j X_ij, share = contribution / IMD_i

Adjusted Mazziotta–Pareto index, ISTAT IVSM (``ampi``)
    r_ij  = 100 + s_j (x_ij − ref_j) / (max_j − min_j) × 60   (goalposts over zones)
    M_i   = mean_j r_ij; S_i = population SD of r_i·; cv_i = S_i / M_i
    AMPI_i = M_i + S_i cv_i for a ``high_is_bad`` index (imbalance worsens it),
             M_i − S_i cv_i for a ``high_is_good`` one; the reference unit is 100
    contribution_ij = (r_ij − 100) / k (its pull on M_i), share = r_ij / Σ_j r_ij

Every index is ranked ascending among the zones (ties at the minimum), so the
highest rank is the most vulnerable for a ``high_is_bad`` index. Zones missing
any component get NULL with a reason and are left out of the ranks.

Small-area stability: ``eb_rates`` (global empirical Bayes, Marshall's method
of moments) shrinks the rates of small zones towards the city rate, and
``poisson_interval`` gives exact (Garwood) intervals, so a zone of 40 people is
not ranked worst by chance. Privacy: ``publish_composite`` hides composites of
zones below a population floor.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from .errors import InputError, UnknownIdError
from .indicators import rank_min

POLARITIES = ("high_is_bad", "high_is_good")
METHODS = ("svi", "imd", "ampi")
SVI_FLAG = 0.90
IMD_SCALE = 23.0
MIN_POPULATION = 100  # default floor for publishing a composite (setting composite_min_population)

INDEX_COLUMNS = ("zone_id", "method", "score", "rank", "pct_rank", "flags", "mean", "penalty",
                 "components", "null_reason")
CONTRIBUTION_COLUMNS = ("zone_id", "component", "theme", "polarity", "value", "score", "flag",
                        "contribution", "share", "theme_sum", "theme_pct_rank")


@dataclass(frozen=True)
class Component:
    """One indicator in an index: column ``name``, its polarity, SVI theme, IMD weight."""
    name: str
    polarity: str | None = None  # None: high_is_bad, or the target's own (indicator inputs)
    theme: str = "all"
    weight: float = 1.0

    def __post_init__(self):
        if self.polarity is not None and self.polarity not in POLARITIES:
            raise InputError(f"component {self.name!r} has polarity {self.polarity!r}",
                             hint=f"use one of {', '.join(POLARITIES)}")
        if not np.isfinite(self.weight) or self.weight < 0:
            raise InputError(f"component {self.name!r} has weight {self.weight}",
                             hint="weights must be finite and not negative")


@dataclass(frozen=True)
class CompositeResult:
    index: pd.DataFrame          # INDEX_COLUMNS, one row per zone
    contributions: pd.DataFrame  # CONTRIBUTION_COLUMNS, one row per zone × component


def components_of(spec) -> list[Component]:
    """Components from Component objects, dicts, (name, polarity[, theme[, weight]]) or names."""
    if spec is None or isinstance(spec, (str, Component)):
        spec = [] if spec is None else [spec]
    if isinstance(spec, Mapping):  # {name: polarity}
        spec = [{"name": k, "polarity": v} for k, v in spec.items()]
    out = []
    for c in spec:
        if isinstance(c, Component):
            out.append(c)
        elif isinstance(c, str):
            out.append(Component(c))
        elif isinstance(c, Mapping):
            unknown = set(c) - {"name", "polarity", "theme", "weight"}
            if unknown or "name" not in c:
                raise InputError(f"component {dict(c)} is not understood",
                                 hint="give name, and optionally polarity, theme, weight")
            out.append(Component(str(c["name"]), c.get("polarity") or None,
                                 str(c.get("theme") or "all"),
                                 float(1.0 if c.get("weight") is None else c["weight"])))
        else:
            out.append(Component(*c))
    names = [c.name for c in out]
    if not out:
        raise InputError("no components given", hint="name at least one indicator")
    if len(set(names)) != len(names):
        raise InputError(f"a component is named twice: {names}", hint="name each one once")
    return out


# --- the three methods ----------------------------------------------------------

def composite_index(values: pd.DataFrame, components, *, method: str = "svi",
                    direction: str = "high_is_bad", reference="mean") -> CompositeResult:
    """Composite index of ``method`` ("svi", "imd", "ampi") over the zones of ``values``.

    values: DataFrame with ``zone_id`` and one numeric column per component.
    components: see ``components_of``. reference (AMPI only): "mean" (the mean
    zone), a zone id (that zone scores 100), or {component: reference value}.
    """
    if method not in METHODS:
        raise InputError(f"unknown composite method {method!r}", hint=f"use one of {METHODS}")
    if direction not in POLARITIES:
        raise InputError(f"unknown index direction {direction!r}", hint=f"use one of {POLARITIES}")
    comps = components_of(components)
    zones, x, missing = _matrix(values, comps)
    comps = [c if c.polarity else Component(c.name, "high_is_bad", c.theme, c.weight)
             for c in comps]
    sign = np.array([1.0 if c.polarity == direction else -1.0 for c in comps])
    ok = ~np.isnan(x).any(axis=1)
    if ok.sum() < 2:
        raise InputError(f"only {int(ok.sum())} zone(s) have every component",
                         hint="an index needs at least two zones with all components")
    o = x[ok] * sign  # oriented: high = towards the index direction
    index = pd.DataFrame({"zone_id": zones, "method": method})
    for col in ("score", "flags", "mean", "penalty"):
        index[col] = np.nan
    score = np.full(x.shape, np.nan)
    contrib = np.full(x.shape, np.nan)
    theme_sum = np.full(x.shape, np.nan)
    theme_pct = np.full(x.shape, np.nan)
    if method == "svi":
        p = np.column_stack([percentile_rank(o[:, j]) for j in range(o.shape[1])])
        themes = [c.theme for c in comps]
        tsum = np.zeros_like(p)
        tpct = np.zeros_like(p)
        total = np.zeros(len(p))
        for t in dict.fromkeys(themes):
            cols = [j for j, th in enumerate(themes) if th == t]
            s = p[:, cols].sum(axis=1)
            tsum[:, cols] = s[:, None]
            tpct[:, cols] = percentile_rank(s)[:, None]
            total += s
        index.loc[ok, "score"] = percentile_rank(total)
        index.loc[ok, "flags"] = (p >= SVI_FLAG).sum(axis=1)
        score[ok], contrib[ok], theme_sum[ok], theme_pct[ok] = p, p, tsum, tpct
    elif method == "imd":
        n = len(o)
        r = np.column_stack([rank_min(pd.Series(o[:, j]), pd.Series(0, index=range(n)))["rank"]
                             .to_numpy(float) for j in range(o.shape[1])]) / n
        xs = imd_transform(r)
        w = np.array([c.weight for c in comps], dtype=float)
        if w.sum() <= 0:
            raise InputError("the IMD weights sum to 0", hint="give at least one positive weight")
        w = w / w.sum()
        index.loc[ok, "score"] = xs @ w
        score[ok], contrib[ok] = xs, xs * w
    else:
        ref = _reference(values, zones, x, ok, comps, reference)
        lo, hi = np.nanmin(x[ok], axis=0), np.nanmax(x[ok], axis=0)
        flat = [c.name for c, a, b in zip(comps, lo, hi) if not b > a]
        if flat:
            raise InputError(f"component(s) {flat} take the same value in every zone",
                             hint="AMPI rescales by max − min: leave constant components out")
        rn = 100.0 + sign * (x[ok] - ref) / (hi - lo) * 60.0
        m = rn.mean(axis=1)
        s = rn.std(axis=1)
        penalty = s * (s / m)
        index.loc[ok, "mean"] = m
        index.loc[ok, "penalty"] = penalty
        index.loc[ok, "score"] = m + penalty if direction == "high_is_bad" else m - penalty
        score[ok], contrib[ok] = rn, (rn - 100.0) / rn.shape[1]
    ranks = rank_min(index["score"], pd.Series(0, index=index.index))
    index["rank"] = ranks["rank"].astype("Int64")
    index["pct_rank"] = ranks["pct_rank"]
    index["flags"] = index["flags"].astype("Int64")
    index["components"] = len(comps)
    index["null_reason"] = [None if not m else f"missing component(s): {', '.join(m)}"
                            for m in missing]
    return CompositeResult(index[list(INDEX_COLUMNS)],
                           _contributions(zones, comps, x, score, contrib, theme_sum, theme_pct,
                                          method))


def percentile_rank(values) -> np.ndarray:
    """(r − 1)/(N − 1), r the ascending rank with ties at the minimum (NaN for N = 1)."""
    v = pd.Series(np.asarray(values, dtype=float))
    return rank_min(v, pd.Series(0, index=v.index))["pct_rank"].to_numpy(float)


def imd_transform(r) -> np.ndarray:
    """English IMD exponential transform X = −23 ln(1 − R (1 − e^(−100/23))), R in [0, 1]."""
    r = np.asarray(r, dtype=float)
    return -IMD_SCALE * np.log(1.0 - r * (1.0 - np.exp(-100.0 / IMD_SCALE)))


def _matrix(values: pd.DataFrame, comps: list[Component]):
    if "zone_id" not in values:
        raise InputError("the component table has no zone_id column")
    absent = [c.name for c in comps if c.name not in values]
    if absent:
        raise UnknownIdError(f"component(s) {absent} are not columns of the table",
                             hint=f"columns available: {[c for c in values if c != 'zone_id']}")
    if values["zone_id"].duplicated().any():
        raise InputError("a zone appears twice in the component table",
                         hint="give one row per zone")
    x = np.column_stack([pd.to_numeric(values[c.name], errors="coerce").to_numpy(float)
                         for c in comps])
    x[~np.isfinite(x)] = np.nan
    names = np.array([c.name for c in comps])
    missing = [list(names[row]) for row in np.isnan(x)]
    return values["zone_id"].to_numpy(object), x, missing


def _reference(values, zones, x, ok, comps, reference):
    if isinstance(reference, str) and reference == "mean":
        return x[ok].mean(axis=0)
    if isinstance(reference, Mapping):
        absent = [c.name for c in comps if c.name not in reference]
        if absent:
            raise InputError(f"no reference value for component(s) {absent}",
                             hint="give a reference for every component, or 'mean'")
        return np.array([float(reference[c.name]) for c in comps])
    hit = np.flatnonzero(zones == reference)
    if not len(hit):
        raise UnknownIdError(f"reference zone {reference!r} is not among the zones",
                             hint="use 'mean', a zone id of the table or values per component")
    if np.isnan(x[hit[0]]).any():
        raise InputError(f"reference zone {reference!r} lacks a component value")
    return x[hit[0]]


def _contributions(zones, comps, x, score, contrib, theme_sum, theme_pct, method):
    k = len(comps)
    n = len(zones)
    out = pd.DataFrame({
        "zone_id": np.repeat(zones, k),
        "component": np.tile([c.name for c in comps], n),
        "theme": np.tile([c.theme for c in comps], n),
        "polarity": np.tile([c.polarity for c in comps], n),
        "value": x.ravel(), "score": score.ravel(), "contribution": contrib.ravel(),
        "theme_sum": theme_sum.ravel(), "theme_pct_rank": theme_pct.ravel()})
    out["flag"] = pd.array(np.where(np.isnan(out["score"]), None, out["score"] >= SVI_FLAG)
                           if method == "svi" else [None] * len(out), dtype="boolean")
    base = out["contribution"] if method == "imd" else out["score"]
    total = base.groupby(out["zone_id"]).transform("sum")
    out["share"] = base / total.where(total != 0)
    return out[list(CONTRIBUTION_COLUMNS)]


# --- inputs from zone-indicator rows ----------------------------------------------

VALUE_COLUMNS = ("incidence_per_100", "coverage_per_100", "gap", "location_quotient",
                 "demand", "supply", "required")
GOOD_WHEN_HIGH = ("coverage_per_100", "supply")  # flip the target's polarity for these


def components_from_indicators(rows: pd.DataFrame, components, *, smooth: bool = False):
    """Wide component table from zone-indicator target rows (indicators.TARGET_COLUMNS).

    A component name is ``target_id`` (its incidence) or ``target_id:column``
    with column one of VALUE_COLUMNS. Its polarity, when not given, is the
    target's polarity for need measures and the opposite for coverage and
    supply. ``smooth`` replaces incidences by empirical-Bayes rates.
    Returns (values with zone_id + one column per component, components,
    residents per zone for the privacy floor).
    """
    comps = components_of(components)
    rows = rows.copy()
    if smooth:
        rate = eb_rates(rows["demand"], rows["reference_population"], groups=rows["target_id"])
        rows["incidence_per_100"] = rate * 100.0
    out = pd.DataFrame({"zone_id": sorted(rows["zone_id"].unique())})
    fixed = []
    targets = set(rows["target_id"])
    for c in comps:
        target, _, column = c.name.partition(":")
        column = column or "incidence_per_100"
        if target not in targets:
            raise UnknownIdError(f"component {c.name!r}: target {target!r} is not in the run",
                                 hint=f"targets available: {sorted(targets)}")
        if column not in VALUE_COLUMNS:
            raise InputError(f"component {c.name!r}: {column!r} is not an indicator column",
                             hint=f"use one of {', '.join(VALUE_COLUMNS)}")
        sub = rows[rows["target_id"] == target].set_index("zone_id")
        out[c.name] = out["zone_id"].map(sub[column]).astype(float)
        if c.polarity is None:
            pol = sub["polarity"].iloc[0] if len(sub) else "high_is_bad"
            if column in GOOD_WHEN_HIGH:
                pol = POLARITIES[1 - POLARITIES.index(pol)]
            c = Component(c.name, pol, c.theme, c.weight)
        fixed.append(c)
    persons = rows[rows["unit"] == "persons"] if "unit" in rows else rows
    population = out["zone_id"].map(
        persons.groupby("zone_id")["reference_population"].max()).fillna(0.0)
    return out, fixed, population.to_numpy(float)


# --- small-area stability ---------------------------------------------------------

def eb_rates(events, base, *, groups=None) -> np.ndarray:
    """Global empirical-Bayes rates (Marshall 1991), per group when ``groups`` is given.

    b = Σe/Σn; s² = Σ n_i (r_i − b)² / Σn; a = max(0, s² − b / mean(n));
    w_i = a / (a + b / n_i); smoothed_i = w_i r_i + (1 − w_i) b.
    Zones with base 0 get b (no information: the prior). Same as
    esda.smoothing.Empirical_Bayes while a > 0.
    """
    e = np.asarray(events, dtype=float)
    n = np.asarray(base, dtype=float)
    if e.shape != n.shape:
        raise InputError("events and base must have the same length")
    if np.any(e < 0) or np.any(n < 0):
        raise InputError("events and base must not be negative")
    g = np.zeros(len(e), dtype=int) if groups is None else \
        pd.factorize(pd.Series(groups).to_numpy())[0]
    out = np.full(len(e), np.nan)
    for k in np.unique(g):  # one small loop per target, not per zone
        m = g == k
        ek, nk = e[m], n[m]
        if nk.sum() <= 0:
            continue
        b = ek.sum() / nk.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(nk > 0, ek / nk, b)
            s2 = (nk * (r - b) ** 2).sum() / nk.sum()
            a = max(0.0, s2 - b / nk.mean())
            w = np.where(nk > 0, a / (a + b / nk), 0.0) if a > 0 or b > 0 else np.ones(len(nk))
        out[m] = w * r + (1.0 - w) * b
    return out


def poisson_interval(events, base=None, *, level: float = 0.95):
    """Exact (Garwood) Poisson interval of a count, or of the rate events / base.

    lower = χ²_{α/2}(2e) / 2 (0 when e = 0), upper = χ²_{1−α/2}(2e + 2) / 2.
    Returns (lower, upper) arrays; NaN where base is 0.
    """
    from scipy.stats import chi2
    if not 0 < level < 1:
        raise InputError(f"level {level} must be between 0 and 1")
    e = np.asarray(events, dtype=float)
    alpha = 1.0 - level
    lo = np.where(e > 0, chi2.ppf(alpha / 2, 2 * e) / 2, 0.0)
    hi = chi2.ppf(1 - alpha / 2, 2 * e + 2) / 2
    if base is None:
        return lo, hi
    n = np.asarray(base, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, lo / n, np.nan), np.where(n > 0, hi / n, np.nan)


# --- privacy ---------------------------------------------------------------------

def min_population_of(rules=None, settings: Mapping | None = None) -> int:
    """The population floor for composites: setting composite_min_population, else the rule."""
    if settings and settings.get("composite_min_population") not in (None, ""):
        return int(float(settings["composite_min_population"]))
    return int(getattr(rules, "min_population", MIN_POPULATION))


def publish_composite(result: CompositeResult, population, min_population: int = MIN_POPULATION):
    """Published copy: zones with fewer than ``min_population`` residents get no composite.

    Their index and contributions are NULL with a reason (read the parent
    zone instead); ``published`` says which rows keep their values.
    """
    pop = np.asarray(population, dtype=float)
    index = result.index.copy()
    small = np.nan_to_num(pop, nan=0.0) < min_population
    index["published"] = ~small
    cols = ["score", "rank", "pct_rank", "flags", "mean", "penalty"]
    index.loc[small, cols] = None
    reason = f"fewer than {min_population} residents: see the parent zone"
    index.loc[small, "null_reason"] = reason
    hidden = set(index.loc[small, "zone_id"])
    contrib = result.contributions.copy()
    mask = contrib["zone_id"].isin(hidden)
    contrib["published"] = ~mask
    contrib.loc[mask, ["value", "score", "contribution", "share", "theme_sum",
                       "theme_pct_rank"]] = np.nan
    contrib.loc[mask, "flag"] = pd.NA
    return CompositeResult(index, contrib)

