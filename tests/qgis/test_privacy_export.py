"""welfare:privacy_safe_export through processing.run: values worked out by hand from the
NHS rule (1-7 suppressed, others rounded to 5) and the small-denominator rule (< 20)."""
import pytest

ALG = "welfare:privacy_safe_export"


@pytest.fixture
def layer(welfare_plugin):
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer
    lyr = QgsVectorLayer("Point?crs=EPSG:32632&field=zone_id:string&field=demand:double"
                         "&field=population:integer&field=incidence:double&field=secret:integer",
                         "indicators", "memory")
    rows = [("A", 0.0, 500, 0.0, 1), ("B", 3.0, 10, 30.0, 2), ("C", 7.4, 19, 38.9, 3),
            ("D", 7.5, 20, 37.5, 4), ("E", 12.5, 400, 3.1, 5), ("F", 102.0, 1000, 10.2, 6),
            ("G", None, 30, None, 7)]
    feats = []
    for i, r in enumerate(rows):
        f = QgsFeature(lyr.fields())
        f.setAttributes(list(r))
        f.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(510000 + i, 5030000)))
        feats.append(f)
    lyr.dataProvider().addFeatures(feats)
    return lyr


def run(layer, **params):
    import processing
    out = processing.run(ALG, dict(INPUT=layer, OUTPUT="memory:", **params))["OUTPUT"]
    from qgis.PyQt.QtCore import QVariant
    names = out.fields().names()
    return names, {f["zone_id"]: {n: (None if isinstance(f[n], QVariant) or f[n] is None else f[n])
                                  for n in names} for f in out.getFeatures()}, out


def test_counts_and_rates_made_safe(layer):
    names, rows, out = run(layer, COUNT_FIELDS=["demand", "population"],
                           RATE_FIELDS=["incidence"], DENOMINATOR_FIELDS=["population"])
    assert names == ["zone_id", "demand", "population", "incidence"]  # undeclared `secret` left out
    demand = {z: r["demand"] for z, r in rows.items()}
    # 0 -> 0; 3, 7.4 (-> 7) suppressed; 7.5 -> 8 -> 10; 12.5 -> 13 -> 15; 102 -> 100; NULL stays
    assert demand == {"A": 0, "B": None, "C": None, "D": 10, "E": 15, "F": 100, "G": None}
    pop = {z: r["population"] for z, r in rows.items()}
    assert pop == {"A": 500, "B": 10, "C": 20, "D": 20, "E": 400, "F": 1000, "G": 30}
    inc = {z: r["incidence"] for z, r in rows.items()}
    # hidden where the raw denominator is under 20: B (10), C (19)
    assert inc == {"A": 0.0, "B": None, "C": None, "D": 37.5, "E": 3.1, "F": 10.2, "G": None}
    assert out.featureCount() == 7 and out.crs().authid() == "EPSG:32632"
    assert out.getFeature(1).geometry().asPoint().x() == 510000
    for v in demand.values():  # no count in 1..7, none unrounded
        assert v is None or (v % 5 == 0 and not 1 <= v <= 7)


def test_sensitive_and_stricter_thresholds(layer):
    _, rows, _ = run(layer, COUNT_FIELDS=["demand"], SUPPRESS_BELOW=11, ROUND_TO=10,
                     KEEP_OTHER_NUMBERS=True)
    # threshold 11, base 10: 3, 7, 8 suppressed; 13 would round to 10, under the threshold,
    # so it is published as the smallest publishable value, 20; 102 -> 100
    assert [rows[z]["demand"] for z in "ABCDEF"] == [0, None, None, None, 20, 100]
    assert rows["A"]["secret"] == 1  # kept on request


@pytest.mark.parametrize("params,match", [
    (dict(COUNT_FIELDS=["demand"], SUPPRESS_BELOW=2), "legal floor of 3"),
    (dict(RATE_FIELDS=["incidence"]), "denominator"),
    (dict(RATE_FIELDS=["incidence"], DENOMINATOR_FIELDS=["population"],
          NUMERATOR_FIELDS=["demand", "population"]), "numerator"),
    (dict(), "no count or rate field"),
    (dict(COUNT_FIELDS=["incidence"], RATE_FIELDS=["incidence"],
          DENOMINATOR_FIELDS=["population"]), "both as counts and as rates"),
])
def test_bad_requests_are_clear_errors(layer, params, match):
    import processing
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match=match):
        processing.run(ALG, dict(INPUT=layer, OUTPUT="memory:", **params))


def test_help_in_both_languages(welfare_plugin):
    from qgis.core import QgsApplication
    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    assert alg is not None and alg.group()
    for p in alg.parameterDefinitions():
        assert p.help(), p.name()
    from welfare_intelligence.algorithms import helpdoc
    it = helpdoc.load("privacy_safe_export", "it")
    assert it.title.startswith("Esportazione") and set(it.parameters) == {
        p.name() for p in alg.parameterDefinitions()}


# --- rates beside their counts (NUMERATOR_FIELDS) ---------------------------------------
# cases, population, rate per 100 = 100 * cases / population
RATES = [("P", 3.0, 250, 1.2), ("Q", 40.0, 250, 16.0), ("R", 7.0, 25, 28.0),
         ("S", 8.0, 100, 8.0), ("T", 2.0, 10, 20.0)]


def test_a_rate_over_a_suppressed_count_is_hidden(welfare_plugin):
    """P (3 of 250) and R (7 of 25) have denominators of 20 or more, so only their hidden count
    hides their rate: 1.2 x 250 / 100 and 28 x 25 / 100 would give back the 3 and the 7.
    T is hidden by its denominator (10). The count itself need not be exported."""
    lyr = _memory("field=zone_id:string&field=cases:double&field=pop:integer&field=rate:double",
                  RATES)
    rates = dict(INPUT=lyr, RATE_FIELDS=["rate"], DENOMINATOR_FIELDS=["pop"])
    code, rows, _ = run_logged(rates)
    assert code == "not_safe"  # no numerator given: the rates of P and R leak
    assert {z: r["rate"] for z, r in rows.items()} == {
        "P": 1.2, "Q": 16.0, "R": 28.0, "S": 8.0, "T": None}
    code, rows, log = run_logged(dict(rates, NUMERATOR_FIELDS=["cases"]))
    assert code == "safe"
    assert {z: r["rate"] for z, r in rows.items()} == {
        "P": None, "Q": 16.0, "R": None, "S": 8.0, "T": None}
    assert "cases" not in rows["P"]  # a numerator is read, not published
    assert any("or where their numerator is hidden" in line for line in log)


def test_a_rate_over_a_complementary_cell_is_hidden(welfare_plugin):
    """S2's 31 is published (as 30) on its own, but hidden as the complementary cell of S1's 7
    beside P1 = 38: its rate 31 of 100 would give it back, so it goes too."""
    lyr = _memory("field=zone_id:string&field=parent_id:string&field=demand:double"
                  "&field=pop:integer&field=rate:double",
                  [("S1", "P1", 7.0, 100, 7.0), ("S2", "P1", 31.0, 100, 31.0)])
    params = dict(INPUT=lyr, COUNT_FIELDS=["demand"], RATE_FIELDS=["rate"],
                  DENOMINATOR_FIELDS=["pop"], NUMERATOR_FIELDS=["demand"])
    code, rows, _ = run_logged(params)
    assert code == "safe" and [rows[z]["rate"] for z in ("S1", "S2")] == [None, 31.0]
    code, rows, _ = run_logged(dict(params, PARENT_FIELD="parent_id"))
    assert code == "safe" and [rows[z]["rate"] for z in ("S1", "S2")] == [None, None]
    assert [rows[z]["demand"] for z in ("S1", "S2")] == [None, None]


# --- published together with the parent level (PARENT_FIELD, PARENTS) ------------------
# Defaults: 1-7 suppressed, the rest rounded to 5 (published 30 <- 28..32, i.e. [27.5, 32.5]);
# the differencing audit fails when a hidden count is known within less than 5.
SECTIONS = [("S1", "P1", 7.0), ("S2", "P1", 31.0),                     # P1 = 38 -> 40
            ("S3", "P2", 3.0), ("S4", "P2", 12.0), ("S5", "P2", 15.0),  # P2 = 30 -> 30
            ("S6", "P3", 7.0), ("S7", "P3", 0.0), ("S8", "P3", 31.0)]   # P3 = 38 -> 40


def _memory(spec, rows, geometry=True):
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer
    lyr = QgsVectorLayer(("Point?crs=EPSG:32632&" if geometry else "None?") + spec, "l", "memory")
    feats = []
    for i, r in enumerate(rows):
        f = QgsFeature(lyr.fields())
        f.setAttributes(list(r))
        if geometry:
            f.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(510000 + i, 5030000)))
        feats.append(f)
    assert lyr.dataProvider().addFeatures(feats)[0]
    return lyr


@pytest.fixture
def sections(welfare_plugin):
    return _memory("field=zone_id:string&field=parent_id:string&field=demand:double", SECTIONS)


def parents_layer(rows):
    return _memory("field=nil:string&field=demand:double", rows, geometry=False)


def run_logged(params):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    class Log(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.lines = []

        def pushInfo(self, text):  # noqa: N802
            self.lines.append(text)

        def pushWarning(self, text):  # noqa: N802
            self.lines.append(text)

    log = Log()
    res = processing.run(ALG, dict(OUTPUT="memory:", **params), feedback=log,
                         context=QgsProcessingContext())
    from qgis.PyQt.QtCore import QVariant
    out = res["OUTPUT"]
    rows = {f["zone_id"]: {n: (None if isinstance(f[n], QVariant) or f[n] is None else f[n])
                           for n in out.fields().names()} for f in out.getFeatures()}
    return res["PUBLICATION"], rows, log.lines


def test_plain_export_leaks_beside_the_parent_totals(sections):
    """Without PARENT_FIELD the export is what it was: S1 (7) hidden, S2 (31) as 30, safe
    on its own. Beside the neighbourhood total P1 = 38 published as 40 ([37.5, 42.5]) the 7
    is in [37.5 - 32.5, 42.5 - 27.5] = [5, 15] -> [5, 7.5]: width 2.5, the audit fails."""
    import pandas as pd
    from welfare_core.privacy_audit import audit_publication
    code, rows, _ = run_logged(dict(INPUT=sections, COUNT_FIELDS=["demand"]))
    assert code == "safe"
    assert (rows["S1"]["demand"], rows["S2"]["demand"]) == (None, 30.0)
    assert "demand_complementary" not in rows["S1"]
    together = pd.DataFrame({"zone_id": ["P1", "S1", "S2"], "parent_id": [None, "P1", "P1"],
                             "published": [40.0, float("nan"), rows["S2"]["demand"]]})
    res = audit_publication(together)
    assert not res.passed
    assert res.cells[["lower", "upper"]].values.tolist() == [[5.0, 7.5]]


def test_parent_field_suppresses_complementary_cells(sections):
    """With PARENT_FIELD: P1 -> its only published sibling S2 is hidden as well (the 7 is then
    in [0, 7.5]); P2 (3 in [27.5 - 12.5 - 17.5, 32.5 - 7.5 - 12.5] -> [0, 7.5]) needs nothing;
    P3 = 7 + 0 + 31 pins the 7 in [5, 7.5] like P1, and the smallest sibling is the 0 (S7),
    hidden instead of the 31."""
    code, rows, log = run_logged(dict(INPUT=sections, COUNT_FIELDS=["demand"],
                                      PARENT_FIELD="parent_id"))
    assert code == "safe"
    demand = {z: r["demand"] for z, r in rows.items()}
    assert demand == {"S1": None, "S2": None, "S3": None, "S4": 10.0, "S5": 15.0,
                      "S6": None, "S7": None, "S8": 30.0}
    comp = {z for z, r in rows.items() if r["demand_complementary"]}
    assert comp == {"S2", "S7"}
    assert rows["S1"]["parent_id"] == "P1"
    assert any(line.startswith("Safe to publish") and "2 complementary cell(s)" in line
               for line in log)


def test_a_count_no_sibling_can_protect_is_not_safe(welfare_plugin):
    """P = 7 + 7 = 14, published 15 ([12.5, 17.5]): each 7 is in [5, 7.5] and there is no
    published sibling left to hide: the run says so."""
    lyr = _memory("field=zone_id:string&field=parent_id:string&field=demand:double",
                  [("A", "P", 7.0), ("B", "P", 7.0)])
    code, rows, log = run_logged(dict(INPUT=lyr, COUNT_FIELDS=["demand"],
                                      PARENT_FIELD="parent_id"))
    assert code == "not_safe"
    assert [r["demand"] for r in rows.values()] == [None, None]
    assert any(line.startswith("NOT safe to publish") and "differencing audit" in line
               and "[5.00, 7.50]" in line for line in log)


def test_published_parents_are_taken_as_they_are(sections):
    """PARENTS as welfare_bi shows them: P1 hidden (its total 38 would be shown, so it was a
    complementary cell: anything >= 0), so the 7 under it is in [0, 7.5] and S2 stays 30;
    P3 published 40 still pins S6 and S7 (0) goes. P9 is not a parent of INPUT: ignored."""
    parents = parents_layer([("P1", None), ("P2", 30.0), ("P3", 40.0), ("P9", 5.0)])
    code, rows, _ = run_logged(dict(INPUT=sections, COUNT_FIELDS=["demand"],
                                    PARENT_FIELD="parent_id", PARENTS=parents,
                                    PARENT_ID_FIELD="nil"))
    assert code == "safe"
    assert (rows["S1"]["demand"], rows["S2"]["demand"], rows["S8"]["demand"]) == (None, 30.0, 30.0)
    assert {z for z, r in rows.items() if r["demand_complementary"]} == {"S7"}


def test_target_field_keeps_targets_apart(welfare_plugin):
    """Target a: 7 + 31 under P (hide the 31); target b: 20 + 18 (38 -> 40), nothing hidden.
    Summed over targets (65) the 7 would look safe."""
    lyr = _memory("field=zone_id:string&field=parent_id:integer&field=target_id:string"
                  "&field=demand:double",
                  [("S1", 1, "a", 7.0), ("S2", 1, "a", 31.0),
                   ("S1", 1, "b", 20.0), ("S2", 1, "b", 18.0)])
    import processing
    out = processing.run(ALG, dict(INPUT=lyr, COUNT_FIELDS=["demand"], PARENT_FIELD="parent_id",
                                   TARGET_FIELD="target_id", OUTPUT="memory:"))
    got = [(f["target_id"], f["zone_id"], f["parent_id"], f["demand_complementary"])
           for f in out["OUTPUT"].getFeatures()]
    assert out["PUBLICATION"] == "safe"
    # the integer parent id is an id, copied although numeric
    assert got == [("a", "S1", 1, False), ("a", "S2", 1, True),
                   ("b", "S1", 1, False), ("b", "S2", 1, False)]


@pytest.mark.parametrize("extra,match", [
    (dict(PARENT_FIELD="nope"), "nope"),
    (dict(PARENT_FIELD="parent_id", PARENTS="P"), "PARENT_ID_FIELD"),
    (dict(PARENT_FIELD="parent_id", PARENTS="P", PARENT_ID_FIELD="nil"),
     "not found among the published parents: P3"),
    (dict(PARENT_FIELD="parent_id", PARENTS="P100", PARENT_ID_FIELD="nil"), "contradict"),
    (dict(PARENTS="P"), "need PARENT_FIELD"),
    (dict(PARENT_FIELD="zone_id", TARGET_FIELD="nope"), "nope"),
])
def test_bad_parent_inputs_are_clear_errors(sections, extra, match):
    import processing
    from qgis.core import QgsProcessingException
    layers = {"P": parents_layer([("P1", 40.0), ("P2", 30.0)]),
              "P100": parents_layer([("P1", 100.0), ("P2", 30.0), ("P3", 40.0)])}
    extra = {k: layers.get(v, v) if k == "PARENTS" else v for k, v in extra.items()}
    with pytest.raises(QgsProcessingException, match=match):
        processing.run(ALG, dict(INPUT=sections, COUNT_FIELDS=["demand"], OUTPUT="memory:",
                                 **extra))


def test_null_parent_is_a_clear_error(welfare_plugin):
    import processing
    from qgis.core import QgsProcessingException
    lyr = _memory("field=zone_id:string&field=parent_id:string&field=demand:double",
                  [("A", "P", 7.0), ("B", None, 31.0)])
    with pytest.raises(QgsProcessingException, match="without a parent: feature 2"):
        processing.run(ALG, dict(INPUT=lyr, COUNT_FIELDS=["demand"], PARENT_FIELD="parent_id",
                                 OUTPUT="memory:"))
