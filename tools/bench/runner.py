"""`traveltide bench`: the product against the usual pandas approach, against the strongest peer approach (one
PostgreSQL CTE query, tools/bench/peer_cte.py) and against the raw COPY limit, on the same synthetic data in the
same PostgreSQL, with wall time and peak memory of each contender in its own process."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tools.bench.model_fit import time_model_fits
from tools.bench.peer_cte import OUTPUT_NAME as PEER_OUTPUT
from tools.bench.source_timing import busiest_month, extraction_queries, throwaway_or, time_copy, time_extract
from traveltide_assets.sources.connection import PG_SESSION_SETTINGS
from traveltide_assets.sources.pg_url import with_options
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig
from traveltide_assets.synthetic.load import load_generated

JSON_KEYS = (
    "users", "sessions", "ours_s", "pandas_s", "copy_s", "extract_s", "ours_peak_rss_mib", "pandas_peak_rss_mib",
    "speedup_vs_pandas", "extract_vs_copy", "model_fit_s", "reliability_s",
    # The peer CTE contender (added later, so after the original keys): its full run, its recompute (what it does
    # for a one-month refresh), ours' one-month refresh, and ours over the peer for each.
    "peer_cte_s", "peer_cte_recompute_s", "peer_cte_peak_rss_mib", "refresh_month_s",
    "ours_over_peer_cte", "refresh_over_peer_cte_recompute",
    # Per step, the median of its Dagster step durations over the rounds: ours' timed run (to_perk_assignments),
    # then the rest of the whole lineage (after_perk_assignments, in its own process after it) and its wall time.
    "ours_steps_s", "ours_rest_steps_s", "ours_rest_s",
)  # fmt: skip

Progress = Callable[[str], None]


def measure_process(
    contender: str, url: str, workdir: Path, months: str | None = None
) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, peak RSS MiB, the worker's own report) of one contender in a fresh process.

    The peak RSS is the one the worker measures of itself (worker.peak_rss_mib), not wait4's, which on Linux
    also counts this parent's memory at the time of the fork."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / f"{contender}{'-' + months if months else ''}.json"
    started = time.perf_counter()
    with out.open("w") as fh:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.bench.worker", contender, url, str(workdir),
             *([months] if months else [])],
            stdout=fh, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert process.stderr is not None
        errors = process.stderr.read()
        process.wait()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        tail = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"bench contender {contender!r} failed: {tail[0]}")
    report = json.loads(out.read_text())
    return wall, report["peak_rss_mib"], report


def cpu_steal_share() -> Callable[[], float | None]:
    """Start watching the share of CPU time the hypervisor gave to other guests ('steal', /proc/stat); the
    returned function says it for the time since. Timings on a machine with steal are slower than its cores."""

    def counters() -> list[int] | None:
        try:
            first = Path("/proc/stat").read_text().splitlines()[0].split()
        except OSError:
            return None
        return [int(v) for v in first[1:9]] if first[0] == "cpu" and len(first) >= 9 else None

    start = counters()

    def share() -> float | None:
        end = counters()
        if start is None or end is None:
            return None
        spent = [b - a for a, b in zip(start, end, strict=True)]
        return spent[7] / sum(spent) if sum(spent) else None

    return share


def median_steps(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each step's median duration over the rounds it ran in, in the order the steps first ran."""
    names = dict.fromkeys(step for steps in rounds for step in steps)
    return {step: round(statistics.median(r[step] for r in rounds if step in r), 3) for step in names}


def user_ids(parquet: Path) -> set[int]:
    return set(pq.read_table(parquet, columns=["user_id"]).column("user_id").to_pylist())


def cohort_difference(ours: Path, peer_output: Path) -> tuple[int, int]:
    """(users the peer assigned, users in only one of ours' perk_assignments and the peer's output): the peer
    must compute ours' cohort, or the bench would compare different work."""
    ours_users = user_ids(Warehouse.in_folder(ours).parquet_path("perk_assignments"))
    peer_users = user_ids(peer_output)
    return len(peer_users), len(ours_users ^ peer_users)


def keep_outputs(ours: Path, peer: Path, keep: Path) -> None:
    """Copy the last round's outputs (ours' warehouse folder, the peer's Parquet) out of the throwaway folder."""
    shutil.copytree(ours, keep / "ours", dirs_exist_ok=True)
    shutil.copy2(peer / PEER_OUTPUT, keep / PEER_OUTPUT)


ROUND_NAMES = ("copy", "extract", "ours", "ours_rest", "peer_cte", "refresh", "peer_cte_recompute", "model_fit",
               "reliability", "pandas")  # fmt: skip


@dataclass
class Tally:
    """Every round's figures, by contender."""

    times: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in ROUND_NAMES})
    steps: dict[str, list[dict[str, float]]] = field(default_factory=lambda: {"ours": [], "ours_rest": []})
    rss: dict[str, list[float]] = field(default_factory=lambda: {"ours": [], "pandas": [], "peer_cte": []})
    cohorts: list[tuple[int, int]] = field(default_factory=list)

    def process(self, name: str, measured: tuple[float, float, dict[str, Any]], rss_of: str | None = None) -> dict:
        """Record a contender's process (seconds, peak RSS, report); returns its report."""
        seconds, peak, report = measured
        self.times[name].append(seconds)
        if rss_of is not None:
            self.rss[rss_of].append(peak)
        if name in self.steps:
            self.steps[name].append(report["steps"])
        return report


@dataclass(frozen=True)
class Setting:
    """What every round runs against: the source, its busiest month, the peer's URL and a work folder."""

    target: str
    queries: list[str]
    month: str
    peer_url: str
    workdir: Path


def bench(
    users: int,
    url: str | None = None,
    seed: int = 7,
    progress: Progress | None = None,
    repeats: int = 1,
    baseline: bool = True,
    keep: Path | None = None,
) -> dict[str, Any]:
    """Time the contenders on one generated source. With `repeats` > 1 every contender runs that many rounds,
    interleaved (copy, extract, ours, peer CTE, ours' refresh, the peer's recompute, pandas; again), and each
    figure is the median of its rounds, so that a slow spell of a shared machine falls on every contender alike.
    With `keep`, the last round's outputs are copied there."""
    say = progress or (lambda _m: None)
    tally = Tally()
    with throwaway_or(url) as target, tempfile.TemporaryDirectory(prefix="traveltide-bench-") as tmp:
        say(f"generating {users:,} users and loading them into PostgreSQL")
        # In slices above four times the real volume (synthetic/slices.py), so that 8x fits in memory.
        sessions = load_generated(GeneratorConfig(users=users, seed=seed), target)
        # The peer's sessions get the product's session settings: only the approach differs, not the tuning.
        setting = Setting(
            target, extraction_queries(target), busiest_month(target), with_options(target, PG_SESSION_SETTINGS),
            Path(tmp),
        )  # fmt: skip
        time_copy(target, setting.queries)  # a warm-up: every contender then reads from the same warm cache
        steal = cpu_steal_share()
        for round_ in range(1, repeats + 1):
            of = f" (round {round_} of {repeats})" if repeats > 1 else ""
            _round(setting, tally, say, of, keep if round_ == repeats else None, baseline)
        steal_share = steal()
    return _summary(users, sessions, setting.month, tally, baseline, steal_share)


def _round(setting: Setting, tally: Tally, say: Progress, of: str, keep: Path | None, baseline: bool) -> None:
    """One round of every contender, in the order of `bench`'s docstring."""
    target, workdir, peer = setting.target, setting.workdir, setting.workdir / "peer_cte"
    say(f"copy: COPY of the extraction queries to nowhere{of}")
    tally.times["copy"].append(time_copy(target, setting.queries))
    say(f"extract: the product's extraction of the same rows{of}")
    tally.times["extract"].append(time_extract(target, workdir))
    say(f"ours: the product's graph to perk_assignments, fresh warehouse, own process{of}")
    ours = workdir / "ours"
    tally.process("ours", measure_process("ours", target, ours), rss_of="ours")
    say(f"ours, the rest of the full run: reliability, evidence, evaluation, campaign, report{of}")
    tally.process("ours_rest", measure_process("ours_rest", target, ours))
    say(f"peer CTE: one PostgreSQL query to per-user features, k-means, perk indices, Parquet, own process{of}")
    report = tally.process("peer_cte", measure_process("peer_cte", setting.peer_url, peer), rss_of="peer_cte")
    tally.cohorts.append(cohort_difference(ours, Path(report["output"])))
    say(f"refresh: one month ({setting.month}) into the warehouse that run left, then everything downstream{of}")
    months = f"{setting.month}..{setting.month}"
    tally.process("refresh", measure_process("ours", target, ours, months=months))
    say(f"peer CTE recompute: its one-month refresh is the whole run again (no incremental path){of}")
    tally.process("peer_cte_recompute", measure_process("peer_cte", setting.peer_url, peer), rss_of="peer_cte")
    say(f"model: the perk model fitted on that warehouse's evidence, once whole and once per half{of}")
    fits = time_model_fits(ours)
    tally.times["model_fit"].append(fits["fit_s"])
    tally.times["reliability"].append(fits["reliability_s"])
    if keep is not None:
        keep_outputs(ours, peer, keep)
    shutil.rmtree(ours, ignore_errors=True)
    if baseline:  # at several times the real volume the baseline needs more memory than the machine
        say(f"pandas: read_sql of whole tables, merges, groupbys, k-means, own process{of}")
        tally.process("pandas", measure_process("pandas", target, workdir / "pandas"), rss_of="pandas")


def _summary(
    users: int, sessions: int, month: str, tally: Tally, baseline: bool, steal_share: float | None
) -> dict[str, Any]:
    """The figures of the JSON: medians of the rounds, ratios, and every round's figures."""
    mid = {k: statistics.median(v) if v else float("nan") for k, v in tally.times.items()}
    rss = tally.rss
    return {
        "users": users,
        "sessions": sessions,
        "ours_s": round(mid["ours"], 3),
        "pandas_s": round(mid["pandas"], 3) if baseline else None,
        "copy_s": round(mid["copy"], 3),
        "extract_s": round(mid["extract"], 3),
        "ours_peak_rss_mib": round(max(rss["ours"]), 1),
        "pandas_peak_rss_mib": round(max(rss["pandas"]), 1) if rss["pandas"] else None,
        "speedup_vs_pandas": round(mid["pandas"] / mid["ours"], 2) if baseline else None,
        "extract_vs_copy": round(mid["extract"] / mid["copy"], 2),
        "peer_cte_s": round(mid["peer_cte"], 3),
        "peer_cte_recompute_s": round(mid["peer_cte_recompute"], 3),
        "peer_cte_peak_rss_mib": round(max(rss["peer_cte"]), 1),
        "ours_over_peer_cte": round(mid["ours"] / mid["peer_cte"], 2),
        "refresh_over_peer_cte_recompute": round(mid["refresh"] / mid["peer_cte_recompute"], 2),
        # Beside the original JSON keys (the table prints them): a daily refresh of one month after that full
        # run, every round's figures, the CPU steal while the contenders ran, and whether the peer's users were
        # ours' cohort in every round.
        "refresh_month": month,
        "refresh_month_s": round(mid["refresh"], 3),
        "model_fit_s": round(mid["model_fit"], 3),
        "reliability_s": round(mid["reliability"], 3),
        "rounds": {k: [round(t, 2) for t in v] for k, v in tally.times.items()},
        "cpu_steal": None if steal_share is None else round(steal_share, 3),
        "peer_cte_users": tally.cohorts[-1][0],
        "peer_cte_cohort_mismatches": max(differ for _, differ in tally.cohorts),
        "ours_steps_s": median_steps(tally.steps["ours"]),
        "ours_rest_steps_s": median_steps(tally.steps["ours_rest"]),
        "ours_rest_s": round(mid["ours_rest"], 3),
    }
