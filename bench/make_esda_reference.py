#!/usr/bin/env python3
"""Reference numbers from PySAL (esda, libpysal) for the spatial tests of welfare_core.

Run with the peers venv (never system Python):

    .venv-peers/bin/python bench/make_esda_reference.py   # -> tests/fixtures/esda_reference.json

Generated data (seeded, so the file is reproducible):
- "grid": 12 × 10 unit squares with a spatially smooth value plus noise;
- "voronoi": 150 Voronoi cells of random points clipped to a square (irregular
  polygons that share their vertices, so libpysal's vertex-based Queen and our
  geometric one must agree), with a patch of high values;
- "distance": the voronoi cells' representative points with a 0.12 distance band.
For each: the neighbour lists, esda.Moran (transformations "r" and "b"), and
esda.Moran_Local ("r"); empirical-Bayes rates from esda.smoothing.Empirical_Bayes.
Permutation p-values are stored for plausibility checks only (random streams differ).
Polygons are stored as coordinate lists (JSON floats round-trip exactly).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import esda
import libpysal
import numpy as np
import shapely
from esda.smoothing import Empirical_Bayes
from libpysal.weights import DistanceBand, Queen, W
from shapely.geometry import MultiPoint, box

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "esda_reference.json"
PERMUTATIONS = 999


def grid_case(rng):
    nx, ny = 12, 10
    polys, vals = [], []
    for j in range(ny):
        for i in range(nx):
            polys.append(box(i, j, i + 1, j + 1))
            vals.append(np.sin(i / 3.0) + np.cos(j / 4.0) + rng.normal(0, 0.4))
    return polys, np.array(vals)


def voronoi_case(rng):
    pts = rng.random((150, 2))
    cells = shapely.voronoi_polygons(MultiPoint(pts), extend_to=box(-1, -1, 2, 2))
    frame = box(0, 0, 1, 1)
    polys = []
    for p in pts:  # keep the order of the points
        cell = next(c for c in cells.geoms if c.contains(shapely.Point(p)))
        polys.append(cell.intersection(frame))
    centre = np.array([0.3, 0.7])
    vals = 5 * np.exp(-((pts - centre) ** 2).sum(axis=1) / 0.05) + rng.normal(0, 0.5, len(pts))
    return polys, vals


def neighbours(w: W, n: int) -> list[list[int]]:
    return [sorted(int(k) for k in w.neighbors[i]) for i in range(n)]


def moran_block(y, w):
    out = {}
    for t in ("r", "b"):
        m = esda.Moran(y, w, transformation=t, permutations=PERMUTATIONS, two_tailed=True)
        out[t] = {"I": m.I, "EI": m.EI, "VI_norm": m.VI_norm, "VI_rand": m.VI_rand,
                  "z_norm": m.z_norm, "z_rand": m.z_rand, "p_norm": m.p_norm,
                  "p_rand": m.p_rand, "p_sim": m.p_sim}
    np.random.seed(12345)
    lm = esda.Moran_Local(y, w, transformation="r", permutations=PERMUTATIONS, seed=12345)
    out["local"] = {"Is": lm.Is.tolist(), "q": lm.q.tolist(), "p_sim": lm.p_sim.tolist(),
                    "fdr_05": esda.fdr(lm.p_sim, 0.05)}
    return out


def main() -> None:
    rng = np.random.default_rng(20240601)
    cases = {}
    for name, make in (("grid", grid_case), ("voronoi", voronoi_case)):
        polys, y = make(rng)
        w = Queen.from_iterable(polys)
        cases[name] = {
            "polygons": [[list(map(list, p.exterior.coords))] for p in polys],
            "y": y.tolist(), "neighbours": neighbours(w, len(polys)), **moran_block(y, w)}
    polys = cases["voronoi"]["polygons"]
    pts = np.array([shapely.Polygon(p[0]).representative_point().coords[0] for p in polys])
    band = 0.12
    wd = DistanceBand(pts, threshold=band, binary=True, silence_warnings=True)
    cases["distance"] = {"points": pts.tolist(), "threshold": band,
                         "y": cases["voronoi"]["y"],
                         "neighbours": neighbours(wd, len(pts)),
                         **moran_block(np.array(cases["voronoi"]["y"]), wd)}
    e = rng.poisson(lam=rng.uniform(2, 30, 60)).astype(float)
    b = rng.integers(40, 3000, 60).astype(float)
    eb = Empirical_Bayes(e, b)
    cases["empirical_bayes"] = {"events": e.tolist(), "base": b.tolist(),
                                "rates": eb.r.ravel().tolist()}
    meta = {"made_by": "bench/make_esda_reference.py", "python": sys.version.split()[0],
            "esda": esda.__version__, "libpysal": libpysal.__version__,
            "numpy": np.__version__, "shapely": shapely.__version__,
            "permutations": PERMUTATIONS}
    OUT.write_text(json.dumps({"meta": meta, **cases}, indent=None, separators=(",", ":")))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
