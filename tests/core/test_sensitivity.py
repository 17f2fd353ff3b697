"""Sensitivity of rsa accessibility on the tiny city, worked out by hand.

With the 5000 m catchment every zone with 65+ demand reaches both rsa: access 2.0 each
(all tied, rank 1, percentile 0 -> under-served). With 1000 m (see test_scenario.py):
N1 3.0, N2 0.0, N4 1.5 -> ranks N2 1, N4 2, N1 3, percentiles 0, .5, 1.
"""
import math

import numpy as np
import pytest

from fixtures import tiny_city as tc
from welfare_core.errors import InputError
from welfare_core.sensitivity import parameter_draws, sensitivity

N1, N2, N3, N4 = (f"015146-N{k}" for k in range(1, 5))


def test_grid_by_hand():
    summary, draws = sensitivity(tc.tables(), "rsa", 2023, "neighbourhood",
                                 max_costs=[1000, 5000])
    s = summary[summary.target_id == "pop_65plus"].set_index("zone_id")
    assert s.loc[N1, ["min", "median", "max"]].tolist() == pytest.approx([2.0, 2.5, 3.0])
    assert s.loc[N2, ["min", "max"]].tolist() == pytest.approx([0.0, 2.0])
    assert s.loc[N1, "access"] == pytest.approx(2.0)  # the type's own 5000 m
    assert (s.loc[N1, "rank_min"], s.loc[N1, "rank_max"], s.loc[N1, "rank_stable"]) == (1, 3, False)
    assert (s.loc[N2, "rank_min"], s.loc[N2, "rank_max"], s.loc[N2, "rank_stable"]) == (1, 1, True)
    assert s.loc[N2, "underserved_share"] == 1.0 and s.loc[N2, "flag_stable"]
    assert s.loc[N1, "underserved_share"] == 0.5 and not s.loc[N1, "flag_stable"]
    assert math.isnan(s.loc[N3, "min"]) and s.loc[N3, "rank_stable"] is None
    assert len(draws) == 2 * len(summary)


def test_random_sample_is_seeded():
    a = parameter_draws(draws=5, seed=7, max_cost_range=(500, 6000))
    b = parameter_draws(draws=5, seed=7, max_cost_range=(500, 6000))
    assert a.equals(b) and a.max_cost.between(500, 6000).all() and a.decay_param.isna().all()
    s1, _ = sensitivity(tc.tables(), "rsa", 2023, draws=3, seed=1, max_cost_range=(800, 6000))
    s2, _ = sensitivity(tc.tables(), "rsa", 2023, draws=3, seed=1, max_cost_range=(800, 6000))
    assert s1.equals(s2)
    ok = s1["min"].notna()
    assert (s1.loc[ok, "low"] >= s1.loc[ok, "min"] - 1e-12).all()
    assert (s1.loc[ok, "high"] <= s1.loc[ok, "max"] + 1e-12).all()


def test_bad_requests():
    with pytest.raises(InputError, match="needs max_cost_range"):
        parameter_draws(draws=3)
    with pytest.raises(InputError, match="at least 1"):
        parameter_draws(draws=0, max_cost_range=(1, 2))
