"""The file ledger of differentially private releases (welfare_core.dp_ledger): budget
arithmetic worked out by hand, refusals that leave the file as it was, a corrupt or
foreign file, bad arguments, and two processes racing for the last of the budget."""
import csv
import getpass
import multiprocessing
import os
from datetime import datetime, timedelta, timezone

import pytest

from welfare_core.dp_ledger import COLUMNS, record_release, spent_epsilon
from welfare_core.errors import InputError

HEADER = ",".join(COLUMNS) + "\n"


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_first_release_creates_the_ledger_with_its_header(tmp_path):
    path = tmp_path / "dp_releases.csv"
    before = datetime.now(timezone.utc)
    rel = record_release(path, "elderly per neighbourhood, 2024 report", 0.5, 120)
    assert (rel.release_id, rel.epsilon, rel.cells, rel.spent, rel.budget) == \
        (1, 0.5, 120, 0.5, 1.0)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(HEADER) and text.count("\n") == 2
    [row] = rows(path)
    assert row["release_id"] == "1"
    assert row["description"] == "elderly per neighbourhood, 2024 report"
    assert float(row["epsilon"]) == 0.5 and row["cells"] == "120"
    assert row["released_by"] == getpass.getuser()
    at = datetime.fromisoformat(row["released_at"])
    assert at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= at <= datetime.now(timezone.utc) + timedelta(seconds=1)


def test_budget_arithmetic_by_hand(tmp_path):
    """Budget 1: 0.3 + 0.3 + 0.3 = 0.9 spent; 0.2 would make 1.1 (refused); 0.1 makes
    exactly 1.0 (0.3 + 0.3 + 0.3 + 0.1 = 1.0000000000000002 in floating point, within
    the 1e-12 tolerance, as in the database); then even 1e-6 is refused."""
    path = tmp_path / "l.csv"
    assert [record_release(path, f"r{i}", 0.3, 4).release_id for i in range(3)] == [1, 2, 3]
    with pytest.raises(InputError) as err:
        record_release(path, "too much", 0.2, 4)
    assert "epsilon 0.2 would exceed the differential privacy budget: 0.9 of 1 already spent" \
        in err.value.message
    assert "smaller epsilon" in err.value.hint
    rel = record_release(path, "the rest", 0.1, 4)
    assert rel.release_id == 4 and rel.spent == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(InputError, match="1 of 1 already spent"):
        record_release(path, "nothing left", 1e-6, 4)
    assert spent_epsilon(path) == pytest.approx(1.0, abs=1e-12)
    assert [r["description"] for r in rows(path)] == ["r0", "r1", "r2", "the rest"]


def test_budget_is_per_call_and_a_larger_one_allows_more(tmp_path):
    path = tmp_path / "l.csv"
    record_release(path, "a", 0.8, 1)
    with pytest.raises(InputError, match="0.8 of 1 already"):
        record_release(path, "b", 0.5, 1)
    assert record_release(path, "b", 0.5, 1, budget=2.0).spent == pytest.approx(1.3)


def test_a_refusal_leaves_the_file_unchanged(tmp_path):
    path = tmp_path / "l.csv"
    record_release(path, "first", 0.6, 10)
    before = path.read_bytes()
    stat = os.stat(path)
    for args in (("second", 0.6, 10), ("", 0.1, 10), ("x", 0, 10), ("x", 0.1, -1)):
        with pytest.raises(InputError):
            record_release(path, *args)
    assert path.read_bytes() == before and os.stat(path).st_mtime_ns == stat.st_mtime_ns


def test_a_release_over_the_whole_budget_creates_no_file(tmp_path):
    path = tmp_path / "new.csv"
    with pytest.raises(InputError, match="0 of 1 already spent"):
        record_release(path, "x", 1.5, 3)
    assert not path.exists()


def test_numbers_follow_the_largest_id_and_a_missing_line_end_is_mended(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text(HEADER + "7,2026-01-01T00:00:00+00:00,ann,old,0.25,3", encoding="utf-8")
    rel = record_release(path, 'with "quotes", commas\nand a new line', 0.25, 5)
    assert rel.release_id == 8 and rel.spent == 0.5
    got = rows(path)
    assert [r["release_id"] for r in got] == ["7", "8"]
    assert got[1]["description"] == 'with "quotes", commas\nand a new line'


def test_an_empty_file_is_a_new_ledger(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(b"")
    assert record_release(path, "x", 0.1, 1).release_id == 1
    assert path.read_text(encoding="utf-8").startswith(HEADER)


@pytest.mark.parametrize("content,fragment", [
    ("zone_id,demand\nA,3\n", "its header is 'zone_id,demand'"),
    (HEADER + "1,2026-01-01T00:00:00+00:00,ann,x,half,3\n", "line 2 does not parse"),
    (HEADER + "1,2026-01-01T00:00:00+00:00,ann,x,nan,3\n", "line 2 does not parse"),
    (HEADER + "1,2026-01-01T00:00:00+00:00,ann,x,-0.5,3\n", "not a number >= 0"),
    (HEADER + "one,2026-01-01T00:00:00+00:00,ann,x,0.1,3\n", "line 2 does not parse"),
    (HEADER + "1,2026-01-01T00:00:00+00:00,ann,x,0.1\n", "5 fields instead of 6"),
])
def test_a_corrupt_or_foreign_file_is_a_clear_error_and_stays_as_it_was(tmp_path, content,
                                                                          fragment):
    path = tmp_path / "l.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        record_release(path, "x", 0.1, 1)
    assert "is not a release ledger" in err.value.message and fragment in err.value.message
    assert "new file name" in err.value.hint
    assert path.read_text(encoding="utf-8") == content
    with pytest.raises(InputError, match="not a release ledger"):
        spent_epsilon(path)


def test_a_binary_file_is_not_a_ledger(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(b"\xff\xfe\x00PK\x03\x04")
    with pytest.raises(InputError, match="not a release ledger"):
        record_release(path, "x", 0.1, 1)


def test_an_unwritable_place_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="cannot open the release ledger"):
        record_release(tmp_path / "no_such_dir" / "l.csv", "x", 0.1, 1)
    with pytest.raises(InputError, match="cannot open the release ledger"):
        record_release(tmp_path, "x", 0.1, 1)  # a directory


@pytest.mark.parametrize("kwargs,fragment", [
    ({"description": ""}, "description is required"),
    ({"description": "   "}, "description is required"),
    ({"description": None}, "description is required"),
    ({"description": "x" * 1001}, "1 to 1000"),
    ({"epsilon": 0}, "epsilon"), ({"epsilon": -0.1}, "epsilon"),
    ({"epsilon": float("nan")}, "epsilon"), ({"epsilon": float("inf")}, "epsilon"),
    ({"epsilon": 101}, "epsilon"), ({"epsilon": "0.1"}, "epsilon"), ({"epsilon": True}, "epsilon"),
    ({"cells": -1}, "cells"), ({"cells": 1.5}, "cells"), ({"cells": True}, "cells"),
    ({"budget": 0}, "budget"), ({"budget": float("inf")}, "budget"),
    ({"budget": float("nan")}, "budget"), ({"budget": "1"}, "budget"),
])
def test_bad_arguments_are_refused_before_the_file_is_touched(tmp_path, kwargs, fragment):
    path = tmp_path / "l.csv"
    args = dict(description="x", epsilon=0.1, cells=1)
    args.update({k: v for k, v in kwargs.items() if k != "budget"})
    with pytest.raises(InputError, match=fragment):
        record_release(path, args["description"], args["epsilon"], args["cells"],
                       **{k: v for k, v in kwargs.items() if k == "budget"})
    assert not path.exists()


def test_the_epsilon_check_is_the_one_of_dp_counts():
    """One rule for what epsilon may be: the ledger's message is dp_counts' own."""
    pytest.importorskip("opendp")
    from welfare_core.privacy import dp_counts
    for bad in (0, 101, "0.1"):
        with pytest.raises(InputError) as a:
            dp_counts([1], bad)
        with pytest.raises(InputError) as b:
            record_release("/nonexistent/never/opened.csv", "x", bad, 1)
        assert a.value.message == b.value.message


# --- two processes, one budget -------------------------------------------------------

def _take(path, epsilon, start, results):
    start.wait()
    try:
        results.put(("ok", record_release(path, f"pid {os.getpid()}", epsilon, 1).release_id))
    except InputError as e:
        results.put(("refused", e.message))


@pytest.mark.parametrize("round_", range(5))
def test_two_processes_cannot_both_take_the_last_of_the_budget(tmp_path, round_):
    """Each of two processes, started together, asks for 0.6 of a budget of 1.0:
    exactly one is recorded, the other refused with 0.6 already spent."""
    ctx = multiprocessing.get_context("fork")
    path = str(tmp_path / "l.csv")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_take, args=(path, 0.6, start, results)) for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    outcomes = sorted(results.get(timeout=30) for _ in procs)
    for p in procs:
        p.join(30)
    assert [o[0] for o in outcomes] == ["ok", "refused"], outcomes
    assert outcomes[0][1] == 1
    assert "0.6 of 1 already spent" in outcomes[1][1]
    got = rows(path)
    assert len(got) == 1 and float(got[0]["epsilon"]) == 0.6
    assert open(path, encoding="utf-8").read().count(",".join(COLUMNS)) == 1  # one header


def test_many_processes_share_a_budget_exactly(tmp_path):
    """Eight processes each ask for 0.25 of 1.0: four are recorded (ids 1..4), four refused."""
    ctx = multiprocessing.get_context("fork")
    path = str(tmp_path / "l.csv")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_take, args=(path, 0.25, start, results)) for _ in range(8)]
    for p in procs:
        p.start()
    start.set()
    outcomes = [results.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(30)
    assert sorted(o[1] for o in outcomes if o[0] == "ok") == [1, 2, 3, 4]
    assert sum(o[0] == "refused" for o in outcomes) == 4
    assert spent_epsilon(path) == 1.0
