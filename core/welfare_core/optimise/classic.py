"""The five classic location-allocation models, solved exactly with HiGHS.

All models take ``cost`` as a dense ``(n, m)`` array (``np.inf`` =
unreachable) or a CostMatrix (``shape``, ``row``, ``col``, ``cost``) and
create variables only for reachable pairs (``cost <= max_cost`` in the
coverage models). ``p`` always counts every open site, predefined included.

Notation used in the formulations below:

=====================  ==========================================================
:math:`i \\in I`        demand points (cost rows), weight :math:`w_i \\ge 0`
:math:`j \\in J`        candidate sites (cost columns), capacity :math:`Q_j`
:math:`c_{ij}`          cost (distance, time) of reachable pair :math:`(i, j) \\in E`
:math:`N_i`             sites within the service cost: :math:`\\{j : c_{ij} \\le S\\}`
:math:`P \\subseteq J`  predefined (required) sites
:math:`y_j \\in \\{0,1\\}` site :math:`j` is open
:math:`x_{ij} \\in [0,1]` share of point :math:`i`'s demand served by :math:`j`
=====================  ==========================================================

Every model fixes :math:`y_j = 1,\\ j \\in P`.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from ..errors import InfeasibleError, InputError
from . import _pmedian
from ._assign import nearest_open
from ._inputs import (Pairs, as_pairs, as_progress, check_capacities, check_max_cost, check_p,
                      check_predefined, check_time_limit, check_weights, require_reach)
from ._milp import Model, no_solution, relative_gap, safe_presolve, solver_name
from ._reduce import coverage_groups
from .result import LocationResult

_EPS = 1e-6


class _Clock:
    def __init__(self, time_limit):
        self.t0 = time.perf_counter()
        self.deadline = None if time_limit is None else self.t0 + time_limit

    def __call__(self):
        return time.perf_counter()

    def left(self):
        return None if self.deadline is None else max(self.deadline - time.perf_counter(), 1e-3)

    def elapsed(self):
        return time.perf_counter() - self.t0


def _result(clock, is_open, objective, status, bound, *, pairs=None, assignment=None, allocation=None,
            covered=None, total=None):
    if assignment is None:
        assignment, _ = nearest_open(pairs, is_open)
    pct = None
    if covered is not None and total is not None and total > 0:
        pct = 100.0 * covered / total
    gap = 0.0 if status == "optimal" else relative_gap(objective, bound)
    return LocationResult(
        selected=tuple(int(j) for j in np.flatnonzero(is_open)), objective=float(objective),
        assignment=np.asarray(assignment, dtype=np.int64), allocation=allocation,
        covered_weight=None if covered is None else float(covered), coverage_pct=pct,
        status=status, gap=gap, solver=solver_name(), seconds=clock.elapsed(),
        bound=None if bound is None else float(bound))


def _site_vars(model, m, pre, count=None):
    """Binary y_j with y_j = 1 for predefined sites; optional sum y = count."""
    lb = np.zeros(m)
    lb[pre] = 1.0
    y0 = model.add_vars(np.zeros(m), lb=lb, ub=1.0, integer=True)
    if count is not None:
        model.add_rows(np.zeros(m), y0 + np.arange(m), np.ones(m), 1, count, count)
    return y0


def _link(model, pairs, x0, y0):
    """x_ij <= y_j for every pair."""
    k = len(pairs.row)
    r = np.arange(k)
    model.add_rows(np.r_[r, r], np.r_[x0 + r, y0 + pairs.col], np.r_[np.ones(k), -np.ones(k)], k, -np.inf, 0.0)


def _capacity_rows(model, pairs, x0, y0, load, capacities, lo_exact=None):
    """sum_i load_i x_ij <= Q_j y_j (== Q_j for sites in ``lo_exact``); unlimited sites skipped."""
    m = pairs.m
    finite = np.isfinite(capacities)
    sites = np.flatnonzero(finite)
    if not len(sites):
        return
    local = np.full(m, -1)
    local[sites] = np.arange(len(sites))
    k = np.flatnonzero(finite[pairs.col])
    rows = np.r_[local[pairs.col[k]], np.arange(len(sites))]
    cols = np.r_[x0 + k, y0 + sites]
    vals = np.r_[load[pairs.row[k]], -capacities[sites]]
    lo = np.full(len(sites), -np.inf)
    if lo_exact is not None:
        exact = np.isin(sites, lo_exact)
        lo[exact] = 0.0
    model.add_rows(rows, cols, vals, len(sites), lo, 0.0)


def _allocation(pairs, x):
    share = np.where(x > _EPS, np.minimum(x, 1.0), 0.0)
    alloc = sp.csr_matrix((share, (pairs.row, pairs.col)), shape=(pairs.n, pairs.m))
    alloc.eliminate_zeros()
    assignment = np.full(pairs.n, -1, dtype=np.int64)
    has = np.diff(alloc.indptr) > 0
    if has.any():
        assignment[has] = np.asarray(alloc[has].argmax(axis=1)).ravel()
    return alloc, assignment


def _finish(outcome, model_name, clock, infeasible_msg, infeasible_hint):
    if outcome.status == "infeasible":
        raise InfeasibleError(infeasible_msg, hint=infeasible_hint)
    if outcome.x is None or outcome.status not in ("optimal", "time_limit"):
        raise no_solution(outcome, model_name)


# --------------------------------------------------------------------------- p-median

def p_median(cost, weights, p, predefined=(), capacities=None, fulfill_predefined=False,
             time_limit=None, *, progress=None) -> LocationResult:
    """Minimise the total weighted cost of serving every demand point from ``p`` sites.

    .. math::

        \\begin{array}{lll}
        \\min & \\displaystyle\\sum_{(i,j) \\in E} w_i c_{ij} x_{ij} & \\\\
        \\text{s.t.} & \\displaystyle\\sum_{j : (i,j) \\in E} x_{ij} = 1 & \\forall i \\in I \\\\
        & x_{ij} \\le y_j & \\forall (i,j) \\in E \\\\
        & \\displaystyle\\sum_{j \\in J} y_j = p & \\\\
        & \\displaystyle\\sum_{i} w_i x_{ij} \\le Q_j y_j & \\forall j \\in J
          \\quad\\text{(capacitated only)} \\\\
        & \\displaystyle\\sum_{i} w_i x_{ij} = Q_j & \\forall j \\in P
          \\quad\\text{(``fulfill_predefined`` only)} \\\\
        & y_j = 1 \\ (j \\in P), \\quad y_j \\in \\{0,1\\}, \\quad 0 \\le x_{ij} \\le 1 &
        \\end{array}

    Uncapacitated, every point is served whole by its nearest open site.
    Before the MILP, a vertex-substitution heuristic gives an incumbent and
    the Lagrangian relaxation of the assignment constraints (subgradient
    ascent) a lower bound; sites whose reduced cost proves they cannot beat
    the incumbent are fixed (Beasley 1993). Those steps are exact: they only
    shrink the MILP. Capacitated, demand may be split across sites, reported
    in ``allocation``.

    Parameters
    ----------
    cost : numpy.ndarray or CostMatrix
        ``(n, m)`` costs, ``np.inf`` (or an absent pair) = unreachable.
    weights : array_like
        ``(n,)`` non-negative demand of each point.
    p : int
        Number of open sites, predefined included.
    predefined : sequence of int
        Sites that must be open.
    capacities : array_like, optional
        ``(m,)`` capacity of each site in weight units (``np.inf`` = unlimited).
    fulfill_predefined : bool
        With capacities: fill each predefined site exactly to its capacity.
    time_limit : float, optional
        Seconds for the whole call; the best solution found is returned with
        ``status="time_limit"`` and its ``gap``.
    progress : welfare_core.progress.Progress, optional
        Progress reporting and cancellation between stages.

    Returns
    -------
    LocationResult
        ``objective`` is the total weighted cost.

    Raises
    ------
    InputError
        Malformed input (negative weights, ``p`` out of range, NaN costs, ...).
    InfeasibleError
        A point reaches no site, no ``p`` sites reach every point, or the
        capacities cannot hold the demand.
    """
    clock = _Clock(check_time_limit(time_limit))
    prog = as_progress(progress)
    pairs = as_pairs(cost)
    w = check_weights(weights, pairs.n)
    pre = check_predefined(predefined, pairs.m)
    p = check_p(p, pairs.m, len(pre))
    q = check_capacities(capacities, pairs.m)
    if fulfill_predefined and q is None:
        raise InputError("fulfill_predefined: needs capacities (each predefined site is filled to its capacity)")
    require_reach(pairs, "reach no candidate site", "raise the cost cutoff or remove those points")
    prog(5)
    if q is None:
        return _p_median_uncap(pairs, w, p, pre, clock, prog)
    return _p_median_cap(pairs, w, p, pre, q, bool(fulfill_predefined), clock, prog)


def _p_median_uncap(pairs, w, p, pre, clock, prog):
    W = w[pairs.row] * pairs.cost
    is_open = _pmedian.heuristic(pairs, W, p, pre)
    ub = _pmedian.total_cost(pairs, w, is_open)
    prog(15)
    bound = -np.inf
    closed = opened = np.zeros(pairs.m, dtype=bool)
    if np.isfinite(ub):
        deadline = None if clock.deadline is None else clock.t0 + 0.5 * (clock.deadline - clock.t0)
        for _ in range(3):
            bound, rho = _pmedian.lagrangian(pairs, W, p, pre, ub, deadline=deadline, clock=clock)
            # the Lagrangian's own site choice is often a better start for the substitution
            start = _pmedian._select(rho, np.isin(np.arange(pairs.m), pre, invert=True), pre, p - len(pre))
            cand = _pmedian.substitute(pairs, W, start, pre)
            value = _pmedian.total_cost(pairs, w, cand)
            if not value < ub * (1 - 1e-12):
                break
            is_open, ub = cand, value
        if ub - bound <= 1e-9 * max(1.0, abs(ub)):
            prog(100)
            return _result(clock, is_open, ub, "optimal", ub, pairs=pairs)
        closed, opened = _pmedian.fix_sites(bound, rho, p, pre, ub)
    prog(40)
    fixed_open = opened.copy()
    fixed_open[pre] = True
    sub = pairs.restrict_cols(~closed)
    if fixed_open.any():
        # with an open site guaranteed, no point goes farther than its nearest one
        _, reach = nearest_open(sub, fixed_open)
        keep = sub.cost <= reach[sub.row]
        sub = Pairs(sub.n, sub.m, sub.row[keep], sub.col[keep], sub.cost[keep])
    model = Model()
    lb = fixed_open.astype(float)
    y0 = model.add_vars(np.zeros(pairs.m), lb=lb, ub=(~closed).astype(float), integer=True)
    model.add_rows(np.zeros(pairs.m), y0 + np.arange(pairs.m), np.ones(pairs.m), 1, p, p)
    x0 = model.add_vars(w[sub.row] * sub.cost, lb=0.0, ub=1.0)
    k = len(sub.row)
    model.add_rows(sub.row, x0 + np.arange(k), np.ones(k), pairs.n, 1.0, 1.0)
    _link(model, sub, x0, y0)
    out = model.solve(clock.left())
    prog(95)
    if out.status == "infeasible" and not np.isfinite(ub):
        raise InfeasibleError(f"p-median: no {p} sites reach every demand point",
                              hint="increase p, raise the cost cutoff, or add candidate sites")
    if out.x is not None and out.status in ("optimal", "time_limit"):
        cand = out.x[y0:y0 + pairs.m] > 0.5
        value = _pmedian.total_cost(pairs, w, cand)
        if value < ub:
            is_open, ub = cand, value
    elif out.status not in ("infeasible", "time_limit"):
        raise no_solution(out, "p-median")
    if not np.isfinite(ub):
        raise no_solution(out, "p-median")
    if out.status in ("optimal", "infeasible"):
        # the reduced MILP is exact on the sites left free; fixed-out choices cost >= ub
        return _result(clock, is_open, ub, "optimal", ub, pairs=pairs)
    milp_bound = -np.inf if out.bound is None else out.bound
    best = max(bound, min(milp_bound, ub), 0.0)
    return _result(clock, is_open, ub, "time_limit", best if np.isfinite(best) else None, pairs=pairs)


def _p_median_cap(pairs, w, p, pre, q, fulfill, clock, prog):
    total = w.sum()
    top = np.sort(np.delete(q, pre))[::-1][:p - len(pre)].sum() + q[pre].sum()
    if top < total - 1e-9 * max(1.0, total):
        raise InfeasibleError(
            f"p-median: the {p} largest capacities (predefined included) hold {top:g} but the demand is {total:g}",
            hint="increase p or the capacities")
    if fulfill:
        short = [int(j) for j in pre if np.isfinite(q[j]) and w[pairs.row[pairs.col == j]].sum() < q[j] - 1e-9]
        if short:
            raise InfeasibleError(
                f"p-median: predefined site(s) {short} cannot be filled to capacity: the demand that reaches "
                "them is smaller", hint="lower their capacities, raise the cost cutoff, or set fulfill_predefined=False")
        if np.isinf(q[pre]).any():
            raise InputError("fulfill_predefined: predefined sites need finite capacities to be filled")
    model = Model()
    y0 = _site_vars(model, pairs.m, pre, p)
    k = len(pairs.row)
    x0 = model.add_vars(w[pairs.row] * pairs.cost, lb=0.0, ub=1.0)
    model.add_rows(pairs.row, x0 + np.arange(k), np.ones(k), pairs.n, 1.0, 1.0)
    _link(model, pairs, x0, y0)
    _capacity_rows(model, pairs, x0, y0, w, q, lo_exact=pre if fulfill else None)
    prog(20)
    out = model.solve(clock.left(), presolve=safe_presolve(True, pre))
    _finish(out, "p-median", clock,
            f"capacitated p-median: no {p} sites can serve all demand within reach"
            + (" while filling the predefined sites exactly" if fulfill else ""),
            "increase p or the capacities, raise the cost cutoff"
            + (", or set fulfill_predefined=False" if fulfill else ""))
    prog(95)
    x = out.x[x0:x0 + k]
    is_open = out.x[y0:y0 + pairs.m] > 0.5
    alloc, assignment = _allocation(pairs, x)
    return _result(clock, is_open, out.objective, out.status, out.bound, assignment=assignment,
                   allocation=alloc)


# --------------------------------------------------------------------------- MCLP

def mclp(cost, weights, max_cost, p, predefined=(), capacities=None, time_limit=None, *,
         progress=None, reduce_demand=True) -> LocationResult:
    """Maximal covering location problem: open ``p`` sites covering the most weight.

    A point is covered when an open site lies within ``max_cost``
    (inclusive). Uncapacitated:

    .. math::

        \\begin{array}{lll}
        \\max & \\displaystyle\\sum_{i \\in I} w_i z_i & \\\\
        \\text{s.t.} & z_i \\le \\displaystyle\\sum_{j \\in N_i} y_j & \\forall i \\in I \\\\
        & \\displaystyle\\sum_{j \\in J} y_j = p, \\quad y_j = 1 \\ (j \\in P) & \\\\
        & y_j \\in \\{0,1\\}, \\quad 0 \\le z_i \\le 1 &
        \\end{array}

    Capacitated, a site serves at most :math:`Q_j` weight and a point's
    demand may be split (partially covered):

    .. math::

        \\begin{array}{lll}
        \\max & \\displaystyle\\sum_{i} \\sum_{j \\in N_i} w_i x_{ij} & \\\\
        \\text{s.t.} & \\displaystyle\\sum_{j \\in N_i} x_{ij} \\le 1 & \\forall i \\\\
        & x_{ij} \\le y_j, \\quad \\displaystyle\\sum_{i} w_i x_{ij} \\le Q_j y_j & \\forall i, j \\\\
        & \\displaystyle\\sum_{j \\in J} y_j = p, \\quad y_j = 1 \\ (j \\in P) &
        \\end{array}

    With ``reduce_demand`` (the default) the points that reach the same set
    of sites within ``max_cost`` are merged into one carrying their summed
    weight, and points that reach none leave the model (counted as
    uncovered), before the MIP is built. This is exact: the optimum is the
    same; a merged point's split (capacitated) is given to each of its
    members. ``reduce_demand=False`` solves the formulation above as written.

    Returns
    -------
    LocationResult
        ``objective`` = ``covered_weight`` (served weight when capacitated);
        ``assignment`` is the nearest open site within ``max_cost`` (-1 if
        none; largest share when capacitated); ``allocation`` when capacitated.
    """
    clock = _Clock(check_time_limit(time_limit))
    prog = as_progress(progress)
    pairs = as_pairs(cost).within(check_max_cost(max_cost))
    w = check_weights(weights, pairs.n)
    pre = check_predefined(predefined, pairs.m)
    p = check_p(p, pairs.m, len(pre))
    q = check_capacities(capacities, pairs.m)
    prog(5)
    red = coverage_groups(pairs, w) if reduce_demand else None
    mp, mw = (pairs, w) if red is None else (red.pairs, red.weights)
    model = Model()
    y0 = _site_vars(model, mp.m, pre, p)
    k = len(mp.row)
    if q is None:
        reach = mp.reach_count() > 0
        z0 = model.add_vars(-mw, lb=0.0, ub=reach.astype(float))
        model.add_rows(np.r_[np.arange(mp.n), mp.row], np.r_[z0 + np.arange(mp.n), y0 + mp.col],
                       np.r_[np.ones(mp.n), -np.ones(k)], mp.n, -np.inf, 0.0)
    else:
        x0 = model.add_vars(-mw[mp.row], lb=0.0, ub=1.0)
        model.add_rows(mp.row, x0 + np.arange(k), np.ones(k), mp.n, -np.inf, 1.0)
        _link(model, mp, x0, y0)
        _capacity_rows(model, mp, x0, y0, mw, q)
    prog(20)
    out = model.solve(clock.left(), presolve=safe_presolve(q is not None, pre))
    _finish(out, "MCLP", clock, "MCLP: no feasible choice of sites", "check p and the predefined sites")
    prog(95)
    is_open = out.x[y0:y0 + pairs.m] > 0.5
    reachable_weight = float(w[pairs.reach_count() > 0].sum())
    # before its root LP HiGHS may report a bound looser than the trivial one
    bound = None if out.bound is None else min(-out.bound, reachable_weight)
    if q is None:
        assignment, _ = nearest_open(pairs, is_open)
        covered = float(w[assignment >= 0].sum())
        if out.status == "optimal":
            bound = covered
        return _result(clock, is_open, covered, out.status, bound, assignment=assignment,
                       covered=covered, total=w.sum())
    x = out.x[x0:x0 + k]
    alloc, assignment = _allocation(mp, x)
    if red is not None:
        alloc = red.expand_rows(alloc)
        assignment = np.where(red.group >= 0, assignment[np.maximum(red.group, 0)], -1)
    covered = float(np.asarray(alloc.sum(axis=1)).ravel() @ w)
    if out.status == "optimal":
        bound = covered
    return _result(clock, is_open, covered, out.status, bound, assignment=assignment, allocation=alloc,
                   covered=covered, total=w.sum())


# --------------------------------------------------------------------------- LSCP

def lscp(cost, max_cost, predefined=(), capacities=None, demand=None, time_limit=None, *,
         progress=None) -> LocationResult:
    """Location set covering: the fewest sites that cover every demand point.

    .. math::

        \\begin{array}{lll}
        \\min & \\displaystyle\\sum_{j \\in J} y_j & \\\\
        \\text{s.t.} & \\displaystyle\\sum_{j \\in N_i} y_j \\ge 1 & \\forall i \\in I \\\\
        & y_j = 1 \\ (j \\in P), \\quad y_j \\in \\{0,1\\} &
        \\end{array}

    Capacitated (``capacities`` and ``demand`` :math:`d_i`), each point's
    demand is served within ``max_cost``, possibly split (CLSCP-SO):

    .. math::

        \\sum_{j \\in N_i} x_{ij} = 1 \\ \\forall i, \\qquad
        \\sum_i d_i x_{ij} \\le Q_j y_j \\ \\forall j, \\qquad x_{ij} \\le y_j

    Returns
    -------
    LocationResult
        ``objective`` = number of open sites (predefined included);
        ``covered_weight`` = total demand (count of points without
        ``demand``), ``coverage_pct`` = 100.

    Raises
    ------
    InfeasibleError
        A point has no site within ``max_cost``, or the capacities within
        reach cannot hold the demand.
    """
    clock = _Clock(check_time_limit(time_limit))
    prog = as_progress(progress)
    pairs = as_pairs(cost).within(check_max_cost(max_cost))
    pre = check_predefined(predefined, pairs.m)
    q = check_capacities(capacities, pairs.m)
    if q is not None and demand is None:
        raise InputError("demand: required with capacities (the quantity each point asks of its sites)")
    d = np.ones(pairs.n) if demand is None else check_weights(demand, pairs.n, "demand")
    require_reach(pairs, f"have no candidate site within max_cost={max_cost:g}",
                  "raise max_cost or add candidate sites near them")
    if q is not None and q.sum() < d.sum() - 1e-9 * max(1.0, d.sum()):
        raise InfeasibleError(f"LSCP: all capacities together hold {q.sum():g} but the demand is {d.sum():g}",
                              hint="raise the capacities or add candidate sites")
    prog(5)
    model = Model()
    y0 = model.add_vars(np.ones(pairs.m), lb=_pre_lb(pairs.m, pre), ub=1.0, integer=True)
    k = len(pairs.row)
    if q is None:
        model.add_rows(pairs.row, y0 + pairs.col, np.ones(k), pairs.n, 1.0, np.inf)
    else:
        x0 = model.add_vars(np.zeros(k), lb=0.0, ub=1.0)
        model.add_rows(pairs.row, x0 + np.arange(k), np.ones(k), pairs.n, 1.0, 1.0)
        _link(model, pairs, x0, y0)
        _capacity_rows(model, pairs, x0, y0, d, q)
    prog(20)
    out = model.solve(clock.left(), presolve=safe_presolve(q is not None, pre))
    _finish(out, "LSCP", clock, "LSCP: the capacities of the sites within max_cost cannot hold the demand",
            "raise the capacities or max_cost, or add candidate sites")
    prog(95)
    is_open = out.x[y0:y0 + pairs.m] > 0.5
    count = float(is_open.sum())
    bound = count if out.status == "optimal" else (None if out.bound is None else float(np.ceil(out.bound - _EPS)))
    if q is None:
        return _result(clock, is_open, count, out.status, bound, pairs=pairs, covered=d.sum(), total=d.sum())
    alloc, assignment = _allocation(pairs, out.x[x0:x0 + k])
    return _result(clock, is_open, count, out.status, bound, assignment=assignment, allocation=alloc,
                   covered=d.sum(), total=d.sum())


def _pre_lb(m, pre):
    lb = np.zeros(m)
    lb[pre] = 1.0
    return lb


def lscp_b(cost, max_cost, weights=None, predefined=(), time_limit=None, *, progress=None) -> LocationResult:
    """LSCP with backup coverage: among the smallest covers, maximise double coverage.

    Stage 1 solves :func:`lscp` for the fewest sites :math:`K`. Stage 2:

    .. math::

        \\begin{array}{lll}
        \\max & \\displaystyle\\sum_{i \\in I} w_i u_i & \\\\
        \\text{s.t.} & \\displaystyle\\sum_{j \\in N_i} y_j \\ge 1 + u_i & \\forall i \\in I \\\\
        & \\displaystyle\\sum_{j \\in J} y_j = K, \\quad y_j = 1 \\ (j \\in P) & \\\\
        & y_j \\in \\{0,1\\}, \\quad 0 \\le u_i \\le 1 &
        \\end{array}

    :math:`w_i = 1` (a count of points) when ``weights`` is None.

    Returns
    -------
    LocationResult
        ``objective`` = weight covered at least twice (= ``covered_weight``;
        ``coverage_pct`` is its share of the total). ``status`` is
        ``"optimal"`` only when both stages are proven optimal; ``gap`` and
        ``bound`` refer to stage 2.
    """
    clock = _Clock(check_time_limit(time_limit))
    prog = as_progress(progress)
    first = lscp(cost, max_cost, predefined=predefined, time_limit=time_limit, progress=None)
    prog(40)
    pairs = as_pairs(cost).within(check_max_cost(max_cost))
    w = np.ones(pairs.n) if weights is None else check_weights(weights, pairs.n)
    pre = check_predefined(predefined, pairs.m)
    K = len(first.selected)
    model = Model()
    y0 = _site_vars(model, pairs.m, pre, K)
    twice = pairs.reach_count() >= 2
    u0 = model.add_vars(-w, lb=0.0, ub=twice.astype(float))
    k = len(pairs.row)
    model.add_rows(np.r_[pairs.row, np.arange(pairs.n)], np.r_[y0 + pairs.col, u0 + np.arange(pairs.n)],
                   np.r_[np.ones(k), -np.ones(pairs.n)], pairs.n, 1.0, np.inf)
    out = model.solve(clock.left())
    if out.x is None:
        # stage 2 found nothing in time: the stage-1 cover is still a valid answer
        is_open = np.zeros(pairs.m, dtype=bool)
        is_open[list(first.selected)] = True
        status, bound = "time_limit", None if out.bound is None else -out.bound
    else:
        is_open = out.x[y0:y0 + pairs.m] > 0.5
        status = "optimal" if (out.status == "optimal" and first.status == "optimal") else "time_limit"
        bound = None if out.bound is None else -out.bound
    prog(95)
    hits = np.bincount(pairs.row, is_open[pairs.col], minlength=pairs.n)
    value = float(w[hits >= 2].sum())
    if status == "optimal":
        bound = value
    return _result(clock, is_open, value, status, bound, pairs=pairs, covered=value, total=w.sum())


# --------------------------------------------------------------------------- p-center

def p_center(cost, p, predefined=(), time_limit=None, *, progress=None) -> LocationResult:
    """Minimise the largest cost from a demand point to its nearest of ``p`` open sites.

    .. math::

        \\begin{array}{lll}
        \\min & r & \\\\
        \\text{s.t.} & r \\ge \\displaystyle\\sum_{j} c_{ij} x_{ij}, \\quad
          \\displaystyle\\sum_{j} x_{ij} = 1, \\quad x_{ij} \\le y_j & \\forall i, j \\\\
        & \\displaystyle\\sum_{j \\in J} y_j = p, \\quad y_j = 1 \\ (j \\in P) &
        \\end{array}

    is solved through its radius form: the optimal :math:`r` is one of the
    distinct costs :math:`D_1 < \\dots < D_K`, and radius :math:`D_k` is
    achievable iff the set cover

    .. math::

        \\min \\sum_j y_j \\quad\\text{s.t.}\\quad \\sum_{j : c_{ij} \\le D_k} y_j \\ge 1 \\ \\forall i,
        \\quad y_j = 1 \\ (j \\in P)

    needs at most ``p`` sites (Minieka 1970). A bisection over
    :math:`k` between the lower bound :math:`\\max_i \\min_j c_{ij}` and a
    greedy (farthest-first) solution finds the least achievable radius with
    small covering MILPs. When the cover needs fewer than ``p`` sites the rest
    are added greedily to reduce the total cost (the radius does not change).

    Returns
    -------
    LocationResult
        ``objective`` = the largest assigned cost. On a time limit, ``bound``
        is the smallest radius not yet proven unachievable.
    """
    clock = _Clock(check_time_limit(time_limit))
    prog = as_progress(progress)
    pairs = as_pairs(cost)
    pre = check_predefined(predefined, pairs.m)
    p = check_p(p, pairs.m, len(pre))
    require_reach(pairs, "reach no candidate site", "raise the cost cutoff or remove those points")
    radii = np.unique(pairs.cost)
    nearest = pairs.cost[np.searchsorted(pairs.row, np.arange(pairs.n))]
    lo = int(np.searchsorted(radii, nearest.max()))
    is_open = _farthest_first(pairs, p, pre)
    _, c = nearest_open(pairs, is_open)
    best_open = None
    if np.isfinite(c).all():
        best_open = is_open
        hi = int(np.searchsorted(radii, c.max()))
    else:
        hi = len(radii) - 1
    status = "optimal"
    prog(10)
    steps = max(1, int(np.ceil(np.log2(max(2, hi - lo + 1)))))
    done = 0
    while lo < hi or best_open is None:
        mid = (lo + hi) // 2 if best_open is not None else hi
        verdict, cover = _cover_within(pairs, radii[mid], p, pre, clock)
        done += 1
        prog(10 + 85 * min(1.0, done / (steps + 1)))
        if verdict == "yes":
            _, c = nearest_open(pairs, cover)
            best_open = cover
            hi = int(np.searchsorted(radii, c.max()))
        elif verdict == "no":
            if best_open is None:
                raise InfeasibleError(f"p-center: no {p} sites reach every demand point",
                                      hint="increase p, raise the cost cutoff, or add candidate sites")
            lo = mid + 1
        else:
            status = "time_limit"
            if best_open is None:
                raise no_solution(_TimeOut(), "p-center")
            break
    is_open = _pad(pairs, best_open, p)
    _, c = nearest_open(pairs, is_open)
    value = float(c.max())
    bound = value if status == "optimal" else float(radii[lo])
    return _result(clock, is_open, value, status, bound, pairs=pairs)


class _TimeOut:
    status = "time_limit"


def _cover_within(pairs, radius, p, pre, clock):
    """Is there a cover with at most p sites within ``radius``? ("yes", mask) / ("no", None) / ("unknown", None)."""
    if clock.deadline is not None and clock() >= clock.deadline:
        return "unknown", None
    sub = pairs.within(radius)
    if (sub.reach_count() == 0).any():
        return "no", None
    model = Model()
    y0 = model.add_vars(np.ones(pairs.m), lb=_pre_lb(pairs.m, pre), ub=1.0, integer=True)
    model.add_rows(sub.row, y0 + sub.col, np.ones(len(sub.row)), pairs.n, 1.0, np.inf)
    out = model.solve(clock.left())
    if out.x is not None and out.status in ("optimal", "time_limit"):
        mask = out.x[y0:y0 + pairs.m] > 0.5
        if mask.sum() <= p:
            return "yes", mask
    if out.status == "optimal" or out.status == "infeasible":
        return "no", None
    if out.bound is not None and np.ceil(out.bound - _EPS) > p:
        return "no", None
    return "unknown", None


def _farthest_first(pairs, p, pre):
    """Greedy p-center: repeatedly open the site nearest to the worst-served point."""
    is_open = np.zeros(pairs.m, dtype=bool)
    is_open[pre] = True
    starts = np.searchsorted(pairs.row, np.arange(pairs.n))
    if not is_open.any():
        # the site with the smallest largest cost over the points it reaches... start at the
        # nearest site of the point whose nearest site is farthest
        i = int(np.argmax(pairs.cost[starts]))
        is_open[pairs.col[starts[i]]] = True
    while is_open.sum() < p:
        _, c = nearest_open(pairs, is_open)
        i = int(np.argmax(c))
        lo_, hi_ = starts[i], (starts[i + 1] if i + 1 < pairs.n else len(pairs.row))
        cand = pairs.col[lo_:hi_][~is_open[pairs.col[lo_:hi_]]]
        if not len(cand):
            cand = np.flatnonzero(~is_open)
        is_open[cand[0]] = True
    return is_open


def _pad(pairs, is_open, p):
    """Open more sites (up to p) where they cut the total cost most; the radius cannot grow."""
    is_open = is_open.copy()
    while is_open.sum() < p:
        _, c = nearest_open(pairs, is_open)
        gain = np.bincount(pairs.col, np.maximum(0.0, c[pairs.row] - pairs.cost), minlength=pairs.m)
        gain[is_open] = -1.0
        is_open[int(np.argmax(gain))] = True
    return is_open
