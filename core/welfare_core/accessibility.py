r"""Spatial accessibility: floating catchment areas, gravity potential, nearest, share within.

Notation: demand points i = 1..n with demand D_i, facilities j = 1..m with
supply S_j, cost c_ij, cutoff d0 (inclusive), decay W (W = 1 when None).
The catchment weight of a pair is

.. math::  W_{ij} = W(c_{ij}) \;\text{if}\; c_{ij} \le d_0, \;\text{else}\; 0

**2SFCA** (Luo & Wang 2003; with a decay W it is the enhanced 2SFCA of
Luo & Qi 2009 / the kernel 2SFCA of Dai 2010):

.. math::

    R_j = \frac{S_j}{\sum_k W_{kj} D_k} \qquad
    A_i = \sum_j W_{ij} R_j

**3SFCA** (Wan, Zou & Sternberg 2012) first spreads each origin's demand
over the facilities of its catchment with selection weights

.. math::

    G_{ij} = \frac{W_{ij}}{\sum_{l:\,c_{il} \le d_0} W_{il}} \qquad
    R_j = \frac{S_j}{\sum_k G_{kj} W_{kj} D_k} \qquad
    A_i = \sum_j G_{ij} W_{ij} R_j

Conventions, so no result is NaN: R_j = 0 when its catchment demand is 0
(nobody can use the facility); A_i = 0 for an origin that reaches nothing;
G_ij = 0 when all of origin i's weights are 0. The ratios conserve supply:
Σ_i D_i A_i = Σ_j S_j over the facilities whose catchment demand is > 0.

Implementation: the weights of the reachable pairs of a
:class:`~welfare_core.costs.CostMatrix`, in whatever order the pairs are
stored (the range join's order: no sort), then two sparse COO products (one
scatter-sum over the pairs by facility, then one by origin; no CSR build);
no Python loop over pairs. The 3SFCA selection weights factor as
G_ij W_ij = W_ij² / Σ_l W_il, so the per-origin denominator scales the
demand and the result instead of every pair. Demand may be a matrix (n, k)
— e.g. every target served by a service type — and all k columns go
through the same products at once. Mostly reachable dense costs stay dense
(BLAS products). Without a decay or with a step decay, a CostMatrix fresh from
:func:`~welfare_core.costs.euclidean` (pairs not made yet) is used as the range
join's dense blocks instead: two passes of BLAS products per block, no pairs (a
step decay only when the blocks are dense enough, see ``_BANDED_DENSITY``).

Note on PySAL ``access``: its ``three_stage_fca`` sums the selection
weights' denominator over every pair of its cost table, not only those
within ``max_cost``. The two agree whenever the decay is 0 beyond the cutoff
(e.g. a step function whose last bound is the cutoff) or the cost table
holds only pairs within it; Wan et al. define it over the catchment, as here.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from .costs import CostMatrix, as_cost, check_max_cost, dense_array
from .errors import InputError

METHODS = ("2sfca", "3sfca")


# --- public functions ---------------------------------------------------------------

def two_step_fca(demand, supply, cost, max_cost, decay=None, *,
                 normalize: bool = False) -> np.ndarray:
    """Two-step floating catchment accessibility A_i (supply per unit of demand).

    demand (n,) or (n, k); supply (m,) or (m, k); cost (n, m) dense array
    (np.inf = unreachable) or CostMatrix; max_cost: inclusive cutoff > 0;
    decay: None (W = 1 inside the cutoff) or a callable from
    :mod:`welfare_core.decay` (``decay.step`` gives the enhanced 2SFCA).
    normalize: divide by the demand-weighted mean (see :func:`normalize_access`).
    Returns (n,) — or (n, k) for matrix input.
    """
    return fca(demand, supply, cost, max_cost, decay, method="2sfca", normalize=normalize)


def three_step_fca(demand, supply, cost, max_cost, decay=None, *,
                   normalize: bool = False) -> np.ndarray:
    """Three-step floating catchment accessibility (Wan et al. 2012).

    Like :func:`two_step_fca`, with selection weights
    G_ij = W_ij / Σ_{l in catchment of i} W_il that share an origin's demand
    among the facilities it can reach, so crowded choices are not double counted.
    """
    return fca(demand, supply, cost, max_cost, decay, method="3sfca", normalize=normalize)


def fca(demand, supply, cost, max_cost, decay=None, *, method: str = "2sfca",
        normalize: bool = False) -> np.ndarray:
    """2SFCA or 3SFCA for one or several demand vectors at once.

    demand: (n,) or (n, k) — one column per target (e.g. all targets served
    by a service type in one call); supply: (m,) shared by every column, or
    (m, k), e.g. capacity × the service's share for each target.
    Returns an array shaped like ``demand``.
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    d, s, one_d = _demand_supply(demand, supply)
    max_cost = check_max_cost(max_cost)
    shape = (d.shape[0], s.shape[0])
    steps = _block_steps(decay)
    if steps is not None and isinstance(cost, CostMatrix) and cost._fusable() and (
            decay is None or cost._block_density(max_cost) >= _BANDED_DENSITY):
        # straight from costs.euclidean, pairs not made yet: run on the join's blocks
        access = _fused_two_steps(as_cost(cost, shape=shape), d, s, max_cost,
                                  method == "3sfca", *steps)
    else:
        w = _weights(cost, shape, max_cost, decay)
        if method == "3sfca":
            w = _selection_weighted(w)
        access = _two_steps(w, d, s)
    if normalize:
        access = normalize_access(access, d)
    return access[:, 0] if one_d else access


def gravity_potential(supply, cost, decay, max_cost=None) -> np.ndarray:
    r"""Hansen potential :math:`A_i = \sum_j S_j W(c_{ij})` over pairs with c_ij <= max_cost.

    supply (m,) or (m, k); decay is required (a callable from
    :mod:`welfare_core.decay`); max_cost None = every reachable pair.
    Returns (n,) or (n, k). No competition for supply (see 2SFCA for that).
    """
    if decay is None:
        raise InputError("gravity_potential needs a decay",
                         hint="e.g. decay.gravity(scale=1000, alpha=-1, min_cost=50)")
    s, one_d = _as_2d(supply, "supply")
    cm = as_cost(cost, max_cost=None if max_cost is None else check_max_cost(max_cost))
    if cm.shape[1] != s.shape[0]:
        raise InputError(f"cost has {cm.shape[1]} destination columns but supply has "
                         f"{s.shape[0]} values", hint="one supply value per facility column")
    row, col, c = cm._pairs()
    access = _PairWeights.of_pairs(cm.shape, row, col, _decay_values(c, decay)).dot(s)
    return access[:, 0] if one_d else access


def nearest_cost(cost) -> np.ndarray:
    """Cost to the nearest reachable destination per origin (n,); np.inf if none."""
    cost_to, _ = nearest(cost)
    return cost_to


def nearest(cost) -> tuple[np.ndarray, np.ndarray]:
    """(cost, column index) of each origin's nearest destination; (np.inf, -1) if none.

    Ties go to the lowest column index.
    """
    cm = as_cost(cost)
    n = cm.shape[0]
    best_cost, best_col = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    if cm.nnz:
        row, col, c = cm._pairs()
        counts = np.bincount(row, minlength=n)
        rows = np.flatnonzero(counts)
        by_row = c
        if not cm._sorted:
            # group the costs by origin (one stable radix sort for < 65,536 origins,
            # about half of sorting the pairs by (row, col)); np.minimum.at is ~5x slower
            by_row = c[np.argsort(row.astype(np.uint16) if n <= 2**16 else row, kind="stable")]
        # a segmented minimum per origin ...
        best_cost[rows] = np.minimum.reduceat(by_row, np.cumsum(counts[rows]) - counts[rows])
        # ... then the lowest column among its pairs at that minimum (usually one each)
        at_min = np.flatnonzero(c == best_cost[row])
        row_min, col_min = row[at_min], col[at_min]
        order = np.lexsort((col_min, row_min))
        row_min, col_min = row_min[order], col_min[order]
        first = np.concatenate(([True], row_min[1:] != row_min[:-1]))
        best_col[row_min[first]] = col_min[first]
    return best_cost, best_col


def share_within(demand, cost, max_cost) -> float:
    """Share (0–1) of total demand with at least one destination at cost <= max_cost.

    Σ_i D_i [min_j c_ij <= d0] / Σ_i D_i. Total demand 0 raises InputError
    (the share is undefined).
    """
    d, _ = _as_2d(demand, "demand")
    if d.shape[1] != 1:
        raise InputError(f"share_within takes one demand vector (n,), got shape {d.shape}",
                         hint="call it once per demand column")
    d = d[:, 0]
    cm = as_cost(cost, max_cost=check_max_cost(max_cost))
    if cm.shape[0] != len(d):
        raise InputError(f"cost has {cm.shape[0]} origin rows but demand has {len(d)} values",
                         hint="one demand value per cost row, in the same order")
    total = d.sum()
    if total <= 0:
        raise InputError("demand sums to 0, so the share within reach is undefined",
                         hint="check the demand column, or skip targets with no demand")
    served = np.zeros(len(d), dtype=bool)
    served[cm._pairs()[0]] = True
    return float(d[served].sum() / total)


def normalize_access(access, demand) -> np.ndarray:
    r"""Divide by the demand-weighted mean: :math:`A_i / (\sum_k D_k A_k / \sum_k D_k)`.

    Column by column for (n, k) input; 1 then means "as good as the average
    person". A column whose weighted mean is 0 (nobody reaches supply, or no
    demand) raises InputError rather than returning NaN.
    """
    a, one_d = _as_2d(access, "access")
    d, _ = _as_2d(demand, "demand")
    if d.shape != a.shape and d.shape[1] == 1:
        d = np.broadcast_to(d, a.shape)
    if d.shape != a.shape:
        raise InputError(f"demand shape {d.shape} does not match access shape {a.shape}")
    total = d.sum(axis=0)
    weighted = (d * a).sum(axis=0)
    bad = ~((total > 0) & (weighted > 0))
    if bad.any():
        raise InputError(f"cannot normalise demand column(s) {np.flatnonzero(bad).tolist()}: "
                         "the demand-weighted mean accessibility is 0",
                         hint="no demand reaches any supply there; report raw values instead")
    out = a / (weighted / total)
    return out[:, 0] if one_d else out


# --- building blocks ------------------------------------------------------------------

def catchment_weights(cost: CostMatrix, decay=None) -> sparse.csr_matrix:
    """CSR (n, m) of W_ij over the pairs of ``cost`` (already cut at d0).

    Pairs whose weight is 0 stay as explicit entries; they contribute nothing
    to the products, so that is harmless.
    """
    return cost.to_csr(_decay_values(cost.cost, decay))


# Share of reachable cells above which dense costs stay dense: BLAS products on
# the full array then beat building and multiplying a sparse matrix.
DENSE_SHARE = 0.25


def _weights(cost, shape, max_cost: float, decay):
    """W_ij within the cutoff: a dense array when the costs come dense and mostly
    reachable, else :class:`_PairWeights` over the reachable pairs (same numbers)."""
    if isinstance(cost, np.ndarray):
        arr = dense_array(cost)
        inside = arr <= max_cost
        if arr.shape == tuple(shape) and inside.mean() >= DENSE_SHARE:
            w = np.zeros(arr.shape)
            w[inside] = _decay_values(arr[inside], decay)
            return w
    cm = as_cost(cost, shape=shape, max_cost=max_cost)
    row, col, c = cm._pairs()
    return _PairWeights.of_pairs(cm.shape, row, col, _decay_values(c, decay))


class _PairWeights:
    """An (n, m) matrix ``scale_i · w_k`` at the pairs k = (row_k, col_k), 0 elsewhere.

    The pairs may come in any order: the products are scipy's COO products, one
    pass over the pairs per demand column with no sort and no CSR build (about
    3x faster than a gather plus ``np.bincount`` per product). ``scale`` None
    means 1 for every row.
    """

    def __init__(self, coo: sparse.coo_matrix, scale=None):
        self.coo, self.shape, self.scale = coo, coo.shape, scale

    @classmethod
    def of_pairs(cls, shape, row, col, w) -> "_PairWeights":
        return cls(sparse.coo_matrix((w, (row, col)), shape=shape))

    def row_sum(self) -> np.ndarray:
        """Σ_j of each row, (n,)."""
        out = np.asarray(self.coo @ np.ones(self.shape[1]))
        return out if self.scale is None else out * self.scale

    def square(self, scale=None) -> "_PairWeights":
        """In place: the pairs' w², with new row factors ``scale`` (no new COO checks)."""
        self.coo.data = self.coo.data * self.coo.data  # a new array: w may be shared
        self.scale = scale
        return self

    def t_dot(self, x: np.ndarray) -> np.ndarray:
        """(m, k) = matrixᵀ @ x for x (n, k)."""
        if self.scale is not None:
            x = x * self.scale[:, None]
        return np.asarray(self.coo.T @ x)

    def dot(self, y: np.ndarray) -> np.ndarray:
        """(n, k) = matrix @ y for y (m, k)."""
        out = np.asarray(self.coo @ y)
        return out if self.scale is None else out * self.scale[:, None]


def _decay_values(costs: np.ndarray, decay=None) -> np.ndarray:
    """W(c) for reachable costs, checked: finite and >= 0 (1 everywhere when decay is None)."""
    if decay is None:
        return np.ones(len(costs))
    if not callable(decay):
        raise InputError(f"unknown decay {decay!r}",
                         hint="pass None or a function from welfare_core.decay, e.g. "
                              "decay.gaussian(sigma=500); by name: decay.from_name(...)")
    w = np.asarray(decay(costs), dtype=np.float64)
    if w.shape != costs.shape:
        raise InputError(f"decay returned shape {w.shape} for {costs.shape} costs",
                         hint="a decay must be vectorised: array of costs in, "
                              "array of weights out")
    # min >= 0 is False for NaN too; max < inf catches +inf (two passes, no temporaries)
    if len(w) and not (w.min() >= 0 and w.max() < np.inf):
        raise InputError(f"decay {decay!r} returned negative, NaN or infinite weights",
                         hint="weights must be finite and >= 0 for every cost "
                              "within the cutoff")
    return w


def _selection_weighted(w):
    """The 3SFCA matrix G_ij W_ij = W_ij² / Σ_l W_il (0 for rows whose sum is 0)."""
    inv = _inverse(w.sum(axis=1) if isinstance(w, np.ndarray) else w.row_sum())
    if isinstance(w, np.ndarray):
        return w * w * inv[:, None]
    # W² over the pairs, times 1 / Σ_l W_il per row (applied to whole rows, not pairs)
    return w.square(inv)


def _two_steps(w, d: np.ndarray, s: np.ndarray) -> np.ndarray:
    """R = S / (Wᵀ D) (0 where Wᵀ D = 0), then A = W R; columns processed together."""
    dense = isinstance(w, np.ndarray)
    catchment_demand = w.T @ d if dense else w.t_dot(d)         # (m, k)
    ratio = np.divide(s, catchment_demand, out=np.zeros(catchment_demand.shape),
                      where=catchment_demand > 0)
    return w @ ratio if dense else w.dot(ratio)                  # (n, k)


# Fused FCA: the blocks' cells are kept between its two passes up to this many bytes;
# past it, the second pass redoes the blocks' distances.
_KEEP_BYTES = 1 << 25
# Step functions with more bounds than this take the pairs (one comparison per bound
# and cell of the blocks), and so do blocks with fewer pairs per cell than this:
# banding and weighing every cell then costs more than making the pairs (3SFCA with
# three steps, 1,500-6,000 x 1,000 points: 0.7-0.85x the pairs' speed at a share of
# 0.06-0.16, 0.96-1.10x at 0.21-0.25, 1.3-1.8x at 0.3-0.44).
_FUSED_BOUNDS = 8
_BANDED_DENSITY = 0.25


def _block_steps(decay):
    """(bounds, table) for :func:`_fused_two_steps`: ``(None, None)`` without a decay,
    a step function's bounds and weights (one 0 past its last bound, one beyond the
    cutoff: a block band's weights); None when the decay cannot run on the blocks.
    (A decay evaluated on the blocks' cells, about 2.5 per pair, and scattered
    back costs about what making the pairs saves; a step needs only comparisons.)"""
    if decay is None:
        return None, None
    steps = getattr(decay, "steps", None)
    if steps is None or len(steps[0]) > _FUSED_BOUNDS:
        return None
    bounds, weights = steps
    return bounds, np.append(weights, (0.0, 0.0))


def _fused_two_steps(cm: CostMatrix, d: np.ndarray, s: np.ndarray, max_cost: float,
                     select: bool, bounds=None, table=None) -> np.ndarray:
    """:func:`_two_steps` (with ``select``, after :func:`_selection_weighted`) on the
    dense blocks of a lazy :class:`CostMatrix` (``cm._blocks``), without making its
    pairs; W = 1 within the cutoff, or with step ``bounds``, ``table`` [band] of each
    cell (see :func:`_block_steps`).

    Each block holds some origins with all of their pairs among its candidate
    destinations (unique within the block), so per block, with W its weights
    (0 outside the cutoff): ``den[cand] += Wᵀ D[rows]``; then R = S / den (0 where
    den = 0) and ``A[rows] = W R[cand]``. For 3SFCA, G_ij W_ij = W_ij² / Σ_l W_il:
    W² with the demand and the result scaled per row (the whole row is in the
    block). The same sums as the pair products, in another order (equal to rounding).
    """
    n, m = cm.shape
    k = d.shape[1]
    den = np.zeros((m, k))
    buf = np.empty(0)
    kept, size = [], 0
    for rows, cand, _, cells in cm._blocks(max_cost, bounds):
        w, inv, buf = _block_matrix(cells, table, select, buf)
        den[cand] += w.T @ (d[rows] if inv is None else d[rows] * inv[:, None])
        size += cells.nbytes
        if size <= _KEEP_BYTES:
            kept.append((rows, cand, cells.copy(), inv))  # cells are reused by the join
    ratio = np.divide(s, den, out=np.zeros(den.shape), where=den > 0)
    access = np.zeros((n, k))
    if size > _KEEP_BYTES:  # the blocks again; 3SFCA's row factors again too
        kept = ((rows, cand, cells, None)
                for rows, cand, _, cells in cm._blocks(max_cost, bounds))
    squared = table * table if select and table is not None else table
    for rows, cand, cells, inv in kept:
        if select and inv is None:  # a block made again: its row factors too
            w, inv, buf = _block_matrix(cells, table, select, buf)
        else:
            w, buf = _block_weights(cells, squared, buf)
        a = w @ ratio[cand]
        access[rows] = a if inv is None else a * inv[:, None]
    return access


def _block_matrix(cells, table, select, buf):
    """(M, inv, buf) of a block: M = W and inv None; with ``select``, M = W² and
    inv = 1 / Σ_l W_il per row (see :func:`_block_weights`)."""
    w, buf = _block_weights(cells, table, buf)
    if not select:
        return w, None, buf
    inv = _inverse(w.sum(axis=1))
    if table is not None:
        np.multiply(w, w, out=w)  # W²; W² = W for 0/1 weights
    return w, inv, buf


def _inverse(total: np.ndarray) -> np.ndarray:
    """1 / total, in place, and 0 where total is 0 (kept: ``where`` leaves those)."""
    return np.divide(1.0, total, out=total, where=total > 0)


def _block_weights(cells, table, buf):
    """(W, buf): a block's weights as floats in ``buf`` (grown when too small; overwritten
    by the next block): ``cells`` (bool) as 0/1 when ``table`` is None, else
    ``table[cells]`` (uint8 bands)."""
    if buf.size < cells.size:
        buf = np.empty(max(cells.size, 1 << 18))
    w = buf[:cells.size].reshape(cells.shape)
    if table is None:
        np.copyto(w, cells)
    else:
        np.take(table, cells, out=w, mode="clip")  # 'clip': no buffered copy of out
    return w, buf


def _demand_supply(demand, supply):
    d, one_d = _as_2d(demand, "demand")
    s, _ = _as_2d(supply, "supply")
    if s.shape[1] == 1 and d.shape[1] > 1:
        s = np.repeat(s, d.shape[1], axis=1)
    if s.shape[1] != d.shape[1]:
        raise InputError(f"supply has {s.shape[1]} columns but demand has {d.shape[1]}",
                         hint="give one supply column per demand column, or a single one")
    return d, s, one_d


def _as_2d(values, name: str) -> tuple[np.ndarray, bool]:
    """Validate a (n,) or (n, k) array of finite values >= 0; return it as (n, k)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric") from None
    if arr.ndim not in (1, 2):
        raise InputError(f"{name} must be a vector (n,) or a matrix (n, k), got shape "
                         f"{arr.shape}")
    if np.isnan(arr).any():
        raise InputError(f"{name} has {int(np.isnan(arr).sum())} missing (NaN) value(s)",
                         hint=f"fill missing {name} with 0 or drop those rows")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InputError(f"{name} must be finite and >= 0",
                         hint=f"check the {name} column for negative or infinite values")
    return (arr[:, None], True) if arr.ndim == 1 else (arr, False)
