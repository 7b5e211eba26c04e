"""Dagster resources: the TravelTide source, the DuckDB warehouse (+ Parquet exports) and the study settings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import ConfigurableResource
from pydantic import Field

from traveltide_assets.sources.connection import EmbeddedConnection, PostgresConnection, SourceConnection
from traveltide_assets.sources.contract import GENERATOR_FILE, GROUND_TRUTH_FILE, SOURCE_TABLES, TRUTH_PG_SCHEMA
from traveltide_assets.sources.pg_url import redact, validate_pg_url
from traveltide_assets.sql_files import read_sql
from traveltide_assets.storage.paths import SOURCE_URL_MISSING, SourceUrlRequiredError
from traveltide_assets.synthetic.generate import REAL_USERS

NOT_TRAVELTIDE = "\u2014 not TravelTide data"


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
    require_url: bool = Field(
        default=False, description="Refuse the embedded synthetic store (TRAVELTIDE_REQUIRE_SOURCE_URL=1)"
    )

    @property
    def is_postgres(self) -> bool:
        return bool(self.postgres_url)

    def describe(self) -> str:
        if self.postgres_url:
            return f"PostgreSQL {redact(self.postgres_url)}"
        return f"embedded Parquet store {self.embedded_dir}"

    def is_synthetic(self) -> bool:
        """Whether the customers are generated, told without reading the truth: the embedded store always is; a
        PostgreSQL is when it holds the planted-truth table beside the tables (only a synthetic load makes it)."""
        if not self.is_postgres:
            return True
        with self.open() as connection:
            found = connection.fetch(
                "SELECT 1 FROM information_schema.tables "
                f"WHERE table_schema = '{TRUTH_PG_SCHEMA}' AND table_name = 'ground_truth'"
            )
        return found.num_rows > 0

    def provenance(self) -> str:
        """One line saying whose customers these are, for every output built from them: for the embedded store
        the generator's settings it recorded (GENERATOR_FILE), for PostgreSQL the URL without its password."""
        if self.is_postgres:
            where = f"PostgreSQL {redact(self.postgres_url or '')}"
            return (
                f"Synthetic customers (generated, planted truth in {where}) {NOT_TRAVELTIDE}"
                if self.is_synthetic()
                else where
            )
        return f"Synthetic customers (generated, {self._generator_settings()}) {NOT_TRAVELTIDE}"

    def _generator_settings(self) -> str:
        path = Path(self.embedded_dir) / GENERATOR_FILE
        try:
            settings = json.loads(path.read_text())
        except (OSError, ValueError):  # a store written before the settings were recorded
            return "seed not recorded"
        described = [f"seed {settings['seed']}"]
        if settings.get("mix", "default") != "default":
            described.append(f"mix {settings['mix']}")
        if settings.get("signal", 1.0) != 1.0:
            described.append(f"signal {settings['signal']:g}")
        return ", ".join(described)

    def ensure_available(self) -> str | None:
        """Generate the embedded store on first use; returns a note when it did. A deployment that requires
        TravelTide's database fails here, in the first step, before anything is read or written."""
        if self.require_url and not self.is_postgres:
            raise SourceUrlRequiredError(SOURCE_URL_MISSING)
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
            if not self.is_synthetic():
                return None
            with self.open() as connection:
                return connection.fetch(f"SELECT user_id, favourite_perk FROM {TRUTH_PG_SCHEMA}.ground_truth")
        path = Path(self.embedded_dir) / GROUND_TRUTH_FILE
        return pq.read_table(path) if path.is_file() else None
