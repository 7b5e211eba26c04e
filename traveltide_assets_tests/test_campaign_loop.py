"""The campaign's loop on real components: plan -> planted sign-ups -> blocking check -> read-out -> report, on the
synthetic source, with the sign-ups read from a file, the embedded store and the source PostgreSQL; the rules that
bad results break; the sensor that notices new results; and the statistics of the read-out."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from dagster import ExecuteInProcessResult, build_sensor_context, materialize

from tools.local_postgres import LocalPostgres
from traveltide_assets.definitions import defs
from traveltide_assets.defs.campaign.readout import campaign_readout
from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.campaign.signups import campaign_signups, campaign_signups_valid
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.partitions import full_run_tags
from traveltide_assets.defs.raw.assets import raw_assets
from traveltide_assets.lib.experiment import (
    DOES_WORSE,
    NO_EVIDENCE,
    RAISES_SIGNUPS,
    readout_table,
    uplift,
    uplift_table,
    verdict,
    wilson_interval,
)
from traveltide_assets.pipeline import QUIET, execute, failure_message
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.sources.signups import (
    RULES,
    SIGNUPS_SCHEMA,
    SignupsError,
    fingerprint,
    read_signups,
    read_signups_file,
    validate,
    write_signups,
)
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.load import GROUND_TRUTH_FILE
from traveltide_assets.validation.campaign_simulation import (
    SIGNUP_WINDOW,
    PlantedResponse,
    planted_uplift,
    read_campaign_plan,
    simulate_signups,
)
from traveltide_assets_tests.cli_process import cli_env, embedded_source, error_line, run_cli
from traveltide_assets_tests.pipeline_harness import run_graph

CAMPAIGN = "rewards_invitation_1"
# About 590 customers in the plan: enough that a large planted effect is found, small enough for ~25 s a pipeline.
USERS = 100_000
SOURCE_SEED = 3
# Large on purpose: with ~355 personalised and ~120 generic customers the read-out should then find the uplift.
MATCH_UPLIFT, MISMATCH_EFFECT, SIM_SEED = 0.5, -0.05, 5
PLANTED = PlantedResponse(base_rate=0.10, match_uplift=MATCH_UPLIFT, mismatch_effect=MISMATCH_EFFECT)
Z = NormalDist().inv_cdf(0.975)


# --- the statistics, against hand computations ---------------------------------------------------------------


def hand_wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return centre - half, centre + half


def test_wilson_interval_is_the_score_interval() -> None:
    for k, n in ((0, 50), (3, 40), (61, 600), (120, 120)):
        assert wilson_interval(k, n) == pytest.approx(hand_wilson(k, n), abs=1e-12)
    low, high = wilson_interval(0, 50)
    assert low == pytest.approx(0.0, abs=1e-15) and high > 0.05  # no sign-ups is not a rate known to be 0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_uplift_interval_is_newcombs_hybrid_score_and_p_the_score_test() -> None:
    k1, n1, k2, n2 = 70, 355, 14, 120
    (l1, u1), (l2, u2) = hand_wilson(k1, n1), hand_wilson(k2, n2)
    p1, p2 = k1 / n1, k2 / n2
    result = uplift(k1, n1, k2, n2)
    assert result.difference == pytest.approx(p1 - p2)
    assert result.ci_low == pytest.approx(p1 - p2 - math.hypot(p1 - l1, u2 - p2), abs=1e-12)
    assert result.ci_high == pytest.approx(p1 - p2 + math.hypot(u1 - p1, p2 - l2), abs=1e-12)
    # The score test and the interval agree on this clear difference; the same rates on 10x fewer customers do not
    # reach significance.
    assert result.p_value < 0.05 and result.ci_low > 0
    small = uplift(7, 35, 1, 12)
    assert small.p_value > 0.05 and small.ci_low < 0 < small.ci_high
    assert uplift(0, 100, 0, 100).p_value == 1.0  # nobody signed up anywhere: no difference, not an error
    assert math.isnan(uplift(3, 10, 0, 0).difference)


def test_verdict_words_follow_the_interval() -> None:
    assert verdict(0.001, 0.05) == RAISES_SIGNUPS == "personalised invitations raise sign-ups"
    assert verdict(-0.05, -0.001) == DOES_WORSE == "personalised invitations do worse"
    assert verdict(-0.01, 0.02) == NO_EVIDENCE == "no evidence either way"
    assert verdict(0.0, 0.02) == NO_EVIDENCE  # an interval touching 0 does not exclude it
    assert verdict(math.nan, math.nan) == NO_EVIDENCE


def test_readout_counts_every_planned_customer_once_per_scope() -> None:
    rng = np.random.default_rng(1)
    n = 2_000
    outcomes = pd.DataFrame(
        {
            "arm": rng.choice(["personalised", "generic", "random_perk"], n, p=[0.6, 0.2, 0.2]),
            "favourite_perk": rng.choice(["free_hotel_meal", "exclusive_discounts", "free_checked_bag"], n),
            "confidence": rng.choice(["high", "medium", "low"], n),
            "signed_up": rng.random(n) < 0.12,
        }
    )
    table = readout_table(outcomes)
    assert list(table.columns) == ["scope", "arm", "level", "customers", "signups", "rate", "ci_low", "ci_high"]
    for scope in ("arm", "arm_x_favourite_perk", "arm_x_confidence"):
        rows = table[table["scope"] == scope]
        assert rows["customers"].sum() == n and rows["signups"].sum() == outcomes["signed_up"].sum(), scope
    arms = table[table["scope"] == "arm"]
    assert arms["arm"].tolist() == ["personalised", "generic", "random_perk"] and set(arms["level"]) == {"all"}
    generic_high = table[
        (table["scope"] == "arm_x_confidence") & (table["arm"] == "generic") & (table["level"] == "high")
    ]
    mine = outcomes[(outcomes["arm"] == "generic") & (outcomes["confidence"] == "high")]
    assert generic_high[["customers", "signups"]].iloc[0].tolist() == [len(mine), int(mine["signed_up"].sum())]
    bands = table[(table["scope"] == "arm_x_confidence") & (table["arm"] == "personalised")]["level"].tolist()
    assert bands == ["high", "medium", "low"]  # catalog order, not alphabetical
    uplifts = uplift_table(table)
    assert uplifts["comparison"].tolist() == ["personalised_vs_generic", "personalised_vs_random_perk"]
    for row in uplifts.itertuples():
        pers, other = (arms.set_index("arm").loc[a] for a in ("personalised", row.comparison.split("_vs_")[1]))
        assert row.difference == pytest.approx(pers["rate"] - other["rate"])
        assert (row.ci_low > 0) == row.verdict.startswith("personalised invitations raise")


# --- the rules and the reading, pure --------------------------------------------------------------------------

T0 = pd.Timestamp("2026-12-01 09:00:00", tz="UTC")


def _plan_rows(users: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"user_id": users, "assigned_at": [T0] * len(users)})


def _signups(rows: list[tuple[int, pd.Timestamp]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"campaign_id": CAMPAIGN, "user_id": [u for u, _ in rows], "signed_up_at": [t for _, t in rows]}
    )


def test_each_rule_names_its_rows_and_only_its_rows() -> None:
    plan, known = _plan_rows([1, 2, 3, 4]), [1, 2, 3, 4, 5]
    later = T0 + pd.Timedelta(hours=3)
    assert validate(_signups([(1, later), (2, T0)]), plan, known).passed  # at assigned_at is not before it
    cases = {
        "unknown_customer": [(99, later)],
        "not_in_plan": [(5, later)],
        "duplicate": [(2, later), (2, later + pd.Timedelta(days=1))],
        "before_assigned_at": [(3, T0 - pd.Timedelta(seconds=1))],
    }
    for rule, bad in cases.items():
        result = validate(_signups([(1, later), *bad]), plan, known)
        assert list(result.violations) == [rule], rule
        assert result.counts()[rule] == len(bad)
        assert rule in result.describe() and str(bad[0][0]) in result.describe()
    duplicate = validate(_signups([(1, later), *cases["duplicate"]]), plan, known).describe()
    assert "duplicate: 2 rows of 1 customer (user_ids 2 x2)" in duplicate
    many = validate(_signups([(1000 + i, later) for i in range(12)]), plan, known)
    text = many.violations["unknown_customer"].describe()
    assert "12 rows of 12 customers" in text and "1009" in text and "1010" not in text and "and 2 more" in text


def test_a_planned_customer_who_left_the_cohort_is_still_known() -> None:
    # raw_users holds today's cohort; the plan keeps customers who have left it, and their emails went out.
    result = validate(_signups([(4, T0 + pd.Timedelta(hours=1))]), _plan_rows([1, 4]), known_users=[1])
    assert result.passed


def test_signup_files_are_read_as_csv_or_parquet_with_utc_times(tmp_path: Path) -> None:
    csv = tmp_path / "signups.csv"
    csv.write_text(
        "campaign_id,user_id,signed_up_at\n"
        f"{CAMPAIGN},17,2026-12-02 10:00:00\n"  # no zone: UTC
        f"{CAMPAIGN},18,2026-12-02T11:00:00+01:00\n"
        "winter,19,2026-12-03\n",
        encoding="utf-8",
    )
    table = read_signups_file(csv)
    assert table.schema == SIGNUPS_SCHEMA
    times = table["signed_up_at"].to_pylist()
    assert times[0] == dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC) and times[1] == dt.datetime(
        2026, 12, 2, 10, tzinfo=dt.UTC
    )
    parquet = tmp_path / "signups.parquet"
    write_signups(table, parquet)
    assert read_signups_file(parquet).equals(table)
    # Rewriting one campaign keeps the others' rows.
    kept = write_signups(table.filter(pc.equal(table["campaign_id"], CAMPAIGN)).slice(0, 1), parquet)
    assert kept == 1 and sorted(read_signups_file(parquet)["user_id"].to_pylist()) == [17, 19]
    for body, message in (
        ("campaign_id,user_id\nx,1\n", "lack the column(s) signed_up_at"),
        ("campaign_id,user_id,signed_up_at\nx,1.5,2026-12-01\n", "user_id that is not a whole number (first: row 1)"),
        ("campaign_id,user_id,signed_up_at\nx,1,2026-12-01\nx,2,yesterday\n", "not a date and time (first: row 2)"),
        ("campaign_id,user_id,signed_up_at\nx,,2026-12-01\n", "no user_id or no signed_up_at"),
    ):
        bad = tmp_path / "bad.csv"
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(SignupsError, match=re.escape(message)):
            read_signups_file(bad)


def test_simulated_signups_follow_the_planted_probabilities() -> None:
    rng = np.random.default_rng(0)
    n = 60_000
    favourite = rng.choice(["free_hotel_meal", "free_checked_bag"], n)
    kind = rng.choice(["match", "mismatch", "generic"], n)
    email = np.where(
        kind == "match",
        favourite,
        np.where(
            kind == "mismatch",
            np.where(favourite == "free_hotel_meal", "free_checked_bag", "free_hotel_meal"),
            "all_perks",
        ),
    )
    plan = pd.DataFrame(
        {
            "campaign_id": CAMPAIGN,
            "user_id": np.arange(n),
            "arm": "personalised",
            "email_perk": email,
            "assigned_at": T0,
        }
    )
    truth = pd.DataFrame({"user_id": np.arange(n), "favourite_perk": favourite})
    response = PlantedResponse(base_rate=0.1, match_uplift=0.2, mismatch_effect=-0.05)
    table = simulate_signups(plan, truth, response, seed=3)
    signed = plan.assign(signed=plan["user_id"].isin(table["user_id"].to_pylist()))
    rates = signed.groupby(kind)["signed"].mean()
    assert rates["match"] == pytest.approx(0.30, abs=0.015)
    assert rates["mismatch"] == pytest.approx(0.05, abs=0.01)
    assert rates["generic"] == pytest.approx(0.10, abs=0.01)
    delays = pd.to_datetime(table["signed_up_at"].to_pandas(), utc=True) - T0
    assert delays.min() >= pd.Timedelta(0) and delays.max() < SIGNUP_WINDOW and delays.max() > pd.Timedelta(days=13)
    assert simulate_signups(plan.sample(frac=1, random_state=1), truth, response, seed=3).equals(table)  # by user_id
    assert not simulate_signups(plan, truth, response, seed=4).equals(table)
    # The expected uplift: each personalised customer's planted effect, averaged (a third each here).
    assert planted_uplift(plan, truth, response) == pytest.approx(
        (kind == "match").mean() * 0.2 - (kind == "mismatch").mean() * 0.05
    )
    with pytest.raises(ValueError, match="between 0 and 1"):
        PlantedResponse(base_rate=0.1, match_uplift=0.95)


# --- the loop, materialised -----------------------------------------------------------------------------------


@dataclass
class Loop:
    folder: Path
    awaiting: ExecuteInProcessResult  # the first run: a plan, no results yet
    awaiting_report: str
    simulate_stdout: str
    results: ExecuteInProcessResult  # campaign_results after simulate-campaign
    report: str
    plan: pd.DataFrame
    truth: pd.DataFrame
    signups: pd.DataFrame  # the simulated file


def _metadata(result: ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    assert len(events) == 1, f"{asset} materialised {len(events)} times"
    return events[0].materialization.metadata


def _table(folder: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).df()


def _resources(folder: Path, **campaign: Any) -> dict[str, Any]:
    return {
        "source": TravelTideSource(embedded_dir=str(folder / "source")),
        "warehouse": Warehouse.in_folder(folder),
        "study": StudySettings(),
        "campaign": CampaignSettings(**campaign),
    }


def _results(folder: Path, **campaign: Any) -> ExecuteInProcessResult:
    return execute(resources=_resources(folder, **campaign), job_name="campaign_results")


def _section(report: str) -> str:
    return report[report.index("<h2>Did personalisation work?</h2>") :].split("<h2>", 2)[1]


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Loop:
    folder = embedded_source(tmp_path_factory.mktemp("campaign_loop"), USERS, SOURCE_SEED)
    awaiting = run_graph(TravelTideSource(embedded_dir=str(folder / "source")), Warehouse.in_folder(folder))
    assert awaiting.success, failure_message(awaiting)
    awaiting_report = (folder / "report" / "executive_summary.html").read_text(encoding="utf-8")
    done = run_cli(
        "simulate-campaign",
        *("--match-uplift", str(MATCH_UPLIFT), "--mismatch-effect", str(MISMATCH_EFFECT), "--seed", str(SIM_SEED)),
        env=cli_env(folder),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = _results(folder)
    assert results.success, failure_message(results)
    truth = pq.read_table(folder / "source" / GROUND_TRUTH_FILE).to_pandas()
    return Loop(
        folder=folder,
        awaiting=awaiting,
        awaiting_report=awaiting_report,
        simulate_stdout=done.stdout,
        results=results,
        report=(folder / "report" / "executive_summary.html").read_text(encoding="utf-8"),
        plan=read_campaign_plan(folder / "warehouse.duckdb", CAMPAIGN),
        truth=truth,
        signups=read_signups_file(folder / "source" / "campaign_signups.parquet").to_pandas(),
    )


def test_before_results_the_readout_is_awaiting_and_says_so(loop: Loop) -> None:
    signups = _metadata(loop.awaiting, "campaign_signups")
    assert signups["status"].value == "awaiting results" and signups["dagster/row_count"].value == 0
    assert "looked in file" in signups["read_from"].value and "campaign_signups.parquet" in signups["read_from"].value
    readout = _metadata(loop.awaiting, "campaign_readout")
    assert readout["status"].value == "awaiting results" and readout["dagster/row_count"].value == 0
    [check] = [c for c in loop.awaiting.get_asset_check_evaluations() if c.check_name == "campaign_signups_valid"]
    assert check.passed  # no results is not bad results
    assert "Awaiting results" in _section(loop.awaiting_report)


def test_simulate_campaign_answers_the_plan_from_the_planted_truth(loop: Loop) -> None:
    assert f"to {loop.folder / 'source' / 'campaign_signups.parquet'}" in loop.simulate_stdout
    expected = planted_uplift(loop.plan, loop.truth, PLANTED)
    assert f"{expected * 100:+.2f} points" in loop.simulate_stdout
    assert set(loop.signups["campaign_id"]) == {CAMPAIGN}
    assert loop.signups["user_id"].is_unique and loop.signups["user_id"].isin(loop.plan["user_id"]).all()
    assigned = loop.plan.set_index("user_id").loc[loop.signups["user_id"], "assigned_at"].reset_index(drop=True)
    delay = loop.signups["signed_up_at"].reset_index(drop=True) - assigned
    assert (delay >= pd.Timedelta(0)).all() and (delay < SIGNUP_WINDOW).all()
    # The same seed gives the same answers (the command is reproducible).
    again = simulate_signups(loop.plan, loop.truth, PLANTED, SIM_SEED).to_pandas()
    pd.testing.assert_frame_equal(again, loop.signups)


def test_readout_finds_the_planted_uplift_and_covers_it(loop: Loop) -> None:
    uplifts = _table(loop.folder, "SELECT * FROM campaign_uplift").set_index("comparison")
    main = uplifts.loc["personalised_vs_generic"]
    expected = planted_uplift(loop.plan, loop.truth, PLANTED)
    assert expected > 0.05  # the planted parameters make a large uplift for this plan
    assert main["ci_low"] <= expected <= main["ci_high"], (expected, main.to_dict())
    assert main["verdict"] == RAISES_SIGNUPS and main["p_value"] < 0.05
    # The read-out counts the plan: every planned customer in their arm, sign-ups from the file.
    readout = _table(loop.folder, "SELECT * FROM campaign_readout")
    arms = readout[readout["scope"] == "arm"].set_index("arm")
    plan = loop.plan.assign(signed=loop.plan["user_id"].isin(loop.signups["user_id"]))
    for arm, rows in plan.groupby("arm"):
        assert arms.loc[arm, "customers"] == len(rows) and arms.loc[arm, "signups"] == rows["signed"].sum(), arm
    assert set(readout["scope"]) == {"arm", "arm_x_favourite_perk", "arm_x_confidence"}
    metadata = _metadata(loop.results, "campaign_readout")
    assert metadata["verdict"].value == RAISES_SIGNUPS and metadata["status"].value == "results in"
    assert "| personalised" in metadata["per_arm"].value and "95% CI" in metadata["per_arm"].value
    assert metadata["personalised_vs_generic"].value["ci_low"] == pytest.approx(main["ci_low"], abs=1e-6)
    assert "campaign_signups.parquet" in metadata["read_from"].value
    # ... and so does the report, refreshed by the same job.
    section = _section(loop.report)
    assert "Personalised invitations raise sign-ups." in section
    assert f"{main['difference'] * 100:+.1f} points" in section
    assert f"{arms.loc['generic', 'customers']:,}" in section


def test_the_interval_covers_at_its_nominal_rate_over_simulations(loop: Loop) -> None:
    """Forty simulations of the fixture's plan, read out by the same functions as the asset: a 95% interval
    covers the planted uplift about 38 times, and with no planted effect says 'no evidence' about 38 times."""
    null = PlantedResponse(base_rate=0.10, match_uplift=0.0, mismatch_effect=0.0)
    expected = planted_uplift(loop.plan, loop.truth, PLANTED)
    covered = no_evidence = 0
    for seed in range(40):
        for response in (PLANTED, null):
            table = simulate_signups(loop.plan, loop.truth, response, 100 + seed).to_pandas()
            outcomes = loop.plan.assign(signed_up=loop.plan["user_id"].isin(table["user_id"]))
            main = uplift_table(readout_table(outcomes)).set_index("comparison").loc["personalised_vs_generic"]
            if response is PLANTED:
                covered += main["ci_low"] <= expected <= main["ci_high"]
            else:
                no_evidence += main["verdict"] == NO_EVIDENCE
    assert covered >= 34 and no_evidence >= 34, (covered, no_evidence)


def test_zero_effects_give_no_evidence_either_way(loop: Loop, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    shutil.copytree(loop.folder, folder)
    configured = tmp_path / "results" / "signups.csv"
    configured.parent.mkdir()
    null = PlantedResponse(base_rate=0.10, match_uplift=0.0, mismatch_effect=0.0)
    write_signups(simulate_signups(loop.plan, loop.truth, null, SIM_SEED), configured)
    # The configured file comes first, although the embedded store holds the planted results too.
    result = _results(folder, signups_path=str(configured))
    assert result.success, failure_message(result)
    assert _metadata(result, "campaign_signups")["read_from"].value == f"file {configured}"
    main = _table(folder, "SELECT * FROM campaign_uplift WHERE comparison = 'personalised_vs_generic'").iloc[0]
    assert main["verdict"] == NO_EVIDENCE and main["ci_low"] < 0 < main["ci_high"]
    assert "No evidence either way." in _section((folder / "report" / "executive_summary.html").read_text())


def _digest(folder: Path) -> dict[str, str]:
    """The read-out as consumers see it: its two tables, their Parquet exports, the report."""
    files = [folder / "parquet" / f"{t}.parquet" for t in ("campaign_readout", "campaign_uplift")]
    files += [folder / "report" / name for name in ("executive_summary.html", "executive_summary.pptx")]
    digest = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.exists()}
    for table in ("campaign_readout", "campaign_uplift"):
        digest[table] = _table(folder, f"SELECT * FROM {table}").to_csv()
    return digest


def test_every_bad_results_rule_fails_the_blocking_check_and_nothing_downstream_changes(
    loop: Loop, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    shutil.copytree(loop.folder, folder)
    # The cohort grows after the plan was issued: its new customers are known (raw_users) but not in the plan.
    resources = _resources(folder) | {"study": StudySettings(min_sessions=6)}
    newest = resources["source"].newest_session_start()
    grown = materialize(raw_assets, resources=resources, tags=full_run_tags(newest))
    assert grown.success
    known = set(_table(folder, "SELECT user_id FROM raw_users")["user_id"])
    joiner = int(min(known - set(loop.plan["user_id"])))
    before = _digest(folder)
    good = loop.signups.head(20)
    first = int(good["user_id"].iloc[0])
    silent = loop.plan[~loop.plan["user_id"].isin(loop.signups["user_id"])].iloc[0]  # planned, never signed up
    later = good["signed_up_at"].max()
    bad_rows = {
        "unknown_customer": [(987_654_321, later)],
        "not_in_plan": [(joiner, later)],
        "duplicate": [(first, later)],
        "before_assigned_at": [(int(silent["user_id"]), silent["assigned_at"] - pd.Timedelta(minutes=5))],
    }
    for rule, rows in bad_rows.items():
        extra = pd.DataFrame(
            {"campaign_id": CAMPAIGN, "user_id": [u for u, _ in rows], "signed_up_at": [t for _, t in rows]}
        )
        path = tmp_path / f"{rule}.csv"
        write_signups(pa.Table.from_pandas(pd.concat([good, extra]), schema=SIGNUPS_SCHEMA, preserve_index=False), path)
        result = _results(folder, signups_path=str(path))
        assert not result.success, rule
        [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "campaign_signups_valid"]
        assert not check.passed, rule
        assert list(check.metadata["rows_breaking_each_rule"].value) == list(RULES)
        assert {r: n for r, n in check.metadata["rows_breaking_each_rule"].value.items() if n} == {
            rule: 2 if rule == "duplicate" else 1
        }, rule
        named = rows[0][0]
        assert f"{rule}: " in check.description and str(named) in check.description, check.description
        assert str(named) in check.metadata["offending_rows"].value
        assert rule in failure_message(result)
        materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert materialised == {"campaign_signups"}, rule  # the read-out, report and slides did not run
        assert _digest(folder) == before, rule


@pytest.fixture
def signups_db(postgres: LocalPostgres) -> str:
    """A database of its own, so that other tests' sources never see a campaign_signups table."""
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS campaign_results_source")
        conn.execute("CREATE DATABASE campaign_results_source")
    return postgres.url_for("campaign_results_source")


def test_signups_are_read_from_the_source_postgres_through_its_read_only_connection(
    loop: Loop, signups_db: str, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    shutil.copytree(loop.folder, folder)
    with psycopg.connect(signups_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE sent_back (campaign_id text, user_id bigint, signed_up_at timestamptz)")
        with conn.cursor() as cursor, cursor.copy("COPY sent_back FROM STDIN") as copy:
            for row in loop.signups.itertuples(index=False):
                copy.write_row((row.campaign_id, int(row.user_id), row.signed_up_at.to_pydatetime()))
            copy.write_row(("winter", 1, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))  # another campaign: ignored
        # The table the pipeline reads shows each sign-up's time only inside a read-only transaction: read any
        # other way, every row lacks signed_up_at and reading fails.
        conn.execute(
            "CREATE VIEW campaign_signups AS SELECT campaign_id, user_id, CASE WHEN "
            "current_setting('transaction_read_only') = 'on' THEN signed_up_at END AS signed_up_at FROM sent_back"
        )
        assert conn.execute("SELECT count(signed_up_at) FROM campaign_signups").fetchone() == (0,)
    source = TravelTideSource(postgres_url=signups_db)
    resources = {"source": source, "warehouse": Warehouse.in_folder(folder), "campaign": CampaignSettings()}
    result = materialize(
        [campaign_signups, campaign_signups_valid, campaign_readout], resources=resources, run_config=QUIET
    )
    assert result.success, failure_message(result)
    assert _metadata(result, "campaign_signups")["read_from"].value.startswith("table campaign_signups of PostgreSQL")
    assert _metadata(result, "campaign_signups")["other_campaigns_rows_ignored"].value == 1
    assert _table(folder, "SELECT * FROM campaign_readout").equals(
        _table(loop.folder, "SELECT * FROM campaign_readout")
    )
    # The sensor's fingerprint of a PostgreSQL location moves when results are added.
    before = fingerprint(None, source)
    with psycopg.connect(signups_db, autocommit=True) as conn:
        conn.execute("INSERT INTO sent_back VALUES ('winter', 2, '2026-01-02T00:00:00Z')")
    assert fingerprint(None, source) != before and before.startswith("postgres campaign_signups: ")


def test_simulate_campaign_refuses_without_a_planted_truth_or_a_plan(
    loop: Loop, signups_db: str, tmp_path: Path
) -> None:
    real_like = run_cli("simulate-campaign", "--to", str(tmp_path / "s.parquet"), env=cli_env(tmp_path, signups_db))
    assert real_like.returncode == 2
    assert "has no planted truth (a real database)" in error_line(real_like.stderr)
    assert "Traceback" not in real_like.stderr and not (tmp_path / "s.parquet").exists()
    no_target = run_cli("simulate-campaign", env=cli_env(tmp_path, signups_db))
    assert no_target.returncode == 2 and "give --to" in error_line(no_target.stderr)
    folder = tmp_path / "data"
    shutil.copytree(loop.folder / "source", folder / "source")
    (folder / "source" / "campaign_signups.parquet").unlink()  # the loop's simulated results
    no_plan = run_cli("simulate-campaign", env=cli_env(folder))
    assert no_plan.returncode == 2 and "run the pipeline" in error_line(no_plan.stderr)
    (folder / "source" / GROUND_TRUTH_FILE).unlink()
    no_truth = run_cli("simulate-campaign", env=cli_env(folder))
    assert no_truth.returncode == 2 and "has no planted truth" in error_line(no_truth.stderr)
    assert not (folder / "source" / "campaign_signups.parquet").exists()


def test_sensor_requests_a_run_only_when_the_results_change(tmp_path: Path) -> None:
    repo = defs.get_repository_def()
    sensor = repo.get_sensor_def("campaign_signups_sensor")
    assert sensor.default_status.value == "RUNNING"  # listed under Automation, and on from the start
    assert sensor.job_name == "campaign_results"
    job_checks = {k.name for k in repo.get_job("campaign_results").asset_layer.asset_graph.asset_check_keys}
    assert "campaign_signups_valid" in job_checks
    path = tmp_path / "signups.csv"
    resources = {
        "source": TravelTideSource(embedded_dir=str(tmp_path / "source")),
        "campaign": CampaignSettings(signups_path=str(path)),
    }

    def tick(cursor: str | None) -> Any:
        return sensor.evaluate_tick(build_sensor_context(cursor=cursor, resources=resources, definitions=defs))

    nothing = tick(None)
    assert nothing.run_requests == [] and "no campaign results yet" in (nothing.skip_message or "")
    path.write_text(f"campaign_id,user_id,signed_up_at\n{CAMPAIGN},1,2026-12-02T10:00:00Z\n", encoding="utf-8")
    first = tick(nothing.cursor)
    assert len(first.run_requests) == 1
    unchanged = tick(first.cursor)
    assert unchanged.run_requests == [] and "no new results" in (unchanged.skip_message or "")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{CAMPAIGN},2,2026-12-03T10:00:00Z\n")
    changed = tick(unchanged.cursor)
    assert len(changed.run_requests) == 1 and changed.run_requests[0].run_key != first.run_requests[0].run_key
    assert tick(changed.cursor).run_requests == []


def test_read_signups_prefers_the_configured_file_then_the_embedded_store(tmp_path: Path) -> None:
    source = TravelTideSource(embedded_dir=str(tmp_path / "source"))
    assert read_signups(None, source) is None and read_signups(str(tmp_path / "missing.csv"), source) is None
    embedded = tmp_path / "source" / "campaign_signups.parquet"
    one = pa.table(
        {"campaign_id": [CAMPAIGN], "user_id": [7], "signed_up_at": [dt.datetime(2026, 12, 2, tzinfo=dt.UTC)]},
        schema=SIGNUPS_SCHEMA,
    )
    write_signups(one, embedded)
    assert read_signups(str(tmp_path / "missing.csv"), source).origin == f"file {embedded}"
    configured = tmp_path / "mine.parquet"
    write_signups(one, configured)
    assert read_signups(str(configured), source).origin == f"file {configured}"
