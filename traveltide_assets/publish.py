"""Atomic publication of an asset: its warehouse table and its Parquet export change together or not at all.

The table is replaced inside a DuckDB transaction and the Parquet file is written to a hidden temporary name in
the same folder; once the transaction has committed, the file is renamed over the old one (atomic on POSIX).
A failure at any step before that rolls back the table and deletes the temporary file: readers keep seeing the
previous good version of both.

Month-partitioned assets (partitions.py) replace the rows of the run's months in the table and one Parquet file
per month in a hive-style folder (`<asset>/session_month=YYYY-MM/data.parquet`), each file renamed into place
after the transaction has committed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from dagster import MetadataValue, TableColumn, TableSchema

from traveltide_assets.atomic import promote, staged_folder, staged_sibling
from traveltide_assets.duck import one_row, run
from traveltide_assets.partitions import PARTITION_COLUMN
from traveltide_assets.resources import Warehouse

PREVIEW_ROWS = 5


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
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, name: str, sql: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Materialise `sql` as table `name` and as `<parquet_dir>/<name>.parquet`; returns standard metadata."""
    final = warehouse.parquet_path(name)
    staged = staged_sibling(final)
    with _replace_together(con, staged, final):
        run(con, f"CREATE OR REPLACE TABLE {name} AS {sql}", params)
        run(con, f"COPY {name} TO '{staged}' (FORMAT parquet, COMPRESSION zstd)")
    return table_metadata(con, name, final)


def publish_arrow(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, name: str, table: pa.Table | pa.RecordBatchReader
) -> dict[str, Any]:
    """Publish an Arrow table, or a stream of record batches consumed as it arrives, the same way."""
    con.register("_incoming", table)
    try:
        return publish_query(con, warehouse, name, "SELECT * FROM _incoming")
    finally:
        con.unregister("_incoming")


def publish_months(
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse,
    name: str,
    reader: pa.RecordBatchReader,
    months: list[str],
    rebuild: bool,
) -> dict[str, Any]:
    """Replace the rows and Parquet files of `months` with the stream's rows (their session_month is a date).

    `rebuild` (a run over every month) recreates the table, so a changed extract schema needs no migration.
    """
    dataset = warehouse.parquet_dataset(name)
    staging = staged_folder(Path(warehouse.parquet_dir))
    keyed = f"SELECT * REPLACE (strftime({PARTITION_COLUMN}, '%Y-%m') AS {PARTITION_COLUMN}) FROM _incoming"
    in_months = f"{PARTITION_COLUMN} BETWEEN '{months[0]}' AND '{months[-1]}'"
    con.register("_incoming", reader)
    run(con, "BEGIN TRANSACTION")
    try:
        if rebuild or not _has_table(con, name):
            run(con, f"CREATE OR REPLACE TABLE {name} AS {keyed}")
        else:
            _check_same_columns(con, name, reader.schema)
            run(con, f"DELETE FROM {name} WHERE {in_months}")
            run(con, f"INSERT INTO {name} BY NAME {keyed}")
        # One pass writes every month's file into the staging folder (the month column lives in the path).
        options = f"FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({PARTITION_COLUMN}), FILENAME_PATTERN 'data'"
        run(con, f"COPY (SELECT * FROM {name} WHERE {in_months}) TO '{staging}' ({options})")
        staged = {month: _month_file(con, name, staging, month) for month in months}
        run(con, "COMMIT")
        for month, path in staged.items():  # after the commit, as in _replace_together
            promote(path, dataset / f"{PARTITION_COLUMN}={month}" / "data.parquet")
    except BaseException:
        _rollback(con)
        raise
    finally:
        con.unregister("_incoming")
        shutil.rmtree(staging, ignore_errors=True)
    warehouse.parquet_path(name).unlink(missing_ok=True)  # the single file of the layout before partitions
    metadata = table_metadata(con, name, dataset)
    per_month = con.execute(
        f"SELECT {PARTITION_COLUMN}, count(*) FROM {name} WHERE {in_months} GROUP BY ALL ORDER BY 1"
    ).fetchall()
    metadata["table_rows"] = metadata.pop("dagster/row_count")
    metadata["dagster/row_count"] = MetadataValue.int(sum(int(n) for _, n in per_month))
    metadata["months"] = MetadataValue.text(f"{months[0]}..{months[-1]} ({len(months)})")
    metadata["rows_by_month"] = MetadataValue.json({m: int(n) for m, n in per_month})
    return metadata


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(one_row(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = $1", [name])[0])


def _check_same_columns(con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
    existing = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
    if sorted(existing) != sorted(schema.names):
        raise RuntimeError(
            f"warehouse table {name!r} has columns {existing}, the extract has {schema.names}: "
            "refresh every month once (traveltide run) to rebuild it"
        )


def _month_file(con: duckdb.DuckDBPyConnection, name: str, staging: Path, month: str) -> Path:
    """The staged file of one month; a month without rows still gets a (schema-only) file."""
    folder = staging / f"{PARTITION_COLUMN}={month}"
    files = sorted(folder.glob("*.parquet"))
    if len(files) == 1:
        return files[0]
    if files:
        raise RuntimeError(f"{name}: DuckDB wrote {len(files)} files for month {month}, expected one")
    folder.mkdir(parents=True)
    path = folder / "data.parquet"
    run(con, f"COPY (SELECT * EXCLUDE ({PARTITION_COLUMN}) FROM {name} LIMIT 0) TO '{path}' (FORMAT parquet)")
    return path


def table_metadata(con: duckdb.DuckDBPyConnection, name: str, parquet: Path | None = None) -> dict[str, Any]:
    """Row count, column schema, a small preview and where the Parquet export is."""
    described = con.execute(f"DESCRIBE {name}").fetchall()
    count_row = one_row(con, f"SELECT count(*) FROM {name}")
    preview = con.sql(f"SELECT * FROM {name} LIMIT {PREVIEW_ROWS}").df()
    metadata: dict[str, Any] = {
        "dagster/row_count": MetadataValue.int(int(count_row[0]) if count_row else 0),
        "dagster/column_schema": TableSchema(columns=[TableColumn(name=c[0], type=str(c[1])) for c in described]),
        "preview": MetadataValue.md(preview.to_markdown(index=False) if not preview.empty else "(no rows)"),
        "warehouse_table": MetadataValue.text(name),
    }
    if parquet is not None:
        metadata["parquet_path"] = MetadataValue.path(str(parquet))
    return metadata
