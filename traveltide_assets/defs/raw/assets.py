"""Raw extracts: the cohort's rows of the four TravelTide tables, streamed from the source into the warehouse.

raw_users counts the cohort in the source and extracts its users; only their rows travel (cohort_extract.py).
Sessions, flights and hotels then come from one pass over the source and are stored by session month
(partitions.py). Rows travel as Arrow record batches from the source cursor straight into DuckDB (no pandas, no
per-row Python); each table and its Parquet export become visible together (publish.py).
"""

import re
import warnings
from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    BackfillPolicy,
    BetaWarning,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.partitions import SESSION_MONTHS, covers_every_month, months_between
from traveltide_assets.defs.raw.extract_plan import (
    SESSION_TABLES,
    apply_extract,
    cohort_members,
    plan_extract,
    stage_extract,
    store_members,
    stored_members,
    users_query,
)
from traveltide_assets.sources.connection import SourceConnection
from traveltide_assets.sources.contract import FLIGHTS, HOTELS, SESSIONS, USERS, TableSpec
from traveltide_assets.sources.resource import SourceSchemaError, TravelTideSource
from traveltide_assets.storage.duck import run
from traveltide_assets.storage.publish import month_metadata, publish_arrow, publish_month_tables, record_source
from traveltide_assets.storage.warehouse import Warehouse

RAW_GROUP = "raw"
KINDS = {"duckdb", "parquet", "postgres"}
DESCRIPTIONS = {
    "raw_sessions": "The sessions after cohort_start of raw_users' cohort, by session month "
    "(sql/extract/cohort_sessions.sql).",
    "raw_flights": "The flights the cohort's sessions booked, in the month of the booking session.",
    "raw_hotels": "The hotel stays the cohort's sessions booked, in the month of the booking session.",
}


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


def verify_source_table(source: SourceConnection, spec: TableSpec, describe: str) -> None:
    """Fail before anything is written when the source table lacks a column or a column changed type."""
    found = source.columns(spec.name)
    if not found:
        raise SourceSchemaError(f"source table {spec.name!r} is missing in {describe}")
    problems = []
    for column in spec.columns:
        if column.name not in found:
            problems.append(f"column {column.name!r} is missing")
        elif _type_family(found[column.name]) != _type_family(column.pg_type):
            problems.append(f"column {column.name!r} is {found[column.name]}, expected {column.pg_type}")
    if problems:
        raise SourceSchemaError(f"source table {spec.name!r}: " + "; ".join(problems))


def _open_source(context: AssetExecutionContext, source: TravelTideSource) -> None:
    note = source.ensure_available()
    if note:
        context.log.info(note)


# backfill_policy is marked beta; it is what makes a many-month backfill a single run.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", BetaWarning)
    _session_extracts = multi_asset(
        name="raw_session_extracts",
        specs=[
            AssetSpec(name, group_name=RAW_GROUP, description=DESCRIPTIONS[name], kinds=KINDS, deps=["raw_users"])
            for name in SESSION_TABLES
        ],
        partitions_def=SESSION_MONTHS,
        # A backfill of many months is one run and one source pass, not one run per month.
        backfill_policy=BackfillPolicy.single_run(),
    )


@_session_extracts
def raw_session_extracts(
    context: AssetExecutionContext, source: TravelTideSource, warehouse: Warehouse, study: StudySettings
) -> Iterator[MaterializeResult]:
    _open_source(context, source)
    if not (context.has_partition_key or context.has_partition_key_range):
        raise ValueError("the session extracts are partitioned by session month: run them for a month or a range")
    months = months_between(context.partition_key_range.start, context.partition_key_range.end)
    with source.open() as src, warehouse.connect() as con:
        for spec in (SESSIONS, FLIGHTS, HOTELS):
            verify_source_table(src, spec, source.describe())
        members = stored_members(con, study)
        plan = plan_extract(con, study, months, covers_every_month(months, context.run.tags), members)
        with src.stream(plan.query(study)) as reader:
            rows = stage_extract(con, reader)
        try:
            written = publish_month_tables(con, warehouse, SESSION_TABLES, lambda: apply_extract(con, plan, study))
        finally:
            run(con, "DROP TABLE IF EXISTS _extract")
        metadata = {table: month_metadata(con, warehouse, table, written) for table in SESSION_TABLES}
    context.log.info(
        f"cohort of {len(members):,} users: {rows:,} sessions from {source.describe()}; months written "
        f"{len(written)} (joined the cohort since: {len(plan.joiners):,}, left it: {len(plan.leavers):,})"
    )
    metadata["raw_sessions"].update(
        {
            "cohort_joiners": MetadataValue.int(len(plan.joiners)),
            "cohort_leavers": MetadataValue.int(len(plan.leavers)),
            "months_aligned": MetadataValue.text(", ".join(m for m in written if m not in months) or "none"),
        }
    )
    for table in SESSION_TABLES:
        metadata[table]["read_from"] = MetadataValue.text(source.describe())
        yield MaterializeResult(asset_key=table, metadata=metadata[table])


@asset(
    group_name=RAW_GROUP,
    kinds=KINDS,
    description="The cohort's users: users with more than min_sessions sessions after cohort_start, counted in the "
    "source (sql/extract/cohort_members.sql, users.sql); numeric as double.",
)
def raw_users(
    context: AssetExecutionContext, source: TravelTideSource, warehouse: Warehouse, study: StudySettings
) -> MaterializeResult:
    _open_source(context, source)
    with source.open() as src:
        # The first extract checks every source table, so that a changed source fails before anything is written.
        for spec in (USERS, SESSIONS, FLIGHTS, HOTELS):
            verify_source_table(src, spec, source.describe())
        members = cohort_members(src, study)
        provenance = source.provenance()

        def bookkeeping() -> None:  # changes with raw_users: the member list and whose customers they are
            store_members(con, members, study)
            record_source(con, provenance)

        with src.stream(users_query(members)) as reader, warehouse.connect() as con:
            metadata = publish_arrow(con, warehouse, "raw_users", reader, also=bookkeeping)
    metadata["cohort_users"] = MetadataValue.int(len(members))
    metadata["read_from"] = MetadataValue.text(source.describe())
    context.log.info(f"raw_users: {len(members):,} cohort users counted in {source.describe()}")
    return MaterializeResult(metadata=metadata)


raw_assets = [raw_users, raw_session_extracts]
