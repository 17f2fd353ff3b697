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
