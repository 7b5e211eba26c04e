"""Calibration metrics (traveltide_assets/lib/calibration.py) on simulated predictors with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve

from traveltide_assets.lib.calibration import (
    CALIBRATION_COLUMNS,
    accuracy_by_band,
    brier,
    calibration_by_decile,
    calibration_table,
    ece,
    reliability_bins,
    top_quintile_accuracy,
)
from traveltide_assets.lib.catalog import CONFIDENCE_BANDS


def _calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A predictor right with exactly the probability it states."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.2, 1.0, n)
    return p, rng.uniform(size=n) < p


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_calibrated_predictor_has_ece_near_zero(seed: int) -> None:
    p, correct = _calibrated(50_000, seed)
    assert ece(p, correct) < 0.01


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_overconfident_predictor_does_not(seed: int) -> None:
    p, correct = _calibrated(50_000, seed)
    stated = np.clip(p + 0.5 * (1 - p), 0, 1)  # closer to 1 than the hit rate warrants
    assert ece(stated, correct) > 0.15
    # ECE is the mean gap when every customer falls in bins whose probability exceeds their accuracy.
    assert ece(stated, correct) == pytest.approx(float(np.mean(stated) - np.mean(correct)), abs=0.01)


def test_constant_probability_ece_is_the_gap() -> None:
    correct = np.array([True] * 3 + [False] * 7)
    assert ece(np.full(10, 0.9), correct) == pytest.approx(0.6)
    assert ece(np.full(10, 0.3), correct) == pytest.approx(0.0)


def test_bins_match_sklearn_calibration_curve() -> None:
    rng = np.random.default_rng(5)
    p = np.concatenate([rng.uniform(size=2_000), np.linspace(0, 1, 11)])  # bin edges included
    correct = rng.uniform(size=p.size) < p**2
    table = reliability_bins(p, correct)
    accuracy, mean_probability = calibration_curve(correct, p, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(table["accuracy"], accuracy)
    np.testing.assert_allclose(table["mean_probability"], mean_probability)
    assert table["users"].sum() == p.size
    assert ((table["lower"] <= table["mean_probability"]) & (table["mean_probability"] <= table["upper"])).all()


def test_brier_of_one_hot_right_is_zero_and_wrong_is_two() -> None:
    truth = np.array([0, 3, 4, 1])
    one_hot = np.eye(5)[truth]
    assert brier(one_hot, truth) == pytest.approx(0.0)
    assert brier(np.eye(5)[(truth + 1) % 5], truth) == pytest.approx(2.0)
    assert brier(np.full((4, 5), 0.2), truth) == pytest.approx(0.8)


def test_brier_is_the_mean_squared_distance_to_the_truth() -> None:
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(5), 500)
    truth = rng.integers(0, 5, 500)
    expected = np.mean(((p - np.eye(5)[truth]) ** 2).sum(axis=1))
    assert brier(p, truth) == pytest.approx(expected)
    with pytest.raises(ValueError):
        brier(p, np.full(500, 5))


def test_top_quintile_accuracy_takes_the_most_confident_fifth() -> None:
    p = np.linspace(0.21, 0.99, 100)
    correct = p > 0.8  # exactly the top 25 are right
    assert top_quintile_accuracy(p, correct) == pytest.approx(1.0)
    shuffled = np.random.default_rng(0).permutation(100)
    assert top_quintile_accuracy(p[shuffled], correct[shuffled]) == pytest.approx(1.0)
    assert top_quintile_accuracy(p, ~correct) == pytest.approx(0.0)
    assert top_quintile_accuracy([0.5, 0.9], [False, True]) == pytest.approx(1.0)  # at least one customer


def test_deciles_are_equal_sized_and_rising() -> None:
    p, correct = _calibrated(10_000, 7)
    table = calibration_by_decile(p, correct)
    assert list(table.columns) == ["decile", "users", "mean_probability", "accuracy"]
    assert table["decile"].tolist() == list(range(1, 11))
    assert (table["users"] == 1_000).all()
    assert table["mean_probability"].is_monotonic_increasing
    np.testing.assert_allclose(table["accuracy"], table["mean_probability"], atol=0.05)
    ties = calibration_by_decile(np.full(20, 0.5), np.arange(20) % 2 == 0)
    assert (ties["users"] == 2).all()
    assert len(calibration_by_decile([0.3, 0.6, 0.9], [True, False, True])) == 3


def test_bands_list_every_band_with_shares() -> None:
    p = np.array([0.9, 0.7, 0.5, 0.45, 0.3])
    bands = np.array(["high", "high", "medium", "medium", "medium"])
    correct = np.array([True, False, True, True, False])
    table = accuracy_by_band(bands, p, correct)
    assert table["band"].tolist() == list(CONFIDENCE_BANDS)
    high, medium, low = (table.set_index("band").loc[b] for b in CONFIDENCE_BANDS)
    assert high["users"] == 2 and high["share"] == pytest.approx(0.4) and high["accuracy"] == pytest.approx(0.5)
    assert medium["mean_probability"] == pytest.approx(1.25 / 3) and medium["accuracy"] == pytest.approx(2 / 3)
    assert low["users"] == 0 and low["share"] == 0 and np.isnan(low["accuracy"])


def test_calibration_table_holds_deciles_bands_and_all() -> None:
    p, correct = _calibrated(1_000, 9)
    bands = np.where(p >= 0.6, "high", np.where(p >= 0.4, "medium", "low"))
    table = calibration_table(bands, p, correct)
    assert tuple(table.columns) == CALIBRATION_COLUMNS
    assert table["kind"].value_counts().to_dict() == {"decile": 10, "band": 3, "all": 1}
    for kind in ("decile", "band"):
        assert table.loc[table["kind"] == kind, "users"].sum() == 1_000
        assert table.loc[table["kind"] == kind, "share"].sum() == pytest.approx(1.0)
    overall = table.set_index("kind").loc["all"]
    assert overall["accuracy"] == pytest.approx(correct.mean())
    assert pd.api.types.is_integer_dtype(table["users"])


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        ece([0.5, 1.5], [True, False])
    with pytest.raises(ValueError):
        ece([0.5], [True, False])
