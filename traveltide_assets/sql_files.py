"""Access to the project's SQL files (the top-level `sql/` folder, packaged as `_sql` in a wheel)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CANDIDATES = (_PACKAGE_DIR.parent / "sql", _PACKAGE_DIR / "_sql")


def sql_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the project's sql/ folder is missing (looked in {', '.join(map(str, _CANDIDATES))})")


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
