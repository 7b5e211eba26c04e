"""Bad input at the edges: every command and the Dagster run configuration reject it in one clear line.

Complements test_postgres_load.py (generate: mixes, user counts, target URLs) and test_dagster_project.py (run:
cohort start and minimum sessions): here the remaining commands and inputs, the source URL `run` takes from the
environment, and the same settings given to the Dagster job as run configuration.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInvalidConfigError

from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.pipeline import execute, failure_message
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets_tests.cli_process import ROOT, cli_env, run_cli

UNREACHABLE = "postgresql://u@127.0.0.1:1/db"  # nothing listens on port 1
WITH_PASSWORD = "postgresql://app:Pw-4e1b-never-print@127.0.0.1:1/db"

# (arguments, TRAVELTIDE_SOURCE_URL or None, what the one line must say)
CASES = [
    (["run"], UNREACHABLE, f"cannot connect to PostgreSQL at {UNREACHABLE}"),
    (["run"], "mysql://u@127.0.0.1/db", "not a PostgreSQL URL"),
    (["run"], "postgresql://u@127.0.0.1:99999/db", "invalid port"),
    (["run"], "postgresql://u@/db", "names no host"),
    (["run"], WITH_PASSWORD, "cannot connect to PostgreSQL at postgresql://app:***@127.0.0.1:1/db"),
    (["run", "--min-sessions", "many"], None, "argument --min-sessions: invalid int value: 'many'"),
    (["run", "--users", "0"], None, "argument --users: must be at least 1, got 0"),
    (["run", "--lock-timeout", "-5"], None, "argument --lock-timeout: must be >= 0"),
    (["run", "--cohort-start", "2023-02-30"], None, "cohort_start must be a date YYYY-MM-DD, got '2023-02-30'"),
    (["generate", "--signal", "-1"], None, "argument --signal: must be >= 0"),
    (["generate", "--mix", "free_spa=1"], None, "unknown perk 'free_spa' in mix"),
    (["evaluate", "--mixes", "default,mystery"], None, "unknown perk mix 'mystery'"),
    (["evaluate", "--seeds", "one,two"], None, "argument --seeds: expected comma-separated whole numbers"),
    (["evaluate", "--users", "-3"], None, "argument --users: must be at least 1, got -3"),
    (["bench", "--url", UNREACHABLE, "--users", "100"], None, f"cannot connect to PostgreSQL at {UNREACHABLE}"),
    (["bench", "--url", "http://127.0.0.1/db", "--users", "100"], None, "not a PostgreSQL URL"),
    (["bench", "--users", "none"], None, "argument --users: not a whole number: 'none'"),
    (["frobnicate"], None, "argument command: invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("args", "source_url", "message"), CASES, ids=[" ".join(c[0]) + f" {c[1]}" for c in CASES])
def test_bad_input_is_one_clear_line(args: list[str], source_url: str | None, message: str, tmp_path: Path) -> None:
    if args[0] == "generate":
        args = [*args, "--users", "100", "--to", str(tmp_path / "out")]
    done = run_cli(*args, env=cli_env(tmp_path / "data", source_url))
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]  # exactly one line, no traceback, no usage text
    assert lines[0].startswith("traveltide") and ": error: " in lines[0], lines[0]
    assert message in lines[0], lines[0]
    assert "Pw-4e1b-never-print" not in done.stderr
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()  # refused before any work


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"min_sessions": -1}, "min_sessions must be >= 0, got -1"),
        ({"cohort_start": "2999-01-01"}, "cohort_start 2999-01-01 is in the future"),
        ({"cohort_start": "04/01/2023"}, "cohort_start must be a date YYYY-MM-DD"),
    ],
)
def test_run_configuration_rejects_bad_study_settings(config: dict[str, object], message: str, tmp_path: Path) -> None:
    """The job's run configuration goes through the same validators: the run fails before any step runs."""
    resources = {
        "source": TravelTideSource(embedded_dir=str(tmp_path / "no-source")),
        "warehouse": Warehouse.in_folder(tmp_path / "data"),
        "study": StudySettings(),
    }
    result = execute(run_config={"resources": {"study": {"config": config}}}, resources=resources)
    assert not result.success
    assert not result.get_asset_materialization_events()
    errors = [
        str(e.event_specific_data.error.message)  # type: ignore[union-attr]
        for e in result.all_events
        if e.event_type_value == "RESOURCE_INIT_FAILURE"
    ]
    assert len(errors) == 1 and message in errors[0], errors
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()
    assert not (tmp_path / "no-source").exists()  # the embedded source was not generated either


def test_run_configuration_rejects_unknown_and_mistyped_settings(tmp_path: Path) -> None:
    resources = {
        "source": TravelTideSource(embedded_dir=str(tmp_path / "no-source")),
        "warehouse": Warehouse.in_folder(tmp_path / "data"),
        "study": StudySettings(),
    }
    for config in ({"min_sesions": 3}, {"min_sessions": "seven"}):
        with pytest.raises(DagsterInvalidConfigError) as raised:
            execute(run_config={"resources": {"study": {"config": config}}}, resources=resources)
        assert "study" in str(raised.value) and next(iter(config)) in str(raised.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"high_confidence": 1.5}, "high_confidence must be above 0.2 (chance with five perks) and below 1, got 1.5"),
        ({"high_confidence": 0.5, "medium_confidence": 0.6}, "medium_confidence (0.6) must be below high_confidence"),
        ({"max_iterations": 0}, "max_iterations must be at least 1, got 0"),
    ],
)
def test_run_configuration_rejects_bad_perk_model_settings(
    config: dict[str, object], message: str, tmp_path: Path
) -> None:
    """Band thresholds and model options are validated when the run starts: one message, nothing written."""
    resources = {
        "source": TravelTideSource(embedded_dir=str(tmp_path / "no-source")),
        "warehouse": Warehouse.in_folder(tmp_path / "data"),
        "study": StudySettings(),
    }
    result = execute(run_config={"resources": {"perk_model": {"config": config}}}, resources=resources)
    assert not result.success
    assert not result.get_asset_materialization_events()
    assert message in failure_message(result).splitlines()[0]
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()
    assert not (tmp_path / "no-source").exists()


def _deployment_env(data_dir: Path, source_url: str | None = None) -> dict[str, str]:
    """The CLI's environment with the settings of deploy/traveltide.env (KEY=value lines) added."""
    env = cli_env(data_dir, source_url)
    for line in (ROOT / "deploy" / "traveltide.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def test_deployment_without_source_url_fails_at_once_writing_nothing(tmp_path: Path) -> None:
    env = _deployment_env(tmp_path / "data")
    assert env["TRAVELTIDE_REQUIRE_SOURCE_URL"] == "1" and "TRAVELTIDE_SOURCE_URL" not in env
    done = run_cli("run", "--users", "2000", env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "traveltide run: error: TRAVELTIDE_REQUIRE_SOURCE_URL=1 but TRAVELTIDE_SOURCE_URL is not set: this deployment "
        "analyses TravelTide's database, not the embedded synthetic customers; set "
        "TRAVELTIDE_SOURCE_URL=postgresql://user@host:5432/db"
    ]
    assert not (tmp_path / "data").exists()  # no store generated, no warehouse, no lock file


def test_deployment_with_source_url_goes_on_to_the_source(tmp_path: Path) -> None:
    done = run_cli("run", env=_deployment_env(tmp_path / "data", UNREACHABLE))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith(f"traveltide run: error: cannot connect to PostgreSQL at {UNREACHABLE}"), lines[0]


def test_require_source_url_refuses_an_unclear_value(tmp_path: Path) -> None:
    env = {**cli_env(tmp_path / "data"), "TRAVELTIDE_REQUIRE_SOURCE_URL": "ture"}
    done = run_cli("run", env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "traveltide run: error: TRAVELTIDE_REQUIRE_SOURCE_URL must be 1 or 0, got 'ture'"
    ]
    assert not (tmp_path / "data").exists()


def test_required_source_url_stops_a_dagster_run_in_its_first_step(tmp_path: Path) -> None:
    """A run launched from the UI or the schedule (no CLI in front) fails in its first step, before anything is read."""
    resources = {
        "source": TravelTideSource(embedded_dir=str(tmp_path / "no-source"), require_url=True),
        "warehouse": Warehouse.in_folder(tmp_path / "data"),
        "study": StudySettings(),
    }
    result = execute(resources=resources)
    assert not result.success
    assert not result.get_asset_materialization_events()
    assert "TRAVELTIDE_REQUIRE_SOURCE_URL=1 but TRAVELTIDE_SOURCE_URL is not set" in failure_message(result)
    assert not (tmp_path / "no-source").exists()  # the synthetic store was not generated
    assert not (tmp_path / "data" / "parquet").exists()


@pytest.mark.parametrize("name", ["x.duckdb", "existing-file"])
def test_generate_refuses_a_file_target(name: str, tmp_path: Path) -> None:
    """`--to x.duckdb` used to write a folder of Parquet files named x.duckdb: now it says what to give instead."""
    target = tmp_path / name
    if name == "existing-file":
        target.write_text("keep me\n")
    done = run_cli("generate", "--users", "100", "--to", str(target), env=cli_env(tmp_path / "data"))
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"traveltide generate: error: --to {target} names a file, but a source is a folder of Parquet files (the "
        f"embedded store, e.g. {tmp_path / 'data' / 'source'}) or a PostgreSQL database: give a folder or a "
        "postgresql://user@host:port/db URL"
    ]
    if name == "existing-file":
        assert target.read_text() == "keep me\n"
    else:
        assert not target.exists()
