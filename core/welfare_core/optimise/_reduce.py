"""Exact demand-point reduction for coverage models.

Two demand points that reach exactly the same set of candidate sites within
the service cost are interchangeable in MCLP (uncapacitated or capacitated
with split demand): every feasible solution for the merged point, carrying
the summed weight, maps to one for the originals with the same objective and
site loads, and back (give every original the merged point's shares). A
point that reaches no site can never be covered: it leaves the model and is
counted as uncovered.

Grouping is vectorised: each point's site set is hashed twice (sums of
random 64-bit keys per site, order-free, wrapping modulo 2**64), points are
grouped by (degree, hash, hash), and every group is then verified exactly by
comparing its members' sorted site lists with its first member's, so a hash
collision can only cost a missed merge, never a wrong one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._inputs import Pairs

_KEY_SEED = 0x5EED_C0DE  # fixed: the grouping is deterministic


@dataclass(frozen=True)
class Reduction:
    """Demand points merged by coverage set.

    ``pairs`` holds one row per group (the sites of its first member, costs
    of that member); ``weights`` the summed weights; ``group`` maps every
    original point to its group (-1 for a point that reaches no site).
    """

    pairs: Pairs
    weights: np.ndarray
    group: np.ndarray

    def expand_rows(self, matrix):
        """Rows of a (groups, m) sparse matrix repeated for each original point (zero rows for -1)."""
        import scipy.sparse as sp

        n = len(self.group)
        has = self.group >= 0
        pick = sp.csr_matrix((np.ones(int(has.sum())), (np.flatnonzero(has), self.group[has])),
                             shape=(n, self.pairs.n))
        out = (pick @ matrix).tocsr()
        out.eliminate_zeros()
        return out


def coverage_groups(pairs: Pairs, weights: np.ndarray, *, keys=None) -> Reduction:
    """Merge demand points with identical site sets in ``pairs`` (already cut at the service cost).

    ``keys``: two (m,) uint64 arrays of site hash keys (tests pass colliding
    ones to exercise the exact check); random with a fixed seed by default.
    """
    n, m = pairs.n, pairs.m
    order = np.lexsort((pairs.col, pairs.row))
    row, col = pairs.row[order], pairs.col[order]
    deg = np.bincount(row, minlength=n)
    start = np.r_[0, np.cumsum(deg)[:-1]]
    if keys is None:
        rng = np.random.default_rng(_KEY_SEED)
        keys = rng.integers(0, np.iinfo(np.uint64).max, (2, m), dtype=np.uint64, endpoint=True)
    k1, k2 = (np.asarray(k, dtype=np.uint64) for k in keys)
    reach = np.flatnonzero(deg > 0)
    h1 = np.zeros(n, dtype=np.uint64)
    h2 = np.zeros(n, dtype=np.uint64)
    if len(reach):
        with np.errstate(over="ignore"):
            h1[reach] = np.add.reduceat(k1[col], start[reach])
            h2[reach] = np.add.reduceat(k2[col], start[reach])
    key = np.stack([deg[reach].astype(np.uint64), h1[reach], h2[reach]], axis=1)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    rep = reach[first]                       # first member of each candidate group
    member_rep = rep[inv]                    # per reachable point
    # exact check: the k-th site of each member equals the k-th site of its representative
    rep_of_pair = np.repeat(member_rep, deg[reach])
    pos = np.arange(len(row)) - np.repeat(start[reach], deg[reach])
    same = col == col[start[rep_of_pair] + pos]
    bad_pair_rows = row[~same]
    if len(bad_pair_rows):
        # a hash collision: those points stay unmerged, each its own group (a
        # representative always matches itself, so no group is left empty)
        bad = np.isin(reach, bad_pair_rows)
        inv = inv.copy()
        inv[bad] = len(first) + np.arange(int(bad.sum()))
        rep = np.r_[rep, reach[bad]]
    group = np.full(n, -1, dtype=np.int64)
    group[reach] = inv
    g = len(rep)
    gw = np.bincount(inv, weights=weights[reach], minlength=g)
    # the representatives' pairs, in the original (row, cost) order, renumbered by group
    is_rep = np.zeros(n, dtype=bool)
    is_rep[rep] = True
    gid = np.full(n, -1, dtype=np.int64)
    gid[rep] = np.arange(g)
    keep = is_rep[pairs.row]
    grow = gid[pairs.row[keep]]
    gcol, gcost = pairs.col[keep], pairs.cost[keep]
    o = np.lexsort((gcost, grow))
    reduced = Pairs(g, m, grow[o], gcol[o], gcost[o])
    return Reduction(reduced, gw, group)
