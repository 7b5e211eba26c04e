"""`traveltide bench`: the product against the usual pandas approach, against the strongest peer approach (one
PostgreSQL CTE query, tools/bench/peer_cte.py) and against the raw COPY limit, on the same synthetic data in the
same PostgreSQL, with wall time and peak memory of each contender in its own process."""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow.parquet as pq

from tools.bench.model_fit import time_model_fits
from tools.bench.peer_cte import OUTPUT_NAME as PEER_OUTPUT
from tools.local_postgres import LocalPostgres
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.partitions import FIRST_SESSION_MONTH, all_months, full_run_months, months_between
from traveltide_assets.defs.raw.extract_plan import ExtractPlan, stage_extract
from traveltide_assets.sources.connection import PG_SESSION_SETTINGS
from traveltide_assets.sources.pg_url import with_options
from traveltide_assets.sources.resource import TravelTideSource
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


def extraction_queries(url: str) -> list[str]:
    """The product's extraction of a full run, rendered: one statement that counts the cohort and returns its
    users, its sessions and their trips."""
    return [ExtractPlan(full_run_plan_months(url), rebuild=True).query(StudySettings())]


def full_run_plan_months(url: str) -> list[str]:
    """The months of a full run of the source (partitions.full_run_months), as the product's run plans them."""
    return months_between(*full_run_months(TravelTideSource(postgres_url=url).newest_session_start()))


def time_copy(url: str, queries: list[str]) -> float:
    """The extraction queries through COPY ... TO STDOUT into nothing, in a session with the product's settings:
    the server's and the wire's limit."""
    started = time.perf_counter()
    with psycopg.connect(with_options(url, PG_SESSION_SETTINGS)) as conn, conn.cursor() as cur:
        for query in queries:
            with cur.copy(f"COPY ({query}) TO STDOUT") as copy:
                for _ in copy:
                    pass
    return time.perf_counter() - started


def time_extract(url: str, workdir: Path) -> float:
    """The product's own extraction of the same rows: the statement's rows streamed as Arrow batches into a DuckDB
    table (the split into the raw tables and the publication to Parquet left out)."""
    months = full_run_plan_months(url)  # the run's months are known before it extracts (pipeline.execute)
    query = ExtractPlan(months, rebuild=True).query(StudySettings())
    started = time.perf_counter()
    with (
        TravelTideSource(postgres_url=url).open() as source,
        duckdb.connect(str(workdir / "extract.duckdb")) as con,
        source.stream(query) as reader,
    ):
        stage_extract(con, reader)
    return time.perf_counter() - started


def busiest_month(url: str) -> str:
    """The session month with the most sessions: what a daily refresh of a live database re-reads."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT to_char(date_trunc('month', session_start), 'YYYY-MM') AS m FROM sessions "
            "WHERE session_start >= %s GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            (FIRST_SESSION_MONTH,),
        ).fetchone()
    return row[0] if row else all_months()[-1]


@contextlib.contextmanager
def _postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with LocalPostgres() as server:
        yield server.url


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
    names = ("copy", "extract", "ours", "ours_rest", "peer_cte", "refresh", "peer_cte_recompute", "model_fit",
             "reliability")  # fmt: skip
    times: dict[str, list[float]] = {k: [] for k in (*names, "pandas")}
    steps: dict[str, list[dict[str, float]]] = {"ours": [], "ours_rest": []}
    rss: dict[str, list[float]] = {"ours": [], "pandas": [], "peer_cte": []}
    cohorts: list[tuple[int, int]] = []
    with _postgres(url) as target, tempfile.TemporaryDirectory(prefix="traveltide-bench-") as tmp:
        workdir = Path(tmp)
        say(f"generating {users:,} users and loading them into PostgreSQL")
        # In slices above four times the real volume (synthetic/slices.py), so that 8x fits in memory.
        sessions = load_generated(GeneratorConfig(users=users, seed=seed), target)
        queries = extraction_queries(target)
        month = busiest_month(target)
        # The peer's sessions get the product's session settings: only the approach differs, not the tuning.
        peer_url, peer = with_options(target, PG_SESSION_SETTINGS), workdir / "peer_cte"
        time_copy(target, queries)  # a warm-up: every contender then reads from the same warm cache
        steal = cpu_steal_share()
        for round_ in range(1, repeats + 1):
            of = f" (round {round_} of {repeats})" if repeats > 1 else ""
            say(f"copy: COPY of the extraction queries to nowhere{of}")
            times["copy"].append(time_copy(target, queries))
            say(f"extract: the product's extraction of the same rows{of}")
            times["extract"].append(time_extract(target, workdir))
            say(f"ours: the product's graph to perk_assignments, fresh warehouse, own process{of}")
            ours = workdir / f"ours-{round_}"
            seconds, peak, report = measure_process("ours", target, ours)
            times["ours"].append(seconds)
            rss["ours"].append(peak)
            steps["ours"].append(report["steps"])
            say(f"ours, the rest of the full run: reliability, evidence, evaluation, campaign, report{of}")
            seconds, _, report = measure_process("ours_rest", target, ours)
            times["ours_rest"].append(seconds)
            steps["ours_rest"].append(report["steps"])
            say(f"peer CTE: one PostgreSQL query to per-user features, k-means, perk indices, Parquet, own process{of}")
            seconds, peak, report = measure_process("peer_cte", peer_url, peer)
            times["peer_cte"].append(seconds)
            rss["peer_cte"].append(peak)
            cohorts.append(cohort_difference(ours, Path(report["output"])))
            say(f"refresh: one month ({month}) into the warehouse that run left, then everything downstream{of}")
            times["refresh"].append(measure_process("ours", target, ours, months=f"{month}..{month}")[0])
            say(f"peer CTE recompute: its one-month refresh is the whole run again (no incremental path){of}")
            seconds, peak, _ = measure_process("peer_cte", peer_url, peer)
            times["peer_cte_recompute"].append(seconds)
            rss["peer_cte"].append(peak)
            say(f"model: the perk model fitted on that warehouse's evidence, once whole and once per half{of}")
            fits = time_model_fits(ours)
            times["model_fit"].append(fits["fit_s"])
            times["reliability"].append(fits["reliability_s"])
            if keep is not None and round_ == repeats:
                keep_outputs(ours, peer, keep)
            shutil.rmtree(ours, ignore_errors=True)
            if not baseline:  # at several times the real volume the baseline needs more memory than the machine
                continue
            say(f"pandas: read_sql of whole tables, merges, groupbys, k-means, own process{of}")
            seconds, peak, _ = measure_process("pandas", target, workdir / "pandas")
            times["pandas"].append(seconds)
            rss["pandas"].append(peak)
        steal_share = steal()
    mid = {k: statistics.median(v) if v else float("nan") for k, v in times.items()}
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
        "rounds": {k: [round(t, 2) for t in v] for k, v in times.items()},
        "cpu_steal": None if steal_share is None else round(steal_share, 3),
        "peer_cte_users": cohorts[-1][0],
        "peer_cte_cohort_mismatches": max(differ for _, differ in cohorts),
        "ours_steps_s": median_steps(steps["ours"]),
        "ours_rest_steps_s": median_steps(steps["ours_rest"]),
        "ours_rest_s": round(mid["ours_rest"], 3),
    }
