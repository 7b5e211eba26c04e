"""The project as Dagster sees it: `dg` finds it, workspace.yaml loads, the CLI run works, and runs land in
PostgreSQL storage."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus

from tools.local_postgres import LocalPostgres
from traveltide_assets.definitions import defs
from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.campaign import checks as campaign
from traveltide_assets.defs.cohort import checks as cohort
from traveltide_assets.defs.features import checks as features
from traveltide_assets.defs.partitions import all_months
from traveltide_assets.defs.perks import checks as perks
from traveltide_assets.defs.raw import checks as raw
from traveltide_assets.defs.raw.extract_plan import SESSION_TABLES
from traveltide_assets_tests.cli_process import embedded_source

ROOT = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).with_name("dg")  # the `dg` command installed beside this Python
ASSET_KEYS = sorted(key.to_user_string() for key in defs.resolve_all_asset_keys())


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAVELTIDE_", "DAGSTER_"))}
    return {**env, **extra}


def test_definitions_hold_the_whole_lineage_schedule_and_checks() -> None:
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {
        "raw_sessions",
        "session_cohort",
        "user_features",
        "perk_scores",
        "user_segments",
        "perk_assignments",
        "perk_summary",
    } <= keys
    assert repo.get_schedule_def("daily_refresh").cron_schedule == "0 4 * * *"
    # Every SQL rule of every stage's checks.py, the source-schema check of each table that reads the source, and
    # the campaign's sign-ups check: nothing more, nothing less.
    rules = [spec for stage in (raw, cohort, features, perks, campaign) for spec in stage.CHECKS]
    expected = {AssetCheckKey(AssetKey(spec.asset), spec.name) for spec in rules}
    expected |= {AssetCheckKey(AssetKey(table), "source_has_expected_columns") for table in SESSION_TABLES}
    expected.add(AssetCheckKey(AssetKey("campaign_signups"), "campaign_signups_valid"))
    assert set(repo.asset_graph.asset_check_keys) == expected


def test_workspace_yaml_validates_with_the_dagster_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Validation successful" in done.stderr + done.stdout


def test_dg_check_defs_loads_the_project() -> None:
    """`dg check defs` in the project folder: pyproject's [tool.dg] names the code location."""
    done = subprocess.run([str(DG), "check", "defs"], cwd=ROOT, capture_output=True, text=True, timeout=300, env=_env())
    assert done.returncode == 0, done.stderr[-2000:]
    assert "All definitions loaded successfully" in done.stdout + done.stderr


@pytest.mark.parametrize("asset", ASSET_KEYS)
def test_every_asset_backfills_many_months_in_one_run(asset: str) -> None:
    """The CLI runs a partition range (`dg launch --partition-range`) only if every selected asset, partitioned or
    not, has a single-run backfill policy (defs/backfill.py)."""
    assert defs.resolve_asset_graph().get(AssetKey(asset)).backfill_policy == SINGLE_RUN_BACKFILL


@pytest.mark.slow
def test_dg_launch_materialises_every_asset_over_every_month(tmp_path: Path) -> None:
    """`dg launch --assets '*'` over all session months: one run, every asset and check, on a small source."""
    data = embedded_source(tmp_path / "data", users=8000, seed=5)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    months = all_months()
    done = subprocess.run(
        [str(DG), "launch", "--assets", "*", "--partition-range", f"{months[0]}...{months[-1]}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(DAGSTER_HOME=str(home), TRAVELTIDE_DATA_DIR=str(data)),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.asset_selection == set(defs.get_repository_def().asset_graph.get_all_asset_keys())
        checked = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    evaluations = [r.event_log_entry.get_dagster_event().asset_check_evaluation_data for r in checked]
    assert len(evaluations) == len(list(defs.get_repository_def().asset_graph.asset_check_keys))
    assert all(e.passed for e in evaluations)
    assert (data / "parquet" / "perk_assignments.parquet").is_file()


def test_cli_run_with_postgres_run_storage(postgres: LocalPostgres, tmp_path: Path) -> None:
    """`traveltide run` on the embedded default, with the instance's runs and events stored by dagster-postgres."""
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE dagster_storage")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    env = _env(
        DAGSTER_HOME=str(home),
        DAGSTER_PG_URL=postgres.url_for("dagster_storage").replace("postgresql://", "postgresql+psycopg2://"),
        TRAVELTIDE_DATA_DIR=str(tmp_path / "data"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "traveltide_assets.cli", "run", "--users", "8000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Every asset of the definitions (perk_accuracy too: synthetic truth) and every check; the session months from
    # 2023-01 through the source's newest, 2023-07.
    assets = len(defs.resolve_all_asset_keys())
    checks = len(defs.resolve_asset_graph().asset_check_keys)
    assert (
        f"Run        {assets} assets materialised (7 session months), {checks} checks passed"
        in done.stdout.splitlines()
    )
    assert (tmp_path / "data" / "parquet" / "perk_assignments.parquet").is_file()
    with psycopg.connect(postgres.url_for("dagster_storage")) as conn:
        statuses = conn.execute("SELECT status FROM runs").fetchall()
    assert statuses == [("SUCCESS",)]


def test_cli_run_rejects_bad_cohort_settings(tmp_path: Path) -> None:
    for args, message in (
        (["--cohort-start", "2999-01-01"], "in the future"),
        (["--min-sessions", "-1"], "min_sessions must be >= 0"),
        (["--cohort-start", "yesterday"], "must be a date"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "traveltide_assets.cli", "run", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=_env(TRAVELTIDE_DATA_DIR=str(tmp_path / "data")),
        )
        assert done.returncode == 2, done.stderr[-2000:]
        assert message in done.stderr.strip().splitlines()[-1]
        assert "Traceback" not in done.stderr
