"""Disclosure control: the NHS rule, the legal floor, small denominators, dominance."""
import math

import numpy as np
import pandas as pd
import pytest

from welfare_core.errors import InputError
from welfare_core.privacy import Rules, dominated, safe_counts, safe_rates


def test_counts_one_to_seven_suppressed_rest_rounded_to_five():
    got = safe_counts([0, 1, 7, 7.4, 7.5, 8, 12, 12.5, 13, 102, float("nan")])
    # 7.4 rounds to 7 (suppressed); 7.5 rounds to 8 then to 10; 12 -> 10; 12.5 -> 13 -> 15
    want = [0, None, None, None, 10, 10, 10, 15, 15, 100, None]
    for g, w in zip(got, want):
        assert (math.isnan(g) if w is None else g == w), (got, want)


def test_threshold_is_configurable_but_never_below_three():
    assert math.isnan(safe_counts([2], Rules(suppress_below=3))[0])
    assert safe_counts([3], Rules(suppress_below=3, round_to=1))[0] == 3
    with pytest.raises(InputError, match="legal floor of 3"):
        Rules(suppress_below=2)


def test_rules_from_settings_table():
    r = Rules.from_settings({"suppress_below": "10", "round_to": "10", "unrelated": "x"})
    assert (r.suppress_below, r.round_to, r.min_rate_denominator) == (10, 10, 20)


def test_rates_hidden_for_small_denominators():
    got = safe_rates([5.0, 50.0, 7.0], [19, 20, float("nan")])
    assert math.isnan(got[0]) and got[1] == 50.0 and math.isnan(got[2])


def test_dominance_rule_n2_k85():
    assert dominated([50, 40, 10]) is True          # 90 % > 85 %
    assert dominated([40, 40, 10, 10]) is False     # 80 %
    assert dominated([100]) is True                 # a single provider always dominates
    assert dominated([0, 0]) is False


def test_negative_counts_refused():
    with pytest.raises(InputError):
        safe_counts(np.array([-1.0]))


def test_published_indicators_hide_what_reveals_small_counts():
    import pandas as pd
    from welfare_core.privacy import publish_zone_indicators
    rows = pd.DataFrame({
        "target_id": ["disabled", "disabled", "old"],
        "demand": [3.0, 40.0, 120.0], "reference_population": [30.0, 400.0, 1000.0],
        "incidence_per_100": [10.0, 10.0, 12.0], "coverage_per_100": [50.0, 5.0, 2.0],
        "location_quotient": [1.0, 1.0, 1.2], "gap": [1.0, 2.0, 3.0],
        "required": [1.0, 2.0, 3.0], "supply": [1.5, 2.0, 2.4]})
    pub = publish_zone_indicators(rows, sensitive={"disabled"}, level="section")
    assert pub.demand.isna().tolist() == [True, False, False]
    assert pub.demand.tolist()[1:] == [40.0, 120.0]
    assert pub.reference_population.tolist() == [30.0, 400.0, 1000.0]
    # the small count's rate, gap and LQ are gone; coverage over 3 people too
    assert pub.loc[0, ["incidence_per_100", "gap", "location_quotient",
                       "coverage_per_100"]].isna().all()
    # 40 / 400 × 100 from the published counts; required and gap need the published
    # reference populations of the serving types (services=...): hidden without them
    assert pub.loc[1, "incidence_per_100"] == 10.0 and math.isnan(pub.loc[1, "gap"])
    assert pub.loc[1, "coverage_per_100"] == 2.0 / 40.0 * 100
    assert pub.supply.tolist() == [1.5, 2.0, 2.4]           # capacities are public
    assert pub.published.tolist() == [False, False, True]   # sensitive at section level
    assert publish_zone_indicators(rows, sensitive={"disabled"},
                                   level="neighbourhood").published.all()


def test_ranks_and_z_of_hidden_values_are_hidden():
    from fixtures import tiny_city as tc
    from welfare_core.indicators import zone_indicators
    from welfare_core.privacy import publish_zone_indicators
    t = tc.tables()
    small = (t["demand"].zone_id == "015146-N2") & (t["demand"].target_id == "pop_0_2")
    t["demand"].loc[small, "demand"] = 3.0        # suppressed when published
    rows, services = zone_indicators(t, "neighbourhood", 2023)
    pub = publish_zone_indicators(rows, level="neighbourhood").set_index(["zone_id", "target_id"])
    hidden = pub.loc[("015146-N2", "pop_0_2")]
    assert hidden[["incidence_rank", "incidence_pct_rank", "incidence_z", "coverage_rank",
                   "coverage_pct_rank", "coverage_z"]].isna().all()
    # 40 children in N1: published; ranks are of the published incidences only
    # (N2's is hidden): 40/1340 is the highest of 40/1340, 0/1000, 20/1220, so rank 3
    # of 3, percentile rank (3 - 1) / (3 - 1) = 1
    shown = pub.loc[("015146-N1", "pop_0_2")]
    assert shown.incidence_rank == 3 and shown.incidence_pct_rank == 1.0
    assert not pd.isna(shown.incidence_z)
    pub_s = publish_zone_indicators(services, level="neighbourhood").set_index(
        ["zone_id", "service_type_id"])
    assert pub_s.loc[("015146-N2", "nursery")][["gap_rank", "coverage_z"]].isna().all()


def test_published_facilities_keep_true_rows_and_count_the_rest():
    from welfare_core.privacy import published_facilities
    # a, d published (True, and 1 as a GeoPackage stores it); b false, c NULL, e NaN, f 0:
    # four left out, NULL and NaN counted as not published
    f = pd.DataFrame({"facility_id": list("abcdef"), "capacity": [10.0, 20, 30, 40, 50, 60],
                      "published": [True, False, None, 1, float("nan"), 0]}, index=range(5, 11))
    kept, left_out = published_facilities(f)
    assert list(kept["facility_id"]) == ["a", "d"] and left_out == 4
    assert list(kept["capacity"]) == [10.0, 40.0] and list(kept.index) == [0, 1]
    # pandas' nullable booleans: <NA> is not published either
    nullable = f.assign(published=pd.array([True, False, None, True, None, False],
                                           dtype="boolean"))
    kept, left_out = published_facilities(nullable)
    assert list(kept["facility_id"]) == ["a", "d"] and left_out == 4


def test_published_facilities_without_the_column_are_all_published():
    from welfare_core.privacy import published_facilities
    f = pd.DataFrame({"facility_id": ["a", "b"], "capacity": [1.0, 2.0]})
    kept, left_out = published_facilities(f)
    assert list(kept["facility_id"]) == ["a", "b"] and left_out == 0
    kept, left_out = published_facilities(f.iloc[:0].assign(published=[]))
    assert len(kept) == 0 and left_out == 0


@pytest.mark.parametrize("value", ["yes", 2, -1.0])
def test_published_facilities_refuse_what_is_not_a_flag(value):
    from welfare_core.privacy import published_facilities
    f = pd.DataFrame({"facility_id": ["a", "b"], "published": [True, value]})
    with pytest.raises(InputError, match=r"facility b: published = .* is not true or false"):
        published_facilities(f)
