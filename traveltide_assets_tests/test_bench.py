"""`traveltide bench` at a small scale: every contender runs for real and the JSON has every key; the peer CTE
contender assigns exactly ours' cohort; the scale curve writes its table, chart and fit."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tools.bench import peer_cte
from tools.bench.curve_fit import FIT_KEYS
from tools.bench.curve_report import CSV_KEYS, CSV_NAME, JSON_NAME, PNG_NAME
from tools.bench.runner import JSON_KEYS
from traveltide_assets.cli.common import EXIT_USAGE
from traveltide_assets.cli.main import main
from traveltide_assets.definitions import defs
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.lib.catalog import PERKS

ROOT = Path(__file__).resolve().parents[1]


def test_bench_writes_every_figure(tmp_path: Path) -> None:
    out, kept = tmp_path / "bench.json", tmp_path / "kept"
    done = subprocess.run(
        [sys.executable, "-m", "traveltide_assets.cli", "bench", "--users", "2000", "--json", str(out),
         "--repeats", "2", "--keep", str(kept)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert list(result) == list(JSON_KEYS)
    assert result["users"] == 2000 and result["sessions"] > 5000
    for key in ("ours_s", "pandas_s", "copy_s", "extract_s", "ours_peak_rss_mib", "pandas_peak_rss_mib",
                "peer_cte_s", "peer_cte_recompute_s", "peer_cte_peak_rss_mib", "refresh_month_s"):  # fmt: skip
        assert result[key] > 0, key
    # The ratios come from the unrounded medians; the seconds are rounded to 3 decimals, which at this scale
    # (copy takes some 10 ms) moves their quotient by a few percent, and the ratio itself is rounded to 2 decimals
    # (0.385 is written 0.39).
    for ratio, top, bottom in (
        ("speedup_vs_pandas", "pandas_s", "ours_s"),
        ("extract_vs_copy", "extract_s", "copy_s"),
        ("ours_over_peer_cte", "ours_s", "peer_cte_s"),
        ("refresh_over_peer_cte_recompute", "refresh_month_s", "peer_cte_recompute_s"),
    ):
        quotient = result[top] / result[bottom]
        rounding = quotient * (0.0005 / result[top] + 0.0005 / result[bottom]) + 0.005
        assert result[ratio] == pytest.approx(quotient, rel=0.01, abs=rounding), ratio
    assert "speedup vs pandas" in done.stdout
    assert "ours / peer CTE, full run" in done.stdout and "ours / peer CTE, one-month refresh" in done.stdout
    assert "a full recompute" in done.stdout
    cohort_line = next(line for line in done.stdout.splitlines() if line.startswith("peer CTE cohort = ours"))
    assert "yes, the same" in cohort_line
    # Two interleaved rounds: every timed line lists both, and the JSON holds their medians.
    ours_line = next(line for line in done.stdout.splitlines() if line.startswith("ours (graph"))
    rounds = [float(t) for t in ours_line.split("rounds: ")[1].split(" s;")[0].split(", ")]
    assert len(rounds) == 2 and result["ours_s"] == pytest.approx(sum(rounds) / 2, abs=0.01)
    assert_every_step_is_listed(result, done.stdout)
    assert_peer_assigns_ours_cohort(kept)


def asset_steps(job_name: str) -> set[str]:
    """The steps that materialise the job's assets: one per assets definition (a multi-asset is one step)."""
    keys = defs.resolve_job_def(job_name).asset_layer.executable_asset_keys
    return {a.node_def.name for a in defs.assets if set(a.keys) & keys}


def assert_every_step_is_listed(result: dict, stdout: str) -> None:
    """Every asset step of the full run has its median duration: the timed run's and the rest's, apart."""
    timed, rest = result["ours_steps_s"], result["ours_rest_steps_s"]
    assert asset_steps("to_perk_assignments") <= set(timed), asset_steps("to_perk_assignments") - set(timed)
    assert asset_steps("after_perk_assignments") <= set(rest), asset_steps("after_perk_assignments") - set(rest)
    assert {"raw_users", "session_cohort", "user_segments", "perk_probabilities", "perk_assignments"} <= set(timed)
    assert {"segment_evidence", "assignment_reliability", "perk_accuracy", "executive_summary"} <= set(rest)
    assert not set(timed) & set(rest)
    assert all(seconds > 0 for seconds in (*timed.values(), *rest.values()))
    assert sum(timed.values()) < result["ours_s"] and sum(rest.values()) < result["ours_rest_s"]
    listed = stdout.split("seconds (Dagster's step duration, median of rounds)")[1]
    for step, seconds in {**timed, **rest}.items():
        assert re.search(rf"^{re.escape(step)} +{seconds:.2f}$", listed, re.MULTILINE), step


def assert_peer_assigns_ours_cohort(kept: Path) -> None:
    """The peer's Parquet has one row per user of ours' cohort, read from ours' warehouse of the same source: its
    CTE computes the same cohort, so the two contenders do comparable work."""
    peer = pd.read_parquet(kept / peer_cte.OUTPUT_NAME)
    assert list(peer.columns) == ["user_id", "segment", "perk"]
    assert peer["user_id"].is_unique
    with duckdb.connect(str(kept / "ours" / "warehouse.duckdb"), read_only=True) as con:
        cohort = {row[0] for row in con.execute("SELECT DISTINCT user_id FROM session_cohort").fetchall()}
        assigned = {row[0] for row in con.execute("SELECT user_id FROM perk_assignments").fetchall()}
    assert len(cohort) >= 10 and assigned == cohort  # not an empty match
    assert set(peer["user_id"]) == cohort
    assert set(peer["perk"]) <= set(PERKS) and peer["segment"].between(0, peer_cte.SEGMENTS - 1).all()


def test_peer_cte_uses_the_products_cohort_defaults() -> None:
    study = StudySettings()
    assert (study.cohort_start, study.min_sessions) == (peer_cte.COHORT_START, peer_cte.MIN_SESSIONS)


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
        assert float(row["peer_cte_s"]) > 0 and float(row["peer_cte_peak_rss_mib"]) > 0
        # The ratio is rounded to 2 decimals, the seconds it divides to 3.
        ours_s, peer_s = float(row["ours_s"]), float(row["peer_cte_s"])
        assert float(row["ours_over_peer_cte"]) == pytest.approx(ours_s / peer_s, abs=0.0051)
        assert all(float(row[c]) >= 0 for c in steps)
    png = (tmp_path / PNG_NAME).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    fit = json.loads((tmp_path / JSON_NAME).read_text())
    assert list(fit) == list(FIT_KEYS)
    assert fit["users_min"] == 1000 and fit["users_max"] == 2000
    assert fit["peer_peak_rss_max_mib"] == max(float(r["peer_cte_peak_rss_mib"]) for r in rows)
    assert set(fit["step_loglog_slopes"]) == {c.removeprefix("step_").removesuffix("_s") for c in steps}
    assert "superlinear steps" in done.stdout and "peer CTE time" in done.stdout
    assert done.stderr.count("peer CTE cohort = ours: yes") == 2  # one progress line per scale


@pytest.mark.parametrize("multipliers", ["0,1", "-1,2", "1", "1,1", "a,b", "inf,1"])
def test_bench_curve_rejects_bad_multipliers(multipliers: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["bench", "--curve", "--multipliers", multipliers])
    assert stopped.value.code == EXIT_USAGE
    assert "--multipliers" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--curve", "--json", "x.json"], ["--curve", "--url", "postgresql://h/d"],
                                   ["--curve", "--keep", "kept"], ["--out", "docs"],
                                   ["--multipliers", "1,2"]])  # fmt: skip
def test_bench_flags_of_the_other_mode_are_refused(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", *flags]) == EXIT_USAGE
    assert f"{flags[-2]} " in capsys.readouterr().err
