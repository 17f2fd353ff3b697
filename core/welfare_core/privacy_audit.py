"""Differencing audit: can published tables, taken together, pin down a hidden count?

Zones, their parents and the total are published together. Each published
value only says that the true count lies in an interval (a count published as
15 under the NHS rule was 12.5 .. 17.5 before rounding; a suppressed one was
0 .. suppress_below - 0.5; a published 0 is exactly 0; a cell suppressed as
complementary to protect another one, anything >= 0), and a parent's count
is the sum of its children's. For every protected (suppressed) cell the audit
solves two small linear programmes

    min / max  x_c   subject to   l_i <= x_i <= u_i  for every cell i,
                                  x_p = sum_{i: parent(i) = p} x_i  for every parent p,

: [min, max] is everything an attacker can infer about the cell from the
publication. The publication fails the audit when that interval is narrower
than ``Rules.audit_min_width``.

The constraints form a forest (each sum ties a parent to its children), so the
projection of the feasible set on every cell is found exactly, for all cells at
once, by interval propagation (``method="propagate"``, the default): upward,
the values a subtree allows for its root, ``S_v = [l_v, u_v] ∩ Σ_children S_c``;
downward, ``F_c = S_c ∩ (F_p − Σ_{siblings s} S_s)`` (F = S at a root). Sums
and intersections of intervals are intervals, and eliminating the variables of
a tree one leaf at a time is exact, so F_c is the LP's [min, max] (the LPs,
scipy.optimize.linprog with HiGHS, remain as ``method="lp"``, the reference the
tests compare with). Auditing each district's sub-tree on its own would not be
exact: the city total and the other districts can narrow a district's own
interval, and with it its children's; the downward pass carries exactly that.
Cost: O(cells) instead of two LPs over every cell per protected cell.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InputError, WelfareError
from .privacy import DEFAULT, Rules, smallest_published

MAX_CELLS = 200_000  # one LP per protected cell: refuse what would never finish
MAX_CELLS_PROPAGATE = 20_000_000  # interval propagation is linear; bound the memory only
METHODS = ("propagate", "lp")


class DisclosureRisk(WelfareError):
    """A publication lets hidden counts be recovered by differencing."""

    sqlstate = "22000"


@dataclass(frozen=True)
class AuditResult:
    """Protected cells with the interval an attacker can infer; ``passed`` when all are wide."""

    cells: pd.DataFrame   # [target_id], zone_id, lower, upper, width, ok
    min_width: float

    @property
    def passed(self) -> bool:
        return bool(self.cells["ok"].all()) if len(self.cells) else True

    def summary(self) -> str:
        """One line for a log: cells checked, the narrowest interval, what failed."""
        c = self.cells
        if not len(c):
            return "no suppressed cell to protect"
        w = c["width"].to_numpy(dtype=float)
        k = int(np.argmin(w))
        row = c.iloc[k]
        where = f"{row.get('target_id', '')} {row['zone_id']}".strip()
        bad = int((~c["ok"]).sum())
        head = (f"{bad} of {len(c)} suppressed cell(s) recoverable within less than "
                f"{self.min_width:g}" if bad else
                f"{len(c)} suppressed cell(s) all uncertain over at least {self.min_width:g}")
        return (f"{head}; narrowest: {where} in [{row['lower']:.2f}, {row['upper']:.2f}] "
                f"(width {w[k]:.2f})")

    def raise_if_failed(self) -> None:
        if not self.passed:
            bad = self.cells[~self.cells["ok"]]
            keys = ", ".join(
                f"{r.get('target_id', '')} {r['zone_id']} in [{r['lower']:.2f}, {r['upper']:.2f}]".strip()
                for _, r in bad.head(5).iterrows())
            raise DisclosureRisk(
                f"{len(bad)} suppressed count(s) can be recovered by differencing within less "
                f"than {self.min_width:g}: {keys}",
                hint="publish the parents rounded as well, or suppress a second cell per parent")


def published_bounds(published, rules: Rules = DEFAULT, *, exact=None, shown=None):
    """Interval [lower, upper] of true counts consistent with each published value.

    ``published``: value as published, NaN = suppressed. ``exact``: True where a
    value was published unrounded. ``shown``: False for cells that were not
    published at all (no information but x >= 0).
    """
    p = np.asarray(published, dtype=float)
    n = p.shape[0]
    exact = np.zeros(n, dtype=bool) if exact is None else np.asarray(exact, dtype=bool)
    shown = np.ones(n, dtype=bool) if shown is None else np.asarray(shown, dtype=bool)
    if exact.shape != p.shape or shown.shape != p.shape:
        raise InputError("published, exact and shown must have the same length")
    if np.any(p[~np.isnan(p)] < 0) or np.any(np.isinf(p)):
        raise InputError("published counts must be finite and not negative")
    b = rules.round_to
    # halves go up twice (whole unit, then base b): out = p  <=>  p - b/2 <= whole < p + b/2
    whole_lo = np.ceil(p - b / 2.0)
    whole_hi = np.ceil(p + b / 2.0) - 1
    # a published non-zero count was not suppressed: at least suppress_below - 0.5
    # (0 is published only for exactly 0: privacy.safe_counts suppresses 0 < x < 0.5 too)
    lower = np.where(p == 0, 0.0, np.maximum(whole_lo - 0.5, rules.suppress_below - 0.5))
    # the smallest published value also stands for counts raised to it (privacy.safe_counts)
    lower = np.where((p > 0) & (p <= smallest_published(rules)), rules.suppress_below - 0.5, lower)
    upper = np.where(p == 0, 0.0, whole_hi + 0.5)
    lower = np.where(np.isnan(p), 0.0, lower)
    upper = np.where(np.isnan(p), rules.suppress_below - 0.5, upper)
    lower = np.where(exact & ~np.isnan(p), p, lower)
    upper = np.where(exact & ~np.isnan(p), p, upper)
    lower = np.where(shown, np.maximum(lower, 0.0), 0.0)
    upper = np.where(shown, upper, np.inf)
    return lower, upper


CONTRADICTION = ("the published values contradict each other (a parent is "
                 "not the sum of its children within rounding)")
CONTRADICTION_HINT = "audit values of one run, target and period"


def _parent_positions(zone_ids, parent_ids) -> np.ndarray:
    """Position of each cell's parent among the cells, -1 for a root (parent absent)."""
    n = len(zone_ids)
    parents = pd.Series([None if p is None or (isinstance(p, float) and math.isnan(p)) else str(p)
                         for p in parent_ids], dtype=object)
    if len(parents) != n:
        raise InputError(f"parent_ids has {len(parents)} values for {n} zone_ids")
    pos = parents.map(pd.Series(np.arange(n), index=zone_ids))
    return pos.fillna(-1).to_numpy(dtype=np.int64)


def _depths(parent: np.ndarray) -> np.ndarray:
    """Number of ancestors of each cell; a cycle in parent_id is an error."""
    depth = np.zeros(len(parent), dtype=np.int64)
    cur = parent.copy()
    active = np.flatnonzero(cur >= 0)
    for _ in range(len(parent) + 1):
        if not len(active):
            return depth
        depth[active] += 1
        cur[active] = parent[cur[active]]
        active = active[cur[active] >= 0]
    raise InputError("parent_id has a cycle (a zone is its own ancestor)")


def _sum_without_self(fin_sum, n_inf, own, inf):
    """Sum of the siblings' bounds: the parent's children sum less the cell's own term."""
    own_inf = np.isinf(own)
    rest = fin_sum - np.where(own_inf, 0.0, own)
    return np.where(n_inf - own_inf > 0, inf, rest)


def _propagate(parent, lo, hi):
    """Exact [min, max] of every x over the forest of sums (module docstring)."""
    n = len(parent)
    depth = _depths(parent)
    s_lo, s_hi = lo.copy(), hi.copy()
    # per parent: finite part and number of infinite terms of its children's sums
    fin_lo, inf_lo = np.zeros(n), np.zeros(n)
    fin_hi, inf_hi = np.zeros(n), np.zeros(n)
    levels = [np.flatnonzero(depth == d) for d in range(int(depth.max(initial=0)) + 1)]
    for kids in reversed(levels[1:]):           # upward: S_p = [l_p, u_p] ∩ Σ S_c
        p = parent[kids]
        a, b = s_lo[kids], s_hi[kids]
        fin_lo += np.bincount(p, weights=np.where(np.isinf(a), 0.0, a), minlength=n)
        inf_lo += np.bincount(p, weights=np.isinf(a), minlength=n)
        fin_hi += np.bincount(p, weights=np.where(np.isinf(b), 0.0, b), minlength=n)
        inf_hi += np.bincount(p, weights=np.isinf(b), minlength=n)
        up = np.unique(p)
        s_lo[up] = np.maximum(s_lo[up], np.where(inf_lo[up] > 0, -np.inf, fin_lo[up]))
        s_hi[up] = np.minimum(s_hi[up], np.where(inf_hi[up] > 0, np.inf, fin_hi[up]))
    tol = 1e-9 * (1.0 + np.maximum(np.abs(np.where(np.isinf(s_lo), 0, s_lo)),
                                   np.abs(np.where(np.isinf(s_hi), 0, s_hi))))
    if np.any(s_lo > s_hi + tol):
        raise InputError(CONTRADICTION, hint=CONTRADICTION_HINT)
    s_hi = np.maximum(s_hi, s_lo)  # rounding noise within tol
    f_lo, f_hi = s_lo.copy(), s_hi.copy()
    for kids in levels[1:]:                      # downward: F_c = S_c ∩ (F_p − Σ siblings)
        p = parent[kids]
        sib_hi = _sum_without_self(fin_hi[p], inf_hi[p], s_hi[kids], np.inf)
        sib_lo = _sum_without_self(fin_lo[p], inf_lo[p], s_lo[kids], -np.inf)
        f_lo[kids] = np.maximum(s_lo[kids], f_lo[p] - sib_hi)
        f_hi[kids] = np.minimum(s_hi[kids], f_hi[p] - sib_lo)
        f_hi[kids] = np.maximum(f_hi[kids], f_lo[kids])  # cancellation noise (< tol)
    return f_lo, f_hi


def feasible_intervals(zone_ids, parent_ids, lower, upper, protect, *,
                       method: str = "propagate") -> tuple[np.ndarray, np.ndarray]:
    """[min, max] of x_c over the additive hierarchy, for each protected cell c
    (NaN elsewhere). ``method``: "propagate" (exact, linear time) or "lp" (two
    LPs per protected cell, the reference).

    Cells whose bounds cannot all hold together (the published numbers contradict
    each other) raise InputError: the audit cannot vouch for them.
    """
    if method not in METHODS:
        raise InputError(f"method = {method!r} must be one of {METHODS}")
    zone_ids = pd.Index([str(z) for z in zone_ids])
    if zone_ids.has_duplicates:
        raise InputError("zone_id values repeat: audit one target (and one period) at a time")
    n = len(zone_ids)
    limit = MAX_CELLS if method == "lp" else MAX_CELLS_PROPAGATE
    if n > limit:
        raise InputError(f"{n} cells is more than the audit handles ({limit})")
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    protect = np.asarray(protect, dtype=bool)
    if not lo.shape == hi.shape == protect.shape == (n,):
        raise InputError("zone_ids, lower, upper and protect must have the same length")
    if np.isnan(lo).any() or np.isnan(hi).any():
        raise InputError("lower and upper bounds must not be NaN")
    parent_all = _parent_positions(zone_ids, parent_ids)
    if method == "propagate":
        f_lo, f_hi = _propagate(parent_all, lo, hi)
        return np.where(protect, f_lo, np.nan), np.where(protect, f_hi, np.nan)
    _depths(parent_all)  # same cycle check as the propagation
    return _lp_intervals(zone_ids, parent_all, lo, hi, protect)


def _lp_intervals(zone_ids, parent_all, lo, hi, protect):
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    n = len(zone_ids)
    child = np.flatnonzero(parent_all >= 0)
    parent_pos = parent_all[child]
    groups = np.unique(parent_pos)
    row_of = {g: k for k, g in enumerate(groups)}
    rows = np.concatenate([[row_of[g] for g in parent_pos], np.arange(len(groups))])
    cols = np.concatenate([child, groups])
    vals = np.concatenate([np.ones(len(child)), -np.ones(len(groups))])
    a_eq = coo_matrix((vals, (rows, cols)), shape=(len(groups), n)).tocsr() if len(groups) else None
    b_eq = np.zeros(len(groups)) if len(groups) else None
    bounds = list(zip(lo, [None if math.isinf(u) else u for u in hi]))
    out_lo = np.full(n, np.nan)
    out_hi = np.full(n, np.nan)
    for c in np.flatnonzero(protect):
        cost = np.zeros(n)
        for sign, out in ((1.0, out_lo), (-1.0, out_hi)):
            cost[c] = sign
            res = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if res.status == 2:
                raise InputError(CONTRADICTION, hint=CONTRADICTION_HINT)
            if res.status == 3:
                out[c] = sign * np.inf
            elif res.status != 0:
                raise WelfareError(f"audit LP failed for zone {zone_ids[c]}: {res.message}")
            else:
                out[c] = sign * res.fun
    return out_lo, out_hi


def _merge_repeats(f, lo, hi, protect):
    """One row per (target_id, zone_id): bounds intersected; protected when some table
    shows the cell suppressed (a count one table hides must not follow from another)."""
    key = pd.MultiIndex.from_arrays([f["target_id"].astype(str), f["zone_id"].astype(str)])
    if not key.has_duplicates:
        return f, lo, hi, protect
    codes, uniq = pd.factorize(key)
    first = np.unique(codes, return_index=True)[1]
    g = pd.DataFrame({"c": codes, "lo": lo, "hi": hi, "p": protect}).groupby("c", sort=True)
    agg = g.agg(lo=("lo", "max"), hi=("hi", "min"), p=("p", "any"))
    parents = f["parent_id"].to_numpy(dtype=object)
    par = pd.Series(parents, dtype=object).where(pd.notna(parents), None)
    if (pd.DataFrame({"c": codes, "p": par.fillna("\x00")}).groupby("c")["p"].nunique() > 1).any():
        raise InputError("a zone has two different parent_id values for one target",
                         hint="audit values of one run, target and period")
    return (f.iloc[first].reset_index(drop=True), agg["lo"].to_numpy(), agg["hi"].to_numpy(),
            agg["p"].to_numpy())


def audit_publication(frame: pd.DataFrame, rules: Rules = DEFAULT, *, value: str = "published",
                      exact: str | None = None, shown: str | None = None,
                      min_width: float | None = None, sensitive=(), strict: str | None = None,
                      rules_by: str | None = None, rules_of: dict | None = None,
                      method: str = "propagate") -> AuditResult:
    """Audit cells published together: columns zone_id, parent_id, ``value``
    (NaN = suppressed) and, optionally, target_id (each target is its own
    hierarchy), an ``exact`` bool column (published unrounded) and a ``shown``
    bool column. Suppressed cells are the protected ones. Targets in
    ``sensitive`` were published by ``rules.for_target(True)``, or, per row,
    those where the bool column ``strict`` is true. Rows whose ``rules_by`` column
    holds a key of ``rules_of`` (e.g. run_id -> Rules) were published under those
    rules instead of ``rules``. A (target_id,
    zone_id) given twice was published in two tables, possibly under different
    rules (pass the right ``exact``/bounds per row): its bounds are intersected
    ("propagate" only). ``method``: see ``feasible_intervals`` (same intervals).
    """
    need = {"zone_id", "parent_id", value} | {c for c in (exact, shown, strict) if c}
    missing = sorted(need - set(frame.columns))
    if missing:
        raise InputError(f"audit input lacks column(s) {missing}")
    if method not in METHODS:
        raise InputError(f"method = {method!r} must be one of {METHODS}")
    width = rules.audit_min_width if min_width is None else float(min_width)
    if not width >= 0:
        raise InputError(f"min_width = {min_width} must be >= 0")
    has_target = "target_id" in frame
    f = frame.sort_values("target_id", kind="stable") if has_target else frame
    vals = pd.to_numeric(f[value], errors="coerce").to_numpy(dtype=float)
    ex = np.zeros(len(f), dtype=bool) if exact is None else f[exact].to_numpy(dtype=bool)
    sh = np.ones(len(f), dtype=bool) if shown is None else f[shown].to_numpy(dtype=bool)
    if strict:
        by_strict = f[strict].to_numpy(dtype=bool)
    elif has_target and len(sensitive):
        by_strict = f["target_id"].isin(list(sensitive)).to_numpy()
    else:
        by_strict = np.zeros(len(f), dtype=bool)
    # rows published under other settings (an earlier run): their own rules
    group = np.full(len(f), -1)
    own = list((rules_of or {}).items())
    if rules_by is not None and own:
        if rules_by not in f:
            raise InputError(f"audit input lacks column {rules_by!r}")
        for k, (key, _) in enumerate(own):
            group[(f[rules_by] == key).to_numpy()] = k
    lo, hi = np.zeros(len(f)), np.zeros(len(f))
    for k in np.unique(group):
        base = rules if k < 0 else own[k][1]
        for strict_rows in (False, True):
            m = (group == k) & (by_strict == strict_rows)
            if m.any():
                lo[m], hi[m] = published_bounds(vals[m], base.for_target(strict_rows),
                                                exact=ex[m], shown=sh[m])
    protect = np.isnan(vals) & sh
    if has_target and method == "propagate":
        # a cell published in two tables (a target's demand, and the reference population
        # of a service type) is known within the intersection of what each says
        f, lo, hi, protect = _merge_repeats(f, lo, hi, protect)
    zones = f["zone_id"].astype(str).to_numpy(dtype=object)
    a = np.full(len(f), np.nan)
    b = np.full(len(f), np.nan)
    if method == "lp" and has_target:  # the reference: one LP family per target
        tid = f["target_id"].to_numpy()
        for t in pd.unique(tid):
            m = np.flatnonzero(tid == t)
            a[m], b[m] = feasible_intervals(zones[m], f["parent_id"].to_numpy()[m], lo[m], hi[m],
                                            protect[m], method="lp")
    elif len(f):
        if has_target:  # every target is a tree of its own: one forest keyed (target, zone)
            tid = f["target_id"].astype(str).to_numpy(dtype=object) + "\x1f"
            par = f["parent_id"].to_numpy(dtype=object)
            keys = tid + zones
            pkeys = np.where(pd.isna(par), None, tid + par.astype(str))
        else:
            keys, pkeys = zones, f["parent_id"].to_numpy(dtype=object)
        a, b = feasible_intervals(keys, pkeys, lo, hi, protect, method=method)
    cells = pd.DataFrame({"zone_id": f["zone_id"].to_numpy()[protect],
                          "lower": a[protect], "upper": b[protect]})
    if has_target:
        cells.insert(0, "target_id", f["target_id"].to_numpy()[protect])
    cells["width"] = cells["upper"] - cells["lower"]
    cells["ok"] = cells["width"] >= width - 1e-9
    return AuditResult(cells=cells, min_width=width)


def audit_zone_indicators(target_rows: pd.DataFrame, service_rows: pd.DataFrame | None = None,
                          rules: Rules = DEFAULT, *, sensitive=(), run_rules=None) -> AuditResult:
    """Audit zone-indicator tables published together (the welfare_bi views).

    ``target_rows``: target_id, zone_id, parent_id, demand (as published, NaN =
    suppressed), published (False: the row is not shown, e.g. a sensitive target
    below its fixed geographies); demand of the targets in ``sensitive`` follows
    ``rules.for_target(True)``. ``service_rows`` (optional): reference_target_id,
    zone_id, parent_id, reference_population (as published; by the sensitive rules,
    NULL meaning not shown, for a sensitive reference target): the
    count of the reference target published a second time, so its cells are
    known within both. Zones of all the levels published together go in one
    frame; a parent is the sum of its children. ``run_rules``: {run_id: Rules}
    for rows (with a run_id column) published earlier under other settings.
    An optional bool column ``complementary`` (in either frame) marks counts
    suppressed as complementary cells: they may be any value >= 0 (not shown,
    not protected themselves).
    """
    need = {"target_id", "zone_id", "parent_id", "demand", "published"}
    if not need <= set(target_rows.columns):
        raise InputError(f"target rows lack column(s) {sorted(need - set(target_rows.columns))}")
    extra = [c for c in ("run_id", "complementary")]
    keep = sorted(need | (set(extra) & set(target_rows.columns)))
    t = target_rows[keep].rename(columns={"demand": "value", "published": "shown"})
    t = t.assign(strict=t["target_id"].isin(list(sensitive)))
    if "complementary" in t:
        t["shown"] = t["shown"].astype(bool) & ~t.pop("complementary").fillna(False).astype(bool)
    parts = [t]
    if service_rows is not None and len(service_rows):
        need = {"reference_target_id", "zone_id", "parent_id", "reference_population"}
        if not need <= set(service_rows.columns):
            raise InputError(f"service rows lack column(s) {sorted(need - set(service_rows.columns))}")
        keep = sorted(need | (set(extra) & set(service_rows.columns)))
        s = service_rows[keep].rename(columns={"reference_target_id": "target_id",
                                                       "reference_population": "value"})
        s = s[s["target_id"].notna()]
        comp = (s.pop("complementary").fillna(False).astype(bool).to_numpy()
                if "complementary" in s else np.zeros(len(s), dtype=bool))
        # a sensitive reference target's count is published by its stricter rules and,
        # below its fixed geographies, not at all (NULL: not shown; the target rows carry
        # the same count): privacy.publish_zone_indicators, 100-indicators.sql
        strict_s = s["target_id"].isin(list(sensitive)).to_numpy()
        parts.append(s.assign(shown=~(strict_s & s["value"].isna().to_numpy()) & ~comp,
                              strict=strict_s))
    f = pd.concat(parts, ignore_index=True)
    f["value"] = pd.to_numeric(f["value"], errors="coerce").astype(float)
    f["shown"] = f["shown"].astype(bool)
    by = "run_id" if run_rules and "run_id" in f else None
    return audit_publication(f, rules, value="value", shown="shown", strict="strict",
                             rules_by=by, rules_of=run_rules if by else None)


def complementary_suppression(rows: pd.DataFrame, services: pd.DataFrame | None = None,
                              rules: Rules = DEFAULT, *, level: str, sensitive=(),
                              sensitive_levels=("neighbourhood", "district", "city"),
                              published_with=None, run_rules=None,
                              max_rounds: int = 100) -> pd.DataFrame:
    """Cells of one level to suppress beside the small counts so that the level,
    published together with ``published_with``, passes the differencing audit.

    ``rows`` / ``services``: the level's RAW indicator rows (target rows:
    target_id, zone_id, parent_id, demand; service rows: reference_target_id,
    zone_id, parent_id, reference_population), published here by the primary rule
    (:func:`~welfare_core.privacy.safe_counts`, sensitive targets by the strict
    rules and hidden below ``sensitive_levels``). ``published_with``: (target rows,
    service rows) already published for the other levels, as
    :func:`audit_zone_indicators` takes them (their cells are fixed); ``run_rules``
    as there.

    Rule (greedy, driven by the audit): while some protected count is known within
    less than ``rules.audit_min_width``, for each such cell suppress, among the
    cells of THIS level that are still published and are its siblings (same
    parent, same target), its children or its parent, the one with the smallest raw count
    (ties: smallest zone_id); a complementary cell counts as anything >= 0
    (the publication says which cells are complementary). Stops when the audit
    passes, or when no failing cell has a candidate left (the audit then fails
    and the run is held back). Returns the (target_id, zone_id) pairs, for
    ``publish_zone_indicators(..., complementary=...)``.
    """
    from .privacy import safe_counts

    strict = rules.for_target(True)
    sens = list(sensitive)

    def pub(values, is_sens):
        v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
        return np.where(is_sens, safe_counts(v, strict), safe_counts(v, rules))

    s_t = rows["target_id"].isin(sens).to_numpy()
    cur_t = pd.DataFrame({"target_id": rows["target_id"].astype(str).to_numpy(),
                          "zone_id": rows["zone_id"].astype(str).to_numpy(),
                          "parent_id": rows["parent_id"].to_numpy(dtype=object),
                          "demand": pub(rows["demand"], s_t),
                          "published": ~(s_t & (level not in sensitive_levels)),
                          "raw": pd.to_numeric(rows["demand"]).to_numpy(dtype=float)})
    cur_s = None
    if services is not None and len(services):
        sv = services[services["reference_target_id"].notna()]
        s_s = sv["reference_target_id"].isin(sens).to_numpy()
        ref = pub(sv["reference_population"], s_s)
        cur_s = pd.DataFrame({"reference_target_id": sv["reference_target_id"].astype(str).to_numpy(),
                              "zone_id": sv["zone_id"].astype(str).to_numpy(),
                              "parent_id": sv["parent_id"].to_numpy(dtype=object),
                              "reference_population": np.where(
                                  s_s & (level not in sensitive_levels), np.nan, ref),
                              "raw": pd.to_numeric(sv["reference_population"]).to_numpy(dtype=float)})
    # the level's candidate cells: (target, zone) published somewhere, with its raw count
    cand = [cur_t[cur_t["published"] & cur_t["demand"].notna()][["target_id", "zone_id",
                                                                 "parent_id", "raw"]]]
    if cur_s is not None:
        c = cur_s[cur_s["reference_population"].notna()]
        cand.append(c.rename(columns={"reference_target_id": "target_id"})[
            ["target_id", "zone_id", "parent_id", "raw"]])
    cand = pd.concat(cand, ignore_index=True).drop_duplicates(["target_id", "zone_id"])
    cand = cand.assign(parent_id=cand["parent_id"].where(cand["parent_id"].notna(), None))
    cand = cand.sort_values(["raw", "zone_id"], kind="stable")
    parent_of = {}
    other_t = other_s = None
    if published_with is not None:
        other_t, other_s = published_with
    for f, tcol in ((cur_t, "target_id"), (cur_s, "reference_target_id"),
                    (other_t, "target_id"), (other_s, "reference_target_id")):
        if f is not None and len(f):
            parent_of.update(zip(zip(f[tcol].astype(str), f["zone_id"].astype(str)),
                                 f["parent_id"]))
    chosen: set = set()
    for _ in range(max_rounds):
        comp_t = [(t, z) in chosen for t, z in zip(cur_t["target_id"], cur_t["zone_id"])]
        t_all = [cur_t.drop(columns="raw").assign(complementary=comp_t)]
        s_all = []
        if cur_s is not None:
            comp_s = [(t, z) in chosen for t, z in zip(cur_s["reference_target_id"],
                                                       cur_s["zone_id"])]
            s_all.append(cur_s.drop(columns="raw").assign(complementary=comp_s))
        if other_t is not None and len(other_t):
            t_all.append(other_t)
        if other_s is not None and len(other_s):
            s_all.append(other_s)
        t_frame = pd.concat(t_all, ignore_index=True)
        s_frame = pd.concat(s_all, ignore_index=True) if s_all else None
        if run_rules and "run_id" in t_frame:
            t_frame["run_id"] = t_frame["run_id"].astype(object)
        res = audit_zone_indicators(t_frame, s_frame, rules, sensitive=sens,
                                    run_rules=run_rules)
        bad = res.cells[~res.cells["ok"]]
        if not len(bad):
            break
        # a hidden count known within its own range [0, threshold - 0.5] only is as safe
        # as it can be: when that is narrower than the width asked for, nothing helps
        cap = np.where(bad["target_id"].isin(sens), strict.suppress_below,
                       rules.suppress_below) - 0.5
        bad = bad[cap >= res.min_width - 1e-9]
        free = cand[~pd.MultiIndex.from_frame(cand[["target_id", "zone_id"]]).isin(list(chosen))] \
            if chosen else cand
        by_target = dict(tuple(free.groupby("target_id", sort=False)))
        picked = set()
        for t, z in zip(bad["target_id"].astype(str), bad["zone_id"].astype(str)):
            pool = by_target.get(t)
            if pool is None:
                continue
            p = parent_of.get((t, z))
            near = (pool["parent_id"] == z) & (pool["zone_id"] != z)
            if p is not None and not (isinstance(p, float) and math.isnan(p)):
                near |= (pool["parent_id"] == p) & (pool["zone_id"] != z)
                near |= pool["zone_id"] == p  # a coarser level published after finer ones
            hit = pool[near]
            if hit["zone_id"].isin([zz for tt, zz in picked if tt == t]).any():
                continue  # one more cell per group and round: then audit again
            if len(hit):
                picked.add((t, hit["zone_id"].iloc[0]))
        if not picked:
            break
        chosen |= picked
    return pd.DataFrame(sorted(chosen), columns=["target_id", "zone_id"])


@dataclass(frozen=True)
class ParentsPublication:
    """What :func:`publish_with_parents` returns, aligned with its ``children`` rows."""

    published: np.ndarray      # the counts to publish (NaN = suppressed)
    complementary: np.ndarray  # bool: suppressed as a complementary cell
    audit: AuditResult         # protected cells (target_id = table, is_parent, zone_id, ...)
    parents: pd.DataFrame      # table, zone_id, published, complementary: the parent cells


def _id(value):
    """An id as text; 12.0 and 12 are the same id (a layer may store it as a real)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _few(items, k=5):
    items = sorted(set(items))
    return ", ".join(items[:k]) + (f" and {len(items) - k} more" if len(items) > k else "")


def publish_with_parents(children: pd.DataFrame, rules: Rules = DEFAULT, *,
                         parents: pd.DataFrame | None = None,
                         max_rounds: int = 100) -> ParentsPublication:
    """Publish one level of counts so that it is safe together with its parent level.

    ``children``: the level's RAW counts, columns zone_id, parent_id, count and,
    optionally, ``table`` (e.g. a target: each value is a hierarchy of its own).
    Every child needs a parent and a count: a parent's total is the sum of ALL its
    children, so the frame must hold every child of each parent it names.

    ``parents``: the parent level as already published (columns zone_id,
    published, and ``table`` when ``children`` has it); NaN = suppressed: by the
    primary rule when the children's raw total would be suppressed too (the cell is
    then protected, 0 .. threshold), else as a complementary cell (anything >= 0).
    Without ``parents`` the parents' totals are taken as published by ``rules``
    (:func:`~welfare_core.privacy.safe_counts` of the children's sum), the way an
    export next to a table of totals would be read.

    The children are published by the primary rule (``safe_counts``); then
    :func:`complementary_suppression` suppresses, among the children, the cells the
    differencing audit needs (the parents are fixed: they are not this publication's),
    and the result is audited once more: ``audit.passed`` says whether the level
    can be published. Published values of the parents that contradict the
    children's counts raise InputError.
    """
    from .privacy import safe_counts

    need = {"zone_id", "parent_id", "count"}
    if not need <= set(children.columns):
        raise InputError(f"children lack column(s) {sorted(need - set(children.columns))}")
    n = len(children)
    has_table = "table" in children.columns
    table = ([_id(t) or "" for t in children["table"]] if has_table else [""] * n)
    zone = [_id(z) for z in children["zone_id"]]
    parent = [_id(p) for p in children["parent_id"]]
    if any(z is None for z in zone):
        raise InputError("a zone_id is missing (NULL)")
    orphans = [z for z, p in zip(zone, parent) if p is None]
    if orphans:
        raise InputError(f"{len(orphans)} zone(s) without a parent: {_few(orphans)}",
                         hint="give every zone its parent id, or publish the level on its own")
    count = pd.to_numeric(children["count"], errors="coerce").to_numpy(dtype=float)
    missing = [z for z, c in zip(zone, count) if not np.isfinite(c)]
    if missing:
        raise InputError(f"{len(missing)} zone(s) without a count: {_few(missing)}",
                         hint="a parent's total is the sum of all its children: fill the "
                              "counts, or publish the level on its own")
    if np.any(count < 0):
        raise InputError("counts to publish must not be negative")
    keys = pd.MultiIndex.from_arrays([table, zone])
    if keys.has_duplicates:
        dup = [z for (t, z) in keys[keys.duplicated()]]
        raise InputError(f"zone id(s) {_few(dup)} repeat"
                         + (" within a table" if has_table else ""),
                         hint="one row per zone (and per table)")
    # parents: their raw totals, and what is published of them
    raw = pd.DataFrame({"table": table, "zone_id": parent, "raw": count})
    totals = raw.groupby(["table", "zone_id"], sort=True)["raw"].sum().reset_index()
    primary_total = safe_counts(totals["raw"].to_numpy(), rules)
    if parents is None:
        pub_parent = primary_total
        comp_parent = np.zeros(len(totals), dtype=bool)
    else:
        need = {"zone_id", "published"} | ({"table"} if has_table else set())
        if not need <= set(parents.columns):
            raise InputError(f"parents lack column(s) {sorted(need - set(parents.columns))}")
        p_table = ([_id(t) or "" for t in parents["table"]] if has_table
                   else [""] * len(parents))
        p = pd.DataFrame({"table": p_table, "zone_id": [_id(z) for z in parents["zone_id"]],
                          "published": pd.to_numeric(parents["published"], errors="coerce")
                          .to_numpy(dtype=float)})
        p = p[p["zone_id"].notna()]
        dup = p.duplicated(["table", "zone_id"])
        if dup.any():
            raise InputError(f"parent id(s) {_few(p.loc[dup, 'zone_id'])} repeat"
                             + (" within a table" if has_table else ""),
                             hint="one published row per parent (and per table)")
        got = totals.merge(p, on=["table", "zone_id"], how="left", indicator=True)
        absent = got["_merge"] == "left_only"
        if absent.any():
            raise InputError(f"{int(absent.sum())} parent id(s) not found among the published "
                             f"parents: {_few(got.loc[absent, 'zone_id'])}",
                             hint="give the published row of every parent the zones name")
        pub_parent = got["published"].to_numpy(dtype=float)
        # a hidden parent whose total would have been shown was hidden as a complementary
        # cell: anything >= 0; one whose total is small is a protected cell
        comp_parent = np.isnan(pub_parent) & ~np.isnan(primary_total)
    # namespaced keys: a child and a parent may share an id (different levels)
    ckey = ["c:" + z for z in zone]
    rows = pd.DataFrame({"target_id": table, "zone_id": ckey,
                         "parent_id": ["p:" + q for q in parent], "demand": count})
    fixed = pd.DataFrame({"target_id": totals["table"].to_numpy(),
                          "zone_id": ("p:" + totals["zone_id"]).to_numpy(),
                          "parent_id": None, "demand": pub_parent, "published": True,
                          "complementary": comp_parent})
    try:
        comp = complementary_suppression(rows, rules=rules, level="export",
                                         published_with=(fixed, None), max_rounds=max_rounds)
    except InputError as e:
        if e.message != CONTRADICTION:
            raise
        raise InputError(CONTRADICTION, hint="the published parents must be those of these "
                         "counts (same target and period, same rules), and the zones every "
                         "child of each parent they name") from None
    chosen = set(zip(comp["target_id"], comp["zone_id"]))
    is_comp = np.array([(t, k) in chosen for t, k in zip(table, ckey)], dtype=bool)
    published = np.where(is_comp, np.nan, safe_counts(count, rules))
    audit = audit_zone_indicators(pd.concat([
        rows.assign(demand=published, published=True, complementary=is_comp), fixed],
        ignore_index=True), rules=rules)
    cells = audit.cells.copy()
    cells.insert(1 if has_table else 0, "is_parent", cells["zone_id"].str.startswith("p:"))
    cells["zone_id"] = cells["zone_id"].str.slice(2)  # back to the callers' ids
    if not has_table:
        cells = cells.drop(columns="target_id")
    return ParentsPublication(
        published=published, complementary=is_comp,
        audit=AuditResult(cells=cells, min_width=audit.min_width),
        parents=pd.DataFrame({"table": totals["table"], "zone_id": totals["zone_id"],
                              "published": pub_parent, "complementary": comp_parent}))
