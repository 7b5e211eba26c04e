"""Segment evidence, scoring and accuracy on constructed data with an obvious answer; no truth leaks; evaluate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from traveltide_assets.accuracy import accuracy_report, ceiling_accuracy
from traveltide_assets.catalog import PERKS
from traveltide_assets.evaluate import JSON_KEYS
from traveltide_assets.evidence import assess_segments, stability_ari
from traveltide_assets.resources import TravelTideSource, Warehouse
from traveltide_assets.scoring import PERK_DRIVERS, assign_perks, perk_scores
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import GROUND_TRUTH_FILE, write_parquet_store
from traveltide_assets_tests.pipeline_harness import run_graph

ROOT = Path(__file__).resolve().parents[1]


def _clustered(n: int, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, len(PERKS), n)
    x = rng.standard_normal((n, len(PERKS)))
    x[np.arange(n), group] += shift
    return x, group


def test_clear_exclusive_clusters_are_found() -> None:
    x, _ = _clustered(3_000, shift=3.0, seed=1)
    evidence = assess_segments(x, n_permutations=199, n_bootstrap=3, seed=1)
    assert evidence.segments_exist and evidence.p_value <= 0.01
    assert evidence.effect_size > 5
    assert evidence.silhouette > evidence.silhouette_null_mean
    assert evidence.stability_ari > 0.5


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_gaussian_blob_has_no_segments(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mixing = np.eye(len(PERKS)) + 0.3  # correlated, but one blob
    blob = rng.standard_normal((3_000, len(PERKS))) @ mixing
    evidence = assess_segments(blob, n_permutations=199, n_bootstrap=3, seed=seed)
    assert not evidence.segments_exist
    assert evidence.p_value > 0.05


def test_stability_is_low_for_noise_and_high_for_separated_groups() -> None:
    noise = np.random.default_rng(4).standard_normal((1_500, 5))
    separated, _ = _clustered(1_500, shift=8.0, seed=4)
    assert stability_ari(separated, 5, 4, seed=0) > 0.9
    assert stability_ari(noise, 5, 4, seed=0) < stability_ari(separated, 5, 4, seed=0)


def _features_with_one_standout(feature: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    columns = {d.feature for drivers in PERK_DRIVERS.values() for d in drivers}
    frame = pd.DataFrame({c: rng.uniform(0.2, 0.4, 200) for c in columns})
    frame.insert(0, "user_id", np.arange(200))
    frame.loc[0, feature] = 5.0
    return frame


@pytest.mark.parametrize(
    ("feature", "perk"),
    [
        ("bags_per_seat", "free_checked_bag"),
        ("cancellation_rate", "no_cancellation_fees"),
        ("discount_used_rate", "exclusive_discounts"),
        ("hotel_only_rate", "free_hotel_meal"),
        ("bundle_rate", "free_hotel_night_with_flight"),
    ],
)
def test_a_standout_driver_makes_its_perk_the_favourite(feature: str, perk: str) -> None:
    features = _features_with_one_standout(feature)
    scores = perk_scores(features)
    assert np.allclose(scores.drop(columns="user_id").mean(), 0, atol=1e-9)
    assigned = assign_perks(scores, features).iloc[0]
    assert assigned["favourite_perk"] == perk
    assert assigned["margin"] > 0 and assigned["runner_up_perk"] != perk
    assert "cohort median" in assigned["reason"]


def test_accuracy_report_counts_right_and_wrong() -> None:
    truth = pd.DataFrame({"user_id": range(6), "favourite_perk": [PERKS[0]] * 3 + [PERKS[1]] * 3})
    assigned = pd.DataFrame({"user_id": range(6), "favourite_perk": [PERKS[0]] * 4 + [PERKS[1]] * 2})
    report = accuracy_report(assigned, truth)
    assert report is not None
    assert report["accuracy"] == pytest.approx(5 / 6)
    assert report["balanced_accuracy"] == pytest.approx((1 + 2 / 3) / 2)
    assert report["per_perk"][PERKS[1]]["recall"] == pytest.approx(2 / 3)
    assert report["confusion"][1][0] == 1
    none = truth.assign(favourite_perk="none")
    assert accuracy_report(assigned, none) is None


def test_ceiling_learns_a_learnable_rule() -> None:
    rng = np.random.default_rng(0)

    def seed_data(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        x = rng.standard_normal(n)
        features = pd.DataFrame({"user_id": range(n), "signal": x, "gender": rng.choice(["F", "M"], n)})
        truth = pd.DataFrame({"user_id": range(n), "favourite_perk": np.where(x > 0, PERKS[0], PERKS[1])})
        return features, truth

    assert ceiling_accuracy([seed_data(800), seed_data(800)], seed_data(400)) > 0.95


def _table(folder: Path, name: str) -> pd.DataFrame:
    frame = duckdb.sql(f"SELECT * FROM read_parquet('{folder / 'parquet' / name}.parquet')").df()
    return frame.sort_values("user_id").reset_index(drop=True) if "user_id" in frame else frame


def test_truth_does_not_leak_into_features_scores_or_clusters(tmp_path: Path) -> None:
    source_dir = tmp_path / "source"
    write_parquet_store(generate_source(GeneratorConfig(users=30_000, seed=13)), source_dir)
    with_truth = run_graph(TravelTideSource(embedded_dir=str(source_dir)), Warehouse.in_folder(tmp_path / "a"))
    (source_dir / GROUND_TRUTH_FILE).unlink()
    without = run_graph(TravelTideSource(embedded_dir=str(source_dir)), Warehouse.in_folder(tmp_path / "b"))
    assert with_truth.success and without.success
    materialised = {e.asset_key.to_user_string() for e in without.get_asset_materialization_events()}
    assert "perk_accuracy" not in materialised
    assert (tmp_path / "a" / "parquet" / "perk_accuracy.parquet").is_file()
    for name in ("session_cohort", "user_features", "perk_scores", "user_segments", "segment_evidence",
                 "perk_assignments", "perk_summary"):  # fmt: skip
        pd.testing.assert_frame_equal(_table(tmp_path / "a", name), _table(tmp_path / "b", name), obj=name)


def test_evaluate_command_writes_every_key(tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    done = subprocess.run(
        [sys.executable, "-m", "traveltide_assets.cli", "evaluate", "--seeds", "1,2", "--mixes", "default,null",
         "--users", "25000", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())
    assert len(rows) == 4
    assert all(list(r) == list(JSON_KEYS) for r in rows)
    default = [r for r in rows if r["mix"] == "default"]
    null = [r for r in rows if r["mix"] == "null"]
    assert all(0 <= r["accuracy"] <= 1 and r["ceiling_accuracy"] is not None for r in default)
    assert all(r["accuracy"] is None and r["ceiling_accuracy"] is None for r in null)
    assert "segments_exist" in done.stdout.splitlines()[-1] or "segments_exist" in done.stdout
