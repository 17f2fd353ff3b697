"""Spatial weights and spatial autocorrelation: global Moran's I and local Moran (LISA).

Weights are scipy sparse matrices built once from the zones:

- ``queen_weights``: zones sharing at least one boundary point are neighbours
  (w_ij = 1); candidate pairs come from an STRtree of the polygons, so no pair
  of far-apart zones is ever tested. ``tolerance_m`` also joins zones closer
  than that (slivers between generated polygons).
- ``distance_weights``: zones whose representative points lie within
  ``threshold_m`` (inclusive) are neighbours (KD-tree pairs).

Moran's I (Cliff and Ord), z = y − ȳ, S0 = Σ w_ij, S1 = ½ Σ (w_ij + w_ji)²,
S2 = Σ_i (w_i· + w_·i)²:

    I      = n / S0 · Σ_ij w_ij z_i z_j / Σ z_i²
    E[I]   = −1 / (n − 1)
    V_norm = (n² S1 − n S2 + 3 S0²) / ((n² − 1) S0²) − E[I]²
    V_rand = [n((n² − 3n + 3) S1 − n S2 + 3 S0²) − b2((n² − n) S1 − 2n S2 + 6 S0²)]
             / ((n − 1)(n − 2)(n − 3) S0²) − E[I]²,  b2 = n Σ z⁴ / (Σ z²)²
    z      = (I − E[I]) / √V, two-sided normal p-values

Local Moran: I_i = (n − 1) z_i Σ_j w_ij z_j / Σ_k z_k² (as PySAL esda), with
conditional permutation inference: z_i held fixed, its neighbours' values drawn
without replacement from the other n − 1 zones; p = (min(#sim ≥ I_i, #sim <
I_i) + 1) / (permutations + 1), the folded pseudo p-value. Classes by the
quadrant of (z_i, lag_i): high-high, low-low, high-low, low-high where
significant (p ≤ alpha, or below the Benjamini–Hochberg FDR cut-off),
otherwise "not significant"; zones without neighbours are "no neighbours".
Every random draw comes from ``numpy.random.default_rng(seed)``: same seed,
same p-values (PySAL uses another stream, so only the statistics themselves,
not the p-values, are expected to match it exactly).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from .errors import InputError
from .progress import NO_PROGRESS, Progress

CLASSES = ("high-high", "low-low", "high-low", "low-high", "not significant", "no neighbours")
LISA_COLUMNS = ("zone_id", "value", "z", "lag", "local_i", "quadrant", "p_sim", "z_sim",
                "significant", "lisa_class", "neighbours")


@dataclass(frozen=True, eq=False)
class SpatialWeights:
    """Binary neighbour matrix over ``ids`` (csr, symmetric, empty diagonal)."""
    ids: np.ndarray
    w: sparse.csr_matrix
    kind: str

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def cardinalities(self) -> np.ndarray:
        return np.diff(self.w.indptr)

    @property
    def islands(self) -> np.ndarray:
        """Ids of zones without neighbours."""
        return self.ids[self.cardinalities == 0]

    def transformed(self, transformation: str = "r") -> sparse.csr_matrix:
        """"r" row-standardised (rows sum to 1, islands stay 0) or "b" binary."""
        if transformation == "b":
            return self.w.astype(float).tocsr()
        if transformation != "r":
            raise InputError(f"unknown weights transformation {transformation!r}",
                             hint="use 'r' (row-standardised) or 'b' (binary)")
        card = self.cardinalities.astype(float)
        inv = np.divide(1.0, card, out=np.zeros_like(card), where=card > 0)
        return (sparse.diags(inv) @ self.w.astype(float)).tocsr()

    def pairs(self) -> pd.DataFrame:
        """(zone_id, neighbour_id) rows, both directions."""
        coo = self.w.tocoo()
        return pd.DataFrame({"zone_id": self.ids[coo.row], "neighbour_id": self.ids[coo.col]})


def _from_pairs(i, j, ids, kind) -> SpatialWeights:
    n = len(ids)
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    keep = i != j
    i, j = i[keep], j[keep]
    w = sparse.coo_matrix((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()
    w.data[:] = 1.0  # duplicates summed above: back to binary
    w.sort_indices()
    return SpatialWeights(np.asarray(ids, dtype=object), w, kind)


def queen_weights(ids: Sequence[str], geometries: Sequence, *,
                  tolerance_m: float = 0.0) -> SpatialWeights:
    """Queen contiguity: polygons sharing a boundary point (or closer than ``tolerance_m``).

    geometries: shapely polygons or WKB. Candidate pairs are the STRtree hits
    of each polygon's (tolerance-grown) envelope; only those are tested.
    """
    from .validation import geometries as to_shapely
    ids = np.asarray(ids, dtype=object)
    geoms = to_shapely(geometries)
    if len(geoms) != len(ids):
        raise InputError("ids and geometries must have the same length")
    bad = [ids[k] for k, g in enumerate(geoms) if g is None or g.is_empty]
    if bad:
        raise InputError(f"zone(s) {bad[:5]} have no geometry",
                         hint="contiguity needs every zone's polygon")
    if tolerance_m < 0:
        raise InputError(f"tolerance_m = {tolerance_m} must not be negative")
    i, j = _touching_pairs(geoms, tolerance_m)
    return _from_pairs(i, j, ids, "queen")


def _touching_pairs(geoms, tol):
    import shapely
    from shapely.strtree import STRtree
    if int(shapely.__version__.split(".")[0]) >= 2:  # bulk query, all in C
        tree = STRtree(geoms)
        if tol > 0:
            i, j = tree.query(geoms, predicate="dwithin", distance=tol)
        else:
            i, j = tree.query(geoms, predicate="intersects")
        keep = i < j
        return i[keep], j[keep]
    from shapely.prepared import prep
    with warnings.catch_warnings():  # shapely 1.8 warns about the 2.0 API change
        warnings.simplefilter("ignore")
        tree = STRtree(geoms)
    position = {id(g): k for k, g in enumerate(geoms)}
    ii, jj = [], []
    for k, g in enumerate(geoms):  # one query per zone; pairs only among its hits
        probe = g.buffer(tol) if tol > 0 else g
        pg = prep(probe)
        for h in tree.query(probe):
            m = position[id(h)]
            if m > k and pg.intersects(h):
                ii.append(k)
                jj.append(m)
    return np.asarray(ii, dtype=np.int64), np.asarray(jj, dtype=np.int64)


def distance_weights(ids: Sequence[str], xy, threshold_m: float) -> SpatialWeights:
    """Distance band: points (n, 2) within ``threshold_m`` metres (inclusive) are neighbours."""
    from scipy.spatial import cKDTree
    xy = np.asarray(xy, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(ids):
        raise InputError("points must be an (n, 2) array, one row per id")
    if not np.isfinite(xy).all():
        raise InputError("some zones have no point (NaN coordinates)")
    if not threshold_m > 0:
        raise InputError(f"distance threshold {threshold_m} must be positive",
                         hint="give the band in metres, e.g. 1000")
    pairs = cKDTree(xy).query_pairs(threshold_m * (1 + 1e-12), output_type="ndarray")
    return _from_pairs(pairs[:, 0], pairs[:, 1], ids, "distance")


# --- global Moran ---------------------------------------------------------------

@dataclass(frozen=True)
class MoranResult:
    i: float
    expected: float
    variance_norm: float
    variance_rand: float
    z_norm: float
    z_rand: float
    p_norm: float
    p_rand: float
    p_sim: float | None
    z_sim: float | None
    n: int
    permutations: int
    seed: int | None
    transformation: str


def _clean(y, weights: SpatialWeights):
    y = np.asarray(y, dtype=float)
    if y.shape != (weights.n,):
        raise InputError(f"{len(y)} values for {weights.n} zones")
    if not np.isfinite(y).all():
        raise InputError("some values are missing (NULL/NaN)",
                         hint="leave zones without a value out of the weights, or fill them")
    if weights.n < 4:
        raise InputError(f"Moran's I needs at least 4 zones, got {weights.n}")
    z = y - y.mean()
    if not (z * z).sum() > 0:
        raise InputError("every zone has the same value: there is no pattern to test")
    return y, z


def moran(y, weights: SpatialWeights, *, transformation: str = "r", permutations: int = 999,
          seed: int | None = 0, progress: Progress = NO_PROGRESS) -> MoranResult:
    """Global Moran's I with analytic (normality, randomisation) and permutation inference."""
    from scipy.stats import norm
    y, z = _clean(y, weights)
    w = weights.transformed(transformation)
    n = len(y)
    s0 = w.sum()
    if s0 == 0:
        raise InputError("no zone has a neighbour", hint="use a larger distance band")
    wt = (w + w.T).tocsr()
    s1 = 0.5 * (wt.multiply(wt)).sum()
    s2 = float(((np.asarray(w.sum(axis=1)).ravel() + np.asarray(w.sum(axis=0)).ravel()) ** 2)
               .sum())
    zz = (z * z).sum()
    i_obs = n / s0 * (z @ (w @ z)) / zz
    ei = -1.0 / (n - 1)
    v_norm = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n * n - 1) * s0 * s0) - ei * ei
    b2 = n * (z ** 4).sum() / zz ** 2
    v_rand = ((n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s0 * s0)
               - b2 * ((n * n - n) * s1 - 2 * n * s2 + 6 * s0 * s0))
              / ((n - 1) * (n - 2) * (n - 3) * s0 * s0) - ei * ei)
    # zero variance: every zone neighbours every other, I is fixed; no z-score (NULL)
    z_norm = (i_obs - ei) / np.sqrt(v_norm) if v_norm > 1e-15 else np.nan
    z_rand = (i_obs - ei) / np.sqrt(v_rand) if v_rand > 1e-15 else np.nan
    p_sim = z_sim = None
    if permutations:
        rng = np.random.default_rng(seed)
        sims = np.empty(permutations)
        chunk = max(1, 2_000_000 // n)
        for start in range(0, permutations, chunk):
            k = min(chunk, permutations - start)
            zp = rng.permuted(np.repeat(z[:, None], k, axis=1), axis=0)  # n × k, columns shuffled
            sims[start:start + k] = n / s0 * (zp * (w @ zp)).sum(axis=0) / zz
            progress(100.0 * (start + k) / permutations)
        larger = int((sims >= i_obs).sum())
        larger = min(larger, permutations - larger)
        p_sim = (larger + 1.0) / (permutations + 1.0)
        sd = sims.std()
        z_sim = float((i_obs - sims.mean()) / sd) if sd > 0 else None
    return MoranResult(float(i_obs), ei, float(v_norm), float(v_rand), float(z_norm),
                       float(z_rand),
                       float(2 * norm.sf(abs(z_norm))) if np.isfinite(z_norm) else np.nan,
                       float(2 * norm.sf(abs(z_rand))) if np.isfinite(z_rand) else np.nan,
                       p_sim, z_sim, n, int(permutations), seed, transformation)


# --- local Moran ------------------------------------------------------------------

def fdr_threshold(p, alpha: float = 0.05) -> float:
    """Benjamini–Hochberg cut-off: the largest k α / n with p_(k) < k α / n (else α / n).

    Same rule as esda.fdr: a p-value at or below the cut-off is significant.
    """
    p = np.sort(np.asarray(p, dtype=float))
    n = len(p)
    crit = np.arange(1, n + 1) * alpha / n
    hit = np.flatnonzero(p < crit)
    return float(crit[hit[-1]]) if len(hit) else alpha / n


def local_moran(y, weights: SpatialWeights, *, transformation: str = "r",
                permutations: int = 999, seed: int | None = 0, alpha: float = 0.05,
                fdr: bool = False, progress: Progress = NO_PROGRESS) -> pd.DataFrame:
    """LISA per zone (LISA_COLUMNS) with seeded conditional permutations.

    quadrant: 1 high-high, 2 low-high, 3 low-low, 4 high-low (esda's coding).
    """
    if not 0 < alpha < 1:
        raise InputError(f"alpha {alpha} must be between 0 and 1")
    y, z = _clean(y, weights)
    n = len(y)
    w = weights.transformed(transformation)
    zz = (z * z).sum()
    lag = w @ z
    local = (n - 1) * z * lag / zz
    card = weights.cardinalities
    quadrant = np.where(z > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3))
    p_sim = np.full(n, np.nan)
    z_sim = np.full(n, np.nan)
    if permutations:
        p_sim, z_sim = _conditional_permutations(z, w, local, card, permutations, seed,
                                                 (n - 1) / zz, progress)
    has = card > 0
    if fdr and permutations:
        cut = fdr_threshold(p_sim[has], alpha)
    else:
        cut = alpha
    significant = has & (p_sim <= cut) if permutations else np.zeros(n, dtype=bool)
    names = np.array(["", "high-high", "low-high", "low-low", "high-low"], dtype=object)
    lisa = np.where(significant, names[quadrant], "not significant")
    lisa = np.where(has, lisa, "no neighbours")
    out = pd.DataFrame({"zone_id": weights.ids, "value": y, "z": z, "lag": lag,
                        "local_i": local, "quadrant": quadrant, "p_sim": p_sim, "z_sim": z_sim,
                        "significant": significant, "lisa_class": lisa, "neighbours": card})
    out.loc[~has, ["local_i", "p_sim", "z_sim"]] = np.nan
    out.attrs["p_threshold"] = cut
    return out[list(LISA_COLUMNS)]


def _conditional_permutations(z, w, local, card, permutations, seed, scale, progress):
    """p_sim and z_sim of every zone: neighbours drawn from the other n − 1 zones.

    One draw of max-cardinality ids per permutation is shared by all zones
    (as esda does), shifted past each zone's own index; zones are processed
    in blocks so memory stays at about blocks × permutations × k.
    """
    n = len(z)
    k = int(card.max())
    rng = np.random.default_rng(seed)
    # (permutations, k) distinct ids from 0..n-2, via argsort of uniform keys per row
    draws = np.argsort(rng.random((permutations, n - 1)), axis=1)[:, :k] if k else \
        np.zeros((permutations, 0), dtype=np.int64)
    # per-zone neighbour weights, padded to k (order of the csr row)
    wpad = np.zeros((n, k))
    row_of = np.repeat(np.arange(n), card)
    pos = np.arange(len(w.indices)) - np.repeat(w.indptr[:-1], card)
    wpad[row_of, pos] = w.data
    p = np.full(n, np.nan)
    zs = np.full(n, np.nan)
    block = max(1, 4_000_000 // max(1, permutations * max(k, 1)))
    for start in range(0, n, block):
        idx = np.arange(start, min(n, start + block))
        ids = draws[None, :, :] + (draws[None, :, :] >= idx[:, None, None])  # skip self
        lag = np.einsum("bpk,bk->bp", z[ids], wpad[idx])                       # block × perms
        sims = scale * z[idx, None] * lag
        larger = (sims >= local[idx, None]).sum(axis=1)
        larger = np.minimum(larger, permutations - larger)
        p[idx] = (larger + 1.0) / (permutations + 1.0)
        sd = sims.std(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            zs[idx] = np.where(sd > 0, (local[idx] - sims.mean(axis=1)) / sd, np.nan)
        progress(100.0 * idx[-1] / n)
    return p, zs
