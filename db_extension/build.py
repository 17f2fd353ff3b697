#!/usr/bin/python3
"""Assemble the extension's install script and control file (pgai-style).

The script is sql/head.sql, then every sql/incremental/NNN-*.sql, then every
sql/idempotent/NNN-*.sql, with @extversion@ replaced by the version of the core
(core/welfare_core/__init__.py: the one version string).

- incremental files run once per database: each is wrapped in a guard that
  records it in welfare.migration (with the md5 of its body) and skips it when
  already applied. Once released, an incremental file is frozen: never edit
  it, add the next number instead (the guard refuses a changed body).
- idempotent files (CREATE OR REPLACE, DROP ... IF EXISTS; CREATE ...) run on
  every install and upgrade.

Upgrades: because of the guards, the upgrade script welfare_intelligence--A--B.sql
is the same full script. When B is released, add A to PREVIOUS_VERSIONS below;
`build.py` then also writes welfare_intelligence--A--B.sql for each of them,
the Makefile installs them, and `ALTER EXTENSION welfare_intelligence UPDATE`
moves a database from A to B.

Usage: build.py [--out DIR]   (default: db_extension/)
"""
from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SQL = ROOT / "sql"
NAME = "welfare_intelligence"
PREVIOUS_VERSIONS: tuple[str, ...] = ("0.1.0", "0.1.1")  # released versions that upgrade to this one
NUMBERED = re.compile(r"^\d{3}-[a-z0-9_-]+\.sql$")


def version() -> str:
    text = (ROOT / "core" / "welfare_core" / "__init__.py").read_text()
    m = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if not m:
        raise SystemExit("no __version__ in core/welfare_core/__init__.py")
    return m.group(1)


def numbered(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.sql"))
    bad = [f.name for f in files if not NUMBERED.match(f.name)]
    if bad:
        raise SystemExit(f"{folder}: files must be named NNN-name.sql: {bad}")
    numbers = [f.name[:3] for f in files]
    if len(set(numbers)) != len(numbers):
        raise SystemExit(f"{folder}: two files share a number: {numbers}")
    return files


def incremental(path: Path, ver: str) -> str:
    body = path.read_text()
    md5 = hashlib.md5(body.encode()).hexdigest()
    if "$wi_body$" in body:
        raise SystemExit(f"{path}: must not contain $wi_body$")
    return f"""-- {path.relative_to(ROOT)} (run once)
DO $wi_migration$
DECLARE
    applied text;
BEGIN
    SELECT body_md5 INTO applied FROM welfare.migration WHERE name = '{path.name}';
    IF applied IS NOT NULL THEN
        IF applied <> '{md5}' THEN
            RAISE EXCEPTION 'install step {path.name} changed after it was applied'
              USING HINT = 'released sql/incremental files are frozen; add a new file';
        END IF;
        RETURN;
    END IF;
    EXECUTE $wi_body${body}$wi_body$;
    INSERT INTO welfare.migration (name, body_md5, applied_in_version)
    VALUES ('{path.name}', '{md5}', '{ver}');
END
$wi_migration$;
"""


# The handler every public PL/pgSQL wrapper ends with (sql/idempotent: written
# `@reraise_errors@` before its END): a run that failed is recorded in welfare.run
# by an autonomous transaction (welfare._log_run_failure, 150-governance.sql), then
# the error of the PL/Python body comes back without the PL/Python class prefix
# and traceback (welfare._reraise, 005-errors.sql).
RERAISE_ERRORS = """EXCEPTION WHEN OTHERS THEN
    DECLARE m text; s text; h text; d text;
    BEGIN
        GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, s = RETURNED_SQLSTATE,
                                h = PG_EXCEPTION_HINT, d = PG_EXCEPTION_DETAIL;
        BEGIN  -- a run that failed is logged outside this transaction (150-governance.sql)
            PERFORM welfare._log_run_failure(m);
        EXCEPTION WHEN OTHERS THEN NULL;
        END;
        PERFORM welfare._reraise(m, s, h, d);
    END;"""


def script(ver: str) -> str:
    parts = [(SQL / "head.sql").read_text()]
    parts += [incremental(p, ver) for p in numbered(SQL / "incremental")]
    parts += [f"-- {p.relative_to(ROOT)}\n{p.read_text()}" for p in numbered(SQL / "idempotent")]
    return ("\n".join(parts).replace("@extversion@", ver)
            .replace("@reraise_errors@", RERAISE_ERRORS))


def control(ver: str) -> str:
    text = (HERE / f"{NAME}.control.in").read_text()
    return text.replace("@extversion@", ver)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--print-files", action="store_true",
                    help="print the names of the files this version installs")
    a = ap.parse_args()
    ver = version()
    outputs = {f"{NAME}.control": control(ver), f"{NAME}--{ver}.sql": script(ver)}
    for old in PREVIOUS_VERSIONS:
        outputs[f"{NAME}--{old}--{ver}.sql"] = outputs[f"{NAME}--{ver}.sql"]
    if a.print_files:
        print(" ".join(outputs))
        return
    a.out.mkdir(parents=True, exist_ok=True)
    for fname, text in outputs.items():
        target = a.out / fname
        if not target.exists() or target.read_text() != text:
            target.write_text(text)


if __name__ == "__main__":
    main()
