"""Helpers that run the real asset graph in-process against a given source and a fresh warehouse."""

from __future__ import annotations

from dagster import ExecuteInProcessResult

from traveltide_assets.pipeline import execute
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
    "segment_evidence",
    "perk_assignments",
    "perk_summary",
)


def run_graph(
    source: TravelTideSource, warehouse: Warehouse, study: StudySettings | None = None
) -> ExecuteInProcessResult:
    return execute(resources={"source": source, "warehouse": warehouse, "study": study or StudySettings()})
