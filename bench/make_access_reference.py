"""Reference numbers from PySAL `access` for tests/core/test_accessibility.py.

Run with the peers venv (it has `access`, geopandas and its own pandas):

    make -C bench reference        # or: .venv-peers/bin/python bench/make_access_reference.py

Writes tests/fixtures/access_reference.json: the seeded inputs (coordinates,
demand, supply) and PySAL's results for 2SFCA, enhanced 2SFCA (step
weights), 2SFCA with a Gaussian decay, 3SFCA (step weights and Gaussian),
gravity potential and normalised 2SFCA. The test recomputes every case with
welfare_core from the same inputs; our costs come from our own KD-tree, theirs
from geopandas' `distance`, so the distances are computed independently too.

PySAL conventions the test has to know: an origin that reaches nothing is
NaN there (0 in welfare_core, stored here as null); its 3SFCA selection
weights are normalised over every pair of its cost table, so the Gaussian 3SFCA
case gives it a cost table cut at the catchment (`threshold`) to match the
Wan et al. definition, which welfare_core follows.
"""
from __future__ import annotations

import json
import math
import os
import sys
import warnings

import numpy as np

SEED = 20240501
N_DEMAND, N_SUPPLY, SIDE_M, MAX_COST = 80, 30, 4000.0, 1000.0
STEP_E2SFCA = {400.0: 1.0, 700.0: 0.68, 1000.0: 0.22}
STEP_3SFCA = {400.0: 0.962, 700.0: 0.704, 1000.0: 0.377}  # last bound = cutoff (see docstring)
SIGMA = 400.0
GRAVITY = {"scale": 100.0, "alpha": -1.5, "min_cost": 50.0}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                   "tests", "fixtures", "access_reference.json")


def dataset():
    """Seeded points in a square, plus 3 isolated origins and 1 isolated facility."""
    rng = np.random.default_rng(SEED)
    demand_xy = rng.uniform(0, SIDE_M, size=(N_DEMAND, 2))
    demand_xy[-3:] = [[20000, 20000], [-9000, 500], [500, 30000]]  # reach nothing
    supply_xy = rng.uniform(0, SIDE_M, size=(N_SUPPLY, 2))
    supply_xy[-1] = [50000, 50000]                                 # reached by nobody
    demand = rng.integers(1, 500, size=N_DEMAND).astype(float)
    supply = rng.integers(1, 40, size=N_SUPPLY).astype(float)
    return demand_xy, supply_xy, demand, supply


def check_no_ties(demand_xy, supply_xy):
    """No distance within 1e-6 m of a cutoff or step bound, so < vs <= cannot matter."""
    d = np.hypot(demand_xy[:, None, 0] - supply_xy[None, :, 0],
                 demand_xy[:, None, 1] - supply_xy[None, :, 1])
    for b in [MAX_COST, *STEP_E2SFCA, *STEP_3SFCA]:
        assert not (np.abs(d - b) < 1e-6).any(), f"a distance ties with bound {b}"


def run_access(demand_xy, supply_xy, demand, supply):
    import geopandas as gpd
    import pandas as pd
    from access import Access, weights

    ids_d = [f"d{i:03d}" for i in range(len(demand))]
    ids_s = [f"s{j:03d}" for j in range(len(supply))]
    dem = gpd.GeoDataFrame({"geoid": ids_d, "pop": demand},
                           geometry=gpd.points_from_xy(demand_xy[:, 0], demand_xy[:, 1]),
                           crs="EPSG:32632").set_index("geoid")
    sup = gpd.GeoDataFrame({"geoid": ids_s, "beds": supply},
                           geometry=gpd.points_from_xy(supply_xy[:, 0], supply_xy[:, 1]),
                           crs="EPSG:32632").set_index("geoid")

    def model(threshold):
        a = Access(demand_df=dem, demand_index=True, demand_value="pop",
                   supply_df=sup, supply_index=True, supply_value="beds")
        a.create_euclidean_distance(name="euclidean", threshold=threshold)
        return a

    full = model(1e9)                # every pair: cutoffs applied by max_cost (inclusive)
    cut = model(MAX_COST)            # pairs within the catchment only
    out = {}

    def col(frame):
        series = frame.iloc[:, 0].reindex(ids_d)
        return [None if (v is None or math.isnan(v)) else float(v) for v in series]

    out["2sfca"] = col(full.two_stage_fca(name="a", max_cost=MAX_COST))
    out["2sfca_normalized"] = col(full.two_stage_fca(name="b", max_cost=MAX_COST,
                                                     normalize=True))
    out["e2sfca_step"] = col(full.enhanced_two_stage_fca(
        name="c", max_cost=MAX_COST, weight_fn=weights.step_fn(STEP_E2SFCA)))
    out["2sfca_gaussian"] = col(full.two_stage_fca(
        name="d", max_cost=MAX_COST, weight_fn=weights.gaussian(SIGMA)))
    out["3sfca_step"] = col(full.three_stage_fca(
        name="e", max_cost=MAX_COST, weight_fn=weights.step_fn(STEP_3SFCA)))
    out["3sfca_gaussian"] = col(cut.three_stage_fca(
        name="f", max_cost=MAX_COST, weight_fn=weights.gaussian(SIGMA)))
    out["gravity"] = col(full.weighted_catchment(
        name="g", max_cost=MAX_COST, weight_fn=weights.gravity(
            GRAVITY["scale"], GRAVITY["alpha"], GRAVITY["min_cost"])))
    versions = {"access": _version("access"), "pandas": pd.__version__,
                "geopandas": gpd.__version__, "numpy": np.__version__}
    return out, versions


def _version(name):
    from importlib.metadata import version
    return version(name)


def main():
    warnings.simplefilter("ignore")
    demand_xy, supply_xy, demand, supply = dataset()
    check_no_ties(demand_xy, supply_xy)
    results, versions = run_access(demand_xy, supply_xy, demand, supply)
    doc = {
        "about": "PySAL access results on a seeded dataset; made by bench/make_access_reference.py",
        "generated_with": versions,
        "seed": SEED,
        "max_cost": MAX_COST,
        "step_e2sfca": {str(k): v for k, v in STEP_E2SFCA.items()},
        "step_3sfca": {str(k): v for k, v in STEP_3SFCA.items()},
        "sigma": SIGMA,
        "gravity": GRAVITY,
        "demand_xy": demand_xy.tolist(),
        "supply_xy": supply_xy.tolist(),
        "demand": demand.tolist(),
        "supply": supply.tolist(),
        "results": results,
    }
    with open(OUT, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    print(f"wrote {os.path.normpath(OUT)}: {len(results)} cases × {len(demand)} origins",
          file=sys.stderr)


if __name__ == "__main__":
    main()
