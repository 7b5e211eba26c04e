"""The commands that make and run the product: `traveltide generate`, `run` and `ui`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from traveltide_assets.cli.common import PROJECT_ROOT, CliError, Stopwatch, check_pg_reachable
from traveltide_assets.sources.pg_url import redact, validate_pg_url
from traveltide_assets.storage.paths import (
    SOURCE_URL_ENV,
    SOURCE_URL_MISSING,
    default_source_dir,
    source_url_required,
)

if TYPE_CHECKING:  # the CLI's own import stays light: Dagster and the warehouse load when a command needs them
    from dagster import EventLogEntry

    from traveltide_assets.storage.warehouse import Warehouse

# Names that mean a file: the embedded store is a folder of Parquet files, and the pipeline reads no other file.
_FILE_SUFFIXES = (".duckdb", ".ddb", ".db", ".sqlite", ".sqlite3", ".parquet", ".csv", ".json")


def cmd_generate(args: argparse.Namespace) -> int:
    from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
    from traveltide_assets.synthetic.load import load_postgres, write_parquet_store

    target: str = args.to
    is_pg = "://" in target
    if is_pg:
        validate_pg_url(target)
    else:
        _check_store_folder(Path(target))
    config = GeneratorConfig(users=args.users, seed=args.seed, mix=args.mix, signal=args.signal)
    say = Stopwatch()
    if is_pg:
        check_pg_reachable(target)
    source = generate_source(config, progress=say)
    say(
        f"generated {source.users.num_rows:,} users, {source.sessions.num_rows:,} sessions, "
        f"{source.flights.num_rows:,} flights, {source.hotels.num_rows:,} hotels"
    )
    if is_pg:
        load_postgres(source, target, progress=say)
    else:
        write_parquet_store(source, Path(target), progress=say)
    say(f"done: {redact(target)}")
    return 0


def _check_store_folder(target: Path) -> None:
    """Refuse a --to that names a file (x.duckdb used to become a folder of Parquet files named x.duckdb)."""
    if target.suffix.lower() in _FILE_SUFFIXES or target.is_file():
        raise CliError(
            f"--to {target} names a file, but a source is a folder of Parquet files (the embedded store, e.g. "
            f"{default_source_dir()}) or a PostgreSQL database: give a folder or a postgresql://user@host:port/db URL"
        )


def cmd_run(args: argparse.Namespace) -> int:
    """The whole graph: a line on stderr as each step finishes, then the answer on stdout, read from the tables
    the run wrote (answer.py)."""
    from traveltide_assets.defs.cohort.settings import check_cohort_start, check_min_sessions
    from traveltide_assets.pipeline import run_pipeline

    check_cohort_start(args.cohort_start)  # bad input fails before waiting for the warehouse or the source
    check_min_sessions(args.min_sessions)
    source_url = os.environ.get(SOURCE_URL_ENV)
    if not source_url and source_url_required():  # before the warehouse is touched or the store generated
        raise CliError(SOURCE_URL_MISSING)
    if source_url:  # a wrong or unreachable source fails in one line, not in every raw step's traceback
        validate_pg_url(source_url)
        check_pg_reachable(source_url)
    say = Stopwatch()
    with _warehouse_held(args.lock_timeout) as warehouse:
        counts = run_pipeline(
            cohort_start=args.cohort_start,
            min_sessions=args.min_sessions,
            embedded_users=args.users,
            months=args.months,
            on_event=_step_lines(say),
            progress=say,
        )
        # Imported here, not first: it loads the report's modules (seconds), which bad input need not wait for.
        from traveltide_assets.answer import answer_lines
        from traveltide_assets.defs.resources import build_resources

        # Read while the run lock is still held: the answer is this run's, not a later run's half-written one.
        campaign_id = build_resources()["campaign"].campaign_id
        cohort = f"more than {args.min_sessions} sessions after {args.cohort_start}"
        print("\n".join(answer_lines(warehouse, campaign_id, counts, cohort)))
    return 0


def _step_lines(say: Callable[[str], None]) -> Callable[[EventLogEntry], None]:
    """A progress line when the run starts (the code has loaded) and one per step as it finishes (Dagster's run
    start, step success and step failure events)."""
    from dagster import DagsterEventType

    def on_event(entry: EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.event_type == DagsterEventType.RUN_START:
            say("run started")
        elif event.is_step_success and event.step_success_data is not None:
            say(f"{event.step_key} done ({event.step_success_data.duration_ms / 1000:.1f} s)")
        elif event.is_step_failure:
            say(f"{event.step_key} failed")

    return on_event


@contextmanager
def _warehouse_held(timeout_s: float | None) -> Iterator[Warehouse]:
    """Hold the run lock of the environment's warehouse, saying on stderr when another run makes us wait.

    The run's Warehouse resource takes the same lock again (re-entrant within this process); taking it here
    first makes a busy warehouse end in one line naming the other run, not in a resource-initialisation failure.
    """
    from traveltide_assets.defs.resources import build_resources
    from traveltide_assets.storage.warehouse import Warehouse

    warehouse = build_resources()["warehouse"]
    assert isinstance(warehouse, Warehouse)
    wait = warehouse.lock_timeout_s if timeout_s is None else timeout_s

    def waiting(holder: str) -> None:
        message = f"waiting up to {wait:g} s for {warehouse.path}, in use by another run ({holder})"
        print(f"traveltide run: {message}", file=sys.stderr, flush=True)

    with warehouse.run_lock(wait, on_wait=waiting):
        yield warehouse


def cmd_ui(args: argparse.Namespace) -> int:
    """The Dagster UI (`dg dev`) on the instance `traveltide run` records its runs in, over the same data folder."""
    import subprocess

    from traveltide_assets.storage.instance import DAGSTER_HOME_ENV, ensure_dagster_home
    from traveltide_assets.storage.paths import DATA_DIR_ENV, data_dir

    workspace = PROJECT_ROOT / "workspace.yaml"
    if not workspace.is_file():
        raise CliError(f"the UI serves the project's code location: {workspace} is missing (a checkout of the project)")
    home = ensure_dagster_home()
    data = data_dir().resolve()  # absolute: the server's runs must find the folder wherever it was started
    env = {**os.environ, DAGSTER_HOME_ENV: str(home), DATA_DIR_ENV: str(data)}
    command = [sys.executable, "-m", "dagster_dg_cli.cli", "dev", "-w", str(workspace)]
    command += ["--host", args.host, "--port", str(args.port)]
    print(f"traveltide ui: http://{args.host}:{args.port} on instance {home}, data {data}", file=sys.stderr, flush=True)
    server = subprocess.Popen(command, env=env)
    try:
        return server.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the server too (one process group): wait while it shuts down
        return server.wait()
