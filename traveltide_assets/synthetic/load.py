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
from traveltide_assets.synthetic.generate import GeneratorConfig, SyntheticSource
from traveltide_assets.synthetic.slices import SLICE_USERS, source_slices

DDL_FILE = "source/traveltide_tables.sql"
TRUTH_TABLE = f"{TRUTH_PG_SCHEMA}.ground_truth"
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
    tables = _qualified(source)
    with psycopg.connect(url) as conn:
        _prepare_truth_schema(conn, with_truth=source.ground_truth is not None)
        for qualified, table in tables.items():
            say(f"loading {qualified} ({table.num_rows:,} rows) into {redact(url)}")
            with conn.transaction():
                _create(conn, qualified)
                _copy_in(conn, qualified, table)
                _add_key(conn, qualified, table.column_names[0])
            conn.execute(f"ANALYZE {qualified}")
            conn.commit()


def load_generated(
    config: GeneratorConfig, url: str, progress: Progress | None = None, slice_users: int = SLICE_USERS
) -> int:
    """Generate the synthetic source of `config` into PostgreSQL slice by slice (slices.py), so that a source
    larger than memory holds at once can be loaded; returns its sessions. The tables are created first, each
    slice's rows copied in and freed, and the keys added at the end. A source of one slice is the same as
    `load_postgres(generate_source(config), url)`."""
    say = progress or (lambda _msg: None)
    sessions, keys = 0, {}
    with psycopg.connect(url) as conn:
        _prepare_truth_schema(conn, with_truth=True)
        for number, source in enumerate(source_slices(config, progress, slice_users), start=1):
            for qualified, table in _qualified(source).items():
                if number == 1:
                    _create(conn, qualified)
                    keys[qualified] = table.column_names[0]
                say(f"loading slice {number}: {qualified} ({table.num_rows:,} rows) into {redact(url)}")
                _copy_in(conn, qualified, table)
            sessions += source.sessions.num_rows
            conn.commit()
            del source  # before the next slice is generated
        for qualified, key in keys.items():
            _add_key(conn, qualified, key)
            conn.commit()
            conn.execute(f"ANALYZE {qualified}")
            conn.commit()
    return sessions


def _qualified(source: SourceTables) -> dict[str, pa.Table]:
    tables = {f"public.{name}": t for name, t in source.source_tables().items()}
    if source.ground_truth is not None:
        tables[TRUTH_TABLE] = source.ground_truth
    return tables


def _prepare_truth_schema(conn: psycopg.Connection, with_truth: bool) -> None:
    if with_truth:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {TRUTH_PG_SCHEMA}")
    else:
        conn.execute(f"DROP TABLE IF EXISTS {TRUTH_TABLE}")
    conn.commit()


def _create(conn: psycopg.Connection, qualified: str) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {qualified} CASCADE")
    conn.execute(sql_statements(DDL_FILE)[qualified])


def _add_key(conn: psycopg.Connection, qualified: str, key: str) -> None:
    # The key is added after the rows are in: one index build instead of row-by-row upkeep.
    name = qualified.split(".")[1]
    conn.execute(f"ALTER TABLE {qualified} ADD CONSTRAINT {name}_pkey PRIMARY KEY ({key})")


def _copy_in(conn: psycopg.Connection, qualified: str, table: pa.Table) -> None:
    columns = ", ".join(table.column_names)
    options = pacsv.WriteOptions(include_header=False, batch_size=_COPY_BATCH_ROWS)
    with conn.cursor() as cur, cur.copy(f"COPY {qualified} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        for batch in table.to_batches(max_chunksize=_COPY_BATCH_ROWS):
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())
