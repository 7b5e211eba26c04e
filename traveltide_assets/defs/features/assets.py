"""Per-user features of the cohort (documented in docs/features.md)."""

from dagster import MaterializeResult, MetadataValue, asset

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.cohort.assets import session_cohort
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.sql_files import read_sql
from traveltide_assets.storage.duck import one_row
from traveltide_assets.storage.publish import publish_query
from traveltide_assets.storage.warehouse import Warehouse


@asset(
    group_name="features",
    deps=[session_cohort],
    kinds={"duckdb", "parquet"},
    description="One row per cohort user: demographics, browsing, booking, spend, discounts and travel "
    "(sql/features/user_features.sql, documented in docs/features.md).",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def user_features(warehouse: Warehouse, study: StudySettings) -> MaterializeResult:
    with warehouse.connect() as con:
        metadata = publish_query(
            con,
            warehouse,
            "user_features",
            read_sql("features/user_features.sql"),
            {"cohort_start": study.cohort_start},
        )
        summary = one_row(
            con,
            "SELECT avg(age), avg((gender = 'F')::int), avg(sessions), avg(trips), avg(booking_rate) "
            "FROM user_features",
        )
    labels = ("mean_age", "female_share", "mean_sessions", "mean_trips", "mean_booking_rate")
    metadata.update({k: MetadataValue.float(float(v or 0.0)) for k, v in zip(labels, summary, strict=True)})
    return MaterializeResult(metadata=metadata)
