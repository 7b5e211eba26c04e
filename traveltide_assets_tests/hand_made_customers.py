"""Six customers' raw rows (raw_users, raw_sessions, raw_flights, raw_hotels), made by hand so that their cohort
membership, features and perk evidence can be counted from the definitions below.

Around the study's cohort definition (StudySettings' defaults: sessions strictly after cohort_start, customers with
more than min_sessions of them), all sessions at 10:00 on the days after the cohort start:
  BOOKER        min_sessions + 2 sessions: trips T1 (flight and hotel, a flight discount), T2 (flight only) and T3
                (hotel only, cancelled by a later session), a browse with a hotel discount offered, the rest browsing
  JUST_ENOUGH   min_sessions + 1 browsing sessions
  ONE_SHORT     exactly min_sessions: not more than it
  OLD_SESSIONS  min_sessions after the cohort start, and three sessions before it
  AT_START      min_sessions after the cohort start, and one at the cohort start itself (not after it)
  BAG_CARRIER   min_sessions + 3 sessions: trips T4 and T5 (flight and hotel, with checked bags)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from traveltide_assets.defs.cohort.settings import StudySettings

STUDY = StudySettings()
START = dt.datetime.fromisoformat(STUDY.cohort_start)
BOOKER, JUST_ENOUGH, ONE_SHORT, OLD_SESSIONS, AT_START, BAG_CARRIER = 1, 2, 3, 4, 5, 6
SESSIONS_AFTER_START = {
    BOOKER: STUDY.min_sessions + 2,
    JUST_ENOUGH: STUDY.min_sessions + 1,
    ONE_SHORT: STUDY.min_sessions,
    OLD_SESSIONS: STUDY.min_sessions,
    AT_START: STUDY.min_sessions,
    BAG_CARRIER: STUDY.min_sessions + 3,
}
SESSIONS_BEFORE_START = {OLD_SESSIONS: 3}
SESSIONS_AT_START = {AT_START: 1}
BIRTH_YEARS = {BOOKER: 1990, JUST_ENOUGH: 1985, ONE_SHORT: 1979, OLD_SESSIONS: 2000, AT_START: 1995, BAG_CARRIER: 1970}
CLICKS = 12  # every session: no click outlier to cap
MINUTES = 5  # every session lasts this long
HOME = ("usa", "new york", "JFK", 40.64, -73.78)
DESTINATION = ("miami", "MIA", 25.79, -80.29)


@dataclass(frozen=True)
class Trip:
    trip_id: str
    user: int
    day: int  # the booking session's day after the cohort start
    fare: float | None = None  # a flight's base fare (None: no flight)
    seats: int = 1
    bags: int = 0
    nights: int | None = None  # a hotel stay's nights (None: no hotel)
    rooms: int = 1
    room_price: float = 100.0
    flight_discount: float | None = None  # offered in the booking session
    cancelled_on: int | None = None  # day of the session that cancels it

    @property
    def travelled(self) -> bool:
        return self.cancelled_on is None


TRIPS = (
    Trip("T1", BOOKER, 1, fare=400.0, seats=2, bags=2, nights=3, room_price=120.0, flight_discount=0.10),
    Trip("T2", BOOKER, 2, fare=150.0),
    Trip("T3", BOOKER, 3, nights=2, rooms=2, room_price=90.0, cancelled_on=4),
    Trip("T4", BAG_CARRIER, 1, fare=300.0, bags=1, nights=4, room_price=200.0),
    Trip("T5", BAG_CARRIER, 2, fare=500.0, seats=2, bags=3, nights=2, rooms=2, room_price=100.0),
)
HOTEL_DISCOUNT_BROWSES = {(BOOKER, 5): 0.15}  # (user, day): hotel discount offered in a session that books nothing


def at(day: int, hour: int = 10) -> dt.datetime:
    return START + dt.timedelta(days=day, hours=hour)


def trips_of(user: int) -> list[Trip]:
    return [trip for trip in TRIPS if trip.user == user]


def raw_rows() -> dict[str, list[tuple]]:
    """The four raw tables' rows, in the column order of hand_made.RAW_DDL."""
    users = [
        (u, dt.date(year, 6, 15), "F" if u % 2 else "M", False, False, *HOME, dt.date(2022, 1, 1))
        for u, year in BIRTH_YEARS.items()
    ]
    sessions = [row for user in SESSIONS_AFTER_START for row in _sessions(user)]
    flights = [_flight(trip) for trip in TRIPS if trip.fare is not None]
    hotels = [_hotel(trip) for trip in TRIPS if trip.nights is not None]
    return {"raw_users": users, "raw_sessions": sessions, "raw_flights": flights, "raw_hotels": hotels}


def _sessions(user: int) -> list[tuple]:
    booked = {trip.day: trip for trip in trips_of(user)}
    cancelled = {trip.cancelled_on: trip for trip in trips_of(user) if trip.cancelled_on is not None}
    starts = [at(day) for day in range(1, SESSIONS_AFTER_START[user] + 1)]
    starts += [at(-10 - i) for i in range(SESSIONS_BEFORE_START.get(user, 0))]
    starts += [START] * SESSIONS_AT_START.get(user, 0)
    rows = []
    for n, start in enumerate(starts):
        day = (start - START).days if start > START else None
        rows.append(_session(f"{user}-{n}", user, start, booked.get(day), cancelled.get(day), (user, day)))
    return rows


def _session(
    session_id: str, user: int, start: dt.datetime, booking: Trip | None, cancels: Trip | None, key: tuple
) -> tuple:
    end = start + dt.timedelta(minutes=MINUTES)
    if cancels is not None:  # a cancellation carries every flag and no discount amount, as in the real data
        return (session_id, user, cancels.trip_id, start, end, True, True, None, None, True, True, CLICKS, True)
    hotel_discount = HOTEL_DISCOUNT_BROWSES.get(key)
    if booking is None:
        return (session_id, user, None, start, end, False, hotel_discount is not None, None, hotel_discount,
                False, False, CLICKS, False)  # fmt: skip
    discount = booking.flight_discount
    return (session_id, user, booking.trip_id, start, end, discount is not None, False, discount, None,
            booking.fare is not None, booking.nights is not None, CLICKS, False)  # fmt: skip


def _departure(trip: Trip) -> dt.datetime:
    return at(trip.day + 20, hour=9)


def _flight(trip: Trip) -> tuple:
    back = _departure(trip) + dt.timedelta(days=trip.nights or 3, hours=6)
    city, airport, lat, lon = DESTINATION
    return (trip.trip_id, HOME[2], city, airport, trip.seats, True, _departure(trip), back, trip.bags,
            "Delta Air Lines", lat, lon, trip.fare)  # fmt: skip


def _hotel(trip: Trip) -> tuple:
    assert trip.nights is not None
    check_in = _departure(trip) + dt.timedelta(hours=4)
    check_out = check_in.replace(hour=11) + dt.timedelta(days=trip.nights)
    return (trip.trip_id, f"Hilton - {DESTINATION[0]}", trip.nights, trip.rooms, check_in, check_out, trip.room_price)
