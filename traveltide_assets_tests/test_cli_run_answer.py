"""`traveltide run` as an analyst sees it: a line as each step finishes, then the answer in a few lines, whose
figures are those of the warehouse tables the run wrote."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import duckdb
import pytest

from traveltide_assets.definitions import defs
from traveltide_assets.lib.catalog import PERK_LABELS
from traveltide_assets_tests.cli_process import COMMAND, ROOT, TIMEOUT_S, cli_env, embedded_source

STEP_LINE = re.compile(r"^\[\s*\d+\.\d+s\] (\S+) done \(\d+\.\d s\)$")


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str], bool]:
    """(data folder, stderr lines, stdout lines, whether the first step's line came while the run still ran)."""
    folder = embedded_source(tmp_path_factory.mktemp("cli_run"), users=20_000, seed=7)
    process = subprocess.Popen(
        [*COMMAND, "run"], cwd=ROOT, env=cli_env(folder), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None and process.stdout is not None
    err, streamed = [], False
    for line in process.stderr:  # read as the command writes: a step's line arrives when the step finishes
        err.append(line.rstrip("\n"))
        if STEP_LINE.match(err[-1]) and len([e for e in err if STEP_LINE.match(e)]) == 1:
            streamed = process.poll() is None
    out = process.stdout.read().splitlines()
    assert process.wait(timeout=TIMEOUT_S) == 0, "\n".join(err[-30:])
    return folder, err, out, streamed


def test_a_line_per_step_as_it_finishes(cli_run: tuple[Path, list[str], list[str], bool]) -> None:
    _, err, _, streamed = cli_run
    assert streamed  # the first step's line was there while the run went on, not printed at the end
    assert any(line.endswith("] run started") for line in err)
    steps = [m.group(1) for m in map(STEP_LINE.match, err) if m]
    assert len(steps) == len(set(steps))  # each step once
    assets = {key.to_user_string() for key in defs.resolve_job_def("refresh_all").asset_layer.executable_asset_keys}
    assert assets >= {"raw_users", "session_cohort", "perk_assignments", "executive_slides"}
    # A step for each asset of its own (a multi-asset, such as the session extracts, is one step of another name).
    single = {a.key.to_user_string() for a in defs.assets if len(a.keys) == 1}
    assert single <= set(steps), single - set(steps)
    assert {"raw_session_extracts", "user_segments", "raw_users_checks"} <= set(steps)
    assert steps.index("raw_users") < steps.index("session_cohort") < steps.index("perk_assignments")


def test_the_answer_is_the_warehouse_s(cli_run: tuple[Path, list[str], list[str], bool]) -> None:
    folder, _, out, _ = cli_run
    answer = {line[:10].strip(): line[11:] for line in out}  # a label column, then what it says
    assert list(answer) == [
        "Run", "Source", "Customers", "Segments", "Perk mix", "Trust", "Report", "Slides", "Campaign", "Warehouse",
    ]  # fmt: skip
    assets, checks = len(defs.resolve_all_asset_keys()), len(defs.resolve_asset_graph().asset_check_keys)
    assert answer["Run"] == f"{assets} assets materialised (7 session months), {checks} checks passed"
    assert answer["Source"] == "Synthetic customers (generated, seed 7) \u2014 not TravelTide data"
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        users = con.execute("SELECT count(*) FROM perk_assignments").fetchall()[0][0]
        sessions = con.execute("SELECT count(*) FROM session_cohort").fetchall()[0][0]
        verdict, p_value = con.execute("SELECT verdict, p_value FROM segment_evidence").fetchall()[0]
        mix = con.execute("SELECT favourite_perk, users FROM perk_summary WHERE segment IS NULL").fetchall()
        kappa, observed = con.execute(
            "SELECT kappa, observed_agreement FROM assignment_reliability WHERE perk = 'all'"
        ).fetchall()[0]
        high = con.execute("SELECT avg((confidence = 'high')::INT) FROM perk_assignments").fetchall()[0][0]
    assert answer["Customers"] == (
        f"{users:,} in the cohort (more than 7 sessions after 2023-01-04), {sessions:,} sessions"
    )
    assert answer["Segments"].startswith(f"{verdict} (p = {p_value:.3g}, alpha 0.01")
    for perk, count in mix:
        assert f"{PERK_LABELS[perk].lower()} {count:,} ({count / users:.0%})" in answer["Perk mix"]
    assert sum(count for _, count in mix) == users
    assert answer["Trust"].startswith(f"split-half kappa {kappa:.2f}: ")
    assert f"for {observed:.0%} (the probabilities predicted" in answer["Trust"]
    assert f"confidence high {high:.0%}, medium " in answer["Trust"]
    assert answer["Report"] == str((folder / "report" / "executive_summary.html").resolve())
    assert answer["Slides"] == str((folder / "report" / "executive_summary.pptx").resolve())
    plan = (folder / "campaign" / "rewards_invitation_1").resolve()
    assert answer["Campaign"] == f"{plan / 'plan.csv'}, {plan / 'plan.parquet'}"
    for path in (answer["Report"], answer["Slides"], *answer["Campaign"].split(", ")):
        assert Path(path).is_file(), path
