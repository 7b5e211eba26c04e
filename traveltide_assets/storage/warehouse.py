"""Dagster resources: the TravelTide source, the DuckDB warehouse (+ Parquet exports) and the study settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from traveltide_assets.storage.atomic import remove_stale_staged
from traveltide_assets.storage.duck import one_row, run
from traveltide_assets.storage.run_lock import Held, exclusive

# The asset tables (each has a Parquet export); bookkeeping lives in other schemas.
WAREHOUSE_TABLES = (
    "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND schema_name = 'main' ORDER BY table_name"
)


HIVE_OPTIONS = "hive_partitioning = true, hive_types_autocast = false"


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

    def read_frame(self, table: str) -> pd.DataFrame:
        """A per-customer asset table as a pandas frame, in user_id order."""
        with self.connect() as con:
            return con.sql(f"SELECT * FROM {table} ORDER BY user_id").df()

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
