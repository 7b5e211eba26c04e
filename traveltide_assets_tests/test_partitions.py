"""Monthly partitions of the raw session extracts: month-by-month, one-month refresh and CLI backfill all give
what a full run gives, and a refresh rewrites only its own months."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pyarrow.parquet as pq
import pytest
from dagster import build_schedule_context, materialize

from tools.local_postgres import LocalPostgres
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.partitions import (
    REFRESH_PREVIOUS_ENV,
    all_months,
    covers_every_month,
    full_run_months,
    full_run_tags,
    parse_months,
)
from traveltide_assets.defs.raw.assets import raw_assets
from traveltide_assets.defs.schedules import daily_refresh
from traveltide_assets.pipeline import QUIET, execute, failure_message, study_run_config
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import load_postgres, write_parquet_store
from traveltide_assets_tests.pipeline_harness import ASSET_TABLES

ROOT = Path(__file__).resolve().parents[1]
PARTITIONED = [a for a in raw_assets if a.partitions_def is not None]
WINDOW_COUNTS = "SELECT user_id FROM sessions WHERE session_start > '2023-01-04' GROUP BY user_id"


def _resources(url: str, folder: Path) -> dict[str, object]:
    return {
        "source": TravelTideSource(postgres_url=url),
        "warehouse": Warehouse.in_folder(folder),
        "study": StudySettings(),
    }


def _tables(folder: Path) -> dict[str, tuple]:
    """Row count and an order-independent content hash of every warehouse table."""
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*), sum(hash(t)) FROM {t} t").fetchall()[0] for t in ASSET_TABLES}


def _month_files(folder: Path, asset: str) -> dict[str, str]:
    dataset = folder / "parquet" / asset
    return {p.parent.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(dataset.glob("*/*.parquet"))}


def _dataset_hash(folder: Path, asset: str) -> tuple:
    """The Parquet dataset as readers see it (hive folders, month column from the path)."""
    glob = folder / "parquet" / asset / "*" / "*.parquet"
    with duckdb.connect() as con:
        return con.execute(
            f"SELECT count(*), sum(hash(t)) FROM read_parquet('{glob}', hive_partitioning=true) t"
        ).fetchall()[0]


@pytest.fixture(scope="module")
def source_url(postgres: LocalPostgres) -> str:
    url = postgres.create_database("partitions")
    load_postgres(generate_source(GeneratorConfig(users=20_000, seed=41)), url)
    return url


@pytest.fixture(scope="module")
def full_run(source_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("full")
    assert execute(resources=_resources(source_url, folder)).success
    return folder


def test_month_by_month_gives_the_full_run(source_url: str, full_run: Path, tmp_path: Path) -> None:
    months = all_months()
    resources = _resources(source_url, tmp_path)
    # The months with sessions one run each (as daily refreshes would have built them), the rest in one run that
    # also builds everything downstream.
    for month in months[:8]:
        result = materialize(PARTITIONED, partition_key=month, resources=resources, run_config=QUIET)
        assert result.success, month
    assert execute(resources=resources, months=(months[8], months[-1])).success

    assert _tables(tmp_path) == _tables(full_run)
    for asset in ("raw_sessions", "raw_flights", "raw_hotels"):
        assert sorted(_month_files(tmp_path, asset)) == [f"session_month={m}" for m in months]
        assert _dataset_hash(tmp_path, asset) == _dataset_hash(full_run, asset)
    for asset in ("session_cohort", "perk_assignments"):
        assert (tmp_path / "parquet" / f"{asset}.parquet").read_bytes() == (
            full_run / "parquet" / f"{asset}.parquet"
        ).read_bytes()


def test_one_month_refresh_rewrites_only_that_month(source_url: str, postgres: LocalPostgres, tmp_path: Path) -> None:
    # A private copy of the source that this test may change.
    url = postgres.create_database("partitions_refresh")
    load_postgres(generate_source(GeneratorConfig(users=20_000, seed=41)), url)
    refreshed = tmp_path / "refreshed"
    assert execute(resources=_resources(url, refreshed)).success
    before = _month_files(refreshed, "raw_sessions")

    # New facts arrive for 2023-06: clicks of every June session change, and one June session of a customer
    # who stays in the cohort without it disappears.
    june = "session_start >= '2023-06-01' AND session_start < '2023-07-01'"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"UPDATE sessions SET page_clicks = page_clicks + 1 WHERE {june}")
        stays = f"user_id IN ({WINDOW_COUNTS} HAVING count(*) > 8)"
        conn.execute(f"DELETE FROM sessions WHERE session_id = (SELECT min(session_id) FROM sessions "
                     f"WHERE {june} AND trip_id IS NULL AND {stays})")  # fmt: skip
    assert execute(resources=_resources(url, refreshed), months=("2023-06", "2023-06")).success

    after = _month_files(refreshed, "raw_sessions")
    changed = {m for m in before if before[m] != after[m]}
    assert changed == {"session_month=2023-06"}
    fresh = tmp_path / "fresh"
    assert execute(resources=_resources(url, fresh)).success
    assert _tables(refreshed) == _tables(fresh)
    assert _dataset_hash(refreshed, "raw_sessions") == _dataset_hash(fresh, "raw_sessions")


def test_full_run_ends_at_the_newest_session_and_empties_months_stored_beyond(
    full_run: Path, postgres: LocalPostgres, tmp_path: Path
) -> None:
    """The synthetic sessions end on 2023-07-28, as the real ones do: a full run stops at July. When the newest
    sessions go (July deleted in the source), the next full run ends in June and empties July's stored files."""
    first_seven = [f"session_month=2023-{m:02d}" for m in range(1, 8)]
    for asset in ("raw_sessions", "raw_flights", "raw_hotels"):
        assert sorted(_month_files(full_run, asset)) == first_seven
    url = postgres.create_database("partitions_shrunk")
    load_postgres(generate_source(GeneratorConfig(users=20_000, seed=41)), url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM sessions WHERE session_start >= '2023-07-01'")
    folder = tmp_path / "data"
    shutil.copytree(full_run, folder)
    result = execute(resources=_resources(url, folder))
    assert result.success, failure_message(result)
    months = {e.partition for e in result.get_asset_materialization_events() if e.partition}
    assert months == {f"2023-{m:02d}" for m in range(1, 7)}
    for asset in ("raw_sessions", "raw_flights", "raw_hotels"):
        assert sorted(_month_files(folder, asset)) == first_seven  # July's file stays, emptied
        july = folder / "parquet" / asset / "session_month=2023-07" / "data.parquet"
        assert pq.read_metadata(july).num_rows == 0
    fresh = tmp_path / "fresh"
    assert execute(resources=_resources(url, fresh)).success
    assert _tables(folder) == _tables(fresh)
    for asset in ("raw_sessions", "raw_flights", "raw_hotels"):
        assert _dataset_hash(folder, asset) == _dataset_hash(fresh, asset)


def test_full_run_months() -> None:
    now = dt.datetime(2026, 12, 3, 6, 0)
    assert full_run_months(None, now) == ("2023-01", "2026-12")  # unknown: every month
    assert full_run_months(dt.datetime(2023, 7, 28, 23, 59), now) == ("2023-01", "2023-07")
    assert full_run_months(dt.datetime(2022, 5, 1), now) == ("2023-01", "2023-01")
    assert full_run_months(dt.datetime(2031, 1, 1), now) == ("2023-01", "2026-12")  # clock skew: up to today
    months = all_months(now)
    tags = full_run_tags(dt.datetime(2023, 7, 1), now)
    assert covers_every_month(months, {}, now)
    assert covers_every_month(months[:7], tags, now)
    assert not covers_every_month(months[:7], {}, now)  # a backfill of some months
    assert not covers_every_month(months[1:7], tags, now)  # not from the first month


def test_refresh_brings_stored_months_in_line_with_a_changed_cohort(postgres: LocalPostgres, tmp_path: Path) -> None:
    """Only the cohort's rows are extracted. A customer whose eighth session arrives in the refreshed month joins
    the cohort: their earlier sessions, in months stored before, are fetched into those months. A customer whose
    session is deleted falls out of it: their rows leave every month. The result is a full run's."""
    url = postgres.create_database("partitions_cohort_change")
    load_postgres(generate_source(GeneratorConfig(users=20_000, seed=41)), url)
    refreshed = tmp_path / "refreshed"
    assert execute(resources=_resources(url, refreshed)).success
    before = _month_files(refreshed, "raw_sessions")
    with psycopg.connect(url, autocommit=True) as conn:
        joiner, joiner_months = conn.execute(
            f"SELECT user_id, array_agg(DISTINCT to_char(session_start, 'YYYY-MM')) FROM sessions "
            f"WHERE user_id IN ({WINDOW_COUNTS} HAVING count(*) = 7 AND max(session_start) < '2023-07-01') "
            "AND session_start > '2023-01-04' GROUP BY user_id ORDER BY user_id LIMIT 1"
        ).fetchone()
        leaver, leaver_months = conn.execute(
            f"SELECT user_id, array_agg(DISTINCT to_char(session_start, 'YYYY-MM')) FROM sessions "
            f"WHERE user_id IN ({WINDOW_COUNTS} HAVING count(*) = 8 AND min(session_start) < '2023-07-01') "
            "AND session_start > '2023-01-04' GROUP BY user_id ORDER BY user_id LIMIT 1"
        ).fetchone()
        conn.execute(
            "INSERT INTO sessions SELECT 'joiner-' || session_id, user_id, NULL, TIMESTAMP '2023-07-10 10:00', "
            "TIMESTAMP '2023-07-10 10:04', false, false, NULL, NULL, false, false, 12, false FROM sessions "
            "WHERE user_id = %s ORDER BY session_start DESC LIMIT 1",
            [joiner],
        )
        conn.execute(
            "DELETE FROM sessions WHERE session_id = (SELECT min(session_id) FROM sessions WHERE user_id = %s "
            "AND trip_id IS NULL AND session_start > '2023-01-04' AND session_start < '2023-07-01')",
            [leaver],
        )
    result = execute(resources=_resources(url, refreshed), months=("2023-07", "2023-07"))
    assert result.success
    metadata = next(
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "raw_sessions"
    )
    assert metadata["cohort_joiners"].value >= 1 and metadata["cohort_leavers"].value == 1

    # Only the months of the joiner's and the leaver's sessions changed beside the refreshed one.
    after = _month_files(refreshed, "raw_sessions")
    changed = {m.removeprefix("session_month=") for m in before if before[m] != after[m]}
    assert changed == {"2023-07", *joiner_months, *leaver_months}
    with duckdb.connect(str(refreshed / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(f"SELECT count(*) FROM raw_sessions WHERE user_id = {joiner}").fetchall()[0][0] == 8
        assert con.execute(f"SELECT count(*) FROM raw_sessions WHERE user_id = {leaver}").fetchall()[0][0] == 0
    fresh = tmp_path / "fresh"
    assert execute(resources=_resources(url, fresh)).success
    assert _tables(refreshed) == _tables(fresh)
    for asset in ("raw_sessions", "raw_flights", "raw_hotels"):
        assert _dataset_hash(refreshed, asset) == _dataset_hash(fresh, asset)


def test_refresh_of_some_months_keeps_the_stored_cohort_definition(
    source_url: str, full_run: Path, tmp_path: Path
) -> None:
    """A refresh of some months for another cohort definition would mix two cohorts: it fails, saying why."""
    folder = tmp_path / "data"
    shutil.copytree(full_run, folder)
    result = execute(
        study_run_config("2023-01-04", 5), resources=_resources(source_url, folder), months=("2023-07", "2023-07")
    )
    assert not result.success
    message = failure_message(result)
    assert "more than 7 sessions" in message and "more than 5" in message and "refresh every month" in message


def test_cli_backfill_of_all_months_gives_the_full_run(tmp_path: Path) -> None:
    """`dagster asset materialize --partition-range` (one run for every month), then the rest of the graph."""
    store = tmp_path / "store"
    write_parquet_store(generate_source(GeneratorConfig(users=20_000, seed=43)), store)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAVELTIDE_", "DAGSTER_"))}
    (tmp_path / "home").mkdir()
    backfilled, full = tmp_path / "backfilled", tmp_path / "full"
    for folder in (backfilled, full):
        folder.mkdir()
        (folder / "source").symlink_to(store)

    dagster = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "traveltide_assets.definitions"]
    months = all_months()
    run_env = {**env, "DAGSTER_HOME": str(tmp_path / "home"), "TRAVELTIDE_DATA_DIR": str(backfilled)}
    for selection, extra in (
        ("raw_sessions,raw_flights,raw_hotels", ["--partition-range", f"{months[0]}...{months[-1]}"]),
        (
            "raw_users,session_cohort,user_features,perk_scores,perk_evidence,perk_probabilities,user_segments,user_segment_profiles,"
            "perk_assignments",
            [],
        ),
    ):
        done = subprocess.run([*dagster, "--select", selection, *extra], cwd=ROOT, env=run_env, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()[-3000:]
    done = subprocess.run(
        [sys.executable, "-m", "traveltide_assets.cli", "run"], cwd=ROOT, capture_output=True,
        env={**env, "TRAVELTIDE_DATA_DIR": str(full)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    for asset in ("raw_sessions", "raw_flights", "raw_hotels"):
        assert _dataset_hash(backfilled, asset) == _dataset_hash(full, asset)
    assert (backfilled / "parquet" / "perk_assignments.parquet").read_bytes() == (
        full / "parquet" / "perk_assignments.parquet"
    ).read_bytes()


@pytest.mark.parametrize(("previous", "expected"), [("1", ("2026-11", "2026-12")), ("0", ("2026-12", "2026-12"))])
def test_daily_schedule_refreshes_the_newest_months(
    previous: str, expected: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REFRESH_PREVIOUS_ENV, previous)
    tick = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
    request = daily_refresh(build_schedule_context(scheduled_execution_time=tick))
    tags = request.tags
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == expected


@pytest.mark.parametrize("text", ["2022-12", "2023-13", "july", "2023-07..2023-05"])
def test_bad_months_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="month"):
        parse_months(text)
