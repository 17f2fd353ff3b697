"""welfare:simulate_scenario and welfare:compare_scenarios through processing.run.

On the tiny city (tests/fixtures/tiny_city.py) in GeoPackages: the door's
output equals ``welfare_core.scenario_compare.compare`` called directly on the
same changes, row for row; the hand-worked values are in
tests/core/test_scenario.py.
"""
import json

import pandas as pd
import pytest

from fixtures import tiny_city as tc

SIMULATE, COMPARE = "welfare:simulate_scenario", "welfare:compare_scenarios"
LEVELS = ("section", "neighbourhood", "district", "city")  # welfare_core.model.ZONE_LEVELS
PUBLISHED, RAW = 0, 1
INPUTS = ("ZONES", "DEMAND", "POPULATION", "HOUSEHOLDS", "FACILITIES", "TARGETS",
          "SERVICE_TYPES", "SERVICE_TARGETS", "CANDIDATE_SITES")
N1, N2, N3, N4 = (f"015146-N{i}" for i in range(1, 5))
KEYS = ["measure", "target_id", "zone_id"]


def run(alg, layers, level="neighbourhood", values=RAW, **extra):
    import processing
    params = {k: v for k, v in layers.items() if k in INPUTS}
    params.update(LEVEL=LEVELS.index(level), PERIOD=2023, VALUES=values, OUTPUT="memory:",
                  **extra)
    return processing.run(alg, params)["OUTPUT"]


def frame(layer):
    from qgis.PyQt.QtCore import QVariant
    names = layer.fields().names()
    rows = [[None if isinstance(v, QVariant) else v for v in f.attributes()]
            for f in layer.getFeatures()]
    return pd.DataFrame(rows, columns=names, dtype=object)  # NULL stays None


def changes_layer(rows, fields=("kind", "params")):
    """A memory table of changes; ``rows`` are tuples in the order of ``fields``."""
    from qgis.core import QgsFeature, QgsVectorLayer
    spec = "&".join(f"field={f}:{'double' if f in ('value', 'seq') else 'string'}"
                    for f in fields)
    layer = QgsVectorLayer(f"None?{spec}", "changes", "memory")
    features = []
    for row in rows:
        f = QgsFeature(layer.fields())
        f.setAttributes(list(row))
        features.append(f)
    assert layer.dataProvider().addFeatures(features)
    return layer


def core(changes, level="neighbourhood", base_changes=(), **options):
    from welfare_core import scenario as sc
    from welfare_core import scenario_compare as cmp
    base = sc.apply(cmp.prepare(tc.tables()), base_changes)
    return cmp.compare(base, sc.apply(base, changes), level, 2023, **options)


def assert_same(out, expected, rel=1e-9):
    from welfare_core.scenario_compare import COMPARE_COLUMNS
    assert list(out.columns) == list(COMPARE_COLUMNS)
    a = out.sort_values(KEYS).reset_index(drop=True)
    b = expected.sort_values(KEYS).reset_index(drop=True)
    assert len(a) == len(b) > 0
    for c in COMPARE_COLUMNS:
        for x, y in zip(a[c], b[c]):
            if y is None or (not isinstance(y, str) and pd.isna(y)):
                assert x is None, (c, x, y)
            elif isinstance(y, str):
                assert x == y, (c, x, y)
            else:
                assert x == pytest.approx(float(y), rel=rel, abs=1e-12), (c, x, y)


def assert_parts_sum(out):
    for row in out.itertuples():
        if row.change is None or row.demand_effect is None:
            continue
        parts = row.demand_effect + row.supply_effect + row.catchment_effect
        assert parts == pytest.approx(row.change, rel=1e-9, abs=1e-9), row


@pytest.fixture(scope="module")
def edited(write_gpkg):
    """The facilities with F1 closed and F2's capacity raised, as a user edits them."""
    fac = tc.tables()["facility"]
    fac = fac[fac.facility_id != "F1"].copy()
    fac.loc[fac.facility_id == "F2", "capacity"] = 10.0
    return fac, write_gpkg({"facility": fac}, "edited_facilities")["FACILITIES"]


@pytest.mark.parametrize("alg", [SIMULATE, COMPARE])
def test_registered_with_help(welfare_plugin, alg):
    from qgis.core import QgsApplication
    from welfare_intelligence.algorithms import helpdoc
    a = QgsApplication.processingRegistry().algorithmById(alg)
    assert a is not None and a.groupId() == "scenarios"
    names = {p.name() for p in a.parameterDefinitions()}
    assert {"ZONES", "DEMAND", "POPULATION", "FACILITIES", "LEVEL", "PERIOD", "MEASURES",
            "VALUES", "TARGET_CRS", "OUTPUT"} <= names
    for lang in ("en", "it"):
        doc = helpdoc.load(alg.split(":")[1], lang)
        assert doc.title and doc.description
        assert names <= set(doc.parameters), (lang, names - set(doc.parameters))
    for p in a.parameterDefinitions():
        assert p.help(), p.name()


def test_edited_facilities_equal_the_core(welfare_plugin, clean_city, edited):
    from welfare_core import scenario as sc
    fac, uri = edited
    out = frame(run(SIMULATE, clean_city, EDITED_FACILITIES=uri))
    changes = sc.changes_from_facilities(tc.tables()["facility"], fac)
    assert [c.kind for c in changes] == ["close", "capacity"]
    expected = core(changes)
    assert_same(out, expected)
    assert set(out["target_id"]) == {"pop_65plus", "alone_65plus"}  # served by rsa only
    assert_parts_sum(out)
    # supply of the rsa falls from 16 to 10 beds: 65+ in N1 loses 9, N4 gains 4.5
    sup = out[(out.measure == "supply") & (out.target_id == "pop_65plus")].set_index("zone_id")
    assert sup.loc[N1, "change"] == pytest.approx(-9.0) and sup.loc[N1, "direction"] == "loss"
    assert sup.loc[N4, "change"] == pytest.approx(4.5) and sup.loc[N4, "direction"] == "gain"


@pytest.mark.parametrize("level", ["neighbourhood", "district"])
def test_changes_table_equals_the_core(welfare_plugin, clean_city, level):
    from welfare_core import scenario as sc
    rows = [("close", json.dumps({"facility_id": "F2"})),
            ("open", json.dumps({"facility_id": "F9", "service_type_id": "rsa", "capacity": 8,
                                 "x": tc.X0 + 2500, "y": tc.Y0 + 2500})),
            ("demand", json.dumps({"target_id": "pop_0_2", "zone_ids": ["015146-D1"],
                                   "mode": "pct", "value": 50})),
            ("catchment", json.dumps({"service_type_id": "rsa", "max_cost": 1000}))]
    out = frame(run(SIMULATE, clean_city, level, CHANGES=changes_layer(rows)))
    expected = core(sc.changes_from_records([dict(kind=k, params=p) for k, p in rows]), level)
    assert_same(out, expected)
    assert_parts_sum(out)
    assert set(out["target_id"]) == {"pop_65plus", "alone_65plus", "pop_0_2"}


def test_changes_table_with_a_column_per_parameter(welfare_plugin, clean_city):
    from welfare_core import scenario as sc
    layer = changes_layer([(2.0, "capacity", "F3", None, "pct", 50.0),
                           (1.0, "close", None, "F1", None, None)],
                          fields=("seq", "kind", "facility_id", "facility_ids", "mode", "value"))
    out = frame(run(SIMULATE, clean_city, CHANGES=layer, MEASURES=[1, 2, 3]))
    assert set(out["measure"]) == {"supply", "coverage_per_100", "gap"}
    expected = core([sc.change("close", facility_ids=["F1"]),
                     sc.change("capacity", facility_id="F3", mode="pct", value=50)],
                    measures=("supply", "coverage_per_100", "gap"))
    assert_same(out, expected)


def test_edited_and_table_together_edits_first(welfare_plugin, clean_city, edited):
    from welfare_core import scenario as sc
    fac, uri = edited
    rows = [("capacity", json.dumps({"facility_id": "F2", "mode": "delta", "value": 2}))]
    out = frame(run(SIMULATE, clean_city, EDITED_FACILITIES=uri, CHANGES=changes_layer(rows),
                    MEASURES=[1]))
    changes = sc.changes_from_facilities(tc.tables()["facility"], fac) + \
        [sc.change("capacity", facility_id="F2", mode="delta", value=2)]
    assert_same(out, core(changes, measures=("supply",)))
    sup = out[(out.target_id == "pop_65plus")].set_index("zone_id")
    assert sup.loc[N4, "scenario"] == pytest.approx(12 * 0.75)


def test_empty_change_set_changes_nothing(welfare_plugin, clean_city):
    out = frame(run(SIMULATE, clean_city, CHANGES=changes_layer([]),
                    TARGET_IDS="pop_65plus, pop_0_2"))
    assert set(out["target_id"]) == {"pop_65plus", "pop_0_2"} and len(out) > 0
    assert_same(out, core([], targets=["pop_65plus", "pop_0_2"]))
    for row in out.itertuples():
        if row.base is None:
            assert row.scenario is None and row.change is None
            continue
        assert row.change == 0.0 and row.direction == "none", row
        assert (row.demand_effect, row.supply_effect, row.catchment_effect) == (0, 0, 0)


def test_compare_two_change_sets_equals_the_core(welfare_plugin, clean_city):
    from welfare_core import scenario as sc
    a = [("close", json.dumps({"facility_id": "F1"}))]
    b = [("capacity", json.dumps({"service_type_id": "rsa", "mode": "pct", "value": 25})),
         ("demand", json.dumps({"target_id": "pop_65plus", "zone_ids": [N2], "mode": "set",
                                "value": 150}))]
    out = frame(run(COMPARE, clean_city, CHANGES_A=changes_layer(a),
                    CHANGES_B=changes_layer(b)))
    ca = sc.changes_from_records([dict(kind=k, params=p) for k, p in a])
    cb = sc.changes_from_records([dict(kind=k, params=p) for k, p in b])
    from welfare_core import scenario_compare as cmp
    base = cmp.prepare(tc.tables())
    expected = cmp.compare(sc.apply(base, ca), sc.apply(base, cb), "neighbourhood", 2023)
    assert_same(out, expected)
    assert_parts_sum(out)
    # B against the base only: the same as simulating B
    only_b = frame(run(COMPARE, clean_city, CHANGES_B=changes_layer(b)))
    assert_same(only_b, core(cb))


def test_compare_nothing_with_nothing(welfare_plugin, clean_city):
    out = frame(run(COMPARE, clean_city, TARGET_IDS="pop_0_2", MEASURES=[0, 1]))
    assert len(out) > 0
    assert set(out["direction"]) <= {"none", None}


def test_published_values_follow_the_bi_view(welfare_plugin, clean_city, edited):
    from welfare_core import scenario as sc
    from welfare_core import scenario_compare as cmp
    from welfare_core.privacy import DEFAULT
    fac, uri = edited
    out = frame(run(SIMULATE, clean_city, values=PUBLISHED, EDITED_FACILITIES=uri))
    changes = sc.changes_from_facilities(tc.tables()["facility"], fac)
    raw = core(changes)
    # coverage, gap and access published from the comparison on published demand
    base = cmp.prepare(tc.tables())
    pub = cmp.published_comparison(base, sc.apply(base, changes), "neighbourhood", 2023,
                                   rules=DEFAULT, comparison=raw)
    shown = pub["change_pub"].notna()
    expected = raw.assign(base=pub["base_pub"], scenario=pub["scenario_pub"],
                          change=pub["change_pub"], change_pct=pub["change_pct_pub"])
    expected["direction"] = expected["direction"].astype(object).where(shown, None)
    for c in ("demand_effect", "supply_effect", "catchment_effect"):
        expected[c] = pub[f"{c}_pub"].astype(object).where(shown, None)
    assert_same(out, expected)
    # small counts are rounded: 65+ demand of N2 (100) stays, alone 65+ (30) too
    dem = out[(out.measure == "demand") & (out.target_id == "alone_65plus")]
    assert set(dem.set_index("zone_id")["base"].dropna()) <= {120.0, 30.0, 0.0}


def test_published_demand_parts_are_rounded_counts(welfare_plugin, clean_city):
    # pop_0_2 in N1: 40 -> 43.4, published 40 -> 45 (43.4 -> 43 -> 45), change 5, raw part
    # 3.4 -> 5; alone_65plus in N4: 0 -> 5, suppressed, so change and parts are NULL
    rows = [("demand", json.dumps({"target_id": "pop_0_2", "zone_ids": [N1], "mode": "delta",
                                   "value": 3.4})),
            ("demand", json.dumps({"target_id": "alone_65plus", "zone_ids": [N4],
                                   "mode": "set", "value": 5}))]
    for alg in (SIMULATE, COMPARE):
        key = "CHANGES" if alg == SIMULATE else "CHANGES_B"
        out = frame(run(alg, clean_city, values=PUBLISHED, MEASURES=[0],
                        **{key: changes_layer(rows)}))
        dem = out.set_index(["zone_id", "target_id"])
        cols = ["base", "scenario", "change", "demand_effect", "supply_effect",
                "catchment_effect"]
        assert list(dem.loc[(N1, "pop_0_2"), cols]) == [40, 45, 5, 5, 0, 0], alg
        assert list(dem.loc[(N4, "alone_65plus"), cols]) == [0] + [None] * 5, alg


def test_loaded_layer_is_styled_by_direction(welfare_plugin, clean_city, edited):
    from qgis.core import QgsCategorizedSymbolRenderer
    from welfare_intelligence.maps import DIRECTION_COLOURS, categorise_direction
    layer = run(SIMULATE, clean_city, EDITED_FACILITIES=edited[1])
    categorise_direction(layer)
    renderer = layer.renderer()
    assert isinstance(renderer, QgsCategorizedSymbolRenderer)
    assert renderer.classAttribute() == "direction"
    colours = {c.value(): c.symbol().color().name() for c in renderer.categories()}
    assert colours["loss"] == DIRECTION_COLOURS["loss"]
    assert colours["gain"] == DIRECTION_COLOURS["gain"]


@pytest.mark.parametrize("extra,match", [
    ({}, "no changes given"),
    (dict(CHANGES=[("close", '{"facility_id": "F77"}')]), r"unknown facility id\(s\) \['F77'\]"),
    (dict(CHANGES=[("explode", "{}")]), "unknown scenario change kind 'explode'"),
    (dict(CHANGES=[("capacity", '{"facility_id": "F1", "mode": "half", "value": 1}')]),
     "unknown mode 'half'"),
    (dict(CHANGES=[("close", "{not json")]), "params is not valid JSON"),
    (dict(TARGET_IDS="ghost", CHANGES=[("close", '{"facility_id": "F1"}')]),
     r"unknown target\(s\) \['ghost'\]"),
])
def test_clear_errors(welfare_plugin, clean_city, extra, match):
    from qgis.core import QgsProcessingException
    if "CHANGES" in extra:
        extra = {**extra, "CHANGES": changes_layer(extra["CHANGES"])}
    with pytest.raises(QgsProcessingException, match=match):
        run(SIMULATE, clean_city, **extra)


def test_changes_table_without_kind_is_clear(welfare_plugin, clean_city):
    from qgis.core import QgsProcessingException
    layer = changes_layer([("F1",)], fields=("facility_id",))
    with pytest.raises(QgsProcessingException, match="CHANGES has no column kind"):
        run(SIMULATE, clean_city, CHANGES=layer)
    with pytest.raises(QgsProcessingException, match="CHANGES_B has no column kind"):
        run(COMPARE, clean_city, CHANGES_B=layer)


def test_edited_facility_without_id_is_clear(welfare_plugin, clean_city, write_gpkg):
    from qgis.core import QgsProcessingException
    fac = tc.tables()["facility"]
    fac.loc[fac.facility_id == "F3", "facility_id"] = None
    uri = write_gpkg({"facility": fac}, "edited_no_id")["FACILITIES"]
    with pytest.raises(QgsProcessingException, match="have no facility_id"):
        run(SIMULATE, clean_city, EDITED_FACILITIES=uri)


# --- unpublished facilities (issue #9): left out unless COUNT_UNPUBLISHED --------------

@pytest.fixture(scope="module")
def unpublished(write_gpkg, clean_city):
    """(layers, edited uri): the tiny city plus F4, an rsa of 8 beds at (500, 2500) in N2
    with published false; the edited copy keeps every facility, F4 included, and raises
    F2 from 4 to 10 beds, as a user copying the whole layer would."""
    fac = tc.tables()["facility"]
    f4 = fac.iloc[[0]].assign(facility_id="F4", capacity=8.0, published=False,
                              geometry=[tc.pt(500, 2500)])
    fac = pd.concat([fac, f4], ignore_index=True)
    layers = {**clean_city, **write_gpkg({"facility": fac}, "sc_unpublished")}
    fac.loc[fac.facility_id == "F2", "capacity"] = 10.0
    return layers, write_gpkg({"facility": fac}, "sc_unpublished_edited")["FACILITIES"]


def run_logged(alg, layers, **extra):
    """Published values (the default), supply only: (outputs, log text)."""
    import processing
    from qgis.core import QgsProcessingFeedback
    feedback = QgsProcessingFeedback()
    params = {k: v for k, v in layers.items() if k in INPUTS}
    params.update(LEVEL=LEVELS.index("neighbourhood"), PERIOD=2023, MEASURES=[1],
                  TARGET_IDS="pop_65plus", OUTPUT="memory:", **extra)
    return processing.run(alg, params, feedback=feedback), feedback.textLog()


def supply(out):
    """zone -> (base, scenario, change) of the 65+ supply."""
    rows = frame(out["OUTPUT"]).set_index("zone_id")
    return {z: tuple(rows.loc[z, ["base", "scenario", "change"]]) for z in rows.index}


def test_simulate_leaves_unpublished_out_of_base_and_edits(welfare_plugin, unpublished):
    layers, edited = unpublished
    out, log = run_logged(SIMULATE, layers, EDITED_FACILITIES=edited)
    # without F4, base or edited (where it would come back as opened): 65+ supply .75 ×
    # capacity, N1 9 -> 9, N2 0 -> 0, N4 3 -> .75 × 10 = 7.5
    s = supply(out)
    assert s[N1] == (9, 9, 0) and s[N2] == (0, 0, 0)
    assert s[N4] == (pytest.approx(3), pytest.approx(7.5), pytest.approx(4.5))
    assert out["PUBLICATION"] == "safe"
    assert "1 unpublished facilities left out" in log
    assert "1 unpublished facilities of EDITED_FACILITIES left out" in log
    assert "1 change(s): capacity" in log


def test_simulate_counting_unpublished_is_not_safe(welfare_plugin, unpublished):
    layers, edited = unpublished
    out, log = run_logged(SIMULATE, layers, EDITED_FACILITIES=edited, COUNT_UNPUBLISHED=True)
    s = supply(out)  # F4's 8 beds in N2 on both sides: .75 × 8 = 6 -> 6
    assert s[N2] == (pytest.approx(6), pytest.approx(6), 0)
    assert s[N4] == (pytest.approx(3), pytest.approx(7.5), pytest.approx(4.5))
    assert out["PUBLICATION"] == "not_safe"
    assert "1 unpublished facilities counted (COUNT_UNPUBLISHED)" in log


def test_compare_a_change_to_an_unpublished_facility(welfare_plugin, unpublished):
    from qgis.core import QgsProcessingException
    layers, _ = unpublished
    close_f4 = changes_layer([("close", '{"facility_id": "F4"}')])
    # left out by default, so a change to it is refused with a clear message ...
    with pytest.raises(QgsProcessingException,
                       match=r"(?s)CHANGES_B: change 'close' names unpublished facilities "
                             r"\['F4'\].*COUNT_UNPUBLISHED"):
        run_logged(COMPARE, layers, CHANGES_B=close_f4)
    # ... and counted with COUNT_UNPUBLISHED: N2's 65+ supply .75 × 8 = 6 -> 0
    out, _ = run_logged(COMPARE, layers, CHANGES_B=close_f4, COUNT_UNPUBLISHED=True)
    assert supply(out)[N2] == (pytest.approx(6), 0, pytest.approx(-6))
    assert out["PUBLICATION"] == "not_safe"
