"""`traveltide evaluate`: the whole pipeline per seed and perk mix on a fresh synthetic source, scored against the
planted truth and against the ceiling (a supervised classifier trained on the other seeds' truth)."""

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

from traveltide_assets.accuracy import accuracy_report, ceiling_accuracy
from traveltide_assets.pipeline import PipelineError, execute, failure_message
from traveltide_assets.resources import StudySettings, TravelTideSource, Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import GROUND_TRUTH_FILE, write_parquet_store
from traveltide_assets.synthetic.mixes import resolve_mix

JSON_KEYS = (
    "seed", "mix", "users", "cohort_users", "accuracy", "balanced_accuracy", "ceiling_accuracy",
    "segments_exist", "p_value", "stability_ari",
)  # fmt: skip


@dataclass
class SeedResult:
    seed: int
    mix: str
    users: int
    features: pd.DataFrame
    truth: pd.DataFrame
    assigned: pd.DataFrame
    evidence: dict[str, Any]
    ceiling: float | None = None

    def row(self) -> dict[str, Any]:
        report = accuracy_report(self.assigned, self.truth)
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
        }


def run_seed(mix: str, seed: int, users: int, workdir: Path) -> SeedResult:
    folder = workdir / f"{mix}_{seed}"
    source_dir = folder / "source"
    write_parquet_store(generate_source(GeneratorConfig(users=users, seed=seed, mix=mix)), source_dir)
    warehouse = Warehouse.in_folder(folder)
    result = execute(
        resources={
            "source": TravelTideSource(embedded_dir=str(source_dir)),
            "warehouse": warehouse,
            "study": StudySettings(),
        }
    )
    if not result.success:
        raise PipelineError(f"{mix} seed {seed}: {failure_message(result)}")
    with duckdb.connect(warehouse.path, read_only=True) as con:
        features = con.sql("SELECT * FROM user_features ORDER BY user_id").df()
        assigned = con.sql("SELECT * FROM perk_assignments ORDER BY user_id").df()
        evidence = con.sql("SELECT * FROM segment_evidence").df().iloc[0].to_dict()
    truth = pq.read_table(source_dir / GROUND_TRUTH_FILE).to_pandas()
    truth = truth[truth["user_id"].isin(features["user_id"])].reset_index(drop=True)  # keep only what is scored
    shutil.rmtree(folder)
    return SeedResult(seed, mix, users, features, truth, assigned, evidence)


def add_ceilings(results: list[SeedResult]) -> None:
    """For each seed: train on the other seeds of the same mix, score on this one."""
    for result in results:
        others = [r for r in results if r.mix == result.mix and r.seed != result.seed]
        if others:
            result.ceiling = ceiling_accuracy([(o.features, o.truth) for o in others], (result.features, result.truth))


def evaluate(
    seeds: list[int], mixes: list[str], users: int, progress: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    say = progress or (lambda _m: None)
    for mix in mixes:
        resolve_mix(mix)
    results = []
    with tempfile.TemporaryDirectory(prefix="traveltide-evaluate-") as tmp:
        for mix in mixes:
            for seed in seeds:
                say(f"{mix} seed {seed}: generating {users:,} users and running the pipeline")
                results.append(run_seed(mix, seed, users, Path(tmp)))
    add_ceilings(results)
    return [r.row() for r in results]


def _fmt(value: Any, pattern: str = "{:.3f}") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return pattern.format(value)
    return str(value)


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
    for mix in dict.fromkeys(r["mix"] for r in rows):
        group = [r for r in rows if r["mix"] == mix]
        found = sum(r["segments_exist"] for r in group)
        text = f"{mix}: segments_exist {found}/{len(group)}"
        for key in ("accuracy", "balanced_accuracy", "ceiling_accuracy"):
            values = [r[key] for r in group if r[key] is not None]
            if values:
                spread = statistics.stdev(values) if len(values) > 1 else 0.0
                text += f"; {key} {statistics.mean(values):.3f} ± {spread:.3f} (min {min(values):.3f})"
        lines.append(text)
    return "\n".join(lines)


def write_json(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([{k: r[k] for k in JSON_KEYS} for r in rows], indent=2) + "\n")
