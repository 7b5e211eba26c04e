"""Connections to the TravelTide source: PostgreSQL through ADBC, or the embedded Parquet store through DuckDB.

A step opens one connection and runs everything it reads over it (schema check, the cohort's users, the rows).
Queries are the portable SQL files of `sql/raw/extract/`; their `$name` parameters are inlined as typed literals
(`render`), because the PostgreSQL driver streams a result through COPY only for parameter-free queries (with
bind parameters libpq buffers the whole result first). Rows arrive as Arrow record batches.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import adbc_driver_manager
import adbc_driver_postgresql
import pyarrow as pa

from traveltide_assets.sources.contract import SOURCE_TABLES
from traveltide_assets.sources.pg_url import with_options

BATCH_ROWS = 262_144

# Settings of every source session, passed as libpq options so they hold from the first statement on.
PG_SESSION_SETTINGS: Mapping[str, str] = {
    # The pipeline never writes to the source; a slip would fail instead of changing the database.
    "default_transaction_read_only": "on",
    # Counting the cohort groups every user with a session in the window (about a million): in memory, the
    # count takes one pass; with the stock 4MB it spills to disk and takes twice as long.
    "work_mem": "256MB",
    # Compiling expressions costs more than it saves on these scans.
    "jit": "off",
    # Counting the cohort by sorting user ids in parallel workers took 1.1-1.4 s at the real volume where one
    # process hashing a million groups took 2.3 s (PostgreSQL 15, 2 cores); no other query here aggregates.
    "enable_hashagg": "off",
}


def sql_literal(value: object) -> str:
    """A typed SQL literal of an extraction parameter: a boolean, date, timestamp, number, or a list of them
    (`(a, b)`)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, list | tuple):
        # An empty list matches nothing: IN (NULL) is never true.
        return "(" + (", ".join(sql_literal(v) for v in value) or "NULL") + ")"
    kind = type(value).__name__
    raise TypeError(f"extraction parameters are booleans, dates, timestamps, numbers or lists of them, got {kind}")


def render(sql: str, params: Mapping[str, object]) -> str:
    """`sql` without its comment lines and with every `$name` replaced by the literal of params[name]."""

    def literal(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            raise KeyError(f"the query needs the parameter ${name}")
        return sql_literal(params[name])

    code = re.sub(r"(?m)^\s*--.*\n?", "", sql)
    return re.sub(r"\$([a-z_]\w*)", literal, code)


class SourceConnection(ABC):
    """One open connection to the source."""

    @abstractmethod
    def columns(self, table: str) -> dict[str, str]:
        """Column name -> type name of a source table, in order (empty when the table is missing)."""

    @abstractmethod
    @contextmanager
    def stream(self, sql: str) -> Iterator[pa.RecordBatchReader]:
        """The rows of a rendered query as Arrow record batches, read as they arrive."""

    def fetch(self, sql: str) -> pa.Table:
        """The whole (small) result of a rendered query."""
        with self.stream(sql) as reader:
            return reader.read_all()

    @abstractmethod
    def close(self) -> None: ...


class PostgresConnection(SourceConnection):
    """ADBC's PostgreSQL driver through the driver manager directly (its DB-API layer imports pandas and polars
    for conveniences the pipeline does not use). The drivers load with this module (a few ms), not per
    connection: a connection may be opened beside the main thread while it imports (pipeline.execute), and two
    threads importing at once can deadlock on the import locks."""

    def __init__(self, url: str) -> None:
        self._database = adbc_driver_postgresql.connect(with_options(url, PG_SESSION_SETTINGS))
        try:
            self._connection = adbc_driver_manager.AdbcConnection(self._database)
        except BaseException:
            self._database.close()
            raise

    def columns(self, table: str) -> dict[str, str]:
        if not re.fullmatch(r"[a-z_]+", table):
            raise ValueError(f"not a source table name: {table!r}")
        rows = self.fetch(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
        )
        return dict(zip(rows["column_name"].to_pylist(), rows["data_type"].to_pylist(), strict=True))

    @contextmanager
    def stream(self, sql: str) -> Iterator[pa.RecordBatchReader]:
        statement = adbc_driver_manager.AdbcStatement(self._connection)
        try:
            statement.set_sql_query(sql)
            handle, _ = statement.execute_query()
            yield pa.RecordBatchReader.from_stream(handle)
        finally:
            statement.close()

    def close(self) -> None:
        self._connection.close()
        self._database.close()


class EmbeddedConnection(SourceConnection):
    """The embedded store: one Parquet file per table, queried by an in-memory DuckDB through views."""

    def __init__(self, folder: Path) -> None:
        import duckdb

        self._folder = folder
        self._con = duckdb.connect()
        for spec in SOURCE_TABLES:
            path = folder / f"{spec.name}.parquet"
            if path.is_file():  # a missing table shows as such in columns(), like a missing PostgreSQL table
                self._con.read_parquet(str(path)).create_view(spec.name)

    def columns(self, table: str) -> dict[str, str]:
        import pyarrow.parquet as pq

        path = self._folder / f"{table}.parquet"
        return {f.name: str(f.type) for f in pq.read_schema(path)} if path.is_file() else {}

    @contextmanager
    def stream(self, sql: str) -> Iterator[pa.RecordBatchReader]:
        yield self._con.sql(sql).to_arrow_reader(BATCH_ROWS)

    def close(self) -> None:
        self._con.close()
