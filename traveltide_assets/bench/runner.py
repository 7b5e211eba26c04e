"""`traveltide bench`: the product against the usual pandas approach and against the raw COPY limit, on the same
synthetic data in the same PostgreSQL, with wall time and peak memory of each contender in its own process."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg

from traveltide_assets.local_postgres import LocalPostgres
from traveltide_assets.partitions import FIRST_SESSION_MONTH, all_months, month_bounds
from traveltide_assets.resources import TravelTideSource
from traveltide_assets.sql_files import read_sql
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import load_postgres

JSON_KEYS = (
    "users", "sessions", "ours_s", "pandas_s", "copy_s", "extract_s", "ours_peak_rss_mib", "pandas_peak_rss_mib",
    "speedup_vs_pandas", "extract_vs_copy",
)  # fmt: skip
EXTRACTS = ("users", "sessions", "flights", "hotels")

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
            [sys.executable, "-m", "traveltide_assets.bench.worker", contender, url, str(workdir),
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


def _extraction_sql() -> dict[str, str]:
    """The extraction queries, comments dropped (they mention the $1 parameter too)."""
    return {
        table: "\n".join(line for line in read_sql(f"extract/{table}.sql").splitlines() if not line.startswith("--"))
        for table in EXTRACTS
    }


def _params(query: str, bounds: tuple[dt.datetime, dt.datetime]) -> tuple[object, ...]:
    """$1, $2 of an extraction query: the session-month bounds of a full run (users take none)."""
    return bounds if "$1" in query else ()


def time_copy(url: str, bounds: tuple[dt.datetime, dt.datetime]) -> float:
    """The extraction queries through COPY ... TO STDOUT into nothing: the server's and the wire's limit."""
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for query in _extraction_sql().values():
            copy_sql = f"COPY ({query.replace('$1', '%s').replace('$2', '%s')}) TO STDOUT"
            with cur.copy(copy_sql, _params(query, bounds) or None) as copy:
                for _ in copy:
                    pass
    return time.perf_counter() - started


def time_extract(url: str, bounds: tuple[dt.datetime, dt.datetime], workdir: Path) -> float:
    """The product's own extraction of the same rows: Arrow batches from the source into a DuckDB table."""
    source = TravelTideSource(postgres_url=url)
    started = time.perf_counter()
    with duckdb.connect(str(workdir / "extract.duckdb")) as con:
        for table, query in _extraction_sql().items():
            with source.read(query, _params(query, bounds)) as reader:
                con.register("_incoming", reader)
                con.execute(f"CREATE OR REPLACE TABLE raw_{table} AS SELECT * FROM _incoming").fetchall()
                con.unregister("_incoming")
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


def bench(users: int, url: str | None = None, seed: int = 7, progress: Progress | None = None) -> dict[str, Any]:
    say = progress or (lambda _m: None)
    months = all_months()
    bounds = month_bounds(months[0], months[-1])
    with _postgres(url) as target, tempfile.TemporaryDirectory(prefix="traveltide-bench-") as tmp:
        workdir = Path(tmp)
        say(f"generating {users:,} users and loading them into PostgreSQL")
        source = generate_source(GeneratorConfig(users=users, seed=seed))
        sessions = source.sessions.num_rows
        load_postgres(source, target)
        del source
        say("copy: COPY of the extraction queries to nowhere (one warm-up, then timed)")
        time_copy(target, bounds)
        copy_s = time_copy(target, bounds)
        say("extract: the product's extraction of the same rows")
        extract_s = time_extract(target, bounds, workdir)
        say("ours: the product's graph to perk_assignments, fresh warehouse, own process")
        ours_s, ours_rss, _ = measure_process("ours", target, workdir / "ours")
        month = busiest_month(target)
        say(f"refresh: one month ({month}) into the warehouse that run left, then everything downstream")
        refresh_s, _, _ = measure_process("ours", target, workdir / "ours", months=f"{month}..{month}")
        say("pandas: read_sql of whole tables, merges, groupbys, k-means, own process")
        pandas_s, pandas_rss, _ = measure_process("pandas", target, workdir / "pandas")
    return {
        "users": users,
        "sessions": sessions,
        "ours_s": round(ours_s, 3),
        "pandas_s": round(pandas_s, 3),
        "copy_s": round(copy_s, 3),
        "extract_s": round(extract_s, 3),
        "ours_peak_rss_mib": round(ours_rss, 1),
        "pandas_peak_rss_mib": round(pandas_rss, 1),
        "speedup_vs_pandas": round(pandas_s / ours_s, 2),
        "extract_vs_copy": round(extract_s / copy_s, 2),
        # Beside the JSON keys (the table prints them): a daily refresh of one month after that full run.
        "refresh_month": month,
        "refresh_month_s": round(refresh_s, 3),
    }


def format_result(result: dict[str, Any]) -> str:
    rows = [
        ("users / sessions", f"{result['users']:,} / {result['sessions']:,}"),
        (
            "ours (graph to perk_assignments)",
            f"{result['ours_s']:.1f} s, peak RSS {result['ours_peak_rss_mib']:,.0f} MiB",
        ),
        (f"ours, refresh of one month ({result['refresh_month']})", f"{result['refresh_month_s']:.1f} s"),
        ("pandas baseline", f"{result['pandas_s']:.1f} s, peak RSS {result['pandas_peak_rss_mib']:,.0f} MiB"),
        ("copy (COPY TO STDOUT, the limit)", f"{result['copy_s']:.2f} s"),
        ("extract (ours, same rows)", f"{result['extract_s']:.2f} s"),
        ("speedup vs pandas", f"{result['speedup_vs_pandas']:.1f}x"),
        ("extract / copy", f"{result['extract_vs_copy']:.2f}"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
