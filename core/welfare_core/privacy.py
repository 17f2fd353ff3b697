"""Disclosure control: what may leave the platform.

Defaults follow ../shared/DOMAIN.md: counts 1-7 are suppressed and every other
count is rounded to the nearest 5 (NHS Digital rule: with rounding, no
secondary suppression is needed); the threshold is configurable but never
below Italy's statistical-ethics floor of 3. Rates are hidden when their
denominator is small. Magnitudes per provider follow the dominance rule.
Suppressed values are NaN (NULL) with a reason, never a silent zero.
"""
from __future__ import annotations

from dataclasses import dataclass

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

    def __post_init__(self):
        if self.suppress_below < LEGAL_FLOOR:
            raise InputError(f"suppress_below = {self.suppress_below} is below the legal "
                             f"floor of {LEGAL_FLOOR}", hint=f"use {LEGAL_FLOOR} or more")
        if self.round_to < 1:
            raise InputError(f"round_to = {self.round_to} must be 1 or more")
        if not 0 < self.dominance_k <= 1 or self.dominance_n < 1:
            raise InputError("dominance rule needs n >= 1 and 0 < k <= 1")

    @classmethod
    def from_settings(cls, settings: dict) -> "Rules":
        """Rules from the settings table (name -> text value); missing names keep defaults."""
        kinds = {"suppress_below": int, "round_to": int, "min_rate_denominator": int,
                 "dominance_n": int, "dominance_k": float}
        return cls(**{k: f(settings[k]) for k, f in kinds.items() if settings.get(k) is not None})


DEFAULT = Rules()


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
    appear at fixed, coarser geographies.
    """
    out = rows.copy()
    is_target = "target_id" in out
    count = "demand" if is_target else "reference_population"
    safe = safe_counts(out[count].to_numpy(), rules)
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
    return out
