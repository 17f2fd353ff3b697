"""welfare:accessibility through processing.run, on the tiny city in GeoPackages.

Hand-worked values (tiny city, 2023; worked in tests/core/test_zone_access.py):
neighbourhood points N1 (1000,1000), N2 (1000,3000), N3 (3000,1000), N4 (3000,3000);
rsa F1 12 beds at (500,500), F2 4 beds at (3000,3000); 65+ share .75 -> 9 and 3 beds.
Within 2600 m: F1 <- N1, N2, N3 (65+ 300 + 100 + 0), F2 <- N2, N3, N4 (100 + 0 + 200)
  R1 = 9/400, R2 = 3/300 -> access per 100: N1 2.25, N2 3.25, N3 NULL (no 65+), N4 1.0
Nursery (max 1500 m): only N2 reaches F3 (co-located, cost 0): 30/60 -> 50 per 100.
"""
import math

import pandas as pd
import pytest

from fixtures import tiny_city as tc

ALG = "welfare:accessibility"
LEVELS = ("section", "neighbourhood", "district", "city")  # welfare_core.model.ZONE_LEVELS
METHODS = ("2sfca", "3sfca", "gravity")
PUBLISHED, RAW = 0, 1
INPUTS = ("ZONES", "DEMAND", "FACILITIES", "TARGETS", "SERVICE_TYPES", "SERVICE_TARGETS")
N1, N2, N3, N4 = (f"015146-N{i}" for i in range(1, 5))


def run(layers, service_type="rsa", level="neighbourhood", method="2sfca", values=RAW,
        **extra):
    import processing
    params = {k: v for k, v in layers.items() if k in INPUTS}
    params.update(SERVICE_TYPE=service_type, LEVEL=LEVELS.index(level), PERIOD=2023,
                  METHOD=METHODS.index(method), VALUES=values, OUTPUT="memory:", **extra)
    return processing.run(ALG, params)["OUTPUT"]


def frame(layer):
    from qgis.PyQt.QtCore import QVariant
    names = layer.fields().names()
    rows = [[None if isinstance(v, QVariant) else v for v in f.attributes()]
            for f in layer.getFeatures()]
    return pd.DataFrame(rows, columns=names, dtype=object)  # NULL stays None


def by_zone(out, target, column):
    rows = out[out["target_id"] == target].set_index("zone_id")
    return {z: rows.loc[z, column] for z in rows.index}


def test_registered_with_help(welfare_plugin):
    from qgis.core import QgsApplication
    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    assert alg is not None and alg.displayName() == "Accessibility"
    params = {p.name() for p in alg.parameterDefinitions()}
    assert {"ZONES", "DEMAND", "FACILITIES", "SERVICE_TYPES", "SERVICE_TARGETS", "TARGETS",
            "SERVICE_TYPE", "LEVEL", "PERIOD", "METHOD", "MAX_COST", "TARGET_CRS",
            "OUTPUT"} <= params
    # every parameter has a label and help from help/accessibility.en.md
    for p in alg.parameterDefinitions():
        assert p.help(), p.name()


def test_hand_values(welfare_plugin, clean_city):
    out = frame(run(clean_city, MAX_COST=2600))
    a = by_zone(out, "pop_65plus", "access")
    assert a[N1] == pytest.approx(2.25) and a[N2] == pytest.approx(3.25)
    assert a[N4] == pytest.approx(1.0) and a[N3] is None
    assert by_zone(out, "pop_65plus", "null_reason")[N3] == "no demand in the zone"
    nursery = frame(run(clean_city, "nursery"))
    n = by_zone(nursery, "pop_0_2", "access")
    assert (n[N1], n[N2], n[N3], n[N4]) == (0.0, pytest.approx(50.0), None, 0.0)
    assert by_zone(nursery, "pop_0_2", "nearest_cost")[N2] == 0.0


@pytest.mark.parametrize("stype,level,method,max_cost", [
    ("rsa", "neighbourhood", "2sfca", 2600.0),
    ("rsa", "district", "3sfca", 2600.0),
    ("rsa", "city", "gravity", None),
    ("nursery", "neighbourhood", "2sfca", None),
])
def test_equals_core(welfare_plugin, clean_city, stype, level, method, max_cost):
    from welfare_core.zone_access import ACCESS_COLUMNS, zone_accessibility
    extra = {} if max_cost is None else {"MAX_COST": max_cost}
    out = frame(run(clean_city, stype, level, method, **extra))
    core = zone_accessibility(tc.tables(), stype, 2023, level, method=method, max_cost=max_cost)
    assert list(out.columns) == list(ACCESS_COLUMNS)
    keys = ["target_id", "zone_id"]
    a = out.sort_values(keys).reset_index(drop=True)
    b = core.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b) > 0
    for c in ACCESS_COLUMNS:
        for x, y in zip(a[c], b[c]):
            if y is None or (not isinstance(y, str) and pd.isna(y)):
                assert x is None, (c, x, y)
            elif isinstance(y, str):
                assert x == y, (c, x, y)
            else:
                assert x == pytest.approx(float(y), rel=1e-12, abs=1e-12), (c, x, y)


def test_output_is_polygons_in_the_working_crs(welfare_plugin, clean_city):
    layer = run(clean_city, MAX_COST=2600)
    assert layer.crs().authid() == "EPSG:32632"
    f = next(layer.getFeatures())
    assert f.geometry().area() == pytest.approx(2000 * 2000)


def test_published_values_hide_small_demand(welfare_plugin, write_gpkg):
    t = tc.tables()
    d = t["demand"]
    d.loc[(d["zone_id"] == N4) & (d["target_id"] == "pop_0_2"), "demand"] = 5.0
    layers = write_gpkg(t, "access_small")
    out = frame(run(layers, "nursery", values=PUBLISHED))
    n4 = out[(out["zone_id"] == N4)].iloc[0]
    assert n4["demand"] is None and n4["access"] is None and n4["share_within"] is None
    n2 = out[(out["zone_id"] == N2)].iloc[0]
    assert n2["demand"] == 60 and n2["access"] == pytest.approx(50.0)


@pytest.mark.parametrize("extra,match", [
    (dict(service_type="ghost"), "unknown service type 'ghost'"),
    (dict(MAX_COST=-5.0), "max_cost must be > 0"),
])
def test_bad_inputs_are_clear(welfare_plugin, clean_city, extra, match):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match=match):
        run(clean_city, **extra)


def test_catalogue_all_or_none(welfare_plugin, clean_city):
    from qgis.core import QgsProcessingException
    layers = {k: v for k, v in clean_city.items() if k != "TARGETS"}
    with pytest.raises(QgsProcessingException, match="TARGETS not given"):
        run(layers)


# --- unpublished facilities (issue #9): left out unless COUNT_UNPUBLISHED --------------

@pytest.fixture(scope="module")
def unpublished_city(write_gpkg, clean_city):
    """F4, an rsa of 8 beds at (500, 2500) in N2 with published false (a confidential
    shelter), added to the tiny city's facilities."""
    fac = tc.tables()["facility"]
    f4 = fac.iloc[[0]].assign(facility_id="F4", capacity=8.0, published=False,
                              geometry=[tc.pt(500, 2500)])
    return {**clean_city,
            **write_gpkg({"facility": pd.concat([fac, f4], ignore_index=True)},
                         "acc_unpublished")}


def run_logged(layers, **extra):
    """The default VALUES (published), rsa 2SFCA within 2600 m: (outputs, log text)."""
    import processing
    from qgis.core import QgsProcessingFeedback
    feedback = QgsProcessingFeedback()
    params = {k: v for k, v in layers.items() if k in INPUTS}
    params.update(SERVICE_TYPE="rsa", LEVEL=LEVELS.index("neighbourhood"), PERIOD=2023,
                  METHOD=0, MAX_COST=2600, OUTPUT="memory:", **extra)
    return processing.run(ALG, params, feedback=feedback), feedback.textLog()


def test_unpublished_facility_left_out_by_default(welfare_plugin, unpublished_city):
    out, log = run_logged(unpublished_city)
    a = by_zone(frame(out["OUTPUT"]), "pop_65plus", "access")
    # the module docstring's values, as if F4 were not there
    assert (a[N1], a[N2], a[N4]) == (pytest.approx(2.25), pytest.approx(3.25),
                                     pytest.approx(1.0)) and a[N3] is None
    assert out["PUBLICATION"] == "safe"
    assert "1 unpublished facilities left out" in log


def test_count_unpublished_adds_it_and_is_not_safe(welfare_plugin, unpublished_city):
    out, log = run_logged(unpublished_city, COUNT_UNPUBLISHED=True)
    a = by_zone(frame(out["OUTPUT"]), "pop_65plus", "access")
    # F4 (500, 2500), .75 × 8 = 6 beds for 65+, reaches N1 (1581 m), N2 (707 m) and N4
    # (2550 m), not N3 (2915 m): R4 = 6 / (300 + 100 + 200) = 0.01. Access per 100:
    # N1 (R1 + R4) 3.25, N2 (R1 + R2 + R4) 4.25, N4 (R2 + R4) 2.0
    assert (a[N1], a[N2], a[N4]) == (pytest.approx(3.25), pytest.approx(4.25),
                                     pytest.approx(2.0)) and a[N3] is None
    assert out["PUBLICATION"] == "not_safe"
    assert "NOT safe to publish: 1 unpublished facilities counted (COUNT_UNPUBLISHED)" in log
