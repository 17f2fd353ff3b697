"""The one result shape every location-allocation model returns."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class LocationResult:
    """Outcome of a location-allocation run.

    Attributes
    ----------
    selected : tuple of int
        Sorted column indices of the open candidate sites (predefined included).
    objective : float
        The model's own objective value (total weighted cost for p-median,
        covered weight for MCLP, number of sites for LSCP, weight covered twice
        for LSCP-B, largest assigned cost for p-center).
    assignment : numpy.ndarray
        ``(n,)`` int array, the open site serving each demand point (the one
        with the largest share when demand is split), ``-1`` if none.
        Read-only.
    allocation : scipy.sparse.csr_matrix or None
        ``(n, m)`` share of each demand point's demand served by each site,
        for the capacitated models (where demand may be split); ``None``
        otherwise.
    covered_weight, coverage_pct : float or None
        Coverage models only: the weight within ``max_cost`` of an open site
        (its served share when capacitated) and that weight as a percentage of
        the total (``None`` when the total weight is zero).
    status : str
        ``"optimal"`` (proven optimal) or ``"time_limit"`` (the best solution
        found when the time limit stopped the solver; see ``gap``).
        Infeasible models raise :class:`welfare_core.errors.InfeasibleError`
        instead of returning a result.
    gap : float or None
        Relative gap ``|objective - bound| / max(|objective|, tiny)`` between
        the objective and the best proven bound; 0 when optimal, ``None``
        when no bound is known.
    bound : float or None
        The best proven bound on the objective (lower bound when minimising,
        upper bound when maximising).
    solver : str
        Solver name and version.
    seconds : float
        Wall time of the whole call (model build and solve).
    """

    selected: tuple
    objective: float
    assignment: np.ndarray
    allocation: object
    covered_weight: float | None
    coverage_pct: float | None
    status: str
    gap: float | None
    solver: str
    seconds: float
    bound: float | None = None

    def __post_init__(self):
        self.assignment.setflags(write=False)
