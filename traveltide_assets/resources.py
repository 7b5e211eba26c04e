"""Dagster resources: the TravelTide source, the DuckDB warehouse (+ Parquet exports) and the study settings."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import Field, PrivateAttr, field_validator

from traveltide_assets.atomic import remove_stale_staged
from traveltide_assets.duck import one_row, run
from traveltide_assets.partitions import FIRST_SESSION_MONTH
from traveltide_assets.pg_url import redact, validate_pg_url
from traveltide_assets.run_lock import Held, exclusive
from traveltide_assets.settings import CAMPAIGN_SIGNUPS_ENV, SOURCE_URL_ENV, data_dir
from traveltide_assets.source import EmbeddedConnection, PostgresConnection, SourceConnection
from traveltide_assets.sql_files import read_sql
from traveltide_assets.synthetic.generate import REAL_USERS
from traveltide_assets.synthetic.schema import GROUND_TRUTH_FILE, SOURCE_TABLES, TRUTH_PG_SCHEMA

# The asset tables (each has a Parquet export); bookkeeping lives in other schemas.
WAREHOUSE_TABLES = (
    "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND schema_name = 'main' ORDER BY table_name"
)
HIVE_OPTIONS = "hive_partitioning = true, hive_types_autocast = false"


class SourceSchemaError(RuntimeError):
    """The source does not have the table or column the pipeline expects."""


def check_cohort_start(value: str) -> str:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"cohort_start must be a date YYYY-MM-DD, got {value!r}") from None
    if day > dt.date.today():
        raise ValueError(f"cohort_start {value} is in the future")
    if day < FIRST_SESSION_MONTH:
        raise ValueError(
            f"cohort_start {value} is before {FIRST_SESSION_MONTH}, the first session month the raw extracts hold"
        )
    return value


def check_min_sessions(value: int) -> int:
    if value < 0:
        raise ValueError(f"min_sessions must be >= 0, got {value}")
    return value


class StudySettings(ConfigurableResource):
    """The cohort definition, shared by the extraction (date pushdown) and the cohort asset."""

    cohort_start: str = Field(default="2023-01-04", description="Sessions strictly after this date count.")
    min_sessions: int = Field(default=7, description="Cohort users have more than this many sessions.")

    @field_validator("cohort_start")
    @classmethod
    def _valid_start(cls, value: str) -> str:
        return check_cohort_start(value)

    @field_validator("min_sessions")
    @classmethod
    def _valid_min(cls, value: int) -> int:
        return check_min_sessions(value)

    @property
    def start_timestamp(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.cohort_start)


class PerkModelSettings(ConfigurableResource):
    """How sure a favourite must be to count as high or medium confidence, and how long the model may fit.

    Bands (docs/perk_model.md): `high` where the favourite's probability is at least `high_confidence`,
    `medium` from `medium_confidence`, else `low`. With five perks, chance is 0.2."""

    high_confidence: float = Field(default=0.6, description="Probability of the favourite from which it is 'high'.")
    medium_confidence: float = Field(default=0.4, description="Probability from which it is 'medium'.")
    max_iterations: int = Field(default=500, description="Iterations of the model's optimiser.")
    tolerance: float = Field(default=1e-9, description="Relative change of the likelihood at which a fit stops.")

    @field_validator("high_confidence", "medium_confidence")
    @classmethod
    def _probability(cls, value: float, info: Any) -> float:
        if not 0.2 < value < 1:
            raise ValueError(f"{info.field_name} must be above 0.2 (chance with five perks) and below 1, got {value}")
        return value

    @field_validator("medium_confidence")
    @classmethod
    def _ordered(cls, value: float, info: Any) -> float:
        high = info.data.get("high_confidence")
        if high is not None and value >= high:
            raise ValueError(f"medium_confidence ({value}) must be below high_confidence ({high})")
        return value

    @field_validator("max_iterations")
    @classmethod
    def _iterations(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"max_iterations must be at least 1, got {value}")
        return value

    @field_validator("tolerance")
    @classmethod
    def _tolerance(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(f"tolerance must be between 0 and 1, got {value}")
        return value

    def band(self, probability: Any) -> Any:
        """'high' / 'medium' / 'low' for an array of favourite probabilities."""
        import numpy as np

        p = np.asarray(probability, dtype=float)
        return np.where(p >= self.high_confidence, "high", np.where(p >= self.medium_confidence, "medium", "low"))


CAMPAIGN_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
SHARE_FIELDS = ("personalised_share", "generic_share", "random_perk_share")


class CampaignSettings(ConfigurableResource):
    """The invitation campaign: its id, the plan's randomisation and arm shares, the personalisation policy's
    assumed effects, and the base rate the power figure assumes (campaign_plan.py; README "The invitation campaign").

    Fields whose rule involves an earlier field (the shares' sum, gain and cost not both 0) validate their
    default too, so a run that configures only one share is still checked."""

    campaign_id: str = Field(
        default="rewards_invitation_1", description="Names the plan and its folder; a new id issues a new plan."
    )
    seed: int = Field(default=2027, description="The plan's randomisation: the same seed gives the same plan.")
    personalised_share: float = Field(default=0.6, description="Share of each stratum in the personalised arm.")
    generic_share: float = Field(default=0.2, description="Share in the generic arm (the email listing all perks).")
    random_perk_share: float = Field(
        default=0.2, validate_default=True, description="Share in the random-perk arm (a perk not the favourite)."
    )
    match_gain: float = Field(
        default=0.03, description="ASSUMED extra sign-up probability when the email leads with the true favourite."
    )
    mismatch_cost: float = Field(
        default=0.02, validate_default=True, description="ASSUMED loss when the email leads with another perk."
    )
    base_rate: float = Field(default=0.10, description="Assumed sign-up rate of the generic email (power figure).")
    signups_path: str | None = Field(default=None, description="A Parquet or CSV file of the campaign's sign-ups.")

    @field_validator("campaign_id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not CAMPAIGN_ID_PATTERN.fullmatch(value):
            raise ValueError(
                f"campaign_id must be 1-64 lower-case letters, digits, '_' or '-', starting with a letter or digit "
                f"(it names a folder), got {value!r}"
            )
        return value

    @field_validator("seed")
    @classmethod
    def _valid_seed(cls, value: int) -> int:
        if value < 0:  # numpy's seed sequences take non-negative integers only
            raise ValueError(f"seed must be >= 0, got {value}")
        return value

    @field_validator(*SHARE_FIELDS)
    @classmethod
    def _positive_share(cls, value: float, info: Any) -> float:
        if not 0 < value < 1:
            raise ValueError(f"{info.field_name} must be between 0 and 1 (every arm gets customers), got {value}")
        return value

    @field_validator("random_perk_share")
    @classmethod
    def _shares_sum_to_one(cls, value: float, info: Any) -> float:
        shares = [info.data.get(name) for name in SHARE_FIELDS[:-1]] + [value]
        if None not in shares and abs(sum(shares) - 1) > 1e-9:
            listed = " + ".join(f"{s:g}" for s in shares)
            raise ValueError(f"the arm shares must sum to 1, got {listed} = {sum(shares):g}")
        return value

    @field_validator("match_gain", "mismatch_cost")
    @classmethod
    def _non_negative(cls, value: float, info: Any) -> float:
        if not 0 <= value < 1:
            raise ValueError(f"{info.field_name} is a change of sign-up probability, >= 0 and below 1, got {value}")
        return value

    @field_validator("mismatch_cost")
    @classmethod
    def _some_effect(cls, value: float, info: Any) -> float:
        if value == 0 and info.data.get("match_gain") == 0:
            raise ValueError("match_gain and mismatch_cost cannot both be 0 (the policy would have nothing to weigh)")
        return value

    @field_validator("base_rate")
    @classmethod
    def _valid_base_rate(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(f"base_rate must be between 0 and 1, got {value}")
        return value

    @property
    def shares(self) -> tuple[float, float, float]:
        """The arm shares in campaign_plan.ARMS order: personalised, generic, random_perk."""
        return (self.personalised_share, self.generic_share, self.random_perk_share)


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
            newest = connection.fetch(read_sql("extract/newest_session.sql")).column(0)[0].as_py()
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


class Warehouse(ConfigurableResource):
    """The DuckDB warehouse file and the folder of Parquet exports beside it."""

    path: str = Field(default="data/warehouse.duckdb", description="DuckDB file holding every asset's table")
    parquet_dir: str = Field(default="data/parquet", description="One Parquet file per asset, for consumers")
    report_dir: str = Field(default="data/report", description="The marketing report (HTML + charts)")
    campaign_dir: str = Field(
        default="data/campaign", description="The campaign plans for the email tool: <campaign_id>/plan.csv"
    )
    memory_limit: str = Field(default="3GB", description="DuckDB memory_limit; beyond it DuckDB spills to disk")
    threads: int = Field(default=2, description="DuckDB worker threads")
    # A run holds the warehouse from its first step to its last, so two runs never interleave their assets.
    # Waiting (rather than failing at once) suits a schedule: a 04:00 refresh that meets a manual run starts
    # when that one is done (a full run takes about a minute) instead of losing the day; a holder that is
    # still there after 15 minutes is stuck, and the run fails saying who holds it.
    lock_timeout_s: float = Field(
        default=900.0, ge=0, description="Seconds a run waits for another run on this warehouse before failing"
    )
    _run_connection: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    @classmethod
    def in_folder(cls, folder: Path, **settings: Any) -> Warehouse:
        """The standard layout under one folder: warehouse.duckdb, parquet/, report/ and campaign/; `settings` sets
        the rest."""
        return cls(
            path=str(folder / "warehouse.duckdb"),
            parquet_dir=str(folder / "parquet"),
            report_dir=str(folder / "report"),
            campaign_dir=str(folder / "campaign"),
            **settings,
        )

    def _open(self) -> duckdb.DuckDBPyConnection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        config = {
            "memory_limit": self.memory_limit,
            "threads": str(self.threads),
            # Each commit of a run only appends to the write-ahead log; the tables are written into the file once,
            # when the run's connection closes, instead of at every commit past 16 MB of log (the default), which
            # rewrote tables that the next step replaced anyway (session_cohort 0.9 s -> 0.5 s at full volume).
            "checkpoint_threshold": "1GB",
        }
        return duckdb.connect(self.path, config=config)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The run's connection inside a run (yield_for_execution), else a connection of its own."""
        if self._run_connection is not None:
            yield self._run_connection
            return
        con = self._open()
        try:
            yield con
        finally:
            con.close()

    def parquet_path(self, asset: str) -> Path:
        return Path(self.parquet_dir) / f"{asset}.parquet"

    def parquet_dataset(self, asset: str) -> Path:
        """The hive-style folder of a month-partitioned asset: <asset>/session_month=YYYY-MM/data.parquet."""
        return Path(self.parquet_dir) / asset

    @property
    def lock_path(self) -> Path:
        return Path(f"{self.path}.lock")

    @contextmanager
    def run_lock(self, timeout_s: float | None = None, on_wait: Callable[[str], None] | None = None) -> Iterator[Held]:
        """Exclusive use of this warehouse and its Parquet and report folders by one run (run_lock.py)."""
        wait = self.lock_timeout_s if timeout_s is None else timeout_s
        with exclusive(self.lock_path, wait, f"warehouse {self.path}", on_wait) as held:
            yield held

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[Warehouse]:
        """For the whole run: hold the run lock, first cleaning up after a run that was killed."""
        started = time.time()

        def say(message: str) -> None:
            if context.log:
                context.log.warning(message)

        def waiting(holder: str) -> None:
            say(f"waiting up to {self.lock_timeout_s:g} s for warehouse {self.path}, in use by another run ({holder})")

        with self.run_lock(on_wait=waiting) as held:
            try:
                notes = self.recover(interrupted_holder=held.interrupted_holder, older_than=started)
            except (OSError, duckdb.Error) as exc:
                # The run rewrites what it materialises anyway; a failed clean-up must not stop it.
                notes = [f"could not clean up after the interrupted run: {exc}"]
            for note in notes:
                say(note)
            # One connection for every step of the run: opening the file and checkpointing its log when a
            # connection closes cost ~0.2 s a step. Each publication still commits on its own (publish.py).
            self._run_connection = self._open()
            try:
                yield self
            finally:
                con, self._run_connection = self._run_connection, None
                con.close()

    def recover(self, interrupted_holder: str, older_than: float) -> list[str]:
        """Undo what a killed run left behind; call only while holding the run lock. Returns what it did.

        Staged files older than this run are removed. If the previous run was killed (`interrupted_holder`
        names it), every table is compared with its Parquet export: a kill between an asset's commit and its
        Parquet rename (publish.py) leaves the new table beside the old file, and the table is reloaded from
        the file consumers already read, so the two agree again.
        """
        notes = []
        for folder in (Path(self.parquet_dir), Path(self.report_dir), Path(self.campaign_dir)):
            removed = remove_stale_staged(folder, older_than) if folder.is_dir() else []
            if removed:
                notes.append(f"removed {len(removed)} staged files of an interrupted run in {folder}")
        if interrupted_holder and Path(self.path).exists():
            reloaded = self._align_tables_with_exports()
            notes.append(
                f"the previous run on {self.path} ({interrupted_holder}) was interrupted; "
                + (f"reloaded {', '.join(reloaded)} from their Parquet exports" if reloaded else "tables intact")
            )
        return notes

    def _export_scan(self, table: str) -> tuple[str, dict[str, str]] | None:
        """SQL reading a table's Parquet export (its hive folder, else its single file) and the SQL's parameters."""
        folder, single = self.parquet_dataset(table), self.parquet_path(table)
        if folder.is_dir():
            return f"read_parquet($path || '/**/*.parquet', {HIVE_OPTIONS})", {"path": str(folder)}
        if single.is_file():
            return "read_parquet($path)", {"path": str(single)}
        return None

    def _align_tables_with_exports(self) -> list[str]:
        """Reload every table whose rows differ from its Parquet export from that export; returns their names."""
        reloaded = []
        with self.connect() as con:
            for (table,) in con.execute(WAREHOUSE_TABLES).fetchall():
                export = self._export_scan(table)
                if export is None:
                    continue
                scan, params = export
                # By name and cast to the table's types: a hive partition column comes back last and as text.
                columns = con.execute(f"DESCRIBE {table}").fetchall()
                select = ", ".join(f'CAST("{name}" AS {dtype}) AS "{name}"' for name, dtype, *_ in columns)
                exported = f"SELECT {select} FROM {scan}"
                if _rows_digest(con, f"SELECT * FROM {table}") == _rows_digest(con, exported, params):
                    continue
                run(con, "BEGIN TRANSACTION")
                run(con, f"CREATE OR REPLACE TABLE {table} AS {exported}", params)
                run(con, "COMMIT")
                reloaded.append(table)
        return reloaded


def _rows_digest(con: duckdb.DuckDBPyConnection, rows: str, params: dict[str, str] | None = None) -> tuple:
    """Row count and hash sum of a query's rows: equal for the same rows in any order."""
    return one_row(con, f"SELECT count(*), sum(hash(t)) FROM ({rows}) t", params)


def build_resources(resolve_env: bool = False) -> dict[str, Any]:
    """Resources from the environment: TRAVELTIDE_SOURCE_URL selects PostgreSQL, else the embedded store;
    TRAVELTIDE_CAMPAIGN_SIGNUPS names a file of the campaign's sign-ups.

    For Dagster the URL and the file stay EnvVars (read when a run starts, shown as such in the UI);
    `resolve_env` reads them now, for work outside a run."""
    root = data_dir()
    url = os.environ.get(SOURCE_URL_ENV)
    signups = os.environ.get(CAMPAIGN_SIGNUPS_ENV)
    return {
        "source": TravelTideSource(
            postgres_url=(url if resolve_env else EnvVar(SOURCE_URL_ENV)) if url else None,
            embedded_dir=str(root / "source"),
        ),
        "warehouse": Warehouse.in_folder(root),
        "study": StudySettings(),
        "perk_model": PerkModelSettings(),
        "campaign": CampaignSettings(
            signups_path=(signups if resolve_env else EnvVar(CAMPAIGN_SIGNUPS_ENV)) if signups else None
        ),
    }
