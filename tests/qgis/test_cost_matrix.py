"""welfare:cost_matrix through processing.run, on memory layers in EPSG:32632.

Hand-worked distances (3-4-5 triangles, scaled by 100 and 200):
origin A (0, 0); destinations B (300, 400) -> 500 m, C (600, 800) -> 1000 m,
D (0, 0) -> 0 m (co-located), E (3000, 4000) -> 5000 m.
Square origin S (0,0)-(200,200): centroid (100, 100); to F (400, 500) -> 500 m.
Minutes: walk 4.5 km/h = 75 m/min, so 500 m -> 20/3 min; walk_elderly 3 km/h =
50 m/min, so 1000 m -> 20 min.
"""
import numpy as np
import pytest

ALG = "welfare:cost_matrix"
MODES = (None, "walk", "walk_elderly", "bike", "car", "transit")


def layer(kind, features, crs="EPSG:32632", id_type="string"):
    """A memory layer; ``features``: (id, WKT or None) pairs."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer
    lyr = QgsVectorLayer(f"{kind}?crs={crs}&field=code:{id_type}&field=name:string", "l",
                         "memory")
    assert lyr.isValid()
    feats = []
    for code, wkt in features:
        f = QgsFeature(lyr.fields())
        f.setAttributes([code, f"feature {code}"])
        if wkt is not None:
            f.setGeometry(QgsGeometry.fromWkt(wkt))
        feats.append(f)
    assert lyr.dataProvider().addFeatures(feats)[0]
    return lyr


def points(xy, prefix, crs="EPSG:32632"):
    return layer("Point", [(f"{prefix}{k}", f"POINT ({x!r} {y!r})")
                           for k, (x, y) in enumerate(xy)], crs)


def run(origins, destinations, max_cost, mode=None, **extra):
    import processing
    params = dict(ORIGINS=origins, ORIGIN_ID="code", DESTINATIONS=destinations,
                  DESTINATION_ID="code", MAX_COST=max_cost, TRAVEL_MODE=MODES.index(mode),
                  OUTPUT="memory:", **extra)
    return processing.run(ALG, params)


def pairs(out_layer):
    """{(origin_id, destination_id): (cost, cost_unit)}."""
    got = {}
    for f in out_layer.getFeatures():
        key = (f["origin_id"], f["destination_id"])
        assert key not in got
        got[key] = (f["cost"], f["cost_unit"])
    return got


@pytest.fixture
def triangle():
    origins = layer("Point", [("A", "POINT (0 0)")])
    dests = layer("Point", [("B", "POINT (300 400)"), ("C", "POINT (600 800)"),
                            ("D", "POINT (0 0)"), ("E", "POINT (3000 4000)")])
    return origins, dests


def test_registered_with_help(welfare_plugin):
    from qgis.core import QgsApplication
    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    assert alg is not None and alg.displayName() == "Cost matrix"
    assert alg.groupId() == "accessibility"
    params = {p.name() for p in alg.parameterDefinitions()}
    assert params == {"ORIGINS", "ORIGIN_ID", "DESTINATIONS", "DESTINATION_ID", "MAX_COST",
                      "TRAVEL_MODE", "NETWORK", "NETWORK_COST", "NETWORK_ONEWAY",
                      "TARGET_CRS", "OUTPUT", "OUTPUT_LINES"}
    for p in alg.parameterDefinitions():
        assert p.help() and p.description() != p.name(), p.name()


def test_hand_worked_distances_inclusive_cutoff_and_zero_cost(welfare_plugin, triangle):
    out = run(*triangle, 1000.0)["OUTPUT"]
    from qgis.core import QgsWkbTypes
    assert out.wkbType() == QgsWkbTypes.NoGeometry
    assert out.fields().names() == ["origin_id", "destination_id", "cost", "cost_unit"]
    got = pairs(out)
    # C is exactly at the cutoff (inclusive); D is co-located (a real zero cost); E is beyond
    assert got == {("A", "B"): (500.0, "m"), ("A", "C"): (1000.0, "m"),
                   ("A", "D"): (0.0, "m")}
    # just under the cutoff, C drops out; D (cost 0) always stays
    assert set(pairs(run(*triangle, 999.999)["OUTPUT"])) == {("A", "B"), ("A", "D")}
    # a cutoff below every non-zero distance keeps the co-located pair only
    assert pairs(run(*triangle, 1e-6)["OUTPUT"]) == {("A", "D"): (0.0, "m")}


def test_travel_modes_give_minutes(welfare_plugin, triangle):
    walk = pairs(run(*triangle, 1000.0, "walk")["OUTPUT"])
    assert walk[("A", "B")][0] == pytest.approx(500 / 75) and walk[("A", "B")][1] == "min"
    assert walk[("A", "D")] == (0.0, "min")
    elderly = pairs(run(*triangle, 1000.0, "walk_elderly")["OUTPUT"])
    assert elderly[("A", "C")][0] == pytest.approx(20.0)
    car = pairs(run(*triangle, 1000.0, "car")["OUTPUT"])  # 25 km/h = 1250/3 m/min
    assert car[("A", "C")][0] == pytest.approx(1000 / (25000 / 60))
    # the cutoff stays in metres: the same pairs whatever the mode
    assert set(walk) == set(car) == {("A", "B"), ("A", "C"), ("A", "D")}


def test_polygons_use_their_centroid(welfare_plugin):
    origins = layer("Polygon", [("S", "POLYGON ((0 0, 200 0, 200 200, 0 200, 0 0))")])
    dests = layer("Point", [("F", "POINT (400 500)")])
    assert pairs(run(origins, dests, 500.0)["OUTPUT"]) == {("S", "F"): (500.0, "m")}
    # a U shape whose centroid (x = 150) falls in the notch: a point on its surface is used
    u = layer("Polygon", [("U", "POLYGON ((0 0, 300 0, 300 300, 200 300, 200 100, "
                                "100 100, 100 300, 0 300, 0 0))")])
    far = layer("Point", [("G", "POINT (150 150)")])
    got = pairs(run(u, far, 1000.0)["OUTPUT"])
    # its centroid (150, 135.7) is 14.3 m from G; every point of the U is >= 50 m away
    assert got[("U", "G")][0] >= 50.0


def test_output_lines(welfare_plugin, triangle):
    res = run(*triangle, 1000.0, OUTPUT_LINES="memory:")
    lines = res["OUTPUT_LINES"]
    feats = list(lines.getFeatures())
    assert len(feats) == 3 and lines.crs().authid() == "EPSG:32632"
    for f in feats:
        assert f.geometry().length() == pytest.approx(f["cost"])
    # not asked for: not created
    assert run(*triangle, 1000.0).get("OUTPUT_LINES") is None


def test_equals_core_euclidean_on_random_points(welfare_plugin):
    from welfare_core import costs
    rng = np.random.default_rng(20240605)
    o = np.round(rng.uniform(0, 5000, (300, 2)), 3)
    d = np.round(rng.uniform(0, 5000, (200, 2)), 3)
    got = pairs(run(points(o, "o"), points(d, "d"), 800.0)["OUTPUT"])
    cm = costs.euclidean(o, d, 800.0)
    want = {(f"o{i}", f"d{j}"): c for i, j, c in zip(cm.row, cm.col, cm.cost)}
    assert cm.nnz > 1000 and set(got) == set(want)
    assert all(got[k][0] == pytest.approx(want[k], rel=1e-12) for k in want)
    # independently: brute-force distances
    brute = np.hypot(o[:, None, 0] - d[None, :, 0], o[:, None, 1] - d[None, :, 1])
    i, j = np.nonzero(brute <= 800.0)
    assert set(zip((f"o{k}" for k in i), (f"d{k}" for k in j))) == set(got)
    assert max(abs(got[(f"o{a}", f"d{b}")][0] - brute[a, b]) for a, b in zip(i, j)) < 1e-9


def test_reprojects_destinations_to_the_working_crs(welfare_plugin):
    from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform,
                           QgsPointXY, QgsProject)
    t = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:32632"),
                               QgsCoordinateReferenceSystem("EPSG:3857"),
                               QgsProject.instance())
    p = t.transform(QgsPointXY(500300, 5030400))
    origins = layer("Point", [("A", "POINT (500000 5030000)")])
    dests = layer("Point", [("B", f"POINT ({p.x()!r} {p.y()!r})")], crs="EPSG:3857")
    got = pairs(run(origins, dests, 600.0)["OUTPUT"])
    assert got[("A", "B")][0] == pytest.approx(500.0, abs=1e-3)


def test_integer_ids_become_text(welfare_plugin):
    origins = layer("Point", [(7, "POINT (0 0)")], id_type="integer")
    dests = layer("Point", [(12, "POINT (30 40)")], id_type="integer")
    assert pairs(run(origins, dests, 100.0)["OUTPUT"]) == {("7", "12"): (50.0, "m")}


def test_geographic_crs_is_refused(welfare_plugin, triangle):
    from qgis.core import QgsProcessingException
    lonlat = layer("Point", [("A", "POINT (9.19 45.46)")], crs="EPSG:4326")
    with pytest.raises(QgsProcessingException, match="geographic CRS"):
        run(lonlat, lonlat, 1000.0)
    with pytest.raises(QgsProcessingException, match="TARGET_CRS"):
        run(*triangle, 1000.0, TARGET_CRS="EPSG:4326")


def test_missing_and_duplicate_ids_are_errors(welfare_plugin, triangle):
    from qgis.core import QgsProcessingException
    origins, dests = triangle
    blank = layer("Point", [("A", "POINT (0 0)"), (None, "POINT (1 1)")])
    with pytest.raises(QgsProcessingException, match=r"ORIGINS: 1 feature\(s\) have no value"):
        run(blank, dests, 1000.0)
    dup = layer("Point", [("B", "POINT (0 0)"), ("B", "POINT (5 5)"), ("C", "POINT (9 9)")])
    with pytest.raises(QgsProcessingException, match=r"DESTINATIONS: .*duplicate.*'B'"):
        run(origins, dup, 1000.0)
    nogeom = layer("Point", [("A", "POINT (0 0)"), ("Z", None)])
    with pytest.raises(QgsProcessingException, match="no geometry, e.g. 'Z'"):
        run(nogeom, dests, 1000.0)


def test_bad_cutoff_is_an_error(welfare_plugin, triangle):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="MAX_COST must be > 0"):
        run(*triangle, 0.0)


# --- network costs: the synthetic grid of tests/fixtures/street_grid.py -----------------------
def grid_layers(cost_field=False, reverse_drawn=False):
    """Streets (lines, field oneway 'yes' on the one-way block), homes and services."""
    from fixtures import street_grid as sg
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer
    streets = QgsVectorLayer("LineString?crs=EPSG:32632&field=oneway:string&field=minutes:double",
                             "streets", "memory")
    feats = []
    for _, s, t, cost, rev, a, b in sg.grid_edges():
        f = QgsFeature(streets.fields())
        f.setAttributes(["yes" if rev < 0 else None, cost / 75.0])
        ends = [QgsPointXY(sg.X0 + a[0], sg.Y0 + a[1]), QgsPointXY(sg.X0 + b[0], sg.Y0 + b[1])]
        f.setGeometry(QgsGeometry.fromPolylineXY(ends))
        feats.append(f)
    assert streets.dataProvider().addFeatures(feats)[0]
    homes = layer("Point", [(i, f"POINT ({sg.X0 + x!r} {sg.Y0 + y!r})") for i, x, y in sg.ORIGINS])
    services = layer("Point", [(i, f"POINT ({sg.X0 + x!r} {sg.Y0 + y!r})")
                               for i, x, y in sg.DESTINATIONS])
    return streets, homes, services


@pytest.mark.parametrize("max_cost", [1000.0, 320.0])
def test_network_costs_on_the_street_grid(welfare_plugin, max_cost):
    from fixtures import street_grid as sg
    streets, homes, services = grid_layers()
    got = pairs(run(homes, services, max_cost, NETWORK=streets,
                    NETWORK_ONEWAY="oneway")["OUTPUT"])
    want = sg.within(sg.HAND_DIRECTED, max_cost)
    assert set(got) == set(want)  # O3 reaches only D3 (a separate street): the rest absent
    for k, v in want.items():
        assert got[k][0] == pytest.approx(v, abs=1e-9) and got[k][1] == "m"
    # without the one-way field every street is two-way
    two_way = pairs(run(homes, services, 1000.0, NETWORK=streets)["OUTPUT"])
    assert {k: v[0] for k, v in two_way.items()} == pytest.approx(sg.HAND_UNDIRECTED, abs=1e-9)


def test_network_cost_field_and_travel_mode(welfare_plugin):
    from fixtures import street_grid as sg
    streets, homes, services = grid_layers()
    # walking: metres of street plus snap, converted at 75 m/min
    walk = pairs(run(homes, services, 1000.0, "walk", NETWORK=streets,
                     NETWORK_ONEWAY="oneway")["OUTPUT"])
    assert {k: v[0] for k, v in walk.items()} == pytest.approx(
        {k: v / 75 for k, v in sg.HAND_DIRECTED.items()}, abs=1e-9)
    # a cost field replaces the lengths: minutes per block (100/75) plus snaps in metres
    got = pairs(run(homes, services, 40.0, NETWORK=streets, NETWORK_COST="minutes",
                    NETWORK_ONEWAY="oneway")["OUTPUT"])
    assert got[("O1", "D1")][0] == pytest.approx(10 + 100 / 75)  # snap 10 m + one block
    assert got[("O2", "D2")][0] == pytest.approx(20 + 4 * 100 / 75 + 10)


def test_network_errors_are_clear(welfare_plugin):
    from qgis.core import QgsProcessingException
    streets, homes, services = grid_layers()
    streets.startEditing()
    first = next(streets.getFeatures())
    streets.changeAttributeValue(first.id(), streets.fields().lookupField("minutes"), -1.0)
    streets.commitChanges()
    with pytest.raises(QgsProcessingException, match="negative"):
        run(homes, services, 1000.0, NETWORK=streets, NETWORK_COST="minutes")
