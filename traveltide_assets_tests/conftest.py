"""Shared fixtures: a real throwaway PostgreSQL server, small synthetic sources, and one whole-graph run on a
small planted source (read by the report and the slides tests, which copy it before changing anything)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from dagster import ExecuteInProcessResult

from tools.local_postgres import LocalPostgres
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, SyntheticSource, generate_source
from traveltide_assets.synthetic.load import write_parquet_store
from traveltide_assets_tests.pipeline_harness import run_graph

# Big enough for stable rates and a cohort of a few hundred users, small enough to generate in ~2 s.
STATS_USERS = 80_000


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    with LocalPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def stats_source() -> SyntheticSource:
    return generate_source(GeneratorConfig(users=STATS_USERS, seed=11))


@pytest.fixture(scope="session")
def stats_store(stats_source: SyntheticSource, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stats_source")
    write_parquet_store(stats_source, folder)
    return folder


@pytest.fixture(scope="session")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small planted source (a cohort of about 160) in the embedded layout."""
    folder = tmp_path_factory.mktemp("small_planted_source")
    write_parquet_store(generate_source(GeneratorConfig(users=30_000, seed=19)), folder)
    return folder


@pytest.fixture(scope="session")
def planted_run(source_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[ExecuteInProcessResult, Path]:
    """The whole graph on `source_dir` (report and slides included), before any sign-up came back."""
    folder = tmp_path_factory.mktemp("planted_run")
    return run_graph(TravelTideSource(embedded_dir=str(source_dir)), Warehouse.in_folder(folder)), folder


def parquet_views(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per Parquet file of a source folder."""
    con = duckdb.connect()
    for path in sorted(folder.glob("*.parquet")):
        con.read_parquet(str(path)).create_view(path.stem)
    return con
