"""Benchmarking zones against the city, their district and their peers; zone profiles.

``compare_zones`` takes long rows (zone_id, indicator, value, optional weight
and polarity) and, for each zone and indicator, compares the zone with three
groups of zones: the whole city (all zones given), its district (``district_id``)
and its peer group (``peer_group``: zones of similar size or profile).

    reference   Σ w v / Σ w over the group's zones (the group's own rate when the
                weight is the indicator's denominator; the plain mean without weights)
    difference  v − reference;   ratio  v / reference (NULL when reference = 0)
    z           (v − mean) / sd over the group's zones (population SD), as the
                indicators' z-scores
    pct_rank    (r − 1)/(N − 1) within the group, ascending, ties at the minimum
    stands_out  |z| ≥ threshold (default 2); worse: the deviation is in the bad
                direction of the indicator's polarity

Peer groups: ``size_peer_groups`` (quantile classes of population) or
``zone_profiles`` (seeded k-means on standardised indicators, each cluster
described by its mean z-scores and the indicators that set it apart).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError
from .indicators import rank_min

BENCHMARK_COLUMNS = ("zone_id", "indicator", "polarity", "value", "comparator", "group_id",
                     "group_zones", "reference", "difference", "ratio", "z", "pct_rank",
                     "stands_out", "worse")
COMPARATORS = ("city", "district", "peer")
PROFILE_COLUMNS = ("profile", "zones", "indicator", "mean", "z_mean", "description")


def compare_zones(values: pd.DataFrame, groups: pd.DataFrame | None = None, *,
                  threshold_z: float = 2.0) -> pd.DataFrame:
    """Benchmark table (BENCHMARK_COLUMNS), one row per zone × indicator × comparator.

    values: zone_id, indicator, value [, weight] [, polarity].
    groups: zone_id [, district_id] [, peer_group]; comparators without a
    column (or with a NULL group) are left out for that zone.
    """
    need = {"zone_id", "indicator", "value"}
    if not need <= set(values):
        raise InputError(f"benchmark values need columns {sorted(need)}",
                         hint=f"got {list(values.columns)}")
    if not threshold_z > 0:
        raise InputError(f"threshold_z {threshold_z} must be positive")
    v = values.copy()
    if v.duplicated(["zone_id", "indicator"]).any():
        raise InputError("a zone has two values for the same indicator")
    v["value"] = pd.to_numeric(v["value"], errors="coerce").astype(float)
    v["weight"] = (pd.to_numeric(v["weight"], errors="coerce").astype(float)
                   if "weight" in v else 1.0)
    if "polarity" not in v:
        v["polarity"] = "high_is_bad"
    g = groups if groups is not None else pd.DataFrame({"zone_id": v["zone_id"].unique()})
    g = g.drop_duplicates("zone_id").set_index("zone_id")
    parts = []
    for comparator in COMPARATORS:
        column = {"city": None, "district": "district_id", "peer": "peer_group"}[comparator]
        if column is not None and column not in g:
            continue
        part = v.copy()
        part["comparator"] = comparator
        part["group_id"] = ("city" if column is None
                            else part["zone_id"].map(g[column]).astype(object))
        part = part[part["group_id"].notna()]
        parts.append(_against(part, threshold_z))
    out = pd.concat(parts, ignore_index=True)
    out["comparator"] = pd.Categorical(out["comparator"], COMPARATORS)
    out = out.sort_values(["indicator", "zone_id", "comparator"]).reset_index(drop=True)
    out["comparator"] = out["comparator"].astype(str)
    return out[list(BENCHMARK_COLUMNS)]


def _against(part: pd.DataFrame, threshold_z: float) -> pd.DataFrame:
    key = part["indicator"].astype(str) + "\x1f" + part["group_id"].astype(str)
    has = part["value"].notna() & part["weight"].notna()
    wv = (part["value"] * part["weight"]).where(has)
    ww = part["weight"].where(has)
    sw = ww.groupby(key).transform("sum")
    part["reference"] = wv.groupby(key).transform("sum") / sw.where(sw > 0)
    part["difference"] = part["value"] - part["reference"]
    part["ratio"] = part["value"] / part["reference"].where(part["reference"] != 0)
    r = rank_min(part["value"], key)
    part["z"] = r["z"]
    part["pct_rank"] = r["pct_rank"]
    part["group_zones"] = part["value"].groupby(key).transform("count").astype(int)
    part["stands_out"] = (part["z"].abs() >= threshold_z).where(part["z"].notna(), False) \
        .astype(bool)
    bad = np.where(part["polarity"] == "high_is_good", -1.0, 1.0)
    part["worse"] = (part["z"] * bad > 0).where(part["z"].notna(), False).astype(bool)
    return part


def size_peer_groups(zone_ids, population, groups: int = 5) -> pd.DataFrame:
    """Peer groups by size: ``groups`` quantile classes of population (1 = smallest)."""
    pop = pd.Series(np.asarray(population, dtype=float))
    if groups < 1:
        raise InputError(f"groups {groups} must be 1 or more")
    pct = rank_min(pop, pd.Series(0, index=pop.index))["pct_rank"].fillna(0.0)
    cls = np.minimum((pct * groups).astype(int), groups - 1) + 1
    return pd.DataFrame({"zone_id": list(zone_ids),
                         "peer_group": [f"size {c}/{groups}" for c in cls]})


def zone_profiles(values: pd.DataFrame, columns, *, k: int = 4, seed: int = 0,
                  iterations: int = 50):
    """Seeded k-means (scipy kmeans2, k-means++) on z-scored ``columns``.

    Zones missing a value get no profile. Profiles are numbered 1..k by
    decreasing size (ties by their first centroid), so the numbering does not
    depend on the random start. Returns (zone_id → profile frame, description
    frame with PROFILE_COLUMNS).
    """
    from scipy.cluster.vq import kmeans2
    columns = list(columns)
    absent = [c for c in columns if c not in values]
    if absent:
        raise InputError(f"profile column(s) {absent} are not in the table")
    x = values[columns].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    ok = np.isfinite(x).all(axis=1)
    if ok.sum() <= k:
        raise InputError(f"{int(ok.sum())} zones with every value cannot form {k} profiles",
                         hint="choose fewer profiles")
    mu, sd = x[ok].mean(axis=0), x[ok].std(axis=0)
    sd[sd == 0] = 1.0
    z = (x[ok] - mu) / sd
    centroids, labels = kmeans2(z, k, iter=iterations, minit="++", seed=seed)
    sizes = np.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda c: (-sizes[c], tuple(centroids[c])))
    renumber = np.empty(k, dtype=int)
    renumber[order] = np.arange(1, k + 1)
    profile = np.full(len(values), np.nan)
    profile[ok] = renumber[labels]
    zones = pd.DataFrame({"zone_id": values["zone_id"].to_numpy(),
                          "profile": pd.array(profile, dtype="Int64")})
    rows = []
    for c in range(1, k + 1):
        members = profile == c
        zm = ((x[members] - mu) / sd).mean(axis=0) if members.any() else np.full(len(columns),
                                                                                  np.nan)
        text = _describe(columns, zm)
        for j, col in enumerate(columns):
            rows.append((c, int(members.sum()), col,
                         float(x[members, j].mean()) if members.any() else np.nan,
                         float(zm[j]), text))
    return zones, pd.DataFrame(rows, columns=list(PROFILE_COLUMNS))


def _describe(columns, zm, cut: float = 0.5) -> str:
    """'high X, Y; low Z' from the mean z-scores beyond ±cut, strongest first."""
    order = np.argsort(-np.abs(zm))
    high = [columns[j] for j in order if zm[j] >= cut]
    low = [columns[j] for j in order if zm[j] <= -cut]
    parts = ([f"high {', '.join(high)}"] if high else []) + \
        ([f"low {', '.join(low)}"] if low else [])
    return "; ".join(parts) or "close to the city average"


# --- inputs from zone-indicator rows ----------------------------------------------

# The denominator of each rate: weighting by it makes a group's reference its own rate.
WEIGHT_OF = {"incidence_per_100": "reference_population",
             "location_quotient": "reference_population", "coverage_per_100": "demand"}
COUNT_COLUMNS = ("demand", "gap", "required")  # hidden with the demand they derive from


def indicator_rows(rows: pd.DataFrame, targets=None, column: str = "incidence_per_100", *,
                   smooth: bool = False) -> pd.DataFrame:
    """Long (zone_id, indicator, value, weight, polarity, demand, denominator) rows.

    rows: zone-indicator target rows (indicators.TARGET_COLUMNS, plus an
    optional ``published``). indicator = "target_id:column". The weight is the
    rate's denominator (1 for counts); polarity as in
    composite.components_from_indicators; ``smooth`` uses empirical-Bayes
    incidences.
    """
    from .composite import GOOD_WHEN_HIGH, POLARITIES, VALUE_COLUMNS, eb_rates
    if column not in VALUE_COLUMNS:
        raise InputError(f"{column!r} is not an indicator column",
                         hint=f"use one of {', '.join(VALUE_COLUMNS)}")
    have = sorted(rows["target_id"].unique())
    targets = have if not targets else list(targets)
    unknown = sorted(set(targets) - set(have))
    if unknown:
        from .errors import UnknownIdError
        raise UnknownIdError(f"target(s) {unknown} are not in the indicator rows",
                             hint=f"targets available: {have}")
    sub = rows[rows["target_id"].isin(targets)].copy()
    if smooth and column == "incidence_per_100":
        sub["incidence_per_100"] = 100.0 * eb_rates(sub["demand"], sub["reference_population"],
                                                     groups=sub["target_id"])
    pol = sub["polarity"].where(sub["polarity"].isin(POLARITIES), "high_is_bad")
    if column in GOOD_WHEN_HIGH:
        pol = pol.map({"high_is_bad": "high_is_good", "high_is_good": "high_is_bad"})
    weight = sub[WEIGHT_OF[column]].astype(float) if column in WEIGHT_OF else 1.0
    out = pd.DataFrame({"zone_id": sub["zone_id"].values,
                        "indicator": (sub["target_id"] + ":" + column).values,
                        "value": sub[column].astype(float).values,
                        "weight": np.asarray(weight, dtype=float) * np.ones(len(sub)),
                        "polarity": pol.values, "demand": sub["demand"].astype(float).values,
                        "denominator": (sub[WEIGHT_OF[column]].astype(float).values
                                        if column in WEIGHT_OF else np.nan),
                        "target_published": (sub["published"].astype(bool).values
                                             if "published" in sub else True)})
    out.attrs["column"] = column
    return out.reset_index(drop=True)


def publishable(values: pd.DataFrame, rules=None) -> np.ndarray:
    """Which rows of ``indicator_rows`` may leave: welfare_core.privacy applied.

    Rates need a denominator of at least ``min_rate_denominator``; counts
    derived from demand are hidden when the demand count is suppressed;
    rows of targets not published at this level never leave.
    """
    from .privacy import DEFAULT, safe_counts, safe_rates
    rules = rules or DEFAULT
    column = values.attrs.get("column", "")
    ok = values["target_published"].to_numpy(bool).copy()
    if column in WEIGHT_OF:
        ok &= ~np.isnan(safe_rates(np.ones(len(values)), values["denominator"], rules))
    elif column in COUNT_COLUMNS:
        ok &= ~np.isnan(safe_counts(values["demand"].to_numpy(float), rules))
    return ok


# --- drivers over zone-indicator rows (shared by the SQL and QGIS doors) ------------

def benchmark_indicators(rows: pd.DataFrame, district_of=None, *, targets=None,
                         column: str = "incidence_per_100", peers: str = "size",
                         peer_groups: int = 5, threshold_z: float = 2.0, seed: int = 0,
                         rules=None) -> pd.DataFrame:
    """compare_zones over zone-indicator rows, with a ``published`` column.

    district_of: mapping zone_id -> district id (None for no district
    comparator). peers: "size" (population quantile classes of the residents
    of person targets), "profile" (k-means on the targets' values) or "none".
    """
    values = indicator_rows(rows, targets, column)
    ids = sorted(values["zone_id"].unique())
    groups = pd.DataFrame({"zone_id": ids})
    if district_of is not None:
        groups["district_id"] = pd.Series(ids).map(dict(district_of)).to_numpy(object)
    if peers == "size":
        people = rows[rows["unit"] == "persons"].groupby("zone_id")["reference_population"].max()
        groups = groups.merge(size_peer_groups(ids, pd.Series(ids).map(people).fillna(0.0),
                                               peer_groups), on="zone_id")
    elif peers == "profile":
        wide = values.pivot(index="zone_id", columns="indicator", values="value").reset_index()
        prof, _ = zone_profiles(wide, [c for c in wide if c != "zone_id"], k=peer_groups,
                                seed=seed)
        groups["peer_group"] = groups["zone_id"].map(prof.set_index("zone_id")["profile"].map(
            lambda p: None if pd.isna(p) else f"profile {p}"))
    elif peers != "none":
        raise InputError(f"unknown peers {peers!r}", hint="use 'size', 'profile' or 'none'")
    bench = compare_zones(values, groups, threshold_z=threshold_z)
    ok = pd.Series(publishable(values, rules),
                   index=values["zone_id"] + "\x1f" + values["indicator"])
    bench["published"] = (bench["zone_id"] + "\x1f" + bench["indicator"]).map(ok) \
        .to_numpy(bool)
    return bench


def equity_of_indicators(rows: pd.DataFrame, district_of=None, *, targets=None,
                         column: str = "coverage_per_100", vulnerability=None,
                         ranked_by: str | None = None) -> pd.DataFrame:
    """equity.equity_measures per indicator of zone-indicator rows (people-weighted).

    vulnerability: mapping zone_id -> composite score (ranks the Palma ratio
    and the concentration index); district_of: zone_id -> district (Theil split).
    """
    values = indicator_rows(rows, targets, column)
    return _equity_per_indicator(values, district_of, vulnerability, ranked_by)


ACCESS_COLUMNS = ("access", "share_within", "nearest_cost")


def equity_of_access(rows: pd.DataFrame, district_of=None, *, targets=None,
                     column: str = "access", vulnerability=None,
                     ranked_by: str | None = None) -> pd.DataFrame:
    """equity.equity_measures per target of zone accessibility rows (demand-weighted).

    rows: zone × target rows of :func:`welfare_core.zone_access.zone_accessibility`
    (zone_id, target_id, demand and ``column``, one of :data:`ACCESS_COLUMNS`).
    Each zone counts with its demand (the people the value applies to);
    zones without demand or without a value are left out. indicator =
    "target_id:column"; other arguments as :func:`equity_of_indicators`.
    """
    if column not in ACCESS_COLUMNS:
        raise InputError(f"{column!r} is not an accessibility column",
                         hint=f"use one of {', '.join(ACCESS_COLUMNS)}")
    have = sorted(rows["target_id"].astype(str).unique())
    targets = have if not targets else list(targets)
    unknown = sorted(set(targets) - set(have))
    if unknown:
        from .errors import UnknownIdError
        raise UnknownIdError(f"target(s) {unknown} are not in the accessibility rows",
                             hint=f"targets available: {have}")
    sub = rows[rows["target_id"].isin(targets)]
    values = pd.DataFrame({"zone_id": sub["zone_id"].values,
                           "indicator": (sub["target_id"].astype(str) + ":" + column).values,
                           "value": sub[column].astype(float).values,
                           "weight": sub["demand"].astype(float).values})
    return _equity_per_indicator(values, district_of, vulnerability, ranked_by)


def _equity_per_indicator(values, district_of, vulnerability, ranked_by) -> pd.DataFrame:
    """equity.equity_measures of each indicator of long (zone_id, indicator, value, weight) rows.

    Published rows are the normal input: a zone whose weight (its people) is
    suppressed (NULL), or whose value is hidden while it has people, is left out,
    and the result is then computed on the published zones only. How many zones
    were left out, per indicator, is in ``attrs["left_out"]`` (the doors report
    it); a zone without people (weight 0) does not count in any measure anyway.
    """
    from .equity import equity_measures
    if values.empty:
        raise InputError("there are no zone values to measure",
                         hint="check the run and the targets asked for")
    w = values["weight"].astype(float)
    hidden = w.isna() | (values["value"].astype(float).isna() & (w > 0))
    left_out = values.loc[hidden].groupby("indicator").size().to_dict()
    values = values.loc[~hidden]
    if values.empty:
        raise InputError("every zone's value or weight is suppressed: there is nothing "
                         "published to measure", hint="use a coarser level or raw values")
    district = values["zone_id"].map(dict(district_of)) if district_of is not None else None
    vul = (values["zone_id"].map(dict(vulnerability)).astype(float)
           if vulnerability is not None else None)
    parts = []
    for indicator, idx in values.groupby("indicator").groups.items():
        sub = values.loc[idx]
        g = None if district is None or district.loc[idx].isna().all() else \
            district.loc[idx].fillna("(none)").to_numpy(object)
        out = equity_measures(sub["value"].to_numpy(), sub["weight"].to_numpy(), groups=g,
                              vulnerability=None if vul is None else vul.loc[idx].to_numpy())
        parts.append(out.assign(indicator=indicator, ranked_by=ranked_by))
    out = pd.concat(parts, ignore_index=True)
    out.attrs["left_out"] = {str(k): int(v) for k, v in left_out.items() if v}
    return out
