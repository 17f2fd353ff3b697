r"""Recompute and compare scenarios per zone × target, with a Shapley decomposition.

Outcome of a set of tables, per zone of ``level`` and target, for ``period``:

================  ==============================================================
demand            persons / households of the target (:mod:`.indicators`)
supply            capacity × share located in the zone (:mod:`.indicators`)
coverage_per_100  supply per 100 of demand (:mod:`.indicators`)
gap               capacity missing to reach the standards (:mod:`.indicators`)
access            accessible supply per 100 of demand (2SFCA / 3SFCA of
                  :func:`welfare_core.zone_access.zone_accessibility`) summed over
                  the service types serving the target; 0 for a type with no
                  active facility; NULL where the zone has no demand
================  ==============================================================

Comparing A (``base``) to B (``scenario``): change = B − A, change_pct =
change / |A| × 100 (NULL when A = 0). ``direction`` reads the change for
the people of the zone: more supply, coverage or access is a *gain*, a larger
gap or demand a *loss*.

Decomposition: the outcome f(D, S, C) depends on three factors, demand D (the
demand table), supply S (the facility table) and catchment C (max_cost, decay
of the service types). With 0 = A's and 1 = B's version of a factor, the
Shapley value of factor D over the 3! orderings is

.. math::
    \phi_D = \tfrac13[f(100)-f(000)] + \tfrac16[f(110)-f(010)]
           + \tfrac16[f(101)-f(001)] + \tfrac13[f(111)-f(011)]

and likewise for S and C, so that φ_D + φ_S + φ_C = f(111) − f(000) exactly
(8 evaluations; in floating point to ~1e-12). Evaluations are cached: the
indicators do not depend on C, and the accessibility of a service type is
recomputed only for the factors that changed for it.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from . import scenario as sc
from .errors import InputError

MEASURES = ("demand", "supply", "coverage_per_100", "gap", "access")
GAIN_SIGN = {"demand": -1.0, "supply": 1.0, "coverage_per_100": 1.0, "gap": -1.0,
             "access": 1.0}
COMPARE_COLUMNS = (
    "zone_id", "level", "parent_id", "period", "target_id", "measure", "base", "scenario",
    "change", "change_pct", "direction", "demand_effect", "supply_effect",
    "catchment_effect", "null_reason")
OUTCOME_COLUMNS = ("zone_id", "level", "parent_id", "period", "target_id", *MEASURES)
CATCHMENT = ("max_cost", "decay", "decay_param")
TOLERANCE = 1e-9  # |change| below this (relative to the values) is "none"


def prepare(tables: Mapping[str, pd.DataFrame]) -> dict:
    """The tables with facilities located in their finest zone (``zone_id``) once.

    Scenarios applied to prepared tables locate only the facilities they open
    or move, so comparisons do not locate a thousand points eight times.
    """
    out = dict(tables)
    fac = tables["facility"]
    if "zone_id" not in fac:
        out["facility"] = fac.assign(zone_id=sc._locate(tables, fac["geometry"].tolist()))
    pop = tables.get("population")
    if pop is not None and {"sex", "age"} & set(pop.columns):
        out["population"] = pop.groupby(["zone_id", "period"], as_index=False)["persons"].sum()
    return out


def outcome(tables, level: str, period: int, *, targets=None, method: str = "2sfca",
            access: bool = True) -> pd.DataFrame:
    """Per zone × target: :data:`OUTCOME_COLUMNS` (``access`` NaN when not asked).

    targets: target ids (default: every target).
    """
    if targets is None:
        targets = tables["target"]["target_id"].astype(str).tolist()
    ev = _Evaluator(tables, tables, level, period, targets=targets, method=method,
                    access=access)
    return ev.frame(ev.evaluate(0, 0, 0))


def compare(base: Mapping, scenario: Mapping, level: str, period: int, *, targets=None,
            measures=MEASURES, method: str = "2sfca", progress=None) -> pd.DataFrame:
    """Compare ``scenario`` tables to ``base`` tables; :data:`COMPARE_COLUMNS`, long format.

    targets: target ids to report (default: those the difference affects,
    through their demand, the supply serving them or its catchment).
    measures: any of :data:`MEASURES`; ``access`` costs one accessibility
    run per affected service type and factor combination.
    """
    report = progress or (lambda pct: None)
    measures = tuple(measures)
    bad = sorted(set(measures) - set(MEASURES))
    if bad:
        raise InputError(f"unknown measure(s) {bad}", hint=f"use {', '.join(MEASURES)}")
    ev = _Evaluator(base, scenario, level, period, targets=targets, method=method,
                    access="access" in measures)
    f = {}
    combos = [(d, s, c) for d in (0, 1) for s in (0, 1) for c in (0, 1)]
    for k, key in enumerate(combos):
        f[key] = ev.evaluate(*key)
        report(100.0 * (k + 1) / len(combos))
    keys = ev.keys
    parts = []
    for m in measures:
        v = {key: f[key][m] for key in combos}
        a, b = v[0, 0, 0], v[1, 1, 1]
        change = b - a
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = np.where(a != 0, change / np.abs(a) * 100.0, np.nan)
        phi = _shapley(v)
        scale = np.maximum(np.abs(a), np.abs(b))
        scale = np.where(np.isfinite(scale), scale, 0.0)
        none = np.abs(change) <= TOLERANCE * np.maximum(scale, 1.0)
        gain = GAIN_SIGN[m] * change > 0
        direction = np.where(np.isnan(change), None,
                             np.where(none, "none", np.where(gain, "gain", "loss")))
        reason = np.full(len(a), None, dtype=object)
        reason[np.isnan(a) & np.isnan(b)] = "undefined in both"
        reason[np.isnan(a) & ~np.isnan(b)] = "undefined in the base"
        reason[~np.isnan(a) & np.isnan(b)] = "undefined in the scenario"
        partial = ~np.isnan(change) & np.isnan(phi[0])
        reason[partial] = "undefined in a mix of the two, no decomposition"
        reason[~np.isnan(change) & (a == 0) & ~partial] = "base is 0, no percentage"
        parts.append(keys.assign(
            measure=m, base=a, scenario=b, change=change, change_pct=pct,
            direction=direction, demand_effect=phi[0], supply_effect=phi[1],
            catchment_effect=phi[2], null_reason=reason))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=list(COMPARE_COLUMNS))
    return out[list(COMPARE_COLUMNS)].sort_values(["measure", "target_id", "zone_id"]) \
        .reset_index(drop=True)


def run(tables, changes, level: str, period: int, *, base_changes=(), **options):
    """Apply ``changes`` on top of ``base_changes`` and compare with the base; see compare."""
    prepared = prepare(tables)
    base = sc.apply(prepared, base_changes)
    return compare(base, sc.apply(base, changes), level, period, **options)


def winners_losers(comparison: pd.DataFrame, measure: str = "access", n: int = 5,
                   *, target_id=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` rows with the largest gains and the ``n`` with the largest losses.

    Gains and losses are read with the measure's direction (a smaller gap is
    a gain); rows without a change are left out.
    """
    rows = comparison[comparison["measure"] == measure]
    if target_id is not None:
        rows = rows[rows["target_id"] == target_id]
    gain = GAIN_SIGN[measure] * rows["change"]
    rows = rows.assign(gain=gain)
    winners = rows[rows["direction"] == "gain"].sort_values(
        ["gain", "zone_id"], ascending=[False, True]).head(n)
    losers = rows[rows["direction"] == "loss"].sort_values(
        ["gain", "zone_id"], ascending=[True, True]).head(n)
    return winners.reset_index(drop=True), losers.reset_index(drop=True)


def _shapley(v):
    """Exact 3-factor Shapley values (D, S, C) from the 8 evaluations v[(d, s, c)]."""
    third, sixth = 1.0 / 3.0, 1.0 / 6.0
    d = third * ((v[1, 0, 0] - v[0, 0, 0]) + (v[1, 1, 1] - v[0, 1, 1])) + \
        sixth * ((v[1, 1, 0] - v[0, 1, 0]) + (v[1, 0, 1] - v[0, 0, 1]))
    s = third * ((v[0, 1, 0] - v[0, 0, 0]) + (v[1, 1, 1] - v[1, 0, 1])) + \
        sixth * ((v[1, 1, 0] - v[1, 0, 0]) + (v[0, 1, 1] - v[0, 0, 1]))
    c = third * ((v[0, 0, 1] - v[0, 0, 0]) + (v[1, 1, 1] - v[1, 1, 0])) + \
        sixth * ((v[1, 0, 1] - v[1, 0, 0]) + (v[0, 1, 1] - v[0, 1, 0]))
    return d, s, c


class _Evaluator:
    """Outcomes of the 8 mixes of two table sets' demand, supply and catchment, cached."""

    def __init__(self, a, b, level, period, *, targets, method, access):
        from .indicators import zone_indicators  # noqa: F401  (fail early if missing)
        self.tabs = (a, b)
        self.level, self.period, self.method = level, int(period), method
        self.access = access
        self.factors = {"demand": (a["demand"], b["demand"]),
                        "facility": (a["facility"], b["facility"]),
                        "service_type": (a["service_type"], b["service_type"])}
        st = a["service_type"]["service_type_id"].astype(str).tolist()
        shares = a["service_target"]
        self.serves = {s: sorted(shares.loc[shares["service_type_id"] == s, "target_id"]
                                 .astype(str)) for s in st}
        d_chg = self._demand_changed()
        self.changed = {s: (bool(set(self.serves[s]) & d_chg), self._supply_changed(s),
                            self._catchment_changed(s)) for s in st}
        if targets is None:
            affected = set(d_chg)
            for s, (_, schg, cchg) in self.changed.items():
                if schg or cchg:
                    affected |= set(self.serves[s])
            targets = sorted(affected)
        else:
            known = set(a["target"]["target_id"])
            unknown = sorted(set(targets) - known)
            if unknown:
                from .errors import UnknownIdError
                raise UnknownIdError(f"unknown target(s) {unknown}",
                                     hint="use target ids from the target table")
            targets = sorted(map(str, targets))
        self.targets = targets
        self._ind, self._acc = {}, {}
        base = self._indicators(0, 0)
        self.keys = base[["zone_id", "level", "parent_id", "period", "target_id"]] \
            .reset_index(drop=True)

    # which factor changed for what ------------------------------------------------
    def _demand_changed(self) -> set:
        a, b = self.factors["demand"]
        if a is b:
            return set()
        sums = []
        for frame in (a, b):
            rows = frame[frame["period"] == self.period]
            sums.append(rows.groupby(["zone_id", "target_id"])["demand"].sum())
        both = pd.concat(sums, axis=1).fillna(0.0)
        diff = both.iloc[:, 0].to_numpy() != both.iloc[:, 1].to_numpy()
        return set(both.index.get_level_values("target_id")[diff])

    def _supply_changed(self, s) -> bool:
        a, b = self.factors["facility"]
        if a is b:
            return False
        cols = [c for c in ("facility_id", "capacity", "active_from", "active_to", "geometry")
                if c in a]
        pick = [f[f["service_type_id"] == s][cols].sort_values("facility_id")
                .reset_index(drop=True) for f in (a, b)]
        if len(pick[0]) != len(pick[1]):
            return True
        return not all(_same(pick[0][c], pick[1][c]) for c in cols)

    def _catchment_changed(self, s) -> bool:
        a, b = self.factors["service_type"]
        if a is b:
            return False
        ra, rb = (f[f["service_type_id"] == s][list(CATCHMENT)].reset_index(drop=True)
                  for f in (a, b))
        return not all(_same(ra[c], rb[c]) for c in CATCHMENT)

    # evaluations --------------------------------------------------------------------
    def _mix(self, d, s, c):
        t = dict(self.tabs[0])
        t["demand"] = self.factors["demand"][d]
        t["facility"] = self.factors["facility"][s]
        if c:  # the catchment columns of B on the rest of A's service types
            st = self.factors["service_type"][0].copy()
            new = self.factors["service_type"][1].set_index("service_type_id")
            for col in CATCHMENT:
                st[col] = st[col].astype(object) if col == "decay" else st[col]
                st[col] = st["service_type_id"].map(new[col]).where(
                    st["service_type_id"].isin(new.index), st[col])
            t["service_type"] = st
        return t

    def _indicators(self, d, s):
        # keyed by the tables themselves: a factor both sides share is computed once
        key = (id(self.factors["demand"][d]), id(self.factors["facility"][s]))
        if key not in self._ind:
            from .indicators import zone_indicators
            if not self.targets:
                frame = pd.DataFrame(columns=list(OUTCOME_COLUMNS))
            else:
                frame, _ = zone_indicators(self._mix(d, s, 0), self.level, self.period,
                                           targets=self.targets)
                frame = frame.sort_values(["target_id", "zone_id"]).reset_index(drop=True)
            self._ind[key] = frame
        return self._ind[key]

    def _access(self, stype, d, s, c):
        dchg, schg, cchg = self.changed[stype]
        key = (stype, d and dchg, s and schg, c and cchg)
        if key not in self._acc:
            from .zone_access import zone_accessibility
            t = self._mix(int(key[1]), int(key[2]), int(key[3]))
            t["zone"] = self._points()
            fac = t["facility"]
            active = fac[fac["service_type_id"] == stype]
            start = active["active_from"].astype(float) if "active_from" in active else None
            if start is not None:
                stop = active["active_to"].astype(float)
                active = active[((start.isna() | (start <= self.period)) &
                                 (stop.isna() | (stop >= self.period))).to_numpy()]
            if active.empty:  # nothing to reach: access 0 where there is demand
                rows = None
            else:
                rows = zone_accessibility(t, stype, self.period, self.level,
                                          method=self.method)
            self._acc[key] = rows
        return self._acc[key]

    def _points(self):
        """Zones with their representative point as geometry, computed once (a point is
        its own representative in zone_points, so accessibility gives the same numbers)."""
        if getattr(self, "_zone_points", None) is None:
            from shapely.geometry import Point
            from .zone_access import zone_points
            zone = self.tabs[0]["zone"]
            xy = zone_points(zone["geometry"].tolist())
            self._zone_points = zone.assign(geometry=[Point(x, y) for x, y in xy])
        return self._zone_points

    def evaluate(self, d, s, c) -> dict:
        """Arrays of every measure aligned with ``self.keys``."""
        ind = self._indicators(d, s)
        out = {m: ind[m].to_numpy(dtype=float) for m in MEASURES if m != "access"}
        acc = np.full(len(ind), np.nan)
        if self.access and len(ind):
            total = pd.Series(0.0, index=pd.MultiIndex.from_frame(ind[["zone_id", "target_id"]]))
            seen = pd.Series(False, index=total.index)
            for stype, served in self.serves.items():
                if not set(served) & set(self.targets):
                    continue
                rows = self._access(stype, d, s, c)
                if rows is None:  # no facility: 0 for every zone with demand
                    seen |= total.index.get_level_values("target_id").isin(served)
                    continue
                v = rows.set_index(["zone_id", "target_id"])["access"]
                v = v.reindex(total.index)
                total = total + v.fillna(0.0)
                seen |= v.notna().to_numpy()
            has_demand = ind["demand"].to_numpy(dtype=float) > 0
            acc = np.where(seen.to_numpy() & has_demand, total.to_numpy(), np.nan)
        out["access"] = acc
        return out

    def frame(self, values) -> pd.DataFrame:
        return self.keys.assign(**values)[list(OUTCOME_COLUMNS)]


def _same(x: pd.Series, y: pd.Series) -> bool:
    if x.dtype.kind in "fi" and y.dtype.kind in "fi":
        return np.array_equal(x.to_numpy(dtype=float), y.to_numpy(dtype=float), equal_nan=True)
    for u, v in zip(x, y):
        if u is v:
            continue
        nu = u is None or (isinstance(u, float) and u != u)
        nv = v is None or (isinstance(v, float) and v != v)
        if nu or nv:
            if nu != nv:
                return False
            continue
        if isinstance(u, (bytes, memoryview)) or isinstance(v, (bytes, memoryview)):
            if bytes(u) != bytes(v):
                return False
            continue
        if hasattr(u, "equals_exact"):
            if not u.equals_exact(v, 0.0):
                return False
            continue
        if u != v:
            return False
    return True


def published_direction(measure, base_pub, scenario_pub, change_pub) -> np.ndarray:
    """gain / loss / none read from the PUBLISHED change (the raw ``direction`` can say
    "gain" where the published change is 0: demand 301 -> 302 is 300 -> 300), with
    the measure's sign and the tolerance of :func:`compare`; None where it is hidden."""
    m = np.asarray(measure, dtype=object)
    a, b = np.asarray(base_pub, dtype=float), np.asarray(scenario_pub, dtype=float)
    change = np.asarray(change_pub, dtype=float)
    scale = np.nan_to_num(np.maximum(np.abs(a), np.abs(b)), nan=0.0)
    none = np.abs(change) <= TOLERANCE * np.maximum(scale, 1.0)
    sign = np.array([GAIN_SIGN.get(x, 0) for x in m], dtype=float)
    out = np.where(none, "none", np.where(sign * change > 0, "gain", "loss")).astype(object)
    out[np.isnan(change)] = None
    return out


def publish_comparison(comparison: pd.DataFrame, rules=None, *, sensitive=(), level: str,
                       sensitive_levels=("neighbourhood", "district", "city"),
                       on_published=None) -> pd.DataFrame:
    """``published``, ``base_pub``, ``scenario_pub``, ``change_pub``, ``change_pct_pub``,
    ``direction_pub`` (:func:`published_direction`) and the published parts ``demand_effect_pub``, ``supply_effect_pub``,
    ``catchment_effect_pub``; every one a function of published counts only.

    demand goes through :func:`welfare_core.privacy.safe_counts` (its change is
    the difference of the published counts, NULL when either is suppressed;
    sensitive targets under ``rules.for_target(True)``); its Shapley parts are
    hidden with the change and otherwise rounded to the same base by
    :func:`~welfare_core.privacy.controlled_round_parts`, so that they still sum
    exactly to the published change and no unrounded count leaves.
    coverage, gap and access, and their parts, are read from ``on_published``:
    the :func:`compare` of the same call on
    ``privacy.with_published_demand(tables, rules, sensitive=...)`` for the base
    and the scenario tables (computed on raw demand, coverage = supply / demand
    would give the raw demand back); they are hidden like rates
    (:func:`~welfare_core.privacy.safe_rates`) when the published base or
    scenario demand is hidden or small, their parts with them. supply is
    capacity, not people, and is shown with its parts.
    Rows of a sensitive target below ``sensitive_levels`` are not published.
    """
    from . import privacy

    rules = rules or privacy.DEFAULT
    out = pd.DataFrame(index=comparison.index)
    m = comparison["measure"].to_numpy()
    counts = m == "demand"
    raw = m == "supply"
    derived = ~counts & ~raw
    if derived.any() and on_published is None:
        raise InputError("publish_comparison needs the comparison computed on published "
                         "demand (on_published) to publish coverage, gap or access",
                         hint="pass on_published=compare(privacy.with_published_demand(base, "
                              "rules), privacy.with_published_demand(scenario, rules), ...)")
    is_sensitive = comparison["target_id"].isin(list(sensitive)).to_numpy()
    strict = rules.for_target(True)

    def count(x):
        x = np.nan_to_num(np.asarray(x, dtype=float), nan=0.0)
        return np.where(is_sensitive, privacy.safe_counts(x, strict),
                        privacy.safe_counts(x, rules))

    key = ["zone_id", "target_id", "measure"]
    effects = ("demand_effect", "supply_effect", "catchment_effect")
    cols = ["base", "scenario", "change", *effects]
    source = comparison[key + cols].copy()
    if on_published is not None:
        pub = comparison[key].merge(on_published[key + cols], on=key, how="left")
        source.loc[derived, cols] = pub.loc[derived, cols].to_numpy()
    a = source["base"].to_numpy(dtype=float)
    b = source["scenario"].to_numpy(dtype=float)
    ca, cb = count(a), count(b)
    # the published demand of each row's zone × target: the denominators of its rates
    dem = pd.DataFrame({"zone_id": comparison["zone_id"].to_numpy(),
                        "target_id": comparison["target_id"].to_numpy(), "a": ca, "b": cb})[counts]
    dem = dem.set_index(["zone_id", "target_id"])
    rkey = pd.MultiIndex.from_frame(comparison[["zone_id", "target_id"]])
    d_a = dem["a"].reindex(rkey).to_numpy(dtype=float)
    d_b = dem["b"].reindex(rkey).to_numpy(dtype=float)
    pa = np.where(counts, ca, np.where(raw, a, privacy.safe_rates(a, d_a, rules)))
    pb = np.where(counts, cb, np.where(raw, b, privacy.safe_rates(b, d_b, rules)))
    hidden = np.isnan(pa) | np.isnan(pb)
    change = np.where(counts, pb - pa, source["change"].to_numpy(dtype=float))
    change = np.where(hidden, np.nan, change)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(hidden | (pa == 0), np.nan, change / np.abs(pa) * 100.0)
    parts = source[list(effects)].to_numpy(dtype=float).reshape(len(comparison), 3)
    parts = np.where(np.isnan(change)[:, None], np.nan, parts)
    for sens, r in ((False, rules), (True, strict)):
        rows = counts & (is_sensitive == sens)
        if rows.any():
            parts[rows] = privacy.controlled_round_parts(change[rows], parts[rows], r.round_to)
    out["published"] = ~(is_sensitive & (level not in sensitive_levels))
    out["base_pub"], out["scenario_pub"] = pa, pb
    out["change_pub"], out["change_pct_pub"] = change, pct
    out["direction_pub"] = published_direction(m, pa, pb, change)
    for k, name in enumerate(effects):
        out[f"{name}_pub"] = parts[:, k]
    return out


def published_comparison(base: Mapping, scenario: Mapping, level: str, period: int, *,
                         rules=None, sensitive=(), comparison=None, **options) -> pd.DataFrame:
    """:func:`compare` (or the given ``comparison``) with :func:`publish_comparison`'s
    columns added, the derived measures computed on published demand.

    options: the keyword arguments of :func:`compare` (targets, measures, method).
    sensitive_levels is the default of :func:`publish_comparison`.
    """
    from . import privacy

    rules = rules or privacy.DEFAULT
    if comparison is None:
        comparison = compare(base, scenario, level, period, **options)
    options.pop("progress", None)
    if "targets" not in options or options["targets"] is None:
        options["targets"] = sorted(comparison["target_id"].astype(str).unique())
    on_pub = None
    if not comparison["measure"].isin(["demand", "supply"]).all():
        on_pub = compare(privacy.with_published_demand(base, rules, sensitive=sensitive),
                         privacy.with_published_demand(scenario, rules, sensitive=sensitive),
                         level, period, **options)
    pub = publish_comparison(comparison, rules, sensitive=sensitive, level=level,
                             on_published=on_pub)
    return pd.concat([comparison, pub], axis=1)
