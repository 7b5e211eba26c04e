"""SIGKILL in the middle of a run: every output stays a whole version, and the next run puts things right.

What is guaranteed after `kill -9` of `traveltide run` at any moment:

1. Every Parquet export a consumer can see and every warehouse table is one whole version of its asset: the one
   from before the run (byte for byte) or the one the run was writing; never a partial or torn one. Parquet files
   are written under hidden names and renamed into place; DuckDB replays or discards its write-ahead log.
2. Everything reads with duckdb, polars and pandas.
3. Hidden staged files may be left behind (nobody is alive to delete them); readers never see them.
4. A table and its Parquet export can be from different versions: publication commits the table first and
   renames the file after (publish.py), and a kill between the two leaves the new table beside the old file.
   The next run, on taking the warehouse's run lock, sees that the previous holder never released it and
   reloads such tables from their exports; it also removes the staged leftovers (Warehouse.recover).
5. The next clean run then writes exactly the outputs of a run that was never interrupted; the campaign plan,
   frozen once issued, keeps the killed run's predecessor's rows and adds the new cohort's customers.

The run is killed while it replaces the outputs of a source (seed 31) with those of another (seed 32), so the
old and the new version of every asset differ and each output can be told apart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets_tests.cli_process import cli_env, copy_state, embedded_state, start_cli, stderr_of
from traveltide_assets_tests.outputs import (
    HISTORY_TABLES,
    assert_plan_kept,
    assert_readable,
    assert_tables_match_parquet,
    fingerprint,
    row_digests,
    staged_leftovers,
    versions,
)
from traveltide_assets_tests.pipeline_harness import run_graph

pytestmark = pytest.mark.faults

USERS = 20_000
POLL_S = 0.002


@dataclass(frozen=True)
class States:
    old: Path
    new: Path
    old_versions: dict[str, str]
    new_versions: dict[str, str]
    old_files: dict[str, str]


@dataclass(frozen=True)
class KillPoint:
    """When to kill: `reached(data folder, seconds since the first staged output appeared, or None)`."""

    name: str
    reached: Callable[[Path, float | None], bool]


def _hidden(folder: Path, prefix: str = ".") -> bool:
    return folder.is_dir() and any(entry.name.startswith(prefix) for entry in os.scandir(folder))


KILL_POINTS = [
    KillPoint("first staged Parquet output appears", lambda d, _t: _hidden(d / "parquet")),
    KillPoint("DuckDB write-ahead log appears", lambda d, _t: (d / "warehouse.duckdb.wal").exists()),
    KillPoint("session_cohort is being written", lambda d, _t: _hidden(d / "parquet", ".session_cohort.")),
    KillPoint("perk_assignments is being written", lambda d, _t: _hidden(d / "parquet", ".perk_assignments.")),
    KillPoint("0.5 s into writing", lambda _d, t: t is not None and t > 0.5),
    KillPoint("1.5 s into writing", lambda _d, t: t is not None and t > 1.5),
]


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> States:
    old = embedded_state(tmp_path_factory.mktemp("old"), USERS, seed=31)
    new = embedded_state(tmp_path_factory.mktemp("new"), USERS, seed=32)
    return States(old, new, versions(old), versions(new), fingerprint(old))


def _kill_at(run: subprocess.Popen[bytes], folder: Path, point: KillPoint) -> bool:
    """SIGKILL the run's process group when `point` is reached; False if the run ended first."""
    first_staged: float | None = None
    while run.poll() is None:
        if first_staged is None and _hidden(folder / "parquet"):
            first_staged = time.monotonic()
        if point.reached(folder, None if first_staged is None else time.monotonic() - first_staged):
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
            return True
        time.sleep(POLL_S)
    return False


def _of_asset(key: str, asset: str) -> bool:
    """Whether a fingerprint key is a file of `asset`'s export (single file or hive folder)."""
    return key == f"parquet/{asset}.parquet" or key.startswith(f"parquet/{asset}/")


def _assert_whole_versions(folder: Path, states: States) -> None:
    """Each table and each visible export holds the old or the new rows; old rows come in the old bytes."""
    digests = {t: d for t, d in row_digests(folder, rounded=True).items() if t not in HISTORY_TABLES}
    assert set(digests) == set(states.old_versions)
    files = fingerprint(folder)
    for table, (in_table, in_export) in digests.items():
        whole = {states.old_versions[table], states.new_versions[table]}
        assert in_table in whole, f"table {table} is neither the old nor the new version"
        assert in_export in whole, f"the Parquet export of {table} is neither the old nor the new version"
        if in_export == states.old_versions[table]:
            old_bytes = {k: v for k, v in states.old_files.items() if _of_asset(k, table)}
            assert {k: files.get(k) for k in old_bytes} == old_bytes, f"{table}: old rows, but not the old file"


@pytest.mark.parametrize("point", KILL_POINTS, ids=[p.name for p in KILL_POINTS])
def test_sigkill_leaves_whole_outputs_and_the_next_run_recovers(
    point: KillPoint, states: States, tmp_path: Path
) -> None:
    folder = copy_state(states.old, tmp_path / "data", source_from=states.new)
    logs = tmp_path / "run"
    run = start_cli("run", env=cli_env(folder), logs=logs)
    try:
        assert _kill_at(run, folder, point), f"the run ended before '{point.name}': {stderr_of(logs)[-2000:]}"
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode == -signal.SIGKILL

    # Right after the kill: whole versions, readable, leftovers only under hidden names.
    _assert_whole_versions(folder, states)
    assert_readable(folder)
    for leftover in staged_leftovers(folder):
        assert Path(leftover).name.startswith((".", "tmp_.")), leftover

    # What the next run does first, on taking the lock the killed run never released.
    warehouse = Warehouse.in_folder(folder)
    with warehouse.run_lock(timeout_s=0) as held:
        assert held.interrupted_holder.startswith(f"pid {run.pid},"), held
        warehouse.recover(held.interrupted_holder, older_than=time.time())
    assert staged_leftovers(folder) == []
    assert_tables_match_parquet(folder)
    assert_readable(folder)

    # The next clean run writes what an uninterrupted run writes.
    assert run_graph(TravelTideSource(embedded_dir=str(folder / "source")), warehouse).success
    assert versions(folder) == states.new_versions
    assert_plan_kept(folder, states.old)  # the campaign plan, frozen, was extended to the new cohort
    assert staged_leftovers(folder) == []
    assert_readable(folder)
