"""The perks stage alone (defs/perks/: evidence, probabilities, scores, assignments, summary), materialised
in-process on the cohort and features of the hand-made customers (hand_made_customers.py) and hand-made segments:
the evidence is counted by hand, and the assignments follow from the probabilities and PerkModelSettings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dagster import materialize

from traveltide_assets.defs.cohort.assets import session_cohort
from traveltide_assets.defs.features.assets import user_features
from traveltide_assets.defs.perks.assets import perk_assignments, perk_scores, perk_summary
from traveltide_assets.defs.perks.probabilities import PROBABILITY_COLUMNS, perk_evidence, perk_probabilities
from traveltide_assets.defs.perks.settings import PerkModelSettings
from traveltide_assets.lib.catalog import PERKS
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets_tests.hand_made import RAW_DDL, read_table, warehouse_with
from traveltide_assets_tests.hand_made_customers import (
    BAG_CARRIER,
    BOOKER,
    HOTEL_DISCOUNT_BROWSES,
    JUST_ENOUGH,
    SESSIONS_AFTER_START,
    STUDY,
    raw_rows,
    trips_of,
)

COHORT = (BOOKER, JUST_ENOUGH, BAG_CARRIER)
SEGMENTS = {BOOKER: 0, JUST_ENOUGH: 1, BAG_CARRIER: 0}
PERK_MODEL = PerkModelSettings()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The hand-made customers' cohort and features (their own stage), hand-made segments, then the perks stage."""
    warehouse = warehouse_with(tmp_path_factory.mktemp("perks") / "data", ddl=RAW_DDL, rows=raw_rows())
    assert materialize([session_cohort, user_features], resources={"warehouse": warehouse, "study": STUDY}).success
    segments = pd.DataFrame({"user_id": list(SEGMENTS), "segment": list(SEGMENTS.values())})
    with warehouse.connect() as con:
        con.from_df(segments).create("user_segments")
    perks = [perk_evidence, perk_probabilities, perk_scores, perk_assignments, perk_summary]
    assert materialize(perks, resources={"warehouse": warehouse, "perk_model": PERK_MODEL}).success
    return warehouse


def _expected_evidence(user: int) -> dict[str, int]:
    """What perk_evidence counts (sql/perks/perk_evidence.sql), from the customer's hand-made rows."""
    booked = trips_of(user)
    travelled = [trip for trip in booked if trip.travelled]
    flown = [trip for trip in travelled if trip.fare is not None]
    stays = [trip for trip in travelled if trip.nights is not None]
    cancellations = len(booked) - len(travelled)  # one cancelling session per cancelled trip
    return {
        "bookings": len(booked),
        "bundle_bookings": sum(t.fare is not None and t.nights is not None for t in booked),
        "flight_only_bookings": sum(t.fare is not None and t.nights is None for t in booked),
        "hotel_only_bookings": sum(t.fare is None and t.nights is not None for t in booked),
        "cancelled_bookings": cancellations,
        "discounted_bookings": sum(t.flight_discount is not None for t in booked),
        "browsing_sessions": SESSIONS_AFTER_START[user] - len(booked) - cancellations,
        "discounted_browsing_sessions": sum(u == user for u, _ in HOTEL_DISCOUNT_BROWSES),
        "flights": len(flown),
        "flights_with_bags": sum(t.bags > 0 for t in flown),
        "room_stays": len(stays),
        "extra_rooms": sum(t.rooms - 1 for t in stays),
    }


@pytest.mark.parametrize("user", COHORT)
def test_evidence_counts_what_each_customer_did(user: int, warehouse: Warehouse) -> None:
    evidence = read_table(warehouse, "perk_evidence").set_index("user_id")
    assert sorted(evidence.index) == sorted(COHORT)
    row = evidence.loc[user]
    for name, expected in _expected_evidence(user).items():
        assert row[name] == expected, name


def test_every_customer_gets_probabilities_that_sum_to_one(warehouse: Warehouse) -> None:
    probabilities = read_table(warehouse, "perk_probabilities")
    assert sorted(probabilities["user_id"]) == sorted(COHORT)
    assert probabilities[list(PROBABILITY_COLUMNS)].sum(axis=1).to_numpy() == pytest.approx(np.ones(len(COHORT)))


def test_the_favourite_is_the_most_probable_perk_in_its_confidence_band(warehouse: Warehouse) -> None:
    probabilities = read_table(warehouse, "perk_probabilities").set_index("user_id")
    assignments = read_table(warehouse, "perk_assignments").set_index("user_id")
    assert sorted(assignments.index) == sorted(COHORT)
    for user in COHORT:
        p = probabilities.loc[user, list(PROBABILITY_COLUMNS)].to_numpy(dtype=float)
        row = assignments.loc[user]
        assert row["favourite_perk"] == PERKS[int(np.argmax(p))]
        assert row["probability"] == pytest.approx(p.max())
        assert row["confidence"] == PERK_MODEL.band(p.max())
        assert row["segment"] == SEGMENTS[user]


def test_scores_are_standardised_over_the_cohort(warehouse: Warehouse) -> None:
    scores = read_table(warehouse, "perk_scores")
    assert sorted(scores["user_id"]) == sorted(COHORT)
    for perk in PERKS:
        assert scores[f"score_{perk}"].mean() == pytest.approx(0.0, abs=1e-9), perk


def test_summary_counts_favourites_overall_and_per_segment(warehouse: Warehouse) -> None:
    assignments = read_table(warehouse, "perk_assignments")
    summary = read_table(warehouse, "perk_summary")
    overall = summary[summary["segment"].isna()].set_index("favourite_perk")["users"]
    assert overall.to_dict() == assignments["favourite_perk"].value_counts().to_dict()
    per_segment = summary.dropna(subset=["segment"]).groupby("segment")["users"].sum()
    assert per_segment.to_dict() == pd.Series(SEGMENTS).value_counts().to_dict()
