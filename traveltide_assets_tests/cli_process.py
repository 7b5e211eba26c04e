"""Run `traveltide` as its own process, the way a scheduler or an analyst does, against a given data folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import write_parquet_store
from traveltide_assets_tests.pipeline_harness import run_graph

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "traveltide_assets.cli"]
TIMEOUT_S = 300


def cli_env(data_dir: Path, source_url: str | None = None) -> dict[str, str]:
    """This environment without TravelTide or Dagster settings, plus the data folder and the source URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAVELTIDE_", "DAGSTER_"))}
    env["TRAVELTIDE_DATA_DIR"] = str(data_dir)
    if source_url:
        env["TRAVELTIDE_SOURCE_URL"] = source_url
    return env


def run_cli(
    *args: str, env: dict[str, str], preexec_fn: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=preexec_fn
    )


def start_cli(*args: str, env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    """Start `traveltide ...` in its own process group (a signal reaches it and nothing else), its stdout and
    stderr going to `<logs>.out` and `<logs>.err` (files, so that a test polling something else never blocks
    the run on a full pipe)."""
    with logs.with_suffix(".out").open("wb") as out, logs.with_suffix(".err").open("wb") as err:
        return subprocess.Popen([*COMMAND, *args], cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)


def stderr_of(logs: Path) -> str:
    return logs.with_suffix(".err").read_text(errors="replace")


def error_line(stderr: str) -> str:
    """The command's own error line: the last line on stderr (Dagster's log lines come before it)."""
    lines = stderr.strip().splitlines()
    return lines[-1] if lines else ""


def embedded_source(folder: Path, users: int, seed: int) -> Path:
    """A data folder holding only an embedded synthetic source (`source/`)."""
    write_parquet_store(generate_source(GeneratorConfig(users=users, seed=seed)), folder / "source")
    return folder


def embedded_state(folder: Path, users: int, seed: int) -> Path:
    """A data folder with an embedded synthetic source (`source/`) and the graph materialised from it."""
    embedded_source(folder, users, seed)
    result = run_graph(TravelTideSource(embedded_dir=str(folder / "source")), Warehouse.in_folder(folder))
    assert result.success
    return folder


def copy_state(golden: Path, target: Path, source_from: Path | None = None) -> Path:
    """A working copy of a materialised data folder, optionally with the embedded source of another one."""
    shutil.copytree(golden, target)
    if source_from is not None:
        shutil.rmtree(target / "source")
        shutil.copytree(source_from / "source", target / "source")
    return target
