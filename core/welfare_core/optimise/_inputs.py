"""Validation and normalisation of the inputs shared by the models.

Costs arrive as a dense ``(n, m)`` array (``np.inf`` = unreachable) or as a
CostMatrix-like object with ``shape``, ``row``, ``col`` and ``cost``; either
way the models work on the reachable pairs only, as triplets sorted by row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InfeasibleError, InputError
from ..progress import NO_PROGRESS, Progress


@dataclass(frozen=True)
class Pairs:
    """Reachable (demand point, site) pairs: row, col, cost, sorted by (row, cost)."""

    n: int
    m: int
    row: np.ndarray
    col: np.ndarray
    cost: np.ndarray

    def within(self, max_cost: float) -> "Pairs":
        keep = self.cost <= max_cost
        return Pairs(self.n, self.m, self.row[keep], self.col[keep], self.cost[keep])

    def restrict_cols(self, keep_cols: np.ndarray) -> "Pairs":
        keep = keep_cols[self.col]
        return Pairs(self.n, self.m, self.row[keep], self.col[keep], self.cost[keep])

    def reach_count(self) -> np.ndarray:
        return np.bincount(self.row, minlength=self.n)

    def dense(self) -> np.ndarray:
        out = np.full((self.n, self.m), np.inf)
        out[self.row, self.col] = self.cost
        return out


def as_pairs(cost, name: str = "cost") -> Pairs:
    """Reachable pairs of a dense array or a CostMatrix-like object."""
    if all(hasattr(cost, a) for a in ("shape", "row", "col", "cost")) and not isinstance(cost, np.ndarray):
        n, m = (int(s) for s in cost.shape)
        row = np.asarray(cost.row, dtype=np.int64).ravel()
        col = np.asarray(cost.col, dtype=np.int64).ravel()
        val = np.asarray(cost.cost, dtype=float).ravel()
        if not (len(row) == len(col) == len(val)):
            raise InputError(f"{name}: row, col and cost must have the same length")
        if len(row) and (row.min() < 0 or row.max() >= n or col.min() < 0 or col.max() >= m):
            raise InputError(f"{name}: a row or col index lies outside the shape {(n, m)}")
        if np.isnan(val).any():
            raise InputError(f"{name}: contains NaN; use np.inf (or leave the pair out) for unreachable pairs")
        finite = np.isfinite(val)
        row, col, val = row[finite], col[finite], val[finite]
        if len(row):
            key = row * m + col
            if len(np.unique(key)) != len(key):
                raise InputError(f"{name}: a (row, col) pair appears more than once")
    else:
        arr = np.asarray(cost, dtype=float)
        if arr.ndim != 2:
            raise InputError(f"{name}: expected a 2-D (demand points x sites) array, got shape {arr.shape}")
        if np.isnan(arr).any():
            raise InputError(f"{name}: contains NaN; use np.inf for unreachable pairs")
        n, m = arr.shape
        row, col = np.nonzero(np.isfinite(arr))
        val = arr[row, col]
    if n == 0 or m == 0:
        raise InputError(f"{name}: needs at least one demand point and one candidate site, got shape {(n, m)}")
    if len(val) and val.min() < 0:
        raise InputError(f"{name}: negative costs are not allowed (found {val.min():g})")
    order = np.lexsort((val, row))
    return Pairs(n, m, row[order].astype(np.int64), col[order].astype(np.int64), val[order])


def check_weights(weights, n: int, name: str = "weights") -> np.ndarray:
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape != (n,):
        raise InputError(f"{name}: expected {n} values (one per demand point / cost row), got {w.size}")
    if not np.isfinite(w).all():
        raise InputError(f"{name}: contains NaN or infinite values")
    if (w < 0).any():
        raise InputError(f"{name}: negative values are not allowed (demand point {int(np.argmax(w < 0))})")
    return w


def check_predefined(predefined, m: int) -> np.ndarray:
    pre = np.asarray(list(predefined) if not isinstance(predefined, np.ndarray) else predefined).ravel()
    if pre.size == 0:
        return np.zeros(0, dtype=np.int64)
    if pre.dtype == bool:
        raise InputError("predefined: give the column indices of the required sites, not a boolean mask")
    if not np.issubdtype(pre.dtype, np.integer):
        if not np.all(np.mod(pre, 1) == 0):
            raise InputError("predefined: site indices must be integers")
    pre = pre.astype(np.int64)
    if pre.min() < 0 or pre.max() >= m:
        raise InputError(f"predefined: site index {int(pre[(pre < 0) | (pre >= m)][0])} is outside 0..{m - 1}")
    if len(np.unique(pre)) != len(pre):
        raise InputError("predefined: a site is listed more than once")
    return np.sort(pre)


def check_p(p, m: int, n_pre: int) -> int:
    if isinstance(p, (bool, np.bool_)) or not float(p).is_integer():
        raise InputError(f"p: must be a whole number of sites, got {p!r}")
    p = int(p)
    if p < 1:
        raise InputError(f"p: must be at least 1, got {p}")
    if p > m:
        raise InputError(f"p: {p} sites requested but only {m} candidate sites exist; lower p or add sites")
    if p < n_pre:
        raise InputError(f"p: {p} is smaller than the {n_pre} predefined sites it must include; raise p "
                         "(p counts every open site, predefined ones included)")
    return p


def check_capacities(capacities, m: int) -> np.ndarray | None:
    if capacities is None:
        return None
    q = np.asarray(capacities, dtype=float).ravel()
    if q.shape != (m,):
        raise InputError(f"capacities: expected {m} values (one per candidate site), got {q.size}")
    if np.isnan(q).any():
        raise InputError("capacities: contains NaN; use np.inf for an unlimited site")
    if (q < 0).any():
        raise InputError(f"capacities: negative values are not allowed (site {int(np.argmax(q < 0))})")
    return q


def check_max_cost(max_cost) -> float:
    try:
        v = float(max_cost)
    except (TypeError, ValueError):
        raise InputError(f"max_cost: must be a number, got {max_cost!r}") from None
    if np.isnan(v) or v < 0:
        raise InputError(f"max_cost: must be a non-negative number, got {max_cost!r}")
    return v


def check_time_limit(time_limit) -> float | None:
    if time_limit is None:
        return None
    v = float(time_limit)
    if not v > 0:
        raise InputError(f"time_limit: must be a positive number of seconds or None, got {time_limit!r}")
    return v


def as_progress(progress) -> Progress:
    return NO_PROGRESS if progress is None else progress


def require_reach(pairs: Pairs, what: str, fix: str) -> None:
    """Raise InfeasibleError naming demand points that reach no candidate site."""
    lost = np.flatnonzero(pairs.reach_count() == 0)
    if len(lost):
        shown = ", ".join(str(i) for i in lost[:10]) + (" ..." if len(lost) > 10 else "")
        raise InfeasibleError(f"{len(lost)} demand point(s) {what}: rows {shown}", hint=fix)
