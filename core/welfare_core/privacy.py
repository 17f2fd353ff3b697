"""Disclosure control: what may leave the platform.

Defaults follow ../shared/DOMAIN.md: counts 1-7 are suppressed and every other
count is rounded to the nearest 5 (NHS Digital rule: with rounding, no
secondary suppression is needed); the threshold is configurable but never
below Italy's statistical-ethics floor of 3. Rates are hidden when their
denominator is small. Magnitudes per provider follow the dominance rule.
Suppressed values are NaN (NULL) with a reason, never a silent zero.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import InputError

LEGAL_FLOOR = 3  # smallest threshold Italian statistical ethics allow


@dataclass(frozen=True)
class Rules:
    suppress_below: int = 8        # counts 1 .. suppress_below-1 are suppressed
    round_to: int = 5              # published counts rounded to this base
    min_rate_denominator: int = 20  # rates over fewer units are hidden
    dominance_n: int = 2           # the n largest contributors ...
    dominance_k: float = 0.85      # ... may not exceed this share of a total
    sensitive_suppress_below: int | None = None  # stricter threshold for sensitive targets
    sensitive_round_to: int | None = None        # coarser rounding for sensitive targets
    composite_min_population: int = 100  # composites only for zones with this many residents
    audit_min_width: float = 5.0   # differencing audit: smallest uncertainty of a hidden count

    def __post_init__(self):
        if self.suppress_below < LEGAL_FLOOR:
            raise InputError(f"suppress_below = {self.suppress_below} is below the legal "
                             f"floor of {LEGAL_FLOOR}", hint=f"use {LEGAL_FLOOR} or more")
        if self.round_to < 1:
            raise InputError(f"round_to = {self.round_to} must be 1 or more")
        if not 0 < self.dominance_k <= 1 or self.dominance_n < 1:
            raise InputError("dominance rule needs n >= 1 and 0 < k <= 1")
        if self.min_rate_denominator < 0 or self.composite_min_population < 0:
            raise InputError("min_rate_denominator and composite_min_population must be >= 0")
        if not self.audit_min_width >= 0:
            raise InputError(f"audit_min_width = {self.audit_min_width} must be >= 0")
        for name, base in (("sensitive_suppress_below", self.suppress_below),
                           ("sensitive_round_to", self.round_to)):
            value = getattr(self, name)
            if value is not None and value < base:
                raise InputError(f"{name} = {value} is below {name[10:]} = {base}",
                                 hint="sensitive targets get rules at least as strict")

    def for_target(self, sensitive: bool) -> "Rules":
        """The rules applying to a target: the stricter sensitive ones when it is sensitive."""
        if not sensitive:
            return self
        return replace(self, suppress_below=self.sensitive_suppress_below or self.suppress_below,
                       round_to=self.sensitive_round_to or self.round_to)

    @classmethod
    def from_settings(cls, settings: dict) -> "Rules":
        """Rules from the settings table (name -> text value); missing names keep defaults."""
        kinds = {"suppress_below": int, "round_to": int, "min_rate_denominator": int,
                 "dominance_n": int, "dominance_k": float, "sensitive_suppress_below": int,
                 "sensitive_round_to": int, "composite_min_population": int,
                 "audit_min_width": float}
        values = {}
        for k, f in kinds.items():
            if settings.get(k) is None:
                continue
            try:
                values[k] = f(str(settings[k]).strip())
            except ValueError:
                raise InputError(f"setting {k} = {settings[k]!r} is not a {f.__name__} number",
                                 hint="fix it in welfare.setting") from None
        return cls(**values)


DEFAULT = Rules()


def published_facilities(facility):
    """The facilities an output that may be published counts: ``(rows, left_out)``.

    ``facility``: a facility table (welfare_core.model). Kept: the rows whose
    ``published`` is true (True, or 1 as a GeoPackage stores it). Left out:
    false and NULL alike. NULL counts as not published because nobody said the
    facility may be listed (the SQL door's column is NOT NULL and its filter
    ``WHERE published`` drops NULL too). A table without a ``published`` column
    is taken as all published (a plain layer of public service points), so
    nothing is left out. Any other value is an error naming the facility.
    Returns the kept rows (index renumbered) and how many were left out.
    """
    import pandas as pd  # only here: the module stays importable without pandas
    if "published" not in facility.columns:
        return facility, 0

    def flag(v):
        if v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and v != v):
            return False
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
            return bool(v)
        return None  # not a flag

    flags = [flag(v) for v in facility["published"]]
    bad = [i for i, f in enumerate(flags) if f is None]
    if bad:
        row = facility.iloc[bad[0]]
        who = row["facility_id"] if "facility_id" in facility.columns else f"row {bad[0] + 1}"
        raise InputError(f"facility {who}: published = {row['published']!r} is not true or "
                         "false", hint="set published to true (listed publicly) or false")
    keep = np.array(flags, dtype=bool)
    return facility.loc[keep].reset_index(drop=True), int((~keep).sum())


def smallest_published(rules: Rules = DEFAULT) -> float:
    """Smallest non-zero published count: the first multiple of round_to >= suppress_below."""
    return float(-(-rules.suppress_below // rules.round_to) * rules.round_to)


def safe_counts(counts, rules: Rules = DEFAULT) -> np.ndarray:
    """Publishable counts: 0 stays 0, 0 < x < threshold − 0.5 become NaN, others rounded.

    Counts are rounded to the nearest whole unit first (estimates such as
    prevalence-derived demand are fractional), then to ``round_to`` with
    halves going up. A published 0 means exactly 0: any positive count that
    would round to 0 or into the suppressed range (a demand estimate of 0.4) is
    suppressed, so that zeros never bound a hidden neighbour (a suppressed
    parent whose children all read 0 would be pinned near 0.5 × children).
    NaN input stays NaN; negative input is an error.
    """
    x = np.asarray(counts, dtype=float)
    if np.any(x < 0):
        raise InputError("counts to publish must not be negative")
    whole = np.floor(x + 0.5)
    out = np.floor(whole / rules.round_to + 0.5) * rules.round_to
    small = (x > 0) & (whole < rules.suppress_below)
    # never publish a non-zero count under the threshold (e.g. 16 -> 15 with threshold
    # 16, base 3): the smallest published non-zero value is the first multiple >= it
    out = np.where(whole >= 1, np.maximum(out, smallest_published(rules)), out)
    return np.where(small, np.nan, out)


def controlled_round_parts(total, parts, base) -> np.ndarray:
    """Round the parts of a published total to multiples of ``base`` summing to it exactly.

    total: (n,) published totals (multiples of ``base``; NaN = hidden);
    parts: (n, k) unrounded parts of each total (e.g. a Shapley decomposition).
    Rule (largest remainder, as in apportionment), per row: a part that is
    exactly 0 stays 0 (a factor that did not act; unless every part is 0);
    every other part becomes ``floor(part / base)`` units of ``base``; the units
    still missing to reach the total, ``r = total/base − Σ floors``, go one each
    to the parts with the largest remainders ``part/base − floor(part/base)``
    (earlier parts first on ties), after every part got ``r // k`` first when
    ``r >= k``; when r < 0 the parts with the smallest remainders give one unit
    back. A row whose total or any part is NaN is all NaN: the parts of a
    hidden total are hidden too.
    """
    t = np.asarray(total, dtype=float)
    p = np.asarray(parts, dtype=float)
    if p.ndim != 2 or p.shape[0] != t.shape[0]:
        raise InputError(f"parts must be (n, k) with n = len(total) = {t.shape[0]}, "
                         f"got {p.shape}")
    if not base >= 1:
        raise InputError(f"base = {base} must be 1 or more")
    n, k = p.shape
    out = np.full((n, k), np.nan)
    ok = ~np.isnan(t) & ~np.isnan(p).any(axis=1)
    if not ok.any() or k == 0:
        return out
    units = np.rint(t[ok] / base)
    if not np.allclose(units * base, t[ok], rtol=0, atol=1e-9 * base):
        raise InputError(f"published totals must be multiples of {base}",
                         hint="round them with safe_counts first")
    q = p[ok] / base
    acting = q != 0
    acting[~acting.any(axis=1)] = True  # all parts 0: any of them may take the total
    whole = np.where(acting, np.floor(q), 0.0)
    rem = np.where(acting, q - whole, -np.inf)  # parts that did not act come last
    k_act = acting.sum(axis=1)
    r = (units - whole.sum(axis=1)).astype(np.int64)
    each = r // k_act               # floor division: a negative r takes from everyone first
    whole += np.where(acting, each[:, None], 0)
    r -= each * k_act               # now 0 <= r < k_act, for the largest remainders
    order = np.argsort(-rem, axis=1, kind="stable")  # ties keep the parts' order
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.tile(np.arange(k), (len(order), 1)), axis=1)
    whole += (rank < r[:, None]) & acting
    out[ok] = whole * base
    return out


def safe_rates(rates, denominators, rules: Rules = DEFAULT) -> np.ndarray:
    """Rates with those over a denominator below ``min_rate_denominator`` hidden (NaN)."""
    r = np.asarray(rates, dtype=float)
    d = np.asarray(denominators, dtype=float)
    return np.where(np.nan_to_num(d, nan=0.0) < rules.min_rate_denominator, np.nan, r)


def dominated(contributions, rules: Rules = DEFAULT) -> bool:
    """True when the n largest contributions exceed k of the total (cell is sensitive)."""
    c = np.sort(np.asarray(contributions, dtype=float))[::-1]
    total = c.sum()
    if total <= 0:
        return False
    return bool(c[: rules.dominance_n].sum() > rules.dominance_k * total)


def stand_in_counts(counts, rules: Rules = DEFAULT) -> np.ndarray:
    """Published counts with every suppressed one (1 .. threshold−1) standing in as
    ``suppress_below / 2`` (4 under the defaults), the middle of the hidden range.

    What a value derived from many counts (an accessibility over a catchment, the
    city rate of a location quotient) is computed from, so that it depends on the
    published counts only: any raw count within the same rounding bucket gives
    the same result. NaN input stays NaN.
    """
    x = np.asarray(counts, dtype=float)
    safe = safe_counts(x, rules)
    return np.where(np.isnan(safe) & ~np.isnan(x), rules.suppress_below / 2.0, safe)


def with_published_demand(tables, rules: Rules = DEFAULT, *, sensitive=()):
    """``tables`` with the demand table's counts replaced by :func:`stand_in_counts`.

    Each demand row (zone × target × period, the finest zones carrying it) is
    published on its own (sensitive targets under ``rules.for_target(True)``).
    Accessibility and scenario outcomes computed on these tables are functions
    of the published counts only, which is what their published copies show
    (:func:`welfare_core.zone_access.publish_accessibility`,
    :func:`welfare_core.scenario_compare.publish_comparison`,
    :func:`publish_zone_indicators` with ``access``).
    """
    demand = tables["demand"]
    d = demand["demand"].to_numpy(dtype=float)
    is_sensitive = demand["target_id"].isin(list(sensitive)).to_numpy()
    pub = np.where(is_sensitive, stand_in_counts(d, rules.for_target(True)),
                   stand_in_counts(d, rules))
    return {**tables, "demand": demand.assign(demand=pub)}


def _ratio(num, den, scale=100.0) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0) * scale, np.nan)


def _rates_from(num, den_pub, rules: Rules, scale=100.0) -> np.ndarray:
    """num / den × scale over a PUBLISHED denominator, hidden when it is hidden or small."""
    return safe_rates(_ratio(num, den_pub, scale), den_pub, rules)


def _published_ranks(out, by: str, value: str, prefix: str) -> None:
    from .indicators import rank_min
    if value not in out or not {f"{prefix}_rank", f"{prefix}_pct_rank",
                                f"{prefix}_z"} & set(out.columns):
        return
    r = rank_min(out[value].astype(float), out[by])
    for col, v in ((f"{prefix}_rank", r["rank"].astype("Int64")),
                   (f"{prefix}_pct_rank", r["pct_rank"]), (f"{prefix}_z", r["z"])):
        if col in out:
            out[col] = v


def publish_zone_indicators(rows, rules: Rules = DEFAULT, *, sensitive=(), level: str,
                            sensitive_levels=("neighbourhood", "district", "city"),
                            services=None, service_target=None, access=None,
                            complementary=None):
    """Published copy of indicator rows (target or service rows of ``indicators``).

    Every published value is a function of PUBLISHED counts only, so that no
    derived value gives back a raw count (e.g. an unrounded required = 0.75 ×
    0.0282 × 301 next to a demand published as 300). Counts: demand and
    reference populations through :func:`safe_counts` (sensitive targets, and
    service types whose reference target is sensitive, under
    ``rules.for_target(True)``); capacities (supply) are public and stay exact.
    From them, with ``_pub`` the published counts:

    target rows
        incidence_per_100  demand_pub / reference_pub × 100
        coverage_per_100   supply / demand_pub × 100
        location_quotient  incidence_pub / (Σ demand_pub / Σ reference_pub), sums over
                           the rows of the target, a suppressed demand standing in as
                           ``suppress_below / 2`` (:func:`stand_in_counts`)
        required           Σ_s share(s, t) · standard_s / 100 · R_pub(s, zone), from the
                           published reference populations of the serving types
                           (``services``: the service rows of the same call, published
                           here; ``service_target``: the shares); without them,
                           required and gap are hidden
        gap                max(0, required_pub − supply)
    service rows
        coverage_per_100   supply / R_pub × 100;  gap  max(0, standard / 100 × R_pub − supply)
        access_per_100, nearest_cost, share_within
                           from ``access`` (:func:`welfare_core.indicators.service_access`
                           on :func:`with_published_demand` tables: computed from the
                           finest zones' published demands); without it, hidden

    A rate is hidden when its published denominator is hidden or below
    ``min_rate_denominator``; a value whose input is hidden is hidden. Ranks,
    percentile ranks and z-scores are recomputed from the published values.
    Rows of a sensitive target (service rows: of a sensitive reference target)
    at a level not in ``sensitive_levels`` get ``published`` = False: they only
    appear at fixed, coarser geographies.

    ``complementary``: (target_id, zone_id) pairs suppressed as complementary
    cells (:func:`welfare_core.privacy_audit.complementary_suppression`): the
    demand of those target rows and the reference population of the service rows
    whose reference target it is are hidden with everything derived from them,
    and left out of the location quotient's city rate; column ``complementary``
    marks them (the differencing audit reads them as anything >= 0).
    """
    import pandas as pd

    out = rows.copy()
    sensitive = list(sensitive)
    strict = rules.for_target(True)
    is_target = "target_id" in out
    subject = out["target_id"] if is_target else out.get("reference_target_id")
    is_sensitive = (subject.isin(sensitive).to_numpy() if subject is not None and len(out)
                    else np.zeros(len(out), dtype=bool))

    def count(values, sens=is_sensitive):
        v = np.asarray(values, dtype=float)
        return np.where(sens, safe_counts(v, strict), safe_counts(v, rules))

    comp = np.zeros(len(out), dtype=bool)
    if complementary is not None and len(complementary) and subject is not None and len(out):
        pairs = pd.MultiIndex.from_frame(complementary[["target_id", "zone_id"]].astype(str))
        comp = pd.MultiIndex.from_arrays([subject.astype(str), out["zone_id"].astype(str)]
                                         ).isin(pairs)
    out["complementary"] = comp
    ref = count(out["reference_population"], False if is_target else is_sensitive)
    if not is_target:
        ref = np.where(comp, np.nan, ref)
    out["reference_population"] = ref
    supply = out["supply"].to_numpy(dtype=float)
    if is_target:
        dem = np.where(comp, np.nan, count(out["demand"]))
        out["demand"] = dem
        out["incidence_per_100"] = _rates_from(dem, ref, rules)
        out["coverage_per_100"] = _rates_from(supply, dem, rules)
        stand = np.where(is_sensitive, stand_in_counts(rows["demand"], strict),
                         stand_in_counts(rows["demand"], rules))
        # a complementary cell's rounded count must not follow from the city rate
        stand = np.where(comp, np.nan, stand)
        totals = pd.DataFrame({"t": out["target_id"].to_numpy(), "d": stand,
                               "p": np.where(comp, np.nan, ref)}) \
            .groupby("t")[["d", "p"]].transform("sum")
        city = _ratio(totals["d"], totals["p"], 1.0)
        out["location_quotient"] = _ratio(out["incidence_per_100"].to_numpy() / 100.0, city, 1.0)
        required = np.full(len(out), np.nan)
        if services is not None and service_target is not None and len(out):
            required = _published_required(out, services, service_target, rules,
                                           sensitive=sensitive, level=level,
                                           complementary=complementary)
        out["required"] = required
        out["gap"] = np.where(np.isnan(required), np.nan, np.maximum(required - supply, 0.0))
        out["published"] = ~(is_sensitive & (level not in sensitive_levels))
    else:
        out["coverage_per_100"] = _rates_from(supply, ref, rules)
        std = out["standard_per_100"].to_numpy(dtype=float)
        out["gap"] = np.maximum(std / 100.0 * ref - supply, 0.0)  # NaN stays NaN
        means = [c for c in ("access_per_100", "nearest_cost", "share_within") if c in out]
        if means:
            if access is None:
                vals = {c: np.full(len(out), np.nan) for c in means}
            else:
                key = ["zone_id", "service_type_id"]
                a = out[key].merge(access[key + means], on=key, how="left")
                vals = {c: a[c].to_numpy(dtype=float) for c in means}
            for c in means:
                # a mean over the reference population: hidden as its coverage is
                out[c] = safe_rates(vals[c], ref, rules)
        out["published"] = ~(is_sensitive & (level not in sensitive_levels))
    # ranks, percentile ranks and z-scores of the published values only
    by = "target_id" if is_target else "service_type_id"
    for value, prefix in (("incidence_per_100", "incidence"), ("coverage_per_100", "coverage"),
                          ("gap", "gap")):
        _published_ranks(out, by, value, prefix)
    return out


def _published_required(out, services, service_target, rules, *, sensitive, level,
                        complementary=None):
    """Σ_s share(s, t) · standard_s / 100 · R_pub(s, zone) per target row (NaN when a
    serving type with a standard has its reference population hidden)."""
    import pandas as pd

    pub_s = publish_zone_indicators(services, rules, sensitive=sensitive, level=level,
                                    complementary=complementary)
    per_type = pd.DataFrame({
        "zone_id": pub_s["zone_id"].to_numpy(), "service_type_id": pub_s["service_type_id"],
        "req": pub_s["standard_per_100"].to_numpy(dtype=float) / 100.0 *
        pub_s["reference_population"].to_numpy(dtype=float),
        "std": pub_s["standard_per_100"].to_numpy(dtype=float)})
    per_type = per_type.merge(service_target[["service_type_id", "target_id", "share"]],
                              on="service_type_id")
    per_type = per_type[~np.isnan(per_type["std"].to_numpy(dtype=float))]
    per_type = per_type.assign(req=per_type["req"] * per_type["share"].astype(float),
                               hidden=per_type["req"].isna())
    g = per_type.groupby(["zone_id", "target_id"])
    sums = pd.DataFrame({"req": g["req"].sum(min_count=1), "hidden": g["hidden"].any()})
    sums.loc[sums["hidden"], "req"] = np.nan
    key = pd.MultiIndex.from_frame(out[["zone_id", "target_id"]])
    return sums["req"].reindex(key).to_numpy(dtype=float)


def safe_composites(values, population, rules: Rules = DEFAULT) -> np.ndarray:
    """Composite index values, hidden (NaN) for zones under ``composite_min_population``.

    A composite (deprivation, vulnerability) over few residents describes those
    few people; such zones are shown merged into their parent instead
    (``merge_small_zones``).
    """
    v = np.asarray(values, dtype=float)
    p = np.asarray(population, dtype=float)
    if v.shape != p.shape:
        raise InputError(f"values ({v.shape}) and population ({p.shape}) differ in shape")
    return np.where(np.nan_to_num(p, nan=0.0) < rules.composite_min_population, np.nan, v)


def merge_small_zones(zone_ids, parent_ids, population, rules: Rules = DEFAULT) -> np.ndarray:
    """For each zone, the zone it is published as: itself, or its nearest ancestor
    (by parent_id, among the given zones) with at least ``composite_min_population``
    residents; None when no ancestor is large enough.
    """
    zone_ids = [str(z) for z in zone_ids]
    parent = dict(zip(zone_ids, parent_ids))
    pop = dict(zip(zone_ids, np.asarray(population, dtype=float)))
    out = []
    for z in zone_ids:
        seen, cur = set(), z
        while cur is not None and cur in pop and not pop[cur] >= rules.composite_min_population:
            if cur in seen:
                raise InputError(f"zone {cur} is its own ancestor (cycle in parent_id)")
            seen.add(cur)
            cur = parent.get(cur)
            cur = None if cur is None or (isinstance(cur, float) and cur != cur) else str(cur)
        out.append(cur if cur in pop else None)
    return np.array(out, dtype=object)


MAX_DP_EPSILON = 100.0  # beyond this the noise is ~0: no protection worth the name


def check_epsilon(epsilon) -> float:
    """``epsilon`` as a float when it is a number in (0, MAX_DP_EPSILON], else an InputError
    (what every differentially private release, and its record, accepts)."""
    eps = float(epsilon) if isinstance(epsilon, (int, float, np.integer, np.floating)) and \
        not isinstance(epsilon, (bool, np.bool_)) else np.nan
    if not 0 < eps <= MAX_DP_EPSILON:
        raise InputError(f"epsilon = {epsilon!r} must be a number in (0, {MAX_DP_EPSILON:g}]",
                         hint="e.g. 0.5; smaller is more private and noisier")
    return eps


def dp_counts(counts, epsilon: float, *, sensitivity: int = 1, clamp_zero: bool = True) -> np.ndarray:
    """Counts with discrete Laplace noise (OpenDP ``make_laplace`` over integers).

    Each count gets independent noise with P(k) proportional to exp(-|k| / s),
    s = sensitivity / epsilon, so the release is epsilon-differentially private
    when one person changes the counts by at most ``sensitivity`` in total (L1).
    The noise comes from OpenDP's cryptographically secure generator: there is no
    seed, by design. ``clamp_zero`` floors the results at 0 (post-processing: no
    privacy cost). Track the epsilon spent per release (table welfare.dp_release
    in the database, whose budget is setting dp_epsilon_budget; a CSV ledger for
    files, :func:`welfare_core.dp_ledger.record_release`).

    Needs the ``opendp`` package; without it, an error says so.
    """
    try:
        import opendp.prelude as dp
    except ImportError:
        raise InputError("differential privacy needs the opendp package, which is not installed "
                         "for this Python", hint="pip install opendp==0.16.0 (e.g. in the venv "
                         "of the Python door); for the SQL door and QGIS, make install puts it "
                         "beside the installed core") from None
    eps = check_epsilon(epsilon)
    if isinstance(sensitivity, bool) or not isinstance(sensitivity, (int, np.integer)) or sensitivity < 1:
        raise InputError(f"sensitivity = {sensitivity!r} must be a whole number >= 1")
    c = np.asarray(counts, dtype=float)
    if c.ndim != 1:
        raise InputError(f"counts must be one-dimensional, got shape {c.shape}")
    if not np.isfinite(c).all() or (c < 0).any() or (c != np.round(c)).any() or (c > 2**53).any():
        raise InputError("counts must be whole numbers >= 0 (no NaN, no fractions)",
                         hint="give raw counts, not rates or already published values")
    if c.size == 0:
        return np.zeros(0, dtype=np.int64)
    dp.enable_features("contrib")
    meas = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int),
                             scale=float(sensitivity) / eps)
    out = np.asarray(meas([int(v) for v in c]), dtype=np.int64)
    return np.maximum(out, 0) if clamp_zero else out
