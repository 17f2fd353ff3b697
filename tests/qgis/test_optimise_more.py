"""welfare:close_facilities and welfare:sweep_locations through processing.run.

Memory layers in EPSG:32632; references: brute force over the site subsets,
hand numbers and the core (welfare_core.optimise.zone_models) on the same
points, so the door equals the core.
"""
import itertools

import numpy as np
import pytest

# demand (id, weight, x, y), facilities (id, capacity, x, y), candidates (id, capacity, x, y)
DEM = [("a", 10.0, 0, 0), ("b", 20.0, 1000, 0), ("c", 5.0, 0, 1000), ("d", 30.0, 3000, 3000),
       ("e", 8.0, 2500, 3000), ("f", 12.0, 3000, 0)]
FAC = [("F1", 1.0, 0, 0), ("F2", 0.0, 1000, 0), ("F3", 0.0, 3000, 3000), ("F4", 0.0, 3000, 200)]
CAND = [("s1", 40.0, 0, 0), ("s2", 40.0, 1000, 0), ("s3", 40.0, 3000, 3000), ("s4", 40.0, 500, 500)]
EXIST = [("E1", 30.0, 3000, 200)]
X0, Y0 = 510_000.0, 5_030_000.0
W = np.array([r[1] for r in DEM])


def xy(rows):
    return np.array([[r[2], r[3]] for r in rows], dtype=float)


def dist(a, b):
    return np.hypot(*(xy(a)[:, None, :] - xy(b)[None, :, :]).transpose(2, 0, 1))


def layer(rows, name, crs="EPSG:32632"):
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer
    lyr = QgsVectorLayer(f"Point?crs={crs}&field=pid:string&field=val:double", name, "memory")
    feats = []
    for pid, val, x, y in rows:
        f = QgsFeature(lyr.fields())
        f.setAttributes([pid, val])
        f.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(X0 + x, Y0 + y)))
        feats.append(f)
    lyr.dataProvider().addFeatures(feats)
    return lyr


def rows(lyr):
    names = lyr.fields().names()
    return [dict(zip(names, f.attributes())) for f in lyr.getFeatures()]


def close(**params):
    import processing
    p = dict(DEMAND=layer(DEM, "dem"), DEMAND_WEIGHT="val", DEMAND_ID="pid", FACILITIES=layer(FAC, "fac"),
             FACILITY_ID="pid", SITES="memory:", ALLOCATION="memory:", SUMMARY="memory:")
    p.update(params)
    return processing.run("welfare:close_facilities", p)


def sweep(**params):
    import processing
    p = dict(DEMAND=layer(DEM, "dem"), DEMAND_WEIGHT="val", DEMAND_ID="pid", CANDIDATES=layer(CAND, "cand"),
             CANDIDATE_ID="pid", SWEEP="memory:")
    p.update(params)
    return processing.run("welfare:sweep_locations", p)


def brute_close(k, max_cost, keep=()):
    cov = dist(DEM, FAC) <= max_cost
    before = W[cov.any(axis=1)].sum()
    return min((before - W[cov[:, [j for j in range(len(FAC)) if j not in sub]].any(axis=1)].sum(), sub)
               for sub in itertools.combinations([j for j in range(len(FAC)) if j not in keep], k))


def test_registered_with_help(welfare_plugin):
    from qgis.core import QgsApplication
    for alg_id in ("close_facilities", "sweep_locations"):
        alg = QgsApplication.processingRegistry().algorithmById(f"welfare:{alg_id}")
        assert alg is not None and alg.groupId() == "optimisation"
        for p in alg.parameterDefinitions():
            assert p.help(), f"{alg_id}: {p.name()} has no help"


def test_help_in_both_languages(welfare_plugin):
    from welfare_intelligence.algorithms import helpdoc
    from welfare_intelligence.algorithms.close_facilities import CloseFacilities, SweepLocations
    for cls in (CloseFacilities, SweepLocations):
        en, it = (helpdoc.load(cls.ALG_ID, lang) for lang in ("en", "it"))
        assert en.parameters.keys() == it.parameters.keys() and en.title != it.title


@pytest.mark.parametrize("k,max_cost", [(1, 600.0), (2, 600.0), (2, 1200.0), (3, 2000.0)])
def test_close_brute_force(welfare_plugin, k, max_cost):
    out = close(K=k, MAX_COST=max_cost)
    loss, sub = brute_close(k, max_cost)
    s = rows(out["SUMMARY"])[0]
    assert s["status"] == "optimal" and s["objective"] == pytest.approx(loss) and s["model"] == "closure"
    closed = {r["site_id"] for r in rows(out["SITES"]) if not r["chosen"]}
    assert len(closed) == k
    # the plan's own loss equals the brute-force least loss (ties may pick other facilities)
    assert brute_close_loss(closed, max_cost) == pytest.approx(loss)


def brute_close_loss(closed, max_cost):
    cov = dist(DEM, FAC) <= max_cost
    keep = [j for j, f in enumerate(FAC) if f[0] not in closed]
    return W[cov.any(axis=1)].sum() - W[cov[:, keep].any(axis=1)].sum()


def test_close_hand_and_keep(welfare_plugin):
    # within 600 m: F1 covers a (10), F2 b (20), F3 d (30) + e (8 at 500 m), F4 f (12).
    # closing 1: least loss is F1 (10) ... but KEEP (val 1 = F1) forces the next least: F4 (12).
    out = close(K=1, MAX_COST=600.0)
    assert {r["site_id"] for r in rows(out["SITES"]) if not r["chosen"]} == {"F1"}
    kept = close(K=1, MAX_COST=600.0, KEEP="val")
    assert {r["site_id"] for r in rows(kept["SITES"]) if not r["chosen"]} == {"F4"}
    s = rows(kept["SUMMARY"])[0]
    assert s["objective"] == pytest.approx(12.0) and s["covered_before"] == pytest.approx(80.0)
    lines = rows(kept["ALLOCATION"])
    assert sum(r["demand"] for r in lines) == pytest.approx(68.0) and kept["ALLOCATION"].geometryType() == 1


def test_close_equals_core(welfare_plugin):
    from welfare_core.optimise.zone_models import close_points
    out = close(K=2, MAX_COST=1200.0)
    sites, _, core = close_points(xy(DEM) + (X0, Y0), W, xy(FAC) + (X0, Y0), 2, 1200.0,
                                  facility_ids=[f[0] for f in FAC])
    s = rows(out["SUMMARY"])[0]
    assert s["objective"] == pytest.approx(core["objective"]) and s["status"] == core["status"]
    assert s["coverage_pct_after"] == pytest.approx(core["coverage_pct_after"])
    assert {r["site_id"]: r["chosen"] for r in rows(out["SITES"])} == dict(zip(sites["site_id"], sites["chosen"]))


@pytest.mark.parametrize("model", ["mclp", "p_median"])
def test_sweep_brute_force_and_core(welfare_plugin, model):
    from welfare_core.optimise.zone_models import sweep_points
    out = sweep(EXISTING=layer(EXIST, "ex"), EXISTING_ID="pid", MODEL=["mclp", "p_median"].index(model), MAX_NEW=3,
                MAX_COST=600.0)
    curve = sorted(rows(out["SWEEP"]), key=lambda r: r["new_sites"])
    cost = dist(DEM, EXIST + CAND)
    assert [r["new_sites"] for r in curve] == [0, 1, 2, 3] and [r["p"] for r in curve] == [1, 2, 3, 4]
    for r in curve:
        subs = [[0] + [1 + j for j in sub] for sub in itertools.combinations(range(4), r["new_sites"])]
        if model == "mclp":
            best = max(W[(cost[:, s] <= 600).any(axis=1)].sum() for s in subs)
        else:
            best = min(W @ cost[:, s].min(axis=1) for s in subs)
        assert r["objective"] == pytest.approx(best) and r["status"] == "optimal"
    gains = [r["gain"] for r in curve]
    assert not isinstance(gains[0], float)  # NULL on the first row
    obj = [r["objective"] for r in curve]
    sign = 1 if model == "mclp" else -1
    assert gains[1:] == pytest.approx([sign * (b - a) for a, b in zip(obj, obj[1:])])
    core = sweep_points(model, xy(DEM) + (X0, Y0), W, xy(CAND) + (X0, Y0), 3, 600.0, existing_xy=xy(EXIST) + (X0, Y0),
                        candidate_ids=[c[0] for c in CAND], existing_ids=["E1"])
    assert obj == pytest.approx(core["objective"].tolist())
    assert [r["coverage_pct"] for r in curve] == pytest.approx(core["coverage_pct"].tolist())
    assert len(curve[2]["new_site_ids"].split(",")) == 2


def test_sweep_hand(welfare_plugin):
    # no existing: 1 site within 600 m covers at most d+e = 38 (s3), 2 sites add b (20, s2) -> 58,
    # 3 sites add f? no candidate reaches f; a (10, s1/s4) -> 68
    curve = sorted(rows(sweep(MODEL=0, MAX_NEW=3, MAX_COST=600.0)["SWEEP"]), key=lambda r: r["new_sites"])
    assert [r["new_sites"] for r in curve] == [1, 2, 3]
    assert [r["objective"] for r in curve] == pytest.approx([38.0, 58.0, 68.0])
    assert [r["gain"] for r in curve[1:]] == pytest.approx([20.0, 10.0])
    assert curve[0]["new_site_ids"] == "s3"


@pytest.mark.parametrize("alg,params,match", [
    ("close", dict(K=4, MAX_COST=600.0), "closing all 4"),
    ("close", dict(K=1, MAX_COST=600.0, CAPACITATED=True), "FACILITY_CAPACITY"),
    ("sweep", dict(MODEL=0, MAX_NEW=9, MAX_COST=600.0), "only 4 candidate sites"),
    ("sweep", dict(MODEL=0, MAX_NEW=2), "max_cost"),
])
def test_errors_are_clear(welfare_plugin, alg, params, match):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match=match):
        (close if alg == "close" else sweep)(**params)
