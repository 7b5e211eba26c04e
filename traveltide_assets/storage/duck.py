"""DuckDB conveniences. DuckDB 2 insists that every result is fully fetched before the next statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | list[Any] | None = None) -> tuple:
    """The single row of a query (fully fetched); an empty tuple when it returns none."""
    rows = con.execute(sql, params or {}).fetchall()
    return tuple(rows[0]) if rows else ()


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | list[Any] | None = None) -> None:
    """Execute a statement and drain its result, so the connection is free for the next one."""
    con.execute(sql, params or []).fetchall()


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, data: object) -> Iterator[None]:
    """`data` (an Arrow table or record-batch reader) visible to SQL as `name` for the block, and gone after it,
    also on failure: a run's steps share one connection, so nothing of one step lingers into the next."""
    con.register(name, data)
    try:
        yield
    finally:
        con.unregister(name)
