"""Accessibility kernel vs PySAL `access`, and the core at city scale.

Run with the peers venv (`make -C bench`, or `.venv-peers/bin/python
bench/bench_accessibility_kernel.py`). PySAL runs in this process; welfare_core
runs in a child `/usr/bin/python3` (Debian numpy/scipy, the builds the
database server and QGIS import).

(a) Kernel: E2SFCA with three step weights {c/3: .962, 2c/3: .704, c: .377}
on n = 2,000 origins x m = 2,000 facilities uniform in a 15 km square (seed
fixed), demand 1-500, supply 1-40. The cost data is built once, outside every
timed region, and handed to both sides in memory: the dense (n, m) float64
matrix of planar distances (saved to a temporary .npy that the child loads)
and the equivalent long table (origin, dest, cost) of the same 4M numbers.
Timed regions (wall clock, best of --repeats; theirs best of 1):
  ours        dense ndarray -> two_step_fca(demand, supply, dense, cutoff, decay.step(...))
  theirs      long DataFrame -> Access(...) -> enhanced_two_stage_fca(weight_fn=step_fn(...))
  theirs fca  (Access(...) built outside) enhanced_two_stage_fca only
The cutoff is given twice: 22 km (covers every pair: all 4M pairs are in the
catchments) and 3 km (the same 4M-entry cost data, ~10 % within the cutoff).

(b) City scale, ours only: 6,000 origins in a 20 km square x 10 service
types with 1,000 facilities each (10,000 facilities), each type with its own
cutoff, cost unit, decay, method and 1-6 targets (demand an (n, k) matrix,
supply capacity x share). Timed region, from coordinate arrays to results,
for all 10 types: costs.euclidean (KD-tree, cutoff in metres) -> travel_time
when the type is in minutes -> fca (2SFCA / 3SFCA, all targets at once) or
gravity_potential -> nearest cost (pairs in reach, KD-tree query for the
others) -> share within per target. Peak memory: tracemalloc over the same
work (a separate, untimed run), plus the child's ru_maxrss.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORE = os.path.join(HERE, os.pardir, "core")
DEBIAN_PYTHON = "/usr/bin/python3"
SEED = 20240605
SIDE_M = 15_000.0


def steps(cutoff):
    return {cutoff / 3: 0.962, 2 * cutoff / 3: 0.704, cutoff: 0.377}


def best_of(fn, repeats):
    best, result = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def kernel_data(n, m, seed=SEED):
    rng = np.random.default_rng(seed)
    o, d = rng.uniform(0, SIDE_M, (n, 2)), rng.uniform(0, SIDE_M, (m, 2))
    dem = rng.integers(1, 500, n).astype(float)
    sup = rng.integers(1, 40, m).astype(float)
    cost = np.hypot(o[:, None, 0] - d[None, :, 0], o[:, None, 1] - d[None, :, 1])
    return cost, dem, sup


# --- (a) ours, in the child ----------------------------------------------------------------

def child_kernel(path, cutoff, repeats):
    sys.path.insert(0, CORE)
    from welfare_core import accessibility as acc, decay
    z = np.load(path)
    cost, dem, sup = z["cost"], z["dem"], z["sup"]
    w = decay.step(steps(cutoff))
    t, result = best_of(lambda: acc.two_step_fca(dem, sup, cost, cutoff, w), repeats)
    return {"time": t, "result": result.tolist(), "numpy": np.__version__,
            "in_reach": int((cost <= cutoff).sum())}


# --- (b) city scale, in the child ----------------------------------------------------------

# (service type, facilities, cutoff, cost unit, travel mode, decay, param, method, targets)
CITY_TYPES = (
    ("nursery", 1000, 1000.0, "m", "walk", "gaussian", 500.0, "2sfca", 1),
    ("preschool", 1000, 800.0, "m", "walk", "gaussian", 400.0, "gravity", 1),
    ("primary_school", 1000, 1000.0, "m", "walk", "linear", None, "2sfca", 1),
    ("day_centre_elderly", 1000, 15.0, "min", "walk_elderly", "linear", None, "3sfca", 2),
    ("home_care", 1000, 3000.0, "m", "car", None, None, "2sfca", 3),
    ("rsa", 1000, 10.0, "min", "car", "linear", None, "3sfca", 2),
    ("social_work", 1000, 3000.0, "m", "transit", "linear", None, "2sfca", 6),
    ("family_centre", 1000, 2000.0, "m", "walk", "exponential", 0.001, "2sfca", 4),
    ("disability_centre", 1000, 20.0, "min", "transit", "gaussian", 8.0, "3sfca", 2),
    ("youth_centre", 1000, 1500.0, "m", "bike", None, None, "gravity", 2),
)
CITY_N, CITY_SIDE_M = 6000, 20_000.0


def city_data(seed=SEED):
    rng = np.random.default_rng(seed)
    o_xy = rng.uniform(0, CITY_SIDE_M, (CITY_N, 2))
    types = []
    for name, m, cutoff, unit, mode, dec, param, method, k in CITY_TYPES:
        f_xy = rng.uniform(0, CITY_SIDE_M, (m, 2))
        demand = rng.integers(0, 300, (CITY_N, k)).astype(float)
        share = rng.dirichlet(np.ones(k))
        supply = rng.integers(5, 80, m).astype(float)[:, None] * share[None, :]
        types.append((name, f_xy, demand, supply, cutoff, unit, mode, dec, param, method))
    return o_xy, types


def city_work(o_xy, types):
    from scipy.spatial import cKDTree
    from welfare_core import accessibility as acc, costs, decay
    from welfare_core.zone_access import service_decay
    out = {}
    for name, f_xy, demand, supply, cutoff, unit, mode, dec, param, method in types:
        w = service_decay(dec, param, cutoff)
        metres = cutoff if unit == "m" else cutoff * costs.SPEED_KMH[mode] * 1000.0 / 60.0
        cm = costs.euclidean(o_xy, f_xy, metres)
        cm._pairs()  # as zone_access does: nearest and share within need the pairs too
        if unit == "min":
            cm = costs.travel_time(cm, mode).within(cutoff)
        if method == "gravity":
            access = acc.gravity_potential(supply, cm, w or decay.step({cutoff: 1.0}), cutoff)
        else:
            access = 100.0 * acc.fca(demand, supply, cm, cutoff, w, method=method)
        nearest = acc.nearest_cost(cm)
        far = np.isinf(nearest)
        if far.any():
            dist, _ = cKDTree(f_xy).query(o_xy[far], k=1)
            nearest[far] = dist if unit == "m" else costs.travel_time(dist, mode)
        within = [acc.share_within(demand[:, t], cm, cutoff) for t in range(demand.shape[1])]
        out[name] = (cm.nnz, access, nearest, within)
    return out


def child_city(repeats):
    import resource
    import tracemalloc
    sys.path.insert(0, CORE)
    import welfare_core.accessibility  # noqa: F401  (imports outside the timed region)
    import welfare_core.zone_access  # noqa: F401
    from scipy.spatial import cKDTree  # noqa: F401
    o_xy, types = city_data()
    city_work(o_xy, types)  # warm-up: first-call costs (lazy imports) outside the timing
    per_type = {}
    for t in types:  # one type at a time, for the table
        per_type[t[0]], res = best_of(lambda: city_work(o_xy, [t]), repeats)
        per_type[t[0]] = (per_type[t[0]], res[t[0]][0], t[2].shape[1])
    total, _ = best_of(lambda: city_work(o_xy, types), repeats)
    tracemalloc.start()
    city_work(o_xy, types)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"total": total, "per_type": per_type, "peak_traced": peak,
            "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "numpy": np.__version__}


def in_debian_python(*args):
    cmd = [DEBIAN_PYTHON, os.path.abspath(__file__), "--child", *map(str, args)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


# --- (a) theirs ----------------------------------------------------------------------------

def time_theirs_kernel(cost, dem, sup, cutoff):
    import pandas as pd
    from access import Access, weights
    n, m = cost.shape
    ids_o, ids_d = np.arange(n), np.arange(n, n + m)
    cost_df = pd.DataFrame({"origin": np.repeat(ids_o, m), "dest": np.tile(ids_d, n),
                            "cost": cost.ravel()})
    demand_df = pd.DataFrame({"pop": dem}, index=pd.Index(ids_o, name="geoid"))
    supply_df = pd.DataFrame({"beds": sup}, index=pd.Index(ids_d, name="geoid"))
    f = weights.step_fn(steps(cutoff))

    def model():
        return Access(demand_df=demand_df, demand_index=True, demand_value="pop",
                      supply_df=supply_df, supply_index=True, supply_value="beds",
                      cost_df=cost_df, cost_origin="origin", cost_dest="dest",
                      cost_name="cost")

    def fca(mod):
        out = mod.enhanced_two_stage_fca(name="a", max_cost=cutoff, weight_fn=f)
        return out.iloc[:, 0].reindex(ids_o).fillna(0.0).to_numpy()

    t0 = time.perf_counter()
    result = fca(model())
    t_full = time.perf_counter() - t0
    mod = model()
    t0 = time.perf_counter()
    fca(mod)
    t_fca = time.perf_counter() - t0
    return t_full, t_fca, result


def max_rel_diff(a, b):
    a, b = np.asarray(a), np.asarray(b)
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.abs(a - b) / scale))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="ours: best of N")
    ap.add_argument("--skip-kernel", action="store_true")
    ap.add_argument("--skip-city", action="store_true")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "kernel":
            print(json.dumps(child_kernel(rest[0], float(rest[1]), int(rest[2]))))
        else:
            print(json.dumps(child_city(int(rest[0]))))
        return
    warnings.simplefilter("ignore")
    from importlib.metadata import version
    print(f"theirs: access {version('access')} on numpy {np.__version__} ({sys.executable})")
    if not args.skip_kernel:
        n = m = 2000
        cost, dem, sup = kernel_data(n, m)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "kernel.npz")
            np.savez(path, cost=cost, dem=dem, sup=sup)
            print(f"\n(a) kernel E2SFCA, {n} x {m} = {n * m:,} cost entries (dense for ours, "
                  "long table for theirs)")
            head = (f"{'cutoff':>7} {'in reach':>10} | {'ours':>9} | {'theirs':>9} {'ratio':>6}"
                    f" | {'theirs fca':>10} {'ratio':>6} | max rel diff")
            print(head + "\n" + "-" * len(head))
            for cutoff in (22_000.0, 3_000.0):
                ours = in_debian_python("kernel", path, cutoff, args.repeats)
                t_full, t_fca, theirs = time_theirs_kernel(cost, dem, sup, cutoff)
                diff = max_rel_diff(ours["result"], theirs)
                print(f"{cutoff:7.0f} {ours['in_reach']:10,d} | {ours['time'] * 1e3:6.0f} ms | "
                      f"{t_full * 1e3:6.0f} ms {t_full / ours['time']:5.0f}x | "
                      f"{t_fca * 1e3:7.0f} ms {t_fca / ours['time']:5.0f}x | {diff:.1e}",
                      flush=True)
        print(f"ours ran on numpy {ours['numpy']} ({DEBIAN_PYTHON}); ratio = theirs / ours")
    if not args.skip_city:
        r = in_debian_python("city", args.repeats)
        print(f"\n(b) city scale: {CITY_N:,} origins x 10 service types x 1,000 facilities "
              f"(ours, numpy {r['numpy']}, best of {args.repeats})")
        for name, (t, pairs, k) in r["per_type"].items():
            print(f"  {name:20} {k} target(s) {pairs:9,d} pairs {t * 1e3:7.1f} ms")
        print(f"  all 10 types: {r['total'] * 1e3:.0f} ms; peak traced memory "
              f"{r['peak_traced'] / 2**20:.0f} MiB; process max RSS "
              f"{r['maxrss_kb'] / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
