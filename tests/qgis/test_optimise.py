"""welfare:optimise_locations and welfare:allocate_capacity through processing.run.

Memory layers in EPSG:32632; references: brute force over the site subsets and
the core (welfare_core.optimise) on the same points, so the door equals the core.
"""
import itertools

import numpy as np
import pytest

MODELS = ("mclp", "p_median", "p_center", "equity")
# demand (id, weight, x, y), candidates (id, capacity, x, y), existing (id, capacity, x, y)
DEM = [("a", 10.0, 0, 0), ("b", 20.0, 1000, 0), ("c", 5.0, 0, 1000), ("d", 30.0, 3000, 3000),
       ("e", 8.0, 2500, 3000), ("f", 12.0, 3000, 0)]
CAND = [("s1", 40.0, 0, 0), ("s2", 40.0, 1000, 0), ("s3", 40.0, 3000, 3000), ("s4", 40.0, 500, 500)]
EXIST = [("F1", 30.0, 3000, 200)]
X0, Y0 = 510_000.0, 5_030_000.0


def xy(rows):
    return np.array([[r[2], r[3]] for r in rows], dtype=float)


def layer(rows, name, crs="EPSG:32632", poly=False):
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer
    lyr = QgsVectorLayer(f"{'Polygon' if poly else 'Point'}?crs={crs}&field=pid:string&field=val:double",
                         name, "memory")
    feats = []
    for pid, val, x, y in rows:
        f = QgsFeature(lyr.fields())
        f.setAttributes([pid, val])
        pt = QgsPointXY(X0 + x, Y0 + y)
        f.setGeometry(QgsGeometry.fromPointXY(pt).buffer(10, 8) if poly else QgsGeometry.fromPointXY(pt))
        feats.append(f)
    lyr.dataProvider().addFeatures(feats)
    return lyr


def run(alg, **params):
    import processing
    out = dict(SITES="memory:", ALLOCATION="memory:", SUMMARY="memory:")
    out.update(params)
    return processing.run(f"welfare:{alg}", out)


def rows(lyr):
    names = lyr.fields().names()
    return [dict(zip(names, f.attributes())) for f in lyr.getFeatures()]


def base(**extra):
    p = dict(DEMAND=layer(DEM, "dem"), DEMAND_WEIGHT="val", DEMAND_ID="pid", CANDIDATES=layer(CAND, "cand"),
             CANDIDATE_ID="pid", CANDIDATE_CAPACITY="val")
    p.update(extra)
    return p


def test_registered_with_help(welfare_plugin):
    from qgis.core import QgsApplication
    for alg_id in ("optimise_locations", "allocate_capacity"):
        alg = QgsApplication.processingRegistry().algorithmById(f"welfare:{alg_id}")
        assert alg is not None and alg.groupId() == "optimisation"
        for p in alg.parameterDefinitions():
            assert p.help(), f"{alg_id}: {p.name()} has no help"


def test_mclp_brute_force_with_existing(welfare_plugin):
    out = run("optimise_locations", **base(EXISTING=layer(EXIST, "ex"), EXISTING_ID="pid", MODEL=0, NEW_SITES=1,
                                           MAX_COST=600.0))
    W = np.array([r[1] for r in DEM])
    cost = np.hypot(*(xy(DEM)[:, None, :] - np.vstack([xy(EXIST), xy(CAND)])[None, :, :]).transpose(2, 0, 1))
    best = max(W[(cost[:, [0, j]] <= 600).any(axis=1)].sum() for j in range(1, 5))
    summary = rows(out["SUMMARY"])[0]
    assert summary["status"] == "optimal" and summary["objective"] == pytest.approx(best)
    assert summary["coverage_pct_before"] == pytest.approx(100 * 12 / W.sum())
    sites = {r["site_id"]: r for r in rows(out["SITES"])}
    assert sites["F1"]["chosen"] and sum(r["chosen"] for r in sites.values()) == 2
    lines = rows(out["ALLOCATION"])
    assert sum(r["demand"] for r in lines) == pytest.approx(best)
    assert out["ALLOCATION"].geometryType() == 1  # lines


@pytest.mark.parametrize("model", MODELS)
def test_equals_core(welfare_plugin, model):
    from welfare_core.optimise.zone_models import locate_points
    out = run("optimise_locations", **base(MODEL=MODELS.index(model), NEW_SITES=2, MAX_COST=800.0))
    _, _, core = locate_points(model, xy(DEM) + (X0, Y0), [r[1] for r in DEM], xy(CAND) + (X0, Y0), 2, 800.0)
    summary = rows(out["SUMMARY"])[0]
    assert summary["objective"] == pytest.approx(core["objective"])
    assert summary["status"] == core["status"] == "optimal"


def test_polygons_and_capacitated(welfare_plugin):
    out = run("optimise_locations", **base(DEMAND=layer(DEM, "dem", poly=True), MODEL=0, NEW_SITES=1,
                                           MAX_COST=600.0, CAPACITATED=True))
    assert rows(out["SUMMARY"])[0]["objective"] == pytest.approx(38.0)  # s3: d 30 + e 8 within 40


def test_allocate_capacity_hand(welfare_plugin):
    # F1 (cap 30) at (3000,200) reaches f (12) and, within 3000 m, d (30) and e (8)? d: 2800 m, e: 2850 m.
    # MAX_COST 1000: F1 reaches only f (12): unmet before = 85 - 12 = 73; candidates s2 reaches a, b;
    # budget 25 places at s2 (max 40): a 10 + b 20 = 30 -> +25 served, unmet 48.
    out = run("allocate_capacity", DEMAND=layer(DEM, "dem"), DEMAND_WEIGHT="val", DEMAND_ID="pid",
              FACILITIES=layer(EXIST, "ex"), FACILITY_ID="pid", FACILITY_CAPACITY="val",
              CANDIDATES=layer([CAND[1]], "cand"), CANDIDATE_ID="pid", CANDIDATE_MAX="val",
              MAX_COST=1000.0, BUDGET=25.0)
    s = rows(out["SUMMARY"])[0]
    assert s["unmet_before"] == pytest.approx(73.0) and s["unmet_after"] == pytest.approx(48.0)
    assert s["spend"] == pytest.approx(25.0) and s["status"] == "optimal"
    sites = {r["site_id"]: r for r in rows(out["SITES"])}
    assert sites["s2"]["added_capacity"] == pytest.approx(25.0)


def test_geographic_crs_is_a_clear_error(welfare_plugin):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="geographic|projected"):
        run("optimise_locations", **base(DEMAND=layer([("a", 1.0, 9.1 - X0, 45.4 - Y0)], "geo", crs="EPSG:4326"),
                                         MODEL=0, NEW_SITES=1, MAX_COST=600.0))


def test_too_many_sites_is_a_clear_error(welfare_plugin):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="only 4 candidate sites"):
        run("optimise_locations", **base(MODEL=1, NEW_SITES=9))
