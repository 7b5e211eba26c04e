"""Asset check `source_has_expected_columns`: the source tables a raw asset reads have every column of the source
contract (sources/contract.py), each with a type of the expected family.

The rule is about the source, not the warehouse, so the raw steps evaluate it themselves, from their own
connection, before they write anything (check_specs on the raw assets). A source that breaks it is refused: the
step emits the failed result, naming table and column, and stops with the same line as its error, so nothing is
written and nothing downstream runs. A source that keeps it gets a passed result with the materialisation. The
check is blocking and every evaluation emits a result: a blocking check that emits nothing would let the assets
below run with only a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dagster import AssetCheckKey, AssetCheckResult, AssetCheckSpec, AssetExecutionContext, AssetKey, MetadataValue

from traveltide_assets.sources.connection import SourceConnection
from traveltide_assets.sources.contract import TableSpec
from traveltide_assets.sources.resource import SourceSchemaError

SOURCE_HAS_EXPECTED_COLUMNS = "source_has_expected_columns"


def source_check_spec(asset: str, tables: Sequence[TableSpec]) -> AssetCheckSpec:
    names = ", ".join(table.name for table in tables)
    return AssetCheckSpec(
        SOURCE_HAS_EXPECTED_COLUMNS,
        asset=asset,
        blocking=True,
        description=f"The source tables {names} have every column of the source contract (sources/contract.py) "
        "with its type; evaluated by the extract before it writes anything, which refuses a source that fails.",
    )


def _type_family(type_name: str) -> str:
    """Collapse PostgreSQL and Arrow type names into comparable families."""
    t = type_name.lower()
    for family, pattern in (
        ("timestamp", r"timestamp"),
        ("date", r"^date"),
        ("integer", r"^(integer|int\d*|bigint|smallint)$"),
        ("numeric", r"^(numeric|decimal|double|float|real)"),
        ("boolean", r"^bool"),
        ("text", r"^(text|string|large_string|character varying|varchar)"),
    ):
        if re.search(pattern, t):
            return family
    return t


def table_problem(source: SourceConnection, spec: TableSpec, describe: str) -> str | None:
    """What is wrong with one source table, in one line naming the table and its columns; None if nothing."""
    found = source.columns(spec.name)
    if not found:
        return f"source table {spec.name!r} is missing in {describe}"
    problems = []
    for column in spec.columns:
        if column.name not in found:
            problems.append(f"column {column.name!r} is missing")
        elif _type_family(found[column.name]) != _type_family(column.pg_type):
            problems.append(f"column {column.name!r} is {found[column.name]}, expected {column.pg_type}")
    return f"source table {spec.name!r}: " + "; ".join(problems) if problems else None


@dataclass(frozen=True)
class SourceSchema:
    """The rule evaluated for one raw asset: the source tables it guards and what is wrong with them."""

    asset: str
    tables: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def key(self) -> AssetCheckKey:
        return AssetCheckKey(AssetKey(self.asset), SOURCE_HAS_EXPECTED_COLUMNS)

    def result(self, describe: str) -> AssetCheckResult:
        return AssetCheckResult(
            asset_key=self.asset,
            check_name=SOURCE_HAS_EXPECTED_COLUMNS,
            passed=not self.problems,
            description="; ".join(self.problems) or None,
            metadata={"source": MetadataValue.text(describe), "tables": MetadataValue.text(", ".join(self.tables))},
        )


def evaluate_source(source: SourceConnection, asset: str, tables: Sequence[TableSpec], describe: str) -> SourceSchema:
    problems = (table_problem(source, spec, describe) for spec in tables)
    return SourceSchema(asset, tuple(spec.name for spec in tables), tuple(p for p in problems if p))


def check_results(
    context: AssetExecutionContext, evaluated: Sequence[SourceSchema], describe: str
) -> list[AssetCheckResult]:
    """The results of the checks this run selected (a run may materialise the assets without their checks)."""
    selected = context.selected_asset_check_keys
    return [schema.result(describe) for schema in evaluated if schema.key in selected]


def refuse_bad_source(
    context: AssetExecutionContext, evaluated: Sequence[SourceSchema], describe: str
) -> Iterator[AssetCheckResult]:
    """Nothing if the source keeps the rule; else the results (the failed ones naming table and column), then the
    step's error, one line naming the same."""
    problems = [problem for schema in evaluated for problem in schema.problems]
    if problems:
        yield from check_results(context, evaluated, describe)
        raise SourceSchemaError("; ".join(problems))
