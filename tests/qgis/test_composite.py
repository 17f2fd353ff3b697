"""welfare:composite_index, hot_spots, compare_zones, equity_measures through processing.run.

The tiny city (tests/fixtures/tiny_city.py) at neighbourhood level, indicators
written by welfare:zone_indicators (raw values); every output must equal the
core called on the core's own indicator rows (welfare_core.indicators).
"""
import json

import pandas as pd
import pytest

from fixtures import tiny_city as tc

N = ["015146-N1", "015146-N2", "015146-N3", "015146-N4"]
COMPONENTS = ["pop_65plus", {"name": "pop_0_2", "theme": "children"},
              {"name": "pop_65plus:coverage_per_100", "theme": "services"}]
RAW = 1


@pytest.fixture(scope="module")
def indicators(welfare_plugin, clean_city):
    import processing
    params = {k: v for k, v in clean_city.items() if k in (
        "ZONES", "DEMAND", "POPULATION", "HOUSEHOLDS", "FACILITIES", "TARGETS",
        "SERVICE_TYPES", "SERVICE_TARGETS")}
    params.update(LEVEL=1, PERIOD=2023, VALUES=RAW, OUTPUT="memory:", OUTPUT_SERVICES="memory:")
    return processing.run("welfare:zone_indicators", params)["OUTPUT"]


def core_rows():
    from welfare_core.indicators import zone_indicators
    rows, _ = zone_indicators(tc.tables(), "neighbourhood", 2023)
    return rows


def frame(layer):
    from qgis.PyQt.QtCore import QVariant
    names = layer.fields().names()
    rows = [[None if isinstance(v, QVariant) else v for v in f.attributes()]
            for f in layer.getFeatures()]
    return pd.DataFrame(rows, columns=names)


def same(a, b):
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        if y is None or (not isinstance(y, str) and pd.isna(y)):
            assert x is None or pd.isna(x), (x, y)
        elif isinstance(y, str):
            assert x == y
        else:
            assert x == pytest.approx(float(y), rel=1e-9, abs=1e-12), (x, y)


def test_registered_in_the_composite_group(welfare_plugin):
    from qgis.core import QgsApplication
    for alg_id in ("composite_index", "hot_spots", "compare_zones", "equity_measures"):
        alg = QgsApplication.processingRegistry().algorithmById(f"welfare:{alg_id}")
        assert alg is not None and alg.groupId() == "composite", alg_id


@pytest.mark.parametrize("method", [0, 1, 2])
def test_composite_index_equals_core(indicators, method):
    import processing
    from welfare_core import composite
    out = processing.run("welfare:composite_index", {
        "INDICATORS": indicators, "COMPONENTS": json.dumps(COMPONENTS), "METHOD": method,
        "MIN_POPULATION": 1100, "OUTPUT": "memory:", "OUTPUT_COMPONENTS": "memory:"})
    got = frame(out["OUTPUT"]).sort_values("zone_id")
    values, comps, pop = composite.components_from_indicators(core_rows(), COMPONENTS)
    result = composite.composite_index(values, comps, method=composite.METHODS[method])
    want = composite.publish_composite(result, pop, 1100).index.sort_values("zone_id")
    assert got["zone_id"].tolist() == N
    for col in ("score", "rank", "pct_rank", "mean", "penalty"):
        same(got[col], want[col])
    # N3 has 1000 residents: below the floor, no index
    assert pd.isna(got.set_index("zone_id").loc["015146-N3", "score"])
    assert out["OUTPUT"].geometryType() == 2  # polygons
    contrib = frame(out["OUTPUT_COMPONENTS"])
    assert len(contrib) == 4 * 3


def test_hot_spots_equal_core_and_are_styled(indicators):
    import processing
    from welfare_core import benchmark, spatial
    out = processing.run("welfare:hot_spots", {
        "INDICATORS": indicators, "TARGET_ID": "pop_65plus", "PERMUTATIONS": 99, "SEED": 5,
        "OUTPUT": "memory:"})
    got = frame(out["OUTPUT"]).sort_values("zone_id")
    vals = benchmark.indicator_rows(core_rows(), ["pop_65plus"])
    geoms = tc.tables()["zone"].set_index("zone_id").loc[N, "geometry"].tolist()
    w = spatial.queen_weights(N, geoms)
    want = spatial.local_moran(vals["value"].to_numpy(), w, permutations=99, seed=5)
    for col in ("value", "z", "lag", "local_i", "p_sim"):
        same(got[col], want[col])
    assert got["lisa_class"].tolist() == want["lisa_class"].tolist()
    assert out["MORAN_I"] == pytest.approx(spatial.moran(vals["value"].to_numpy(), w).i)
    # the style: categories for the four classes, not significant and no neighbours
    from welfare_intelligence.algorithms.hot_spots import COLOURS, style_lisa
    layer = out["OUTPUT"]
    style_lisa(layer)
    cats = {c.value(): c.symbol().color().name() for c in layer.renderer().categories()}
    assert cats == COLOURS


def test_compare_zones_equals_core(indicators, clean_city):
    import processing
    from welfare_core import benchmark
    out = processing.run("welfare:compare_zones", {
        "INDICATORS": indicators, "ZONES": clean_city["ZONES"], "TARGET_IDS": "pop_65plus",
        "PEERS": 2, "OUTPUT": "memory:"})
    got = frame(out["OUTPUT"]).sort_values(["zone_id", "comparator"])
    districts = {"015146-N1": "015146-D1", "015146-N2": "015146-D1",
                 "015146-N3": "015146-D2", "015146-N4": "015146-D2"}
    want = benchmark.benchmark_indicators(core_rows(), districts, targets=["pop_65plus"],
                                          peers="none").sort_values(["zone_id", "comparator"])
    assert got["group_id"].tolist() == want["group_id"].tolist()
    for col in ("value", "reference", "difference", "ratio", "z", "pct_rank"):
        same(got[col], want[col])


def test_equity_measures_equal_core_with_vulnerability(indicators, clean_city):
    import processing
    from welfare_core import benchmark, composite
    comp = processing.run("welfare:composite_index", {
        "INDICATORS": indicators, "COMPONENTS": json.dumps(COMPONENTS), "MIN_POPULATION": 0,
        "OUTPUT": "memory:", "OUTPUT_COMPONENTS": "memory:"})["OUTPUT"]
    out = processing.run("welfare:equity_measures", {
        "INDICATORS": indicators, "ZONES": clean_city["ZONES"], "VULNERABILITY": comp,
        "TARGET_IDS": "pop_65plus", "OUTPUT": "memory:"})
    got = frame(out["OUTPUT"]).set_index("measure")
    values, comps, _ = composite.components_from_indicators(core_rows(), COMPONENTS)
    score = composite.composite_index(values, comps).index.set_index("zone_id")["score"]
    districts = {"015146-N1": "015146-D1", "015146-N2": "015146-D1",
                 "015146-N3": "015146-D2", "015146-N4": "015146-D2"}
    want = benchmark.equity_of_indicators(core_rows(), districts, targets=["pop_65plus"],
                                          vulnerability=score.to_dict()).set_index("measure")
    same(got.loc[want.index, "value"], want["value"])


def test_equity_measures_on_the_accessibility_layer(welfare_plugin, clean_city):
    """Equity of access from welfare:accessibility's output (nursery, 2SFCA, 1,500 m):
    access (0, 50, 0) in N1, N2, N4 for 40, 60, 20 children (N3 has none), by hand:
    Gini 0.5, Theil T ln 2 = within (0.6 (50/30) ln(50/30)) + between (ln(30/25))."""
    import math
    import processing
    from qgis.core import QgsProcessingException
    from welfare_core import equity
    params = {k: v for k, v in clean_city.items() if k in (
        "ZONES", "DEMAND", "FACILITIES", "TARGETS", "SERVICE_TYPES", "SERVICE_TARGETS")}
    for values in (0, RAW):  # published (children counts are multiples of 5) and raw
        params.update(SERVICE_TYPE="nursery", LEVEL=1, PERIOD=2023, METHOD=0, VALUES=values,
                      OUTPUT="memory:")
        access = processing.run("welfare:accessibility", params)["OUTPUT"]
        out = processing.run("welfare:equity_measures", {
            "INDICATORS": access, "ZONES": clean_city["ZONES"], "OUTPUT": "memory:"})
        got = frame(out["OUTPUT"]).set_index("measure")
        assert set(got["indicator"]) == {"pop_0_2:access"}
        assert got.loc["gini", "value"] == pytest.approx(0.5, rel=1e-12)
        assert got.loc["theil_t", "value"] == pytest.approx(math.log(2), rel=1e-12)
        assert got.loc["theil_between", "value"] == pytest.approx(math.log(1.2), rel=1e-12)
        assert got.loc["theil_within", "value"] == pytest.approx(
            0.6 * (50 / 30) * math.log(50 / 30), rel=1e-12)
        want = equity.equity_measures([0.0, 50.0, 0.0], [40.0, 60.0, 20.0],
                                      groups=["D1", "D1", "D2"]).set_index("measure")
        same(got.loc[list(equity.MEASURES), "value"], want.loc[list(equity.MEASURES), "value"])
    share = processing.run("welfare:equity_measures", {
        "INDICATORS": access, "VALUE_COLUMN": 8, "OUTPUT": "memory:"})  # share_within
    got = frame(share["OUTPUT"]).set_index("measure")
    assert got.loc["gini", "value"] == pytest.approx(0.5, rel=1e-12)
    assert got.loc["gini", "mean"] == pytest.approx(0.5, rel=1e-12)
    with pytest.raises(QgsProcessingException, match="share_within"):
        processing.run("welfare:equity_measures", {
            "INDICATORS": access, "VALUE_COLUMN": 1, "OUTPUT": "memory:"})


def test_errors_are_messages(indicators):
    import processing
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="nope"):
        processing.run("welfare:composite_index", {
            "INDICATORS": indicators, "COMPONENTS": "nope", "OUTPUT": "memory:",
            "OUTPUT_COMPONENTS": "memory:"})
    with pytest.raises(QgsProcessingException, match="target"):
        processing.run("welfare:hot_spots", {"INDICATORS": indicators, "TARGET_ID": "nope",
                                             "OUTPUT": "memory:"})


@pytest.fixture(scope="module")
def hidden_old_city(write_gpkg):
    """The tiny city with N2's 65+ at 6: suppressed in a published indicator layer."""
    t = tc.tables()
    d = t["demand"]
    d.loc[(d.zone_id == N[1]) & (d.target_id == "pop_65plus"), "demand"] = 6.0
    return write_gpkg(t, "hidden_old_city")


def test_equity_measures_on_a_published_layer_leave_suppressed_zones_out(welfare_plugin,
                                                                         hidden_old_city):
    """Published layers are the normal input: N2's suppressed demand (NULL weight and
    value) is left out, with a count, instead of "weights must be finite"."""
    import processing
    from qgis.core import QgsProcessingFeedback
    params = {k: v for k, v in hidden_old_city.items() if k in (
        "ZONES", "DEMAND", "POPULATION", "HOUSEHOLDS", "FACILITIES", "TARGETS",
        "SERVICE_TYPES", "SERVICE_TARGETS")}
    params.update(LEVEL=1, PERIOD=2023, VALUES=0, OUTPUT="memory:", OUTPUT_SERVICES="memory:")
    published = processing.run("welfare:zone_indicators", params)["OUTPUT"]
    assert pd.isna(frame(published).set_index(["zone_id", "target_id"]).loc[
        (N[1], "pop_65plus"), "demand"])

    class Log(QgsProcessingFeedback):
        lines = []

        def pushInfo(self, text):  # noqa: N802 (QGIS API)
            self.lines.append(text)

    log = Log()
    out = processing.run("welfare:equity_measures", {
        "INDICATORS": published, "TARGET_IDS": "pop_65plus", "OUTPUT": "memory:"},
        feedback=log)
    got = frame(out["OUTPUT"]).set_index("measure")
    # coverage of the 65+: N1 0.75 x 12 beds / 300 = 3 % (300 people), N4 0.75 x 4 / 200
    # = 1.5 % (200 people); N2 hidden, N3 without 65+. Mean (900 + 300) / 500 = 2.4,
    # Gini = 2 x 300 x 200 x |3 - 1.5| / (2 x 500^2 x 2.4) = 0.15
    assert got.loc["gini", "value"] == pytest.approx(0.15, rel=1e-9)
    assert got.loc["gini", "mean"] == pytest.approx(2.4, rel=1e-9)
    assert got.loc["gini", "zones"] == 2 and got.loc["gini", "left_out"] == 1
    assert got.loc["gini", "weight_total"] == pytest.approx(500)
    assert any("1 zone(s) with a suppressed value or weight left out" in line
               for line in log.lines), log.lines
