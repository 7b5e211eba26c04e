"""The segment test's power: the closed form, its inverse, the analytic null, the verdicts, and a simulation that
the test rejects ~80% of datasets whose fans are shifted by the computed detectable shift (docs/segment_power.md).

Run as a script for the figures of docs/segment_power.md (more datasets, optionally the full permutation test):
`uv run python -m traveltide_assets_tests.test_segment_power --datasets 1000 [--permutations 999]`.
"""

from __future__ import annotations

import argparse
import html
import math
import time
from dataclasses import asdict
from statistics import NormalDist

import numpy as np
import pytest

from traveltide_assets.defs.report.html_findings import evidence_section
from traveltide_assets.lib.catalog import PERKS
from traveltide_assets.lib.evidence import ALPHA, assess_segments, exclusivity, normal_scores, permutation_null
from traveltide_assets.lib.power import (
    EVIDENCE_OF_NONE,
    MEANINGFUL_SHIFT_SD,
    NO_EVIDENCE_AT_THIS_SIZE,
    SEGMENTS_EXIST,
    analytic_null_sd,
    assess_power,
    detectable_excess,
    detectable_shift,
    expected_exclusivity,
    max_exclusivity,
    shift_for_exclusivity,
    users_to_detect,
    verdict_sentence,
)

K = len(PERKS)
UNBALANCED = (0.35, 0.30, 0.17, 0.10, 0.08)  # the synthetic source's "unbalanced" mix, sorted


def mixture(n: int, delta: float, rng: np.random.Generator, shares: tuple[float, ...] | None = None) -> np.ndarray:
    """n customers in K segments (shares), each segment's fans shifted by delta on their own perk's signal, unit
    within-segment variance; then each column to normal scores, as the product's signals are."""
    group = rng.choice(K, size=n, p=shares) if shares else rng.integers(0, K, n)
    x = rng.standard_normal((n, K))
    x[np.arange(n), group] += delta
    return np.column_stack([normal_scores(x[:, j], rng) for j in range(K)])


def rejection_rate(
    n: int,
    delta: float,
    datasets: int,
    seed: int,
    shares: tuple[float, ...] | None = None,
    permutations: int | None = None,
) -> float:
    """Share of simulated datasets the test rejects at ALPHA: against the exact permutation null's normal
    approximation (mean 0, sd 1/sqrt(M (n-1))) or, with `permutations`, against that many permutations."""
    rng = np.random.default_rng(seed)
    critical = NormalDist().inv_cdf(1 - ALPHA) * analytic_null_sd(n, K)
    rejected = 0
    for _ in range(datasets):
        signals = mixture(n, delta, rng, shares)
        observed = exclusivity(signals)
        if permutations is None:
            rejected += observed > critical
        else:
            null = permutation_null(signals, permutations, rng)
            rejected += (1 + np.sum(null >= observed)) / (1 + permutations) < ALPHA
    return rejected / datasets


def upper_bound_coverage(n: int, delta: float, datasets: int, seed: int) -> tuple[float, float]:
    """Share of simulated datasets whose one-sided 95% upper bound of the shift covers the true shift, and the
    median estimated shift."""
    rng = np.random.default_rng(seed)
    sd, covered, estimates = analytic_null_sd(n), 0, []
    for _ in range(datasets):
        power = assess_power(exclusivity(mixture(n, delta, rng)), sd, 1.0, ALPHA)
        covered += power.shift_upper_95_sd >= delta
        estimates.append(power.estimated_shift_sd)
    return covered / datasets, float(np.median(estimates))


def test_closed_form_matches_the_equal_share_formula_and_simulation() -> None:
    for delta in (0.3, 0.8, 2.0):
        equal = (delta**2 / K**2) / (1 + delta**2 * (K - 1) / K**2)
        assert expected_exclusivity(delta) == pytest.approx(equal, rel=1e-12)
    assert max_exclusivity() == pytest.approx(1 / (K - 1))
    assert expected_exclusivity(0.0) == 0.0
    # The population value, on raw (not rank-transformed) mixtures of 200,000 customers, unequal shares.
    rng = np.random.default_rng(5)
    group = rng.choice(K, size=200_000, p=UNBALANCED)
    x = rng.standard_normal((200_000, K))
    x[np.arange(x.shape[0]), group] += 1.2
    assert exclusivity(x) == pytest.approx(expected_exclusivity(1.2, UNBALANCED), abs=0.002)


@pytest.mark.parametrize("shares", [None, UNBALANCED])
def test_shift_for_exclusivity_inverts_the_closed_form(shares: tuple[float, ...] | None) -> None:
    for delta in (0.05, 0.5, 1.0, 3.0, 10.0):
        assert shift_for_exclusivity(expected_exclusivity(delta, shares), shares) == pytest.approx(delta, rel=1e-6)
    assert shift_for_exclusivity(-0.01, shares) == 0.0
    assert math.isinf(shift_for_exclusivity(max_exclusivity(shares), shares))
    # Unequal shares give fewer pairs of large segments: the same statistic needs a larger shift.
    assert shift_for_exclusivity(0.01, UNBALANCED) > shift_for_exclusivity(0.01)


def test_the_permutation_null_has_the_analytic_spread() -> None:
    rng = np.random.default_rng(3)
    signals = mixture(2_000, 0.0, rng)
    null = permutation_null(signals, 999, rng)
    assert abs(null.mean()) < 3 * analytic_null_sd(2_000) / math.sqrt(999)
    assert null.std(ddof=1) == pytest.approx(analytic_null_sd(2_000), rel=0.08)


@pytest.mark.parametrize(("n", "seed"), [(600, 1), (6_000, 2)])
def test_the_computed_detectable_shift_is_detected_80_percent_of_the_time(n: int, seed: int) -> None:
    delta = detectable_shift(analytic_null_sd(n), ALPHA)
    rate = rejection_rate(n, delta, datasets=120, seed=seed)
    assert 0.65 <= rate <= 0.92, (n, delta, rate)
    assert rejection_rate(n, 0.0, datasets=120, seed=seed + 10) <= 0.05  # size: ~1% under no segments


def test_the_detectable_shift_with_unequal_shares_is_detected_too() -> None:
    delta = detectable_shift(analytic_null_sd(6_000), ALPHA, shares=UNBALANCED)
    assert 0.65 <= rejection_rate(6_000, delta, datasets=80, seed=4, shares=UNBALANCED) <= 0.92


def test_the_upper_bound_covers_the_true_shift_95_percent_of_the_time() -> None:
    coverage, median = upper_bound_coverage(6_000, 0.7, datasets=100, seed=6)
    assert 0.89 <= coverage <= 0.995 and median == pytest.approx(0.7, abs=0.05)


def test_the_figures_at_the_two_cohort_sizes() -> None:
    """The quick start's old default (624 customers) and the real volume (~6,000), equal shares."""
    assert detectable_shift(analytic_null_sd(624), ALPHA) == pytest.approx(1.09, abs=0.01)
    assert detectable_shift(analytic_null_sd(6_000), ALPHA) == pytest.approx(0.584, abs=0.005)
    assert detectable_excess(1.0, ALPHA) == pytest.approx(2.3263 + 0.8416, abs=1e-3)
    assert users_to_detect(MEANINGFUL_SHIFT_SD, ALPHA) == pytest.approx(10_860, abs=20)
    assert detectable_shift(analytic_null_sd(users_to_detect(0.5, ALPHA)), ALPHA) <= 0.5


def test_three_verdicts() -> None:
    sd = analytic_null_sd(6_000)
    assert assess_power(0.02, sd, 0.001, ALPHA).verdict == SEGMENTS_EXIST
    none = assess_power(0.0, sd, 0.5, ALPHA)
    assert none.verdict == EVIDENCE_OF_NONE and none.shift_upper_95_sd < MEANINGFUL_SHIFT_SD
    assert none.estimated_shift_sd == 0.0 and none.detectable_shift_sd == pytest.approx(0.584, abs=0.005)
    small = assess_power(0.0, analytic_null_sd(624), 0.5, ALPHA)
    assert small.verdict == NO_EVIDENCE_AT_THIS_SIZE and small.shift_upper_95_sd > MEANINGFUL_SHIFT_SD
    # Not significant, yet the estimate is large enough that 0.5 SD is not ruled out, even at 6,000.
    assert assess_power(2.0 * sd, sd, 0.03, ALPHA).verdict == NO_EVIDENCE_AT_THIS_SIZE


def _evidence_row(users: int, excess: float, p_value: float) -> dict:
    """A segment_evidence row with the given observed excess over the null mean (its power figures real)."""
    sd = analytic_null_sd(users)
    power = assess_power(excess, sd, p_value, ALPHA)
    figures = {"statistic": excess, "null_mean": 0.0, "null_sd": sd, "effect_size": excess / sd}
    cluster = {"silhouette": 0.1, "silhouette_null_mean": 0.1, "stability_ari": 0.3}
    return {**asdict(power), **figures, **cluster, "p_value": p_value, "users": users, "alpha": ALPHA, "method": "m"}


def test_the_report_says_which_of_the_three_and_names_the_detectable_shift() -> None:
    exists = _evidence_row(6_000, expected_exclusivity(0.8), 0.001)
    assert exists["verdict"] == SEGMENTS_EXIST and exists["estimated_shift_sd"] == pytest.approx(0.8)
    page = evidence_section(exists)
    assert 'class="verdict yes"' in page and "Yes: customer groups" in page and "estimated 0.80 SD" in page
    none = _evidence_row(5_998, 0.0, 0.55)
    page = evidence_section(none)
    assert none["verdict"] == EVIDENCE_OF_NONE and 'class="verdict no"' in page
    assert "rule out groups whose fans stand out on their own perk&#x27;s behaviour by 0.5 SD or more" in page
    assert "with 5,998 customers the test detects a shift of 0.58 SD with 80% power" in page
    small = _evidence_row(624, expected_exclusivity(0.4), 0.2)
    page = evidence_section(small)
    assert small["verdict"] == NO_EVIDENCE_AT_THIS_SIZE and 'class="verdict unsure"' in page
    assert "Not decidable at this size" in page and "with 624 customers the test detects a shift of 1.09 SD" in page
    assert html.escape(verdict_sentence(small)) in page


def test_assess_segments_reports_the_power_figures() -> None:
    """On signals from the mixture at the detectable shift: the asset's figures, from its permutation null."""
    n = 1_000
    delta = detectable_shift(analytic_null_sd(n), ALPHA)
    evidence = assess_segments(mixture(n, delta, np.random.default_rng(8)), n_permutations=199, n_bootstrap=2)
    assert evidence.detectable_shift_sd == pytest.approx(delta, rel=0.05)  # permutation sd ~ analytic sd
    assert evidence.shift_upper_95_sd > evidence.estimated_shift_sd > 0
    assert evidence.power == 0.8 and evidence.meaningful_shift_sd == MEANINGFUL_SHIFT_SD
    assert evidence.verdict in (SEGMENTS_EXIST, NO_EVIDENCE_AT_THIS_SIZE)
    assert evidence.segments_exist == (evidence.verdict == SEGMENTS_EXIST)


def main() -> None:
    parser = argparse.ArgumentParser(description="simulated rejection rates at the computed detectable shift")
    parser.add_argument("--datasets", type=int, default=1_000)
    parser.add_argument("--permutations", type=int, default=None, help="the full permutation test instead")
    parser.add_argument("--sizes", default="600,624,6000")
    parser.add_argument("--shares", choices=("equal", "unbalanced", "both"), default="both")
    parser.add_argument("--coverage", action="store_true", help="instead: coverage of the upper 95% bound")
    args = parser.parse_args()
    if args.coverage:
        print(f"datasets per row: {args.datasets}")
        print("customers | true shift (SD) | upper 95% bound covers it | median estimated shift")
        for i, n in enumerate(int(s) for s in args.sizes.split(",")):
            for j, delta in enumerate((0.3, 0.7, 1.0)):
                coverage, median = upper_bound_coverage(n, delta, args.datasets, seed=1000 + 10 * i + j)
                print(f"{n:,} | {delta} | {coverage:.3f} | {median:.3f}", flush=True)
        return
    print(f"datasets per row: {args.datasets}; null: {args.permutations or 'analytic normal'}; alpha {ALPHA}")
    print("customers | shares | detectable shift (SD) | rejected at that shift | at 0.5 SD | at 0 (size)")
    for i, n in enumerate(int(s) for s in args.sizes.split(",")):
        for label, shares in (("equal", None), ("unbalanced", UNBALANCED)):
            if args.shares not in (label, "both"):
                continue
            start = time.perf_counter()
            delta = detectable_shift(analytic_null_sd(n), ALPHA, shares=shares)
            rates = [
                rejection_rate(n, d, args.datasets, seed=100 * i + j, shares=shares, permutations=args.permutations)
                for j, d in enumerate((delta, MEANINGFUL_SHIFT_SD, 0.0))
            ]
            print(
                f"{n:,} | {label} | {delta:.3f} | {rates[0]:.3f} | {rates[1]:.3f} | {rates[2]:.3f}"
                f"   ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
