"""`traveltide bench` at a small scale: every contender runs for real and the JSON has every key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from traveltide_assets.bench.runner import JSON_KEYS

ROOT = Path(__file__).resolve().parents[1]


def test_bench_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "traveltide_assets.cli", "bench", "--users", "2000", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert list(result) == list(JSON_KEYS)
    assert result["users"] == 2000 and result["sessions"] > 5000
    for key in ("ours_s", "pandas_s", "copy_s", "extract_s", "ours_peak_rss_mib", "pandas_peak_rss_mib"):
        assert result[key] > 0, key
    assert result["speedup_vs_pandas"] == pytest.approx(result["pandas_s"] / result["ours_s"], rel=0.02)
    assert result["extract_vs_copy"] == pytest.approx(result["extract_s"] / result["copy_s"], rel=0.03)
    assert "speedup vs pandas" in done.stdout
