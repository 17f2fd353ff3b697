"""Nearest-open-site assignment over reachable pairs (sorted by row, cost)."""
from __future__ import annotations

import numpy as np

from ._inputs import Pairs


def nearest_open(pairs: Pairs, is_open: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Site index (-1 if none) and cost (inf if none) of each point's nearest open site.

    Ties go to the lowest cost first, then to the order of the pairs (lowest
    site index for dense input).
    """
    idx = np.flatnonzero(is_open[pairs.col])
    site = np.full(pairs.n, -1, dtype=np.int64)
    cost = np.full(pairs.n, np.inf)
    if len(idx):
        first = first_per_row(pairs.row[idx])
        site[pairs.row[idx[first]]] = pairs.col[idx[first]]
        cost[pairs.row[idx[first]]] = pairs.cost[idx[first]]
    return site, cost


def first_per_row(rows: np.ndarray) -> np.ndarray:
    """Positions where a sorted row array starts a new row (O(k), no sort)."""
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])


def row_starts(pairs: Pairs) -> np.ndarray:
    """Index of each row's first pair (the row's nearest site); len(row) for an empty row."""
    return np.searchsorted(pairs.row, np.arange(pairs.n))
