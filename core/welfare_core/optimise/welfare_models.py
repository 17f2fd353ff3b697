"""Welfare models: capacity allocation, equity, closure and trade-off sweeps.

None of the classic peers offers these. Every model is solved exactly with
HiGHS (``mip_rel_gap=0``) over the reachable pairs only, and reports status,
objective, bound and gap honestly (``"optimal"`` only when proven).

Notation (as in :mod:`welfare_core.optimise.classic`):

=====================  ==========================================================
:math:`i \\in I`        demand points, demand :math:`d_i \\ge 0`
:math:`j \\in J`        sites (existing and candidate)
:math:`E`               reachable pairs :math:`(i, j)` with :math:`c_{ij} \\le S`
:math:`Q_j`             capacity already in place at site :math:`j` (0 for a candidate)
:math:`u_j, k_j, K_j`   module size, number of modules added, most modules allowed
:math:`f_j`             cost of one module at site :math:`j`; :math:`B` the budget
:math:`s_{ij} \\ge 0`   demand of :math:`i` served at :math:`j` (may be split)
=====================  ==========================================================
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import InfeasibleError, InputError
from ._inputs import (Pairs, as_pairs, as_progress, check_capacities, check_max_cost, check_p,
                      check_predefined, check_time_limit, check_weights)
from ._milp import Model, no_solution, relative_gap, solver_name
from .classic import mclp, p_median
from .result import LocationResult

_EPS = 1e-7


class _Clock:
    def __init__(self, time_limit):
        self.t0 = time.perf_counter()
        self.deadline = None if time_limit is None else self.t0 + time_limit

    def left(self):
        return None if self.deadline is None else max(self.deadline - time.perf_counter(), 1e-3)

    def elapsed(self):
        return time.perf_counter() - self.t0


def _worse(a: str, b: str) -> str:
    return a if a != "optimal" else b


# --------------------------------------------------------------------------- capacity allocation

@dataclass(frozen=True, eq=False)
class CapacityResult:
    """Outcome of :func:`allocate_capacity`.

    Attributes
    ----------
    modules : numpy.ndarray
        ``(m,)`` int, modules added at each site.
    added_capacity : numpy.ndarray
        ``(m,)`` capacity added at each site (``modules * module_size``).
    spend : float
        Total cost of the added modules (``<= budget``).
    unmet_before, unmet_after : float
        Demand that no reachable capacity can serve, before any addition and
        with the chosen additions (both proven minimal by the solver when
        ``status == "optimal"``).
    served : scipy.sparse.csr_matrix
        ``(n, m)`` demand of each point served at each site after the additions.
    site_load : numpy.ndarray
        ``(m,)`` demand served at each site after the additions.
    objective : float
        ``unmet_after`` (the minimised quantity).
    status, gap, bound, solver, seconds
        As in :class:`LocationResult`; ``bound`` is a lower bound on unmet demand.
    """

    modules: np.ndarray
    added_capacity: np.ndarray
    spend: float
    unmet_before: float
    unmet_after: float
    served: object
    site_load: np.ndarray
    objective: float
    status: str
    gap: float | None
    bound: float | None
    solver: str
    seconds: float

    @property
    def total_demand(self) -> float:
        return float(self.served.sum() + self.unmet_after)


def _vec(values, m, name, default):
    if values is None:
        return np.full(m, float(default))
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 1:
        v = np.full(m, float(v[0]))
    if v.shape != (m,):
        raise InputError(f"{name}: expected {m} values (one per site) or a single number, got {v.size}")
    if np.isnan(v).any() or (v < 0).any():
        raise InputError(f"{name}: values must be non-negative numbers")
    return v


def _flow_model(pairs, d, cap0, module, max_modules, unit_cost, budget, *, integer=True, min_modules=0.0):
    """The transportation model with capacity increments; returns (model, s0, k0)."""
    model = Model()
    k = len(pairs.row)
    s0 = model.add_vars(-np.ones(k), lb=0.0, ub=d[pairs.row])         # maximise served = minimise unmet
    m = pairs.m
    kmax = np.where(module > 0, max_modules, 0.0)
    k0 = model.add_vars(np.zeros(m), lb=min_modules, ub=kmax, integer=integer)
    # sum_j s_ij <= d_i
    model.add_rows(pairs.row, s0 + np.arange(k), np.ones(k), pairs.n, -np.inf, d)
    # sum_i s_ij - u_j k_j <= Q_j
    model.add_rows(np.r_[pairs.col, np.arange(m)], np.r_[s0 + np.arange(k), k0 + np.arange(m)],
                   np.r_[np.ones(k), -module], m, -np.inf, cap0)
    # sum_j f_j k_j <= B
    model.add_rows(np.zeros(m), k0 + np.arange(m), unit_cost, 1, -np.inf, budget)
    return model, s0, k0


def allocate_capacity(cost, demand, max_cost, capacities, budget, *, module_size=1.0, unit_cost=1.0,
                      max_modules=None, minimise_spend=True, time_limit=None,
                      progress=None) -> CapacityResult:
    """Spread a budget of capacity increments to minimise unmet demand.

    Demand of point :math:`i` can be served by any site within ``max_cost``
    (split freely); the demand that no reachable capacity can hold is unmet.
    Sites are existing ones (``capacities > 0``) and candidates
    (``capacities == 0``); each may receive whole modules.

    .. math::

        \\begin{array}{lll}
        \\min & \\displaystyle\\sum_i d_i - \\sum_{(i,j) \\in E} s_{ij} &
              \\text{(unmet demand)} \\\\
        \\text{s.t.} & \\displaystyle\\sum_{j} s_{ij} \\le d_i & \\forall i \\in I \\\\
        & \\displaystyle\\sum_{i} s_{ij} \\le Q_j + u_j k_j & \\forall j \\in J \\\\
        & \\displaystyle\\sum_{j} f_j k_j \\le B & \\\\
        & k_j \\in \\{0, 1, \\dots, K_j\\}, \\quad s_{ij} \\ge 0 &
        \\end{array}

    ``unmet_before`` is the same model with every :math:`k_j = 0` (an LP, a
    max-flow). With ``minimise_spend`` a second solve keeps unmet demand at
    its optimum and minimises :math:`\\sum_j f_j k_j`, so no budget is spent
    where it helps nobody.

    Parameters
    ----------
    cost : numpy.ndarray or CostMatrix
        ``(n, m)`` costs demand point -> site.
    demand : array_like
        ``(n,)`` demand of each point, in capacity units (e.g. children 0-2
        expected to need a place).
    max_cost : float
        Largest cost at which a point may use a site (inclusive).
    capacities : array_like
        ``(m,)`` capacity in place now (0 for a candidate site).
    budget : float
        Money (or any unit of ``unit_cost``) available; ``unit_cost=1`` and
        ``module_size=1`` make it a number of places.
    module_size : float or array_like
        Capacity of one module at each site (places added per module).
    unit_cost : float or array_like
        Cost of one module at each site.
    max_modules : float or array_like, optional
        Most modules a site may receive (default: as many as the budget buys).
    minimise_spend : bool
        Second stage: among optimal plans, spend the least.
    time_limit : float, optional
        Seconds for the whole call.

    Raises
    ------
    InputError
        Malformed input (negative budget, wrong lengths, ...).
    """
    clock = _Clock(check_time_limit(time_limit))
    prog = as_progress(progress)
    pairs = as_pairs(cost).within(check_max_cost(max_cost))
    n, m = pairs.n, pairs.m
    d = check_weights(demand, n, "demand")
    q = check_capacities(capacities, m)
    if q is None:
        raise InputError("capacities: give the capacity in place at each site (0 for a candidate)")
    if not np.isfinite(q).all():
        raise InputError("capacities: capacity allocation needs finite capacities")
    try:
        budget = float(budget)
    except (TypeError, ValueError):
        raise InputError(f"budget: must be a number, got {budget!r}") from None
    if not np.isfinite(budget) or budget < 0:
        raise InputError(f"budget: must be a non-negative finite number, got {budget!r}")
    u = _vec(module_size, m, "module_size", 1.0)
    f = _vec(unit_cost, m, "unit_cost", 1.0)
    if ((f == 0) & (u > 0)).any() and max_modules is None:
        raise InputError("unit_cost: a zero module cost needs max_modules (otherwise capacity is free and unlimited)")
    afford = np.where(f > 0, np.floor(budget / np.where(f > 0, f, 1.0) + 1e-9), np.inf)
    kmax = afford if max_modules is None else np.minimum(_vec(max_modules, m, "max_modules", 0.0), afford)
    kmax = np.floor(kmax + 1e-9)
    prog(5)

    before, _, _ = _flow_model(pairs, d, q, u, np.zeros(m), f, 0.0, integer=False)
    out0 = before.solve(clock.left())
    if out0.x is None:
        raise no_solution(out0, "capacity allocation (current capacity)")
    unmet_before = float(d.sum() + out0.objective)
    prog(25)

    model, s0, k0 = _flow_model(pairs, d, q, u, kmax, f, budget)
    out = model.solve(clock.left())
    if out.x is None:
        raise no_solution(out, "capacity allocation")
    status = out.status if out.status in ("optimal", "time_limit") else "error"
    x = out.x
    unmet = float(d.sum() + out.objective)
    bound = None if out.bound is None else float(d.sum() + out.bound)
    prog(70)

    if minimise_spend and status == "optimal" and budget > 0:
        model2, s2, k2 = _flow_model(pairs, d, q, u, kmax, f, budget)
        # keep served >= optimum (with a tolerance for HiGHS's feasibility tolerance)
        k = len(pairs.row)
        model2.add_rows(np.zeros(k), s2 + np.arange(k), np.ones(k), 1, -out.objective - 1e-6 * max(1.0, d.sum()),
                        np.inf)
        model2._c[0] = np.zeros(k)
        model2._c[1] = f.copy()
        out2 = model2.solve(clock.left())
        if out2.x is not None and out2.status in ("optimal", "time_limit"):
            x, s0, k0 = out2.x, s2, k2
            status = _worse(status, out2.status)
    prog(95)

    mods = np.round(x[k0:k0 + m]).astype(np.int64)
    # final flows with the modules fixed: an LP, so the served demand is the exact max-flow
    final, s0, _ = _flow_model(pairs, d, q + mods * u, u, np.zeros(m), f, 0.0, integer=False)
    out3 = final.solve(clock.left())
    if out3.x is not None:
        x = out3.x
    s = np.where(x[s0:s0 + len(pairs.row)] > _EPS, x[s0:s0 + len(pairs.row)], 0.0)
    served = sp.csr_matrix((s, (pairs.row, pairs.col)), shape=(n, m))
    served.eliminate_zeros()
    unmet_after = float(max(d.sum() - s.sum(), 0.0))
    if status == "optimal":
        bound = min(unmet_after, unmet) if bound is None else min(bound, unmet_after)
    gap = 0.0 if status == "optimal" else relative_gap(unmet_after, bound)
    load = np.bincount(pairs.col, weights=s, minlength=m)
    return CapacityResult(
        modules=mods, added_capacity=mods * u, spend=float(mods @ f), unmet_before=unmet_before,
        unmet_after=unmet_after, served=served, site_load=load, objective=unmet_after, status=status,
        gap=gap, bound=bound, solver=solver_name(), seconds=clock.elapsed())


# --------------------------------------------------------------------------- equity

@dataclass(frozen=True, eq=False)
class EquityResult:
    """Outcome of :func:`equity`.

    Attributes
    ----------
    location : LocationResult
        The chosen sites; ``objective`` there is the worst weighted gap.
    worst_gap : float
        :math:`\\max_g v_g (1 - \\text{coverage}_g)` at the optimum (0..max v).
    group_coverage : numpy.ndarray
        ``(G,)`` share (0..1) of each group's demand that is covered, NaN for a
        group without demand (it is left out of the model).
    groups : numpy.ndarray
        The group labels, in the order of ``group_coverage``.
    covered_weight : float
        Total covered demand (maximised as a second stage among the equitable plans).
    """

    location: LocationResult
    worst_gap: float
    group_coverage: np.ndarray
    groups: np.ndarray
    covered_weight: float


def equity(cost, weights, max_cost, p, groups=None, vulnerability=None, predefined=(), capacities=None,
           time_limit=None, *, progress=None) -> EquityResult:
    """Choose ``p`` sites minimising the worst group's weighted coverage gap.

    Groups (zones) :math:`g` partition the demand points; :math:`D_g` is a
    group's demand and :math:`v_g \\ge 0` its vulnerability weight (1 =
    plain max-min coverage; larger = its gap counts more).

    .. math::

        \\begin{array}{lll}
        \\min & T & \\\\
        \\text{s.t.} & v_g \\Big(1 - \\dfrac{1}{D_g} \\displaystyle\\sum_{i \\in g} d_i z_i\\Big) \\le T
              & \\forall g : D_g > 0 \\\\
        & z_i \\le \\displaystyle\\sum_{j \\in N_i} y_j & \\forall i \\quad
          \\text{(uncapacitated; capacitated: } z_i = \\textstyle\\sum_j x_{ij},\\ x_{ij} \\le y_j,\\
          \\sum_i d_i x_{ij} \\le Q_j y_j) \\\\
        & \\displaystyle\\sum_j y_j = p, \\quad y_j = 1\\ (j \\in P), \\quad y_j \\in \\{0,1\\},
          \\quad 0 \\le z_i \\le 1 &
        \\end{array}

    A second solve keeps :math:`T \\le T^*` and maximises
    :math:`\\sum_i d_i z_i`, so among the fairest plans the one covering the
    most demand is returned. Without ``groups`` each point is its own group.
    """
    clock = _Clock(check_time_limit(time_limit))
    prog = as_progress(progress)
    pairs = as_pairs(cost).within(check_max_cost(max_cost))
    n, m = pairs.n, pairs.m
    w = check_weights(weights, n)
    pre = check_predefined(predefined, m)
    p = check_p(p, m, len(pre))
    q = check_capacities(capacities, m)
    labels, gidx = np.unique(np.arange(n) if groups is None else np.asarray(groups).ravel(), return_inverse=True)
    if gidx.shape != (n,):
        raise InputError(f"groups: expected {n} labels (one per demand point), got {gidx.size}")
    G = len(labels)
    v = np.ones(G) if vulnerability is None else _group_values(vulnerability, labels, "vulnerability")
    Dg = np.bincount(gidx, weights=w, minlength=G)
    active = np.flatnonzero(Dg > 0)
    if not len(active):
        raise InputError("weights: every group has zero demand; nothing to make equitable")
    prog(5)

    def build():
        model = Model()
        lb = np.zeros(m)
        lb[pre] = 1.0
        y0 = model.add_vars(np.zeros(m), lb=lb, ub=1.0, integer=True)
        model.add_rows(np.zeros(m), y0 + np.arange(m), np.ones(m), 1, p, p)
        k = len(pairs.row)
        if q is None:
            reach = (pairs.reach_count() > 0).astype(float)
            z0 = model.add_vars(np.zeros(n), lb=0.0, ub=reach)
            model.add_rows(np.r_[np.arange(n), pairs.row], np.r_[z0 + np.arange(n), y0 + pairs.col],
                           np.r_[np.ones(n), -np.ones(k)], n, -np.inf, 0.0)
            cov_rows, cov_cols, cov_share = np.arange(n), z0 + np.arange(n), np.ones(n)
        else:
            x0 = model.add_vars(np.zeros(k), lb=0.0, ub=1.0)
            model.add_rows(pairs.row, x0 + np.arange(k), np.ones(k), n, -np.inf, 1.0)
            r = np.arange(k)
            model.add_rows(np.r_[r, r], np.r_[x0 + r, y0 + pairs.col], np.r_[np.ones(k), -np.ones(k)], k,
                           -np.inf, 0.0)
            fin = np.flatnonzero(np.isfinite(q))
            if len(fin):
                local = np.full(m, -1)
                local[fin] = np.arange(len(fin))
                kk = np.flatnonzero(np.isfinite(q)[pairs.col])
                model.add_rows(np.r_[local[pairs.col[kk]], np.arange(len(fin))], np.r_[x0 + kk, y0 + fin],
                               np.r_[w[pairs.row[kk]], -q[fin]], len(fin), -np.inf, 0.0)
            cov_rows, cov_cols, cov_share = pairs.row, x0 + np.arange(k), np.ones(k)
        t0 = model.add_vars(np.ones(1), lb=0.0, ub=np.inf)
        # v_g - v_g/D_g sum_{i in g} d_i z_i <= T   <=>   -v_g/D_g sum d_i z_i - T <= -v_g
        g_of = gidx[cov_rows]
        keep = Dg[g_of] > 0
        loc = np.full(G, -1)
        loc[active] = np.arange(len(active))
        coef = -(v[g_of] / np.where(Dg[g_of] > 0, Dg[g_of], 1.0)) * w[cov_rows] * cov_share
        model.add_rows(np.r_[loc[g_of[keep]], np.arange(len(active))], np.r_[cov_cols[keep], np.full(len(active), t0)],
                       np.r_[coef[keep], -np.ones(len(active))], len(active), -np.inf, -v[active])
        return model, y0, t0, cov_rows, cov_cols

    model, y0, t0, cov_rows, cov_cols = build()
    out = model.solve(clock.left())
    if out.status == "infeasible":
        raise InfeasibleError("equity: no feasible choice of sites", hint="check p, the predefined sites and capacities")
    if out.x is None:
        raise no_solution(out, "equity")
    status = out.status
    worst, bound = float(out.objective), out.bound
    x = out.x
    prog(60)
    # second stage: most covered demand among plans with T <= T*
    model2, y2, t2, r2, c2 = build()
    model2._c = [np.zeros_like(c) for c in model2._c]
    model2._c[-1] = np.zeros(1)
    model2._ub[-1] = np.array([worst + 1e-7 * max(1.0, v.max())])
    cvec = np.zeros(model2.nvar)
    np.add.at(cvec, c2, -w[r2])
    model2._c = [cvec]
    model2._lb = [np.concatenate(model2._lb)]
    model2._ub = [np.concatenate(model2._ub)]
    model2._int = [np.concatenate(model2._int)]
    out2 = model2.solve(clock.left())
    if out2.x is not None and out2.status in ("optimal", "time_limit"):
        x, y0, cov_rows, cov_cols = out2.x, y2, r2, c2
        status = _worse(status, out2.status)
    prog(95)
    is_open = x[y0:y0 + m] > 0.5
    share = np.clip(x[cov_cols], 0.0, 1.0)
    share[share < _EPS] = 0.0
    cov_i = np.bincount(cov_rows, weights=share, minlength=n)
    covered = float(cov_i @ w)
    with np.errstate(invalid="ignore", divide="ignore"):
        gcov = np.where(Dg > 0, np.bincount(gidx, weights=cov_i * w, minlength=G) / np.where(Dg > 0, Dg, 1), np.nan)
    worst_now = float(np.nanmax(v * (1 - gcov)))
    if status == "optimal":
        bound = worst_now
    alloc = None
    if q is not None:
        alloc = sp.csr_matrix((share, (pairs.row, pairs.col)), shape=(n, m))
        alloc.eliminate_zeros()
        assignment = np.full(n, -1, dtype=np.int64)
        has = np.diff(alloc.indptr) > 0
        if has.any():
            assignment[has] = np.asarray(alloc[has].argmax(axis=1)).ravel()
    else:
        assignment = _nearest_covering(pairs, is_open)
    gap = 0.0 if status == "optimal" else relative_gap(worst_now, bound)
    total = w.sum()
    loc = LocationResult(
        selected=tuple(int(j) for j in np.flatnonzero(is_open)), objective=worst_now, assignment=assignment,
        allocation=alloc, covered_weight=covered, coverage_pct=100.0 * covered / total if total > 0 else None,
        status=status, gap=gap, solver=solver_name(), seconds=clock.elapsed(),
        bound=None if bound is None else float(bound))
    return EquityResult(location=loc, worst_gap=worst_now, group_coverage=gcov, groups=labels, covered_weight=covered)


def _group_values(values, labels, name):
    if isinstance(values, dict):
        missing = [g for g in labels if g not in values]
        if missing:
            raise InputError(f"{name}: no value for group(s) {missing[:5]}")
        v = np.array([float(values[g]) for g in labels])
    else:
        v = np.asarray(values, dtype=float).ravel()
        if v.shape != labels.shape:
            raise InputError(f"{name}: expected {len(labels)} values (one per group, sorted) or a dict, got {v.size}")
    if not np.isfinite(v).all() or (v < 0).any():
        raise InputError(f"{name}: values must be non-negative finite numbers")
    return v


def _nearest_covering(pairs: Pairs, is_open) -> np.ndarray:
    """Nearest open site within the pairs for each point (pairs sorted by row, cost), -1 if none."""
    out = np.full(pairs.n, -1, dtype=np.int64)
    k = np.flatnonzero(is_open[pairs.col])
    if len(k):
        rows = pairs.row[k]
        first = np.r_[True, rows[1:] != rows[:-1]]
        out[rows[first]] = pairs.col[k[first]]
    return out


# --------------------------------------------------------------------------- closure

@dataclass(frozen=True, eq=False)
class ClosureResult:
    """Outcome of :func:`closure`.

    ``closed`` are the column indices of the sites to close; ``coverage_before``
    and ``coverage_after`` the covered demand with all sites open and after
    closing; ``loss = coverage_before - coverage_after`` (proven least when
    ``location.status == "optimal"``). ``location`` holds the sites kept.
    """

    closed: tuple
    coverage_before: float
    coverage_after: float
    loss: float
    location: LocationResult


def closure(cost, weights, max_cost, k, keep=(), capacities=None, time_limit=None, *, progress=None) -> ClosureResult:
    """Which ``k`` of the ``m`` open facilities to close with the least loss of coverage.

    Equivalent to an MCLP keeping :math:`m - k` sites, ``keep`` required:

    .. math::

        \\min_{C \\subseteq J \\setminus K,\\ |C| = k}\\;
        \\text{cov}(J) - \\text{cov}(J \\setminus C), \\qquad
        \\text{cov}(S) = \\max \\Big\\{ \\sum_i d_i z_i : z_i \\le \\sum_{j \\in N_i \\cap S} y_j \\Big\\}

    (capacitated: coverage is the served share under :math:`Q_j`, as in MCLP).
    """
    pairs = as_pairs(cost)
    m = pairs.m
    w = check_weights(weights, pairs.n)
    keep = check_predefined(keep, m)
    if isinstance(k, (bool, np.bool_)) or not float(k).is_integer() or int(k) < 0:
        raise InputError(f"k: must be a whole number of facilities to close, got {k!r}")
    k = int(k)
    if k > m - len(keep):
        raise InputError(f"k: cannot close {k} of {m} facilities when {len(keep)} must stay open",
                         hint="lower k or the list of facilities to keep")
    if k == m:
        raise InputError(f"k: closing all {m} facilities leaves nothing to compare; lower k")
    all_open = mclp(cost, w, max_cost, m, predefined=range(m), capacities=capacities, time_limit=time_limit)
    res = mclp(cost, w, max_cost, m - k, predefined=keep, capacities=capacities, time_limit=time_limit,
               progress=progress)
    closed = tuple(int(j) for j in np.setdiff1d(np.arange(m), res.selected))
    before = float(all_open.covered_weight)
    after = float(res.covered_weight)
    return ClosureResult(closed=closed, coverage_before=before, coverage_after=after, loss=before - after,
                         location=res)


# --------------------------------------------------------------------------- sweeps

@dataclass(frozen=True)
class SweepPoint:
    """One point of a trade-off curve: the parameter, the objective, its gain over the previous point."""

    value: float
    objective: float
    coverage_pct: float | None
    gain: float | None
    status: str
    gap: float | None
    selected: tuple
    seconds: float


def sweep_p(cost, weights, ps, model="mclp", *, max_cost=None, predefined=(), capacities=None,
            time_limit=None, progress=None) -> list:
    """Solve ``model`` ("mclp" or "p_median") for each ``p`` in ``ps``; return the trade-off curve.

    ``gain`` is the improvement over the previous point (covered weight added
    for MCLP, total cost saved for p-median), so planners see where more
    sites stop paying off. ``time_limit`` applies to each solve.
    """
    prog = as_progress(progress)
    ps = sorted({int(p) for p in ps})
    if not ps:
        raise InputError("ps: give at least one value of p")
    if model not in ("mclp", "p_median"):
        raise InputError(f"model: unknown model {model!r} for a sweep over p; use 'mclp' or 'p_median'")
    if model == "mclp" and max_cost is None:
        raise InputError("max_cost: the MCLP sweep needs the coverage cutoff")
    out, prev = [], None
    for idx, p in enumerate(ps):
        if model == "mclp":
            r = mclp(cost, weights, max_cost, p, predefined=predefined, capacities=capacities, time_limit=time_limit)
            gain = None if prev is None else r.objective - prev
        else:
            r = p_median(cost, weights, p, predefined=predefined, capacities=capacities, time_limit=time_limit)
            gain = None if prev is None else prev - r.objective
        prev = r.objective
        out.append(SweepPoint(float(p), r.objective, r.coverage_pct, gain, r.status, r.gap, r.selected, r.seconds))
        prog(100.0 * (idx + 1) / len(ps))
    return out


def sweep_budget(cost, demand, max_cost, capacities, budgets, *, time_limit=None, progress=None,
                 **options) -> list:
    """Solve :func:`allocate_capacity` for each budget; ``objective`` is unmet demand, ``gain`` the drop."""
    prog = as_progress(progress)
    budgets = sorted({float(b) for b in budgets})
    if not budgets:
        raise InputError("budgets: give at least one budget")
    out, prev = [], None
    for idx, b in enumerate(budgets):
        r = allocate_capacity(cost, demand, max_cost, capacities, b, time_limit=time_limit, **options)
        total = r.total_demand
        pct = 100.0 * (total - r.unmet_after) / total if total > 0 else None
        gain = None if prev is None else prev - r.unmet_after
        prev = r.unmet_after
        out.append(SweepPoint(b, r.unmet_after, pct, gain, r.status, r.gap,
                              tuple(int(j) for j in np.flatnonzero(r.modules)), r.seconds))
        prog(100.0 * (idx + 1) / len(budgets))
    return out
