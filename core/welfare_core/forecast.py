"""Population and target-demand projections per zone, with prediction intervals.

Population is held as a cube ``counts[t, z, s, a]`` (year, zone, sex F/M, single
year of age 0..100, 100 = open group), so every formula below is a whole-array
operation; the only Python loops run over projection steps or past base years.

Hamilton–Perry (``hamilton_perry``), step k = 1 or 5 years, base year b:
    CCR[z,s,a]   = P[b,z,s,a] / P[b-k,z,s,a-k]                     k <= a < 100
    CCR[z,s,100] = P[b,z,s,100] / sum_{x >= 100-k} P[b-k,z,s,x]    (open top group)
    CWR[z,s,a]   = P[b,z,s,a] / W[b,z]     a < k,  W = women aged 15-49
    P[t+k,z,s,a] = CCR[z,s,a] P[t,z,s,a-k];  P[t+k,z,s,100] = CCR[z,s,100] sum_{x>=100-k} P[t,z,s,x]
    P[t+k,z,s,a] = CWR[z,s,a] W[t+k,z]  for a < k  (youngest ages from the projected women)
  Damping (tiny zones): every ratio is shrunk toward the ratio of all zones together,
    R = (num + m R_all) / (den + m), m = ``damping`` persons (0 = none); a ratio with
    no one in its denominator is R_all. Years between 5-year steps are interpolated
    linearly. Raking: each (year, sex, age) cell is scaled so the zones sum to the
    control exactly (a cell empty in every zone is filled by the zones' total shares).

Levels: the projection runs at the requested level when its population history
covers ``min_history`` years (default 5); otherwise at the nearest coarser level
that does, and each zone gets its parent's projection times its base-year share
of the parent's cohort (the cohort of age a in year b+d is the one aged a-d in b;
the open group pools ages >= 100-d; children born after b are shared like the
women aged 15-49). With the sample city, sections (2022-2023 only) are shares of
the neighbourhood projection. A zone's cohorts thus age in place: good for the
elderly, blind to new building.

Trend models for targets not driven by age (household targets) or by choice:
    linear         y_z(t) = a_z + b_z t            (OLS per zone, clipped at 0)
    log_linear     log y_z(t) = a_z + b_z t        (zones with a 0 fall back to linear)
    share_of_city  y_z(t) = mean share_z x Y(t), Y the linear trend of the zones' total
Target demand = projected population x prevalence (``welfare_core.demand.expand_bands``)
for person targets; a trend of households x share (``demand.household_demand``) for
household targets.

Prediction intervals are empirical: the same method is re-run from every past base
year the history allows, its errors at horizon h are collected by target and zone-size
band (``BANDS``, population at the base), and the ``interval`` quantile q of the
absolute percentage error gives [max(0, D (1 - q)), D (1 + q)]. Horizons beyond the
longest observed one scale q linearly with the horizon; a band with fewer than
``MIN_OBS`` errors uses all bands. Without any past projection the interval is NULL
and ``note`` says why.

Zones shared down from a coarser level (sections) get their own errors: the whole
chain (the parent projected from a past base b, shared down with the zones' cohort
shares of b) is compared with what the zones had at b + h, for every past base
where the zones have population at b and b + h (the sample's sections: 2022 -> 2023,
so horizon 1, scaled linearly beyond). These errors include the drift of the
shares, which the parent's errors cannot see, and are graded by ``SMALL_BANDS``
(population at the base) since nearly every section is under 1,000 residents and a
section of 60 moves far more than one of 600. Only when the zones' history allows
no past projection (one year) do they borrow their parent's relative interval, and
``note`` says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import forecast_cc
from .demand import expand_bands, household_demand
from .errors import InputError, UnknownIdError
from .indicators import ancestor_map
from .model import LEVEL_RANK, MAX_AGE, SEXES, ZONE_LEVELS
from .progress import NO_PROGRESS, Progress

AGES = MAX_AGE + 1
TOP = MAX_AGE
WOMEN = (15, 49)
METHODS = ("hamilton_perry", "linear", "log_linear", "share_of_city", "auto")
TREND_METHODS = ("linear", "log_linear", "share_of_city")
STEPS = (1, 5)
CONTROLS = ("cohort_component",)
DAMPING = 50.0        # persons: weight of the all-zone ratio in the shrinkage
MIN_HISTORY = 5       # years of population history a level needs to be projected directly
MIN_OBS = 5           # errors a (target, band, horizon) cell needs for its own quantile
INTERVAL = 0.8
MAX_HORIZON = 50
BANDS = ((0.0, 1_000.0, "under 1,000"), (1_000.0, 10_000.0, "1,000-9,999"),
         (10_000.0, 20_000.0, "10,000-19,999"), (20_000.0, math.inf, "20,000 and over"))
SMALL_BANDS = ((0.0, 100.0, "under 100"), (100.0, 250.0, "100-249"), (250.0, 500.0, "250-499"),
               (500.0, 1_000.0, "500-999"), (1_000.0, math.inf, "1,000 and over"))
FORECAST_COLUMNS = ["zone_id", "level", "target_id", "unit", "period", "base_period",
                    "demand", "lower", "upper", "method", "note"]
POPULATION_COLUMNS = ["zone_id", "period", "sex", "age", "persons"]


# --- population cube -----------------------------------------------------------------

@dataclass(frozen=True)
class Cube:
    zones: np.ndarray    # (Z,) zone ids
    periods: np.ndarray  # (T,) years with rows at this level, ascending
    counts: np.ndarray   # (T, Z, 2, AGES)

    def at(self, year: int) -> np.ndarray:
        i = np.searchsorted(self.periods, year)
        if i >= len(self.periods) or self.periods[i] != year:
            raise InputError(f"no population for {year} at this level",
                             hint=f"years available: {self.periods.tolist()}")
        return self.counts[i]

    def until(self, year: int) -> "Cube":
        keep = self.periods <= year
        return Cube(self.zones, self.periods[keep], self.counts[keep])


def population_cube(population: pd.DataFrame, zone_ids, up: pd.Series) -> Cube:
    """Population rows stored at or below a level, summed to its zones ``zone_ids``."""
    zone_ids = np.asarray(zone_ids, dtype=object)
    anc = population["zone_id"].map(up)
    rows = population[anc.notna().to_numpy()]
    anc = anc[anc.notna()]
    zi = pd.Index(zone_ids).get_indexer(anc.to_numpy())
    periods = np.sort(rows["period"].astype(int).unique())
    ti = np.searchsorted(periods, rows["period"].astype(int).to_numpy())
    si = pd.Index(SEXES).get_indexer(rows["sex"].to_numpy())
    age = rows["age"].to_numpy(dtype=np.int64)
    ok = (zi >= 0) & (si >= 0) & (age >= 0) & (age <= MAX_AGE)
    if not ok.all():
        raise InputError("population has rows with an unknown sex or an age outside "
                         f"0..{MAX_AGE}", hint="check it with validate_data")
    shape = (len(periods), len(zone_ids), 2, AGES)
    flat = np.ravel_multi_index((ti, zi, si, age), shape)
    counts = np.bincount(flat, weights=rows["persons"].to_numpy(dtype=float),
                         minlength=int(np.prod(shape))).reshape(shape)
    return Cube(zone_ids, periods, counts)


def cube_frame(zones, periods, counts) -> pd.DataFrame:
    """(T, Z, 2, A) counts as long rows zone_id, period, sex, age, persons."""
    t, z, s, a = np.indices(counts.shape).reshape(4, -1)
    return pd.DataFrame({"zone_id": np.asarray(zones, dtype=object)[z],
                         "period": np.asarray(periods)[t], "sex": np.asarray(SEXES)[s],
                         "age": a, "persons": counts.ravel()})


# --- Hamilton-Perry ------------------------------------------------------------------

def _shrink(num, den, damping, empty=1.0):
    """(num + m R_all) / (den + m) over axis 0 (zones); R_all where nobody is at risk."""
    tot_den = den.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r_all = np.where(tot_den > 0, num.sum(axis=0) / np.where(tot_den > 0, tot_den, 1), empty)
        r = (num + damping * r_all) / (den + damping)
    return np.where(den + damping > 0, r, np.broadcast_to(r_all, num.shape))


def _women(p):
    return p[..., 0, WOMEN[0]:WOMEN[1] + 1].sum(axis=-1)


def hp_ratios(launch: np.ndarray, base: np.ndarray, step: int, *, damping: float = 0.0):
    """(CCR (Z,2,A-k) for ages k..100, CWR (Z,2,k) for ages 0..k-1) from two (Z,2,A) counts."""
    k = step
    num = base[..., k:]
    den = launch[..., :AGES - k].copy()
    den[..., -1] = launch[..., TOP - k:].sum(axis=-1)
    ccr = _shrink(num, den, damping)
    w = np.broadcast_to(_women(base)[:, None, None], base[..., :k].shape)
    cwr = _shrink(base[..., :k], w, damping, empty=0.0)
    return ccr, cwr


def hp_step(p: np.ndarray, ccr: np.ndarray, cwr: np.ndarray, step: int) -> np.ndarray:
    k = step
    new = np.empty_like(p)
    new[..., k:] = ccr * p[..., :AGES - k]
    new[..., -1] = ccr[..., -1] * p[..., TOP - k:].sum(axis=-1)
    new[..., :k] = cwr * _women(new)[..., None, None]
    return new


def hamilton_perry(launch: np.ndarray, base: np.ndarray, step: int, horizon: int, *,
                   damping: float = 0.0) -> np.ndarray:
    """Yearly projection (horizon + 1, Z, 2, A) from counts at b - step and b; row 0 = base."""
    ccr, cwr = hp_ratios(launch, base, step, damping=damping)
    n_steps = -(-horizon // step)
    at_steps = np.empty((n_steps + 1,) + base.shape)
    at_steps[0] = base
    for j in range(n_steps):  # a loop over steps only
        at_steps[j + 1] = hp_step(at_steps[j], ccr, cwr, step)
    if step == 1:
        return at_steps
    years = np.arange(horizon + 1)
    lo = years // step
    frac = (years % step / step)[:, None, None, None]
    hi = np.minimum(lo + 1, n_steps)
    return at_steps[lo] * (1 - frac) + at_steps[hi] * frac


def rake(projection: np.ndarray, control: np.ndarray) -> np.ndarray:
    """Scale the zones (axis 1 of (J, Z, ...)) so they sum to ``control`` exactly.

    ``control`` is (J,) (one total per year: every cell scaled alike) or (J, ...)
    (one total per year and cell, e.g. sex and age: each cell scaled on its own).
    """
    p = np.asarray(projection, dtype=float)
    c = np.asarray(control, dtype=float)
    n_j, n_z = p.shape[:2]
    flat = p.reshape(n_j, n_z, -1)
    if c.ndim == 1:
        total = flat.sum(axis=(1, 2))
        if ((total <= 0) & (c > 0)).any():
            raise InputError("cannot rake an empty projection to a positive control total")
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = np.where(total > 0, c / np.where(total > 0, total, 1), 0.0)
        return p * factor.reshape((n_j,) + (1,) * (p.ndim - 1))
    c = c.reshape(n_j, -1)
    total = flat.sum(axis=1)                                      # (J, K)
    zone_tot = flat.sum(axis=2)                                   # (J, Z)
    all_tot = zone_tot.sum(axis=1, keepdims=True)
    share = np.where(all_tot > 0, zone_tot / np.where(all_tot > 0, all_tot, 1), 1.0 / n_z)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(total > 0, c / np.where(total > 0, total, 1), 0.0)
    out = np.where(total[:, None, :] > 0, flat * factor[:, None, :],
                   share[:, :, None] * c[:, None, :])
    return out.reshape(p.shape)


def shift_cohorts(x: np.ndarray, d: int) -> np.ndarray:
    """Counts (..., A) moved d years on: age a <- age a-d, open group pooled, ages < d empty."""
    if d == 0:
        return x.copy()
    y = np.zeros_like(x)
    y[..., d:] = x[..., :AGES - d]
    y[..., -1] = x[..., TOP - d:].sum(axis=-1)
    return y


def share_down(parent_proj: np.ndarray, child_base: np.ndarray, parent_idx: np.ndarray):
    """Children's projection (J, C, 2, A) as base-year cohort shares of their parent's."""
    n_par = parent_proj.shape[1]
    parent_base = np.zeros((n_par,) + child_base.shape[1:])
    np.add.at(parent_base, parent_idx, child_base)
    cw, pw = _women(child_base), _women(parent_base)[parent_idx]
    ct, pt = child_base.sum(axis=(1, 2)), parent_base.sum(axis=(1, 2))[parent_idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        total_share = np.where(pt > 0, ct / np.where(pt > 0, pt, 1), 0.0)
        women_share = np.where(pw > 0, cw / np.where(pw > 0, pw, 1), total_share)
    out = np.empty((parent_proj.shape[0],) + child_base.shape)
    for d in range(parent_proj.shape[0]):  # a loop over horizon years only
        cs = shift_cohorts(child_base, d)
        ps = shift_cohorts(parent_base, d)[parent_idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(ps > 0, cs / np.where(ps > 0, ps, 1), total_share[:, None, None])
        share[..., :d] = women_share[:, None, None]
        out[d] = share * parent_proj[d][parent_idx]
    return out


# --- trend models --------------------------------------------------------------------

def trend(values: np.ndarray, years, out_years, method: str) -> np.ndarray:
    """Trend projection (len(out_years), Z, ...) of ``values`` (T, Z, ...) observed in ``years``."""
    y = np.asarray(values, dtype=float)
    t = np.asarray(years, dtype=float)
    out_t = np.asarray(out_years, dtype=float)
    if len(t) < 2:
        raise InputError(f"a {method} trend needs at least two years of history, got "
                         f"{len(t)}", hint="load more years or use another method")
    if method not in TREND_METHODS:
        raise InputError(f"unknown trend method {method!r}",
                         hint=f"use one of {', '.join(TREND_METHODS)}")
    if method == "share_of_city":
        total = y.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(total[:, None] > 0, y / np.where(total > 0, total, 1)[:, None], 0)
        city = np.clip(_ols(total, t, out_t), 0, None)
        return shares.mean(axis=0)[None] * city[:, None]
    lin = _ols(y, t, out_t)
    if method == "linear":
        return np.clip(lin, 0, None)
    positive = (y > 0).all(axis=0)
    with np.errstate(divide="ignore"):
        log = np.exp(_ols(np.log(np.where(y > 0, y, 1.0)), t, out_t))
    return np.where(positive[None], log, np.clip(lin, 0, None))


def _ols(y, t, out_t):
    """Least-squares line per series along axis 0, evaluated at ``out_t``."""
    tc = t - t.mean()
    shape = (-1,) + (1,) * (y.ndim - 1)
    ym = y.mean(axis=0)
    slope = (tc.reshape(shape) * (y - ym)).sum(axis=0) / (tc ** 2).sum()
    return ym + slope * (out_t - t.mean()).reshape(shape)


# --- inputs and checks ---------------------------------------------------------------

def check_arguments(horizon, method, level, step, interval, damping):
    """Raise InputError for a bad horizon, method, level, step, interval or damping."""
    if level not in LEVEL_RANK:
        raise InputError(f"unknown level {level!r}", hint=f"use one of {', '.join(ZONE_LEVELS)}")
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    if horizon is None or int(horizon) != horizon or not 1 <= horizon <= MAX_HORIZON:
        raise InputError(f"horizon = {horizon} must be a whole number of years from 1 to "
                         f"{MAX_HORIZON}", hint="e.g. 7 to project 2023 to 2030")
    if step not in STEPS:
        raise InputError(f"step = {step} must be 1 or 5 (years)")
    if not 0 < interval < 1:
        raise InputError(f"interval = {interval} must be between 0 and 1",
                         hint="e.g. 0.8 for an 80 % prediction interval")
    if damping is None or damping < 0:
        raise InputError(f"damping = {damping} must be 0 or more (persons)")


def _zones_at(zone: pd.DataFrame, level: str) -> np.ndarray:
    ids = np.sort(zone.loc[zone["level"] == level, "zone_id"].to_numpy(dtype=object))
    if not len(ids):
        raise InputError(f"there are no zones of level {level!r}",
                         hint="load zones of that level or choose another level")
    return ids


def _cube_at(tables, level) -> tuple[Cube, pd.Series]:
    up = ancestor_map(tables["zone"], level)
    cube = population_cube(tables["population"], _zones_at(tables["zone"], level), up)
    keep = cube.counts.sum(axis=(1, 2, 3)) > 0
    return Cube(cube.zones, cube.periods[keep], cube.counts[keep]), up


def _projection_level(tables, level, min_history):
    """(level the history allows, its cube): ``level`` itself or the nearest coarser one."""
    seen = []
    for lv in ZONE_LEVELS[LEVEL_RANK[level]:]:
        if not (tables["zone"]["level"] == lv).any():
            continue
        cube, _ = _cube_at(tables, lv)
        seen.append(f"{lv}: {len(cube.periods)}")
        if len(cube.periods) >= min_history:
            return lv, cube
    raise InputError(f"too little population history to project from level {level}: "
                     f"{min_history} years needed (years found by level: {'; '.join(seen)})",
                     hint="load more years of population, or lower min_history")


def _base_year(cube: Cube, base_period, step) -> int:
    base = int(cube.periods[-1]) if base_period is None else int(base_period)
    if base not in cube.periods or base - step not in cube.periods:
        raise InputError(f"too little history: the {step}-year projection from {base} needs "
                         f"population in {base - step} and {base}",
                         hint=f"years available: {cube.periods.tolist()}")
    return base


def prevalence_matrix(prevalence: pd.DataFrame, targets) -> np.ndarray:
    """(G, 2, A) prevalence of each target by sex and age (0 outside its bands)."""
    rates = expand_bands(prevalence)
    rates = rates[rates["target_id"].isin(list(targets))]
    g = pd.Index(list(targets)).get_indexer(rates["target_id"])
    s = pd.Index(SEXES).get_indexer(rates["sex"])
    out = np.zeros((len(targets), 2, AGES))
    out[g, s, rates["age"].to_numpy(dtype=np.int64)] = rates["prevalence"].to_numpy(float)
    return out


def _person_demand(pop, prev):
    """Demand (..., G) of counts (..., 2, A) and prevalence (G, 2, A)."""
    return np.tensordot(pop, prev, axes=([-2, -1], [1, 2]))


# --- population projection -------------------------------------------------------------

@dataclass(frozen=True)
class Projection:
    """Yearly population projection at ``level`` (rows for base .. base + horizon)."""
    level: str
    zones: np.ndarray
    periods: np.ndarray
    counts: np.ndarray            # (H + 1, Z, 2, A)
    projected_at: str             # level the ratios were computed at
    note: str
    history: Cube                 # population history at ``projected_at``
    band_sizes: np.ndarray        # (Z,) base population choosing each zone's error band

    def frame(self) -> pd.DataFrame:
        return cube_frame(self.zones, self.periods, self.counts)


def _project_cube(cube: Cube, base: int, horizon: int, step: int, damping: float,
                  control) -> np.ndarray:
    proj = hamilton_perry(cube.at(base - step), cube.at(base), step, horizon, damping=damping)
    if control is None:
        return proj
    return rake(proj, _control_totals(cube, base, horizon, control))


def _control_totals(cube: Cube, base, horizon, control):
    """(H + 1, 2, A) or (H + 1,) totals the zones are raked to."""
    if isinstance(control, str):
        if control != "cohort_component":
            raise InputError(f"unknown control {control!r}",
                             hint="use 'cohort_component' or give a table of totals")
        years = cube.periods[cube.periods <= base]
        run = np.flatnonzero(np.diff(years) != 1)
        first = years[run[-1] + 1] if len(run) else years[0]
        hist = cube.until(base).counts[cube.until(base).periods >= first].sum(axis=1)
        comp = forecast_cc.estimate_components(hist)
        return forecast_cc.cohort_component(hist[-1], comp, horizon)
    frame = pd.DataFrame(control)
    want = np.arange(base, base + horizon + 1)
    if {"sex", "age"} <= set(frame.columns):
        c = np.full((len(want), 2, AGES), np.nan)
        ti = np.searchsorted(want, frame["period"].to_numpy(int))
        ok = (ti < len(want)) & (want[np.minimum(ti, len(want) - 1)] == frame["period"])
        c[ti[ok], pd.Index(SEXES).get_indexer(frame["sex"][ok]),
          frame["age"][ok].to_numpy(int)] = frame["persons"][ok].to_numpy(float)
    else:
        c = frame.set_index("period")["persons"].reindex(want).to_numpy(float)
    c[0] = cube.at(base).sum(axis=0) if c.ndim == 3 else cube.at(base).sum()
    if np.isnan(c).any():
        raise InputError("the control table lacks some projected years (or sex, age cells)",
                         hint=f"give totals for every year {base + 1}..{base + horizon}")
    return c


def forecast_population(tables, horizon: int, *, level: str = "neighbourhood", step: int = 1,
                        base_period=None, control=None, damping: float = DAMPING,
                        min_history: int = MIN_HISTORY) -> Projection:
    """Hamilton–Perry projection by zone, sex and single year of age (see module doc).

    tables: zone (zone_id, level, parent_id), population (zone_id, period, sex, age, persons).
    control: None, "cohort_component" (Leslie model of all zones of the level together,
    ``welfare_core.forecast_cc``) or a frame period, persons [, sex, age] of totals.
    """
    check_arguments(horizon, "hamilton_perry", level, step, 0.5, damping)
    at, cube = _projection_level(tables, level, max(min_history, step + 1))
    base = _base_year(cube, base_period, step)
    proj = _project_cube(cube, base, int(horizon), step, damping, control)
    periods = np.arange(base, base + int(horizon) + 1)
    note = f"Hamilton-Perry at {at} level, {step}-year ratios {base - step}-{base}"
    if control is not None:
        note += ", raked to " + (control if isinstance(control, str) else "given totals")
    if at == level:
        return Projection(level, cube.zones, periods, proj, at, note, cube,
                          proj[0].sum(axis=(1, 2)))
    child, _ = _cube_at(tables, level)
    up = ancestor_map(tables["zone"], at)
    parent_idx = pd.Index(cube.zones).get_indexer(pd.Series(child.zones).map(up))
    has_parent = parent_idx >= 0
    counts = np.zeros((len(periods), len(child.zones), 2, AGES))
    counts[:, has_parent] = share_down(proj, child.at(base)[has_parent], parent_idx[has_parent])
    note += f"; {level} zones as {base} cohort shares of their {at}"
    # a zone shared down gets the error band of its parent (whose errors were measured)
    sizes = np.where(has_parent, proj[0].sum(axis=(1, 2))[np.maximum(parent_idx, 0)], 0.0)
    return Projection(level, child.zones, periods, counts, at, note, cube, sizes)


# --- demand forecast ---------------------------------------------------------------------

def forecast_demand(tables, targets, horizon: int, *, method: str = "hamilton_perry",
                    level: str = "neighbourhood", step: int = 1, base_period=None,
                    control=None, damping: float = DAMPING, interval: float = INTERVAL,
                    min_history: int | None = None, progress: Progress = NO_PROGRESS
                    ) -> pd.DataFrame:
    """Projected demand of ``targets`` per zone of ``level``, yearly to base + horizon.

    tables: zone, population, target, target_prevalence; household and target_household
    for household targets. method: hamilton_perry (person targets), linear, log_linear,
    share_of_city, or auto (Hamilton-Perry for persons, share_of_city for households).
    Returns FORECAST_COLUMNS: one row per zone, target and year from the base year
    (observed, lower = upper = demand) to base + horizon; lower/upper bound the
    ``interval`` prediction interval (NULL with a note when no past error is measurable).
    """
    check_arguments(horizon, method, level, step, interval, damping)
    horizon = int(horizon)
    targets = [targets] if isinstance(targets, str) else list(targets)
    catalogue = tables["target"].set_index("target_id")
    unknown = sorted(set(targets) - set(catalogue.index))
    if unknown or not targets:
        raise UnknownIdError(f"unknown target(s) {unknown}" if unknown else "no target given",
                             hint="use target ids from the target table")
    persons = [t for t in targets if catalogue.loc[t, "unit"] == "persons"]
    no_rates = sorted(set(persons) - set(tables["target_prevalence"]["target_id"]))
    if no_rates:
        raise InputError(f"person target(s) {no_rates} have no prevalence rows, so they "
                         "cannot be derived from population", hint="add target_prevalence rows")
    parts = []
    for unit, group in (("persons", [t for t in targets if catalogue.loc[t, "unit"] == "persons"]),
                        ("households", [t for t in targets
                                        if catalogue.loc[t, "unit"] == "households"])):
        if not group:
            continue
        m = method if method != "auto" else (
            "hamilton_perry" if unit == "persons" else "share_of_city")
        if m == "hamilton_perry" and unit == "households":
            raise InputError(f"target(s) {group} count households, which Hamilton-Perry "
                             "(an age model) cannot project",
                             hint="use method linear, log_linear, share_of_city or auto")
        if m == "hamilton_perry":
            parts.append(_hp_demand(tables, group, horizon, level, step, base_period, control,
                                    damping, interval, min_history or MIN_HISTORY, progress))
        else:
            parts.append(_trend_demand(tables, group, unit, horizon, level, m, base_period,
                                       interval, min_history or (
                                           MIN_HISTORY if unit == "persons" else 2)))
    out = pd.concat(parts, ignore_index=True)
    out["unit"] = out["target_id"].map(catalogue["unit"])
    progress(100)
    return (out[FORECAST_COLUMNS].sort_values(["target_id", "zone_id", "period"])
            .reset_index(drop=True))


def _hp_demand(tables, targets, horizon, level, step, base_period, control, damping,
               interval, min_history, progress):
    prev = prevalence_matrix(tables["target_prevalence"], targets)
    proj = forecast_population(tables, horizon, level=level, step=step, base_period=base_period,
                               control=control, damping=damping, min_history=min_history)
    progress(40)
    demand = _person_demand(proj.counts, prev)                     # (H+1, Z, G)
    # past projections at the level the ratios are computed at
    at_cube = proj.history
    base = int(proj.periods[0])
    past_control = control if isinstance(control, str) else None  # given totals: future only

    def project_pop(b, h):
        return _project_cube(at_cube.until(b), b, h, step, damping, past_control)

    def project_from(b, h):
        return _person_demand(project_pop(b, h), prev)

    first = at_cube.periods[0] + step
    if past_control == "cohort_component":
        first += 1  # the Leslie model needs two years of its own
    q = _error_quantiles(project_from, lambda y: _person_demand(at_cube.at(y), prev),
                         lambda y: at_cube.at(y).sum(axis=(1, 2)), at_cube.periods, first,
                         base, horizon, interval)
    progress(80)
    sizes, bands = proj.band_sizes, BANDS
    note = proj.note
    if proj.projected_at != level:
        child_q, child_sizes = _shared_down_errors(tables, proj, project_pop, prev, first,
                                                   horizon, interval)
        if not np.isnan(child_q).all():
            q, sizes, bands = child_q, child_sizes, SMALL_BANDS
            note += _interval_note(q, level, level, interval, SMALL_BANDS,
                                   f" (the {proj.projected_at} projection shared down)")
    if bands is BANDS:
        note += _interval_note(q, proj.projected_at, level, interval)
    return _rows(proj.zones, level, targets, proj.periods, demand, q, sizes, "hamilton_perry",
                 note, bands)


def _shared_down_errors(tables, proj, project_pop, prev, first, horizon, interval):
    """(q (H, SMALL_BANDS, G), base sizes (Z,)) of zones shared down from ``proj.projected_at``:
    errors of the whole chain against the zones' own later population (see module doc)."""
    child, _ = _cube_at(tables, proj.level)
    up = ancestor_map(tables["zone"], proj.projected_at)
    pidx = pd.Index(proj.history.zones).get_indexer(pd.Series(child.zones).map(up))
    has = pidx >= 0
    n_g = prev.shape[0]

    def project_from(b, h):
        if b not in child.periods:
            return np.full((h + 1, len(child.zones), n_g), np.nan)
        parent_pop = project_pop(b, h)                          # (h+1, parents, 2, A)
        counts = np.zeros((h + 1, len(child.zones), 2, AGES))
        counts[:, has] = share_down(parent_pop, child.at(b)[has], pidx[has])
        return _person_demand(counts, prev)

    def sizes(y):
        return child.at(y).sum(axis=(1, 2)) if y in child.periods else np.zeros(len(child.zones))

    base = int(proj.periods[0])
    q = _error_quantiles(project_from, lambda y: _person_demand(child.at(y), prev), sizes,
                         child.periods, max(first, int(child.periods[0])), base, horizon,
                         interval, SMALL_BANDS)
    return q, sizes(base)


def _trend_demand(tables, targets, unit, horizon, level, method, base_period, interval,
                  min_history):
    hist, sizes_of, at = _demand_history(tables, targets, unit, level, min_history)
    zones, years, values = hist
    base = int(years[-1]) if base_period is None else int(base_period)
    if base not in years:
        raise InputError(f"no {unit} history in {base} at level {at}",
                         hint=f"years available: {years.tolist()}")
    fit = years <= base
    out_years = np.arange(base, base + horizon + 1)
    proj = trend(values[fit], years[fit], out_years, method)
    proj[0] = values[np.searchsorted(years, base)]

    def project_from(b, h):
        keep = years <= b
        return trend(values[keep], years[keep], np.arange(b, b + h + 1), method)

    q = _error_quantiles(project_from, lambda y: values[np.searchsorted(years, y)], sizes_of,
                         years, years[0] + 1, base, horizon, interval)
    note = f"{method} trend of {unit} fitted on {years[fit][0]}-{base} at {at} level"
    if at != level:
        child_hist, child_sizes, _ = _demand_history(tables, targets, unit, level, 1)
        czones, cyears, cvalues = child_hist
        if base not in cyears:
            raise InputError(f"no {unit} in {base} at level {level} to share the {at} trend by")
        up = ancestor_map(tables["zone"], at)
        pidx = pd.Index(zones).get_indexer(pd.Series(czones).map(up))
        cbase = cvalues[np.searchsorted(cyears, base)] * (pidx >= 0)[:, None]
        psum = np.zeros((len(zones), len(targets)))
        np.add.at(psum, pidx[pidx >= 0], cbase[pidx >= 0])
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(psum[pidx] > 0, cbase / np.where(psum[pidx] > 0, psum[pidx], 1), 0)
        proj = proj[:, pidx] * share[None] * (pidx >= 0)[None, :, None]
        parent_sizes = sizes_of(base)
        zones = czones
        sizes_of = lambda y: np.where(pidx >= 0, parent_sizes[np.maximum(pidx, 0)], 0.0)  # noqa: E731
        note += f"; {level} zones as {base} shares of their {at}"
    note += _interval_note(q, at, level, interval)
    return _rows(zones, level, targets, out_years, proj, q, sizes_of(base), method, note)


def _demand_history(tables, targets, unit, level, min_history):
    """((zones, years, values (T, Z, G)), sizes(year) -> (Z,), level used)."""
    for lv in ZONE_LEVELS[LEVEL_RANK[level]:]:
        if not (tables["zone"]["level"] == lv).any():
            continue
        cube, up = _cube_at(tables, lv) if "population" in tables else (None, None)
        if unit == "persons":
            if cube is None:
                raise InputError("person targets need the population table")
            years, values = cube.periods, _person_demand(cube.counts,
                                                         prevalence_matrix(
                                                             tables["target_prevalence"],
                                                             targets))
            zones = cube.zones
        else:
            if tables.get("household") is None or tables.get("target_household") is None:
                raise InputError("household targets need the household and target_household "
                                 "tables", hint="load households by type")
            zones = _zones_at(tables["zone"], lv)
            up = ancestor_map(tables["zone"], lv)
            hh = tables["household"].assign(zone_id=tables["household"]["zone_id"].map(up))
            hh = hh.dropna(subset=["zone_id"])
            d = household_demand(hh, tables["target_household"])
            d = d[d["target_id"].isin(targets)]
            years = np.sort(d["period"].astype(int).unique())
            values = np.zeros((len(years), len(zones), len(targets)))
            values[np.searchsorted(years, d["period"].astype(int)),
                   pd.Index(zones).get_indexer(d["zone_id"]),
                   pd.Index(targets).get_indexer(d["target_id"])] = d["demand"].to_numpy(float)
        if len(years) >= min_history:
            def sizes(y, cube=cube, values=values, years=years):
                if cube is not None and y in cube.periods:
                    return cube.at(y).sum(axis=(1, 2))
                return values[np.searchsorted(years, y)].sum(axis=-1)
            return (zones, years, values), sizes, lv
    raise InputError(f"too little {unit} history to project from level {level}: "
                     f"{min_history} years needed", hint="load more years")


def _rows(zones, level, targets, periods, demand, q, sizes, method, note, bands=BANDS):
    """Long rows from (H+1, Z, G) demand and error quantiles q (H, bands, G)."""
    n_t, n_z, n_g = demand.shape
    band = band_of(sizes, bands)
    h = np.arange(n_t)
    rel = np.zeros((n_t, n_z, n_g))
    if n_t > 1:
        rel[1:] = q[h[1:] - 1][:, band, :]
    lower = np.clip(demand * (1 - rel), 0, None)
    upper = demand * (1 + rel)
    t, z, g = np.indices(demand.shape).reshape(3, -1)
    return pd.DataFrame({
        "zone_id": np.asarray(zones, dtype=object)[z], "level": level,
        "target_id": np.asarray(targets, dtype=object)[g], "period": np.asarray(periods)[t],
        "base_period": int(periods[0]), "demand": demand.ravel(), "lower": lower.ravel(),
        "upper": upper.ravel(), "method": method, "note": note})


# --- prediction intervals ----------------------------------------------------------------

def band_of(sizes, bands=BANDS) -> np.ndarray:
    edges = np.array([b[1] for b in bands[:-1]])
    return np.searchsorted(edges, np.asarray(sizes, dtype=float), side="right")


def past_errors(project_from, actual, sizes, periods, first_base, base, horizon, bands=BANDS):
    """Errors of projections re-run from past bases: frame base, horizon, band, zone, g,
    projected, actual (actual > 0 only)."""
    periods = np.asarray(periods)
    frames = []
    for b in periods[(periods >= first_base) & (periods < base)]:  # past base years only
        hs = [h for h in range(1, min(horizon, base - b) + 1) if b + h in periods]
        if not hs:
            continue
        p = project_from(int(b), max(hs))                       # (h+1, Z, G)
        a = np.stack([actual(int(b + h)) for h in hs])          # (len(hs), Z, G)
        p = p[hs]
        band = band_of(sizes(int(b)), bands)
        i, z, g = np.indices(p.shape).reshape(3, -1)
        frames.append(pd.DataFrame({"base": int(b), "horizon": np.asarray(hs)[i],
                                    "band": band[z], "zone": z, "g": g,
                                    "projected": p.ravel(), "actual": a.ravel()}))
    if not frames:
        return pd.DataFrame(columns=["base", "horizon", "band", "zone", "g", "projected",
                                     "actual"])
    out = pd.concat(frames, ignore_index=True)
    return out[out["actual"] > 0]


def _error_quantiles(project_from, actual, sizes, periods, first_base, base, horizon,
                     interval, bands=BANDS) -> np.ndarray:
    """q (H, bands, G): the ``interval`` quantile of |projected/actual - 1| (see module doc)."""
    err = past_errors(project_from, actual, sizes, periods, first_base, base, horizon, bands)
    n_g = actual(int(base)).shape[-1]
    q = np.full((horizon, len(bands), n_g), np.nan)
    if err.empty:
        return q
    err = err.assign(ape=(err["projected"] / err["actual"] - 1).abs())
    by_band = err.groupby(["g", "band", "horizon"])["ape"]
    cell_q, cell_n = by_band.quantile(interval), by_band.size()
    pooled = err.groupby(["g", "horizon"])["ape"].quantile(interval)
    # pooled per (g, horizon) everywhere first, then cells with enough errors
    g_i, h_i = (np.asarray(x) for x in zip(*pooled.index))
    q[h_i - 1, :, g_i] = pooled.to_numpy()[:, None]
    good = cell_n.to_numpy() >= MIN_OBS
    g_c, b_c, h_c = (np.asarray(x)[good] for x in zip(*cell_q.index))
    q[h_c - 1, b_c, g_c] = cell_q.to_numpy()[good]
    # horizons longer than any observed one: scale the longest observed linearly
    seen = ~np.isnan(q[:, 0, :])                                        # (H, G)
    for g in range(n_g):  # a loop over targets only
        if not seen[:, g].any():
            continue
        h0 = int(np.flatnonzero(seen[:, g])[-1]) + 1
        for h in range(h0 + 1, horizon + 1):
            q[h - 1, :, g] = q[h0 - 1, :, g] * h / h0
    return q


def _interval_note(q, at, level, interval, bands=BANDS, how="") -> str:
    if np.isnan(q).all():
        return "; no interval: the history allows no past projection to measure the error"
    h_obs = int((~np.isnan(q[:, 0, :])).any(axis=1).sum())
    note = (f"; {interval:.0%} interval from past projection errors at {at} level{how} by "
            f"zone size ({', '.join(b[2] for b in bands)})")
    if h_obs < q.shape[0]:
        note += f", horizons over {h_obs} years scaled linearly"
    if at != level:
        note += (f"; a {level} zone has its {at}'s relative interval (the error of the "
                 "share-down is not included)")
    return note


# --- indicators for a future period ---------------------------------------------------------

def future_tables(tables, level: str, period: int, *, step: int = 1, control=None,
                  damping: float = DAMPING, household_method: str = "share_of_city") -> dict:
    """``tables`` with demand, population and household totals projected to ``period``.

    For ``welfare_core.indicators.zone_indicators(future_tables(...), level, period)``:
    person targets by Hamilton-Perry, household targets and household totals by
    ``household_method``; facilities and zones unchanged (their active_from /
    active_to still apply). Targets that cannot be projected (household targets
    with fewer than two years of households, person targets without prevalence)
    are left out of the target table, with the service types whose reference
    they are, so they never show as zero demand. Rows are at ``level`` only.
    """
    pop_years = tables["population"]["period"].astype(int)
    base = int(pop_years.max())
    horizon = int(period) - base
    if horizon < 1:
        raise InputError(f"period {period} is not after the last population year {base}",
                         hint="use welfare_core.indicators.zone_indicators for past periods")
    target = tables["target"]
    persons = target.loc[target["unit"] == "persons", "target_id"].tolist()
    persons = [t for t in persons if t in set(tables["target_prevalence"]["target_id"])]
    proj = forecast_population(tables, horizon, level=level, step=step, control=control,
                               damping=damping)
    last = proj.counts[-1]
    out = dict(tables)
    demand = pd.DataFrame({"zone_id": np.repeat(proj.zones, len(persons)),
                           "target_id": np.tile(np.asarray(persons, dtype=object),
                                                len(proj.zones)),
                           "period": int(period),
                           "demand": _person_demand(
                               last, prevalence_matrix(tables["target_prevalence"], persons)
                           ).ravel()})
    out["population"] = pd.DataFrame({"zone_id": proj.zones, "period": int(period),
                                      "persons": last.sum(axis=(1, 2))})
    households = target.loc[target["unit"] == "households", "target_id"].tolist()
    hh = tables.get("household")
    out["household"] = pd.DataFrame({"zone_id": [], "period": [], "households": []})
    projected = set(persons)
    if hh is not None and len(hh) and households and tables.get("target_household") is not None:
        try:
            f = _trend_demand(tables, households, "households", horizon, level,
                              household_method, None, INTERVAL, 2)
            totals = hh.assign(household_type_id="all")
            th = pd.DataFrame({"target_id": ["households"], "household_type_id": ["all"],
                               "share": [1.0]})
            tot = _trend_demand({**tables, "household": totals, "target_household": th},
                                ["households"], "households", horizon, level,
                                household_method, None, INTERVAL, 2)
        except InputError:
            pass  # too little household history: household targets are left out
        else:
            f = f[f["period"] == int(period)]
            demand = pd.concat([demand, f[["zone_id", "target_id", "period", "demand"]]])
            tot = tot[tot["period"] == int(period)]
            out["household"] = pd.DataFrame({"zone_id": tot["zone_id"].to_numpy(),
                                             "period": int(period),
                                             "households": tot["demand"].to_numpy()})
            projected |= set(households)
    _keep_targets(tables, out, projected)
    out["demand"] = demand.reset_index(drop=True)
    return out


def _keep_targets(tables, out, projected):
    """Only what could be projected: a target left out must not show as zero demand."""
    target = tables["target"]
    out["target"] = target[target["target_id"].isin(projected)]
    if tables.get("service_type") is not None:
        stype = tables["service_type"]
        out["service_type"] = stype[stype["reference_target_id"].isin(projected)]
        st = tables["service_target"]
        out["service_target"] = st[st["target_id"].isin(projected) &
                                   st["service_type_id"].isin(out["service_type"]
                                                              ["service_type_id"])]


def carriers(population: pd.DataFrame, zone: pd.DataFrame, period: int) -> dict:
    """{level: zone ids} of the finest zones with population rows in ``period``.

    A zone whose descendant also has rows is left out (nothing counted twice),
    as for the origins of ``welfare_core.zone_access``: for the sample city,
    the sections and the ring comuni.
    """
    ids = pd.Index(population.loc[population["period"].astype(int) == int(period), "zone_id"]
                   .astype(str).unique())
    parent = zone.set_index("zone_id")["parent_id"]
    ancestors, cur = set(), pd.Series(ids, index=ids)
    for _ in range(len(ZONE_LEVELS)):
        cur = cur.map(parent).dropna()
        if cur.empty:
            break
        ancestors.update(cur.tolist())
    keep = sorted(set(ids) - ancestors)
    level = zone.set_index("zone_id")["level"].reindex(keep)
    return {lv: level.index[level == lv].tolist() for lv in ZONE_LEVELS if (level == lv).any()}


def future_inputs(tables, period: int, *, level: str | None = None, step: int = 1,
                  control=None, damping: float = DAMPING,
                  household_method: str = "share_of_city") -> dict:
    """``tables`` with demand, population and household totals projected to ``period``.

    The one entry for every analysis of a future year (indicators, accessibility,
    scenarios, optimisation). With ``level``: :func:`future_tables` at that level.
    Without: the rows are at the zones that carry population in the last year
    (:func:`carriers`), each projected at its own level (sections as shares of
    their neighbourhood, ring comuni at city level), so accessibility and
    location models keep their origins and a parent zone's demand is the sum of
    its children's. Targets projected at some carrier level but not at another
    are left out (never zero demand). Facilities are unchanged: their
    active_from / active_to are read against ``period`` by the analyses.
    """
    if level is not None:
        return future_tables(tables, level, period, step=step, control=control,
                             damping=damping, household_method=household_method)
    pop = tables["population"]
    if pop is None or not len(pop):
        raise InputError("a future period needs population history",
                         hint="load population by sex and single year of age")
    base = int(pop["period"].astype(int).max())
    parts = {lv: (ids, future_tables(tables, lv, period, step=step, control=control,
                                     damping=damping, household_method=household_method))
             for lv, ids in carriers(pop, tables["zone"], base).items()}
    projected = set.intersection(*(set(f["target"]["target_id"]) for _, f in parts.values()))
    out = dict(next(iter(parts.values()))[1])
    for name in ("demand", "population", "household"):
        out[name] = pd.concat([f[name][f[name]["zone_id"].isin(ids)]
                               for ids, f in parts.values()], ignore_index=True)
    out["demand"] = out["demand"][out["demand"]["target_id"].isin(projected)
                                  ].reset_index(drop=True)
    _keep_targets(tables, out, projected)
    return out


# --- publication ---------------------------------------------------------------------------

def publish_forecast(rows: pd.DataFrame, rules=None, *, sensitive=(), level: str,
                     sensitive_levels=("neighbourhood", "district", "city")) -> pd.DataFrame:
    """``rows`` plus published, demand_pub, lower_pub, upper_pub (``welfare_core.privacy``).

    Counts are made safe (1 .. threshold-1 suppressed, others rounded; sensitive
    targets under ``rules.for_target(True)``), each on its own, so the published
    columns depend on the published counts only; rows of a sensitive target below
    ``sensitive_levels`` are not published, as for indicators. Nothing else is
    derived from the counts here (rates of a forecast are published through
    :func:`welfare_core.privacy.publish_zone_indicators`).
    """
    from . import privacy
    rules = privacy.DEFAULT if rules is None else rules
    out = rows.copy()
    is_sensitive = out["target_id"].isin(list(sensitive)).to_numpy()
    strict = rules.for_target(True)
    for col in ("demand", "lower", "upper"):
        v = out[col].to_numpy(dtype=float)
        out[f"{col}_pub"] = np.where(is_sensitive, privacy.safe_counts(v, strict),
                                     privacy.safe_counts(v, rules))
    out["published"] = ~(is_sensitive & (level not in sensitive_levels))
    return out
