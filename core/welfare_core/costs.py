"""Travel costs between origins (demand points) and destinations (facilities).

Every analysis takes its costs in one of two shapes:

* a dense ``(n, m)`` ndarray, ``np.inf`` where a destination is unreachable;
* a :class:`CostMatrix`: the reachable pairs only, as ``(row, col, cost)``
  triplets. This is what a cutoff produces: memory and time grow with the
  number of reachable pairs, never with ``n × m``.

A zero cost is a real cost (a facility in the same place as the demand
point), never "missing": a pair is unreachable only by being absent from a
CostMatrix or ``np.inf`` in a dense array. Cutoffs are inclusive
(``cost <= max_cost``). Distances are planar, in metres, computed here only,
so the SQL and QGIS doors give the same numbers.

:func:`as_cost` is the single normaliser every core function uses to accept
either shape.

Builders: :func:`euclidean` (a tiled range join up to the cutoff),
:func:`from_od_table` (the user's own long OD table), :func:`network`
(shortest paths on a street edge list, scipy's Dijkstra from each distinct
origin node, stopped at the cutoff) and :func:`network_from_node_costs` (the
same snapping and cutoff around node-to-node costs computed elsewhere, e.g.
by pgRouting's ``pgr_dijkstraCost`` in the SQL door).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy import sparse

from .errors import InputError, UnknownIdError

# Travel speeds in km/h for converting metres to minutes (urban averages,
# door to door). Walking 4.5 km/h is the usual planning figure for adults;
# 3 km/h for older people, the usual figure for frail pedestrians; bike 15 km/h and
# public transport 15 km/h (including waits and transfers) are city averages;
# car 25 km/h is an urban average with congestion and parking.
WALK_KMH = 4.5
ELDERLY_WALK_KMH = 3.0
BIKE_KMH = 15.0
CAR_URBAN_KMH = 25.0
TRANSIT_KMH = 15.0

SPEED_KMH: Mapping[str, float] = {
    "walk": WALK_KMH,
    "walk_elderly": ELDERLY_WALK_KMH,
    "bike": BIKE_KMH,
    "car": CAR_URBAN_KMH,
    "transit": TRANSIT_KMH,
}
"""Travel modes accepted by :func:`travel_time`, with their speed in km/h."""


@dataclass(frozen=True, eq=False, init=False, repr=False)
class CostMatrix:
    """Costs of the reachable (origin, destination) pairs of an ``(n, m)`` problem.

    ``row[k]``, ``col[k]``, ``cost[k]``: origin index, destination index and
    cost of the k-th reachable pair. Pairs are sorted by (row, col), without
    duplicates; costs are finite and >= 0 (zero is a valid cost). Absent
    pairs are unreachable. The arrays are read-only.

    Internally the pairs may be held in any order (e.g. straight from the tiled
    range join of :func:`euclidean`): sorting 10^5-10^6 pairs costs more than a 2SFCA on them, and
    order-free consumers (the floating catchment sums, ``within``,
    ``to_dense``) never need it. ``row`` / ``col`` / ``cost`` sort them on
    first access (once; the sorted arrays replace the stored ones).
    A matrix from :func:`euclidean` makes its pairs on first use (any view);
    a 2SFCA / 3SFCA without a decay that comes first needs none of them.
    """

    shape: tuple[int, int]
    _row: np.ndarray
    _col: np.ndarray
    _cost: np.ndarray
    _sorted: bool

    def __init__(self, shape, row, col, cost):
        n, m = _check_shape(shape)
        row = np.asarray(row, dtype=np.int64).ravel()
        col = np.asarray(col, dtype=np.int64).ravel()
        cost = np.asarray(cost, dtype=np.float64).ravel()
        if not (len(row) == len(col) == len(cost)):
            raise InputError(
                f"CostMatrix row, col and cost have different lengths "
                f"({len(row)}, {len(col)}, {len(cost)})",
                hint="pass one entry per reachable pair in each array")
        if len(row) and (row.min() < 0 or row.max() >= n or col.min() < 0 or col.max() >= m):
            raise InputError(f"CostMatrix indices fall outside its shape {(n, m)}",
                             hint="row indices must be in [0, n), col indices in [0, m)")
        _check_costs(cost, "CostMatrix cost", allow_inf=False)
        self._store(_canonical(row, col, cost, m), True)
        object.__setattr__(self, "shape", (n, m))

    def _store(self, pairs, is_sorted: bool) -> None:
        # sorted pairs are the public arrays: int64 indices. Unsorted ones are private and
        # may keep int32 indices (half the memory; what scipy's sparse products use).
        index = (np.int64,) if is_sorted else (np.int32, np.int64)
        for name, arr in zip(("_row", "_col", "_cost"), pairs):
            if name == "_cost":
                arr = np.ascontiguousarray(arr, dtype=np.float64)
            else:
                arr = np.asarray(arr)
                if arr.dtype not in index or not arr.flags.c_contiguous:
                    arr = np.ascontiguousarray(arr, dtype=np.int64)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "_sorted", bool(is_sorted))

    # --- constructors ---------------------------------------------------------

    @classmethod
    def _trusted(cls, shape, row, col, cost, *, is_sorted: bool = True) -> "CostMatrix":
        """Skip validation (and sorting): only for pairs that are valid by construction
        (unique, in range, finite costs >= 0), e.g. a subset of a CostMatrix's pairs or
        a KD-tree result. ``is_sorted``: the pairs are already sorted by (row, col);
        with False they are sorted only if someone reads ``row`` / ``col`` / ``cost``.
        Saves ~10 passes over the pairs. The arrays are taken over (made read-only):
        pass fresh or read-only ones."""
        self = object.__new__(cls)
        self._store((row, col, cost), is_sorted)
        object.__setattr__(self, "shape", (int(shape[0]), int(shape[1])))
        return self

    @classmethod
    def from_dense(cls, cost, max_cost: float | None = None) -> "CostMatrix":
        """The finite entries of a dense ``(n, m)`` array (``np.inf`` = unreachable).

        With ``max_cost``, only entries ``<= max_cost`` are kept.
        """
        arr = dense_array(cost, "cost")
        keep = arr <= (np.inf if max_cost is None else max_cost)
        keep &= np.isfinite(arr)
        row, col = np.nonzero(keep)  # row-major order: already sorted by (row, col)
        return cls(arr.shape, row, col, arr[row, col])

    @classmethod
    def _lazy(cls, shape, plan) -> "CostMatrix":
        """The pairs of a tiled range join (``_TilePlan``), made on first use: reading
        ``_row`` / ``_col`` / ``_cost`` (so ``_pairs``, ``nnz``, every view) materialises
        them, exactly as the join would have. Until then :meth:`_blocks` gives the
        join's dense blocks (a fused 2SFCA / 3SFCA needs no pairs)."""
        self = object.__new__(cls)
        object.__setattr__(self, "shape", (int(shape[0]), int(shape[1])))
        object.__setattr__(self, "_sorted", False)
        object.__setattr__(self, "_plan", plan)
        return self

    def __getattr__(self, name):
        # called only for attributes not set: a lazy matrix's pairs, made here once
        if name in ("_row", "_col", "_cost") and self.__dict__.get("_plan") is not None:
            self._store(_tile_materialise(self.__dict__["_plan"]), False)
            object.__setattr__(self, "_plan", None)  # the pairs replace it
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _fusable(self) -> bool:
        """A lazy matrix whose pairs are not made and whose blocks were not used yet.

        A second FCA on the same matrix materialises the pairs instead: each pass
        over the blocks redoes the distances, the pairs are made once."""
        plan = self.__dict__.get("_plan")
        return plan is not None and not plan.fused

    def _block_density(self, max_cost: float | None = None) -> float:
        """Estimated share of the blocks' cells that are pairs (within ``max_cost`` too,
        when given) for a :meth:`_fusable` matrix: π r² / (1 + 4r + π r²),
        r = cutoff / tile side, the share of a tile widened by the cutoff (its
        candidates) within the cutoff of one origin, for points spread evenly over
        tiles smaller than their extent; about 0.4 with tiles as wide as the cutoff."""
        plan = self.__dict__["_plan"]
        cutoff = plan.max_cost if max_cost is None else min(plan.max_cost, max_cost)
        r = cutoff / plan.side
        return math.pi * r * r / (1 + 4 * r + math.pi * r * r)

    def _blocks(self, max_cost: float | None = None, bounds=None):
        """The range join's blocks ``(rows, cand, d2, cells)``: origin indices, their
        candidate destination indices (unique), squared distances (len(rows), len(cand))
        and ``cells``: which cells are pairs (with ``max_cost``, only those with
        ``cost <= max_cost``), as a bool ``inside`` or, given sorted ``bounds``, a
        uint8 band per cell (see :func:`_tile_blocks`). Each origin with a pair is in
        one block, with all its pairs; only for a lazy matrix whose pairs are not made
        (:meth:`_fusable`)."""
        plan = self.__dict__["_plan"]
        plan.fused = True
        limit = plan.limit
        if max_cost is not None and max_cost < plan.max_cost:
            limit = min(limit, _max_square(max_cost))  # sqrt(d2) <= both cutoffs
        return _tile_blocks(plan, limit, bounds)

    # --- the pairs --------------------------------------------------------------

    @property
    def row(self) -> np.ndarray:
        """Origin index of each pair (pairs sorted by (row, col))."""
        return self._sorted_pairs()[0]

    @property
    def col(self) -> np.ndarray:
        """Destination index of each pair (pairs sorted by (row, col))."""
        return self._sorted_pairs()[1]

    @property
    def cost(self) -> np.ndarray:
        """Cost of each pair (pairs sorted by (row, col))."""
        return self._sorted_pairs()[2]

    def _pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, cost) in storage order: for consumers that do not need the sort.

        Take the three arrays in one call and do not mix them with ``row`` /
        ``col`` / ``cost`` read later: reading those may re-order the storage.
        Unsorted pairs may have int32 indices.
        """
        return self._row, self._col, self._cost

    def _sorted_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self._sorted:
            row, col, cost = self._pairs()
            if len(row) > 1:
                order = _pair_order(row, col, row.astype(np.int64) * max(self.shape[1], 1) + col)
                row, col, cost = row[order], col[order], cost[order]
            self._store((row, col, cost), True)
        return self._pairs()

    def _map_costs(self, fn) -> "CostMatrix":
        """Same pairs, in the same storage order, with costs ``fn(costs)`` (checked)."""
        row, col, cost = self._pairs()
        new = np.array(fn(cost), dtype=np.float64).ravel()  # a copy: it becomes read-only
        _check_costs(new, "CostMatrix cost", allow_inf=False)
        return CostMatrix._trusted(self.shape, row, col, new, is_sorted=self._sorted)

    # --- views ----------------------------------------------------------------

    @property
    def nnz(self) -> int:
        """Number of reachable pairs."""
        return len(self._cost)

    def within(self, max_cost: float) -> "CostMatrix":
        """The pairs with ``cost <= max_cost`` (inclusive)."""
        max_cost = check_max_cost(max_cost)
        row, col, cost = self._pairs()
        if self.nnz == 0 or cost.max() <= max_cost:
            return self
        keep = cost <= max_cost
        # a subset of valid pairs is valid, and sorted if they were
        return CostMatrix._trusted(self.shape, row[keep], col[keep], cost[keep],
                                   is_sorted=self._sorted)

    def with_costs(self, cost) -> "CostMatrix":
        """Same pairs, new costs (one per pair, in the order of ``row`` / ``col``)."""
        cost = np.array(cost, dtype=np.float64).ravel()  # a copy: it becomes read-only
        if cost.shape != (self.nnz,):
            raise InputError(f"with_costs got {cost.size} costs for {self.nnz} pairs",
                             hint="pass one cost per reachable pair")
        _check_costs(cost, "CostMatrix cost", allow_inf=False)
        row, col, _ = self._sorted_pairs()
        return CostMatrix._trusted(self.shape, row, col, cost)

    def to_dense(self) -> np.ndarray:
        """Dense ``(n, m)`` float array, ``np.inf`` where unreachable."""
        row, col, cost = self._pairs()
        out = np.full(self.shape, np.inf)
        out[row, col] = cost
        return out

    def indptr(self) -> np.ndarray:
        """CSR row pointer: the pairs of origin i are ``indptr[i]:indptr[i+1]``."""
        counts = np.bincount(self._row, minlength=self.shape[0])
        return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    def to_csr(self, values=None) -> sparse.csr_matrix:
        """CSR matrix with one stored entry per reachable pair.

        ``values`` (one per pair in the order of ``row`` / ``col``, default the
        costs) become the data. Zeros
        are kept as *explicit* stored entries: the matrix is built directly
        from (data, indices, indptr), which scipy never prunes. So a zero cost
        stays distinguishable from "unreachable" through the sparsity
        structure, but only as long as nobody calls ``eliminate_zeros()`` or
        does arithmetic that prunes. That is why the core never reads
        reachability back from a cost CSR: it keeps the triplets here and
        builds a CSR of *weights* (``to_csr(weights)``) only for products.
        """
        _, col, cost = self._sorted_pairs()
        data = cost if values is None else np.asarray(values, dtype=np.float64)
        if data.shape != (self.nnz,):
            raise InputError(f"to_csr values have shape {data.shape}, expected ({self.nnz},)",
                             hint="pass one value per reachable pair")
        return sparse.csr_matrix((data, col, self.indptr()), shape=self.shape)

    def __repr__(self) -> str:
        return f"CostMatrix(shape={self.shape}, nnz={self.nnz})"


# --- the normaliser every function uses ------------------------------------------

def as_cost(cost, *, max_cost: float | None = None, shape: tuple[int, int] | None = None,
            name: str = "cost") -> CostMatrix:
    """Accept a dense ``(n, m)`` ndarray or a :class:`CostMatrix`; return a CostMatrix.

    max_cost: keep only pairs with ``cost <= max_cost`` (inclusive).
    shape: the expected ``(n, m)``; a mismatch raises InputError naming ``name``.
    """
    if isinstance(cost, CostMatrix):
        cm = cost
    elif sparse.issparse(cost):
        raise InputError(
            f"{name} is a scipy sparse matrix, which cannot tell a zero cost from a missing one",
            hint="pass a welfare_core.costs.CostMatrix (row, col, cost) or a dense array "
                 "with np.inf for unreachable pairs")
    else:
        # cut while converting: a dense array's unreachable cells never become pairs
        cm = CostMatrix.from_dense(cost, max_cost=None if max_cost is None else
                                   check_max_cost(max_cost))
    if shape is not None and tuple(cm.shape) != tuple(shape):
        raise InputError(f"{name} has shape {cm.shape}, expected {tuple(shape)} "
                         f"(origins × destinations)",
                         hint="one row per demand point and one column per facility, "
                              "in the same order as the demand and supply arrays")
    return cm if max_cost is None else cm.within(max_cost)


def check_max_cost(max_cost, name: str = "max_cost") -> float:
    """A cutoff must be a number > 0 (``np.inf`` means no cutoff)."""
    try:
        value = float(max_cost)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {max_cost!r}",
                         hint="give the catchment cutoff in the cost's units") from None
    if math.isnan(value) or value <= 0:
        raise InputError(f"{name} must be > 0, got {max_cost!r}",
                         hint="give the catchment cutoff in the cost's units, e.g. 1000 metres")
    return value


# --- builders --------------------------------------------------------------------

def euclidean(origins, destinations, max_cost: float) -> CostMatrix:
    """Planar distances ``c_ij = ||o_i - d_j||`` for the pairs with ``c_ij <= max_cost``.

    origins (n, 2), destinations (m, 2): projected coordinates in metres.
    A tiled range join: origins are grouped into square tiles, each tile's
    candidate destinations (those in its bounding box widened by the cutoff)
    are a few slices of the destinations sorted by (column, y), and the
    distances of a tile's origins to its candidates are one dense block
    (scipy ``cdist``). Memory and time grow with the number of pairs near the
    cutoff, not with n × m. Distances are ``sqrt(dx² + dy²)``; the cutoff
    test ``<= max_cost`` is applied exactly to those numbers (ties at the
    cutoff are kept).
    """
    o = _points(origins, "origins")
    d = _points(destinations, "destinations")
    max_cost = check_max_cost(max_cost)
    shape = (len(o), len(d))
    if not (len(o) and len(d)):
        return CostMatrix(shape, [], [], [])
    if math.isinf(max_cost):
        return CostMatrix.from_dense(_pairwise(o, d))
    plan = _tile_plan(o, d, max_cost)
    if plan is None:  # coordinates near the float range
        row, col, cost = _kd_pairs(o, d, max_cost, np.int32 if max(shape) < 2**31 else np.int64)
        return CostMatrix._trusted(shape, row, col, cost, is_sorted=False)
    # the pairs are unique and in range by construction: no re-validation. They are
    # made on first use, in tile order (sorted only if someone reads row / col / cost);
    # a 2SFCA / 3SFCA that comes first runs on the join's blocks instead (_blocks)
    return CostMatrix._lazy(shape, plan)


# Tiled range join (euclidean). Rough costs on this kind of machine, used only to pick the
# tile side: one tile's Python and numpy calls, and one candidate distance (cdist, test,
# extraction of the kept ones). Any tile side gives the same pairs.
_TILE_SECONDS = 40e-6
_CANDIDATE_SECONDS = 3.5e-9
_BLOCK = 1 << 18  # distances per cdist block (2 MB of float64)


class _TilePlan:
    """What the tiled range join needs to produce its blocks (see :func:`_tile_plan`).

    o_sorted / o_order: origins grouped by tile and their original indices;
    d_sorted / d_order: destinations sorted by (column, y) and their indices;
    start / stop: each tile's origin range in o_sorted; lo / hi: per tile, one
    [lo, hi) slice of d_sorted per nearby column (its candidates); limit: the
    exact test ``d² <= limit`` <=> ``sqrt(d²) <= max_cost``; side: the tiles' side;
    upper: the number of cells of the blocks (a bound on the number of pairs); fused:
    an FCA already ran on the blocks (see ``CostMatrix._blocks``).
    """

    __slots__ = ("o_sorted", "o_order", "d_sorted", "d_order", "start", "stop", "lo", "hi",
                 "limit", "max_cost", "side", "upper", "index", "fused")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)
        self.fused = False


def _tile_plan(o: np.ndarray, d: np.ndarray, max_cost: float):
    """The tiles and candidate slices of the range join, or None when the coordinates
    are too far apart for the tiles' arithmetic (use :func:`_kd_pairs` then)."""
    n, m = len(o), len(d)
    index = np.int32 if max(n, m) < 2**31 else np.int64
    # geometric reach: a hair wider than the cutoff, so rounding in the candidate
    # search can only add candidates; the exact test below decides
    reach = max_cost * (1 + 1e-6)
    (x0, y0, ox1, oy1), (dx0, dy0, dx1, dy1) = _extent(o), _extent(d)
    low, high = (min(x0, dx0), min(y0, dy0)), (max(ox1, dx1), max(oy1, dy1))
    span = max(high[0] - low[0], high[1] - low[1])
    if not math.isfinite(4 * (max(-low[0], -low[1], *high) + reach)):
        return None
    # tile side: at least span / 2^20, so tile and column numbers stay exact integers
    side = _tile_side(n, m, (ox1 - x0, oy1 - y0), (dx1 - dx0, dy1 - dy0), reach,
                      max(reach, span / 2.0**20))
    # origins grouped by tile
    tx = np.floor((o[:, 0] - x0) / side)
    ty = np.floor((o[:, 1] - y0) / side)
    code = (tx * (ty.max() + 1) + ty).astype(np.int64)
    o_order = np.argsort(code, kind="stable")
    code = code[o_order]
    o_sorted = o[o_order]
    start = np.flatnonzero(np.concatenate(([True], code[1:] != code[:-1])))
    stop = np.append(start[1:], n)
    xlo = np.minimum.reduceat(o_sorted[:, 0], start)
    xhi = np.maximum.reduceat(o_sorted[:, 0], start)
    ylo = np.minimum.reduceat(o_sorted[:, 1], start)
    yhi = np.maximum.reduceat(o_sorted[:, 1], start)
    # destinations in columns of width reach / 2 (at least side / 8: at most ~16 columns
    # per tile), sorted by (column, y) (complex numbers sort lexicographically), with
    # the x extent of each column's points
    width = max(reach / 2, side / 8) or side  # > 0 even for a subnormal cutoff
    key = np.floor((d[:, 0] - x0) / width) + 1j * d[:, 1]
    d_order = np.argsort(key, kind="stable")
    key = key[d_order]
    d_sorted = np.ascontiguousarray(d[d_order])
    first = np.flatnonzero(np.concatenate(([True], key.real[1:] != key.real[:-1])))
    col_id = key.real[first]
    col_xlo = np.minimum.reduceat(d_sorted[:, 0], first)
    col_xhi = np.maximum.reduceat(d_sorted[:, 0], first)
    # a tile's candidates: in each column within reach of its x extent, the points within
    # reach of its y extent widened by sqrt(reach² - gap²) (gap: x distance to the column)
    c_lo = np.floor((xlo - reach - x0) / width) - 1
    c_hi = np.floor((xhi + reach - x0) / width) + 1
    columns = c_lo[:, None] + np.arange(int((c_hi - c_lo).max()) + 1)
    at = np.minimum(np.searchsorted(col_id, columns), len(col_id) - 1)
    gap = np.maximum(np.maximum(col_xlo[at] - xhi[:, None], xlo[:, None] - col_xhi[at]), 0.0)
    near = (col_id[at] == columns) & (columns <= c_hi[:, None]) & (gap <= reach)
    half = np.sqrt(np.maximum(reach - gap, 0.0)) * np.sqrt(reach + gap)  # no overflow
    lo = np.searchsorted(key, columns + 1j * (ylo[:, None] - half), "left")
    hi = np.searchsorted(key, columns + 1j * (yhi[:, None] + half), "right")
    hi = np.where(near, hi, lo)
    upper = int(((hi - lo).sum(axis=1) * (stop - start)).sum())
    return _TilePlan(o_sorted=o_sorted, o_order=o_order.astype(index), d_sorted=d_sorted,
                     d_order=d_order.astype(index), start=start, stop=stop, lo=lo, hi=hi,
                     limit=_max_square(max_cost),  # d2 <= limit  <=>  sqrt(d2) <= max_cost
                     max_cost=max_cost, side=side, upper=upper, index=index)


def _tile_blocks(plan: _TilePlan, limit=None, bounds=None):
    """The join's dense blocks: ``(rows, cand, d2, cells)`` per block of origins.

    rows: the block's origin indices; cand: its tile's candidate destination indices
    (unique); d2: the (len(rows), len(cand)) squared distances (scipy ``cdist``);
    cells: ``inside = d2 <= limit`` (default the plan's, i.e. ``sqrt(d2) <= max_cost``),
    or with ``bounds`` (ascending) the band of each cell, uint8: for a cell within the
    cutoff the index of the first bound >= its cost (len(bounds) past the last bound),
    len(bounds) + 1 beyond the cutoff; tested on d2 exactly as ``cost > bound`` is on
    ``cost = sqrt(d2)``. d2 and cells are overwritten by the next block (copy what
    must outlive it). Every origin with a pair is in exactly one block, and every
    destination within the cutoff of an origin is among its block's candidates (a
    tile's origins may be split into several blocks, by rows only: each keeps all of
    the tile's candidates); blocks without a pair are left out. So the pairs are
    exactly the cells within the cutoff, each once.
    """
    # imported here: scipy.spatial adds ~60 ms to every new database session,
    # and sessions that read network costs from a table never need it
    from scipy.spatial.distance import cdist

    limit = plan.limit if limit is None else limit
    if bounds is not None:
        # d2 > square  <=>  sqrt(d2) > bound; bounds at or past the cutoff all count
        # as the cutoff (no cell within it is above them), so beyond it adds theirs
        squares = [s for s in map(_max_square, bounds) if s < limit]
        beyond = np.uint8(len(bounds) + 1 - len(squares))
    o_sorted, o_order, d_sorted, d_order = plan.o_sorted, plan.o_order, plan.d_sorted, plan.d_order
    # every block is written into the same buffers (a fresh 2 MB array per block
    # costs a page fault per 4 kB): a block is valid until the next one is asked for
    cells = max(_BLOCK, int((plan.hi - plan.lo).sum(axis=1).max()))
    d2_buf, in_buf = np.empty(cells), np.empty(cells, dtype=bool)
    band_buf = np.empty(cells if bounds is not None else 0, dtype=np.uint8)
    for t, (t_lo, t_hi) in enumerate(zip(plan.lo.tolist(), plan.hi.tolist())):
        slices = [(a, b) for a, b in zip(t_lo, t_hi) if b > a]
        if not slices:
            continue
        cand = np.concatenate([d_sorted[a:b] for a, b in slices])
        cand_idx = np.concatenate([d_order[a:b] for a, b in slices])
        nb = len(cand)
        s, e = int(plan.start[t]), int(plan.stop[t])
        step = max(1, _BLOCK // nb)
        for a in range(s, e, step):
            b = min(e, a + step)
            shape, size = (b - a, nb), (b - a) * nb
            d2 = cdist(o_sorted[a:b], cand, "sqeuclidean", out=d2_buf[:size].reshape(shape))
            if bounds is None:
                inside = np.less_equal(d2, limit, out=in_buf[:size].reshape(shape))
                if inside.any():
                    yield o_order[a:b], cand_idx, d2, inside
                continue
            above = np.greater(d2, limit, out=in_buf[:size].reshape(shape))
            if above.all():
                continue
            band = np.multiply(above.view(np.uint8), beyond, out=band_buf[:size].reshape(shape))
            for square in squares:  # a few comparisons counted in uint8 (as decay.step)
                band += np.greater(d2, square, out=above).view(np.uint8)
            yield o_order[a:b], cand_idx, d2, band


def _tile_materialise(plan: _TilePlan):
    """(row, col, cost) of the pairs with ``sqrt(dx² + dy²) <= max_cost``, unsorted: the
    ``inside`` cells of the plan's blocks."""
    index, upper = plan.index, plan.upper
    # output grown by doubling with ndarray.resize (realloc: no copy of large blocks)
    cap = min(upper, 1 << 20)
    row, col, cost = np.empty(cap, index), np.empty(cap, index), np.empty(cap)
    filled = 0
    for rows, cand_idx, d2, inside in _tile_blocks(plan):
        k = np.flatnonzero(inside)
        if not len(k):
            continue
        if d2.size < 2**31:
            k = k.astype(np.int32)  # int32 division is ~3x faster
        nb = d2.shape[1]
        i = k // nb
        j = k - i * nb
        new = filled + len(k)
        if new > cap:
            cap = min(upper, max(2 * cap, new))
            for arr in (row, col, cost):
                arr.resize(cap, refcheck=False)  # no views of them exist
        np.take(rows, i, out=row[filled:new], mode="clip")
        np.take(cand_idx, j, out=col[filled:new], mode="clip")
        np.sqrt(np.take(d2, k, out=cost[filled:new], mode="clip"), out=cost[filled:new])
        filled = new
    for arr in (row, col, cost):
        arr.resize(filled, refcheck=False)
    return row, col, cost


def _extent(points: np.ndarray) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of (n, 2) points; by column, as reducing (n, 2) over
    axis 0 is ~10x slower."""
    x, y = points[:, 0], points[:, 1]
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def _tile_side(n: int, m: int, wo, wd, reach: float, smallest: float) -> float:
    """Tile side >= smallest with the least estimated time for n origins spread evenly
    over a box of sides ``wo`` and m destinations over one of sides ``wd``."""
    best, best_side, side = np.inf, smallest, smallest
    for _ in range(80):
        tiles = min(n, math.ceil(wo[0] / side + 1e-9) * math.ceil(wo[1] / side + 1e-9))
        box = side + 2 * reach
        a, b = side / box, reach / box  # the tile widened by a disc, share of its box
        disc = a * a + 4 * a * b + math.pi * b * b
        share = disc
        for w in wd:
            share *= 1.0 if box >= w else box / w
        seconds = _TILE_SECONDS * tiles + _CANDIDATE_SECONDS * n * m * share
        if seconds < best:
            best, best_side = seconds, side
        if tiles <= 1:
            break
        side *= math.sqrt(2)
    return best_side


def _max_square(max_cost: float) -> np.float64:
    """The largest double ``s`` with ``sqrt(s) <= max_cost`` (sqrt is monotone)."""
    largest = np.finfo(np.float64).max
    if max_cost >= np.sqrt(largest):
        return largest  # every finite square
    limit = np.float64(max_cost) * np.float64(max_cost)
    while np.sqrt(np.nextafter(limit, np.inf)) <= max_cost:
        limit = np.nextafter(limit, np.inf)
    while np.sqrt(limit) > max_cost:
        limit = np.nextafter(limit, -np.inf)
    return limit


def _kd_pairs(o: np.ndarray, d: np.ndarray, max_cost: float, index):
    """KD-tree range query: for coordinates too far apart for the tiles' arithmetic."""
    from scipy.spatial import cKDTree

    # a hair wider than max_cost, then the exact inclusive test on the tree's distances
    radius = max_cost * (1 + 1e-9) + 1e-9
    pairs = cKDTree(d).sparse_distance_matrix(cKDTree(o), radius, output_type="ndarray")
    col, row, cost = pairs["i"].astype(index), pairs["j"].astype(index), pairs["v"].copy()
    del pairs
    if len(cost) and cost.max() > max_cost:
        keep = cost <= max_cost
        row, col, cost = row[keep], col[keep], cost[keep]
    return row, col, cost


def from_od_table(df, origin_ids, destination_ids, *, origin_col: str = "origin_id",
                  destination_col: str = "destination_id", cost_col: str = "cost",
                  max_cost: float | None = None) -> CostMatrix:
    """A CostMatrix from a long origin–destination table (e.g. network travel costs).

    df: one row per reachable pair with ``origin_col``, ``destination_col``,
    ``cost_col``. origin_ids / destination_ids give the order of the rows
    and columns (the order of the demand and supply arrays). Pairs absent
    from the table are unreachable; an ``inf`` cost means unreachable too.
    Unknown ids, duplicate pairs and negative or missing costs are errors.
    """
    import pandas as pd  # only this builder needs pandas

    missing = [c for c in (origin_col, destination_col, cost_col) if c not in df.columns]
    if missing:
        raise InputError(f"OD table lacks column(s) {missing}",
                         hint=f"the table needs {origin_col}, {destination_col} and {cost_col}")
    oidx = _id_index(origin_ids, "origin_ids")
    didx = _id_index(destination_ids, "destination_ids")
    row = oidx.get_indexer(df[origin_col])
    col = didx.get_indexer(df[destination_col])
    for pos, ids, column, what in ((row, df[origin_col], origin_col, "origin_ids"),
                                   (col, df[destination_col], destination_col,
                                    "destination_ids")):
        if (pos < 0).any():
            unknown = pd.unique(ids[pos < 0])
            raise UnknownIdError(
                f"OD table column {column} has {len(unknown)} id(s) not in {what}, "
                f"e.g. {list(unknown[:5])}",
                hint=f"add them to {what} or drop those rows from the table")
    cost = pd.to_numeric(df[cost_col], errors="coerce").to_numpy(dtype=np.float64)
    _check_costs(cost, f"OD table column {cost_col}", allow_inf=True)
    key = row.astype(np.int64) * len(didx) + col
    dup = pd.Index(key).duplicated()
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"OD table has {int(dup.sum())} duplicate (origin, destination) pair(s), e.g. "
            f"({df[origin_col].iloc[first]!r}, {df[destination_col].iloc[first]!r})",
            hint="keep one cost per pair (e.g. the minimum over routes) before loading")
    reachable = np.isfinite(cost)
    cm = CostMatrix((len(oidx), len(didx)), row[reachable], col[reachable], cost[reachable])
    return cm if max_cost is None else cm.within(max_cost)


# --- network costs ---------------------------------------------------------------
#
# A street network is an edge list in pgRouting's convention: each edge joins
# node ``source`` to node ``target`` at ``cost`` (>= 0); ``reverse_cost`` is
# the cost from target back to source, a negative reverse_cost meaning "no way
# back" (a one-way street). Without a reverse_cost column an edge runs
# source -> target only, unless ``directed=False`` (every edge two-way), as in
# pgRouting.
#
# Origins and destinations are points, snapped to their nearest network node
# (KD-tree). The snapping distance is ADDED to the cost, converted to the
# cost's unit (metres as they are; minutes at the travel mode's speed): the
# walk from the door to the street is part of the trip, and a point far from
# the network is far from everything. ``max_snap_m`` makes points farther than
# that from any node unreachable instead. :func:`snap_to_nodes` reports the
# snapping itself.

def network(edges, nodes, origins, destinations, max_cost: float, *, directed: bool = True,
            cost_unit: str = "m", mode: str | None = None, speed_kmh: float | None = None,
            max_snap_m: float | None = None) -> CostMatrix:
    """Shortest-path costs on a street network, for the pairs with ``cost <= max_cost``.

    edges: mapping (e.g. DataFrame) with arrays ``source``, ``target``, ``cost``
    and optionally ``reverse_cost`` (pgRouting's convention: negative = the
    edge cannot be travelled from target to source). Without ``reverse_cost``
    an edge runs source → target only when ``directed`` (as in pgRouting);
    ``directed=False`` makes every edge two-way. Parallel edges: the cheapest.
    nodes: mapping with ``node_id``, ``x``, ``y`` (projected metres), one row
    per node (see :func:`nodes_from_edges` to take them from edge geometries).
    origins (n, 2), destinations (m, 2): planar coordinates in metres.

    ``c_ij = snap(o_i) + d(node(o_i), node(d_j)) + snap(d_j)``, where d is the
    shortest path (scipy ``csgraph.dijkstra`` from each distinct origin node,
    stopped at ``max_cost``) and snap the distance to the nearest node in
    ``cost_unit`` ("m", or "min" at ``mode`` / ``speed_kmh``; default walk).
    A pair with no path, or beyond the cutoff, is absent (never NaN or inf).
    """
    from scipy.sparse.csgraph import dijkstra

    graph = _network_graph(edges, nodes, directed)
    o_node, o_snap, d_node, d_snap, max_cost = _snap_ends(
        graph, origins, destinations, max_cost, cost_unit, mode, speed_kmh, max_snap_m)
    shape = (len(o_node), len(d_node))
    if not (shape[0] and shape[1]):
        return CostMatrix(shape, [], [], [])
    starts, inverse = np.unique(o_node, return_inverse=True)
    # a hair beyond the cutoff, then the exact inclusive test on the sums
    dist = dijkstra(graph["csr"], directed=True, indices=starts,
                    limit=max_cost * (1 + 1e-9) + 1e-9)
    return _assemble(dist[:, d_node], inverse, o_snap, d_snap, max_cost)


def network_from_node_costs(node_costs, nodes, origins, destinations, max_cost: float, *,
                            cost_unit: str = "m", mode: str | None = None,
                            speed_kmh: float | None = None,
                            max_snap_m: float | None = None) -> CostMatrix:
    """:func:`network` with the node-to-node costs computed elsewhere (e.g. pgRouting).

    node_costs: mapping with ``start_vid``, ``end_vid``, ``agg_cost`` (the
    shape of ``pgr_dijkstraCost``), one row per reachable pair of the snapped
    nodes (:func:`snap_to_nodes`); a node reaches itself at 0 whether listed
    or not. Snapping and the cutoff are exactly those of :func:`network`.
    """
    graph = _network_graph(None, nodes, True)
    o_node, o_snap, d_node, d_snap, max_cost = _snap_ends(
        graph, origins, destinations, max_cost, cost_unit, mode, speed_kmh, max_snap_m)
    shape = (len(o_node), len(d_node))
    if not (shape[0] and shape[1]):
        return CostMatrix(shape, [], [], [])
    starts, inverse = np.unique(o_node, return_inverse=True)
    start = _node_positions(graph, _column(node_costs, "start_vid", "node_costs"), "start_vid")
    end = _node_positions(graph, _column(node_costs, "end_vid", "node_costs"), "end_vid")
    agg = _float_column(node_costs, "agg_cost", "node_costs")
    _check_costs(agg, "node_costs agg_cost", allow_inf=True)
    v = len(graph["ids"])
    row_of = np.full(v, -1)
    row_of[starts] = np.arange(len(starts))
    dist = np.full((len(starts), v), np.inf)
    listed = row_of[start] >= 0
    dist[row_of[start[listed]], end[listed]] = agg[listed]
    dist[np.arange(len(starts)), starts] = 0.0
    return _assemble(dist[:, d_node], inverse, o_snap, d_snap, max_cost)


def snap_to_nodes(points, nodes, name: str = "points"):
    """Nearest network node of each point: ``(node_ids, distance_m)`` arrays (KD-tree)."""
    graph = _network_graph(None, nodes, True)
    idx, dist = _snap(graph, _points(points, name))
    return graph["ids"][idx], dist


def nodes_from_edges(source, target, start_xy, end_xy, *, tolerance_m: float = 0.01):
    """Node table ``{node_id, x, y}`` from edge end points (first point = source).

    A node whose edges put it at places more than ``tolerance_m`` apart is an
    error: the geometries do not run from source to target, or ids are mixed up.
    """
    src, tgt = np.asarray(source).ravel(), np.asarray(target).ravel()
    ids = np.concatenate([src, tgt])
    xy = np.concatenate([_points(start_xy, "edge start points"),
                         _points(end_xy, "edge end points")])
    if len(ids) != len(xy):
        raise InputError("edge end points and source/target ids have different lengths")
    if not len(ids):
        raise InputError("the network has no edges", hint="pass at least one edge")
    uniq, first, inv = np.unique(ids, return_index=True, return_inverse=True)
    off = np.hypot(*(xy - xy[first][inv]).T)
    if (off > tolerance_m).any():
        k = int(np.argmax(off))
        raise InputError(
            f"node {ids[k]!r} is at two places {off[k]:.2f} m apart in the edge geometries",
            hint="each edge geometry must run from its source node to its target node")
    return {"node_id": uniq, "x": xy[first, 0], "y": xy[first, 1]}


def network_from_lines(geoms, *, cost=None, oneway=None, tolerance_m: float = 0.01):
    """Edges and nodes of a street layer without node ids: ``(edges, nodes)`` for :func:`network`.

    geoms: LineString (or MultiLineString) geometries, shapely / WKB; each is
    one edge from its first point to its last. Lines meet only at their end
    points: a street crossing another without being split there is not a
    junction (split the layer at intersections first). End points closer than
    ``tolerance_m`` (on a grid of that size) are the same node.
    cost: one cost per line (default: its planar length in metres).
    oneway: per line, True = travelled only in the direction it was drawn.
    """
    from .validation import geometries

    shapes = geometries(geoms)
    if not len(shapes):
        raise InputError("the network has no lines", hint="pass a line layer with features")
    start = np.empty((len(shapes), 2))
    end = np.empty((len(shapes), 2))
    length = np.empty(len(shapes))
    for k, g in enumerate(shapes):
        parts = getattr(g, "geoms", [g]) if g is not None else []
        try:
            if not g.geom_type.endswith("LineString") or g.is_empty:
                raise AttributeError
            start[k] = parts[0].coords[0][:2]
            end[k] = parts[-1].coords[-1][:2]
            length[k] = g.length
        except (AttributeError, IndexError):
            raise InputError(f"network line number {k + 1} is missing, empty or not a line",
                             hint="the network layer must hold line geometries") from None
    if cost is None:
        cost = length
    else:
        try:
            cost = np.asarray(cost, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise InputError("network costs must be numbers") from None
        if cost.shape != length.shape:
            raise InputError(f"{len(cost)} network costs for {len(length)} lines")
        _check_costs(cost, "network cost", allow_inf=False)
    one = np.zeros(len(shapes), bool) if oneway is None else np.asarray(oneway, bool).ravel()
    tol = check_max_cost(tolerance_m, "tolerance_m")
    xy = np.concatenate([start, end])
    _, first, inverse = np.unique(np.round(xy / tol).astype(np.int64), axis=0,
                                  return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    n = len(shapes)
    edges = {"source": inverse[:n] + 1, "target": inverse[n:] + 1, "cost": cost,
             "reverse_cost": np.where(one, -1.0, cost)}
    nodes = {"node_id": np.arange(1, len(first) + 1), "x": xy[first, 0], "y": xy[first, 1]}
    return edges, nodes


def _network_graph(edges, nodes, directed):
    from scipy.spatial import cKDTree

    ids = np.asarray(_column(nodes, "node_id", "nodes")).ravel()
    xy = _points(np.column_stack([_float_column(nodes, "x", "nodes"),
                                  _float_column(nodes, "y", "nodes")]), "nodes x, y")
    if not len(ids):
        raise InputError("the network has no nodes", hint="pass the nodes of the street network")
    try:
        order = np.argsort(ids, kind="stable")
    except TypeError:
        raise InputError("nodes node_id mixes types", hint="use integer or text ids") from None
    ids, xy = ids[order], xy[order]
    if len(ids) > 1 and (ids[1:] == ids[:-1]).any():
        dup = ids[1:][ids[1:] == ids[:-1]][0]
        raise InputError(f"nodes has duplicate node_id {dup!r}", hint="one row per node")
    graph = {"ids": ids, "xy": xy, "tree": cKDTree(xy)}
    if edges is None:
        return graph
    src = _node_positions(graph, _column(edges, "source", "edges"), "edges source")
    tgt = _node_positions(graph, _column(edges, "target", "edges"), "edges target")
    cost = _float_column(edges, "cost", "edges")
    if not len(cost):
        raise InputError("the network has no edges", hint="pass at least one edge")
    _check_costs(cost, "edges cost", allow_inf=False)
    rows, cols, vals = [src], [tgt], [cost]
    if _has(edges, "reverse_cost"):
        rev = _float_column(edges, "reverse_cost", "edges")
        if np.isnan(rev).any() or np.isinf(rev).any():
            raise InputError("edges reverse_cost has missing or infinite values",
                             hint="use a negative reverse_cost for a one-way street")
        back = rev >= 0
        rows.append(tgt[back]), cols.append(src[back]), vals.append(rev[back])
    if not directed:
        rows, cols = rows + cols, cols + rows
        vals = vals + vals
    r, c, w = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    # parallel arcs: keep the cheapest (a CSR built from duplicates would SUM them)
    order = np.lexsort((w, c, r))
    r, c, w = r[order], c[order], w[order]
    first = np.ones(len(r), bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    r, c, w = r[first], c[first], w[first]
    v = len(ids)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(r, minlength=v))))
    # explicit zeros in a CSR built from (data, indices, indptr) stay edges for csgraph
    graph["csr"] = sparse.csr_matrix((w, c, indptr), shape=(v, v))
    return graph


def _snap(graph, xy):
    if not len(xy):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    dist, idx = graph["tree"].query(xy, k=1)
    return idx.astype(np.int64), dist


def _snap_ends(graph, origins, destinations, max_cost, cost_unit, mode, speed_kmh, max_snap_m):
    max_cost = check_max_cost(max_cost)
    if cost_unit == "m":
        if mode is not None or speed_kmh is not None:
            raise InputError("mode / speed_kmh only apply when cost_unit is 'min'",
                             hint="edge costs in metres need no speed")
        per_m = 1.0
    elif cost_unit == "min":
        per_m = 60.0 / (_speed(mode, speed_kmh) * 1000.0)
    else:
        raise InputError(f"cost_unit must be 'm' or 'min', got {cost_unit!r}",
                         hint="the unit of the edge costs")
    o_node, o_m = _snap(graph, _points(origins, "origins"))
    d_node, d_m = _snap(graph, _points(destinations, "destinations"))
    if max_snap_m is not None:
        limit = check_max_cost(max_snap_m, "max_snap_m")
        o_m = np.where(o_m <= limit, o_m, np.inf)
        d_m = np.where(d_m <= limit, d_m, np.inf)
    return o_node, o_m * per_m, d_node, d_m * per_m, max_cost


def _assemble(node_cost, inverse, o_snap, d_snap, max_cost):
    """Pairs from (distinct origin node × destination) network costs plus the snaps."""
    n, m = len(inverse), node_cost.shape[1]
    part = node_cost + d_snap[None, :]
    k, j = np.nonzero(part <= max_cost)  # k: distinct origin node, sorted
    part = part[k, j]
    # expand each (node, destination) candidate to every origin snapped to that node
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=node_cost.shape[0])
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    per = counts[k]
    pair = np.repeat(np.arange(len(k)), per)
    within = np.arange(len(pair)) - np.repeat(np.cumsum(per) - per, per)
    row = order[first[k][pair] + within]
    cost = part[pair] + o_snap[row]
    keep = cost <= max_cost
    return CostMatrix((n, m), row[keep], j[pair][keep], cost[keep])


def _node_positions(graph, ids, what):
    ids = np.asarray(ids).ravel()
    known = graph["ids"]
    try:
        pos = np.searchsorted(known, ids)
    except TypeError:
        raise InputError(f"{what} ids are not of the nodes' type",
                         hint="use the same node ids in edges and nodes") from None
    pos = np.minimum(pos, len(known) - 1)
    bad = known[pos] != ids
    if bad.any():
        raise UnknownIdError(f"{what} has {int(bad.sum())} node id(s) not in the nodes, "
                             f"e.g. {list(ids[bad][:5])}",
                             hint="every edge end must be a node of the network")
    return pos.astype(np.int64)


def _has(table, col) -> bool:
    try:
        table[col]
    except (KeyError, IndexError, TypeError, ValueError):
        return False
    return True


def _column(table, col, name):
    try:
        return np.asarray(table[col])
    except (KeyError, IndexError, TypeError, ValueError):
        raise InputError(f"{name} lacks column {col!r}") from None


def _float_column(table, col, name):
    try:
        return np.asarray(_column(table, col, name), dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{name} column {col!r} must be numeric") from None


def travel_time(cost_m, mode: str | None = None, *, speed_kmh: float | None = None):
    """Convert metres to minutes: ``t = cost_m / (speed_kmh · 1000 / 60)``.

    mode: one of :data:`SPEED_KMH` (walk 4.5, walk_elderly 3, bike 15, car 25,
    transit 15 km/h); or give ``speed_kmh`` instead. Default: walk.
    cost_m: a CostMatrix (returns a CostMatrix over the same pairs) or an
    array (returns an array; ``np.inf`` stays unreachable).
    """
    speed = _speed(mode, speed_kmh)
    metres_per_minute = speed * 1000.0 / 60.0
    if isinstance(cost_m, CostMatrix):
        return cost_m._map_costs(lambda c: c / metres_per_minute)
    arr = np.asarray(cost_m, dtype=np.float64)
    _check_costs(arr.ravel(), "cost_m", allow_inf=True)
    return arr / metres_per_minute


# --- helpers ---------------------------------------------------------------------

def _speed(mode, speed_kmh) -> float:
    if mode is not None and speed_kmh is not None:
        raise InputError("give either mode or speed_kmh, not both",
                         hint="mode picks a standard speed; speed_kmh sets your own")
    if speed_kmh is None:
        mode = "walk" if mode is None else mode
        if mode not in SPEED_KMH:
            raise InputError(f"unknown travel mode {mode!r}",
                             hint=f"use one of {', '.join(SPEED_KMH)} or pass speed_kmh")
        return SPEED_KMH[mode]
    try:
        speed = float(speed_kmh)
    except (TypeError, ValueError):
        speed = float("nan")
    if not (math.isfinite(speed) and speed > 0):
        raise InputError(f"speed_kmh must be a number > 0, got {speed_kmh!r}",
                         hint="e.g. 4.5 for walking")
    return speed


def _check_shape(shape) -> tuple[int, int]:
    try:
        n, m = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise InputError(f"CostMatrix shape must be (n, m), got {shape!r}") from None
    if n < 0 or m < 0:
        raise InputError(f"CostMatrix shape must be non-negative, got {shape!r}")
    return n, m


def _check_costs(cost: np.ndarray, name: str, *, allow_inf: bool) -> None:
    if np.isnan(cost).any():
        raise InputError(f"{name} has {int(np.isnan(cost).sum())} missing (NaN) value(s)",
                         hint="give every pair a cost, or leave unreachable pairs out "
                              "(np.inf in a dense array)")
    if (cost < 0).any():
        raise InputError(f"{name} has {int((cost < 0).sum())} negative value(s), "
                         f"e.g. {cost[cost < 0][0]}",
                         hint="costs are distances or times and must be >= 0")
    if not allow_inf and np.isinf(cost).any():
        raise InputError(f"{name} has infinite values",
                         hint="a CostMatrix lists reachable pairs only: leave unreachable "
                              "pairs out instead of storing inf")


def _canonical(row, col, cost, m):
    """Sort pairs by (row, col) and refuse duplicates (O(k) when already sorted)."""
    key = row * max(m, 1) + col
    if len(key) > 1 and not (np.diff(key) > 0).all():
        order = _pair_order(row, col, key)
        row, col, cost, key = row[order], col[order], cost[order], key[order]
        if (np.diff(key) == 0).any():
            k = int(np.flatnonzero(np.diff(key) == 0)[0])
            raise InputError(f"CostMatrix has duplicate pair (row {row[k]}, col {col[k]})",
                             hint="keep one cost per (origin, destination) pair")
    else:
        row, col, cost = row.copy(), col.copy(), cost.copy()
    return row, col, cost


def _pair_order(row, col, key):
    """Permutation sorting pairs by (row, col).

    With fewer than 65,536 origins and destinations, two stable sorts on
    uint16 (numpy uses radix sort there: linear time) beat one comparison
    sort of the int64 keys by about 2x on 10^5-10^6 pairs.
    """
    if len(row) and max(row.max(), col.max()) < 2**16:
        by_col = np.argsort(col.astype(np.uint16), kind="stable")
        return by_col[np.argsort(row[by_col].astype(np.uint16), kind="stable")]
    return np.argsort(key, kind="stable")


def dense_array(cost, name: str = "cost") -> np.ndarray:
    """A validated dense (n, m) float cost array (np.inf = unreachable; no NaN, no < 0)."""
    try:
        arr = np.asarray(cost, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric (an (n, m) array or a CostMatrix)") from None
    if arr.ndim != 2:
        raise InputError(f"{name} must be 2-dimensional (origins × destinations), "
                         f"got shape {arr.shape}",
                         hint="pass an (n, m) array with np.inf for unreachable pairs, "
                              "or a CostMatrix")
    _check_costs(arr.ravel(), name, allow_inf=True)
    return arr


def _points(xy, name: str) -> np.ndarray:
    try:
        arr = np.asarray(xy, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric (k, 2) coordinates") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InputError(f"{name} must have shape (k, 2) with x, y columns, got {arr.shape}",
                         hint="pass projected x, y coordinates in metres")
    if not np.isfinite(arr).all():
        raise InputError(f"{name} has missing or infinite coordinates",
                         hint="drop or fix points without a valid location")
    return arr


def _pairwise(o: np.ndarray, d: np.ndarray) -> np.ndarray:
    return np.sqrt((o[:, None, 0] - d[None, :, 0]) ** 2 + (o[:, None, 1] - d[None, :, 1]) ** 2)


def _id_index(ids, name: str):
    import pandas as pd

    idx = pd.Index(list(ids) if not isinstance(ids, pd.Index) else ids)
    if idx.has_duplicates:
        raise InputError(f"{name} has duplicate ids, e.g. {list(idx[idx.duplicated()][:5])}",
                         hint="each origin / destination id must appear once")
    return idx
