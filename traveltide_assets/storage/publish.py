"""Atomic publication of an asset: its warehouse table and its Parquet export change together or not at all.

The table is replaced inside a DuckDB transaction and the Parquet file is written to a hidden temporary name in
the same folder; once the transaction has committed, the file is renamed over the old one (atomic on POSIX).
A failure at any step before that rolls back the table and deletes the temporary file: readers keep seeing the
previous good version of both.

Month-partitioned assets (partitions.py) replace the rows of the run's months in the table and one Parquet file
per month in a hive-style folder (`<asset>/session_month=YYYY-MM/data.parquet`); once the transaction has
committed, a complete new folder (the months left as they were, hard-linked) is exchanged with the old one in
one step (atomic.replace_folder_entries), so a reader sees every month of one version.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from dagster import MetadataValue, TableColumn, TableSchema

from traveltide_assets.defs.columns import column_description
from traveltide_assets.defs.partitions import PARTITION_COLUMN
from traveltide_assets.storage.atomic import promote, replace_folder_entries, staged_folder, staged_sibling
from traveltide_assets.storage.duck import one_row, registered, run
from traveltide_assets.storage.warehouse import Warehouse

PREVIEW_ROWS = 5
# Where the warehouse's customers come from: one line (TravelTideSource.provenance), recorded by raw_users in the
# transaction that replaces them and shown in every asset's metadata, so that no output built from generated
# customers can be mistaken for TravelTide's. Bookkeeping: a schema of its own, no Parquet export.
SOURCE_RECORD = "provenance.source"
NOT_RECORDED = "not recorded: materialise raw_users to record where the customers come from"


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back if a transaction is still open: a failed COMMIT has already rolled back, and a second error
    here would hide the first (e.g. the full disk that stopped the commit)."""
    with suppress(duckdb.TransactionException):
        run(con, "ROLLBACK")


@contextmanager
def _replace_together(con: duckdb.DuckDBPyConnection, staged: Path, final: Path) -> Iterator[None]:
    """Change the table in a transaction; once it has committed, rename the staged Parquet over the old one.

    Commit first: a COMMIT can fail (a full disk while DuckDB writes its log) and then both stay old; a rename
    on one file system does not fail that way. A kill between the two leaves the new table beside the old file,
    which the next run's Warehouse.recover aligns.
    """
    run(con, "BEGIN TRANSACTION")
    try:
        yield
        run(con, "COMMIT")
    except BaseException:
        _rollback(con)
        staged.unlink(missing_ok=True)
        raise
    promote(staged, final)


def publish_query(
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse,
    name: str,
    sql: str,
    params: dict[str, Any] | None = None,
    also: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Materialise `sql` as table `name` and as `<parquet_dir>/<name>.parquet`; returns standard metadata.

    `also` runs inside the same transaction (a bookkeeping table that must change with this one)."""
    final = warehouse.parquet_path(name)
    staged = staged_sibling(final)
    with _replace_together(con, staged, final):
        run(con, f"CREATE OR REPLACE TABLE {name} AS {sql}", params)
        if also is not None:
            also()
        run(con, f"COPY {name} TO '{staged}' (FORMAT parquet, COMPRESSION zstd)")
    return table_metadata(con, name, final)


def publish_arrow(
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse,
    name: str,
    table: pa.Table | pa.RecordBatchReader,
    also: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Publish an Arrow table, or a stream of record batches consumed as it arrives, the same way."""
    with registered(con, "_incoming", table):
        return publish_query(con, warehouse, name, "SELECT * FROM _incoming", also=also)


def publish_arrow_tables(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, tables: dict[str, pa.Table]
) -> dict[str, dict[str, Any]]:
    """Publish several Arrow tables that belong together (an asset's table and its companion) in one transaction:
    readers see all of the new tables or all of the old. Returns each table's standard metadata."""
    staged = {name: staged_sibling(warehouse.parquet_path(name)) for name in tables}
    run(con, "BEGIN TRANSACTION")
    try:
        for name, table in tables.items():
            with registered(con, "_incoming", table):
                run(con, f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _incoming")
            run(con, f"COPY {name} TO '{staged[name]}' (FORMAT parquet, COMPRESSION zstd)")
        run(con, "COMMIT")
    except BaseException:
        _rollback(con)
        for path in staged.values():
            path.unlink(missing_ok=True)
        raise
    for name, path in staged.items():  # after the commit, as in _replace_together
        promote(path, warehouse.parquet_path(name))
    return {name: table_metadata(con, name, warehouse.parquet_path(name)) for name in tables}


def publish_month_tables(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, tables: Sequence[str], change: Callable[[], list[str]]
) -> list[str]:
    """Change month-partitioned tables and their month files together: `change` rewrites rows of some months
    (inside the transaction) and returns those months; their files are written, the transaction commits, and
    then the folder of each table changes all its months at once. Returns the months written."""
    staging = staged_folder(Path(warehouse.parquet_dir))
    run(con, "BEGIN TRANSACTION")
    try:
        months = sorted(change())
        staged = {table: stage_month_files(con, table, months, staging / table) for table in tables}
        run(con, "COMMIT")
        for table, files in staged.items():  # after the commit, as in _replace_together; all months at once
            months_of = {f"{PARTITION_COLUMN}={month}": path for month, path in files.items()}
            replace_folder_entries(warehouse.parquet_dataset(table), months_of)
            warehouse.parquet_path(table).unlink(missing_ok=True)  # the single file of the layout before partitions
    except BaseException:
        _rollback(con)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return months


def month_list(months: Sequence[str]) -> str:
    """SQL list of month keys; they are checked to be YYYY-MM, so they can be inlined."""
    for month in months:
        if not re.fullmatch(r"\d{4}-\d{2}", month):
            raise ValueError(f"not a session month: {month!r}")
    return "(" + (", ".join(f"'{m}'" for m in months) or "NULL") + ")"


def stage_month_files(con: duckdb.DuckDBPyConnection, table: str, months: list[str], staging: Path) -> dict[str, Path]:
    """Write one Parquet file per month of `table` under `staging`; a month without rows gets a schema-only file."""
    staging.mkdir(parents=True)
    if not months:
        return {}
    # One pass writes every month with rows (the month lives in the path, hive style).
    options = f"FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({PARTITION_COLUMN}), FILENAME_PATTERN 'data'"
    run(
        con, f"COPY (SELECT * FROM {table} WHERE {PARTITION_COLUMN} IN {month_list(months)}) TO '{staging}' ({options})"
    )
    template = staging / "empty.parquet"
    staged = {}
    for month in months:
        folder = staging / f"{PARTITION_COLUMN}={month}"
        files = sorted(folder.glob("*.parquet"))
        if len(files) > 1:
            raise RuntimeError(f"{table}: DuckDB wrote {len(files)} files for month {month}, expected one")
        if not files:
            if not template.exists():
                run(con, f"COPY (SELECT * EXCLUDE ({PARTITION_COLUMN}) FROM {table} LIMIT 0) TO '{template}' "
                         "(FORMAT parquet, COMPRESSION zstd)")  # fmt: skip
            folder.mkdir()
            files = [folder / "data.parquet"]
            shutil.copyfile(template, files[0])
        staged[month] = files[0]
    return staged


def month_metadata(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, table: str, months: list[str]) -> dict:
    """Standard metadata of a month-partitioned table, counted over the months a run wrote."""
    metadata = table_metadata(con, table, warehouse.parquet_dataset(table))
    per_month = con.execute(
        f"SELECT {PARTITION_COLUMN}, count(*) FROM {table} WHERE {PARTITION_COLUMN} IN {month_list(months)} "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    metadata["table_rows"] = metadata.pop("dagster/row_count")
    metadata["dagster/row_count"] = MetadataValue.int(sum(int(n) for _, n in per_month))
    metadata["months_written"] = MetadataValue.text(f"{months[0]}..{months[-1]} ({len(months)})" if months else "none")
    metadata["rows_by_month"] = MetadataValue.json({m: int(n) for m, n in per_month})
    return metadata


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the warehouse has table `name` ('table' in the main schema, or 'schema.table')."""
    schema, _, table = name.rpartition(".")
    query = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = $1 AND table_name = $2"
    return bool(one_row(con, query, [schema or "main", table])[0])


def record_source(con: duckdb.DuckDBPyConnection, provenance: str) -> None:
    """Record where the warehouse's customers come from (inside the transaction that extracts them)."""
    schema = SOURCE_RECORD.split(".")[0]
    run(con, f"CREATE SCHEMA IF NOT EXISTS {schema}")
    run(
        con,
        f"CREATE OR REPLACE TABLE {SOURCE_RECORD} AS SELECT CAST($line AS VARCHAR) AS provenance",
        {"line": provenance},
    )


def source_metadata(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The `source` entry of every asset's metadata: the recorded provenance of the warehouse's customers."""
    row = one_row(con, f"SELECT provenance FROM {SOURCE_RECORD}") if has_table(con, SOURCE_RECORD) else None
    return {"source": MetadataValue.text(str(row[0]) if row else NOT_RECORDED)}


def table_metadata(con: duckdb.DuckDBPyConnection, name: str, parquet: Path | None = None) -> dict[str, Any]:
    """Where the customers come from, row count, column schema (with each column's meaning, defs/columns.py), a
    small preview and where the Parquet export is."""
    described = con.execute(f"DESCRIBE {name}").fetchall()
    count_row = one_row(con, f"SELECT count(*) FROM {name}")
    preview = con.sql(f"SELECT * FROM {name} LIMIT {PREVIEW_ROWS}").df()
    columns = [TableColumn(name=c[0], type=str(c[1]), description=column_description(name, c[0])) for c in described]
    metadata: dict[str, Any] = {
        **source_metadata(con),
        "dagster/row_count": MetadataValue.int(int(count_row[0]) if count_row else 0),
        "dagster/column_schema": TableSchema(columns=columns),
        "preview": MetadataValue.md(preview.to_markdown(index=False) if not preview.empty else "(no rows)"),
        "warehouse_table": MetadataValue.text(name),
    }
    if parquet is not None:
        metadata["parquet_path"] = MetadataValue.path(str(parquet))
    return metadata
