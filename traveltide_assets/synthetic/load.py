"""Write a synthetic source to a Parquet folder (the embedded default) or a PostgreSQL database."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from traveltide_assets.sources.contract import GENERATOR_FILE, GROUND_TRUTH_FILE, TRUTH_PG_SCHEMA
from traveltide_assets.sources.pg_url import redact
from traveltide_assets.sql_files import sql_statements
from traveltide_assets.storage.atomic import replacing
from traveltide_assets.synthetic.generate import SyntheticSource

DDL_FILE = "source/traveltide_tables.sql"
_COPY_BATCH_ROWS = 250_000

Progress = Callable[[str], None]


class SourceTables(Protocol):
    """What load_postgres reads: the four source tables and, for a synthetic source, its planted truth."""

    def source_tables(self) -> dict[str, pa.Table]: ...

    @property
    def ground_truth(self) -> pa.Table | None: ...


def write_parquet_table(table: pa.Table, path: Path) -> None:
    """Write atomically: a reader sees the old file or the new one, never a partial one."""
    with replacing(path) as staged:
        pq.write_table(table, staged, compression="zstd", row_group_size=1_000_000)


def write_parquet_store(source: SyntheticSource, folder: Path, progress: Progress | None = None) -> None:
    """One Parquet file per source table, the ground truth in its own file beside them, and the generator's
    settings (GENERATOR_FILE), so that every output can say which synthetic customers it describes."""
    say = progress or (lambda _msg: None)
    for name, table in source.source_tables().items():
        say(f"writing {name}.parquet ({table.num_rows:,} rows)")
        write_parquet_table(table, folder / f"{name}.parquet")
    write_parquet_table(source.ground_truth, folder / GROUND_TRUTH_FILE)
    settings = json.dumps(dataclasses.asdict(source.config), indent=2) + "\n"
    with replacing(folder / GENERATOR_FILE) as staged:
        staged.write_text(settings)


def load_postgres(source: SourceTables, url: str, progress: Progress | None = None) -> None:
    """Create each table with the real types and key, COPY its rows in, one transaction per table.

    Re-loading replaces the tables; a failure rolls back that table and leaves the previous one. A source
    without a truth (real rows) gets no truth table, and a truth left by an earlier synthetic load is dropped,
    as a real database has none.
    """
    say = progress or (lambda _msg: None)
    ddl = sql_statements(DDL_FILE)
    tables = {f"public.{name}": t for name, t in source.source_tables().items()}
    truth = f"{TRUTH_PG_SCHEMA}.ground_truth"
    if source.ground_truth is not None:
        tables[truth] = source.ground_truth
    with psycopg.connect(url) as conn:
        if source.ground_truth is None:
            conn.execute(f"DROP TABLE IF EXISTS {truth}")
        else:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {TRUTH_PG_SCHEMA}")
        conn.commit()
        for qualified, table in tables.items():
            say(f"loading {qualified} ({table.num_rows:,} rows) into {redact(url)}")
            with conn.transaction():
                conn.execute(f"DROP TABLE IF EXISTS {qualified} CASCADE")
                conn.execute(ddl[qualified])
                _copy_in(conn, qualified, table)
                key = table.column_names[0]
                name = qualified.split(".")[1]
                # The key is added after the rows are in: one index build instead of row-by-row upkeep.
                conn.execute(f"ALTER TABLE {qualified} ADD CONSTRAINT {name}_pkey PRIMARY KEY ({key})")
            conn.execute(f"ANALYZE {qualified}")
            conn.commit()


def _copy_in(conn: psycopg.Connection, qualified: str, table: pa.Table) -> None:
    columns = ", ".join(table.column_names)
    options = pacsv.WriteOptions(include_header=False, batch_size=_COPY_BATCH_ROWS)
    with conn.cursor() as cur, cur.copy(f"COPY {qualified} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        for batch in table.to_batches(max_chunksize=_COPY_BATCH_ROWS):
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())
