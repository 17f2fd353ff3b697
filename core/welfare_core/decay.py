"""Distance-decay functions: how much a facility at cost c counts, W(c) >= 0.

Each factory returns a vectorised callable ``weights = f(cost)`` (ndarray in,
ndarray of the same shape out) that also records its name and parameters, so
a run log can say which decay was used. Unreachable costs (``np.inf``) weigh 0.

==============  =============================================================
step(bounds)    W(c) = w_k for the first upper bound b_k >= c (inclusive); 0 beyond the last
gaussian(σ)     W(c) = exp(-c² / (2σ²))              (W(0) = 1, no normalisation)
gravity(s,α,c0) W(c) = (max(c, c0) / s) ** α          (α <= 0)
exponential(β)  W(c) = exp(-β c)
linear(d)       W(c) = max(0, 1 - c / d)
==============  =============================================================

The forms follow PySAL ``access.weights`` (step_fn, gaussian, gravity), so
the same parameters give the same numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from .errors import InputError


@dataclass(frozen=True, eq=False)
class Decay:
    """A vectorised decay function with its name and parameters (for run logs)."""

    name: str
    params: Mapping[str, object] = field(default_factory=dict)
    fn: Callable[[np.ndarray], np.ndarray] = field(default=None, repr=False)
    # a step function's (ascending bounds, weights), so a caller holding squared
    # distances can band them exactly instead of calling fn (None for other decays)
    steps: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __call__(self, cost) -> np.ndarray:
        return self.fn(np.asarray(cost, dtype=np.float64))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"decay.{self.name}({args})"


def step(steps: Mapping[float, float]) -> Decay:
    """Step weights: ``{upper bound: weight}``, bounds inclusive, 0 beyond the last.

    ``step({10: 1.0, 20: 0.68, 30: 0.22})`` gives 1 for c <= 10, 0.68 for
    10 < c <= 20, 0.22 for 20 < c <= 30 and 0 for c > 30 (the enhanced 2SFCA
    weights of Luo & Qi 2009).
    """
    if not isinstance(steps, Mapping) or not steps:
        raise InputError(f"step decay needs a non-empty {{upper bound: weight}} mapping, "
                         f"got {steps!r}", hint="e.g. decay.step({10: 1.0, 20: 0.68, 30: 0.22})")
    bounds = np.array([_number(k, "step decay bound", minimum=0.0) for k in steps])
    weights = np.array([_number(v, "step decay weight", minimum=0.0) for v in steps.values()])
    order = np.argsort(bounds)
    bounds, weights = bounds[order], weights[order]
    # one extra 0 for costs beyond the last bound
    table = np.append(weights, 0.0)

    def fn(cost):
        # index of the first bound >= cost (bounds inclusive) = how many bounds are < cost;
        # a few vectorised comparisons counted in uint8 beat a binary search (~4x on
        # 600k costs with 3 steps) and an intp count (~1.6x)
        cost = np.asarray(cost, dtype=np.float64)
        if len(bounds) > 1:
            cost = np.ascontiguousarray(cost)  # read once per bound: strided reads cost more
        if len(bounds) > 8:
            return table[np.searchsorted(bounds, cost, side="left")]
        index = np.zeros(cost.shape, dtype=np.uint8)
        above = np.empty(cost.shape, dtype=bool)
        for bound in bounds:
            np.greater(cost, bound, out=above)
            index += above.view(np.uint8)
        return table[index]

    return Decay("step", {"steps": dict(zip(bounds.tolist(), weights.tolist()))}, fn,
                 (bounds, weights))


def gaussian(sigma: float) -> Decay:
    """``W(c) = exp(-c² / (2σ²))``; σ > 0 in the cost's units."""
    sigma = _number(sigma, "gaussian sigma", positive=True)
    two_s2 = 2.0 * sigma * sigma

    def fn(cost):
        return np.exp(-(cost * cost) / two_s2)

    return Decay("gaussian", {"sigma": sigma}, fn)


def gravity(scale: float = 1.0, alpha: float = -1.0, min_cost: float = 0.0) -> Decay:
    """``W(c) = (max(c, c0) / s) ** α`` with scale s > 0, α <= 0, c0 = min_cost >= 0.

    With α < 0 the weight is infinite at cost 0, so a co-located facility
    (a valid zero cost) needs ``min_cost > 0``; the function raises InputError
    when it meets a cost below a zero ``min_cost`` instead of returning inf.
    """
    scale = _number(scale, "gravity scale", positive=True)
    alpha = _number(alpha, "gravity alpha")
    if alpha > 0:
        raise InputError(f"gravity alpha must be <= 0 (weights fall with cost), got {alpha}",
                         hint="use a negative exponent such as -1 or -2")
    min_cost = _number(min_cost, "gravity min_cost", minimum=0.0)

    def fn(cost):
        c = np.maximum(cost, min_cost)
        if alpha < 0 and (c == 0).any():
            raise InputError("gravity decay is infinite at cost 0 (a facility at the same "
                             "place as a demand point)",
                             hint="set min_cost > 0, e.g. decay.gravity(..., min_cost=50)")
        return np.power(c / scale, alpha)

    return Decay("gravity", {"scale": scale, "alpha": alpha, "min_cost": min_cost}, fn)


def exponential(beta: float) -> Decay:
    """``W(c) = exp(-β c)``; β >= 0 per cost unit."""
    beta = _number(beta, "exponential beta", minimum=0.0)

    def fn(cost):
        return np.exp(-beta * cost)

    return Decay("exponential", {"beta": beta}, fn)


def linear(max_cost: float) -> Decay:
    """``W(c) = max(0, 1 - c / d)``; d = max_cost > 0 (W(d) = 0)."""
    d = _number(max_cost, "linear max_cost", positive=True)

    def fn(cost):
        return np.maximum(0.0, 1.0 - cost / d)

    return Decay("linear", {"max_cost": d}, fn)


DECAYS = {"step": step, "gaussian": gaussian, "gravity": gravity,
          "exponential": exponential, "linear": linear}
"""Decay factories by name (for the SQL and QGIS doors, which pass names)."""


def from_name(name: str, **params) -> Decay:
    """``from_name("gaussian", sigma=500)`` = ``gaussian(sigma=500)``; for adapters."""
    if name not in DECAYS:
        raise InputError(f"unknown decay {name!r}", hint=f"use one of {', '.join(DECAYS)}")
    try:
        return DECAYS[name](**params)
    except TypeError as exc:
        raise InputError(f"bad parameters for decay {name!r}: {exc}",
                         hint=f"see welfare_core.decay.{name} for its parameters") from None


def _number(value, what: str, *, positive: bool = False, minimum: float | None = None) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise InputError(f"{what} must be finite, got {value!r}")
    if positive and x <= 0:
        raise InputError(f"{what} must be > 0, got {value!r}")
    if minimum is not None and x < minimum:
        raise InputError(f"{what} must be >= {minimum:g}, got {value!r}")
    return x
