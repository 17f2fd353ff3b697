"""Differencing audit: can published tables, taken together, pin down a hidden count?

Zones, their parents and the total are published together. Each published
value only says that the true count lies in an interval (a count published as
15 under the NHS rule was 12.5 .. 17.5 before rounding; a suppressed one was
0.5 .. suppress_below - 0.5; a published 0 was below 0.5), and a parent's count
is the sum of its children's. For every protected (suppressed) cell the audit
solves two small linear programmes

    min / max  x_c   subject to   l_i <= x_i <= u_i  for every cell i,
                                  x_p = sum_{i: parent(i) = p} x_i  for every parent p,

(scipy.optimize.linprog, HiGHS): [min, max] is everything an attacker can
infer about the cell from the publication. The publication fails the audit
when that interval is narrower than ``Rules.audit_min_width``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InputError, WelfareError
from .privacy import DEFAULT, Rules, smallest_published

MAX_CELLS = 200_000  # one LP per protected cell: refuse what would never finish


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
    lower = np.where(p == 0, 0.0, np.maximum(whole_lo - 0.5, rules.suppress_below - 0.5))
    # the smallest published value also stands for counts raised to it (privacy.safe_counts)
    lower = np.where((p > 0) & (p <= smallest_published(rules)), rules.suppress_below - 0.5, lower)
    upper = np.where(p == 0, 0.5, whole_hi + 0.5)
    lower = np.where(np.isnan(p), 0.5, lower)
    upper = np.where(np.isnan(p), rules.suppress_below - 0.5, upper)
    lower = np.where(exact & ~np.isnan(p), p, lower)
    upper = np.where(exact & ~np.isnan(p), p, upper)
    lower = np.where(shown, np.maximum(lower, 0.0), 0.0)
    upper = np.where(shown, upper, np.inf)
    return lower, upper


def feasible_intervals(zone_ids, parent_ids, lower, upper, protect) -> tuple[np.ndarray, np.ndarray]:
    """[min, max] of x_c over the additive hierarchy, for each protected cell c.

    Cells whose bounds cannot all hold together (the published numbers contradict
    each other) raise InputError: the audit cannot vouch for them.
    """
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    zone_ids = pd.Index([str(z) for z in zone_ids])
    if zone_ids.has_duplicates:
        raise InputError("zone_id values repeat: audit one target (and one period) at a time")
    n = len(zone_ids)
    if n > MAX_CELLS:
        raise InputError(f"{n} cells is more than the audit handles ({MAX_CELLS})")
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    protect = np.asarray(protect, dtype=bool)
    parents = pd.Series([None if p is None or (isinstance(p, float) and math.isnan(p)) else str(p)
                         for p in parent_ids])
    pos = parents.map(dict(zip(zone_ids, range(n))))
    child = np.flatnonzero(pos.notna().to_numpy())
    parent_pos = pos.to_numpy()[child].astype(int)
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
                raise InputError("the published values contradict each other (a parent is "
                                 "not the sum of its children within rounding)",
                                 hint="audit values of one run, target and period")
            if res.status == 3:
                out[c] = sign * np.inf
            elif res.status != 0:
                raise WelfareError(f"audit LP failed for zone {zone_ids[c]}: {res.message}")
            else:
                out[c] = sign * res.fun
    return out_lo, out_hi


def audit_publication(frame: pd.DataFrame, rules: Rules = DEFAULT, *, value: str = "published",
                      exact: str | None = None, shown: str | None = None,
                      min_width: float | None = None) -> AuditResult:
    """Audit cells published together: columns zone_id, parent_id, ``value``
    (NaN = suppressed) and, optionally, target_id (audited one target at a
    time), an ``exact`` bool column (published unrounded) and a ``shown`` bool
    column. Suppressed cells are the protected ones.
    """
    need = {"zone_id", "parent_id", value} | ({exact} if exact else set()) | ({shown} if shown else set())
    missing = sorted(need - set(frame.columns))
    if missing:
        raise InputError(f"audit input lacks column(s) {missing}")
    width = rules.audit_min_width if min_width is None else float(min_width)
    if not width >= 0:
        raise InputError(f"min_width = {min_width} must be >= 0")
    parts = []
    groups = frame.groupby("target_id", sort=True) if "target_id" in frame else [(None, frame)]
    for target, f in groups:
        vals = pd.to_numeric(f[value], errors="coerce").to_numpy(dtype=float)
        lo, hi = published_bounds(vals, rules, exact=None if exact is None else f[exact].to_numpy(),
                                  shown=None if shown is None else f[shown].to_numpy())
        protect = np.isnan(vals) & (True if shown is None else f[shown].to_numpy(dtype=bool))
        a, b = feasible_intervals(f["zone_id"].to_numpy(), f["parent_id"].to_numpy(), lo, hi, protect)
        cells = pd.DataFrame({"zone_id": f["zone_id"].to_numpy()[protect],
                              "lower": a[protect], "upper": b[protect]})
        if target is not None:
            cells.insert(0, "target_id", target)
        parts.append(cells)
    cells = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["zone_id", "lower", "upper"])
    cells["width"] = cells["upper"] - cells["lower"]
    cells["ok"] = cells["width"] >= width - 1e-9
    return AuditResult(cells=cells, min_width=width)
