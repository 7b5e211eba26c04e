"""Dagster resources: the TravelTide source, the DuckDB warehouse (+ Parquet exports) and the study settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import ConfigurableResource
from pydantic import Field

from traveltide_assets.sources.connection import EmbeddedConnection, PostgresConnection, SourceConnection
from traveltide_assets.sources.contract import GROUND_TRUTH_FILE, SOURCE_TABLES, TRUTH_PG_SCHEMA
from traveltide_assets.sources.pg_url import redact, validate_pg_url
from traveltide_assets.sql_files import read_sql
from traveltide_assets.synthetic.generate import REAL_USERS


class SourceSchemaError(RuntimeError):
    """The source does not have the table or column the pipeline expects."""


class TravelTideSource(ConfigurableResource):
    """Where raw rows come from: a PostgreSQL URL when configured, else the embedded Parquet store."""

    postgres_url: str | None = Field(default=None, description="postgresql://... of the TravelTide database")
    embedded_dir: str = Field(default="data/source", description="Folder of the embedded synthetic source")
    embedded_users: int = Field(
        default=REAL_USERS, description="Users to generate when the embedded store is absent (the real volume)"
    )
    embedded_seed: int = 7

    @property
    def is_postgres(self) -> bool:
        return bool(self.postgres_url)

    def describe(self) -> str:
        if self.postgres_url:
            return f"PostgreSQL {redact(self.postgres_url)}"
        return f"embedded Parquet store {self.embedded_dir}"

    def ensure_available(self) -> str | None:
        """Generate the embedded store on first use; returns a note when it did."""
        if self.is_postgres:
            validate_pg_url(self.postgres_url or "")
            return None
        folder = Path(self.embedded_dir)
        if self._embedded_store_present():
            return None
        from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
        from traveltide_assets.synthetic.load import write_parquet_store

        config = GeneratorConfig(users=self.embedded_users, seed=self.embedded_seed)
        write_parquet_store(generate_source(config), folder)
        return f"generated the embedded synthetic source ({self.embedded_users:,} users) in {folder}"

    def _embedded_store_present(self) -> bool:
        return all((Path(self.embedded_dir) / f"{t.name}.parquet").is_file() for t in SOURCE_TABLES)

    def newest_session_start(self) -> dt.datetime | None:
        """When the source's newest session started; None without sessions, or while the embedded store has
        not been generated yet (the first run generates it)."""
        if not self.is_postgres and not self._embedded_store_present():
            return None
        with self.open() as connection:
            newest = connection.fetch(read_sql("raw/extract/newest_session.sql")).column(0)[0].as_py()
        return newest if isinstance(newest, dt.datetime) else None

    @contextmanager
    def open(self) -> Iterator[SourceConnection]:
        """One connection for a step's reads (read-only on PostgreSQL)."""
        connection: SourceConnection = (
            PostgresConnection(self.postgres_url) if self.postgres_url else EmbeddedConnection(Path(self.embedded_dir))
        )
        try:
            yield connection
        finally:
            connection.close()

    def ground_truth(self) -> pa.Table | None:
        """The planted truth of a synthetic source, or None (a real database has none)."""
        if self.is_postgres:
            with self.open() as connection:
                present = connection.fetch(
                    "SELECT 1 FROM information_schema.tables "
                    f"WHERE table_schema = '{TRUTH_PG_SCHEMA}' AND table_name = 'ground_truth'"
                )
                if not present.num_rows:
                    return None
                return connection.fetch(f"SELECT user_id, favourite_perk FROM {TRUTH_PG_SCHEMA}.ground_truth")
        path = Path(self.embedded_dir) / GROUND_TRUTH_FILE
        return pq.read_table(path) if path.is_file() else None
