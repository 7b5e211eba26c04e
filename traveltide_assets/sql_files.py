"""Access to the project's SQL files (the top-level `sql/` folder, packaged as `_sql` in a wheel: project_files.py)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from traveltide_assets.project_files import project_file


def sql_dir() -> Path:
    return project_file("sql")


@cache
def read_sql(relative_path: str) -> str:
    """The text of `sql/<relative_path>`."""
    return (sql_dir() / relative_path).read_text(encoding="utf-8")


def sql_statements(relative_path: str) -> dict[str, str]:
    """CREATE TABLE statements of a DDL file, keyed by qualified table name ('public.users')."""
    text = re.sub(r"--[^\n]*", "", read_sql(relative_path))
    statements = [s.strip() for s in text.split(";") if s.strip()]
    keyed: dict[str, str] = {}
    for statement in statements:
        match = re.match(r"CREATE TABLE\s+([\w.]+)", statement, flags=re.IGNORECASE)
        if match is None:
            raise ValueError(f"{relative_path}: expected only CREATE TABLE statements, got {statement[:60]!r}")
        keyed[match.group(1)] = statement
    return keyed
