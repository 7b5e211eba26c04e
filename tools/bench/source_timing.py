"""The source side of the bench: the product's extraction statement, timed through a bare COPY and as the product
runs it, the busiest session month, and the PostgreSQL the contenders read."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg

from tools.local_postgres import LocalPostgres
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.partitions import FIRST_SESSION_MONTH, all_months, full_run_months, months_between
from traveltide_assets.defs.raw.extract_plan import ExtractPlan, stage_extract
from traveltide_assets.sources.connection import PG_SESSION_SETTINGS
from traveltide_assets.sources.pg_url import with_options
from traveltide_assets.sources.resource import TravelTideSource


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
def throwaway_or(url: str | None) -> Iterator[str]:
    """`url`, or a throwaway local server's for the block."""
    if url:
        yield url
        return
    with LocalPostgres() as server:
        yield server.url
