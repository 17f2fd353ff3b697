"""welfare:dp_export through processing.run: noisy whole counts, undeclared numbers left
out, the release ledger (epsilon = EPSILON x count fields, cells = features x fields),
budget refusals that write nothing, the noise distribution, bad input, OpenDP missing.

Noise statistics are compared with the closed form of the discrete Laplace distribution
P(k) = (1 - q) / (1 + q) q^|k|, q = exp(-epsilon) (sensitivity 1), as in
tests/sql/test_dp_release.py: E|X| = 2q / (1 - q^2), E X^2 = 2q / (1 - q)^2. OpenDP's
generator has no seed (a CSPRNG), so the tolerances are five standard errors wide.
"""
import csv
import getpass
import math
import os
import subprocess
import sys

import pytest

pytest.importorskip("opendp")

ALG = "welfare:dp_export"
COLUMNS = ["release_id", "released_at", "released_by", "description", "epsilon", "cells"]


def make_layer(rows, fields="field=zone_id:string&field=residents:integer"
                           "&field=families:double&field=rank:integer"):
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer
    lyr = QgsVectorLayer(f"Point?crs=EPSG:32632&{fields}", "counts", "memory")
    feats = []
    for i, r in enumerate(rows):
        f = QgsFeature(lyr.fields())
        f.setAttributes(list(r))
        f.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(510000 + i, 5030000 + 2 * i)))
        feats.append(f)
    assert lyr.dataProvider().addFeatures(feats)
    return lyr


ROWS = [("A", 0, 0.0, 1), ("B", 3, 1.0, 2), ("C", 120, 40.0, 3), ("D", 1000, 400.0, 4),
        ("E", 7, 2.0, 5)]


@pytest.fixture
def layer(welfare_plugin):
    return make_layer(ROWS)


def ledger_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run(params):
    import processing
    from qgis.core import QgsProcessingFeedback

    class Log(QgsProcessingFeedback):
        lines = []

        def pushInfo(self, info):  # noqa: N802 (QGIS API)
            self.lines.append(info)

        def pushWarning(self, warning):  # noqa: N802 (QGIS API)
            self.lines.append(warning)
    log = Log()
    log.lines = []
    return processing.run(ALG, params, feedback=log), log.lines


def values(out):
    from qgis.PyQt.QtCore import QVariant
    names = out.fields().names()
    return names, [{n: (None if isinstance(f[n], QVariant) else f[n]) for n in names}
                   for f in out.getFeatures()]


def test_counts_get_whole_non_negative_noise_and_the_release_is_recorded(layer, tmp_path):
    from qgis.PyQt.QtCore import QVariant
    ledger = tmp_path / "dp_releases.csv"
    res, log = run(dict(INPUT=layer, COUNT_FIELDS=["residents", "families"], EPSILON=0.5,
                        DESCRIPTION="residents and families per zone, 2024 report",
                        LEDGER=str(ledger), OUTPUT="memory:"))
    out = res["OUTPUT"]
    names, rows = values(out)
    assert names == ["zone_id", "residents", "families"]  # undeclared `rank` left out
    for name in ("residents", "families"):
        assert out.fields().field(name).type() in (QVariant.LongLong, QVariant.Int)
    assert [r["zone_id"] for r in rows] == list("ABCDE")
    for r in rows:
        for name in ("residents", "families"):
            assert isinstance(r[name], int) and r[name] >= 0, r
    # D's 1000 residents with noise of E|X| = 1.9: more than 60 off has probability
    # P(|X| > 60) = 2 q^61 / (1 + q) < 1e-13 (q = e^-0.5)
    assert abs(rows[3]["residents"] - 1000) <= 60
    assert [f.geometry().asPoint().y() for f in out.getFeatures()] == \
        [5030000 + 2 * i for i in range(5)]
    assert out.crs().authid() == "EPSG:32632"
    # the ledger: epsilon 0.5 x 2 fields = 1.0, cells 5 features x 2 fields = 10
    [row] = ledger_rows(ledger)
    assert list(row) == COLUMNS
    assert (row["release_id"], row["description"], float(row["epsilon"]), row["cells"],
            row["released_by"]) == ("1", "residents and families per zone, 2024 report", 1.0,
                                    "10", getpass.getuser())
    assert res["RELEASE_ID"] == 1 and res["LEDGER_FILE"] == str(ledger)
    assert res["PUBLICATION"] == "safe"
    assert any(line.startswith("Safe to publish: ε-differentially private") and
               "ε = 1 spent (0.5 × 2 count field(s)), 1 of budget 1" in line for line in log)
    assert out.customProperty("welfare/publication") == "safe"


def test_the_budget_refuses_and_nothing_is_written(layer, tmp_path):
    ledger = tmp_path / "l.csv"
    base = dict(INPUT=layer, DESCRIPTION="first", LEDGER=str(ledger), OUTPUT="memory:")
    run(dict(base, COUNT_FIELDS=["residents"], EPSILON=0.6))
    before = ledger.read_bytes()
    target = tmp_path / "refused.gpkg"
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException) as err:
        run(dict(base, COUNT_FIELDS=["residents"], EPSILON=0.5, DESCRIPTION="second",
                 OUTPUT=str(target)))
    assert "epsilon 0.5 would exceed the differential privacy budget: 0.6 of 1 already " \
           "spent" in str(err.value)
    assert ledger.read_bytes() == before and not target.exists()
    # two fields at 0.25 make 0.5 too: refused the same way
    with pytest.raises(QgsProcessingException, match="epsilon 0.5 would exceed"):
        run(dict(base, COUNT_FIELDS=["residents", "families"], EPSILON=0.25))
    assert ledger.read_bytes() == before
    # what is left can be spent, to the last of it; a larger BUDGET allows more
    run(dict(base, COUNT_FIELDS=["residents", "families"], EPSILON=0.2, DESCRIPTION="rest"))
    res, _ = run(dict(base, COUNT_FIELDS=["families"], EPSILON=0.5, BUDGET=1.5,
                      DESCRIPTION="more"))
    assert res["RELEASE_ID"] == 3
    assert [(r["description"], float(r["epsilon"]), r["cells"]) for r in ledger_rows(ledger)] \
        == [("first", 0.6, "5"), ("rest", 0.4, "10"), ("more", 0.5, "5")]


def test_a_release_whose_output_cannot_be_written_still_spends(layer, tmp_path):
    """Recorded before the noise is drawn: a failure afterwards wastes the epsilon."""
    from qgis.core import QgsProcessingException
    ledger = tmp_path / "l.csv"
    with pytest.raises(QgsProcessingException):
        run(dict(INPUT=layer, COUNT_FIELDS=["residents"], EPSILON=0.3, DESCRIPTION="lost",
                 LEDGER=str(ledger), OUTPUT=str(tmp_path / "no_such_dir" / "out.gpkg")))
    assert [(r["description"], float(r["epsilon"])) for r in ledger_rows(ledger)] == \
        [("lost", 0.3)]


def test_keeping_other_numbers_is_not_safe(layer, tmp_path):
    res, log = run(dict(INPUT=layer, COUNT_FIELDS=["residents"], EPSILON=0.5,
                        DESCRIPTION="x", LEDGER=str(tmp_path / "l.csv"),
                        KEEP_OTHER_NUMBERS=True, OUTPUT="memory:"))
    names, rows = values(res["OUTPUT"])
    assert names == ["zone_id", "residents", "families", "rank"]
    assert [r["families"] for r in rows] == [0.0, 1.0, 40.0, 400.0, 2.0]  # copied unchanged
    assert res["PUBLICATION"] == "not_safe"
    assert any(line.startswith("NOT safe to publish") and "families, rank" in line
               for line in log)


def test_the_default_ledger_is_next_to_the_saved_project(layer, tmp_path):
    from qgis.core import QgsProcessingException, QgsProject
    project = QgsProject.instance()
    old = project.fileName()
    try:
        project.setFileName("")
        with pytest.raises(QgsProcessingException, match="project is not saved"):
            run(dict(INPUT=layer, COUNT_FIELDS=["residents"], DESCRIPTION="x",
                     OUTPUT="memory:"))
        project.setFileName(str(tmp_path / "city.qgz"))
        res, _ = run(dict(INPUT=layer, COUNT_FIELDS=["residents"], DESCRIPTION="x",
                          OUTPUT="memory:"))
        assert res["LEDGER_FILE"] == str(tmp_path / "dp_releases.csv")
        assert [float(r["epsilon"]) for r in ledger_rows(tmp_path / "dp_releases.csv")] == \
            [0.5]  # the default EPSILON, one field
    finally:
        project.setFileName(old)


# --- bad input ---------------------------------------------------------------------------

BAD = [
    ("NULL", (None, 2.0), "count field residents is NULL at feature 2"),
    ("negative", (-3, 2.0), "count field residents is -3 at feature 2: negative"),
    ("fraction", (3, 2.5), "count field families is 2.5 at feature 2: not a whole number"),
]


@pytest.mark.parametrize("what,values_b,match", BAD, ids=[b[0] for b in BAD])
def test_bad_counts_name_the_field_and_the_feature(welfare_plugin, tmp_path, what, values_b,
                                                   match):
    from qgis.core import QgsProcessingException
    rows = [("A", 5, 1.0, 1), ("B", *values_b, 2)]
    ledger = tmp_path / "l.csv"
    with pytest.raises(QgsProcessingException, match=match):
        run(dict(INPUT=make_layer(rows), COUNT_FIELDS=["residents", "families"],
                 DESCRIPTION="x", LEDGER=str(ledger), OUTPUT="memory:"))
    assert not ledger.exists()


@pytest.mark.parametrize("params,match", [
    (dict(COUNT_FIELDS=[]), "no count field chosen"),
    (dict(DESCRIPTION="   "), "description is required"),
    (dict(DESCRIPTION=""), "DESCRIPTION"),  # refused by Processing itself: required
    (dict(EPSILON=0), "epsilon = 0.0 must be a number in"),
    (dict(EPSILON=101), "EPSILON"),  # over the parameter's maximum (MAX_DP_EPSILON)
    (dict(EPSILON=60, COUNT_FIELDS=["residents", "families"]),  # 60 × 2 = 120 > 100
     r"EPSILON 60 × 2 count fields = 120, more than one release may spend \(100\)"),
    (dict(BUDGET=0), "budget"),
    (dict(LEDGER="/no/such/folder/l.csv"), "cannot open the release ledger"),
])
def test_bad_requests_are_clear_errors_and_spend_nothing(layer, tmp_path, params, match):
    from qgis.core import QgsProcessingException
    ledger = tmp_path / "l.csv"
    full = dict(INPUT=layer, COUNT_FIELDS=["residents"], EPSILON=0.5, DESCRIPTION="x",
                LEDGER=str(ledger), OUTPUT="memory:")
    full.update(params)
    with pytest.raises(QgsProcessingException, match=match) as err:
        run(full)
    assert "Traceback" not in str(err.value)
    assert not ledger.exists()


def test_a_foreign_ledger_file_is_a_clear_error_and_stays_as_it_was(layer, tmp_path):
    from qgis.core import QgsProcessingException
    ledger = tmp_path / "zones.csv"
    ledger.write_text("zone_id,demand\nA,3\n", encoding="utf-8")
    with pytest.raises(QgsProcessingException, match="is not a release ledger"):
        run(dict(INPUT=layer, COUNT_FIELDS=["residents"], DESCRIPTION="x",
                 LEDGER=str(ledger), OUTPUT="memory:"))
    assert ledger.read_text(encoding="utf-8") == "zone_id,demand\nA,3\n"


def test_an_empty_layer_spends_nothing(welfare_plugin, tmp_path):
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="no features"):
        run(dict(INPUT=make_layer([]), COUNT_FIELDS=["residents"], DESCRIPTION="x",
                 LEDGER=str(tmp_path / "l.csv"), OUTPUT="memory:"))
    assert not (tmp_path / "l.csv").exists()


# --- OpenDP ---------------------------------------------------------------------------------

def test_without_opendp_the_algorithm_says_so_and_spends_nothing(layer, tmp_path, monkeypatch):
    """A QGIS whose Python has no OpenDP and no make install: hidden from this process
    (a None entry in sys.modules makes the import fail), the vendor dir pointed away."""
    from qgis.core import QgsProcessingException
    from welfare_intelligence.algorithms import dp_export
    monkeypatch.setitem(sys.modules, "opendp", None)
    monkeypatch.setitem(sys.modules, "opendp.prelude", None)
    monkeypatch.setattr(dp_export, "vendor_dir", lambda: str(tmp_path / "no_vendor"))
    with pytest.raises(QgsProcessingException) as err:
        run(dict(INPUT=layer, COUNT_FIELDS=["residents"], DESCRIPTION="x",
                 LEDGER=str(tmp_path / "l.csv"), OUTPUT="memory:"))
    text = str(err.value)
    assert "differential privacy needs OpenDP" in text and "make install" in text
    assert "Traceback" not in text
    assert not (tmp_path / "l.csv").exists()


def test_the_system_python_finds_opendp_where_make_install_puts_it(welfare_plugin, plugin_dir):
    """QGIS runs /usr/bin/python3, which has no OpenDP of its own: the plugin takes the
    copy make install vendored for the database."""
    from welfare_intelligence.algorithms.dp_export import vendor_dir
    vendor = vendor_dir()
    if not os.path.isdir(os.path.join(vendor, "opendp")):
        pytest.skip(f"no OpenDP in {vendor} (make install without a network)")
    script = ("import sys; sys.path.insert(0, sys.argv[1])\n"
              "import importlib.util\n"
              "own = importlib.util.find_spec('opendp')\n"
              "from welfare_intelligence.algorithms.dp_export import require_opendp\n"
              "require_opendp()\n"
              "import opendp.prelude as dp, opendp\n"
              "print(own is None, opendp.__file__)\n")
    done = subprocess.run(["/usr/bin/python3", "-c", script, str(plugin_dir)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    own_missing, path = done.stdout.split()
    if own_missing != "True":
        pytest.skip("the system Python has OpenDP of its own")
    assert path.startswith(vendor + "/")


# --- noise statistics over many features -------------------------------------------------

N = 2000
COUNT = 1000  # far from 0: the floor at 0 never acts at these scales


def discrete_laplace(epsilon):
    """E|X|, sd |X| and E X^2 of the discrete Laplace noise of scale 1 / epsilon."""
    q = math.exp(-epsilon)
    mean_abs = 2 * q / (1 - q * q)
    second = 2 * q / (1 - q) ** 2
    return mean_abs, math.sqrt(second - mean_abs ** 2), second


@pytest.fixture
def big_layer(welfare_plugin):
    return make_layer([(f"S{i:04d}", COUNT, 0.0, i) for i in range(N)])


@pytest.mark.parametrize("epsilon", [2.0, 0.1])
def test_noise_has_the_discrete_laplace_spread_of_scale_one_over_epsilon(big_layer, tmp_path,
                                                                         epsilon):
    ledger = tmp_path / "l.csv"
    res, _ = run(dict(INPUT=big_layer, COUNT_FIELDS=["residents"], EPSILON=epsilon,
                      DESCRIPTION="spread", LEDGER=str(ledger), BUDGET=10.0,
                      OUTPUT="memory:"))
    _, rows = values(res["OUTPUT"])
    assert len(rows) == N
    noise = [r["residents"] - COUNT for r in rows]
    mean_abs, sd_abs, second = discrete_laplace(epsilon)
    assert abs(sum(abs(x) for x in noise) / N - mean_abs) < 5 * sd_abs / math.sqrt(N)
    assert abs(sum(noise) / N) < 5 * math.sqrt(second / N)  # centred
    [row] = ledger_rows(ledger)
    assert float(row["epsilon"]) == epsilon and row["cells"] == str(N)
