"""Core validation: every planted problem found once, nothing on clean data."""
import pandas as pd
import pytest

from fixtures import tiny_city as tc
from welfare_core.errors import CrsError, InputError, ValidationFailed
from welfare_core.validation import check_projected_crs, raise_on_problems, validate


def triples(problems: pd.DataFrame):
    return sorted(zip(problems.dataset, problems.row_key, problems.code))


def test_clean_city_has_no_problems():
    assert validate(tc.tables(), crs=tc.CRS).empty


def test_every_planted_problem_is_reported_once():
    assert triples(validate(tc.tables_with_problems(), crs=tc.CRS)) == tc.KNOWN_PROBLEMS


def test_messages_say_what_to_change():
    problems = validate(tc.tables_with_problems(), crs=tc.CRS)
    msg = dict(zip(problems.code, problems.message))
    assert "sum to 0.9" in msg["shares_not_one"]
    assert "015146-X" in msg["unknown_reference"] or "no_such_target" in msg["unknown_reference"]
    assert "50.0%" in msg["not_nested"]


@pytest.mark.parametrize("crs,code", [(4326, "geographic_crs"), (None, "missing_crs"),
                                      ("EPSG:999999", "unknown_crs")])
def test_unusable_crs_reported_per_geometry_dataset(crs, code):
    problems = validate({"zone": tc.tables()["zone"], "facility": tc.tables()["facility"]}, crs=crs)
    assert triples(problems) == [("facility", "*", code), ("zone", "*", code)]


def test_geographic_crs_raises_with_hint():
    with pytest.raises(CrsError, match="geographic"):
        check_projected_crs(4326)
    check_projected_crs(32632)


def test_missing_column_is_reported_not_raised():
    zone = tc.tables()["zone"].drop(columns=["level"])
    problems = validate({"zone": zone}, crs=tc.CRS)
    assert triples(problems) == [("zone", "*", "missing_column")]


def test_references_resolve_against_context():
    t = tc.tables()
    alone = validate({"facility": t["facility"]}, crs=tc.CRS,
                     context={"service_type": t["service_type"], "zone": t["zone"],
                              "source": t["source"]})
    assert alone.empty
    t["facility"].loc[0, "service_type_id"] = "ghost"
    bad = validate({"facility": t["facility"]}, crs=tc.CRS,
                   context={"service_type": t["service_type"], "zone": t["zone"]})
    assert triples(bad) == [("facility", "F1", "unknown_reference")]


def test_wkb_geometry_is_accepted():
    zone = tc.tables()["zone"]
    zone["geometry"] = [g.wkb for g in zone["geometry"]]
    assert validate({"zone": zone}, crs=tc.CRS).empty


def test_unknown_dataset_is_an_error():
    with pytest.raises(InputError, match="unknown dataset"):
        validate({"zones": tc.tables()["zone"]})


def test_raise_on_problems_carries_report():
    problems = validate(tc.tables_with_problems(), crs=tc.CRS)
    with pytest.raises(ValidationFailed) as err:
        raise_on_problems(problems)
    assert len(err.value.problems) == len(tc.KNOWN_PROBLEMS)
    raise_on_problems(problems.iloc[:0])
