"""What consumers see of a data folder: fingerprints of every output, and proof that each one is readable.

A data folder holds `warehouse.duckdb` (one table per asset) and `parquet/` (per asset a file `<asset>.parquet`,
or a hive-style folder `<asset>/<key>=<value>/data.parquet` for partitioned assets). The fault tests compare
fingerprints taken before and after a fault, so nothing in `parquet/` is skipped: a leftover temporary file is a
difference too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl

from traveltide_assets.storage.warehouse import HIVE_OPTIONS
from traveltide_assets_tests.pipeline_harness import ASSET_TABLES

WAREHOUSE_FILE = "warehouse.duckdb"
PARQUET_DIR = "parquet"
# Doubles are compared to 9 decimals across separate runs: an average over many rows, summed by several
# threads in whatever order they finish (perk_summary), can differ in its last bits from run to run.
ROUND_DECIMALS = 9


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(folder: Path) -> dict[str, str]:
    """`parquet/<relative path>` -> sha256 of every file under the Parquet folder, hidden ones included."""
    root = folder / PARQUET_DIR
    return {
        f"{PARQUET_DIR}/{path.relative_to(root).as_posix()}": _sha256(path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _tables(con: duckdb.DuckDBPyConnection, exported_only: bool = False) -> list[str]:
    """Every table of the warehouse: the assets of ASSET_TABLES and their companions (segment profiles...),
    and, unless `exported_only`, the raw layer's bookkeeping (`raw_state.<table>`, no Parquet export)."""
    rows = con.execute(
        "SELECT CASE WHEN schema_name = 'main' THEN table_name ELSE schema_name || '.' || table_name END "
        "FROM duckdb_tables() WHERE NOT temporary AND (schema_name = 'main' OR NOT $exported) ORDER BY 1",
        {"exported": exported_only},
    ).fetchall()
    tables = [row[0] for row in rows]
    missing = sorted(set(ASSET_TABLES) - set(tables))
    assert not missing, f"the warehouse lacks the tables {missing}"
    return tables


def _digest(con: duckdb.DuckDBPyConnection, rows: str) -> str:
    # Independent of row order: the same rows in any order give the same count and hash sum.
    return str(con.execute(f"SELECT count(*), sum(hash(t)) FROM ({rows}) t").fetchall()[0])


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file under `<folder>/parquet` and `count(*), sum(hash(row))` of every warehouse table.

    The warehouse is opened read-only (DuckDB replays a leftover write-ahead log in memory, changing nothing).
    """
    prints = file_hashes(folder)
    with duckdb.connect(str(folder / WAREHOUSE_FILE), read_only=True) as con:
        for table in _tables(con):
            prints[f"table/{table}"] = _digest(con, f"SELECT * FROM {table}")
    return prints


def asset_of(key: str) -> str:
    """The asset a fingerprint key belongs to: `table/<asset>`, `parquet/<asset>.parquet`, `parquet/<asset>/...`."""
    kind, _, rest = key.partition("/")
    return rest if kind == "table" else rest.split("/")[0].removesuffix(".parquet")


def parquet_export(folder: Path, asset: str) -> Path:
    """The Parquet export of an asset: its hive-style folder if it has one, else its single file."""
    partitioned = folder / PARQUET_DIR / asset
    return partitioned if partitioned.is_dir() else folder / PARQUET_DIR / f"{asset}.parquet"


def scan_sql(export: Path) -> str:
    """A FROM-clause reading an export as consumers would (hive folders without type guessing)."""
    if export.is_dir():
        return f"read_parquet('{export}/**/*.parquet', {HIVE_OPTIONS})"
    return f"read_parquet('{export}')"


def _rows(columns: list[tuple], source: str, rounded: bool) -> str:
    """The rows of `source` with the table's columns, by name and cast to the table's types (a hive partition
    column comes back last and as text), doubles rounded if asked."""
    selected = []
    for name, dtype, *_ in columns:
        value = f'CAST("{name}" AS {dtype})'
        if rounded and dtype in ("DOUBLE", "FLOAT"):
            value = f"round({value}, {ROUND_DECIMALS})"
        selected.append(f'{value} AS "{name}"')
    return f"SELECT {', '.join(selected)} FROM {source}"


def row_digests(folder: Path, rounded: bool = False) -> dict[str, tuple[str, str]]:
    """Per warehouse table: (digest of its rows, digest of the rows of its Parquet export).

    Exact by default. `rounded=True` rounds doubles, for comparing outputs of separate runs (ROUND_DECIMALS).
    """
    digests: dict[str, tuple[str, str]] = {}
    with duckdb.connect(str(folder / WAREHOUSE_FILE), read_only=True) as con:
        for table in _tables(con, exported_only=True):
            export = parquet_export(folder, table)
            assert export.exists(), f"table {table} has no Parquet export in {folder / PARQUET_DIR}"
            columns = con.execute(f"DESCRIBE {table}").fetchall()
            digests[table] = (
                _digest(con, _rows(columns, table, rounded)),
                _digest(con, _rows(columns, scan_sql(export), rounded)),
            )
    return digests


def assert_tables_match_parquet(folder: Path) -> None:
    """Every warehouse table holds exactly the rows of its Parquet export: the two changed together."""
    apart = {table: pair for table, pair in row_digests(folder).items() if pair[0] != pair[1]}
    assert not apart, f"tables whose rows differ from their Parquet export: {apart}"


# Tables whose rows depend on the history of runs, not only on the source: a campaign plan is frozen once issued
# (customers keep their arm and email, joiners get the time they joined), so two folders that saw different runs
# hold different plans for the same source. Tests compare them with `assert_plan_kept` instead.
HISTORY_TABLES = ("campaign_plan",)


def versions(folder: Path) -> dict[str, str]:
    """Per asset, the version of its rows (doubles rounded), asserting the table and its export agree; the
    HISTORY_TABLES are left out."""
    digests = row_digests(folder, rounded=True)
    apart = {table: pair for table, pair in digests.items() if pair[0] != pair[1]}
    assert not apart, f"tables whose rows differ from their Parquet export: {apart}"
    return {table: pair[0] for table, pair in digests.items() if table not in HISTORY_TABLES}


def assert_plan_kept(folder: Path, before: Path) -> None:
    """Every campaign-plan row of `before` is in `folder`'s plan, unchanged, and every cohort customer of
    `folder` is planned: the plan was extended, never re-drawn."""
    with duckdb.connect(str(folder / WAREHOUSE_FILE), read_only=True) as con:
        con.execute(f"ATTACH '{before / WAREHOUSE_FILE}' AS before (READ_ONLY)")
        lost = con.execute(
            "SELECT count(*) FROM (SELECT * FROM before.campaign_plan EXCEPT SELECT * FROM campaign_plan)"
        ).fetchone()
        assert lost == (0,), "rows of the earlier plan were changed or dropped"
        unplanned = con.execute(
            "SELECT count(*) FROM perk_assignments a ANTI JOIN campaign_plan p USING (user_id)"
        ).fetchone()
        assert unplanned == (0,), f"{unplanned[0] if unplanned else '?'} cohort customers are not in the plan"


def staged_leftovers(folder: Path) -> list[str]:
    """Hidden files and folders under the Parquet and report folders (outputs in the making), relative paths."""
    found = []
    for sub in (PARQUET_DIR, "report"):
        root = folder / sub
        if root.is_dir():
            found += [p.relative_to(folder).as_posix() for p in root.rglob("*") if p.name.startswith((".", "tmp_"))]
    return sorted(found)


def _exports(folder: Path) -> list[Path]:
    """What consumers read: the visible `*.parquet` files and visible folders of the Parquet folder."""
    root = folder / PARQUET_DIR
    return sorted(p for p in root.iterdir() if not p.name.startswith(".") and (p.is_dir() or p.suffix == ".parquet"))


def _rows_per_reader(export: Path) -> dict[str, int]:
    with duckdb.connect() as con:
        by_duckdb = int(con.execute(f"SELECT count(*) FROM {scan_sql(export)}").fetchall()[0][0])
    if export.is_dir():
        by_polars = pl.scan_parquet(export, hive_partitioning=True).collect().height
    else:
        by_polars = pl.read_parquet(export).height
    by_pandas = len(pd.read_parquet(export))
    return {"duckdb": by_duckdb, "polars": by_polars, "pandas": by_pandas}


def assert_readable(folder: Path) -> None:
    """Every Parquet export reads completely with duckdb, polars and pandas, all three seeing the same rows,
    and every warehouse table reads with duckdb."""
    exports = _exports(folder)
    assert exports, f"no Parquet exports in {folder / PARQUET_DIR}"
    for export in exports:
        rows = _rows_per_reader(export)
        assert len(set(rows.values())) == 1, f"{export}: readers disagree on the row count {rows}"
    with duckdb.connect(str(folder / WAREHOUSE_FILE), read_only=True) as con:
        for table in _tables(con):
            con.execute(f"SELECT * FROM {table}").fetchall()
