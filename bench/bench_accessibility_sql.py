"""The SQL door at city scale: welfare.accessibility for every service type, cold and warm.

    /usr/bin/python3 bench/bench_accessibility_sql.py --db DB [--period 2023] [--repeats 3]
    /usr/bin/python3 bench/bench_accessibility_sql.py --load DIR   # fresh database from a
        # generated city (data/sample/generate.py --out DIR), dropped afterwards

Under `make bench` (no arguments) it only says how to run it: building a
6,000-section city takes minutes (generate: `.venv-sample/bin/python` with
`generate.N_SECTIONS = 6000`, see bench/README.md; load: 1.5–3 min).

Timed region: the whole statement as psycopg sees it from the client
(PL/Python reads the welfare tables, the core driver, the rows back):

* every type in one call: ``SELECT count(*) FROM welfare.accessibility(NULL, period,
  'section')`` (the tables read once);
* all types, one call per type: ``SELECT count(*) FROM welfare.service_type s,
  LATERAL welfare.accessibility(s.service_type_id, period, 'section')``;
* per type: ``SELECT count(*) FROM welfare.accessibility(type, period, 'section')``.

*Cold*: a new connection per statement (the session's imports and first reads
included), median of ``--repeats``. *Warm*: the same connection after one
call, median of ``--repeats``. Peak memory: the backend's peak resident set
(``VmHWM`` in /proc/<pid>/status; the bench must run on the server's machine
as a user who may read it) after the cold and the warm runs.
"""
from __future__ import annotations

import argparse
import glob
import os
import secrets
import statistics
import subprocess
import sys
import time

try:
    import psycopg
except ImportError:  # the peers' venv (make bench): Debian's python has psycopg
    psycopg = None

HERE = os.path.dirname(os.path.abspath(__file__))
ALL = ("SELECT count(*) FROM welfare.service_type s, "
       "LATERAL welfare.accessibility(s.service_type_id, %s, 'section')")
ONE = "SELECT count(*) FROM welfare.accessibility(%s, %s, 'section')"
EVERY = "SELECT count(*) FROM welfare.accessibility(NULL, %s, 'section')"


def peak_rss_mib(conn) -> float | None:
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def timed(conn, sql, args):
    t = time.perf_counter()
    rows = conn.execute(sql, args).fetchone()[0]
    return time.perf_counter() - t, rows


def measure(db, sql, args, repeats):
    cold, warm, peaks = [], [], []
    for _ in range(repeats):
        with psycopg.connect(f"dbname={db}") as c:
            seconds, rows = timed(c, sql, args)
            cold.append(seconds)
            peaks.append(peak_rss_mib(c))
    with psycopg.connect(f"dbname={db}") as c:
        timed(c, sql, args)
        for _ in range(repeats):
            warm.append(timed(c, sql, args)[0])
        peak_warm = peak_rss_mib(c)
    peak = max([p for p in peaks + [peak_warm] if p is not None], default=None)
    return rows, statistics.median(cold), statistics.median(warm), peak


def load(folder):
    db = f"wi_bench_{secrets.token_hex(3)}"
    with psycopg.connect("dbname=postgres", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {db}")
    with psycopg.connect(f"dbname={db}", autocommit=True) as c:
        c.execute("CREATE EXTENSION welfare_intelligence CASCADE")
    files = sorted(glob.glob(os.path.join(folder, "*.gpkg"))) + sorted(
        glob.glob(os.path.join(folder, "*.csv.gz")) + glob.glob(os.path.join(folder, "*.csv")))
    files = [f for f in files if "indicators" not in os.path.basename(f)]
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, os.pardir, "db_extension",
                                                      "welfare_import.py"), "--db", db, *files],
                   check=True, env=dict(os.environ, PROJ_DATA="/usr/share/proj"))
    return db


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db")
    ap.add_argument("--load", metavar="DIR")
    ap.add_argument("--period", type=int, default=2023)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--per-type", action="store_true", help="also time each type alone")
    ap.add_argument("--keep", action="store_true", help="keep the --load database")
    args = ap.parse_args(argv)
    if not (args.db or args.load):
        print("bench_accessibility_sql.py: skipped, needs --db DB (a loaded city) or --load DIR")
        return 0
    if args.db and args.load:
        ap.error("give --db or --load, not both")
    if psycopg is None:
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__),
                                      *(argv if argv is not None else sys.argv[1:])])
    db = args.db or load(args.load)
    try:
        with psycopg.connect(f"dbname={db}") as c:
            sections, facilities, types = c.execute(
                "SELECT (SELECT count(*) FROM welfare.zone WHERE level = 'section'), "
                "(SELECT count(*) FROM welfare.facility), "
                "(SELECT count(*) FROM welfare.service_type)").fetchone()
            names = [r[0] for r in c.execute(
                "SELECT service_type_id FROM welfare.service_type ORDER BY 1")]
        print(f"{db}: {sections:,} sections, {facilities:,} facilities, {types} service types, "
              f"period {args.period}; medians of {args.repeats}")
        for label, sql in (("every type, one call (NULL)", EVERY),
                           ("all types, one call per type (LATERAL)", ALL)):
            rows, cold, warm, peak = measure(db, sql, [args.period], args.repeats)
            print(f"{label}, section: {rows:,} rows  cold {cold:.2f} s  warm {warm:.2f} s"
                  + (f"  backend peak RSS {peak:.0f} MiB" if peak else ""))
        if args.per_type:
            for name in names:
                rows, cold, warm, peak = measure(db, ONE, [name, args.period], args.repeats)
                print(f"  {name:22s} {rows:7,} rows  cold {cold:.2f} s  warm {warm * 1000:.0f} ms")
        if args.keep:
            print(f"kept database {db}")
    finally:
        if args.load and not args.keep:
            with psycopg.connect("dbname=postgres", autocommit=True) as c:
                c.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
