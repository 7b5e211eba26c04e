"""The segment test's permutation null, computed block by block, is the straightforward loop's: the same draws in
the same order, the same p-value, and the generator left in the same state for what follows it."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from traveltide_assets.lib import evidence
from traveltide_assets.lib.evidence import _permuted, assess_segments, exclusivity, normal_scores, permutation_null


def weakly_segmented(users: int, seed: int) -> np.ndarray:
    """Five signals with a small segment effect: the observed statistic lies inside the null, not beyond it, so
    that a p-value off by one resample would show."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((users, 5))
    x[np.arange(users), rng.integers(0, 5, users)] += 0.25
    return np.column_stack([normal_scores(x[:, j], rng) for j in range(5)])


def loop_null(signals: np.ndarray, n_permutations: int, rng: np.random.Generator) -> np.ndarray:
    """The null as assess_segments computed it before: one resample after another."""
    return np.array([exclusivity(_permuted(signals, rng)) for _ in range(n_permutations)])


@pytest.mark.parametrize("block_bytes", [evidence.NULL_BLOCK_BYTES, 7 * 5 * 300 * 8])  # whole; 7 per block
def test_the_blocked_null_is_the_loops(block_bytes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "NULL_BLOCK_BYTES", block_bytes)
    signals = weakly_segmented(300, seed=4)
    blocked_rng, loop_rng = np.random.default_rng(11), np.random.default_rng(11)
    blocked = permutation_null(signals, 199, blocked_rng)
    looped = loop_null(signals, 199, loop_rng)
    np.testing.assert_allclose(blocked, looped, rtol=0, atol=1e-12)
    # Both drew exactly the same numbers: the generators are in the same state afterwards.
    assert blocked_rng.bit_generator.state == loop_rng.bit_generator.state


def test_assess_segments_gives_the_loops_p_value_and_what_follows_the_null(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "NULL_BLOCK_BYTES", 13 * 5 * 400 * 8)  # 13 resamples per block: 199 = 15 x 13 + 4
    signals = weakly_segmented(400, seed=9)
    result = assess_segments(signals, n_permutations=199, n_bootstrap=2, seed=5)
    rng = np.random.default_rng(5)
    looped = loop_null(signals, 199, rng)
    observed = exclusivity(signals)
    p_value = (1 + np.sum(looped >= observed)) / (1 + 199)
    assert 0.02 < p_value < 0.98  # inside the null: a resample on the wrong side would change it
    assert result.p_value == p_value
    assert result.null_mean == pytest.approx(looped.mean(), abs=1e-12)
    assert result.null_sd == pytest.approx(looped.std(ddof=1), abs=1e-12)
    # The permuted references of the silhouette come from the generator after the null: the same draws.
    silhouettes = [evidence._silhouette(_permuted(signals, rng), result.k, 5 + i) for i in range(4)]
    assert result.silhouette_null_mean == float(np.mean(silhouettes))


def test_memory_stays_bounded_at_8x_the_real_cohort() -> None:
    """48,000 customers (8x the real volume's cohort), two blocks: numpy's allocations peak near one block."""
    signals = np.random.default_rng(2).standard_normal((48_000, 5))
    per_resample = signals.nbytes
    n_permutations = 2 * (evidence.NULL_BLOCK_BYTES // per_resample)
    tracemalloc.start()
    try:
        permutation_null(signals, n_permutations, np.random.default_rng(3))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert evidence.NULL_BLOCK_BYTES <= 100 * 2**20
    assert peak < evidence.NULL_BLOCK_BYTES + 4 * per_resample, peak / 2**20
