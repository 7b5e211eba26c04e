"""Raw extracts: the four TravelTide tables streamed from the source into the warehouse and Parquet.

Rows travel as Arrow record batches from the source cursor straight into DuckDB (no pandas, no per-row Python);
the warehouse table and its Parquet export become visible together (publish.py). Sessions, flights and hotels
are partitioned by session month (partitions.py): a run extracts and replaces only its months.
"""

import re
import warnings

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    BetaWarning,
    MaterializeResult,
    MetadataValue,
    asset,
)

from traveltide_assets.partitions import SESSION_MONTHS, all_months, month_bounds, months_between
from traveltide_assets.publish import publish_arrow, publish_months
from traveltide_assets.resources import SourceSchemaError, TravelTideSource, Warehouse
from traveltide_assets.sql_files import read_sql
from traveltide_assets.synthetic.schema import SOURCE_TABLES, TableSpec

RAW_GROUP = "raw"


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


def verify_source_table(source: TravelTideSource, spec: TableSpec) -> None:
    """Fail before anything is written when the source table lacks a column or a column changed type."""
    found = source.columns(spec.name)
    if not found:
        raise SourceSchemaError(f"source table {spec.name!r} is missing in {source.describe()}")
    problems = []
    for column in spec.columns:
        if column.name not in found:
            problems.append(f"column {column.name!r} is missing")
        elif _type_family(found[column.name]) != _type_family(column.pg_type):
            problems.append(f"column {column.name!r} is {found[column.name]}, expected {column.pg_type}")
    if problems:
        raise SourceSchemaError(f"source table {spec.name!r}: " + "; ".join(problems))


def _extract(
    context: AssetExecutionContext, source: TravelTideSource, warehouse: Warehouse, spec: TableSpec, partitioned: bool
) -> MaterializeResult:
    note = source.ensure_available()
    if note:
        context.log.info(note)
    verify_source_table(source, spec)
    name, sql = f"raw_{spec.name}", read_sql(f"extract/{spec.name}.sql")
    if partitioned:
        if not (context.has_partition_key or context.has_partition_key_range):
            raise ValueError(f"{name} is partitioned by session month: run it for a month or a range of months")
        first, last = context.partition_key_range.start, context.partition_key_range.end
        months = months_between(first, last)
        # DuckDB consumes the Arrow stream as it arrives and writes the month files with all cores.
        with source.read(sql, month_bounds(first, last)) as reader, warehouse.connect() as con:
            metadata = publish_months(con, warehouse, name, reader, months, rebuild=months == all_months())
    else:
        with source.read(sql, ()) as reader, warehouse.connect() as con:
            metadata = publish_arrow(con, warehouse, name, reader)
    metadata["source"] = MetadataValue.text(source.describe())
    context.log.info(f"{name}: {metadata['dagster/row_count'].value:,} rows from {source.describe()}")
    return MaterializeResult(metadata=metadata)


def _raw_asset(spec: TableSpec) -> AssetsDefinition:
    partitioned = spec.name != "users"
    what = "rows of the run's session months" if partitioned else "whole table"

    # backfill_policy is marked beta; it is what makes a many-month backfill a single run.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        decorate = asset(
            name=f"raw_{spec.name}",
            group_name=RAW_GROUP,
            description=f"The source `{spec.name}` table, {what} (sql/extract/{spec.name}.sql); numeric as double.",
            kinds={"duckdb", "parquet", "postgres"},
            partitions_def=SESSION_MONTHS if partitioned else None,
            # A backfill of many months is one run and one source query, not one run per month.
            backfill_policy=BackfillPolicy.single_run() if partitioned else None,
        )

    @decorate
    def _raw(context: AssetExecutionContext, source: TravelTideSource, warehouse: Warehouse) -> MaterializeResult:
        return _extract(context, source, warehouse, spec, partitioned)

    return _raw


raw_assets = [_raw_asset(spec) for spec in SOURCE_TABLES]
