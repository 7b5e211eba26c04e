"""Helpers that run the real asset graph in-process against a given source and a fresh warehouse."""

from __future__ import annotations

from pathlib import Path

from dagster import Definitions, ExecuteInProcessResult, in_process_executor

from traveltide_assets.checks import asset_checks
from traveltide_assets.definitions import all_assets, refresh_all
from traveltide_assets.resources import StudySettings, TravelTideSource, Warehouse

ASSET_TABLES = (
    "raw_users",
    "raw_sessions",
    "raw_flights",
    "raw_hotels",
    "session_cohort",
    "user_features",
    "perk_scores",
    "user_segments",
    "perk_assignments",
    "perk_summary",
)


def warehouse_in(folder: Path) -> Warehouse:
    return Warehouse(path=str(folder / "warehouse.duckdb"), parquet_dir=str(folder / "parquet"))


def run_graph(
    source: TravelTideSource, warehouse: Warehouse, study: StudySettings | None = None
) -> ExecuteInProcessResult:
    defs = Definitions(
        assets=all_assets,
        asset_checks=asset_checks,
        jobs=[refresh_all],
        resources={"source": source, "warehouse": warehouse, "study": study or StudySettings()},
        executor=in_process_executor,
    )
    return defs.resolve_job_def("refresh_all").execute_in_process(raise_on_error=False)
