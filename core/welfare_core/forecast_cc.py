"""Cohort-component projection (Leslie matrix) for a city or a district.

One region, single years of age 0..top (top = open group), two sexes
(index 0 = F, 1 = M as in ``model.SEXES``), one-year steps:

    F_{t+1} = L_F F_t + m_F          M_{t+1} = S_M M_t + B_M F_t + m_M

    L_F[a+1, a] = s_F[a]  (a < top),   L_F[top, top] = s_F[top]   (survival)
    L_F[0, a]   = f[a] (1 - male_share) s_birth                     (births kept to 1 Jan)
    S_M as L_F without the births row;  B_M[0, a] = f[a] male_share s_birth
    m = net migrants by sex and age at the end of the year.

``f[a]`` are births in the year per woman aged a on 1 January; ``s[a]`` the
probability that a person aged a on 1 January is alive on the next 1 January
(the open group keeps ``s[top]``); ``s_birth`` the share of the year's births
alive on the next 1 January.  Births use the women of 1 January (no mid-year
exposure): the simple Leslie form, exact for the matrix it states.

``estimate_components`` fills the components from a history of counts when no
life table, fertility or migration data are loaded: survival from a Gompertz
curve (illustrative, near Italy's; stated in ``GOMPERTZ``), fertility as a
fixed age schedule scaled to the observed age-0 counts, net migration as the
mean residual of each cohort once survival is taken out.  These are model
choices, not measured rates: the projection is used as a control total for
the zone projections, whose own change ratios carry the local detail.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError

MALE_SHARE_AT_BIRTH = 0.512
# Gompertz one-year death probability q(a) = exp(alpha + beta a) x sex factor,
# capped at 0.6; q(0) is infant mortality.  Illustrative values of Italy's order.
GOMPERTZ = {"alpha": -11.2, "beta": 0.102, "F": 0.75, "M": 1.3, "infant": 0.0025}
# Fertility schedule shape over ages 15..49 (normal, mean 32, sd 5.5), scaled by TFR.
FERTILE = (15, 49)


@dataclass(frozen=True)
class Components:
    survival: np.ndarray      # (2, A) one-year survival by sex and age (top = open group)
    fertility: np.ndarray     # (A,) births per woman by age on 1 January
    migration: np.ndarray     # (2, A) net migrants per year by sex and age (end of year)
    birth_survival: float = 1.0
    male_share: float = MALE_SHARE_AT_BIRTH


def leslie_matrices(c: Components) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(L_F, S_M, B_M): female Leslie matrix, male survival matrix, male births from women."""
    s = np.asarray(c.survival, dtype=float)
    f = np.asarray(c.fertility, dtype=float)
    n = s.shape[1]
    if s.shape != (2, n) or f.shape != (n,) or np.shape(c.migration) != (2, n):
        raise InputError("survival and migration must be (2, ages), fertility (ages,)")
    mats = []
    for sex in (0, 1):
        m = np.zeros((n, n))
        m[np.arange(1, n), np.arange(n - 1)] = s[sex, :-1]
        m[n - 1, n - 1] += s[sex, n - 1]  # open top group stays and survives
        mats.append(m)
    lf, sm = mats
    lf[0, :] += f * (1 - c.male_share) * c.birth_survival
    bm = np.zeros((n, n))
    bm[0, :] = f * c.male_share * c.birth_survival
    return lf, sm, bm


def cohort_component(start: np.ndarray, components: Components, years: int) -> np.ndarray:
    """Population (years + 1, 2, A) from ``start`` (2, A): row 0 is ``start``."""
    if years < 0:
        raise InputError(f"years = {years} must be 0 or more")
    lf, sm, bm = leslie_matrices(components)
    mig = np.asarray(components.migration, dtype=float)
    out = np.empty((years + 1,) + np.shape(start))
    out[0] = start
    for t in range(years):  # a loop over years only: each step is two matrix products
        f, m = out[t]
        out[t + 1, 0] = lf @ f + mig[0]
        out[t + 1, 1] = sm @ m + bm @ f + mig[1]
    return out


def gompertz_survival(ages: int) -> np.ndarray:
    a = np.arange(ages, dtype=float)
    q = np.exp(GOMPERTZ["alpha"] + GOMPERTZ["beta"] * a)
    q = np.vstack([q * GOMPERTZ["F"], q * GOMPERTZ["M"]])
    q[:, 0] = GOMPERTZ["infant"]
    return 1.0 - np.clip(q, 0.0, 0.6)


def fertility_shape(ages: int) -> np.ndarray:
    a = np.arange(ages, dtype=float)
    shape = np.exp(-0.5 * ((a - 32.0) / 5.5) ** 2)
    shape[(a < FERTILE[0]) | (a > FERTILE[1])] = 0.0
    return shape / shape.sum()


def estimate_components(history: np.ndarray) -> Components:
    """Components reproducing a history (T, 2, A) of one region on average (see module doc)."""
    h = np.asarray(history, dtype=float)
    if h.ndim != 3 or h.shape[0] < 2:
        raise InputError("the cohort-component model needs at least two consecutive years "
                         "of population by sex and age", hint="load more history")
    n = h.shape[2]
    s = gompertz_survival(n)
    s_birth = 1.0 - GOMPERTZ["infant"] / 2
    shape = fertility_shape(n)
    women = h[:-1, 0, :] @ shape                       # (T-1,) weighted women
    births = h[1:, :, 0].sum(axis=1) / s_birth         # age 0 next year, back to births
    tfr = births.sum() / women.sum() if women.sum() > 0 else 0.0
    f = tfr * shape
    # residual net migration of each cohort, mean over the history
    expected = np.zeros_like(h[1:])
    expected[:, :, 1:] = h[:-1, :, :-1] * s[None, :, :-1]
    expected[:, :, -1] += h[:-1, :, -1] * s[None, :, -1]
    w = h[:-1, 0, :] @ f * s_birth
    expected[:, 0, 0] = w * (1 - MALE_SHARE_AT_BIRTH)
    expected[:, 1, 0] = w * MALE_SHARE_AT_BIRTH
    mig = (h[1:] - expected).mean(axis=0)
    return Components(s, f, mig, s_birth, MALE_SHARE_AT_BIRTH)
