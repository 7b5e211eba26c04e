"""Every asset check fails on data that breaks its rule, and a failing blocking check stops what is below it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from traveltide_assets.definitions import defs
from traveltide_assets.defs.campaign import checks as campaign
from traveltide_assets.defs.checks import count_violations
from traveltide_assets.defs.cohort import checks as cohort
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.features import checks as features
from traveltide_assets.defs.perks import checks as perks
from traveltide_assets.defs.raw import checks as raw
from traveltide_assets.defs.raw.source_check import SOURCE_HAS_EXPECTED_COLUMNS
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import write_parquet_store
from traveltide_assets_tests.pipeline_harness import ASSET_TABLES, parquet_digest, run_graph

FIRST = "(SELECT min({key}) FROM {table})"

BREAKS: dict[str, str] = {
    "users_primary_key": "INSERT INTO raw_users SELECT * FROM raw_users LIMIT 1",
    "users_birthdate_plausible": "UPDATE raw_users SET birthdate = DATE '2090-01-01' WHERE user_id = "
    + FIRST.format(key="user_id", table="raw_users"),
    "sessions_primary_key": "INSERT INTO raw_sessions SELECT * FROM raw_sessions LIMIT 1",
    "sessions_have_known_users": "UPDATE raw_sessions SET user_id = -1 WHERE session_id = "
    + FIRST.format(key="session_id", table="raw_sessions"),
    "sessions_booked_trips_exist": "DELETE FROM raw_flights WHERE trip_id = (SELECT min(trip_id) FROM raw_sessions "
    "WHERE flight_booked AND NOT cancellation)",
    "sessions_discount_amounts_in_range": "UPDATE raw_sessions SET flight_discount_amount = 1.5 WHERE session_id = "
    + FIRST.format(key="session_id", table="raw_sessions"),
    "sessions_page_clicks_plausible": "UPDATE raw_sessions SET page_clicks = -3 WHERE session_id = "
    + FIRST.format(key="session_id", table="raw_sessions"),
    "sessions_not_in_future": "UPDATE raw_sessions SET session_start = TIMESTAMP '2099-01-01' WHERE session_id = "
    + FIRST.format(key="session_id", table="raw_sessions"),
    "flights_primary_key": "INSERT INTO raw_flights SELECT * FROM raw_flights LIMIT 1",
    "flights_values_in_range": "UPDATE raw_flights SET base_fare_usd = -10 WHERE trip_id = "
    + FIRST.format(key="trip_id", table="raw_flights"),
    "hotels_primary_key": "INSERT INTO raw_hotels SELECT * FROM raw_hotels LIMIT 1",
    "hotels_values_in_range": "UPDATE raw_hotels SET nights = 1000 WHERE trip_id = "
    + FIRST.format(key="trip_id", table="raw_hotels"),
    "cohort_rule_holds": "DELETE FROM session_cohort WHERE session_id IN (SELECT session_id FROM session_cohort "
    "WHERE user_id = (SELECT min(user_id) FROM session_cohort) LIMIT 4)",
    "cohort_nights_clean": "UPDATE session_cohort SET nights = -1 WHERE session_id = "
    + FIRST.format(key="session_id", table="session_cohort"),
    "features_one_row_per_cohort_user": "DELETE FROM user_features WHERE user_id = "
    + FIRST.format(key="user_id", table="user_features"),
    "features_in_range": "UPDATE user_features SET age = 150 WHERE user_id = "
    + FIRST.format(key="user_id", table="user_features"),
    "scores_finite": "UPDATE perk_scores SET score_free_hotel_meal = 'nan'::double WHERE user_id = "
    + FIRST.format(key="user_id", table="perk_scores"),
    "probabilities_sum_to_one": "UPDATE perk_probabilities SET p_free_hotel_meal = p_free_hotel_meal + 0.5 "
    "WHERE user_id = " + FIRST.format(key="user_id", table="perk_probabilities"),
    "one_valid_assignment_per_cohort_user": "UPDATE perk_assignments SET favourite_perk = 'free_spa' WHERE user_id = "
    + FIRST.format(key="user_id", table="perk_assignments"),
    "plan_covers_cohort": "DELETE FROM campaign_plan WHERE user_id = "
    + FIRST.format(key="user_id", table="campaign_plan"),
    "one_valid_plan_row_per_customer": "UPDATE campaign_plan SET email_perk = favourite_perk WHERE arm = 'random_perk' "
    "AND user_id = (SELECT min(user_id) FROM campaign_plan WHERE arm = 'random_perk')",
}


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("good_run")
    write_parquet_store(generate_source(GeneratorConfig(users=20_000, seed=8)), folder / "source")
    result = run_graph(TravelTideSource(embedded_dir=str(folder / "source")), Warehouse.in_folder(folder))
    assert result.success
    return folder


# Every SQL check of every stage, by name (the sign-ups' check is tested with the campaign loop).
SPECS = {spec.name: spec for stage in (raw, cohort, features, perks, campaign) for spec in stage.CHECKS}


def test_every_check_has_a_breaking_case() -> None:
    assert set(BREAKS) == set(SPECS)
    # The checks written in Python: the sign-ups' rules, and the source's columns (test_schema_drift.py).
    named = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert set(SPECS) == named - {"campaign_signups_valid", SOURCE_HAS_EXPECTED_COLUMNS}


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_check_fails_on_data_that_breaks_its_rule(check: str, good_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(good_run / "warehouse.duckdb", copy)
    warehouse = Warehouse(path=str(copy), parquet_dir=str(tmp_path / "parquet"))
    assert count_violations(warehouse, StudySettings(), SPECS[check])[0] == 0
    with duckdb.connect(str(copy)) as con:
        con.execute(BREAKS[check]).fetchall()
    violations, sample = count_violations(warehouse, StudySettings(), SPECS[check])
    assert violations > 0
    assert sample  # the rows at fault are shown


def test_failing_blocking_check_stops_downstream_and_keeps_outputs(good_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(good_run, folder)
    warehouse = Warehouse.in_folder(folder)
    before = {t: parquet_digest(warehouse, t) for t in ASSET_TABLES}
    # A cohort customer's sessions turn out to belong to a user id the users table does not have (only the
    # cohort's rows are extracted, so the unknown user must be heavy enough to be in it).
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        member, window_sessions = con.execute(
            "SELECT user_id, count(*) FROM raw_sessions GROUP BY ALL ORDER BY user_id LIMIT 1"
        ).fetchall()[0]
    sessions_path = folder / "source" / "sessions.parquet"
    sessions = pq.read_table(sessions_path)
    user_ids = pc.if_else(pc.equal(sessions["user_id"], member), 99_999_999, sessions["user_id"])
    pq.write_table(sessions.set_column(1, "user_id", user_ids.cast(pa.int32())), sessions_path)

    result = run_graph(TravelTideSource(embedded_dir=str(folder / "source")), warehouse)
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert [c.check_name for c in failed] == ["sessions_have_known_users"]
    assert f"raw_sessions.user_id: {window_sessions} rows" in (failed[0].description or "")
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "session_cohort" not in materialised and "perk_assignments" not in materialised
    for table in ASSET_TABLES:
        if table not in materialised:
            assert parquet_digest(warehouse, table) == before[table], table
