"""welfare_core.demand on a tiny fixture whose answers are worked out by hand."""
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "core"))

from welfare_core.demand import expand_bands, household_demand, person_demand  # noqa: E402
from welfare_core.errors import InputError  # noqa: E402


def _pop(rows):
    return pd.DataFrame(rows, columns=["zone_id", "period", "sex", "age", "persons"])


@pytest.fixture
def population():
    # Zone A 2023: F age 1 -> 10, M age 1 -> 6, F age 70 -> 4, M age 90 -> 3
    # Zone B 2023: F age 0 -> 5, M age 100 -> 2
    # Zone A 2022: F age 70 -> 8
    return _pop([
        ("A", 2023, "F", 1, 10), ("A", 2023, "M", 1, 6), ("A", 2023, "F", 70, 4),
        ("A", 2023, "M", 90, 3), ("B", 2023, "F", 0, 5), ("B", 2023, "M", 100, 2),
        ("A", 2022, "F", 70, 8),
    ])


@pytest.fixture
def prevalence():
    return pd.DataFrame([
        ("kids", "F", 0, 2, 1.0), ("kids", "M", 0, 2, 1.0),
        ("frail", "F", 65, 79, 0.25), ("frail", "F", 80, 100, 0.5),
        ("frail", "M", 65, 100, 0.5),
    ], columns=["target_id", "sex", "age_from", "age_to", "prevalence"])


def test_person_demand_by_hand(population, prevalence):
    got = person_demand(population, prevalence).set_index(["zone_id", "target_id", "period"])
    d = got["demand"]
    # kids A 2023 = 10 + 6 = 16; kids B 2023 = 5; kids A 2022 = 0 (nobody aged 0-2)
    assert d[("A", "kids", 2023)] == pytest.approx(16.0)
    assert d[("B", "kids", 2023)] == pytest.approx(5.0)
    assert d[("A", "kids", 2022)] == pytest.approx(0.0)
    # frail A 2023 = 4 x 0.25 (F 70) + 3 x 0.5 (M 90) = 1.0 + 1.5 = 2.5
    assert d[("A", "frail", 2023)] == pytest.approx(2.5)
    # frail B 2023 = 2 x 0.5 (M 100+, inside the band 65..100) = 1.0
    assert d[("B", "frail", 2023)] == pytest.approx(1.0)
    # frail A 2022 = 8 x 0.25 = 2.0
    assert d[("A", "frail", 2022)] == pytest.approx(2.0)
    # every (zone, period) with population gets every target: 3 x 2 rows, no more
    assert len(got) == 6
    assert list(got.reset_index().columns) == ["zone_id", "target_id", "period", "demand"]


def test_household_demand_by_hand():
    hh = pd.DataFrame([
        ("A", 2023, "single_parent", 4), ("A", 2023, "large", 2), ("A", 2023, "couple", 10),
        ("B", 2023, "couple", 7),
    ], columns=["zone_id", "period", "household_type_id", "households"])
    th = pd.DataFrame([
        ("with_minors", "single_parent", 1.0), ("with_minors", "large", 0.5),
        ("hardship", "single_parent", 0.25),
    ], columns=["target_id", "household_type_id", "share"])
    d = household_demand(hh, th).set_index(["zone_id", "target_id", "period"])["demand"]
    assert d[("A", "with_minors", 2023)] == pytest.approx(4 * 1.0 + 2 * 0.5)  # 5
    assert d[("A", "hardship", 2023)] == pytest.approx(4 * 0.25)  # 1
    assert d[("B", "with_minors", 2023)] == pytest.approx(0.0)  # couples only
    assert d[("B", "hardship", 2023)] == pytest.approx(0.0)
    assert len(d) == 4


def test_expand_bands_single_ages():
    prev = pd.DataFrame([("t", "F", 3, 5, 0.1), ("t", "M", 100, 100, 0.2)],
                        columns=["target_id", "sex", "age_from", "age_to", "prevalence"])
    out = expand_bands(prev)
    assert list(zip(out.sex, out.age)) == [("F", 3), ("F", 4), ("F", 5), ("M", 100)]


def test_overlapping_bands_are_refused():
    prev = pd.DataFrame([("t", "F", 0, 10, 0.1), ("t", "F", 10, 20, 0.2)],
                        columns=["target_id", "sex", "age_from", "age_to", "prevalence"])
    with pytest.raises(InputError, match="overlap"):
        expand_bands(prev)


def test_missing_column_is_named(prevalence):
    with pytest.raises(InputError, match="persons"):
        person_demand(_pop([]).drop(columns="persons"), prevalence)
