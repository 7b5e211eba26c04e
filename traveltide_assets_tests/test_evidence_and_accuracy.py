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

from traveltide_assets.definitions import defs
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.perks.settings import PerkModelSettings
from traveltide_assets.lib.accuracy import accuracy_report, ceiling_accuracy, ceiling_features
from traveltide_assets.lib.catalog import PERKS
from traveltide_assets.lib.evidence import assess_segments, stability_ari
from traveltide_assets.lib.scoring import PERK_DRIVERS, assign_perks, score_perks
from traveltide_assets.pipeline import execute
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import REAL_USERS, GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import GROUND_TRUTH_FILE, write_parquet_store
from traveltide_assets.validation.evaluate import JSON_KEYS
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
    assert evidence.verdict == "segments exist" and evidence.estimated_shift_sd > 2
    assert evidence.shift_upper_95_sd > evidence.estimated_shift_sd > evidence.detectable_shift_sd


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_gaussian_blob_has_no_segments(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mixing = np.eye(len(PERKS)) + 0.3  # correlated, but one blob
    blob = rng.standard_normal((3_000, len(PERKS))) @ mixing
    evidence = assess_segments(blob, n_permutations=199, n_bootstrap=3, seed=seed)
    assert not evidence.segments_exist
    assert evidence.p_value > 0.05
    # Positively correlated signals: no exclusivity at all, so 0.5 SD segments are ruled out at 3,000 customers.
    assert evidence.verdict == "evidence of none" and evidence.shift_upper_95_sd < 0.5
    assert evidence.estimated_shift_sd == 0.0 and 0.6 < evidence.detectable_shift_sd < 0.85


def test_independent_signals_at_a_small_cohort_are_no_evidence_at_this_size() -> None:
    noise = np.random.default_rng(9).standard_normal((600, len(PERKS)))
    evidence = assess_segments(noise, n_permutations=199, n_bootstrap=2, seed=9)
    assert evidence.verdict == "no evidence at this size" and not evidence.segments_exist
    assert evidence.detectable_shift_sd > 1.0 and evidence.shift_upper_95_sd > 0.5


def test_the_quick_start_defaults_are_the_real_volume() -> None:
    """The embedded default and both --users defaults are the real volume (tests pass small sizes explicitly)."""
    from traveltide_assets.cli.main import build_parser

    assert TravelTideSource().embedded_users == REAL_USERS
    parser = build_parser()
    assert parser.parse_args(["run"]).users == REAL_USERS
    assert parser.parse_args(["generate"]).users == REAL_USERS


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
    scores = score_perks(features)
    assert np.allclose(scores.drop(columns="user_id").mean(), 0, atol=1e-9)
    # The probabilities here follow the scores (softmax), so that the reason of the favourite is what is tested.
    matrix = np.exp(scores[[f"score_{p}" for p in PERKS]].to_numpy())
    probabilities = pd.DataFrame(matrix / matrix.sum(axis=1, keepdims=True), columns=[f"p_{p}" for p in PERKS])
    probabilities.insert(0, "user_id", scores["user_id"])
    assigned = assign_perks(probabilities, scores, features, PerkModelSettings().band).iloc[0]
    assert assigned["favourite_perk"] == perk
    assert assigned["margin"] > 0 and assigned["runner_up_perk"] != perk
    assert assigned["confidence"] in ("high", "medium", "low")
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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_report_is_sklearns_on_the_perk_names(seed: int) -> None:
    """The report numbers the labels for speed; its figures are exactly sklearn's on the names themselves, also
    with a perk nobody has and a planted label outside the catalogue."""
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(seed)
    n = 2_000
    planted = rng.choice([*PERKS[1:], "a_perk_retired_since"], n, p=[0.3, 0.3, 0.2, 0.15, 0.05])
    favourite = np.where(rng.random(n) < 0.5, planted, rng.choice(PERKS[:4], n))
    favourite = np.where(np.isin(favourite, PERKS), favourite, PERKS[2])
    report = accuracy_report(
        pd.DataFrame({"user_id": range(n), "favourite_perk": favourite}),
        pd.DataFrame({"user_id": range(n), "favourite_perk": planted}),
    )
    assert report is not None
    labels = list(PERKS)
    precision, recall, _, support = precision_recall_fscore_support(planted, favourite, labels=labels, zero_division=0)
    assert report["accuracy"] == float(np.mean(planted == favourite))
    assert report["balanced_accuracy"] == float(balanced_accuracy_score(planted, favourite))
    assert [report["per_perk"][p]["precision"] for p in labels] == precision.tolist()
    assert [report["per_perk"][p]["recall"] for p in labels] == recall.tolist()
    assert [report["per_perk"][p]["support"] for p in labels] == support.tolist()
    assert report["confusion"] == confusion_matrix(planted, favourite, labels=labels).tolist()


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
    # Without a truth the evaluation assets hold no rows; every other table is identical with and without it.
    for name in ("perk_accuracy", "perk_calibration"):
        assert len(_table(tmp_path / "a", name)) > 0, name
        assert len(_table(tmp_path / "b", name)) == 0, name
    assert {p.name for p in (tmp_path / "a" / "parquet").iterdir()} == {
        p.name for p in (tmp_path / "b" / "parquet").iterdir()
    }
    for name in ("session_cohort", "user_features", "perk_scores", "user_segments", "segment_evidence",
                 "perk_assignments", "perk_summary", "perk_evidence", "perk_probabilities",
                 "assignment_reliability", "user_segment_profiles"):  # fmt: skip
        pd.testing.assert_frame_equal(_table(tmp_path / "a", name), _table(tmp_path / "b", name), obj=name)
    _check_calibration_table(tmp_path / "a")

    # Who reads the truth: with a truth file that cannot be read, exactly the steps that read it fail.
    (source_dir / GROUND_TRUTH_FILE).write_bytes(b"not a Parquet file")
    broken = run_graph(TravelTideSource(embedded_dir=str(source_dir)), Warehouse.in_folder(tmp_path / "c"))
    assert {e.step_key for e in broken.get_step_failure_events()} == {"perk_accuracy", "perk_calibration"}
    ran = {e.asset_key.to_user_string() for e in broken.get_asset_materialization_events()}
    everything = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert ran == everything - {"perk_accuracy", "perk_calibration", "executive_summary"}  # the report waits
    # The report, the slides and the read-out over the evaluation tables of run a: they do not read the truth.
    report = execute(
        resources={
            "source": TravelTideSource(embedded_dir=str(source_dir)),
            "warehouse": Warehouse.in_folder(tmp_path / "a"),
            "study": StudySettings(),
        },
        job_name="campaign_results",
    )
    assert report.success
    shown = {e.asset_key.to_user_string() for e in report.get_asset_materialization_events()}
    assert {"executive_summary", "executive_slides", "campaign_readout"} <= shown


def _check_calibration_table(folder: Path) -> None:
    """perk_calibration: ten equal deciles of rising probability, the three bands and all, agreeing with
    perk_assignments and the planted truth."""
    table = _table(folder, "perk_calibration")
    assert list(table.columns) == [
        "kind", "bin", "users", "share", "mean_probability", "accuracy", "ece", "brier", "top_quintile_accuracy",
    ]  # fmt: skip
    assert table["kind"].tolist() == ["decile"] * 10 + ["band"] * 3 + ["all"]
    assert table["bin"].tolist() == [str(d) for d in range(1, 11)] + ["high", "medium", "low", "all"]
    deciles, bands = table[table["kind"] == "decile"], table[table["kind"] == "band"]
    overall = table[table["kind"] == "all"].iloc[0]
    assigned = _table(folder, "perk_assignments")
    accuracy = _table(folder, "perk_accuracy").set_index("perk").loc["all"]
    assert overall["users"] == accuracy["support"] == deciles["users"].sum() == bands["users"].sum()
    assert overall["accuracy"] == pytest.approx(accuracy["precision"])  # the 'all' row's precision is accuracy
    assert deciles["mean_probability"].is_monotonic_increasing
    assert deciles["users"].max() - deciles["users"].min() <= 1
    if overall["users"] == len(assigned):  # every customer has a planted favourite
        assert overall["mean_probability"] == pytest.approx(assigned["probability"].mean())
    assert 0 <= overall["ece"] <= 1 and 0 <= overall["brier"] <= 2 and 0 <= overall["top_quintile_accuracy"] <= 1
    assert table.loc[table["kind"] != "all", ["ece", "brier", "top_quintile_accuracy"]].isna().all().all()
    shares = assigned["confidence"].value_counts(normalize=True)
    for band in bands.itertuples():
        assert band.share == pytest.approx(shares.get(band.bin, 0.0))


def test_evaluate_command_writes_every_key(tmp_path: Path) -> None:
    # A tiny volume, one seed and one ceiling seed instead of CEILING_SEEDS' ten, to stay near half a minute.
    out = tmp_path / "eval.json"
    done = subprocess.run(
        [sys.executable, "-m", "traveltide_assets.cli", "evaluate", "--seeds", "1", "--mixes", "default,null",
         "--users", "20000", "--ceiling-seeds", "9001", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())
    assert len(rows) == 2
    assert all(list(r) == list(JSON_KEYS) for r in rows)
    default = [r for r in rows if r["mix"] == "default"]
    null = [r for r in rows if r["mix"] == "null"]
    assert all(0 <= r["accuracy"] <= 1 and r["ceiling_accuracy"] is not None for r in default)
    assert all(0 <= r["ece"] <= 1 and 0 <= r["brier"] <= 2 and 0 <= r["top_quintile_accuracy"] <= 1 for r in default)
    assert all(r["accuracy"] is None and r["ceiling_accuracy"] is None and r["ece"] is None for r in null)
    # Split-half reliability needs no truth: every row has it.
    for r in rows:
        assert -1 <= r["split_half_kappa"] <= 1
        assert 0 <= r["observed_agreement"] <= 1 and 0 <= r["predicted_agreement"] <= 1
    # Only the default mix trained a ceiling (null has no planted favourites), on the ceiling seed given.
    assert "default ceiling seed 9001" in done.stderr + done.stdout
    assert "null ceiling seed" not in done.stderr + done.stdout
    assert "segments_exist" in done.stdout
    assert "ECE" in done.stdout and "kappa" in done.stdout and "split_half_kappa" in done.stdout


def test_evaluated_seeds_cannot_train_the_ceiling() -> None:
    from traveltide_assets.validation.evaluate import CEILING_SEEDS, evaluate

    assert len(CEILING_SEEDS) >= 10 and len(set(CEILING_SEEDS)) == len(CEILING_SEEDS)
    with pytest.raises(ValueError, match=r"seed\(s\) 9003 train the ceiling"):
        evaluate([1, 9003], ["default"], users=1_000)
    with pytest.raises(ValueError, match="at least one training seed"):
        evaluate([1], ["default"], users=1_000, ceiling_seeds=())


def test_ceiling_features_add_the_model_counts() -> None:
    features = pd.DataFrame({"user_id": [2, 1], "bookings": [3, 4], "gender": ["F", "M"]})
    counts = pd.DataFrame({"user_id": [1, 2], "bookings": [4, 3], "checked_bags": [1, 0]})
    joined = ceiling_features(features, counts)
    assert joined["user_id"].tolist() == [2, 1]
    assert joined[["evidence_bookings", "evidence_checked_bags"]].to_numpy().tolist() == [[3.0, 0.0], [4.0, 1.0]]
    assert joined["evidence_checked_bags"].dtype == float
