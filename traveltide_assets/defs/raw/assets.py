"""Raw extracts: the cohort's rows of the four TravelTide tables, streamed from the source into the warehouse.

The session extracts run one statement of constant size that counts the cohort in the source and returns only
its rows (extract_plan.py): sessions, flights and hotels are stored by session month (partitions.py), and the
cohort's user rows are kept for raw_users, which publishes them. Rows travel as Arrow record batches from the source
cursor straight into DuckDB (no pandas, no per-row Python); each table and its Parquet export become visible
together (publish.py).
"""

from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.partitions import SESSION_MONTHS, covers_every_month, months_between
from traveltide_assets.defs.raw.extract_plan import (
    SESSION_TABLES,
    STAGED,
    CohortChange,
    apply_extract,
    plan_extract,
    stage_extract,
    stored_members,
)
from traveltide_assets.defs.raw.source_check import check_results, evaluate_source, refuse_bad_source, source_check_spec
from traveltide_assets.sources.contract import FLIGHTS, HOTELS, SESSIONS, USERS, TableSpec
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.sql_files import read_sql
from traveltide_assets.storage.duck import run
from traveltide_assets.storage.publish import month_metadata, publish_month_tables, publish_query, record_source
from traveltide_assets.storage.warehouse import Warehouse

RAW_GROUP = "raw"
KINDS = {"duckdb", "parquet", "postgres"}
DESCRIPTIONS = {
    "raw_sessions": "The sessions after cohort_start of the cohort's users, by session month; the cohort is counted "
    "in the source by the same statement (sql/raw/extract/cohort_extract.sql).",
    "raw_flights": "The flights the cohort's sessions booked, in the month of the booking session.",
    "raw_hotels": "The hotel stays the cohort's sessions booked, in the month of the booking session.",
}
# The source tables each session extract reads (the rule source_has_expected_columns, source_check.py): the
# statement reads all four, so that a changed source fails before anything is written; the users' rows arrive with
# the sessions.
SESSION_SOURCES: dict[str, tuple[TableSpec, ...]] = {
    "raw_sessions": (SESSIONS, USERS),
    "raw_flights": (FLIGHTS,),
    "raw_hotels": (HOTELS,),
}


def _open_source(context: AssetExecutionContext, source: TravelTideSource) -> None:
    note = source.ensure_available()
    if note:
        context.log.info(note)


_session_extracts = multi_asset(
    name="raw_session_extracts",
    specs=[
        AssetSpec(name, group_name=RAW_GROUP, description=DESCRIPTIONS[name], kinds=KINDS) for name in SESSION_TABLES
    ],
    check_specs=[source_check_spec(name, SESSION_SOURCES[name]) for name in SESSION_TABLES],
    partitions_def=SESSION_MONTHS,
    # A backfill of many months is one run and one source pass, not one run per month.
    backfill_policy=SINGLE_RUN_BACKFILL,
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
    provenance = source.provenance()
    with source.open() as src, warehouse.connect() as con:
        schemas = [evaluate_source(src, name, SESSION_SOURCES[name], describe) for name in SESSION_TABLES]
        yield from refuse_bad_source(context, schemas, describe)
        plan = plan_extract(con, study, months, covers_every_month(months, context.run.tags))
        with src.stream(plan.query(study)) as reader:
            rows = stage_extract(con, reader)

        cohort: list[CohortChange] = []  # what apply_extract found, inside the transaction

        def change() -> list[str]:  # the tables, the member list and whose customers they are, together
            changed, found = apply_extract(con, plan, study)
            record_source(con, provenance)
            cohort.append(found)
            return changed

        try:
            written = publish_month_tables(con, warehouse, SESSION_TABLES, change)
        finally:
            run(con, f"DROP TABLE IF EXISTS {STAGED}")
        metadata = {table: month_metadata(con, warehouse, table, written) for table in SESSION_TABLES}
    members, joiners, leavers = cohort[0].members, cohort[0].joiners, cohort[0].leavers
    context.log.info(
        f"cohort of {members:,} users: {rows:,} sessions from {describe}; months written {len(written)} "
        f"(joined the cohort since: {joiners:,}, left it: {leavers:,})"
    )
    metadata["raw_sessions"].update(
        {
            "cohort_users": MetadataValue.int(members),
            "cohort_joiners": MetadataValue.int(joiners),
            "cohort_leavers": MetadataValue.int(leavers),
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
    kinds={"duckdb", "parquet"},
    deps=list(SESSION_TABLES),
    backfill_policy=SINGLE_RUN_BACKFILL,
    description="The cohort's users, as the session extracts' source pass returned them (raw_state.cohort_members: "
    "users with more than min_sessions sessions after cohort_start, counted in the source); numeric as double.",
)
def raw_users(warehouse: Warehouse, study: StudySettings) -> MaterializeResult:
    with warehouse.connect() as con:
        members = stored_members(con, study)
        metadata = publish_query(con, warehouse, "raw_users", read_sql("raw/raw_users.sql"))
    metadata["cohort_users"] = MetadataValue.int(members)
    return MaterializeResult(metadata=metadata)


raw_assets = [raw_session_extracts, raw_users]
