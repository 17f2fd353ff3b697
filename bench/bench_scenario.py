"""Scenarios on the sample city: apply + compare through SQL (cold and warm), and a
100-draw sensitivity run in the core. Targets (issue #7): < 5 s warm, < 60 s.

Run with Debian's interpreter (``/usr/bin/python3 bench/bench_scenario.py``): it
needs psycopg and the installed extension (``make install``). It (re)creates its
own database ``wi_bench_scenario`` (``--db``), loads ``data/sample`` with the
import CLI (skipped with ``--reuse`` when already loaded) and builds the demo's
scenario: close the smallest elderly day centre of Milan, open two with 60
places at the first two candidate sites; neighbourhood level, 2023.

Timed regions (wall clock around the SQL statement only):
- ``SELECT welfare.run_scenario(id, 'neighbourhood', 2023)``: read tables, apply,
  compare (8-evaluation Shapley), publish, store; first call on a new
  connection (cold) and ``--repeat`` further calls on it (warm);
- ``SELECT count(*) FROM welfare.compare_scenarios(NULL, id, 'neighbourhood', 2023)``, warm;
- core: ``sensitivity.sensitivity`` for the nursery, 100 seeded random draws of
  max_cost x decay_param (tables already in memory).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3") \
        and not os.environ.get("WI_BENCH_REEXEC"):
    # make bench runs bench_*.py with the peers' venv: PL/Python's builds are Debian's
    os.environ["WI_BENCH_REEXEC"] = "1"
    os.execv("/usr/bin/python3", ["/usr/bin/python3", __file__, *sys.argv[1:]])
os.environ.setdefault("PROJ_DATA", "/usr/share/proj")
sys.path.insert(0, str(ROOT / "core"))
sys.path.insert(0, str(ROOT / "data" / "sample"))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

MILAN = "015146"
PERIOD = 2023


def fresh(db: str) -> None:
    with psycopg.connect("dbname=postgres", autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    with psycopg.connect(f"dbname={db}", autocommit=True) as c:
        c.execute("CREATE EXTENSION welfare_intelligence CASCADE")
    sample = ROOT / "data" / "sample"
    files = [sample / "milan_sample.gpkg", *sorted(sample.glob("*.csv.gz"))]
    subprocess.run([sys.executable, str(ROOT / "db_extension" / "welfare_import.py"),
                    "--db", db, *map(str, files)], check=True, stdout=subprocess.DEVNULL)


def make_scenario(c) -> int:
    closed, sites = c.execute(
        "SELECT (SELECT facility_id FROM welfare.facility WHERE service_type_id = "
        "'elderly_day_centre' AND municipality_code = %s ORDER BY capacity, facility_id LIMIT 1), "
        "(SELECT array_agg(site_id ORDER BY site_id) FROM (SELECT site_id FROM "
        "welfare.candidate_site WHERE municipality_code = %s AND (service_type_id IS NULL "
        "OR service_type_id = 'elderly_day_centre') ORDER BY site_id LIMIT 2) s)",
        [MILAN, MILAN]).fetchone()
    sid = c.execute("SELECT welfare.create_scenario('bench: close one, open two', NULL, true)"
                    ).fetchone()[0]
    c.execute("SELECT welfare.add_scenario_change(%s, 'close', %s::jsonb)",
              [sid, json.dumps({"facility_id": closed})])
    for i, site in enumerate(sites, 1):
        c.execute("SELECT welfare.add_scenario_change(%s, 'open', %s::jsonb)", [sid, json.dumps(
            {"facility_id": f"BENCH-CDI-{i}", "service_type_id": "elderly_day_centre",
             "capacity": 60, "site_id": site})])
    print(f"scenario {sid}: close {closed}, open 60 places at {sites[0]} and {sites[1]}")
    return sid


def timed(c, query, params):
    t0 = time.perf_counter()
    row = c.execute(query, params).fetchone()
    return time.perf_counter() - t0, row[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="wi_bench_scenario")
    ap.add_argument("--reuse", action="store_true", help="database already loaded")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-sensitivity", action="store_true")
    args = ap.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if not args.reuse:
        t0 = time.perf_counter()
        fresh(args.db)
        print(f"loaded the sample city into {args.db} in {time.perf_counter() - t0:.1f} s")
    with psycopg.connect(f"dbname={args.db}", autocommit=True) as c:
        sid = make_scenario(c)
    run = "SELECT welfare.run_scenario(%s, 'neighbourhood', %s)"
    cmp = "SELECT count(*) FROM welfare.compare_scenarios(NULL, %s, 'neighbourhood', %s)"
    with psycopg.connect(f"dbname={args.db}", autocommit=True) as c:
        cold, run_id = timed(c, run, [sid, PERIOD])
        rows = c.execute("SELECT count(*) FROM welfare.scenario_result WHERE run_id = %s",
                         [run_id]).fetchone()[0]
        print(f"run_scenario cold (new connection): {cold:.2f} s, {rows} rows")
        warm = [timed(c, run, [sid, PERIOD])[0] for _ in range(args.repeat)]
        print(f"run_scenario warm x{len(warm)}: median {statistics.median(warm):.2f} s, "
              f"min {min(warm):.2f} s, max {max(warm):.2f} s")
        warm = [timed(c, cmp, [sid, PERIOD])[0] for _ in range(args.repeat)]
        print(f"compare_scenarios warm x{len(warm)}: median {statistics.median(warm):.2f} s, "
              f"min {min(warm):.2f} s, max {max(warm):.2f} s")
    if not args.no_sensitivity:
        from card import load_sample
        from welfare_core.sensitivity import sensitivity
        tables = load_sample()
        t0 = time.perf_counter()
        summary, _ = sensitivity(tables, "nursery", PERIOD, "neighbourhood", draws=100, seed=1,
                                 max_cost_range=(600, 1400), decay_param_range=(200, 600))
        print(f"sensitivity nursery, 100 draws: {time.perf_counter() - t0:.1f} s "
              f"({len(summary)} zone x target rows)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
