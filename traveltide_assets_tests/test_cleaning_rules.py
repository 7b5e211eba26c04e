"""The cohort rule and each cleaning rule of sql/cohort/session_cohort.sql on small hand-made tables."""

from __future__ import annotations

import duckdb
import pytest

from traveltide_assets.sql_files import read_sql
from traveltide_assets_tests.hand_made import RAW_DDL


def _session(
    sid: str,
    user: int,
    day: int,
    trip: str | None = None,
    flight: bool = False,
    hotel: bool = False,
    cancel: bool = False,
    clicks: int = 10,
) -> str:
    trip_sql = f"'{trip}'" if trip else "NULL"
    flag = "true" if cancel else "false"
    return (
        f"('{sid}', {user}, {trip_sql}, TIMESTAMP '2023-02-01 10:00' + INTERVAL {day} DAY, "
        f"TIMESTAMP '2023-02-01 10:05' + INTERVAL {day} DAY, {flag}, {flag}, NULL, NULL, "
        f"{str(flight or cancel).lower()}, {str(hotel or cancel).lower()}, {clicks}, {flag})"
    )


@pytest.fixture
def cohort() -> dict[str, dict]:
    con = duckdb.connect()
    con.execute(RAW_DDL).fetchall()
    con.execute(
        "INSERT INTO raw_users VALUES (1, DATE '1990-01-01', 'F', true, false, 'usa', 'new york', 'JFK', 40.6, -73.8, "
        "DATE '2022-01-01'), (2, DATE '1980-01-01', 'M', false, false, 'usa', 'boston', 'BOS', 42.4, -71.0, "
        "DATE '2022-01-01')"
    ).fetchall()
    rows = [
        _session("1-book", 1, 0, "T1", flight=True, hotel=True),
        _session("1-cancel", 1, 1, "T1", cancel=True, clicks=5000),
        _session("1-book2", 1, 2, "T2", flight=True, hotel=True),
        _session("1-book3", 1, 3, "T3", flight=True),
        *(_session(f"1-browse{i}", 1, 4 + i) for i in range(5)),  # user 1: 9 sessions in the window
        *(_session(f"2-browse{i}", 2, i) for i in range(7)),  # user 2: 7 in the window ...
        "('2-old', 2, NULL, TIMESTAMP '2022-06-01', TIMESTAMP '2022-06-01 00:10', false, false, NULL, NULL, "
        "false, false, 3, false)",  # ... plus one before it: not enough
    ]
    con.execute("INSERT INTO raw_sessions VALUES " + ", ".join(rows)).fetchall()
    con.execute(
        """INSERT INTO raw_flights VALUES
        ('T1', 'JFK', 'miami', 'MIA', 1, true, TIMESTAMP '2023-03-01 09:00', TIMESTAMP '2023-03-04 15:00', 1,
         'Delta Air Lines', 25.8, -80.3, 300),
        ('T2', 'JFK', 'miami', 'MIA', 0, true, TIMESTAMP '2023-03-10 09:00', TIMESTAMP '2023-03-13 15:00', 2,
         'Delta Air Lines', 25.8, -80.3, 0),
        ('T3', 'JFK', 'boston', 'BOS', 1, false, TIMESTAMP '2023-03-20 09:00', NULL, 0,
         'JetBlue Airways', 42.4, -71.0, 120)"""
    ).fetchall()
    con.execute(
        """INSERT INTO raw_hotels VALUES
        ('T1', 'Hilton - miami', 3, 1, TIMESTAMP '2023-03-01 13:00', TIMESTAMP '2023-03-04 11:00', 150),
        ('T2', 'NH Hotel  - miami', 0, 0, TIMESTAMP '2023-03-10 13:00', TIMESTAMP '2023-03-10 11:00', 90)"""
    ).fetchall()
    table = con.sql(read_sql("cohort/session_cohort.sql"), params={"cohort_start": "2023-01-04", "min_sessions": 7})
    return {row["session_id"]: row for row in table.to_arrow_table().to_pylist()}


def test_cohort_rule_keeps_only_users_with_more_than_min_sessions_in_window(cohort: dict[str, dict]) -> None:
    assert {row["user_id"] for row in cohort.values()} == {1}
    assert len(cohort) == 9


def test_cancelled_trip_is_a_booking_but_not_travel(cohort: dict[str, dict]) -> None:
    booking, cancellation = cohort["1-book"], cohort["1-cancel"]
    assert booking["is_booking"] and not booking["is_travel"] and booking["rule_cancelled_trip_not_travel"]
    assert cancellation["is_cancellation"] and not cancellation["is_booking"]
    # The cancellation does not join the trip again, and its all-true discount flags are not offers.
    assert cancellation["destination"] is None and cancellation["hotel_name"] is None
    assert not cancellation["flight_discount_offered"] and cancellation["rule_cancellation_discount_flags_ignored"]


def test_nights_recomputed_from_dates_or_flights(cohort: dict[str, dict]) -> None:
    assert cohort["1-book"]["nights"] == 3  # consistent: kept
    bad = cohort["1-book2"]  # nights 0, check-out before check-in: the flights say 3 nights
    assert bad["nights"] == 3
    assert bad["rule_non_positive_nights"] and bad["rule_check_out_before_check_in"]


def test_zero_seats_rooms_fares_become_unknown_and_brands_are_trimmed(cohort: dict[str, dict]) -> None:
    row = cohort["1-book2"]
    assert row["seats"] is None and row["rooms"] is None and row["base_fare_usd"] is None
    assert row["rule_zero_seats"] and row["rule_zero_rooms"] and row["rule_zero_fare"]
    assert row["hotel_brand"] == "NH Hotel" and row["rule_hotel_brand_trimmed"]


def test_one_way_flight_and_click_outliers(cohort: dict[str, dict]) -> None:
    assert cohort["1-book3"]["rule_one_way_no_return_time"] and cohort["1-book3"]["booked_flight"]
    assert not cohort["1-book3"]["booked_hotel"]
    assert cohort["1-cancel"]["rule_page_clicks_capped"]
    assert cohort["1-cancel"]["page_clicks"] < 5000
