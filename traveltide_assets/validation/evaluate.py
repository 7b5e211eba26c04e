"""`traveltide evaluate`: the whole pipeline per seed and perk mix on a fresh synthetic source, scored against the
planted truth (accuracy and calibration), for split-half reliability, and against the ceiling: a supervised
classifier trained on the truth of a fixed set of other seeds (CEILING_SEEDS) of the same mix and volume."""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.lib.accuracy import accuracy_report, ceiling_accuracy, ceiling_features
from traveltide_assets.lib.calibration import calibration_report
from traveltide_assets.pipeline import PipelineError, execute, failure_message
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import GROUND_TRUTH_FILE, write_parquet_store
from traveltide_assets.synthetic.mixes import resolve_mix

JSON_KEYS = (
    "seed", "mix", "users", "cohort_users", "accuracy", "balanced_accuracy", "ceiling_accuracy",
    "segments_exist", "p_value", "stability_ari",
    "ece", "brier", "top_quintile_accuracy", "split_half_kappa", "predicted_agreement", "observed_agreement",
)  # fmt: skip
# The ceiling's training sources: generated at the evaluated volume and mix, never evaluated themselves, the same
# whatever seeds are evaluated (so the ceiling of seed 1 does not change with how many seeds run beside it).
CEILING_SEEDS: tuple[int, ...] = tuple(range(9001, 9011))


@dataclass
class SeedResult:
    seed: int
    mix: str
    users: int
    features: pd.DataFrame
    truth: pd.DataFrame
    assigned: pd.DataFrame
    evidence: dict[str, Any]
    probabilities: pd.DataFrame | None = None  # perk_probabilities
    reliability: dict[str, Any] | None = None  # the 'all' row of assignment_reliability
    ceiling: float | None = None

    def row(self) -> dict[str, Any]:
        report = accuracy_report(self.assigned, self.truth)
        calibration = (
            calibration_report(self.assigned, self.probabilities, self.truth)
            if report and self.probabilities is not None
            else None
        )
        reliability = self.reliability or {}

        def figure(source: dict[str, Any] | None, key: str) -> float | None:
            return float(source[key]) if source and source.get(key) is not None else None

        return {
            "seed": self.seed,
            "mix": self.mix,
            "users": self.users,
            "cohort_users": len(self.features),
            "accuracy": report["accuracy"] if report else None,
            "balanced_accuracy": report["balanced_accuracy"] if report else None,
            "ceiling_accuracy": self.ceiling if report else None,
            "segments_exist": bool(self.evidence["segments_exist"]),
            "p_value": float(self.evidence["p_value"]),
            "stability_ari": float(self.evidence["stability_ari"]),
            "ece": figure(calibration, "ece"),
            "brier": figure(calibration, "brier"),
            "top_quintile_accuracy": figure(calibration, "top_quintile_accuracy"),
            "split_half_kappa": figure(reliability, "kappa"),
            "predicted_agreement": figure(reliability, "predicted_agreement"),
            "observed_agreement": figure(reliability, "observed_agreement"),
        }


def _pipeline(mix: str, seed: int, users: int, folder: Path, job_name: str) -> tuple[Warehouse, Path]:
    """A fresh synthetic source in `folder` and one run of `job_name` on it; (warehouse, source folder)."""
    source_dir = folder / "source"
    write_parquet_store(generate_source(GeneratorConfig(users=users, seed=seed, mix=mix)), source_dir)
    warehouse = Warehouse.in_folder(folder)
    result = execute(
        resources={
            "source": TravelTideSource(embedded_dir=str(source_dir)),
            "warehouse": warehouse,
            "study": StudySettings(),
        },
        job_name=job_name,
    )
    if not result.success:
        raise PipelineError(f"{mix} seed {seed}: {failure_message(result)}")
    return warehouse, source_dir


def _scored_truth(source_dir: Path, users: pd.Series) -> pd.DataFrame:
    truth = pq.read_table(source_dir / GROUND_TRUTH_FILE).to_pandas()
    return truth[truth["user_id"].isin(users)].reset_index(drop=True)  # keep only what is scored


def run_seed(mix: str, seed: int, users: int, workdir: Path) -> SeedResult:
    folder = workdir / f"{mix}_{seed}"
    warehouse, source_dir = _pipeline(mix, seed, users, folder, "refresh_all")
    with duckdb.connect(warehouse.path, read_only=True) as con:
        features = con.sql("SELECT * FROM user_features ORDER BY user_id").df()
        counts = con.sql("SELECT * FROM perk_evidence ORDER BY user_id").df()
        assigned = con.sql("SELECT * FROM perk_assignments ORDER BY user_id").df()
        probabilities = con.sql("SELECT * FROM perk_probabilities ORDER BY user_id").df()
        evidence = con.sql("SELECT * FROM segment_evidence").df().iloc[0].to_dict()
        reliability = con.sql("SELECT * FROM assignment_reliability WHERE perk = 'all'").df()
    truth = _scored_truth(source_dir, features["user_id"])
    shutil.rmtree(folder)
    return SeedResult(
        seed,
        mix,
        users,
        ceiling_features(features, counts),
        truth,
        assigned,
        evidence,
        probabilities=probabilities,
        reliability=reliability.iloc[0].to_dict() if len(reliability) else None,
    )


def ceiling_training_frame(mix: str, seed: int, users: int, workdir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ceiling features, truth) of one training source: the pipeline up to perk_assignments, which holds
    everything the ceiling reads (user_features, perk_evidence), without the evidence test and the report."""
    folder = workdir / f"ceiling_{mix}_{seed}"
    warehouse, source_dir = _pipeline(mix, seed, users, folder, "to_perk_assignments")
    with duckdb.connect(warehouse.path, read_only=True) as con:
        features = con.sql("SELECT * FROM user_features ORDER BY user_id").df()
        counts = con.sql("SELECT * FROM perk_evidence ORDER BY user_id").df()
    truth = _scored_truth(source_dir, features["user_id"])
    shutil.rmtree(folder)
    return ceiling_features(features, counts), truth


def check_ceiling_seeds(seeds: list[int], ceiling_seeds: tuple[int, ...]) -> None:
    if not ceiling_seeds:
        raise ValueError("the ceiling needs at least one training seed")
    clash = sorted(set(seeds) & set(ceiling_seeds))
    if clash:
        raise ValueError(
            f"seed(s) {', '.join(map(str, clash))} train the ceiling (ceiling seeds "
            f"{min(ceiling_seeds)}..{max(ceiling_seeds)}) and cannot be evaluated: choose other seeds"
        )


def add_ceilings(results: list[SeedResult], training: dict[str, list[tuple[pd.DataFrame, pd.DataFrame]]]) -> None:
    """For each seed with planted favourites: train on its mix's ceiling seeds, score on this seed."""
    for result in results:
        if result.mix in training and accuracy_report(result.assigned, result.truth) is not None:
            result.ceiling = ceiling_accuracy(training[result.mix], (result.features, result.truth))


def evaluate(
    seeds: list[int],
    mixes: list[str],
    users: int,
    progress: Callable[[str], None] | None = None,
    ceiling_seeds: tuple[int, ...] = CEILING_SEEDS,
) -> list[dict[str, Any]]:
    say = progress or (lambda _m: None)
    for mix in mixes:
        resolve_mix(mix)
    ceiling_seeds = tuple(ceiling_seeds)
    check_ceiling_seeds(seeds, ceiling_seeds)
    results: list[SeedResult] = []
    training_frames: dict[tuple[str, int], list[tuple[pd.DataFrame, pd.DataFrame]]] = {}  # (mix, users) -> frames
    with tempfile.TemporaryDirectory(prefix="traveltide-evaluate-") as tmp:
        for mix in mixes:
            mine = []
            for seed in seeds:
                say(f"{mix} seed {seed}: generating {users:,} users and running the pipeline")
                mine.append(run_seed(mix, seed, users, Path(tmp)))
            results += mine
            # A mix without planted favourites (null) has no accuracy, so no ceiling to train.
            if (mix, users) in training_frames or all(accuracy_report(r.assigned, r.truth) is None for r in mine):
                continue
            frames = []
            for seed in ceiling_seeds:
                say(f"{mix} ceiling seed {seed}: generating {users:,} users and running the pipeline")
                frames.append(ceiling_training_frame(mix, seed, users, Path(tmp)))
            training_frames[(mix, users)] = frames
    add_ceilings(results, {mix: frames for (mix, _), frames in training_frames.items()})
    return [r.row() for r in results]


def _fmt(value: Any, pattern: str = "{:.3f}") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return pattern.format(value)
    return str(value)


# The per-mix summary: mean ± sd (min) of these, one line of accuracy and one of calibration and reliability.
SUMMARY_KEYS = (
    ("accuracy", "balanced_accuracy", "ceiling_accuracy"),
    ("ece", "brier", "top_quintile_accuracy", "split_half_kappa", "observed_agreement", "predicted_agreement"),
)


def format_table(rows: list[dict[str, Any]]) -> str:
    header = ("mix", "seed", "users", "cohort", "accuracy", "bal.acc", "ceiling", "ours/ceil", "segments", "p", "ARI")
    lines = [" ".join(f"{h:>10}" for h in header)]
    for r in rows:
        ratio = r["accuracy"] / r["ceiling_accuracy"] if r["accuracy"] and r["ceiling_accuracy"] else None
        cells = (
            r["mix"], r["seed"], r["users"], r["cohort_users"], r["accuracy"], r["balanced_accuracy"],
            r["ceiling_accuracy"], ratio, r["segments_exist"], r["p_value"], r["stability_ari"],
        )  # fmt: skip
        lines.append(" ".join(f"{_fmt(c):>10}" for c in cells))
    lines.append("")
    # Calibration (planted truth only) and split-half reliability, in a second table.
    header = ("mix", "seed", "ECE", "Brier", "top-5th", "kappa", "agreement", "predicted")
    lines.append(" ".join(f"{h:>10}" for h in header))
    for r in rows:
        cells = (
            r["mix"], r["seed"], r["ece"], r["brier"], r["top_quintile_accuracy"], r["split_half_kappa"],
            r["observed_agreement"], r["predicted_agreement"],
        )  # fmt: skip
        lines.append(" ".join(f"{_fmt(c):>10}" for c in cells))
    lines.append("")
    for mix in dict.fromkeys(r["mix"] for r in rows):
        group = [r for r in rows if r["mix"] == mix]
        found = sum(r["segments_exist"] for r in group)
        texts = [f"{mix}: segments_exist {found}/{len(group)}", f"{mix}:"]
        for i, keys in enumerate(SUMMARY_KEYS):
            for key in keys:
                values = [r[key] for r in group if r[key] is not None]
                if values:
                    spread = statistics.stdev(values) if len(values) > 1 else 0.0
                    texts[i] += f"; {key} {statistics.mean(values):.3f} ± {spread:.3f} (min {min(values):.3f})"
        lines.append(texts[0])
        lines.append(texts[1].replace(":;", ":", 1))
    return "\n".join(lines)


def write_json(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([{k: r[k] for k in JSON_KEYS} for r in rows], indent=2) + "\n")
