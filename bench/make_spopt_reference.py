"""Solve small seeded instances with PySAL spopt and store their objectives.

Run with the peers venv (spopt is never a dependency of the core):

    .venv-peers/bin/python bench/make_spopt_reference.py

Writes tests/fixtures/spopt_reference.json: each case holds its own cost
matrix, weights and parameters, so the test needs neither spopt nor this
script's random generator.
"""
import json
import os
import sys

import numpy as np
import pulp
import spopt
from spopt.locate import LSCP, LSCPB, MCLP, PCenter, PMedian

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "spopt_reference.json")


def instance(seed, n, m):
    rng = np.random.default_rng(seed)
    pts = rng.random((n, 2)) * 100.0
    sites = rng.random((m, 2)) * 100.0
    cost = np.round(np.hypot(*(pts[:, None, :] - sites[None, :, :]).transpose(2, 0, 1)), 3)
    weights = rng.integers(1, 20, n).astype(float)
    return cost, weights


def mask(m, idx):
    out = np.zeros(m, dtype=int)
    out[list(idx)] = 1
    return out


def main():
    solver = pulp.PULP_CBC_CMD(msg=False)
    cases = []
    for seed in range(6):
        n, m = 30 + 5 * seed, 8 + seed % 3
        cost, w = instance(seed, n, m)
        p = 2 + seed % 3
        radius = float(np.round(cost.min(axis=1).max() * 1.1, 3))  # every point coverable
        pre = [seed % m] if seed % 2 else []
        pre_arr = mask(m, pre) if pre else None
        base = {"seed": seed, "cost": cost.tolist(), "weights": w.tolist(), "p": p,
                "predefined": pre, "max_cost": radius}

        pm = PMedian.from_cost_matrix(cost, w, p, predefined_facilities_arr=pre_arr).solve(solver)
        cases.append({**base, "model": "p_median", "objective": pulp.value(pm.problem.objective)})

        pc = PCenter.from_cost_matrix(cost, p, predefined_facilities_arr=pre_arr).solve(solver)
        cases.append({**base, "model": "p_center", "objective": pulp.value(pc.problem.objective)})

        mc = MCLP.from_cost_matrix(cost, w, radius, p, predefined_facilities_arr=pre_arr).solve(solver)
        cases.append({**base, "model": "mclp", "objective": pulp.value(mc.problem.objective)})

        ls = LSCP.from_cost_matrix(cost, radius, predefined_facilities_arr=pre_arr).solve(solver)
        cases.append({**base, "model": "lscp", "objective": pulp.value(ls.problem.objective)})

        lb = LSCPB.from_cost_matrix(cost, radius, solver, predefined_facilities_arr=pre_arr).solve()
        cases.append({**base, "model": "lscp_b", "objective": pulp.value(lb.problem.objective)})

        # capacitated LSCP (CLSCP-SO: demand may be split, like ours)
        cap = np.full(m, float(np.ceil(w.sum() / 3)))
        try:
            cl = LSCP.from_cost_matrix(cost, radius, predefined_facilities_arr=pre_arr,
                                       demand_quantity_arr=w, facility_capacity_arr=cap).solve(solver)
            value = pulp.value(cl.problem.objective)
        except RuntimeError as exc:  # spopt raises when CBC reports infeasible
            if "Infeasible" not in str(exc):
                raise
            value = "infeasible"
        cases.append({**base, "model": "lscp_capacitated", "capacities": cap.tolist(), "objective": value})
    doc = {"made_by": "bench/make_spopt_reference.py",
           "spopt": spopt.__version__, "pulp": pulp.__version__, "solver": "PULP_CBC_CMD",
           "python": sys.version.split()[0], "cases": cases}
    with open(OUT, "w") as fh:
        json.dump(doc, fh, indent=1)
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
