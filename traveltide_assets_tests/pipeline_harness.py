"""Helpers that run the real asset graph in-process against a given source and a fresh warehouse."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import polars as pl
from dagster import ExecuteInProcessResult

from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.pipeline import execute
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse

ASSET_TABLES = (
    "raw_users",
    "raw_sessions",
    "raw_flights",
    "raw_hotels",
    "session_cohort",
    "user_features",
    "perk_scores",
    "perk_evidence",
    "perk_probabilities",
    "assignment_reliability",
    "user_segments",
    "user_segment_profiles",
    "segment_evidence",
    "perk_assignments",
    "perk_summary",
)


def run_graph(
    source: TravelTideSource, warehouse: Warehouse, study: StudySettings | None = None
) -> ExecuteInProcessResult:
    return execute(resources={"source": source, "warehouse": warehouse, "study": study or StudySettings()})


def parquet_files(warehouse: Warehouse, asset: str) -> list[Path]:
    """The Parquet file of an asset, or every month file of a month-partitioned one."""
    single = warehouse.parquet_path(asset)
    return [single] if single.is_file() else sorted(warehouse.parquet_dataset(asset).glob("*/*.parquet"))


def parquet_digest(warehouse: Warehouse, asset: str) -> str:
    """sha256 over the asset's files, their paths included (a month added or removed changes it)."""
    digest = hashlib.sha256()
    for path in parquet_files(warehouse, asset):
        digest.update(str(path.relative_to(warehouse.parquet_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def read_polars(warehouse: Warehouse, asset: str) -> pl.DataFrame:
    single = warehouse.parquet_path(asset)
    if single.is_file():
        return pl.read_parquet(single)
    return pl.read_parquet(warehouse.parquet_dataset(asset) / "*" / "*.parquet", hive_partitioning=True)


def read_pandas(warehouse: Warehouse, asset: str) -> pd.DataFrame:
    single = warehouse.parquet_path(asset)
    return pd.read_parquet(single if single.is_file() else warehouse.parquet_dataset(asset))
