"""Location-allocation models: p-median, MCLP, LSCP, LSCP-B and p-center.

Every model takes ``cost`` as a dense ``(n, m)`` array (``np.inf`` =
unreachable) or a CostMatrix, builds sparse variables over the reachable
pairs only and solves exactly with HiGHS (in-process, ``scipy.optimize.milp``
with ``mip_rel_gap=0``). Each call returns a :class:`LocationResult` that
records status, objective, bound and gap, solver and seconds.
"""
from .classic import lscp, lscp_b, mclp, p_center, p_median
from .result import LocationResult
from ._milp import SolverError
from .welfare_models import (CapacityResult, ClosureResult, EquityResult, SweepPoint, allocate_capacity,
                             closure, equity, sweep_budget, sweep_p)

__all__ = ["p_median", "mclp", "lscp", "lscp_b", "p_center", "LocationResult", "SolverError",
           "allocate_capacity", "equity", "closure", "sweep_p", "sweep_budget",
           "CapacityResult", "EquityResult", "ClosureResult", "SweepPoint"]
