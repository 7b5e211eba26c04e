"""Atomic publication of an asset: its warehouse table and its Parquet export change together or not at all.

The table is replaced inside a DuckDB transaction, the Parquet file is written to a hidden temporary name in
the same folder and renamed over the old one (atomic on POSIX), and the transaction commits only after the
rename. A failure at any step rolls back the table and deletes the temporary file: readers keep seeing the
previous good version of both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from dagster import MetadataValue, TableColumn, TableSchema

from traveltide_assets.atomic import promote, staged_sibling
from traveltide_assets.duck import one_row, run
from traveltide_assets.resources import Warehouse

PREVIEW_ROWS = 5


@contextmanager
def _replace_together(con: duckdb.DuckDBPyConnection, staged: Path, final: Path) -> Iterator[None]:
    """Run the table change inside a transaction that commits only after `staged` has replaced `final`."""
    run(con, "BEGIN TRANSACTION")
    try:
        yield
        promote(staged, final)
        run(con, "COMMIT")
    except BaseException:
        run(con, "ROLLBACK")
        staged.unlink(missing_ok=True)
        raise


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
