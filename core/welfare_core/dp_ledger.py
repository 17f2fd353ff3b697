"""The epsilon budget of differentially private releases made from files (QGIS, scripts).

The database keeps its releases in table welfare.dp_release and refuses one that
would take their total epsilon over setting dp_epsilon_budget. A release made
outside the database is recorded the same way in a CSV ledger, one row per
release::

    release_id,released_at,released_by,description,epsilon,cells
    1,2026-11-26T23:59:01.123456+00:00,maria,elderly per neighbourhood,0.5,120

``released_at`` is UTC (ISO 8601), ``released_by`` the operating-system user,
``epsilon`` the total spent by the release (sequential composition: the sum over
its queries) and ``cells`` the number of noisy values released. A release is
recorded BEFORE its noise is drawn (:func:`record_release`, then
:func:`welfare_core.privacy.dp_counts`): an error after recording wastes epsilon,
it never releases noise that was not paid for. The ledger is read and appended
under an exclusive lock on the file (``fcntl.flock``, POSIX), so two processes
cannot both take the last of the budget. Spent epsilon is never given back: the
ledger is only appended to.
"""
from __future__ import annotations

import csv
import getpass
import io
import math
import numbers
import os
from dataclasses import dataclass
from datetime import datetime, timezone

from .errors import InputError
from .privacy import check_epsilon

COLUMNS = ("release_id", "released_at", "released_by", "description", "epsilon", "cells")
MAX_DESCRIPTION = 1000
_TOLERANCE = 1e-12  # as the database's guard: the last of a budget may be spent exactly


@dataclass(frozen=True)
class Release:
    """What :func:`record_release` recorded, and the ledger's total after it."""
    release_id: int
    epsilon: float
    cells: int
    spent: float    # epsilon of every release in the ledger, this one included
    budget: float


def record_release(ledger_path, description: str, epsilon, cells: int, *,
                   budget: float = 1.0) -> Release:
    """Record a release of ``cells`` values costing ``epsilon`` in the CSV ledger
    ``ledger_path`` (created with its header when absent); returns its number
    (``release_id``, one more than the largest so far) with the ledger's total.

    Refused (InputError, the file unchanged) when the epsilon of the releases
    already recorded plus ``epsilon`` exceeds ``budget`` (by more than 1e-12), when
    the ledger is not one (another header, a row that does not parse), or on bad
    arguments: ``description`` 1 to 1000 characters, ``epsilon`` as
    :func:`welfare_core.privacy.dp_counts` accepts it, ``cells`` a whole number >= 0,
    ``budget`` a finite number > 0.
    """
    text = description.strip() if isinstance(description, str) else ""
    if not 1 <= len(text) <= MAX_DESCRIPTION:
        raise InputError(f"description is required (1 to {MAX_DESCRIPTION} characters): what "
                         "is released, for whom",
                         hint="it is kept in the release ledger with the epsilon spent")
    eps = check_epsilon(epsilon)
    if isinstance(cells, bool) or not isinstance(cells, numbers.Integral) or cells < 0:
        raise InputError(f"cells = {cells!r} must be a whole number >= 0")
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real) or \
            not 0 < budget < math.inf:
        raise InputError(f"budget = {budget!r} must be a finite number > 0",
                         hint="e.g. 1.0, the database's default dp_epsilon_budget")
    if eps > budget + _TOLERANCE:  # before the file is opened (and perhaps created)
        _refuse(eps, 0.0, budget)
    path = os.fspath(ledger_path)
    try:
        import fcntl
    except ImportError:  # Windows
        raise InputError("the release ledger needs POSIX file locks (Linux, macOS)",
                         hint="make differentially private releases on Linux or macOS, "
                              "or in the database (welfare.dp_zone_demand)") from None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as e:
        raise InputError(f"cannot open the release ledger {path}: {e.strerror}",
                         hint="choose a file in a folder you may write to") from None
    with os.fdopen(fd, "r+b", buffering=0) as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # released when the file is closed
        content = f.read()
        rows = _parse(content, path)
        spent = math.fsum(r[1] for r in rows)
        if spent + eps > budget + _TOLERANCE:
            _refuse(eps, spent, budget)
        release_id = max((r[0] for r in rows), default=0) + 1
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if not content:
            writer.writerow(COLUMNS)
        elif not content.endswith(b"\n"):
            out.write("\n")  # a last row saved without its line end
        writer.writerow([release_id, datetime.now(timezone.utc).isoformat(), _user(), text,
                         repr(eps), int(cells)])
        data = out.getvalue().encode("utf-8")
        try:
            if os.write(f.fileno(), data) != len(data):
                raise OSError(0, "short write")
            os.fsync(f.fileno())
        except OSError as e:
            raise InputError(f"cannot write the release ledger {path}: {e.strerror}",
                             hint="free disk space or choose another ledger; check the "
                                  "file's last line") from None
    return Release(release_id, eps, int(cells), spent + eps, float(budget))


def spent_epsilon(ledger_path) -> float:
    """The epsilon of every release recorded in the ledger (0 when the file is absent)."""
    path = os.fspath(ledger_path)
    if not os.path.exists(path):
        return 0.0
    with open(path, "rb") as f:
        return math.fsum(r[1] for r in _parse(f.read(), path))


def _refuse(eps, spent, budget):
    raise InputError(f"epsilon {eps:g} would exceed the differential privacy budget: "
                     f"{spent:g} of {budget:g} already spent",
                     hint="release with a smaller epsilon, or the data controller raises the "
                          "budget")


def _parse(content: bytes, path: str):
    """(release_id, epsilon) of every row of a ledger's bytes; an InputError when the
    content is not a release ledger."""
    if not content.strip():
        return []
    hint = ("give a release ledger written by Welfare Intelligence (a new file name starts "
            "one); never edit one by hand")
    try:
        lines = list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path} is not a release ledger: {e}", hint=hint) from None
    if tuple(lines[0]) != COLUMNS:
        raise InputError(f"{path} is not a release ledger: its header is "
                         f"{','.join(lines[0])[:200]!r}, not {','.join(COLUMNS)!r}", hint=hint)
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        if not line:
            continue  # a blank line
        try:
            if len(line) != len(COLUMNS):
                raise ValueError(f"{len(line)} fields instead of {len(COLUMNS)}")
            release_id, epsilon = int(line[0]), float(line[4])
            if not 0 <= epsilon < math.inf:
                raise ValueError(f"epsilon {line[4]!r} is not a number >= 0")
        except ValueError as e:
            raise InputError(f"{path} is not a release ledger: line {n} does not parse "
                             f"({e})", hint=hint) from None
        rows.append((release_id, epsilon))
    return rows


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):  # no login name in the environment or passwd
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"
