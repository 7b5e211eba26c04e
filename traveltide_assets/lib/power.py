"""How large a segment effect the exclusivity test can see, and what an observed statistic rules out.

Effect size (docs/segment_power.md): customers fall into perk segments with shares pi_1..pi_K; each perk's fans
are shifted by `delta` standard deviations (of the within-segment spread, taken as 1) on their own perk's signal,
and on nothing else. Then for perks j != k

    var(X_j) = 1 + delta^2 pi_j (1 - pi_j),   cov(X_j, X_k) = -delta^2 pi_j pi_k,

so the expected exclusivity statistic (minus the mean pairwise correlation) is

    S(delta) = mean over pairs j<k of  delta^2 pi_j pi_k / sqrt((1 + delta^2 v_j)(1 + delta^2 v_k)),  v = pi (1 - pi)

(equal shares 1/K: S = (delta^2/K^2) / (1 + delta^2 (K-1)/K^2)), increasing in delta, below 1/(K-1).

Power, by the normal approximation of the statistic with the null's spread also under the alternative: the test
rejects at level alpha with probability `power` when S(delta) >= (z_{1-alpha} + z_power) * sd_null. The same
approximation turns the observed excess over the null mean into an estimated delta and a one-sided upper bound.
Under independent per-column permutations the null of the statistic has mean 0 and sd 1/sqrt(M (n-1)) exactly,
M = K(K-1)/2 pairs: the permutation distribution the asset computes reproduces it (a cross-check in the tests).

Only the standard library and numpy: no SciPy import for these few figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

POWER = 0.8
CONFIDENCE = 0.95
# The smallest segment effect worth acting on: fans half a standard deviation apart from everyone else on their
# own perk's behaviour (Cohen's "medium" effect). Below it, the perk with the highest signal is the customer's
# segment for barely a third of customers, against a fifth by chance. Fixed, so the verdict does not change
# meaning with the cohort's size; at the real volume (~6,000) the test detects about this shift (0.58 SD).
MEANINGFUL_SHIFT_SD = 0.5

SEGMENTS_EXIST = "segments exist"
EVIDENCE_OF_NONE = "evidence of none"
NO_EVIDENCE_AT_THIS_SIZE = "no evidence at this size"

_Z = NormalDist()


def _shares(shares: Sequence[float] | np.ndarray | None, k: int) -> np.ndarray:
    pi = np.full(k, 1.0 / k) if shares is None else np.asarray(shares, dtype=float)
    if pi.size != k or np.any(pi < 0) or pi.sum() <= 0:
        raise ValueError(f"need {k} non-negative shares, got {shares!r}")
    return pi / pi.sum()


def expected_exclusivity(delta: float, shares: Sequence[float] | np.ndarray | None = None, k: int = 5) -> float:
    """S(delta): minus the mean pairwise correlation of K signals when each segment's fans are shifted by delta."""
    pi = _shares(shares, k)
    d2 = float(delta) ** 2
    sd = np.sqrt(1.0 + d2 * pi * (1.0 - pi))
    upper = np.triu_indices(pi.size, 1)
    return float(np.mean(d2 * np.outer(pi, pi)[upper] / np.outer(sd, sd)[upper]))


def max_exclusivity(shares: Sequence[float] | np.ndarray | None = None, k: int = 5) -> float:
    """The limit of S(delta) as delta grows: mean of pi_j pi_k / sqrt(v_j v_k) (1/(K-1) for equal shares)."""
    pi = _shares(shares, k)
    v = pi * (1.0 - pi)
    upper = np.triu_indices(pi.size, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(np.outer(v, v) > 0, np.outer(pi, pi) / np.sqrt(np.outer(v, v)), 0.0)
    return float(np.mean(terms[upper]))


def shift_for_exclusivity(excess: float, shares: Sequence[float] | np.ndarray | None = None, k: int = 5) -> float:
    """The inverse of S: the shift delta whose expected statistic is `excess` (0 below 0, inf at S's limit)."""
    if not excess > 0:
        return 0.0
    if excess >= max_exclusivity(shares, k):
        return math.inf
    low, high = 0.0, 1.0
    while expected_exclusivity(high, shares, k) < excess:
        high *= 2.0
    for _ in range(100):  # bisection: S is increasing in delta
        mid = 0.5 * (low + high)
        low, high = (mid, high) if expected_exclusivity(mid, shares, k) < excess else (low, mid)
    return 0.5 * (low + high)


def analytic_null_sd(users: int, k: int = 5) -> float:
    """Exact sd of the statistic over independent per-column permutations of n users: 1/sqrt(M (n-1))."""
    return 1.0 / math.sqrt(k * (k - 1) / 2 * (users - 1))


def detectable_excess(null_sd: float, alpha: float, power: float = POWER) -> float:
    """The statistic's excess over the null mean that the test reaches with probability `power` (normal approx.)."""
    return (_Z.inv_cdf(1.0 - alpha) + _Z.inv_cdf(power)) * null_sd


def detectable_shift(
    null_sd: float, alpha: float, power: float = POWER, shares: Sequence[float] | None = None, k: int = 5
) -> float:
    return shift_for_exclusivity(detectable_excess(null_sd, alpha, power), shares, k)


def users_to_detect(
    delta: float, alpha: float, power: float = POWER, shares: Sequence[float] | None = None, k: int = 5
) -> int:
    """Customers needed to detect a shift of delta with the given power: S(delta) = z-sum / sqrt(M (n-1))."""
    pairs = k * (k - 1) / 2
    z = _Z.inv_cdf(1.0 - alpha) + _Z.inv_cdf(power)
    return math.ceil(1 + (z / expected_exclusivity(delta, shares, k)) ** 2 / pairs)


@dataclass(frozen=True)
class Power:
    detectable_shift_sd: float  # shift detected with probability `power` at level alpha, at this cohort size
    estimated_shift_sd: float  # the shift whose expected statistic is the observed excess over the null mean
    shift_upper_95_sd: float  # one-sided 95% upper confidence bound of the shift
    meaningful_shift_sd: float
    users_for_meaningful_shift: int  # customers the test needs to detect the meaningful shift with `power`
    power: float
    verdict: str  # SEGMENTS_EXIST, EVIDENCE_OF_NONE or NO_EVIDENCE_AT_THIS_SIZE


def assess_power(
    excess: float,
    null_sd: float,
    p_value: float,
    alpha: float,
    shares: Sequence[float] | None = None,
    k: int = 5,
    power: float = POWER,
    meaningful: float = MEANINGFUL_SHIFT_SD,
) -> Power:
    """Power and shift estimates for an observed excess of the statistic over its null mean, and the verdict."""
    upper = shift_for_exclusivity(excess + _Z.inv_cdf(CONFIDENCE) * null_sd, shares, k)
    if p_value < alpha:
        verdict = SEGMENTS_EXIST
    elif upper < meaningful:
        verdict = EVIDENCE_OF_NONE
    else:
        verdict = NO_EVIDENCE_AT_THIS_SIZE
    return Power(
        detectable_shift_sd=detectable_shift(null_sd, alpha, power, shares, k),
        estimated_shift_sd=shift_for_exclusivity(excess, shares, k),
        shift_upper_95_sd=upper,
        meaningful_shift_sd=meaningful,
        users_for_meaningful_shift=users_to_detect(meaningful, alpha, power, shares, k),
        power=power,
        verdict=verdict,
    )


def _sd(value: float, digits: int = 2) -> str:
    return "any size" if math.isinf(value) else f"{value:.{digits}f} SD"


def verdict_sentence(e: dict) -> str:
    """The verdict in words for a segment_evidence row (or Evidence.as_dict()), naming the detectable shift."""
    p, users, detect = float(e["p_value"]), int(e["users"]), float(e["detectable_shift_sd"])
    power, upper, meaningful = float(e["power"]), float(e["shift_upper_95_sd"]), float(e["meaningful_shift_sd"])
    sees = f"with {users:,} customers the test detects a shift of {_sd(detect)} with {power:.0%} power"
    stand_out = "fans stand out on their own perk's behaviour by"
    if e["verdict"] == SEGMENTS_EXIST:
        return (
            f"Yes: customer groups with distinct perk affinities exist in this cohort (p = {p:.3g} < "
            f"{float(e['alpha']):g}). Each perk's {stand_out} an estimated {_sd(float(e['estimated_shift_sd']))} "
            f"(at most {_sd(upper)} at 95% confidence; {sees})."
        )
    if e["verdict"] == EVIDENCE_OF_NONE:
        return (
            f"No: the data give no evidence of distinct perk-affinity groups (p = {p:.2g}), and they rule out groups "
            f"whose {stand_out} {meaningful:.2g} SD or more (95% upper bound {_sd(upper, 3)}; {sees}). "
            "Treat preferences as a continuum."
        )
    needed = round(int(e["users_for_meaningful_shift"]), -2)
    return (
        f"Not decidable at this size: no distinct perk-affinity groups were detected (p = {p:.2g}), but {sees}: "
        f"only groups whose {stand_out} that much or more reliably show. Shifts up to {_sd(upper)} are not ruled "
        f"out; about {needed:,} customers would detect {meaningful:.2g} SD."
    )
