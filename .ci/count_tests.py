"""Fail loudly unless every suite ran tests and none failed.

Reads the JUnit XML of each pytest suite and the pg_regress log in the
directory given; prints one line per suite.
"""
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SUITES = ("core", "sql", "qgis")


def main(folder: str) -> int:
    root = Path(folder)
    total, bad = 0, []
    for suite in SUITES:
        path = root / f"{suite}.xml"
        if not path.exists():
            bad.append(f"{suite}: no report (did the suite run?)")
            continue
        tree = ET.parse(path).getroot()
        cases = tree.iter("testcase")
        n = failed = skipped = 0
        for case in cases:
            n += 1
            failed += any(c.tag in ("failure", "error") for c in case)
            skipped += any(c.tag == "skipped" for c in case)
        print(f"{suite:8s} {n:5d} tests, {failed} failed, {skipped} skipped")
        total += n - skipped
        if n - skipped == 0:
            bad.append(f"{suite}: no test ran")
        if failed:
            bad.append(f"{suite}: {failed} failed")
    log = root / "regress.log"
    text = log.read_text() if log.exists() else ""
    ok = len(re.findall(r"\.\.\. ok", text))
    failed = len(re.findall(r"\.\.\. FAILED", text))
    print(f"{'regress':8s} {ok + failed:5d} tests, {failed} failed")
    total += ok
    if ok == 0:
        bad.append("pg_regress: no test ran")
    if failed:
        bad.append(f"pg_regress: {failed} failed")
    if bad:
        print("TESTS NOT GREEN:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 1
    print(f"all green: {total} tests ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/test-reports"))
