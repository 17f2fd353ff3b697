"""Location-allocation: welfare_core.optimise (HiGHS) vs PySAL spopt (PuLP + CBC).

Run with the peers venv (``make -C bench``, or ``.venv-peers/bin/python
bench/bench_optimise.py``). spopt is timed here; ours is timed in a child
``/usr/bin/python3`` so it runs on Debian's numpy/scipy (HiGHS 1.2.0 inside
scipy 1.10), the builds PL/Python and QGIS use.

Timed region, both sides: one call from the dense cost matrix to the solved
model — ours ``opt.<model>(cost, ...)`` (validation, heuristics, sparse model
build, HiGHS); spopt ``<Model>.from_cost_matrix(...)`` + ``.solve(PULP_CBC_CMD)``
(PuLP model build, LP file, CBC). Instances: points and sites uniform in a
1,000 m square (numpy PCG64, seed 20240611), weights 1..99, Euclidean costs.
Options: ``--no-peer`` (ours only), ``--only p_median|p_center|mclp``.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORE = os.path.join(HERE, "..", "core")
DEBIAN_PYTHON = "/usr/bin/python3"
SEED = 20240611

CASES = [
    # name, model, n, m, p, max_cost
    ("p-median 2000x100 p=10", "p_median", 2000, 100, 10, None),
    ("p-center 500x50 p=10", "p_center", 500, 50, 10, None),
    ("MCLP 2000x100 p=10 r=150", "mclp", 2000, 100, 10, 150.0),
]


def dataset(n, m, seed=SEED):
    rng = np.random.default_rng(seed)
    pts, sites = rng.random((n, 2)) * 1000.0, rng.random((m, 2)) * 1000.0
    cost = np.sqrt(((pts[:, None, :] - sites[None, :, :]) ** 2).sum(-1))
    return cost, rng.integers(1, 100, n).astype(float)


CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from welfare_core import optimise as opt
model, p, r, path = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
data = np.load(path)
cost, w = data["cost"], data["w"]
t = time.perf_counter()
if model == "p_median":
    res = opt.p_median(cost, w, p)
elif model == "p_center":
    res = opt.p_center(cost, p)
else:
    res = opt.mclp(cost, w, float(r), p)
sec = time.perf_counter() - t
print(json.dumps({"seconds": sec, "objective": res.objective, "status": res.status, "gap": res.gap,
                  "solver": res.solver, "selected": list(res.selected)}))
"""


def ours(model, cost, w, p, r):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "case.npz")
        np.savez(path, cost=cost, w=w)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        out = subprocess.run([DEBIAN_PYTHON, "-c", CHILD, CORE, model, str(p), str(r), path],
                             check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def peer(model, cost, w, p, r):
    import pulp
    from spopt.locate import MCLP, PCenter, PMedian
    solver = pulp.PULP_CBC_CMD(msg=False)
    t = time.perf_counter()
    if model == "p_median":
        res = PMedian.from_cost_matrix(cost, w, p).solve(solver)
    elif model == "p_center":
        res = PCenter.from_cost_matrix(cost, p).solve(solver)
    else:
        res = MCLP.from_cost_matrix(cost, w, r, p).solve(solver)
    sec = time.perf_counter() - t
    return {"seconds": sec, "objective": pulp.value(res.problem.objective),
            "status": pulp.LpStatus[res.problem.status]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--only")
    args = ap.parse_args()
    print(__doc__.split("\n\n")[1].replace("\n", " "))
    print(f"{'case':28s} {'ours s':>8s} {'status':>8s} {'gap':>6s} {'spopt s':>8s} {'ratio':>7s}  objectives (ours / spopt)")
    for name, model, n, m, p, r in CASES:
        if args.only and model != args.only:
            continue
        cost, w = dataset(n, m)
        a = ours(model, cost, w, p, r)
        b = None if args.no_peer else peer(model, cost, w, p, r)
        ratio = f"{b['seconds'] / a['seconds']:6.1f}x" if b else "     -"
        bsec = f"{b['seconds']:8.2f}" if b else "       -"
        objs = f"{a['objective']:.6g} / {b['objective']:.6g} ({b['status']})" if b else f"{a['objective']:.6g}"
        gap = "-" if a["gap"] is None else f"{a['gap']:.0e}" if a["gap"] else "0"
        print(f"{name:28s} {a['seconds']:8.2f} {a['status']:>8s} {gap:>6s} {bsec} {ratio}  {objs}", flush=True)
    print(f"ours: {a['solver']}; ratio = spopt seconds / ours seconds")


if __name__ == "__main__":
    main()
