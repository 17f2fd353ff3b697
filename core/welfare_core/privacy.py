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


def smallest_published(rules: Rules = DEFAULT) -> float:
    """Smallest non-zero published count: the first multiple of round_to >= suppress_below."""
    return float(-(-rules.suppress_below // rules.round_to) * rules.round_to)


def safe_counts(counts, rules: Rules = DEFAULT) -> np.ndarray:
    """Publishable counts: 0 stays 0, 1..threshold-1 become NaN, others rounded.

    Counts are rounded to the nearest whole unit first (estimates such as
    prevalence-derived demand are fractional), then to ``round_to`` with
    halves going up. NaN input stays NaN; negative input is an error.
    """
    x = np.asarray(counts, dtype=float)
    if np.any(x < 0):
        raise InputError("counts to publish must not be negative")
    whole = np.floor(x + 0.5)
    out = np.floor(whole / rules.round_to + 0.5) * rules.round_to
    small = (whole >= 1) & (whole < rules.suppress_below)
    # never publish a non-zero count under the threshold (e.g. 16 -> 15 with threshold
    # 16, base 3): the smallest published non-zero value is the first multiple >= it
    out = np.where(whole >= 1, np.maximum(out, smallest_published(rules)), out)
    return np.where(small, np.nan, out)


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


def publish_zone_indicators(rows, rules: Rules = DEFAULT, *, sensitive=(), level: str,
                            sensitive_levels=("neighbourhood", "district", "city")):
    """Published copy of indicator rows (target or service rows of ``indicators``).

    Person and household counts are made safe; a value derived from a
    suppressed count (its rate, gap or location quotient) is hidden too, so
    it cannot be used to recover the count. Capacities are public (the
    facility list is published) and stay exact. Rows of a sensitive target at
    a level not in ``sensitive_levels`` get ``published`` = False: they only
    appear at fixed, coarser geographies. Demand of sensitive targets follows
    ``rules.for_target(True)`` (settings sensitive_suppress_below / _round_to).
    Ranks and z-scores of a hidden value are hidden with it.
    """
    out = rows.copy()
    is_target = "target_id" in out
    count = "demand" if is_target else "reference_population"
    if is_target and len(out):
        is_sensitive = out["target_id"].isin(list(sensitive)).to_numpy()
    else:
        is_sensitive = np.zeros(len(out), dtype=bool)
    strict = rules.for_target(True)
    safe = np.where(is_sensitive, safe_counts(out[count].to_numpy(), strict),
                    safe_counts(out[count].to_numpy(), rules))
    hidden = np.isnan(safe) & ~np.isnan(out[count].to_numpy(dtype=float))
    out[count] = safe
    if is_target:
        ref = out["reference_population"].to_numpy(dtype=float)
        out["reference_population"] = safe_counts(ref, rules)
        out["incidence_per_100"] = safe_rates(out["incidence_per_100"], ref, rules)
        out["coverage_per_100"] = safe_rates(out["coverage_per_100"], rows["demand"], rules)
        out.loc[hidden, ["incidence_per_100", "location_quotient", "gap", "required"]] = np.nan
        out["published"] = ~(out["target_id"].isin(list(sensitive)) &
                             (level not in sensitive_levels))
    else:
        out["coverage_per_100"] = safe_rates(out["coverage_per_100"],
                                             rows["reference_population"], rules)
        out.loc[hidden, ["coverage_per_100", "gap"]] = np.nan
        out["published"] = True
    # A rank or z-score narrows down the value it ranks: hide it with the value.
    for value, prefix in (("incidence_per_100", "incidence"), ("coverage_per_100", "coverage"),
                          ("gap", "gap")):
        gone = out[value].isna().to_numpy() if value in out else None
        for col in (f"{prefix}_rank", f"{prefix}_pct_rank", f"{prefix}_z"):
            if gone is not None and col in out:
                out[col] = out[col].mask(gone)
    return out


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
