"""Spatial weights, Moran's I and LISA: a closed-form case, and PySAL esda on generated data.

The esda numbers come from bench/make_esda_reference.py (peers venv) and are
stored in tests/fixtures/esda_reference.json; the statistics and analytic
moments must match to 1e-9. Permutation p-values use another random stream
there, so they are checked for plausibility only.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from welfare_core import spatial
from welfare_core.errors import InputError

REF = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "esda_reference.json")
                 .read_text())


def line_of_four():
    """Four unit squares in a row: a path graph 0-1-2-3."""
    return spatial.queen_weights(list("abcd"), [box(i, 0, i + 1, 1) for i in range(4)])


def test_closed_form_moran_path_of_four():
    # y = 1..4 on the path 0-1-2-3, binary weights, worked by hand:
    # z = (-1.5, -.5, .5, 1.5), Σz² = 5, S0 = 6, Σ w z_i z_j = 2 (.75 - .25 + .75) = 2.5
    # I = 4/6 · 2.5/5 = 1/3; E[I] = -1/3; S1 = 12; S2 = (2² + 4² + 4² + 2²) = 40
    # V_norm = (16·12 − 4·40 + 3·36) / (15·36) − 1/9 = 140/540 − 60/540 = 4/27
    # z_norm = (2/3) / √(4/27) = √3
    m = spatial.moran([1, 2, 3, 4], line_of_four(), transformation="b", permutations=0)
    assert m.i == pytest.approx(1 / 3, abs=1e-12)
    assert m.expected == pytest.approx(-1 / 3, abs=1e-12)
    assert m.variance_norm == pytest.approx(4 / 27, abs=1e-12)
    assert m.z_norm == pytest.approx(math.sqrt(3), abs=1e-12)
    assert m.p_sim is None


def test_queen_counts_corner_contact_and_not_distance():
    # a 2 × 2 block: every square touches the other three (two by an edge, one by a corner);
    # a fifth square 10 m away touches nothing
    geoms = [box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2), box(1, 1, 2, 2),
             box(12, 0, 13, 1)]
    w = spatial.queen_weights(list("abcde"), geoms)
    assert w.cardinalities.tolist() == [3, 3, 3, 3, 0]
    assert list(w.islands) == ["e"]
    assert (w.w != w.w.T).nnz == 0
    # a 1 cm sliver between two zones: joined only with a tolerance
    split = [box(0, 0, 1, 1), box(1.01, 0, 2, 1)]
    assert spatial.queen_weights(["x", "y"], split).w.nnz == 0
    assert spatial.queen_weights(["x", "y"], split, tolerance_m=0.02).w.nnz == 2


@pytest.mark.parametrize("case", ["grid", "voronoi"])
def test_queen_equals_libpysal(case):
    c = REF[case]
    polys = [Polygon(p[0]) for p in c["polygons"]]
    w = spatial.queen_weights([str(i) for i in range(len(polys))], polys)
    ours = [sorted(w.w.indices[w.w.indptr[i]:w.w.indptr[i + 1]].tolist())
            for i in range(w.n)]
    assert ours == c["neighbours"]


def test_distance_band_equals_libpysal():
    c = REF["distance"]
    w = spatial.distance_weights([str(i) for i in range(len(c["points"]))], c["points"],
                                 c["threshold"])
    ours = [sorted(w.w.indices[w.w.indptr[i]:w.w.indptr[i + 1]].tolist()) for i in range(w.n)]
    assert ours == c["neighbours"]
    assert len(w.islands) == 2  # the case was made to include islands


def weights_of(case):
    c = REF[case]
    ids = [str(i) for i in range(len(c["y"]))]
    if case == "distance":
        return spatial.distance_weights(ids, c["points"], c["threshold"])
    return spatial.queen_weights(ids, [Polygon(p[0]) for p in c["polygons"]])


@pytest.mark.parametrize("case", ["grid", "voronoi", "distance"])
@pytest.mark.parametrize("transformation", ["r", "b"])
def test_global_moran_equals_esda(case, transformation):
    c = REF[case]
    ref = c[transformation]
    m = spatial.moran(c["y"], weights_of(case), transformation=transformation,
                      permutations=999, seed=7)
    assert m.i == pytest.approx(ref["I"], rel=1e-9)
    assert m.expected == pytest.approx(ref["EI"], rel=1e-12)
    assert m.variance_norm == pytest.approx(ref["VI_norm"], rel=1e-9)
    assert m.variance_rand == pytest.approx(ref["VI_rand"], rel=1e-9)
    assert m.z_norm == pytest.approx(ref["z_norm"], rel=1e-9)
    assert m.z_rand == pytest.approx(ref["z_rand"], rel=1e-9)
    assert m.p_norm == pytest.approx(ref["p_norm"], rel=1e-6, abs=1e-300)
    # plausibility only: strongly clustered data, both streams find it at the floor
    assert m.p_sim == pytest.approx(ref["p_sim"], abs=0.01)


@pytest.mark.parametrize("case", ["grid", "voronoi", "distance"])
def test_local_moran_equals_esda(case):
    c = REF[case]
    ref = c["local"]
    w = weights_of(case)
    lisa = spatial.local_moran(c["y"], w, permutations=999, seed=7)
    has = w.cardinalities > 0
    assert np.allclose(lisa["local_i"].to_numpy()[has], np.asarray(ref["Is"])[has],
                       rtol=1e-9, atol=1e-12)
    assert lisa["quadrant"].to_numpy()[has].tolist() == np.asarray(ref["q"])[has].tolist()
    # p-values: another random stream; the same zones stand out, within Monte Carlo error
    ours, theirs = lisa["p_sim"].to_numpy()[has], np.asarray(ref["p_sim"])[has]
    assert np.corrcoef(ours, theirs)[0, 1] > 0.95
    assert np.abs(ours - theirs).max() < 0.1
    sig_ours, sig_theirs = ours <= 0.05, theirs <= 0.05
    assert (sig_ours == sig_theirs).mean() > 0.9


def test_fdr_threshold_equals_esda_rule():
    for case in ("grid", "voronoi", "distance"):
        p = REF[case]["local"]["p_sim"]
        assert spatial.fdr_threshold(p, 0.05) == pytest.approx(REF[case]["local"]["fdr_05"])
    # Benjamini–Hochberg by hand: p sorted .001 .008 .039 .041 .042 .06 (n = 6, α .05):
    # k α / n = .0083 .0167 .025 .0333 .0417 .05 -> largest k with p_(k) < kα/n is 2
    assert spatial.fdr_threshold([.06, .041, .001, .042, .039, .008]) == pytest.approx(
        2 * .05 / 6)


def test_lisa_classes_seeded_and_fdr_is_stricter():
    c = REF["voronoi"]
    w = weights_of("voronoi")
    a = spatial.local_moran(c["y"], w, permutations=199, seed=3)
    b = spatial.local_moran(c["y"], w, permutations=199, seed=3)
    assert a["p_sim"].tolist() == b["p_sim"].tolist()  # same seed, same p-values
    f = spatial.local_moran(c["y"], w, permutations=199, seed=3, fdr=True)
    assert f["significant"].sum() <= a["significant"].sum()
    assert set(a["lisa_class"]) <= set(spatial.CLASSES)
    hh = a[a["lisa_class"] == "high-high"]
    assert len(hh) and (hh["z"] > 0).all() and (hh["lag"] > 0).all()
    ns = a[~a["significant"]]
    assert (ns["lisa_class"] == "not significant").all()


def test_islands_are_marked_and_errors_name_the_input():
    geoms = [box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1), box(3, 0, 4, 1), box(9, 9, 10, 10)]
    w = spatial.queen_weights(list("abcde"), geoms)
    lisa = spatial.local_moran([1, 2, 3, 4, 5], w, permutations=99)
    assert lisa.loc[4, "lisa_class"] == "no neighbours" and math.isnan(lisa.loc[4, "p_sim"])
    with pytest.raises(InputError, match="same value"):
        spatial.moran([2, 2, 2, 2, 2], w)
    with pytest.raises(InputError, match="missing"):
        spatial.moran([1, 2, float("nan"), 4, 5], w)
    with pytest.raises(InputError, match="positive"):
        spatial.distance_weights(["a"], [[0, 0]], 0)
