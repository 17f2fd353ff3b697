"""Benchmarking zones (city, district, peers) and zone profiles, worked by hand.

Fixture: zones 1..4, one indicator, values 10 20 30 40, weights 1 1 1 2,
districts D1 D1 D2 D2.
  city reference   (10 + 20 + 30 + 2·40) / 5 = 28; zone 4: difference 12, ratio 40/28
  city z           mean 25, SD √((15² + 5² + 5² + 15²)/4) = √125; zone 4: 15/√125
  district D2      reference (30 + 80)/3 = 110/3; z of zone 4 = (40 - 35)/5 = 1
"""
import math

import numpy as np
import pandas as pd
import pytest

from welfare_core import benchmark as bm
from welfare_core.errors import InputError


def fixture(polarity="high_is_bad"):
    values = pd.DataFrame({"zone_id": ["z1", "z2", "z3", "z4"], "indicator": "need",
                           "value": [10, 20, 30, 40.0], "weight": [1, 1, 1, 2.0],
                           "polarity": polarity})
    groups = pd.DataFrame({"zone_id": ["z1", "z2", "z3", "z4"],
                           "district_id": ["D1", "D1", "D2", "D2"],
                           "peer_group": ["small", "big", "small", "big"]})
    return values, groups


def test_city_district_and_peer_comparisons_by_hand():
    values, groups = fixture()
    out = bm.compare_zones(values, groups, threshold_z=1.3)
    z4 = out[out["zone_id"] == "z4"].set_index("comparator")
    assert list(z4.index) == ["city", "district", "peer"]
    assert z4.loc["city", "reference"] == pytest.approx(28.0)
    assert z4.loc["city", "difference"] == pytest.approx(12.0)
    assert z4.loc["city", "ratio"] == pytest.approx(40 / 28)
    assert z4.loc["city", "z"] == pytest.approx(15 / math.sqrt(125))
    assert z4.loc["city", "pct_rank"] == pytest.approx(1.0)
    assert z4.loc["district", "reference"] == pytest.approx(110 / 3)
    assert z4.loc["district", "group_id"] == "D2" and z4.loc["district", "group_zones"] == 2
    assert z4.loc["district", "z"] == pytest.approx(1.0)
    assert z4.loc["peer", "group_id"] == "big"
    city = out[out["comparator"] == "city"].set_index("zone_id")
    assert city["stands_out"].tolist() == [True, False, False, True]  # |z| = 1.34 >= 1.3
    assert city["worse"].tolist() == [False, False, True, True]


def test_polarity_decides_what_is_worse():
    values, groups = fixture("high_is_good")
    city = bm.compare_zones(values, groups).query("comparator == 'city'").set_index("zone_id")
    assert city["worse"].tolist() == [True, True, False, False]


def test_city_only_without_groups_and_errors():
    values, _ = fixture()
    out = bm.compare_zones(values.drop(columns=["weight"]))
    assert set(out["comparator"]) == {"city"}
    assert out["reference"].iloc[0] == pytest.approx(25.0)  # plain mean without weights
    with pytest.raises(InputError, match="columns"):
        bm.compare_zones(values.drop(columns=["value"]))


def test_size_peer_groups_are_quantile_classes():
    out = bm.size_peer_groups(list("abcdef"), [10, 20, 30, 40, 50, 60], groups=3)
    assert out["peer_group"].tolist() == ["size 1/3", "size 1/3", "size 2/3", "size 2/3",
                                          "size 3/3", "size 3/3"]


def test_profiles_recover_separated_groups_seeded():
    rng = np.random.default_rng(0)
    a = rng.normal([0, 0], 0.1, (30, 2))
    b = rng.normal([5, -5], 0.1, (10, 2))
    values = pd.DataFrame(np.vstack([a, b]), columns=["old", "young"])
    values.insert(0, "zone_id", [f"z{i}" for i in range(40)])
    zones, desc = bm.zone_profiles(values, ["old", "young"], k=2, seed=4)
    # numbered by size: the 30 zones are profile 1
    assert zones["profile"].tolist() == [1] * 30 + [2] * 10
    again, _ = bm.zone_profiles(values, ["old", "young"], k=2, seed=4)
    assert again["profile"].tolist() == zones["profile"].tolist()
    two = desc[desc["profile"] == 2].iloc[0]
    assert two["zones"] == 10 and two["description"] == "high old; low young"
    with pytest.raises(InputError, match="profiles"):
        bm.zone_profiles(values.head(3), ["old"], k=3)
