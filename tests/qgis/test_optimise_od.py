"""welfare:optimise_locations / allocate_capacity / close_facilities / sweep_locations with an OD cost
table, and equity groups.

Memory layers in EPSG:32632. The OD table is hand-made so that its costs
differ from the straight-line distances in ways that move the optimum (a
barrier cuts site s3 off from d and e, a tram brings a, b, c and f within
reach of s4, a bus links d to s1, the pair e -> s1 is missing = unreachable).
References: brute force over every site subset on the OD costs (covered
weight, total cost, worst group gap; for capacity, every whole-module plan
with a max-flow LP per plan via scipy.optimize.linprog; for closure, every
set of K facilities to close; for a sweep, every subset per number of new
sites), and the same brute force on the euclidean costs to show the table
changed the answer.
"""
import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

# demand (id, weight, x, y, group), candidates (id, capacity, x, y)
DEM = [("a", 10.0, 0, 0, "g1"), ("b", 20.0, 1000, 0, "g1"), ("c", 5.0, 0, 1000, "g1"),
       ("d", 30.0, 3000, 3000, "g2"), ("e", 8.0, 2500, 3000, "g2"), ("f", 12.0, 3000, 0, "g3")]
CAND = [("s1", 40.0, 0, 0), ("s2", 40.0, 1000, 0), ("s3", 40.0, 3000, 3000), ("s4", 40.0, 500, 500)]
EXIST = [("F1", 30.0, 3000, 200)]
X0, Y0 = 510_000.0, 5_030_000.0
W = np.array([r[1] for r in DEM])
GROUPS = np.array([r[4] for r in DEM])
D_IDS = [r[0] for r in DEM]


def xy(rows):
    return np.array([[r[2], r[3]] for r in rows], dtype=float)


def euclid(sites):
    return np.hypot(*(xy(DEM)[:, None, :] - xy(sites)[None, :, :]).transpose(2, 0, 1))


def od_costs():
    """Demand x CAND costs of the OD table (np.inf = pair absent)."""
    c = euclid(CAND)
    c[3, 2], c[4, 2] = 2000.0, 2500.0           # barrier: d, e -> s3
    c[0, 3], c[1, 3], c[2, 3], c[5, 3] = 400.0, 400.0, 400.0, 500.0   # tram to s4
    c[3, 0] = 550.0                              # bus d -> s1
    c[4, 0] = np.inf                             # e -> s1 not in the table
    return c


def point_layer(rows, name, group=False):
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer
    extra = "&field=grp:string" if group else ""
    lyr = QgsVectorLayer(f"Point?crs=EPSG:32632&field=pid:string&field=val:double{extra}", name, "memory")
    feats = []
    for r in rows:
        f = QgsFeature(lyr.fields())
        f.setAttributes([r[0], r[1]] + ([r[4]] if group else []))
        f.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(X0 + r[2], Y0 + r[3])))
        feats.append(f)
    lyr.dataProvider().addFeatures(feats)
    return lyr


def od_layer(cost, site_ids, names=("origin_id", "destination_id", "cost"), extra_rows=()):
    from qgis.core import QgsFeature, QgsVectorLayer
    o, d, c = names
    lyr = QgsVectorLayer(f"None?field={o}:string&field={d}:string&field={c}:double&field=cost_unit:string",
                         "od", "memory")
    feats = []
    for i, j in zip(*np.nonzero(np.isfinite(cost))):
        f = QgsFeature(lyr.fields())
        f.setAttributes([D_IDS[i], site_ids[j], float(cost[i, j]), "m"])
        feats.append(f)
    for row in extra_rows:
        f = QgsFeature(lyr.fields())
        f.setAttributes(list(row) + ["m"])
        feats.append(f)
    lyr.dataProvider().addFeatures(feats)
    return lyr


def rows(lyr):
    names = lyr.fields().names()
    return [dict(zip(names, f.attributes())) for f in lyr.getFeatures()]


def run(alg, **params):
    import processing
    p = dict(SITES="memory:", ALLOCATION="memory:", SUMMARY="memory:")
    p.update(params)
    return processing.run(f"welfare:{alg}", p)


def optimise(**extra):
    p = dict(DEMAND=point_layer(DEM, "dem", group=True), DEMAND_WEIGHT="val", DEMAND_ID="pid",
             CANDIDATES=point_layer(CAND, "cand"), CANDIDATE_ID="pid")
    p.update(extra)
    return run("optimise_locations", **p)


def chosen(out):
    return {r["site_id"] for r in rows(out["SITES"]) if r["chosen"]}


def unique_best(values):
    """(value, subset) of the best subset, asserting no other subset ties (so the site set is determined)."""
    values = sorted(values, key=lambda t: t[0])
    assert values[0][0] < values[1][0] - 1e-9, "the instance must have a unique optimum"
    return values[0]


def subsets(p):
    return itertools.combinations(range(len(CAND)), p)


def bf_mclp(cost, r, p):
    return unique_best([(-W[(cost[:, list(s)] <= r).any(axis=1)].sum(), s) for s in subsets(p)])


def test_od_parameters_have_help(welfare_plugin):
    from qgis.core import QgsApplication
    for alg_id in ("optimise_locations", "allocate_capacity", "close_facilities", "sweep_locations"):
        alg = QgsApplication.processingRegistry().algorithmById(f"welfare:{alg_id}")
        keys = {p.name(): p for p in alg.parameterDefinitions()}
        for key in ("OD_TABLE", "OD_ORIGIN", "OD_DESTINATION", "OD_COST"):
            assert key in keys and keys[key].help(), (alg_id, key)
    alg = QgsApplication.processingRegistry().algorithmById("welfare:optimise_locations")
    assert "DEMAND_GROUP" in [p.name() for p in alg.parameterDefinitions()]


def test_mclp_with_od_table_is_the_brute_force_optimum(welfare_plugin):
    cost = od_costs()
    neg, best = bf_mclp(cost, 600.0, 2)
    neg_e, best_e = bf_mclp(euclid(CAND), 600.0, 2)
    assert set(best) != set(best_e)             # the table moves the optimum (s1 + s4 vs s2 + s3)
    ids = [c[0] for c in CAND]
    out = optimise(MODEL=0, NEW_SITES=2, MAX_COST=600.0, OD_TABLE=od_layer(cost, ids))
    s = rows(out["SUMMARY"])[0]
    assert s["status"] == "optimal" and s["objective"] == pytest.approx(-neg)
    assert chosen(out) == {ids[j] for j in best}
    assert s["coverage_pct_after"] == pytest.approx(100 * -neg / W.sum())
    assert s["cost_unit"] == "m"
    lines = rows(out["ALLOCATION"])
    # each allocation line carries the OD cost of its pair, never the straight-line distance
    for ln in lines:
        i, j = D_IDS.index(ln["demand_id"]), ids.index(ln["site_id"])
        assert ln["cost"] == pytest.approx(cost[i, j]) and ln["cost"] <= 600.0
    # without the table the door finds the euclidean optimum
    out_e = optimise(MODEL=0, NEW_SITES=2, MAX_COST=600.0)
    assert chosen(out_e) == {ids[j] for j in best_e}
    assert rows(out_e["SUMMARY"])[0]["objective"] == pytest.approx(-neg_e)


def test_p_median_with_od_table_and_custom_field_names(welfare_plugin):
    cost = od_costs()
    cost[4, 0] = 3905.0  # p-median needs every point served: keep e -> s1 in this table
    val, best = unique_best([(float(W @ cost[:, list(s)].min(axis=1)), s) for s in subsets(2)])
    val_e, best_e = unique_best([(float(W @ euclid(CAND)[:, list(s)].min(axis=1)), s) for s in subsets(2)])
    assert set(best) != set(best_e)
    ids = [c[0] for c in CAND]
    out = optimise(MODEL=1, NEW_SITES=2, OD_TABLE=od_layer(cost, ids, names=("from_id", "to_id", "minutes")),
                   OD_ORIGIN="from_id", OD_DESTINATION="to_id", OD_COST="minutes")
    s = rows(out["SUMMARY"])[0]
    assert s["status"] == "optimal" and s["objective"] == pytest.approx(val)
    assert chosen(out) == {ids[j] for j in best}


def test_equity_with_groups_and_od_table(welfare_plugin):
    cost = od_costs()
    gs = sorted(set(GROUPS))
    dg = np.array([W[GROUPS == g].sum() for g in gs])

    def plan(s):
        cov = (cost[:, list(s)] <= 600.0).any(axis=1)
        worst = max(1 - W[(GROUPS == g) & cov].sum() / d for g, d in zip(gs, dg))
        return worst, W[cov].sum()

    plans = {s: plan(s) for s in subsets(2)}
    worst = min(v[0] for v in plans.values())
    fair = [s for s, v in plans.items() if v[0] <= worst + 1e-9]
    most = max(plans[s][1] for s in fair)
    ids = [c[0] for c in CAND]
    out = optimise(MODEL=3, NEW_SITES=2, MAX_COST=600.0, DEMAND_GROUP="grp", OD_TABLE=od_layer(cost, ids))
    s = rows(out["SUMMARY"])[0]
    assert s["status"] == "optimal"
    assert s["objective"] == pytest.approx(worst)       # worst group gap: g2 loses e, 8 of 38
    assert worst == pytest.approx(8 / 38)
    assert s["covered_after"] == pytest.approx(most)
    assert tuple(sorted(ids.index(k) for k in chosen(out))) in fair
    # per point (no groups) e is uncovered by every plan: the worst gap is 1
    out_p = optimise(MODEL=3, NEW_SITES=2, MAX_COST=600.0, OD_TABLE=od_layer(cost, ids))
    assert rows(out_p["SUMMARY"])[0]["objective"] == pytest.approx(1.0)


def max_served(cost, need, cap, r):
    """Most need served with split demand: an LP over the pairs within r."""
    pairs = [(i, j) for i in range(cost.shape[0]) for j in range(cost.shape[1]) if cost[i, j] <= r]
    a = np.zeros((cost.shape[0] + cost.shape[1], len(pairs)))
    for k, (i, j) in enumerate(pairs):
        a[i, k] = a[cost.shape[0] + j, k] = 1.0
    res = linprog(-np.ones(len(pairs)), A_ub=a, b_ub=np.r_[need, cap], bounds=(0, None))
    assert res.status == 0
    return -res.fun


def bf_capacity(cost, cap0, module, modules, max_mod, r):
    """Least unmet need over every plan of at most ``modules`` whole modules (per-site maxima)."""
    best = None
    for k in itertools.product(*[range(int(x) + 1) for x in max_mod]):
        if sum(k) <= modules:
            unmet = W.sum() - max_served(cost, W, cap0 + module * np.array(k), r)
            best = unmet if best is None else min(best, unmet)
    return best


def test_allocate_capacity_with_od_table_is_the_brute_force_optimum(welfare_plugin):
    sites = EXIST + [CAND[1]]                   # F1 (30 places) and candidate s2 (at most 40)
    cost = euclid(sites)
    cost[0, 1], cost[2, 1] = 2500.0, 500.0      # a is cut off from s2, c gets a shortcut
    cap0 = np.array([30.0, 0.0])
    max_mod = [2, 4]                            # MAX_INCREASE 20 at F1, 40 places at s2, modules of 10
    ref = bf_capacity(cost, cap0, 10.0, 4, max_mod, 1000.0)
    ref_e = bf_capacity(euclid(sites), cap0, 10.0, 4, max_mod, 1000.0)
    before = W.sum() - max_served(cost, W, cap0, 1000.0)
    assert ref != pytest.approx(ref_e)          # the table changes the answer (48 vs 43)
    out = run("allocate_capacity", DEMAND=point_layer(DEM, "dem"), DEMAND_WEIGHT="val", DEMAND_ID="pid",
              FACILITIES=point_layer(EXIST, "ex"), FACILITY_ID="pid", FACILITY_CAPACITY="val",
              CANDIDATES=point_layer([CAND[1]], "cand"), CANDIDATE_ID="pid", CANDIDATE_MAX="val",
              MAX_COST=1000.0, BUDGET=4.0, MODULE_SIZE=10.0, UNIT_COST=1.0, MAX_INCREASE=20.0,
              OD_TABLE=od_layer(cost, [s[0] for s in sites]))
    s = rows(out["SUMMARY"])[0]
    assert s["status"] == "optimal"
    assert s["unmet_before"] == pytest.approx(before) and s["unmet_after"] == pytest.approx(ref)
    flows = rows(out["ALLOCATION"])
    assert not [f for f in flows if f["demand_id"] == "a" and f["site_id"] == "s2"]  # cut off by the table


def test_cost_matrix_output_feeds_optimise_locations(welfare_plugin):
    import processing
    dem, cand = point_layer(DEM, "dem"), point_layer(CAND, "cand")
    od = processing.run("welfare:cost_matrix", dict(ORIGINS=dem, ORIGIN_ID="pid", DESTINATIONS=cand,
                                                    DESTINATION_ID="pid", MAX_COST=10_000.0,
                                                    OUTPUT="memory:"))["OUTPUT"]
    with_od = optimise(MODEL=0, NEW_SITES=2, MAX_COST=600.0, OD_TABLE=od)
    plain = optimise(MODEL=0, NEW_SITES=2, MAX_COST=600.0)
    assert chosen(with_od) == chosen(plain)
    assert rows(with_od["SUMMARY"])[0]["objective"] == pytest.approx(rows(plain["SUMMARY"])[0]["objective"])


def test_od_rows_for_other_ids_are_left_out(welfare_plugin):
    cost = od_costs()
    ids = [c[0] for c in CAND]
    out = optimise(MODEL=0, NEW_SITES=2, MAX_COST=600.0,
                   OD_TABLE=od_layer(cost, ids, extra_rows=[("a", "s99", 1.0), ("zz", "s1", 1.0)]))
    assert rows(out["SUMMARY"])[0]["objective"] == pytest.approx(-bf_mclp(cost, 600.0, 2)[0])


@pytest.mark.parametrize("change, match", [
    (dict(DEMAND_ID=None), "set DEMAND_ID"),
    (dict(OD_COST="nope"), "no field nope"),
])
def test_od_errors_are_clear(welfare_plugin, change, match):
    from qgis.core import QgsProcessingException
    params = dict(MODEL=0, NEW_SITES=1, MAX_COST=600.0, OD_TABLE=od_layer(od_costs(), [c[0] for c in CAND]))
    params.update(change)
    with pytest.raises(QgsProcessingException, match=match):
        optimise(**params)


def test_od_table_matching_nothing_is_a_clear_error(welfare_plugin):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="none of its"):
        optimise(MODEL=0, NEW_SITES=1, MAX_COST=600.0, OD_TABLE=od_layer(od_costs(), ["x1", "x2", "x3", "x4"]))


# ---------------------------------------------------------------- close_facilities and sweep_locations

FAC_CAP = np.array([40.0, 15.0, 40.0, 25.0])       # the CAND points as open facilities, these capacities
FACS = [(c[0], float(q), c[2], c[3]) for c, q in zip(CAND, FAC_CAP)]
F_IDS = [f[0] for f in FACS]


def close_od(**extra):
    p = dict(DEMAND=point_layer(DEM, "dem"), DEMAND_WEIGHT="val", DEMAND_ID="pid",
             FACILITIES=point_layer(FACS, "fac"), FACILITY_ID="pid")
    p.update(extra)
    return run("close_facilities", **p)


def bf_close(cost, k, r, cap=None):
    """(least coverage lost, facilities closed) over every set of k facilities; capacitated: served share (LP)."""
    def covered(cols):
        if cap is None:
            return W[(cost[:, cols] <= r).any(axis=1)].sum()
        return max_served(cost[:, cols], W, cap[cols], r)
    before = covered(list(range(len(FACS))))
    return unique_best([(before - covered([j for j in range(len(FACS)) if j not in sub]), sub)
                        for sub in itertools.combinations(range(len(FACS)), k)])


@pytest.mark.parametrize("k, r, capacitated", [(2, 600.0, False), (3, 1000.0, False), (2, 600.0, True)])
def test_close_with_od_table_is_the_brute_force_optimum(welfare_plugin, k, r, capacitated):
    cost = od_costs()
    cap = FAC_CAP if capacitated else None
    loss, best = bf_close(cost, k, r, cap)
    loss_e, best_e = bf_close(euclid(CAND), k, r, cap)
    assert set(best) != set(best_e)              # the table moves the plan
    extra = dict(CAPACITATED=True, FACILITY_CAPACITY="val") if capacitated else {}
    out = close_od(K=k, MAX_COST=r, OD_TABLE=od_layer(cost, F_IDS), **extra)
    s = rows(out["SUMMARY"])[0]
    assert s["status"] == "optimal" and s["model"] == "closure"
    assert s["objective"] == pytest.approx(loss) and s["cost_unit"] == "m"
    assert {r_["site_id"] for r_ in rows(out["SITES"]) if not r_["chosen"]} == {F_IDS[j] for j in best}
    for ln in rows(out["ALLOCATION"]):          # the allocation after closing uses the table's costs
        i, j = D_IDS.index(ln["demand_id"]), F_IDS.index(ln["site_id"])
        assert ln["cost"] == pytest.approx(cost[i, j]) and ln["cost"] <= r and j not in best
    # without the table the door finds the straight-line plan
    plain = close_od(K=k, MAX_COST=r, **extra)
    assert rows(plain["SUMMARY"])[0]["objective"] == pytest.approx(loss_e)
    assert {r_["site_id"] for r_ in rows(plain["SITES"]) if not r_["chosen"]} == {F_IDS[j] for j in best_e}


def sweep_od(**extra):
    import processing
    p = dict(DEMAND=point_layer(DEM, "dem"), DEMAND_WEIGHT="val", DEMAND_ID="pid",
             CANDIDATES=point_layer(CAND, "cand"), CANDIDATE_ID="pid", EXISTING=point_layer(EXIST, "ex"),
             EXISTING_ID="pid", MAX_NEW=3, MAX_COST=600.0, SWEEP="memory:")
    p.update(extra)
    return sorted(rows(processing.run("welfare:sweep_locations", p)["SWEEP"]), key=lambda r: r["new_sites"])


def sweep_costs():
    """Demand x (F1, s1..s4) costs: F1 straight-line, the candidates as in the OD table."""
    cost = euclid(EXIST + CAND)
    cost[:, 1:] = od_costs()
    return cost


@pytest.mark.parametrize("model", ["mclp", "p_median"])
def test_sweep_with_od_table_is_brute_force_per_p(welfare_plugin, model):
    cost = sweep_costs()
    ids = [EXIST[0][0]] + [c[0] for c in CAND]

    def value(c, sel):                           # covered weight (mclp) or total weighted cost (p_median)
        return W[(c[:, sel] <= 600.0).any(axis=1)].sum() if model == "mclp" else float(W @ c[:, sel].min(axis=1))

    def best(c, n):
        vals = [value(c, [0] + [1 + j for j in sub]) for sub in itertools.combinations(range(len(CAND)), n)]
        return max(vals) if model == "mclp" else min(vals)

    curve = sweep_od(MODEL=["mclp", "p_median"].index(model), OD_TABLE=od_layer(cost, ids))
    assert [r["new_sites"] for r in curve] == [0, 1, 2, 3]
    ref = [best(cost, n) for n in range(4)]
    assert [r["objective"] for r in curve] == pytest.approx(ref)
    assert ref != pytest.approx([best(euclid(EXIST + CAND), n) for n in range(4)])   # the table moves the curve
    for r in curve:
        assert r["status"] == "optimal"
        sel = [0] + [ids.index(x) for x in (r["new_site_ids"].split(",") if r["new_site_ids"] else [])]
        assert len(sel) == 1 + r["new_sites"]
        assert value(cost, sel) == pytest.approx(r["objective"])           # the plan itself is optimal (ties)
        cov = W[(cost[:, sel] <= 600.0).any(axis=1)].sum()
        assert r["covered"] == pytest.approx(cov) and r["coverage_pct"] == pytest.approx(100 * cov / W.sum())
    sign = 1 if model == "mclp" else -1
    assert [r["gain"] for r in curve[1:]] == pytest.approx([sign * (b - a) for a, b in zip(ref, ref[1:])])


@pytest.mark.parametrize("alg, change, match", [
    ("close", dict(FACILITY_ID=None), "set FACILITY_ID"),
    ("close", dict(OD_TABLE="other"), "none of its"),
    ("sweep", dict(EXISTING_ID=None), "set EXISTING_ID"),
    ("sweep", dict(OD_TABLE="other"), "none of its"),
    ("sweep", dict(OD_ORIGIN="nope"), "no field nope"),
])
def test_close_and_sweep_od_errors_are_clear(welfare_plugin, alg, change, match):
    from qgis.core import QgsProcessingException
    ids = [EXIST[0][0]] + [c[0] for c in CAND] if alg == "sweep" else F_IDS
    cost = sweep_costs() if alg == "sweep" else od_costs()
    if change.get("OD_TABLE") == "other":       # a table for other sites: no row matches
        change = dict(OD_TABLE=od_layer(cost, [f"x{j}" for j in range(len(ids))]))
    params = dict(MODEL=0, OD_TABLE=od_layer(cost, ids)) if alg == "sweep" else \
        dict(K=1, MAX_COST=600.0, OD_TABLE=od_layer(cost, ids))
    params.update(change)
    with pytest.raises(QgsProcessingException, match=match):
        (sweep_od if alg == "sweep" else close_od)(**params)


def test_close_leaves_out_rows_for_other_ids(welfare_plugin):
    cost = od_costs()
    out = close_od(K=2, MAX_COST=600.0,
                   OD_TABLE=od_layer(cost, F_IDS, extra_rows=[("a", "s99", 1.0), ("zz", "s1", 1.0)]))
    assert rows(out["SUMMARY"])[0]["objective"] == pytest.approx(bf_close(cost, 2, 600.0)[0])
