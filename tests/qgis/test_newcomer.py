"""The newcomer path: README's commands, and the demo producing what README promises."""
import re
import secrets
import subprocess
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
MILAN_2023 = 1_354_196  # ISTAT residents on 1 January 2023 (data/sample/README.md)


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    assert [line.split()[:2] for line in first_block.splitlines()] == [["make", "demo"],
                                                                        ["make", "test"]]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert (ROOT / "data" / "demo_map.png").exists()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    db = f"wi_newcomer_{secrets.token_hex(3)}"
    out = tmp_path_factory.mktemp("demo")
    try:
        done = subprocess.run(["/usr/bin/python3", str(ROOT / "db_extension" / "demo.py"),
                               "--db", db, "--out", str(out)],
                              capture_output=True, text=True, timeout=900)
        yield done, out
    finally:
        with psycopg.connect("dbname=postgres", autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(db)))


def test_demo_runs_and_says_where_outputs_are(demo):
    done, out = demo
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"results GeoPackage  {out / 'zone_indicators.gpkg'}" in done.stdout
    assert f"map (PNG)           {out / 'nursery_coverage.png'}" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_demo_summary_is_published_figures(demo):
    done, _ = demo
    # the real city total, rounded to the nearest 5 by the privacy rules
    residents = re.search(r"All residents\s+([\d,]+)", done.stdout).group(1)
    assert int(residents.replace(",", "")) == 5 * round(MILAN_2023 / 5)
    tables = [part.split("\n== ")[0]
              for part in done.stdout.split("Largest gaps by neighbourhood")[1:]]
    assert len(tables) == 3
    for table in tables:
        rows = [line for line in table.splitlines() if line.strip().startswith("Quartiere")]
        assert len(rows) == 10
        gaps = [float(r.split()[-1].replace(",", "")) for r in rows]
        assert gaps == sorted(gaps, reverse=True) and gaps[0] > 0
        for r in rows:  # published demand: a multiple of 5, or suppressed
            demand = r.split()[2]
            assert demand == "suppressed" or int(demand.replace(",", "")) % 5 == 0


def test_demo_outputs_open_in_qgis(demo, qgis_app):
    from qgis.core import QgsRasterLayer, QgsVectorLayer
    _, out = demo
    layer = QgsVectorLayer(f"{out / 'zone_indicators.gpkg'}|layername=zone_indicators",
                           "indicators", "ogr")
    assert layer.isValid() and layer.crs().authid() == "EPSG:32632"
    for level, zones in (("neighbourhood", 88), ("district", 9)):
        layer.setSubsetString(f"\"zone_level\" = '{level}'")
        assert layer.featureCount() > zones  # zones x published targets
    for name in ("nursery_access", "vulnerability", "scenario_change"):
        extra = QgsVectorLayer(f"{out / (name + '.gpkg')}|layername={name}", name, "ogr")
        assert extra.isValid() and extra.featureCount() > 0, name
    for png in ("nursery_coverage", "nursery_access", "vulnerability", "scenario_change"):
        image = QgsRasterLayer(str(out / f"{png}.png"), png)
        assert image.isValid() and image.width() > 1000, png


def test_demo_optimisation_prints_before_after_and_maps_the_sites(demo, qgis_app):
    from qgis.core import QgsRasterLayer, QgsVectorLayer
    done, out = demo
    line = re.search(r"(\d+) centres kept, (\d+) opened: demand within [\d,]+ m ([\d.]+) % -> ([\d.]+) %",
                     done.stdout)
    assert line and int(line.group(2)) == 5
    assert float(line.group(4)) >= float(line.group(3))   # existing centres stay open: never worse
    nursery = re.search(r"300 nursery places: need served .* ([\d.]+) % -> ([\d.]+) %", done.stdout)
    assert nursery and float(nursery.group(2)) >= float(nursery.group(1))
    sites = QgsVectorLayer(f"{out / 'optimisation_sites.gpkg'}|layername=optimisation_sites", "sites", "ogr")
    assert sites.isValid() and sites.crs().authid() == "EPSG:32632"
    sites.setSubsetString("\"role\" = 'new_centre'")
    assert sites.featureCount() == 5
    image = QgsRasterLayer(str(out / "optimisation_sites.png"), "sites")
    assert image.isValid() and image.width() > 1000


def test_demo_dp_release_is_near_the_published_counts_and_spends_its_epsilon(demo):
    """Discrete Laplace noise of scale 1/0.5 = 2: P(|noise| > 40) = e^-20 per district; the
    published count is the raw one rounded to 5 (within 2.5)."""
    done, _ = demo
    part = done.stdout.split("Differentially private release")[1].split("\n== ")[0]
    rows = [line.split() for line in part.splitlines() if line.strip().startswith("Municipio")]
    assert len(rows) == 9
    for row in rows:
        published, noisy = (int(v.replace(",", "")) for v in row[-2:])
        assert noisy >= 0 and abs(noisy - published) <= 2.5 + 40, row
    assert "epsilon spent 0.5 of the budget 1 " in part
