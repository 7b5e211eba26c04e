"""Shared fixtures: a real throwaway PostgreSQL server and small synthetic sources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from traveltide_assets.local_postgres import LocalPostgres
from traveltide_assets.synthetic.generate import GeneratorConfig, SyntheticSource, generate_source
from traveltide_assets.synthetic.load import write_parquet_store

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


def parquet_views(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per Parquet file of a source folder."""
    con = duckdb.connect()
    for path in sorted(folder.glob("*.parquet")):
        con.read_parquet(str(path)).create_view(path.stem)
    return con
