"""Raw extracts: the cohort's rows of the four TravelTide tables, streamed from the source into the warehouse.

raw_users counts the cohort in the source and extracts its users; only their rows travel (cohort_extract.py).
Sessions, flights and hotels then come from one pass over the source and are stored by session month
(partitions.py). Rows travel as Arrow record batches from the source cursor straight into DuckDB (no pandas, no
per-row Python); each table and its Parquet export become visible together (publish.py).
"""

import warnings
from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
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
from traveltide_assets.defs.raw.source_check import check_results, evaluate_source, refuse_bad_source, source_check_spec
from traveltide_assets.sources.contract import FLIGHTS, HOTELS, SESSIONS, USERS, TableSpec
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.duck import run
from traveltide_assets.storage.publish import month_metadata, publish_arrow, publish_month_tables, record_source
from traveltide_assets.storage.warehouse import Warehouse

RAW_GROUP = "raw"
KINDS = {"duckdb", "parquet", "postgres"}
DESCRIPTIONS = {
    "raw_sessions": "The sessions after cohort_start of raw_users' cohort, by session month "
    "(sql/raw/extract/cohort_sessions.sql).",
    "raw_flights": "The flights the cohort's sessions booked, in the month of the booking session.",
    "raw_hotels": "The hotel stays the cohort's sessions booked, in the month of the booking session.",
}
# The source table each session extract reads (the rule source_has_expected_columns, checks.py).
SESSION_SOURCES: dict[str, TableSpec] = {"raw_sessions": SESSIONS, "raw_flights": FLIGHTS, "raw_hotels": HOTELS}
# The first extract checks every source table, so that a changed source fails before anything is written.
USERS_SOURCES: tuple[TableSpec, ...] = (USERS, SESSIONS, FLIGHTS, HOTELS)


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
        check_specs=[source_check_spec(name, [SESSION_SOURCES[name]]) for name in SESSION_TABLES],
        partitions_def=SESSION_MONTHS,
        # A backfill of many months is one run and one source pass, not one run per month.
        backfill_policy=BackfillPolicy.single_run(),
    )


@_session_extracts
def raw_session_extracts(
    context: AssetExecutionContext, source: TravelTideSource, warehouse: Warehouse, study: StudySettings
) -> Iterator[MaterializeResult | AssetCheckResult]:
    _open_source(context, source)
    if not (context.has_partition_key or context.has_partition_key_range):
        raise ValueError("the session extracts are partitioned by session month: run them for a month or a range")
    months = months_between(context.partition_key_range.start, context.partition_key_range.end)
    describe = source.describe()
    with source.open() as src, warehouse.connect() as con:
        schemas = [evaluate_source(src, name, [spec], describe) for name, spec in SESSION_SOURCES.items()]
        yield from refuse_bad_source(context, schemas, describe)
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
        f"cohort of {len(members):,} users: {rows:,} sessions from {describe}; months written "
        f"{len(written)} (joined the cohort since: {len(plan.joiners):,}, left it: {len(plan.leavers):,})"
    )
    metadata["raw_sessions"].update(
        {
            "cohort_joiners": MetadataValue.int(len(plan.joiners)),
            "cohort_leavers": MetadataValue.int(len(plan.leavers)),
            "months_aligned": MetadataValue.text(", ".join(m for m in written if m not in months) or "none"),
        }
    )
    results = check_results(context, schemas, describe)
    for table in SESSION_TABLES:
        metadata[table]["read_from"] = MetadataValue.text(describe)
        checked = [result for result in results if result.asset_key == AssetKey(table)]
        yield MaterializeResult(asset_key=table, metadata=metadata[table], check_results=checked)


@asset(
    group_name=RAW_GROUP,
    kinds=KINDS,
    description="The cohort's users: users with more than min_sessions sessions after cohort_start, counted in the "
    "source (sql/raw/extract/cohort_members.sql, users.sql); numeric as double.",
    check_specs=[source_check_spec("raw_users", USERS_SOURCES)],
)
def raw_users(
    context: AssetExecutionContext, source: TravelTideSource, warehouse: Warehouse, study: StudySettings
) -> Iterator[MaterializeResult | AssetCheckResult]:
    _open_source(context, source)
    describe = source.describe()
    with source.open() as src:
        schemas = [evaluate_source(src, "raw_users", USERS_SOURCES, describe)]
        yield from refuse_bad_source(context, schemas, describe)
        members = cohort_members(src, study)
        provenance = source.provenance()

        def bookkeeping() -> None:  # changes with raw_users: the member list and whose customers they are
            store_members(con, members, study)
            record_source(con, provenance)

        with src.stream(users_query(members)) as reader, warehouse.connect() as con:
            metadata = publish_arrow(con, warehouse, "raw_users", reader, also=bookkeeping)
    metadata["cohort_users"] = MetadataValue.int(len(members))
    metadata["read_from"] = MetadataValue.text(describe)
    context.log.info(f"raw_users: {len(members):,} cohort users counted in {describe}")
    yield MaterializeResult(metadata=metadata, check_results=check_results(context, schemas, describe))


raw_assets = [raw_users, raw_session_extracts]
