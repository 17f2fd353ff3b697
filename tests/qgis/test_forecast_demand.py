"""welfare:forecast_demand through processing.run: the same numbers as the core, two outputs."""
import numpy as np
import pandas as pd
import pytest

from fixtures import tiny_city as tc

ALG = "welfare:forecast_demand"
LEVELS = ("section", "neighbourhood", "district", "city")   # welfare_core.model.ZONE_LEVELS
METHODS = ("hamilton_perry", "linear", "log_linear", "share_of_city", "auto")
PUBLISHED, RAW = 0, 1
INPUTS = ("ZONES", "POPULATION", "TARGETS", "TARGET_PREVALENCE", "HOUSEHOLDS",
          "TARGET_HOUSEHOLDS")


def history_city():
    """The tiny city with eight years of whole-person pyramids by neighbourhood (N3 empty)."""
    t = tc.tables()
    rng = np.random.default_rng(2016)
    ages = np.arange(101)
    rows = []
    for zone, size in (("015146-N1", 30), ("015146-N2", 12), ("015146-N4", 3)):
        pyramid = size * np.exp(-0.012 * ages) * (1 + (ages < 85))
        for year in range(2016, 2024):
            for sex in ("F", "M"):
                counts = rng.poisson(pyramid * (1 + 0.01 * (year - 2016)))
                rows.append(pd.DataFrame({"zone_id": zone, "period": year, "sex": sex,
                                          "age": ages, "persons": counts.astype(float)}))
    t["population"] = pd.concat(rows, ignore_index=True).assign(source_id="test")
    return t


@pytest.fixture(scope="module")
def history(write_gpkg):
    return write_gpkg(history_city(), "history_city")


def run(layers, **extra):
    import processing
    params = {k: v for k, v in layers.items() if k in INPUTS}
    params.update(TARGET_IDS="pop_65plus, pop_0_2", HORIZON=7, VALUES=RAW, OUTPUT="memory:",
                  OUTPUT_TABLE="memory:")
    params.update(extra)
    out = processing.run(ALG, params)
    return out["OUTPUT"], out["OUTPUT_TABLE"]


def frame(layer):
    from qgis.PyQt.QtCore import QVariant
    names = layer.fields().names()
    return pd.DataFrame([[None if isinstance(v, QVariant) else v for v in f.attributes()]
                         for f in layer.getFeatures()], columns=names)


@pytest.mark.parametrize("extra, kwargs", [
    ({}, {}),
    (dict(LEVEL=2, STEP=1, CONTROL=1), dict(level="district", step=5, control="cohort_component")),
    (dict(METHOD=3, TARGET_IDS="pop_65plus"), dict(method="share_of_city")),
])
def test_equals_the_core(welfare_plugin, history, extra, kwargs):
    from welfare_core.forecast import forecast_demand
    targets = [t.strip() for t in extra.get("TARGET_IDS", "pop_65plus, pop_0_2").split(",")]
    core = forecast_demand(history_city(), targets, 7, **kwargs)
    wide, long = run(history, **extra)
    got = frame(long).sort_values(["target_id", "zone_id", "period"]).reset_index(drop=True)
    assert list(got.columns) == ["zone_id", "level", "target_id", "unit", "period",
                                 "base_period", "demand", "lower", "upper", "method", "note"]
    assert len(got) == len(core) > 0
    for col in ("zone_id", "target_id", "period", "method", "note"):
        assert got[col].tolist() == core[col].tolist()
    for col in ("demand", "lower", "upper"):
        np.testing.assert_allclose(got[col].astype(float), core[col], rtol=1e-12)
    w = frame(wide).set_index(["zone_id", "target_id"])
    for _, r in core[core["period"] == 2030].iterrows():
        assert w.loc[(r.zone_id, r.target_id), "demand_2030"] == pytest.approx(r.demand)
        assert w.loc[(r.zone_id, r.target_id), "upper_2030"] == pytest.approx(r.upper)
    assert {f"demand_{y}" for y in range(2023, 2031)} <= set(w.columns)
    assert wide.featureCount() == len(core[core["period"] == 2023])
    assert all(f.hasGeometry() for f in wide.getFeatures())


def test_published_values_are_rounded_or_suppressed(welfare_plugin, history):
    _, long = run(history, VALUES=PUBLISHED)
    values = frame(long)[["demand", "lower", "upper"]].to_numpy().ravel()
    assert all(v is None or v != v or v % 5 == 0 for v in values)


def test_registered_in_the_forecast_group(welfare_plugin):
    from qgis.core import QgsApplication
    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    assert alg is not None and alg.groupId() == "forecast"
    for p in alg.parameterDefinitions():
        assert p.description() != p.name() and p.help(), p.name()


@pytest.mark.parametrize("extra, fragment", [
    (dict(TARGET_IDS="nope"), "unknown target"),
    (dict(METHOD=0, TARGET_IDS="alone_65plus"), "Hamilton-Perry"),
    (dict(LEVEL=0), "no zones of level"),
])
def test_clear_errors(welfare_plugin, history, extra, fragment):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException) as e:
        run(history, **extra)
    assert fragment in str(e.value) and "Traceback" not in str(e.value)


def test_too_little_history(welfare_plugin, clean_city):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException) as e:
        run(clean_city)
    assert "too little population history" in str(e.value)
