"""Every welfare algorithm says whether its output is safe to publish (issue #9).

The string output PUBLICATION is ``safe`` / ``not_safe`` / ``no_counts``, one
log line says it, and the help has a "Publication" section. The claim must be
true: where a run says ``safe``, no count field of its output holds a value in
1-7 or a value that is not a multiple of 5 (the NHS rule of DOMAIN.md). The
city used has awkward counts (3, 6, 23, 97, 301, 1343 ...) so that the raw
outputs do break the rule: the check can fail.
"""
import json

import pytest

from fixtures import tiny_city as tc

PUBLISHED, RAW = 0, 1  # VALUES options (model_inputs)
LEVELS = ("section", "neighbourhood", "district", "city")
MODEL = ("ZONES", "DEMAND", "POPULATION", "HOUSEHOLDS", "FACILITIES", "TARGETS",
         "SERVICE_TYPES", "SERVICE_TARGETS")
N = [f"015146-N{i}" for i in range(1, 5)]
CODES = ("safe", "not_safe", "no_counts")


def awkward_tables():
    """The tiny city with counts that are neither suppressed nor rounded by nature."""
    t = tc.tables()
    d = t["demand"]
    for target, values in (("pop_65plus", (301, 97, 0, 6)), ("pop_0_2", (43, 61, 0, 3)),
                           ("alone_65plus", (121, 29, 0, 0))):
        for zone, v in zip(N, values):
            d.loc[(d["zone_id"] == zone) & (d["target_id"] == target), "demand"] = float(v)
    p = t["population"]
    adult = p["age"] == 40
    p.loc[adult & (p["sex"] == "F"), "persons"] = [503.0, 498.0, 501.0, 17.0]
    return t


@pytest.fixture(scope="module")
def city(write_gpkg):
    return write_gpkg(awkward_tables(), "publication_city")


class Log:
    """A feedback that keeps the log lines."""

    def __new__(cls):
        from qgis.core import QgsProcessingFeedback

        class Feedback(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.lines = []

            def pushInfo(self, info):  # noqa: N802 (QGIS API)
                self.lines.append(info)

            def pushWarning(self, warning):  # noqa: N802 (QGIS API)
                self.lines.append(warning)
        return Feedback()


def run(alg, params):
    import processing
    log = Log()
    out = processing.run(f"welfare:{alg}", params, feedback=log)
    return out, log.lines


def rows(layer):
    from qgis.PyQt.QtCore import QVariant
    names = layer.fields().names()
    return [{n: (None if isinstance(v, QVariant) else v) for n, v in zip(names, f.attributes())}
            for f in layer.getFeatures()]


def breaches(layer, fields):
    """(field, value) of the count fields holding a value in 1..7 or not a multiple of 5."""
    out = []
    for r in rows(layer):
        for name in fields:
            v = r[name]
            if v is not None and (1 <= v <= 7 or abs(v / 5 - round(v / 5)) > 1e-9):
                out.append((name, v))
    return out


def algorithms():
    from qgis.core import QgsApplication
    return QgsApplication.processingRegistry().providerById("welfare").algorithms()


# --- every algorithm declares a status ---------------------------------------------

def test_every_algorithm_declares_its_publication_status(welfare_plugin):
    from welfare_intelligence.algorithms import ALGORITHMS, base
    algs = algorithms()
    assert len(algs) == len(ALGORITHMS) > 10
    for alg in algs:
        kind = type(alg).PUBLICATION
        assert kind in base.PUBLICATION_KINDS, f"{alg.id()} declares no PUBLICATION"
        if kind == base.VALUES_SWITCH:
            values = alg.parameterDefinition("VALUES")
            assert values is not None and values.defaultValue() == PUBLISHED, alg.id()
        if kind == base.FROM_INPUT:
            assert alg.parameterDefinition(type(alg).PUBLICATION_INPUT) is not None, alg.id()
        assert alg.outputDefinition("PUBLICATION").type() == "outputString", alg.id()
    assert base.WelfareAlgorithm.PUBLICATION is None  # so a new algorithm must say it


@pytest.fixture
def italian(welfare_plugin):
    from qgis.core import QgsSettings
    settings = QgsSettings()
    old = settings.value("locale/overrideFlag"), settings.value("locale/userLocale")
    settings.setValue("locale/overrideFlag", True)
    settings.setValue("locale/userLocale", "it_IT")
    yield
    for key, value in zip(("locale/overrideFlag", "locale/userLocale"), old):
        if value is None:
            settings.remove(key)
        else:
            settings.setValue(key, value)


# the words of the help section per kind, in English and in Italian
SECTION = {"en": ("<h3>Publication</h3>", {"published": ["Safe to publish", "1–7"],
                                           "values": ["safe to publish", "NOT safe"],
                                           "raw": ["NOT safe to publish", "privacy_safe_export"],
                                           "no_counts": ["no counts"],
                                           "input": ["As safe as INDICATORS", "not_safe"],
                                           "dp": ["Safe to publish", "ε-differential privacy",
                                                  "release ledger"]}),
           "it": ("<h3>Pubblicazione</h3>", {"published": ["Pubblicabile", "da 1 a 7"],
                                             "values": ["pubblicabili", "NON sono"],
                                             "raw": ["NON pubblicabile", "privacy_safe_export"],
                                             "no_counts": ["non contengono conteggi"],
                                             "input": ["Pubblicabile quanto INDICATORS"],
                                             "dp": ["Pubblicabile", "privacy differenziale",
                                                    "registro dei rilasci"]})}


def _help_says(lang):
    from qgis.core import QgsApplication
    heading, words = SECTION[lang]
    for listed in algorithms():
        alg = QgsApplication.processingRegistry().createAlgorithmById(listed.id())
        text = alg.shortHelpString()
        assert heading in text, (alg.id(), lang)
        section = text.split(heading, 1)[1]
        for word in words[type(alg).PUBLICATION]:
            assert word in section, (alg.id(), lang, word)


def test_help_says_it_in_english(welfare_plugin):
    _help_says("en")


def test_help_says_it_in_italian(italian):
    _help_says("it")


# --- the status of a run, and its truth ---------------------------------------------

def zone_indicators(city, values, level="neighbourhood"):
    params = {k: v for k, v in city.items() if k in MODEL}
    params.update(LEVEL=LEVELS.index(level), PERIOD=2023, VALUES=values, OUTPUT="memory:",
                  OUTPUT_SERVICES="memory:")
    return run("zone_indicators", params)


COUNTS = {"OUTPUT": ("demand", "reference_population"), "OUTPUT_SERVICES": ("reference_population",)}


def test_zone_indicators_published_is_safe_and_true(welfare_plugin, city):
    out, log = zone_indicators(city, PUBLISHED)
    assert out["PUBLICATION"] == "safe"
    assert ("Safe to publish: privacy rules applied (counts 1–7 suppressed, others rounded "
            "to 5; rates over fewer than 20 hidden)") in log
    for key, fields in COUNTS.items():
        assert out[key].featureCount() > 0
        assert breaches(out[key], fields) == [], key
        assert out[key].customProperty("welfare/publication") == "safe"


def test_zone_indicators_raw_is_not_safe_and_breaks_the_rule(welfare_plugin, city):
    out, log = zone_indicators(city, RAW)
    assert out["PUBLICATION"] == "not_safe"
    assert any(line.startswith("NOT safe to publish: raw values") for line in log)
    found = breaches(out["OUTPUT"], COUNTS["OUTPUT"])
    # hand-made counts: 6 and 3 are small, 301, 97, 43, 61, 121, 29 unrounded
    assert ("demand", 6) in found and ("demand", 3) in found and ("demand", 301) in found
    assert ("reference_population", 1343) in found  # N1: 2 × 500 + 3 + 300 + 40
    assert out["OUTPUT"].customProperty("welfare/publication") == "not_safe"


def test_accessibility_follows_values(welfare_plugin, city):
    params = {k: v for k, v in city.items() if k in MODEL}
    params.update(SERVICE_TYPE="rsa", LEVEL=LEVELS.index("neighbourhood"), PERIOD=2023,
                  OUTPUT="memory:")
    published, _ = run("accessibility", dict(params, VALUES=PUBLISHED))
    raw, _ = run("accessibility", dict(params, VALUES=RAW))
    assert published["PUBLICATION"] == "safe" and raw["PUBLICATION"] == "not_safe"
    assert breaches(published["OUTPUT"], ["demand"]) == []
    assert ("demand", 301) in breaches(raw["OUTPUT"], ["demand"])


def test_validate_data_has_no_counts(welfare_plugin, city):
    out, log = run("validate_data", {"ZONES": city["ZONES"], "OUTPUT": "memory:"})
    assert out["PUBLICATION"] == "no_counts"
    assert any(line.startswith("No counts to protect") for line in log)


EXPORT = dict(COUNT_FIELDS=["demand", "reference_population"],
              RATE_FIELDS=["incidence_per_100"], DENOMINATOR_FIELDS=["reference_population"],
              NUMERATOR_FIELDS=["demand"], OUTPUT="memory:")


def test_privacy_safe_export_is_safe_and_true(welfare_plugin, city):
    raw, _ = zone_indicators(city, RAW)
    out, log = run("privacy_safe_export", dict(EXPORT, INPUT=raw["OUTPUT"]))
    assert out["PUBLICATION"] == "safe"
    assert any(line.startswith("Safe to publish: privacy rules applied (counts 1–7")
               for line in log)
    assert breaches(out["OUTPUT"], ["demand", "reference_population"]) == []
    # stricter rules stay safe
    out, _ = run("privacy_safe_export", dict(EXPORT, INPUT=raw["OUTPUT"], SUPPRESS_BELOW=11,
                                             ROUND_TO=10))
    assert out["PUBLICATION"] == "safe"


@pytest.mark.parametrize("extra,words", [
    (dict(KEEP_OTHER_NUMBERS=True), "supply"),            # raw numbers copied on request
    (dict(SUPPRESS_BELOW=5), "rules weaker than the defaults"),  # 5, 6, 7 would be shown
    (dict(ROUND_TO=3), "rules weaker than the defaults"),
])
def test_privacy_safe_export_says_when_it_is_not(welfare_plugin, city, extra, words):
    raw, _ = zone_indicators(city, RAW)
    out, log = run("privacy_safe_export", dict(EXPORT, INPUT=raw["OUTPUT"], **extra))
    assert out["PUBLICATION"] == "not_safe"
    assert any(line.startswith("NOT safe to publish") and words in line for line in log)


def test_derived_algorithms_are_as_safe_as_their_input(welfare_plugin, city):
    published, _ = zone_indicators(city, PUBLISHED)
    raw, _ = zone_indicators(city, RAW)
    # demand of alone_65plus: 121 -> 120, 29 -> 30, 0, 0 (Moran needs 4 zones with a value)
    hot = dict(TARGET_ID="alone_65plus", VALUE_COLUMN=4, PERMUTATIONS=9, OUTPUT="memory:")
    safe, log = run("hot_spots", dict(hot, INDICATORS=published["OUTPUT"]))
    assert safe["PUBLICATION"] == "safe"
    assert any(line.startswith("Safe to publish: computed from INDICATORS") for line in log)
    values = [r["value"] for r in rows(safe["OUTPUT"])]
    assert sorted(values) == [0, 0, 30, 120]
    assert breaches(safe["OUTPUT"], ["value"]) == []
    unsafe, log = run("hot_spots", dict(hot, INDICATORS=raw["OUTPUT"]))
    assert unsafe["PUBLICATION"] == "not_safe"
    assert ("value", 121) in breaches(unsafe["OUTPUT"], ["value"])
    # composite index over published indicators: its population field is published too
    comp, _ = run("composite_index", dict(
        INDICATORS=published["OUTPUT"], COMPONENTS=json.dumps(["pop_65plus", "pop_0_2"]),
        MIN_POPULATION=0, OUTPUT="memory:", OUTPUT_COMPONENTS="memory:"))
    assert comp["PUBLICATION"] == "safe"
    assert breaches(comp["OUTPUT"], ["population"]) == []
    equity, _ = run("equity_measures", dict(INDICATORS=published["OUTPUT"],
                                            TARGET_IDS="alone_65plus", OUTPUT="memory:"))
    assert equity["PUBLICATION"] == "safe"
    assert breaches(equity["OUTPUT"], ["weight_total"]) == []


def test_a_file_of_unknown_origin_is_not_safe(welfare_plugin, city, tmp_path):
    """A layer read from a file carries no mark: the derived output is not claimed safe."""
    import processing
    published, _ = zone_indicators(city, PUBLISHED)
    path = str(tmp_path / "indicators.gpkg")
    processing.run("native:savefeatures", {"INPUT": published["OUTPUT"], "OUTPUT": path})
    out, log = run("hot_spots", dict(INDICATORS=path, TARGET_ID="alone_65plus", VALUE_COLUMN=4,
                                     PERMUTATIONS=9, OUTPUT="memory:"))
    assert out["PUBLICATION"] == "not_safe"
    assert any("INDICATORS is not marked as published" in line for line in log)


def test_optimisation_outputs_raw_counts(welfare_plugin, city):
    """close_facilities with the facilities as demand points (weights 12, 4, 30)."""
    out, log = run("close_facilities", dict(
        DEMAND=city["FACILITIES"], DEMAND_WEIGHT="capacity", DEMAND_ID="facility_id",
        FACILITIES=city["FACILITIES"], FACILITY_ID="facility_id", K=1, MAX_COST=10.0,
        SITES="memory:", ALLOCATION="memory:", SUMMARY="memory:"))
    assert out["PUBLICATION"] == "not_safe"
    assert any(line.startswith("NOT safe to publish: raw counts") for line in log)
    # F2 (4 beds) is closed, the least loss; F1 serves its own 12
    assert ("demand", 12) in breaches(out["ALLOCATION"], ["demand"])
