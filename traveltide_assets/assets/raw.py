"""Raw extracts: the four TravelTide tables streamed from the source into the warehouse and Parquet.

Rows travel as Arrow record batches from the source cursor straight into DuckDB (no pandas, no per-row Python);
the warehouse table and its Parquet export become visible together (publish.py).
"""

import re

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue, asset

from traveltide_assets.publish import publish_arrow
from traveltide_assets.resources import SourceSchemaError, StudySettings, TravelTideSource, Warehouse
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


def _raw_asset(spec: TableSpec) -> AssetsDefinition:
    name = f"raw_{spec.name}"

    @asset(
        name=name,
        group_name=RAW_GROUP,
        description=f"The source `{spec.name}` table (sql/extract/{spec.name}.sql); numeric as double.",
        kinds={"duckdb", "parquet", "postgres"},
    )
    def _extract(
        context: AssetExecutionContext, source: TravelTideSource, warehouse: Warehouse, study: StudySettings
    ) -> MaterializeResult:
        note = source.ensure_available()
        if note:
            context.log.info(note)
        verify_source_table(source, spec)
        sql = read_sql(f"extract/{spec.name}.sql")
        params: tuple[object, ...] = (study.start_timestamp,) if "$1" in sql else ()
        # DuckDB consumes the Arrow stream as it arrives and writes the Parquet export with all cores.
        with source.read(sql, params) as reader, warehouse.connect() as con:
            metadata = publish_arrow(con, warehouse, name, reader)
        rows = metadata["dagster/row_count"].value
        metadata["source"] = MetadataValue.text(source.describe())
        if params:
            metadata["pushed_down_bound"] = MetadataValue.text(f"session_start > {study.cohort_start}")
        context.log.info(f"{name}: {rows:,} rows from {source.describe()}")
        return MaterializeResult(metadata=metadata)

    return _extract


raw_assets = [_raw_asset(spec) for spec in SOURCE_TABLES]
