"""City scale: MCLP and capacity allocation on ~6,000 sections x 300 candidate sites.

Run with Debian's interpreter (``/usr/bin/python3 bench/bench_city_optimise.py``):
the builds PL/Python and QGIS use (HiGHS 1.2.0 inside scipy 1.10).

Instance (pinned: numpy PCG64, seed 20261126): 6,000 demand points in a
12 km x 12 km square (Milan's extent), clustered around 40 centres (a
city's density, not uniform noise), weights 1..60 (people 75+ per section);
300 candidate sites drawn the same way; costs are planar metres from
``welfare_core.costs.euclidean`` within the cutoff (KD-tree, only reachable
pairs). Timed region: one call of ``opt.mclp(...)`` / ``opt.allocate_capacity(...)``
from the CostMatrix to the solved model (validation, sparse model build, HiGHS,
and for capacity allocation the before-LP, the MIP, the least-spend stage and
the final flow LP). Options: ``--quick`` (1,500 x 100).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core"))
from welfare_core import costs  # noqa: E402
from welfare_core import optimise as opt  # noqa: E402

SEED = 20261126


def city(n, m, seed=SEED):
    rng = np.random.default_rng(seed)
    centres = rng.random((40, 2)) * 12_000.0

    def draw(k):
        c = centres[rng.integers(0, 40, k)]
        return np.clip(c + rng.normal(0, 900.0, (k, 2)), 0, 12_000.0)

    return draw(n), draw(m), rng.integers(1, 61, n).astype(float)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n, m = (1500, 100) if args.quick else (6000, 300)
    pts, sites, w = city(n, m)
    print(f"instance: {n} demand points x {m} candidate sites, total weight {w.sum():.0f}, seed {SEED}")

    for p, r in ((20, 800.0), (40, 800.0)):
        cm = costs.euclidean(pts, sites, r)
        t0 = time.perf_counter()
        res = opt.mclp(cm, w, r, p, time_limit=120)
        t = time.perf_counter() - t0
        print(f"MCLP p={p} r={r:.0f} m ({len(cm.row)} pairs): covered {res.covered_weight:.0f} "
              f"({res.coverage_pct:.2f} %), status {res.status}, gap {res.gap}, {t:.2f} s")

    rng = np.random.default_rng(SEED + 1)
    cap = np.where(rng.random(m) < 0.5, rng.integers(20, 80, m), 0).astype(float)  # half exist, half candidates
    need = w * 0.33
    for budget, module, cost in ((300.0, 1.0, 1.0), (3000.0, 10.0, 100.0)):
        cm = costs.euclidean(pts, sites, 1000.0)
        t0 = time.perf_counter()
        res = opt.allocate_capacity(cm, need, 1000.0, cap, budget, module_size=module, unit_cost=cost,
                                    max_modules=np.full(m, 6.0), time_limit=120)
        t = time.perf_counter() - t0
        print(f"capacity allocation budget {budget:g} (modules of {module:g} at {cost:g}, {len(cm.row)} pairs): "
              f"unmet {res.unmet_before:.1f} -> {res.unmet_after:.1f}, spend {res.spend:g}, "
              f"status {res.status}, gap {res.gap}, {t:.2f} s")


if __name__ == "__main__":
    main()
