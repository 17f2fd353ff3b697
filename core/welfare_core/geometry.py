"""Planar geometry helpers shared by every door (no geopandas on this path)."""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from .validation import geometries


def locate_points(points: Sequence, zone_ids: Sequence[str], zone_geoms: Sequence) -> np.ndarray:
    """Zone id containing each point (object array; None when outside every zone).

    A point on a shared border belongs to the zone with the smallest id, so
    every door assigns it the same way. Geometries: shapely objects or WKB.
    """
    from shapely.prepared import prep
    from shapely.strtree import STRtree

    pts = geometries(points)
    polys = geometries(zone_geoms)
    ids = np.asarray(zone_ids, dtype=object)
    keep = [i for i, g in enumerate(polys) if g is not None and not g.is_empty]
    out = np.full(len(pts), None, dtype=object)
    if not keep or not pts:
        return out
    with warnings.catch_warnings():  # shapely 1.8 warns about the 2.0 API change
        warnings.simplefilter("ignore")
        tree = STRtree([polys[i] for i in keep])
    index_of = {id(polys[i]): i for i in keep}
    prepared: dict[int, object] = {}
    for k, p in enumerate(pts):
        if p is None or p.is_empty:
            continue
        hits = []
        for h in tree.query(p):
            # shapely 1.8 returns geometries, shapely 2 returns positions in `keep`
            i = keep[int(h)] if isinstance(h, (int, np.integer)) else index_of[id(h)]
            pg = prepared.get(i) or prepared.setdefault(i, prep(polys[i]))
            if pg.covers(p):
                hits.append(ids[i])
        if hits:
            out[k] = min(hits)
    return out
