"""The sessions' content, bookings, cancellations, flights and hotels, drawn from each user's behaviour in a fixed
order on one generator: the sessions table, and the flights and hotels tables of the trips they booked.

What a session holds is drawn in sessions.py, the trips in trips.py; this module keeps the order of the draws
(every draw after a changed one would change too) and assembles the three tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from traveltide_assets.sources import contract as schema
from traveltide_assets.synthetic.behaviour import UserBehaviour
from traveltide_assets.synthetic.columns import US_PER_MINUTE, prefixed_ids, timestamps, to_decimal
from traveltide_assets.synthetic.reference import Reference
from traveltide_assets.synthetic.sessions import (
    Cancellations,
    Offers,
    draw_booked,
    draw_cancellations,
    draw_clicks,
    draw_minutes,
    draw_offers,
)
from traveltide_assets.synthetic.trips import FLIGHT_ONLY, HOTEL_ONLY, Trips, draw_trips


@dataclass(frozen=True)
class Bookings:
    sessions: pa.Table
    flights: pa.Table
    hotels: pa.Table


def draw_bookings(
    rng: np.random.Generator,
    ref: Reference,
    session_user: np.ndarray,
    session_start: np.ndarray,
    home: np.ndarray,
    behaviour: UserBehaviour,
    data_end: int,
) -> Bookings:
    """Bookings of the sessions; `data_end` (µs since epoch) is when the source's sessions stop."""
    u = session_user
    offers = draw_offers(rng, u, behaviour)
    booked = draw_booked(rng, u, offers, behaviour)
    bi = np.flatnonzero(booked)  # booking sessions
    bu = u[bi]
    kind = np.argmax(behaviour.type_logits[bu] + rng.gumbel(size=(bi.size, 3)), axis=1)
    minutes = draw_minutes(rng, u, bi, kind, behaviour)
    booked_at = session_start[bi] + (minutes[bi] * US_PER_MINUTE).astype(np.int64)
    trip = draw_trips(rng, ref, bu, kind, booked_at, home, behaviour)
    cancellations = draw_cancellations(rng, bi, u, booked, trip.leave_time, session_start, minutes, behaviour, data_end)
    start = session_start.copy()
    start[cancellations.session] = cancellations.start
    minutes[cancellations.session] = cancellations.minutes
    clicks = draw_clicks(rng, minutes, cancellations)
    end = start + np.round(minutes * US_PER_MINUTE).astype(np.int64)
    trip_ids = prefixed_ids(rng, bu)
    session_ids = prefixed_ids(rng, u)
    sessions = _sessions_table(session_ids, u, trip_ids, bi, kind, (start, end), clicks, offers, cancellations)
    return Bookings(
        sessions=sessions,
        flights=flights_table(trip, trip_ids, kind != HOTEL_ONLY, ref, home[bu]),
        hotels=hotels_table(trip, trip_ids, kind != FLIGHT_ONLY, ref),
    )


def _sessions_table(
    session_ids: pa.Array,
    u: np.ndarray,
    trip_ids: pa.Array,
    bi: np.ndarray,
    kind: np.ndarray,
    start_end: tuple[np.ndarray, np.ndarray],
    clicks: np.ndarray,
    offers: Offers,
    cancellations: Cancellations,
) -> pa.Table:
    """The sessions table: booking sessions (`bi`, of booking `kind`) name their trip, cancellations the trip they
    cancel, and carry every flag but no discount amount."""
    n_sessions = u.size
    session_trip = np.full(n_sessions, -1, dtype=np.int64)
    session_trip[bi] = np.arange(bi.size)
    session_trip[cancellations.session] = cancellations.booking
    is_cancel = np.zeros(n_sessions, dtype=bool)
    is_cancel[cancellations.session] = True
    flight_booked = np.zeros(n_sessions, dtype=bool)
    hotel_booked = np.zeros(n_sessions, dtype=bool)
    flight_booked[bi] = kind != HOTEL_ONLY
    hotel_booked[bi] = kind != FLIGHT_ONLY
    # Cancellations carry every flag, and no discount amount.
    flight_booked, hotel_booked = flight_booked | is_cancel, hotel_booked | is_cancel
    flight_disc, hotel_disc = offers.flight | is_cancel, offers.hotel | is_cancel
    start, end = start_end
    return pa.table(
        {
            "session_id": session_ids,
            "user_id": pa.array(u.astype(np.int32)),
            "trip_id": trip_ids.take(pa.array(session_trip, mask=session_trip < 0)),
            "session_start": timestamps(start),
            "session_end": timestamps(end),
            "flight_discount": pa.array(flight_disc),
            "hotel_discount": pa.array(hotel_disc),
            "flight_discount_amount": to_decimal(
                offers.flight_amount, schema.SESSIONS, "flight_discount_amount", ~flight_disc | is_cancel
            ),
            "hotel_discount_amount": to_decimal(
                offers.hotel_amount, schema.SESSIONS, "hotel_discount_amount", ~hotel_disc | is_cancel
            ),
            "flight_booked": pa.array(flight_booked),
            "hotel_booked": pa.array(hotel_booked),
            "page_clicks": pa.array(clicks),
            "cancellation": pa.array(is_cancel),
        },
        schema=schema.SESSIONS.arrow_schema,
    )


def flights_table(trip: Trips, trip_ids: pa.Array, rows: np.ndarray, ref: Reference, home: np.ndarray) -> pa.Table:
    """The flights of the trips where `rows`; `home` is each trip's user's home airport."""
    idx = np.flatnonzero(rows)
    dest = trip.destination[idx]
    one_way = ~trip.has_return[idx]
    f = schema.FLIGHTS
    return pa.table(
        {
            "trip_id": trip_ids.take(pa.array(idx)),
            "origin_airport": pa.array(ref.home.iata[home[idx]], pa.string()),
            "destination": pa.array(ref.destinations.city[dest], pa.string()),
            "destination_airport": pa.array(ref.destinations.iata[dest], pa.string()),
            "seats": pa.array(trip.seats[idx].astype(np.int32)),
            "return_flight_booked": pa.array(trip.has_return[idx]),
            "departure_time": timestamps(trip.leave_time[idx]),
            "return_time": timestamps(trip.return_time[idx], mask=one_way),
            "checked_bags": pa.array(trip.bags[idx].astype(np.int32)),
            "trip_airline": pa.array(ref.airlines[trip.airline[idx]], pa.string()),
            "destination_airport_lat": to_decimal(ref.destinations.lat[dest], f, "destination_airport_lat"),
            "destination_airport_lon": to_decimal(ref.destinations.lon[dest], f, "destination_airport_lon"),
            "base_fare_usd": to_decimal(trip.fare[idx], f, "base_fare_usd"),
        },
        schema=f.arrow_schema,
    )


def hotels_table(trip: Trips, trip_ids: pa.Array, rows: np.ndarray, ref: Reference) -> pa.Table:
    """The hotel stays of the trips where `rows`."""
    idx = np.flatnonzero(rows)
    names = ref.brand_label[trip.brand[idx]] + " - " + ref.destinations.city[trip.destination[idx]]
    return pa.table(
        {
            "trip_id": trip_ids.take(pa.array(idx)),
            "hotel_name": pa.array(names, pa.string()),
            "nights": pa.array(trip.nights[idx].astype(np.int32)),
            "rooms": pa.array(trip.rooms[idx].astype(np.int32)),
            "check_in_time": timestamps(trip.check_in[idx]),
            "check_out_time": timestamps(trip.check_out[idx]),
            "hotel_per_room_usd": to_decimal(trip.room_price[idx], schema.HOTELS, "hotel_per_room_usd"),
        },
        schema=schema.HOTELS.arrow_schema,
    )
