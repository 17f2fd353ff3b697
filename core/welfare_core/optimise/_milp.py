"""A thin wrapper around HiGHS (``scipy.optimize.milp``) for sparse models.

Models are built as lists of sparse row blocks; the wrapper stacks them,
runs HiGHS in-process with ``mip_rel_gap=0`` (exact) and maps its status to
the strings of :class:`LocationResult`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from ..errors import WelfareError

# scipy bundles HiGHS without exposing its version; the versions below were
# read from HiGHS's own log banner for each scipy release line.
_HIGHS_IN_SCIPY = {"1.9": "1.2.0", "1.10": "1.2.0"}


def solver_name() -> str:
    minor = ".".join(scipy.__version__.split(".")[:2])
    highs = _HIGHS_IN_SCIPY.get(minor)
    return f"HiGHS {highs} (scipy {scipy.__version__})" if highs else f"HiGHS (scipy {scipy.__version__})"


class SolverError(WelfareError):
    """The solver stopped without any usable solution (e.g. time limit too short)."""

    sqlstate = "57014"  # query_canceled: the run was stopped by its limit


@dataclass(frozen=True)
class Outcome:
    status: str              # optimal | time_limit | infeasible | unbounded | error
    x: np.ndarray | None
    objective: float | None  # in the sense the caller minimised (c @ x)
    bound: float | None      # best lower bound on c @ x
    seconds: float
    message: str


class Model:
    """Accumulates variables and sparse constraint rows, then solves."""

    def __init__(self):
        self.nvar = 0
        self._c, self._lb, self._ub, self._int = [], [], [], []
        self._rows, self._rlo, self._rhi = [], [], []
        self.nrow = 0

    def add_vars(self, cost, lb=0.0, ub=1.0, integer=False) -> int:
        """Add ``len(cost)`` variables; return the index of the first."""
        cost = np.asarray(cost, dtype=float)
        k = len(cost)
        start = self.nvar
        self._c.append(cost)
        self._lb.append(np.broadcast_to(np.asarray(lb, dtype=float), (k,)))
        self._ub.append(np.broadcast_to(np.asarray(ub, dtype=float), (k,)))
        self._int.append(np.full(k, 1 if integer else 0, dtype=np.uint8))
        self.nvar += k
        return start

    def add_rows(self, row, col, val, nrows: int, lo, hi) -> None:
        """Add ``nrows`` constraints ``lo <= A x <= hi`` given as triplets (row local to the block)."""
        row = np.asarray(row, dtype=np.int64)
        self._rows.append((row + self.nrow, np.asarray(col, dtype=np.int64), np.asarray(val, dtype=float)))
        self._rlo.append(np.broadcast_to(np.asarray(lo, dtype=float), (nrows,)))
        self._rhi.append(np.broadcast_to(np.asarray(hi, dtype=float), (nrows,)))
        self.nrow += nrows

    def solve(self, time_limit: float | None = None, *, presolve: bool = True) -> Outcome:
        """Solve with HiGHS; ``presolve=False`` for models it mis-presolves (see
        ``CAPACITY_PRESOLVE``)."""
        t0 = time.perf_counter()
        c = np.concatenate(self._c)
        if self._rows:
            r = np.concatenate([b[0] for b in self._rows])
            k = np.concatenate([b[1] for b in self._rows])
            v = np.concatenate([b[2] for b in self._rows])
            A = sp.csr_matrix((v, (r, k)), shape=(self.nrow, self.nvar))
            cons = [LinearConstraint(A, np.concatenate(self._rlo), np.concatenate(self._rhi))]
        else:
            cons = []
        options = {"mip_rel_gap": 0.0, "presolve": presolve, "disp": False}
        if time_limit is not None:
            options["time_limit"] = max(float(time_limit), 1e-3)
        res = milp(c, constraints=cons, integrality=np.concatenate(self._int),
                   bounds=Bounds(np.concatenate(self._lb), np.concatenate(self._ub)), options=options)
        seconds = time.perf_counter() - t0
        x = res.x if getattr(res, "x", None) is not None else None
        status = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded"}.get(res.status, "error")
        if status == "optimal" and x is None:  # pragma: no cover - defensive
            status = "error"
        obj = float(c @ x) if x is not None else None
        bound = getattr(res, "mip_dual_bound", None)
        if bound is not None and not np.isfinite(bound):
            bound = None
        if status == "optimal":
            bound = obj
        return Outcome(status, x, obj, None if bound is None else float(bound), seconds, str(res.message))


def safe_presolve(capacitated: bool, fixed_open) -> bool:
    """Whether presolve may be used. HiGHS 1.2 (scipy 1.10) presolve returned 0 as
    "optimal" for a capacitated MCLP whose sites were fixed open by their bounds
    (0 instead of 16 on a 4 x 2 case); without presolve the optimum is right.
    Such models are small once the sites are fixed, so solving them without
    presolve costs little."""
    return not (capacitated and len(fixed_open) > 0)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``|objective - bound| / max(|objective|, 1e-9)``; None when either is unknown."""
    if objective is None or bound is None:
        return None
    return abs(objective - bound) / max(abs(objective), 1e-9)


def no_solution(outcome: Outcome, model: str) -> SolverError:
    return SolverError(
        f"{model}: the solver stopped ({outcome.status}) before finding any solution",
        hint="raise time_limit (or pass None) or make the problem smaller")
