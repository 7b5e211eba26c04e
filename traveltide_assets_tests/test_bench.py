"""`traveltide bench` at a small scale: every contender runs for real and the JSON has every key; the scale curve
writes its table, chart and fit."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools.bench.curve import CSV_KEYS, CSV_NAME, FIT_KEYS, JSON_NAME, PNG_NAME
from tools.bench.runner import JSON_KEYS
from traveltide_assets.cli import EXIT_USAGE, main

ROOT = Path(__file__).resolve().parents[1]


def test_bench_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "traveltide_assets.cli", "bench", "--users", "2000", "--json", str(out),
         "--repeats", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert list(result) == list(JSON_KEYS)
    assert result["users"] == 2000 and result["sessions"] > 5000
    for key in ("ours_s", "pandas_s", "copy_s", "extract_s", "ours_peak_rss_mib", "pandas_peak_rss_mib"):
        assert result[key] > 0, key
    # The ratios come from the unrounded medians; the seconds are rounded to 3 decimals, which at this scale
    # (copy takes some 10 ms) moves their quotient by a few percent, and the ratio itself is rounded to 2 decimals
    # (0.385 is written 0.39).
    for ratio, top, bottom in (("speedup_vs_pandas", "pandas_s", "ours_s"), ("extract_vs_copy", "extract_s", "copy_s")):
        quotient = result[top] / result[bottom]
        rounding = quotient * (0.0005 / result[top] + 0.0005 / result[bottom]) + 0.005
        assert result[ratio] == pytest.approx(quotient, rel=0.01, abs=rounding), ratio
    assert "speedup vs pandas" in done.stdout
    # Two interleaved rounds: every timed line lists both, and the JSON holds their medians.
    ours_line = next(line for line in done.stdout.splitlines() if line.startswith("ours (graph"))
    rounds = [float(t) for t in ours_line.split("rounds: ")[1].split(" s;")[0].split(", ")]
    assert len(rounds) == 2 and result["ours_s"] == pytest.approx(sum(rounds) / 2, abs=0.01)


def test_bench_curve_writes_table_chart_and_fit(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "traveltide_assets.cli", "bench", "--curve", "--users", "2000",
         "--multipliers", "0.5,1", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with (tmp_path / CSV_NAME).open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["users"]) for r in rows] == [1000, 2000]
    assert [float(r["multiplier"]) for r in rows] == [0.5, 1.0]
    columns = list(rows[0])
    assert columns[: len(CSV_KEYS)] == list(CSV_KEYS)
    steps = columns[len(CSV_KEYS) :]
    assert "step_perk_assignments_s" in steps and all(c.startswith("step_") and c.endswith("_s") for c in steps)
    for row in rows:
        assert int(row["sessions"]) > 0 and float(row["ours_s"]) > 0 and float(row["ours_peak_rss_mib"]) > 0
        assert all(float(row[c]) >= 0 for c in steps)
    png = (tmp_path / PNG_NAME).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    fit = json.loads((tmp_path / JSON_NAME).read_text())
    assert list(fit) == list(FIT_KEYS)
    assert fit["users_min"] == 1000 and fit["users_max"] == 2000
    assert set(fit["step_loglog_slopes"]) == {c.removeprefix("step_").removesuffix("_s") for c in steps}
    assert "superlinear steps" in done.stdout


@pytest.mark.parametrize("multipliers", ["0,1", "-1,2", "1", "1,1", "a,b", "inf,1"])
def test_bench_curve_rejects_bad_multipliers(multipliers: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["bench", "--curve", "--multipliers", multipliers])
    assert stopped.value.code == EXIT_USAGE
    assert "--multipliers" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--curve", "--json", "x.json"], ["--curve", "--url", "postgresql://h/d"],
                                   ["--out", "docs"], ["--multipliers", "1,2"]])  # fmt: skip
def test_bench_flags_of_the_other_mode_are_refused(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", *flags]) == EXIT_USAGE
    assert f"{flags[-2]} " in capsys.readouterr().err
