"""The source PostgreSQL goes away while the raw extraction runs: the run fails saying so, nothing changes.

A dedicated server (it is stopped by one of the tests) holds a source big enough that an extraction query runs
for a while; the test watches pg_stat_activity from its own connection and strikes as soon as an extraction
query over `sessions` is executing: the session extracts' statement, while it counts the cohort or reads its rows.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tools.local_postgres import LocalPostgres
from traveltide_assets.defs.raw.extract_plan import SESSION_TABLES
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import load_postgres
from traveltide_assets_tests.cli_process import cli_env, copy_state, error_line, start_cli, stderr_of
from traveltide_assets_tests.outputs import assert_readable, asset_of, fingerprint, row_digests
from traveltide_assets_tests.pipeline_harness import run_graph

pytestmark = pytest.mark.faults

USERS = 60_000  # the cohort count then runs for a while: ample time to see it and strike
# The steps' queries; not the look at the newest session before the run (pipeline.execute), which writes nothing.
EXTRACTING = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND state = 'active' AND query ILIKE '%FROM sessions%' AND query NOT ILIKE '%newest_session_start%'"
)
# The CLI's one line: the step (named after the table) and what the server said when it went away.
LOST = re.compile(
    r"^traveltide run: error: step (?P<step>raw_(users|session_extracts)) failed: .*"
    r"(terminating connection due to administrator command|server closed the connection|Connection refused)"
)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalPostgres]:
    # A folder of our own under /tmp, which the postgres user can enter (pytest's 0700 folders it cannot),
    # so that the cluster survives a stop and starts again with its data.
    base = Path(tempfile.mkdtemp(prefix="traveltide-source-loss-", dir="/tmp"))
    server = LocalPostgres(base_dir=base)
    try:
        server.start()
        load_postgres(generate_source(GeneratorConfig(users=USERS, seed=37)), server.url)
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def golden(server: LocalPostgres, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("golden")
    assert run_graph(TravelTideSource(postgres_url=server.url), Warehouse.in_folder(folder)).success
    return folder


def _strike_during_extraction(
    server: LocalPostgres, run: subprocess.Popen[bytes], strike: Callable[[psycopg.Connection, list[int]], None]
) -> None:
    """Poll the server until an extraction query over `sessions` executes, then strike."""
    with psycopg.connect(server.url, autocommit=True) as watcher:
        while run.poll() is None:
            pids = [row[0] for row in watcher.execute(EXTRACTING).fetchall()]
            if pids:
                strike(watcher, pids)
                return
            time.sleep(0.005)
    pytest.fail("the run ended before any extraction query was seen")


def _terminate(watcher: psycopg.Connection, pids: list[int]) -> None:
    for pid in pids:
        watcher.execute("SELECT pg_terminate_backend(%s)", [pid])


def _fault_run(server: LocalPostgres, folder: Path, logs: Path, strike: Callable[..., None]) -> str:
    """`traveltide run` against the server, struck mid-extraction; returns the error line."""
    run = start_cli("run", env=cli_env(folder, server.url), logs=logs)
    try:
        _strike_during_extraction(server, run, strike)
        assert run.wait(timeout=120) == 2, stderr_of(logs)[-3000:]
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGKILL)
            run.wait()
    return error_line(stderr_of(logs))


def _assert_unchanged(folder: Path, before: dict[str, str], before_rows: dict[str, tuple[str, str]], line: str) -> None:
    """Nothing lost: every table and export holds the rows it held, and the struck step's and everything
    downstream's files are byte for byte the old ones. (Raw extracts that succeeded beside the struck one were
    rewritten with the same rows, possibly in another order: PostgreSQL's parallel plans do not keep one.)"""
    struck = LOST.match(line)
    assert struck, line
    after = fingerprint(folder)
    assert set(after) == set(before)  # no file more or less, no leftover
    struck_assets = SESSION_TABLES if struck["step"] == "raw_session_extracts" else (struck["step"],)
    kept = {k: v for k, v in before.items() if not asset_of(k).startswith("raw_") or asset_of(k) in struck_assets}
    assert {k: after[k] for k in kept} == kept
    assert row_digests(folder) == before_rows
    assert_readable(folder)


def test_connection_killed_mid_extract(server: LocalPostgres, golden: Path, tmp_path: Path) -> None:
    folder = copy_state(golden, tmp_path / "data")
    before, before_rows = fingerprint(folder), row_digests(folder)
    line = _fault_run(server, folder, tmp_path / "run", _terminate)
    _assert_unchanged(folder, before, before_rows, line)
    assert run_graph(TravelTideSource(postgres_url=server.url), Warehouse.in_folder(folder)).success


def test_server_stopped_mid_extract(server: LocalPostgres, golden: Path, tmp_path: Path) -> None:
    folder = copy_state(golden, tmp_path / "data")
    before, before_rows = fingerprint(folder), row_digests(folder)
    line = _fault_run(server, folder, tmp_path / "run", lambda _watcher, _pids: server.stop())
    _assert_unchanged(folder, before, before_rows, line)
    server.start()  # the same cluster and data, possibly on another port
    assert run_graph(TravelTideSource(postgres_url=server.url), Warehouse.in_folder(folder)).success
