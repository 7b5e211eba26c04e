"""A password in the source URL never reaches logs, run storage, metadata or outputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.local_postgres import LocalPostgres
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import load_postgres

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Pw-7f3c1e9a-never-log-me"

pytestmark = pytest.mark.faults


def test_password_appears_nowhere(postgres: LocalPostgres, tmp_path: Path) -> None:
    load_postgres(generate_source(GeneratorConfig(users=20_000, seed=23)), postgres.url)
    # The throwaway server trusts loopback, so it accepts the URL whatever its password says.
    url = postgres.url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")
    home, data = tmp_path / "dagster_home", tmp_path / "data"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAVELTIDE_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(home), TRAVELTIDE_DATA_DIR=str(data), TRAVELTIDE_SOURCE_URL=url)
    done = subprocess.run(
        [sys.executable, "-m", "traveltide_assets.cli", "run"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert PASSWORD not in done.stdout + done.stderr
    searched = 0
    for folder in (home, data):
        for path in folder.rglob("*"):
            if path.is_file():
                searched += 1
                assert PASSWORD.encode() not in path.read_bytes(), path
    assert searched > 20  # run storage, event logs, warehouse, Parquet files and the report were all read
