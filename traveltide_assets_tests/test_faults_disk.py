"""A full disk or an output folder that cannot be written: one clear line naming the path, outputs intact.

The tests run as root in CI, where permissions stop nothing, so the faults are made the way root meets them too:
a file-size limit (RLIMIT_FSIZE; Python ignores SIGXFSZ, so a write beyond it fails with EFBIG), a small tmpfs
filled up, a read-only bind mount and a file standing where the Parquet folder should be. Mounting needs
CAP_SYS_ADMIN; where it is not granted those variants are skipped, saying why.

The CLI records its runs in a Dagster instance, by default SQLite files in the data folder, which these faults
would stop before any output is touched (the last test shows that this ends in one line too). So that the faults
meet the outputs, the other runs record theirs in PostgreSQL storage, which no file-size limit or folder reaches.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tools.local_postgres import LocalPostgres
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets_tests.cli_process import ROOT, cli_env, copy_state, embedded_state, error_line, run_cli
from traveltide_assets_tests.outputs import (
    assert_readable,
    assert_tables_match_parquet,
    fingerprint,
    parquet_export,
    staged_leftovers,
)
from traveltide_assets_tests.pipeline_harness import run_graph

pytestmark = pytest.mark.faults

USERS = 20_000
# Small files fit (the run lock, the empty months' Parquet files, ~0.4 kB); the cohort's month files (~5 kB and more
# here) do not. A larger limit lets every Parquet file through and stops the warehouse commit instead (the last
# test below).
SMALL_FILES = 2 * 1024
FREE_ON_FULL_DISK = 64 * 1024


@pytest.fixture(scope="module")
def instance_env(postgres: LocalPostgres, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """DAGSTER_HOME of an instance with its storage in PostgreSQL (deploy/dagster.postgres.yaml)."""
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS disk_faults_dagster")
        conn.execute("CREATE DATABASE disk_faults_dagster")
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    url = postgres.url_for("disk_faults_dagster").replace("postgresql://", "postgresql+psycopg2://")
    return {"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": url}


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return embedded_state(tmp_path_factory.mktemp("golden"), USERS, seed=43)


def _file_size_limit(limit: int) -> Callable[[], None]:
    def limit_file_size() -> None:  # runs in the child, before it executes Python
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_size


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} is not permitted here: {done.stderr.strip()}")


@contextmanager
def _mounted(target: Path, *args: str) -> Iterator[None]:
    """`mount *args` (which mounts something on `target`), unmounted again at the end."""
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    _mount(*args)
    try:
        yield
    finally:
        subprocess.run(["umount", str(target)], check=True)


def _assert_failed_in_one_line(done: subprocess.CompletedProcess[str], path: Path, reason: str) -> str:
    line = error_line(done.stderr)
    assert done.returncode == 2, done.stderr[-3000:]
    assert line.startswith("traveltide run: error: step "), line
    assert str(path) in line and reason in line, line
    return line


def _assert_intact(folder: Path, before: dict[str, str]) -> None:
    assert fingerprint(folder) == before
    assert staged_leftovers(folder) == []
    assert_readable(folder)


def _next_run_succeeds(folder: Path) -> None:
    assert run_graph(TravelTideSource(embedded_dir=str(folder / "source")), Warehouse.in_folder(folder)).success
    assert_tables_match_parquet(folder)


def test_file_size_limit(golden: Path, instance_env: dict[str, str], tmp_path: Path) -> None:
    folder = copy_state(golden, tmp_path / "data")
    before = fingerprint(folder)
    done = run_cli("run", env={**cli_env(folder), **instance_env}, preexec_fn=_file_size_limit(SMALL_FILES))
    _assert_failed_in_one_line(done, folder / "parquet", "File too large")
    _assert_intact(folder, before)
    _next_run_succeeds(folder)


def test_full_disk(golden: Path, instance_env: dict[str, str], tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    with _mounted(disk, "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)):
        folder = copy_state(golden, disk / "data")
        before = fingerprint(folder)
        # Fill the file system up to the last few blocks, so the first sizeable write meets a full disk.
        stats = os.statvfs(disk)
        with (disk / "filler").open("wb") as filler:
            os.posix_fallocate(filler.fileno(), 0, stats.f_bavail * stats.f_frsize - FREE_ON_FULL_DISK)
        done = run_cli("run", env={**cli_env(folder), **instance_env})
        _assert_failed_in_one_line(done, folder / "parquet", "No space left on device")
        _assert_intact(folder, before)
        (disk / "filler").unlink()
        _next_run_succeeds(folder)


def test_read_only_output_folder(golden: Path, instance_env: dict[str, str], tmp_path: Path) -> None:
    folder = copy_state(golden, tmp_path / "data")
    before = fingerprint(folder)
    parquet = folder / "parquet"
    with _mounted(parquet, "--bind", str(parquet), str(parquet)):
        _mount("-o", "remount,bind,ro", str(parquet))  # read-only even for root; reading still works
        done = run_cli("run", env={**cli_env(folder), **instance_env})
        _assert_failed_in_one_line(done, parquet, "Read-only file system")
        _assert_intact(folder, before)
    _next_run_succeeds(folder)


def test_file_in_place_of_the_output_folder(golden: Path, instance_env: dict[str, str], tmp_path: Path) -> None:
    """No privileges needed: a regular file stands where the Parquet folder should be (a mount gone wrong)."""
    folder = copy_state(golden, tmp_path / "data")
    before = fingerprint(folder)
    parquet, aside = folder / "parquet", folder / "parquet.aside"
    parquet.rename(aside)
    parquet.write_text("not a folder")
    done = run_cli("run", env={**cli_env(folder), **instance_env})
    _assert_failed_in_one_line(done, parquet, "is a file, not a folder")
    parquet.unlink()
    aside.rename(parquet)
    _assert_intact(folder, before)  # the warehouse too: no table was replaced without its Parquet
    _next_run_succeeds(folder)


def test_failed_commit_keeps_table_and_parquet_together(
    golden: Path, instance_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A run over a changed source whose Parquet files fit under the file-size limit but whose warehouse commit
    does not: each table must still equal its Parquet export, and the error must name the file that failed."""
    other = embedded_state(tmp_path_factory.mktemp("other"), USERS, seed=44)
    folder = copy_state(golden, tmp_path_factory.mktemp("run") / "data", source_from=other)
    export = parquet_export(folder, "raw_flights")
    largest = max(p.stat().st_size for p in ([export] if export.is_file() else export.rglob("*.parquet")))
    done = run_cli("run", env={**cli_env(folder), **instance_env}, preexec_fn=_file_size_limit(largest * 5))
    assert done.returncode == 2
    assert_tables_match_parquet(folder)
    assert "warehouse.duckdb" in error_line(done.stderr) and "File too large" in error_line(done.stderr)


def test_instance_storage_that_cannot_be_written(golden: Path, tmp_path: Path) -> None:
    """The default instance (data/dagster_home, SQLite) under the file-size limit: the run stops in one line naming
    the instance folder, before any step, and every output stays as it was."""
    folder = copy_state(golden, tmp_path / "data")
    before = fingerprint(folder)
    done = run_cli("run", env=cli_env(folder), preexec_fn=_file_size_limit(SMALL_FILES))
    line = error_line(done.stderr)
    assert done.returncode == 2, done.stderr[-3000:]
    assert line.startswith(f"traveltide run: error: could not open the Dagster instance in {folder / 'dagster_home'}")
    _assert_intact(folder, before)
