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


@dataclass(frozen=True, eq=False)
class CostMatrix:
    """Costs of the reachable (origin, destination) pairs of an ``(n, m)`` problem.

    ``row[k]``, ``col[k]``, ``cost[k]``: origin index, destination index and
    cost of the k-th reachable pair. Pairs are stored sorted by (row, col),
    without duplicates; costs are finite and >= 0 (zero is a valid cost).
    Absent pairs are unreachable. The arrays are read-only.
    """

    shape: tuple[int, int]
    row: np.ndarray
    col: np.ndarray
    cost: np.ndarray

    def __post_init__(self):
        n, m = _check_shape(self.shape)
        row = np.asarray(self.row, dtype=np.int64).ravel()
        col = np.asarray(self.col, dtype=np.int64).ravel()
        cost = np.asarray(self.cost, dtype=np.float64).ravel()
        if not (len(row) == len(col) == len(cost)):
            raise InputError(
                f"CostMatrix row, col and cost have different lengths "
                f"({len(row)}, {len(col)}, {len(cost)})",
                hint="pass one entry per reachable pair in each array")
        if len(row) and (row.min() < 0 or row.max() >= n or col.min() < 0 or col.max() >= m):
            raise InputError(f"CostMatrix indices fall outside its shape {(n, m)}",
                             hint="row indices must be in [0, n), col indices in [0, m)")
        _check_costs(cost, "CostMatrix cost", allow_inf=False)
        row, col, cost = _canonical(row, col, cost, m)
        for name, arr in (("row", row), ("col", col), ("cost", cost)):
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "shape", (n, m))

    # --- constructors ---------------------------------------------------------

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

    # --- views ----------------------------------------------------------------

    @property
    def nnz(self) -> int:
        """Number of reachable pairs."""
        return len(self.cost)

    def within(self, max_cost: float) -> "CostMatrix":
        """The pairs with ``cost <= max_cost`` (inclusive)."""
        max_cost = check_max_cost(max_cost)
        if self.nnz == 0 or self.cost.max() <= max_cost:
            return self
        keep = self.cost <= max_cost
        return CostMatrix(self.shape, self.row[keep], self.col[keep], self.cost[keep])

    def with_costs(self, cost) -> "CostMatrix":
        """Same pairs, new costs (e.g. metres converted to minutes)."""
        return CostMatrix(self.shape, self.row, self.col, cost)

    def to_dense(self) -> np.ndarray:
        """Dense ``(n, m)`` float array, ``np.inf`` where unreachable."""
        out = np.full(self.shape, np.inf)
        out[self.row, self.col] = self.cost
        return out

    def indptr(self) -> np.ndarray:
        """CSR row pointer: the pairs of origin i are ``indptr[i]:indptr[i+1]``."""
        counts = np.bincount(self.row, minlength=self.shape[0])
        return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    def to_csr(self, values=None) -> sparse.csr_matrix:
        """CSR matrix with one stored entry per reachable pair.

        ``values`` (one per pair, default the costs) become the data. Zeros
        are kept as *explicit* stored entries: the matrix is built directly
        from (data, indices, indptr), which scipy never prunes. So a zero cost
        stays distinguishable from "unreachable" through the sparsity
        structure, but only as long as nobody calls ``eliminate_zeros()`` or
        does arithmetic that prunes. That is why the core never reads
        reachability back from a cost CSR: it keeps the triplets here and
        builds a CSR of *weights* (``to_csr(weights)``) only for products.
        """
        data = self.cost if values is None else np.asarray(values, dtype=np.float64)
        if data.shape != (self.nnz,):
            raise InputError(f"to_csr values have shape {data.shape}, expected ({self.nnz},)",
                             hint="pass one value per reachable pair")
        return sparse.csr_matrix((data, self.col, self.indptr()), shape=self.shape)

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
    Uses KD-tree range queries (scipy ``cKDTree.sparse_distance_matrix``), so
    memory and time grow with the number of pairs within the cutoff, not with
    n × m. Distances are ``sqrt(dx² + dy²)`` as the tree computes them; the
    cutoff test ``<= max_cost`` is applied to exactly those numbers.
    """
    # imported here: scipy.spatial adds ~60 ms to every new database session,
    # and sessions that read network costs from a table never need it
    from scipy.spatial import cKDTree

    o = _points(origins, "origins")
    d = _points(destinations, "destinations")
    max_cost = check_max_cost(max_cost)
    shape = (len(o), len(d))
    if not (len(o) and len(d)):
        return CostMatrix(shape, [], [], [])
    if math.isinf(max_cost):
        return CostMatrix.from_dense(_pairwise(o, d))
    # Query a hair wider than max_cost, then apply the exact inclusive test to
    # the tree's own distances: the tree's pruning may round at the boundary.
    radius = max_cost * (1 + 1e-9) + 1e-9
    pairs = cKDTree(d).sparse_distance_matrix(cKDTree(o), radius, output_type="ndarray")
    keep = pairs["v"] <= max_cost
    return CostMatrix(shape, pairs["j"][keep], pairs["i"][keep], pairs["v"][keep])


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
        return cost_m.with_costs(cost_m.cost / metres_per_minute)
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
