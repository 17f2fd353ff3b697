"""Bounds and reductions for the uncapacitated p-median.

HiGHS (1.2, as bundled with scipy 1.10) spends minutes in the root LP of the
classic formulation at 2,000 x 100. Before calling it we run three cheap,
exact-preserving steps on the reachable pairs:

1. a greedy + vertex-substitution (Teitz & Bart) heuristic: an incumbent and
   an upper bound ``UB``;
2. the Lagrangian relaxation of the assignment constraints, maximised by
   subgradient steps; its value ``L(lambda)`` is a lower bound (equal, at the
   optimum multipliers, to the LP bound);
3. Lagrangian variable fixing: a site whose forced opening (closing) lifts the
   bound to ``UB`` or more cannot improve on the incumbent and is fixed
   closed (open).

The reduced MILP then only sees the free sites and, for each demand point,
the sites no farther than its nearest fixed-open site.
"""
from __future__ import annotations

import numpy as np

from ._assign import first_per_row, nearest_open, row_starts
from ._inputs import Pairs


def total_cost(pairs: Pairs, w: np.ndarray, is_open: np.ndarray) -> float:
    _, c = nearest_open(pairs, is_open)
    return float(np.sum(w * c)) if np.isfinite(c).all() else np.inf


def _penalised(pairs, W, is_open, penalty):
    """Weighted cost of each point's nearest open site; ``penalty`` when it has none."""
    d = np.full(pairs.n, penalty)
    idx = np.flatnonzero(is_open[pairs.col])
    first = idx[first_per_row(pairs.row[idx])]
    d[pairs.row[first]] = W[first]
    return d


def heuristic(pairs: Pairs, W: np.ndarray, p: int, pre: np.ndarray) -> np.ndarray:
    """Greedy then vertex substitution; returns the open-site mask."""
    n, m = pairs.n, pairs.m
    penalty = float(W.sum()) + 1.0  # one unserved point costs more than all served ones
    is_open = np.zeros(m, dtype=bool)
    is_open[pre] = True
    d = _penalised(pairs, W, is_open, penalty)
    for _ in range(p - len(pre)):
        gain = np.bincount(pairs.col, np.maximum(0.0, d[pairs.row] - W), minlength=m)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        is_open[j] = True
        d = np.minimum(d, _col_costs(pairs, W, j, penalty))
    return substitute(pairs, W, is_open, pre, penalty)


def _col_costs(pairs, W, j, penalty):
    out = np.full(pairs.n, penalty)
    k = pairs.col == j
    out[pairs.row[k]] = W[k]
    return out


def substitute(pairs, W, is_open, pre, penalty=None):
    """Teitz-Bart vertex substitution: best swap per open site until no gain."""
    m = pairs.m
    penalty = float(W.sum()) + 1.0 if penalty is None else penalty
    fixed = np.zeros(m, dtype=bool)
    fixed[pre] = True
    best = _penalised(pairs, W, is_open, penalty).sum()
    improved = True
    while improved:
        improved = False
        for o in np.flatnonzero(is_open & ~fixed):
            trial = is_open.copy()
            trial[o] = False
            d = _penalised(pairs, W, trial, penalty)
            gain = np.bincount(pairs.col, np.maximum(0.0, d[pairs.row] - W), minlength=m)
            gain[trial] = -1.0
            gain[o] = -1.0
            j = int(np.argmax(gain))
            value = d.sum() - gain[j]
            if value < best - 1e-12 * max(1.0, abs(best)):
                trial[j] = True
                is_open, best, improved = trial, value, True
    return is_open


def lagrangian(pairs, W, p, pre, ub, iterations=800, deadline=None, clock=None):
    """Subgradient maximisation of the Lagrangian dual.

    Returns (best bound, rho at the best multipliers) where rho_j =
    sum_i min(0, w_i c_ij - lambda_i) is the reduced cost of opening site j.
    """
    n, m = pairs.n, pairs.m
    starts = row_starts(pairs)
    cnt = pairs.reach_count()
    second = np.where(cnt > 1, W[np.minimum(starts + 1, len(W) - 1)], W[starts])
    lam = second.copy()
    free = np.ones(m, dtype=bool)
    free[pre] = False
    k = p - len(pre)
    best_l, best_rho = -np.inf, None
    step, stall = 2.0, 0
    tol = 1e-9 * max(1.0, abs(ub))
    for it in range(iterations):
        red = np.minimum(0.0, W - lam[pairs.row])
        rho = np.bincount(pairs.col, red, minlength=m)
        sel = _select(rho, free, pre, k)
        value = lam.sum() + rho[sel].sum()
        if value > best_l + 1e-12 * max(1.0, abs(value)):
            best_l, best_rho, stall = value, rho, 0
        else:
            stall += 1
            if stall >= 30:
                step, stall = step / 2.0, 0
        if ub - best_l <= tol or step < 1e-6:
            break
        if deadline is not None and it % 20 == 0 and clock() > deadline:
            break
        served = np.bincount(pairs.row, (red < 0) & sel[pairs.col], minlength=n)
        g = 1.0 - served
        gg = float(g @ g)
        if gg == 0.0:
            break
        lam = lam + step * (ub - value) / gg * g
    return best_l, best_rho


def _select(rho, free, pre, k):
    sel = np.zeros(len(rho), dtype=bool)
    sel[pre] = True
    if k > 0:
        cand = np.flatnonzero(free)
        sel[cand[np.argsort(rho[cand], kind="stable")[:k]]] = True
    return sel


def fix_sites(bound, rho, p, pre, ub):
    """Sites fixed closed / open by Lagrangian reduced costs (keep every solution < UB)."""
    m = len(rho)
    free = np.ones(m, dtype=bool)
    free[pre] = False
    k = p - len(pre)
    closed = np.zeros(m, dtype=bool)
    opened = np.zeros(m, dtype=bool)
    cand = np.flatnonzero(free)
    if k == 0 or k == len(cand):
        return closed, opened
    order = cand[np.argsort(rho[cand], kind="stable")]
    inside, outside = order[:k], order[k:]
    thr = ub + 1e-9 * max(1.0, abs(ub))
    last_in, first_out = rho[inside[-1]], rho[outside[0]]
    closed[outside] = bound + rho[outside] - last_in >= thr
    opened[inside] = bound - rho[inside] + first_out >= thr
    return closed, opened
