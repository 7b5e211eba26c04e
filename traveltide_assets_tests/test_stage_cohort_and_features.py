"""The cohort and features stages alone (defs/cohort/, defs/features/), materialised in-process on hand-made raw
tables: six customers around the cohort definition (hand_made_customers.py), so that membership, the cleaning
and every feature checked here can be counted by hand."""

from __future__ import annotations

import statistics
from pathlib import Path

import pandas as pd
import pytest
from dagster import ExecuteInProcessResult, materialize

from traveltide_assets.defs.cohort.assets import session_cohort
from traveltide_assets.defs.features.assets import user_features
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets_tests.hand_made import RAW_DDL, read_table, warehouse_with
from traveltide_assets_tests.hand_made_customers import (
    BAG_CARRIER,
    BIRTH_YEARS,
    BOOKER,
    HOTEL_DISCOUNT_BROWSES,
    JUST_ENOUGH,
    SESSIONS_AFTER_START,
    START,
    STUDY,
    TRIPS,
    raw_rows,
    trips_of,
)

# The cohort rule as docs/architecture.md states it: more than min_sessions sessions strictly after cohort_start.
COHORT = {user for user, sessions in SESSIONS_AFTER_START.items() if sessions > STUDY.min_sessions}


@pytest.fixture
def stage(tmp_path: Path) -> tuple[ExecuteInProcessResult, Warehouse]:
    warehouse = warehouse_with(tmp_path / "data", ddl=RAW_DDL, rows=raw_rows())
    result = materialize([session_cohort, user_features], resources={"warehouse": warehouse, "study": STUDY})
    return result, warehouse


def test_the_cohort_is_the_customers_with_more_than_min_sessions_after_the_start(
    stage: tuple[ExecuteInProcessResult, Warehouse],
) -> None:
    result, warehouse = stage
    assert result.success
    # ONE_SHORT, OLD_SESSIONS and AT_START have min_sessions sessions strictly after the start, and no more.
    assert {BOOKER, JUST_ENOUGH, BAG_CARRIER} == COHORT
    cohort = read_table(warehouse, "session_cohort")
    assert set(cohort["user_id"]) == COHORT
    assert cohort.groupby("user_id").size().to_dict() == {user: SESSIONS_AFTER_START[user] for user in COHORT}
    assert (cohort["session_start"] > pd.Timestamp(START)).all()
    metadata = result.asset_materializations_for_node("session_cohort")[0].metadata
    assert metadata["cohort_users"].value == len(COHORT)
    assert metadata["cohort_sessions"].value == sum(SESSIONS_AFTER_START[user] for user in COHORT)


def test_a_cancelled_trip_is_a_booking_but_not_travel(stage: tuple[ExecuteInProcessResult, Warehouse]) -> None:
    result, warehouse = stage
    cancelled = [trip.trip_id for trip in TRIPS if not trip.travelled]
    cohort = read_table(warehouse, "session_cohort")
    booking = cohort[cohort["trip_id"].isin(cancelled) & ~cohort["is_cancellation"]]
    assert len(booking) == len(cancelled) and booking["is_booking"].all() and not booking["is_travel"].any()
    metadata = result.asset_materializations_for_node("session_cohort")[0].metadata
    assert metadata["cleaning/cancellation_not_a_booking"].value == len(cancelled)
    assert metadata["cleaning/cancelled_trip_not_travel"].value == len(cancelled)
    assert metadata["cleaning/page_clicks_capped"].value == 0  # every session has the same clicks


def _expected_features(user: int) -> dict[str, float | int | None]:
    """The features docs/features.md defines, counted from the customer's hand-made rows."""
    sessions = SESSIONS_AFTER_START[user]
    booked = trips_of(user)
    travelled = [trip for trip in booked if trip.travelled]
    flown = [trip for trip in travelled if trip.fare is not None]
    stayed = [trip for trip in travelled if trip.nights is not None]
    cancellations = len(booked) - len(travelled)
    offers = sum(trip.flight_discount is not None for trip in booked)
    offers += sum(u == user for u, _ in HOTEL_DISCOUNT_BROWSES)
    return {
        "age": START.year - BIRTH_YEARS[user],  # date_diff('year', ...): the calendar years between
        "sessions": sessions,
        "bookings": len(booked),
        "trips": len(travelled),
        "flights": len(flown),
        "hotels": len(stayed),
        "cancellations": cancellations,
        "booking_rate": len(booked) / sessions,
        "cancellation_rate": cancellations / max(len(booked), 1),
        "avg_fare_usd": statistics.mean(t.fare for t in flown) if flown else None,
        "avg_nights": statistics.mean(t.nights for t in stayed) if stayed else None,
        "dollars_saved_usd": sum(t.fare * t.flight_discount for t in travelled if t.flight_discount),
        "discount_offered_rate": offers / (sessions - cancellations),  # cancellations are not offers
        "bags_per_seat": statistics.mean(t.bags / t.seats for t in flown) if flown else None,
    }


@pytest.mark.parametrize("user", [BOOKER, JUST_ENOUGH, BAG_CARRIER])
def test_features_count_what_each_customer_did(user: int, stage: tuple[ExecuteInProcessResult, Warehouse]) -> None:
    _, warehouse = stage
    features = read_table(warehouse, "user_features").set_index("user_id")
    assert set(features.index) == COHORT  # one row per cohort customer
    row = features.loc[user]
    for name, expected in _expected_features(user).items():
        if expected is None:
            assert pd.isna(row[name]), name
        else:
            assert row[name] == pytest.approx(expected), name


def test_features_metadata_summarises_the_cohort(stage: tuple[ExecuteInProcessResult, Warehouse]) -> None:
    result, _ = stage
    metadata = result.asset_materializations_for_node("user_features")[0].metadata
    expected = [_expected_features(user) for user in COHORT]
    assert metadata["mean_sessions"].value == pytest.approx(statistics.mean(e["sessions"] for e in expected))
    assert metadata["mean_trips"].value == pytest.approx(statistics.mean(e["trips"] for e in expected))
