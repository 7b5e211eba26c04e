"""The study cohort: cleaned sessions of heavy recent users, joined to what they booked."""

import duckdb
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.raw.assets import raw_assets
from traveltide_assets.sql_files import read_sql
from traveltide_assets.storage.duck import one_row
from traveltide_assets.storage.publish import publish_query
from traveltide_assets.storage.warehouse import Warehouse


def cleaning_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of session_cohort each cleaning rule touched, from its rule_* flag columns."""
    rules = [r[0] for r in con.execute("DESCRIBE session_cohort").fetchall() if r[0].startswith("rule_")]
    sums = ", ".join(f"count(*) FILTER ({rule}) AS {rule}" for rule in rules)
    touched = one_row(con, f"SELECT {sums} FROM session_cohort")
    return {rule.removeprefix("rule_"): int(n) for rule, n in zip(rules, touched, strict=True)}


@asset(
    group_name="cohort",
    deps=raw_assets,
    kinds={"duckdb", "parquet"},
    description="Cleaned sessions of the cohort (sessions after cohort_start, users with more than "
    "min_sessions of them), one row per session with its flight and hotel (sql/cohort/session_cohort.sql).",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def session_cohort(context: AssetExecutionContext, warehouse: Warehouse, study: StudySettings) -> MaterializeResult:
    params = {"cohort_start": study.cohort_start, "min_sessions": study.min_sessions}
    with warehouse.connect() as con:
        metadata = publish_query(con, warehouse, "session_cohort", read_sql("cohort/session_cohort.sql"), params)
        cleaning = cleaning_counts(con)
        users = one_row(con, "SELECT count(DISTINCT user_id), count(*) FROM session_cohort")
    context.log.info(f"cohort: {users[0]:,} users, {users[1]:,} sessions; cleaning: {cleaning}")
    metadata.update(
        {
            "cohort_users": MetadataValue.int(int(users[0])),
            "cohort_sessions": MetadataValue.int(int(users[1])),
            "cohort_definition": MetadataValue.text(
                f"session_start > {study.cohort_start}, users with > {study.min_sessions} such sessions"
            ),
            "rows_touched_by_cleaning_rule": MetadataValue.json(cleaning),
            **{f"cleaning/{rule}": MetadataValue.int(n) for rule, n in cleaning.items()},
        }
    )
    return MaterializeResult(metadata=metadata)
