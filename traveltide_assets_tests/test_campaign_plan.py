"""The invitation campaign's plan: stratified arms, the random perk, the policy, the power figure, and the
frozen plan materialised for real (DuckDB table, Parquet and the email tool's CSV) across refreshes."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster import ExecuteInProcessResult, materialize
from pydantic import ValidationError

from traveltide_assets.defs.campaign.plan import campaign_plan, plan_export_paths
from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.lib.campaign_plan import (
    ALL_PERKS,
    ARMS,
    PLAN_COLUMNS,
    PlanDesign,
    Policy,
    arm_sizes,
    extend_plan,
    other_perks,
    summarise,
)
from traveltide_assets.lib.catalog import CONFIDENCE_BANDS, PERKS
from traveltide_assets.lib.experiment import minimum_detectable_difference
from traveltide_assets.pipeline import QUIET, execute, failure_message
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import write_parquet_store
from traveltide_assets_tests.pipeline_harness import run_graph

DESIGN = PlanDesign("test_campaign", seed=2027, shares=(0.6, 0.2, 0.2), policy=Policy(0.03, 0.02))
NOW = dt.datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)


def cohort_of(n: int, seed: int = 0, first_id: int = 1) -> pd.DataFrame:
    """A cohort like perk_assignments: every stratum, probabilities across the policy's threshold."""
    rng = np.random.default_rng(seed)
    probability = rng.uniform(0.2, 0.95, n)
    return pd.DataFrame(
        {
            "user_id": rng.permutation(np.arange(first_id, first_id + 3 * n))[:n].astype("int64"),
            "favourite_perk": rng.choice(PERKS, n),
            "probability": probability,
            "confidence": np.where(probability >= 0.6, "high", np.where(probability >= 0.4, "medium", "low")),
        }
    )


def plan_of(cohort: pd.DataFrame, design: PlanDesign = DESIGN) -> pd.DataFrame:
    return extend_plan(None, cohort, design, NOW).table


# --- the pure functions -------------------------------------------------------------------------------------


def test_arm_sizes_split_by_largest_remainder() -> None:
    assert arm_sizes(10, (0.6, 0.2, 0.2)).tolist() == [6, 2, 2]
    assert arm_sizes(7, (0.6, 0.2, 0.2)).tolist() == [4, 2, 1]  # 4.2/1.4/1.4: the one left goes to the first tie
    assert arm_sizes(1, (0.6, 0.2, 0.2)).tolist() == [1, 0, 0]
    assert arm_sizes(0, (0.6, 0.2, 0.2)).tolist() == [0, 0, 0]
    for n in range(1, 300):
        sizes = arm_sizes(n, (0.5, 0.3, 0.2))
        assert sizes.sum() == n
        assert np.all(np.abs(sizes - n * np.array([0.5, 0.3, 0.2])) < 1), n


def test_every_stratum_is_split_to_the_shares() -> None:
    cohort = cohort_of(6_000)
    plan = plan_of(cohort)
    assert len(plan) == len(cohort) and set(plan["user_id"]) == set(cohort["user_id"])
    strata = plan.groupby(["favourite_perk", "confidence"])
    assert len(strata) == len(PERKS) * len(CONFIDENCE_BANDS)
    for stratum, rows in strata:
        counts = rows["arm"].value_counts().reindex(list(ARMS), fill_value=0).to_numpy()
        assert counts.tolist() == arm_sizes(len(rows), DESIGN.shares).tolist(), stratum
    other = plan_of(cohort, PlanDesign("other_shares", 1, (0.5, 0.25, 0.25), DESIGN.policy))
    for stratum, rows in other.groupby(["favourite_perk", "confidence"]):
        counts = rows["arm"].value_counts().reindex(list(ARMS), fill_value=0).to_numpy()
        assert counts.tolist() == arm_sizes(len(rows), (0.5, 0.25, 0.25)).tolist(), stratum


def test_arms_are_random_within_a_stratum_not_by_user_id() -> None:
    plan = plan_of(cohort_of(6_000))
    personalised = plan["arm"] == "personalised"
    # Not the first 60% of ids in each stratum: arms interleave over the ids.
    lowest = plan.groupby(["favourite_perk", "confidence"])["user_id"].rank(pct=True) <= 0.6
    assert 0.5 < (personalised == lowest).mean() < 0.62


def test_random_perk_is_never_the_favourite_and_uniform_over_the_other_four() -> None:
    cohort = cohort_of(20_000).assign(favourite_perk="free_checked_bag")
    plan = plan_of(cohort)
    random_arm = plan[plan["arm"] == "random_perk"]
    assert len(random_arm) == pytest.approx(4_000, abs=15)
    assert not (random_arm["email_perk"] == random_arm["favourite_perk"]).any()
    counts = random_arm["email_perk"].value_counts()
    assert set(counts.index) == set(other_perks("free_checked_bag"))
    expected = len(random_arm) / 4  # sd about 27: five sd either way
    assert all(abs(n - expected) < 140 for n in counts), counts.to_dict()
    assert (random_arm["template"] == "invite_" + random_arm["email_perk"]).all()


def test_policy_personalises_where_gain_outweighs_cost() -> None:
    policy = Policy(match_gain=0.03, mismatch_cost=0.02)
    assert policy.threshold == pytest.approx(0.4)
    assert policy.personalises(np.array([0.2, 0.39, 0.4, 0.41, 0.9])).tolist() == [False, False, False, True, True]
    assert Policy(0.03, 0.0).personalises(np.array([0.01, 0.5])).tolist() == [True, True]
    assert Policy(0.0, 0.02).personalises(np.array([0.5, 0.99])).tolist() == [False, False]
    assert Policy(0.01, 0.09).threshold == pytest.approx(0.9)

    plan = plan_of(cohort_of(4_000))
    personalised = plan[plan["arm"] == "personalised"]
    above = personalised["probability"] > 0.4
    assert (personalised.loc[above, "email_perk"] == personalised.loc[above, "favourite_perk"]).all()
    assert (personalised.loc[above, "template"] == "invite_" + personalised.loc[above, "favourite_perk"]).all()
    assert (personalised.loc[~above, "email_perk"] == ALL_PERKS).all()
    assert (personalised.loc[~above, "template"] == "invite_generic").all()
    assert 0 < above.sum() < len(personalised)  # the cohort exercises both sides of the threshold
    generic = plan[plan["arm"] == "generic"]
    assert (generic["email_perk"] == ALL_PERKS).all() and (generic["template"] == "invite_generic").all()

    summary = summarise(plan, DESIGN.campaign_id, DESIGN.policy, 0.1)
    assert summary.personalised_with_perk == int(above.sum())
    assert summary.personalised_fallback == int((~above).sum())
    p = personalised.loc[above, "probability"]
    assert summary.assumed_difference == pytest.approx((p * 0.03 - (1 - p) * 0.02).sum() / len(personalised))


def test_plan_is_reproducible_from_the_seed_and_another_seed_differs() -> None:
    cohort = cohort_of(3_000)
    first, again = plan_of(cohort), plan_of(cohort.sample(frac=1.0, random_state=5))  # any row order
    pd.testing.assert_frame_equal(first, again)
    reseeded = plan_of(cohort, PlanDesign(DESIGN.campaign_id, 2028, DESIGN.shares, DESIGN.policy))
    assert (reseeded["arm"] != first["arm"]).mean() > 0.3
    assert reseeded["arm"].value_counts().to_dict() == first["arm"].value_counts().to_dict()  # same split sizes


def test_plan_has_the_columns_in_order_and_seconds_in_utc() -> None:
    plan = plan_of(cohort_of(100))
    assert tuple(plan.columns) == PLAN_COLUMNS
    assert (plan["campaign_id"] == DESIGN.campaign_id).all()
    assert str(plan["assigned_at"].dt.tz) == "UTC"
    assert (plan["assigned_at"] == pd.Timestamp("2026-12-01 09:30:15", tz="UTC")).all()


def test_extending_keeps_every_planned_row_and_adds_joiners_as_a_later_batch() -> None:
    first_cohort = cohort_of(2_000, seed=1)
    issued = plan_of(first_cohort)
    joiners = cohort_of(500, seed=2, first_id=100_000)
    leavers = set(first_cohort["user_id"].head(100))
    # Later: the model has changed its mind about the stayers, some customers left, new ones joined.
    later = pd.concat([first_cohort[~first_cohort["user_id"].isin(leavers)].assign(probability=0.99), joiners])
    extended = extend_plan(issued, later, DESIGN, NOW + dt.timedelta(days=3))
    assert extended.added == len(joiners) and extended.batch_number == 2
    kept = extended.table[extended.table["user_id"].isin(issued["user_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, issued)  # the leavers too, and with their old probability
    added = extended.table[extended.table["user_id"].isin(joiners["user_id"])]
    assert len(added) == len(joiners)
    assert (added["assigned_at"] == pd.Timestamp(NOW + dt.timedelta(days=3)).floor("s")).all()

    unchanged = extend_plan(extended.table, later, DESIGN, NOW + dt.timedelta(days=4))
    assert unchanged.added == 0 and unchanged.batch_number is None
    pd.testing.assert_frame_equal(unchanged.table, extended.table)


def test_a_batch_in_the_same_second_still_comes_later() -> None:
    issued = plan_of(cohort_of(50, seed=1))
    extended = extend_plan(issued, cohort_of(20, seed=2, first_id=10_000), DESIGN, NOW)
    batches = sorted(extended.table["assigned_at"].unique())
    assert len(batches) == 2 and batches[1] - batches[0] == pd.Timedelta(seconds=1)


def test_another_campaign_gets_its_own_plan_beside_the_first() -> None:
    cohort = cohort_of(1_000)
    issued = plan_of(cohort)
    second = PlanDesign("second_campaign", DESIGN.seed, DESIGN.shares, DESIGN.policy)
    both = extend_plan(issued, cohort, second, NOW + dt.timedelta(days=30))
    assert both.added == len(cohort) and both.batch_number == 1
    first_rows = both.table[both.table["campaign_id"] == DESIGN.campaign_id].reset_index(drop=True)
    pd.testing.assert_frame_equal(first_rows, issued)
    assert (both.table["campaign_id"] == "second_campaign").sum() == len(cohort)


def test_a_cohort_with_an_unknown_perk_or_band_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown favourite perk or confidence band"):
        plan_of(cohort_of(10).assign(confidence="certain"))
    with pytest.raises(ValueError, match="twice"):
        plan_of(pd.concat([cohort_of(10), cohort_of(10)]))


# --- power ----------------------------------------------------------------------------------------------------


def hand_mde(n_treatment: int, n_control: int, base_rate: float) -> float:
    """The textbook formula: h = (z_0.975 + z_0.8) · sqrt(1/n1 + 1/n2), then back from Cohen's h to a rate."""
    z = NormalDist().inv_cdf
    h = (z(0.975) + z(0.8)) * math.sqrt(1 / n_treatment + 1 / n_control)
    return math.sin(math.asin(math.sqrt(base_rate)) + h / 2) ** 2 - base_rate


def test_minimum_detectable_difference_matches_the_hand_computation() -> None:
    # By hand: h = 2.8016 · sqrt(2/1000) = 0.12529; sin(asin(sqrt(0.1)) + 0.06265)^2 - 0.1 = 0.04063
    assert minimum_detectable_difference(1_000, 1_000, 0.10) == pytest.approx(0.04063, abs=5e-5)
    assert minimum_detectable_difference(1_000, 1_000, 0.10) == pytest.approx(hand_mde(1_000, 1_000, 0.10), rel=1e-4)
    assert minimum_detectable_difference(6_000, 2_000, 0.25) == pytest.approx(hand_mde(6_000, 2_000, 0.25), rel=1e-4)
    assert minimum_detectable_difference(2_000, 2_000, 0.10) < minimum_detectable_difference(1_000, 1_000, 0.10)
    assert minimum_detectable_difference(0, 100, 0.10) == math.inf
    assert minimum_detectable_difference(1, 1, 0.10) == math.inf  # not even 100% against 10% is detectable
    with pytest.raises(ValueError, match="base_rate"):
        minimum_detectable_difference(100, 100, 1.0)


# --- settings ---------------------------------------------------------------------------------------------------

BAD_SETTINGS = [
    ({"campaign_id": "Spring Campaign"}, "campaign_id must be 1-64 lower-case letters"),
    ({"campaign_id": "../escape"}, "campaign_id must be 1-64 lower-case letters"),
    ({"seed": -1}, "seed must be >= 0, got -1"),
    ({"personalised_share": 0.7}, "the arm shares must sum to 1, got 0.7 + 0.2 + 0.2 = 1.1"),
    ({"generic_share": 0.0, "random_perk_share": 0.4}, "generic_share must be between 0 and 1"),
    ({"match_gain": 0.0, "mismatch_cost": 0.0}, "match_gain and mismatch_cost cannot both be 0"),
    ({"mismatch_cost": -0.01}, "mismatch_cost is a change of sign-up probability, >= 0"),
    ({"base_rate": 0.0}, "base_rate must be between 0 and 1, got 0.0"),
]


@pytest.mark.parametrize(("settings", "message"), BAD_SETTINGS)
def test_bad_campaign_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("+", r"\+")):
        CampaignSettings(**settings)


def test_default_campaign_settings_are_the_contract() -> None:
    settings = CampaignSettings()
    assert (settings.campaign_id, settings.seed, settings.shares) == ("rewards_invitation_1", 2027, (0.6, 0.2, 0.2))
    assert (settings.match_gain, settings.mismatch_cost, settings.base_rate) == (0.03, 0.02, 0.10)
    assert settings.signups_path is None


# --- materialised for real --------------------------------------------------------------------------------------

USERS = 20_000
# Run one uses the default cohort (more than 7 sessions); the refresh lowers it, so new customers join.
REFRESH_MIN_SESSIONS = 6


@dataclass
class Runs:
    folder: Path
    first: pd.DataFrame  # campaign_plan after the first run
    first_metadata: dict
    refreshed: pd.DataFrame  # after the refresh with a larger cohort
    refreshed_metadata: dict
    cohort: pd.DataFrame  # perk_assignments after the refresh
    csv_after_first: bytes


def _table(folder: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).df()


def _plan_metadata(result: ExecuteInProcessResult) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "campaign_plan"]
    return event.materialization.metadata


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    folder = tmp_path_factory.mktemp("campaign")
    write_parquet_store(generate_source(GeneratorConfig(users=USERS, seed=8)), folder / "source")
    source, warehouse = TravelTideSource(embedded_dir=str(folder / "source")), Warehouse.in_folder(folder)
    first = run_graph(source, warehouse)
    assert first.success, failure_message(first)
    first_plan = _table(folder, "SELECT * FROM campaign_plan ORDER BY user_id")
    csv_after_first = plan_export_paths(warehouse, "rewards_invitation_1")[0].read_bytes()
    refreshed = run_graph(source, warehouse, StudySettings(min_sessions=REFRESH_MIN_SESSIONS))
    assert refreshed.success, failure_message(refreshed)
    plan_checks = [
        c for c in refreshed.get_asset_check_evaluations() if c.asset_key.to_user_string() == "campaign_plan"
    ]
    assert sorted(c.check_name for c in plan_checks) == ["one_valid_plan_row_per_customer", "plan_covers_cohort"]
    assert all(c.passed for c in plan_checks)
    return Runs(
        folder=folder,
        first=first_plan,
        first_metadata=_plan_metadata(first),
        refreshed=_table(folder, "SELECT * FROM campaign_plan ORDER BY user_id"),
        refreshed_metadata=_plan_metadata(refreshed),
        cohort=_table(folder, "SELECT * FROM perk_assignments ORDER BY user_id"),
        csv_after_first=csv_after_first,
    )


def test_plan_has_one_row_per_cohort_customer_with_the_columns_in_order(runs: Runs) -> None:
    plan, cohort = runs.refreshed, runs.cohort
    assert tuple(plan.columns) == PLAN_COLUMNS
    assert plan["user_id"].tolist() == cohort["user_id"].tolist()  # the cohort only grew: exactly its customers
    with duckdb.connect(str(runs.folder / "warehouse.duckdb"), read_only=True) as con:
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE campaign_plan)").fetchall())
    assert types == {
        "campaign_id": "VARCHAR",
        "user_id": "BIGINT",
        "arm": "VARCHAR",
        "email_perk": "VARCHAR",
        "template": "VARCHAR",
        "favourite_perk": "VARCHAR",
        "probability": "DOUBLE",
        "confidence": "VARCHAR",
        "assigned_at": "TIMESTAMP WITH TIME ZONE",
    }
    exported = pd.read_parquet(runs.folder / "parquet" / "campaign_plan.parquet")
    assert list(exported.columns) == list(PLAN_COLUMNS) and len(exported) == len(plan)


def test_csv_export_is_utf8_with_a_header_and_equals_the_table(runs: Runs) -> None:
    csv_path, parquet_path = plan_export_paths(Warehouse.in_folder(runs.folder), "rewards_invitation_1")
    assert csv_path == runs.folder / "campaign" / "rewards_invitation_1" / "plan.csv"
    text = csv_path.read_bytes().decode("utf-8")  # strict: fails on anything that is not UTF-8
    assert text.splitlines()[0] == ",".join(PLAN_COLUMNS)
    exported = pd.read_csv(csv_path, dtype={"user_id": "int64"})
    exported["assigned_at"] = pd.to_datetime(exported["assigned_at"], utc=True).astype("datetime64[us, UTC]")
    table = runs.refreshed.assign(assigned_at=runs.refreshed["assigned_at"].dt.tz_convert("UTC"))
    for column in PLAN_COLUMNS:
        assert exported[column].tolist() == table[column].tolist(), column  # probabilities to the last bit
    beside = pd.read_parquet(parquet_path)
    assert beside["user_id"].tolist() == table["user_id"].tolist()
    assert beside["arm"].tolist() == table["arm"].tolist()
    assert not [p.name for p in csv_path.parent.iterdir() if p.name.startswith(".")]  # no staged leftovers


def test_plan_is_frozen_across_a_refresh_that_adds_cohort_customers(runs: Runs) -> None:
    first, refreshed = runs.first, runs.refreshed
    joined = refreshed[~refreshed["user_id"].isin(first["user_id"])]
    assert len(first) > 50 and len(joined) > 50  # the refresh really added customers
    kept = refreshed[refreshed["user_id"].isin(first["user_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, first)  # every column of every planned row, assigned_at included
    assert (joined["assigned_at"] > first["assigned_at"].max()).all()
    assert joined["assigned_at"].nunique() == 1
    # The model refit on the larger cohort changed some planned customers' favourites; the plan kept theirs.
    now = runs.cohort.set_index("user_id").loc[first["user_id"], "probability"].to_numpy()
    assert (now != first["probability"].to_numpy()).any()
    assert runs.first_metadata["customers_added"].value == len(first)
    assert runs.refreshed_metadata["customers_added"].value == len(joined)
    assert runs.refreshed_metadata["batch_number"].value == 2
    assert runs.refreshed_metadata["batches"].value == 2
    csv_now = plan_export_paths(Warehouse.in_folder(runs.folder), "rewards_invitation_1")[0].read_bytes()
    assert csv_now.startswith(runs.csv_after_first.splitlines(keepends=True)[0])
    assert len(csv_now.splitlines()) == len(runs.csv_after_first.splitlines()) + len(joined)  # the file follows


def test_plan_metadata_states_arms_policy_and_power(runs: Runs) -> None:
    metadata, plan = runs.refreshed_metadata, runs.refreshed
    per_arm = metadata["customers_per_arm"].value
    assert per_arm == {arm: int((plan["arm"] == arm).sum()) for arm in ARMS}
    personalised = plan[plan["arm"] == "personalised"]
    with_perk = int((personalised["email_perk"] != ALL_PERKS).sum())
    assert metadata["personalised_emails"].value == {
        "with_their_favourite_perk": with_perk,
        "generic_fallback": len(personalised) - with_perk,
    }
    assert metadata["policy_threshold"].value == pytest.approx(0.4)
    mde = minimum_detectable_difference(per_arm["personalised"], per_arm["generic"], 0.10)
    assert metadata["minimum_detectable_difference"].value == pytest.approx(mde)
    assert f"assuming a 10% base rate: {mde * 100:.1f} points" in metadata["power"].value
    by_stratum = metadata["arms_by_stratum"].value
    assert all(arm in by_stratum.splitlines()[0] for arm in ARMS) and "free_hotel_meal" in by_stratum


def test_report_states_the_campaign_plan_and_its_power(runs: Runs) -> None:
    report = (runs.folder / "report" / "executive_summary.html").read_text(encoding="utf-8")
    section = report[report.index("<h2>The invitation campaign</h2>") :].split("<h2>", 2)[1]
    per_arm = runs.refreshed_metadata["customers_per_arm"].value
    assert f"{per_arm['personalised']:,}" in section and f"{per_arm['generic']:,}" in section
    mde = runs.refreshed_metadata["minimum_detectable_difference"].value
    assert (
        "The smallest difference in sign-up rate this plan can detect between personalised and generic, at "
        f"\u03b1 = 0.05 two-sided and power 0.8, assuming a 10% base rate: {mde * 100:.1f} points."
    ) in section
    assert "above 0.40" in section


def test_a_new_campaign_id_issues_a_new_plan_and_keeps_the_old_one(runs: Runs, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    shutil.copytree(runs.folder, folder, ignore=shutil.ignore_patterns("source"))
    warehouse = Warehouse.in_folder(folder)
    result = materialize(
        [campaign_plan],
        resources={"warehouse": warehouse, "campaign": CampaignSettings(campaign_id="winter_invitation", seed=7)},
        run_config=QUIET,
    )
    assert result.success
    plan = _table(folder, "SELECT * FROM campaign_plan ORDER BY campaign_id, user_id")
    old = plan[plan["campaign_id"] == "rewards_invitation_1"].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, runs.refreshed)
    new = plan[plan["campaign_id"] == "winter_invitation"]
    assert new["user_id"].tolist() == runs.cohort["user_id"].tolist()
    assert (new["assigned_at"] > runs.refreshed["assigned_at"].max()).all()
    assert (new["arm"].to_numpy() != runs.refreshed["arm"].to_numpy()).mean() > 0.2  # randomised afresh
    assert (folder / "campaign" / "winter_invitation" / "plan.csv").is_file()
    old_csv = folder / "campaign" / "rewards_invitation_1" / "plan.csv"
    assert old_csv.read_bytes() == (runs.folder / "campaign" / "rewards_invitation_1" / "plan.csv").read_bytes()
    assert _plan_metadata(result)["rows_per_campaign"].value == {
        "rewards_invitation_1": len(runs.refreshed),
        "winter_invitation": len(runs.cohort),
    }


def test_bad_campaign_settings_fail_the_run_in_one_line_and_write_nothing(runs: Runs, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    shutil.copytree(runs.folder, folder)
    files = {p: p.read_bytes() for p in (folder / "campaign").rglob("*") if p.is_file()}
    before = _table(folder, "SELECT * FROM campaign_plan ORDER BY campaign_id, user_id")
    resources = {
        "source": TravelTideSource(embedded_dir=str(folder / "source")),
        "warehouse": Warehouse.in_folder(folder),
        "study": StudySettings(),
    }
    bad = {"resources": {"campaign": {"config": {"personalised_share": 0.7}}}}
    result = execute(run_config=bad, resources=resources)
    assert not result.success
    assert not result.get_asset_materialization_events()
    message = failure_message(result)
    assert message.splitlines() == [message]
    assert "invalid CampaignSettings: the arm shares must sum to 1, got 0.7 + 0.2 + 0.2 = 1.1" in message
    assert {p: p.read_bytes() for p in (folder / "campaign").rglob("*") if p.is_file()} == files
    pd.testing.assert_frame_equal(_table(folder, "SELECT * FROM campaign_plan ORDER BY campaign_id, user_id"), before)


def test_bad_campaign_settings_on_a_fresh_folder_create_nothing(tmp_path: Path) -> None:
    resources = {
        "source": TravelTideSource(embedded_dir=str(tmp_path / "no-source")),
        "warehouse": Warehouse.in_folder(tmp_path / "data"),
        "study": StudySettings(),
    }
    result = execute(run_config={"resources": {"campaign": {"config": {"campaign_id": "Bad/Id"}}}}, resources=resources)
    assert not result.success
    assert "invalid CampaignSettings: campaign_id must be" in failure_message(result).splitlines()[0]
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "no-source").exists()
