"""DuckDB conveniences. DuckDB 2 insists that every result is fully fetched before the next statement."""

from __future__ import annotations

from typing import Any

import duckdb


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | list[Any] | None = None) -> tuple:
    """The single row of a query (fully fetched); an empty tuple when it returns none."""
    rows = con.execute(sql, params or {}).fetchall()
    return tuple(rows[0]) if rows else ()


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | list[Any] | None = None) -> None:
    """Execute a statement and drain its result, so the connection is free for the next one."""
    con.execute(sql, params or []).fetchall()
