"""Two runs against one warehouse: the second waits for the first or fails at once, and nothing interleaves.

Run A holds the warehouse's run lock and is frozen with SIGSTOP, a slow run whose overlap with the others does
not depend on timing. Meanwhile: a run that will not wait fails before touching anything, naming the warehouse
and A's pid (in-process through Dagster, and through the CLI in one line); a run that may wait (`--min-sessions
6`, so its outputs differ from A's) says it is waiting. A continues, finishes, and then the waiting run runs:
every output ends up exactly the waiting run's version, each table equal to its Parquet export, none of A's
assets left beside it. Without the lock the two would have written their assets in turns.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dagster import ExecuteInProcessResult

from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets_tests.cli_process import (
    cli_env,
    copy_state,
    embedded_source,
    error_line,
    run_cli,
    start_cli,
    stderr_of,
)
from traveltide_assets_tests.outputs import assert_readable, staged_leftovers, versions
from traveltide_assets_tests.pipeline_harness import run_graph

pytestmark = pytest.mark.faults

USERS = 15_000
WAIT_S = 60.0


def _until(condition: str, check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {condition}"
        time.sleep(0.002)


def _writing(folder: Path) -> bool:
    """A staged (hidden) output exists: the run is in the middle of writing."""
    parquet = folder / "parquet"
    return parquet.is_dir() and any(entry.name.startswith(".") for entry in os.scandir(parquet))


def _resource_error(result: ExecuteInProcessResult) -> str:
    """The error of a failed resource initialisation (pipeline.failure_message says only 'the run failed')."""
    for event in result.all_events:
        if event.event_type_value == "RESOURCE_INIT_FAILURE" and event.event_specific_data is not None:
            return str(event.event_specific_data.error.message)  # type: ignore[attr-defined]
    return ""


def _source(folder: Path) -> TravelTideSource:
    return TravelTideSource(embedded_dir=str(folder / "source"))


def test_second_run_fails_cleanly_or_waits_and_nothing_interleaves(tmp_path: Path) -> None:
    sources = embedded_source(tmp_path / "sources", USERS, seed=41)
    folder, reference = copy_state(sources, tmp_path / "data"), copy_state(sources, tmp_path / "reference")
    warehouse, env = Warehouse.in_folder(folder), cli_env(folder)
    started: list[subprocess.Popen[bytes]] = []
    try:
        run_a = start_cli("run", env=env, logs=tmp_path / "a")
        started.append(run_a)
        _until("run A writes its first output", lambda: _writing(folder))
        os.killpg(
            run_a.pid, signal.SIGSTOP
        )  # A now holds the warehouse in the middle of writing, for as long as we like
        assert warehouse.lock_path.read_text().startswith(f"pid {run_a.pid}, started")

        # A run that does not wait fails at once, before any step: through Dagster...
        impatient = run_graph(_source(folder), Warehouse.in_folder(folder, lock_timeout_s=0))
        assert not impatient.success
        assert not impatient.get_asset_materialization_events()
        message = _resource_error(impatient)
        assert f"warehouse {warehouse.path} is in use by another run (pid {run_a.pid}, started" in message, message

        # ... and through the CLI, in one line.
        done = run_cli("run", "--lock-timeout", "0", env=env)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [error_line(done.stderr)]
        assert error_line(done.stderr).startswith(
            f"traveltide run: error: warehouse {warehouse.path} is in use by another run (pid {run_a.pid}, started"
        ), done.stderr

        # A run that may wait says so, and waits.
        run_b = start_cli("run", "--min-sessions", "6", "--lock-timeout", str(WAIT_S), env=env, logs=tmp_path / "b")
        started.append(run_b)
        _until("run B says it waits", lambda: "waiting up to" in stderr_of(tmp_path / "b"))
        assert f"in use by another run (pid {run_a.pid}," in stderr_of(tmp_path / "b")

        os.killpg(run_a.pid, signal.SIGCONT)
        # Meanwhile, what B's run alone writes, in a folder of its own.
        assert run_graph(_source(reference), Warehouse.in_folder(reference), StudySettings(min_sessions=6)).success
        assert run_a.wait(timeout=120) == 0, stderr_of(tmp_path / "a")[-2000:]
        assert run_b.wait(timeout=120) == 0, stderr_of(tmp_path / "b")[-2000:]
    finally:
        for run in started:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()

    # B ran after A, whole: every asset is B's version (versions() also checks each table equals its export).
    assert versions(folder) == versions(reference)
    assert staged_leftovers(folder) == []
    assert_readable(folder)
