"""Sessions' content, bookings, cancellations, flights and hotels, drawn from each user's behaviour.

Real figures these draws are tuned to (shared/traveltide-schema.md): 42% of non-cancellation sessions
book (70% flight + hotel, 14.5% flight only, 15.3% hotel only); 1.7% of sessions cancel an earlier
booking; flight discounts are offered in ~17% and hotel discounts in ~12.5% of sessions. The shapes (session
length, clicks, discount sizes, bags, fares, stays) follow the real study cohort's rows, per user
(shared/real-cohort; `traveltide fidelity` measures the fit); where the cohort and the whole base differ, the
comments say which figure a parameter follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from traveltide_assets.sources import contract as schema
from traveltide_assets.synthetic.behaviour import UserBehaviour
from traveltide_assets.synthetic.columns import (
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_MINUTE,
    day_start,
    expit,
    prefixed_ids,
    timestamps,
    to_decimal,
)
from traveltide_assets.synthetic.reference import Reference

BUNDLE, FLIGHT_ONLY, HOTEL_ONLY = 0, 1, 2

FLIGHT_DISCOUNT_RATE = 0.17
HOTEL_DISCOUNT_RATE = 0.125
BOOKING_RATE = 0.475  # before the heavy-user damping below; overall rate lands near the real 42%
# Heavy users book a smaller share of their sessions: logit - BOOKING_DAMPING * log(sessions / 5.3). Real cohort
# (8-12 sessions): 33% of its sessions book; per user a logit-sd of BOOKING_SPREAD_LOGIT (real: 13.5% of the
# cohort's customers book no flight in the window, 24% book one in four sessions or fewer).
BOOKING_DAMPING = 1.0
BOOKING_SPREAD_LOGIT = 0.55
MAX_CLICKS = 2_421
MAX_SESSION_MINUTES = 120.0

# Session length, log-normal: median minutes of a session that books nothing and its log-sd beside the user's
# pace (behaviour.BROWSE_PACE_SPREAD). Real cohort: median 0.98 min, log-sd 0.82 in all; the median here is a
# little higher so that the cohort's per-user average minutes (real mean 2.88) and clicks (17.7) fit.
BROWSE_MINUTES = 1.04
BROWSE_SPREAD = 0.81
# Booking sessions by kind (bundle, flight only, hotel only): real cohort medians 2.85, 1.92 and 1.90 min,
# log-sd 0.45 in all.
BOOKING_MINUTES = (2.95, 2.0, 2.0)
BOOKING_SPREAD = 0.45
SECONDS_PER_CLICK = 7.5  # real cohort: 7.48 s a click on average
CLICK_PACE_SPREAD = 0.03  # log-sd of the seconds per click (real: 0.031)
# Cancellation sessions: clicks uniform below 200 or exactly 200 (41%); 120 clicks or more are recorded at the
# 120-minute cap (real: 59% of the cohort's cancellations at the cap). The real cohort's other cancellations
# mostly have no session_end at all (NULL, 36% of them), a quirk shared/traveltide-schema.md does not list and
# the source does not reproduce: here they last as long as their clicks take at the usual pace.
CANCEL_MAX_CLICKS = 200
CANCEL_CLICKS_AT_CAP = 0.41
CANCEL_CAPPED_FROM_CLICKS = 120
# Heavy users cancel a smaller share of their bookings: the cancellation probability is scaled by
# (sessions / 5.3) ** -CANCEL_DAMPING, with behaviour.cancel_p re-centred so that the whole base keeps its 1.7%
# of sessions; the real cohort (8-12 sessions) cancels in 1.2% of its sessions.
CANCEL_DAMPING = 0.9

# Discount amounts in steps of 0.05: one step with the first probability, else 1 + a geometric number of steps.
# Real cohort: flight 0.05 22%, 0.10 31%, then falling by ~0.58 a step (mean 0.142); hotel 0.05 31%, 0.10 37%,
# falling by ~0.47 (mean 0.112); both medians 0.10 as in the whole base.
FLIGHT_DISCOUNT_STEPS = (0.22, 0.42)
HOTEL_DISCOUNT_STEPS = (0.31, 0.55)

# USD per seat, leg and km: real cohort median 0.089; a little less fits the cohort's per-user average fares
# better (their median 390), at a whole-base median fare of ~365 (real 396).
FARE_PER_KM = 0.087
# Bags beyond the first on a flight that carries one: Poisson, this mean times sqrt(seats).
EXTRA_BAGS = 0.1
# Log-sd per trip, beside the user's behaviour.price_mult: the real cohort's fare per seat, leg and km varies
# little (5% and 95% at $0.080 and $0.099).
FARE_SPREAD = 0.074
# Nights of one stay: log-normal around the user's median (behaviour.NIGHTS_MEDIAN), log-sd 0.8 (0.85 with the
# users' spread). Real cohort: 22% one night, 13% eight or more; median 2-3 (whole base: 3).
NIGHTS_SPREAD = 0.8
# Destinations are drawn by popularity, less often the farther they are: the real cohort flies 95% of its trips
# under 4,000 km and 2.5% beyond 5,000 km (the popularity table alone: 84% and 12%).
FAR_KM = (4_000.0, 5_000.0)
FAR_ACCEPT = (0.45, 0.3)  # chance a drawn destination is kept between and beyond those distances
COMPANY_EXTRA_SEATS = 0.3  # Poisson mean of seats beyond the second on flights with company
HOTEL_PRICE_MEDIAN = 145.0  # USD per room and night before brand tier and abroad mark-up (real median 148)

# Data-quality quirks, as rates per row of the table they live in.
QUIRK_BAD_HOTEL_DATES = 0.012  # check-out on or before check-in, nights 0..-2
QUIRK_WRONG_NIGHTS = 0.004  # nights disagrees with the dates
QUIRK_ONE_WAY = 0.047  # return_flight_booked false, return_time NULL
QUIRK_ZERO_SEATS = 117 / 1_901_038
QUIRK_ZERO_ROOMS = 1e-4
QUIRK_ZERO_FARE = 1.5e-4
QUIRK_RUNAWAY_CLICKS = 2e-5  # sessions with 300-2,421 clicks


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
    n_sessions = u.size
    b = behaviour

    # Discounts offered, and their amounts in steps of 0.05 (median 0.10).
    flight_disc = rng.random(n_sessions) < FLIGHT_DISCOUNT_RATE * b.discount_seen_mult[u]
    hotel_disc = rng.random(n_sessions) < HOTEL_DISCOUNT_RATE * b.discount_seen_mult[u]
    flight_amount = 0.05 * np.minimum(_discount_steps(rng, n_sessions, *FLIGHT_DISCOUNT_STEPS), 17)
    hotel_amount = 0.05 * np.minimum(_discount_steps(rng, n_sessions, *HOTEL_DISCOUNT_STEPS), 13)

    # Booking: heavy browsers convert a smaller share of their sessions (the cohort books in ~1/3).
    sessions_per_user = np.bincount(u)
    offered = (flight_disc | hotel_disc).astype(np.float64)
    user_logit = np.log(BOOKING_RATE / (1 - BOOKING_RATE)) - BOOKING_DAMPING * np.log(sessions_per_user / 5.3)
    user_logit += BOOKING_SPREAD_LOGIT * rng.standard_normal(sessions_per_user.size)
    book_logit = user_logit[u] + b.discount_book_log[u] * (offered - 0.27)
    booked = rng.random(n_sessions) < expit(book_logit)

    bi = np.flatnonzero(booked)  # booking sessions
    bu = u[bi]
    kind = np.argmax(b.type_logits[bu] + rng.gumbel(size=(bi.size, 3)), axis=1)

    # Session length (minutes): log-normal, booking sessions longer and less varied (real cohort: medians 0.98
    # and 2.7 min, log-sd 0.82 and 0.45 including the users' own pace).
    median_minutes = np.full(n_sessions, BROWSE_MINUTES)
    median_minutes[bi] = np.asarray(BOOKING_MINUTES)[kind]
    spread = np.full(n_sessions, BROWSE_SPREAD)
    spread[bi] = BOOKING_SPREAD
    minutes = median_minutes * b.browse_mult[u] * np.exp(spread * rng.standard_normal(n_sessions))
    minutes = np.clip(minutes, 1 / 60, MAX_SESSION_MINUTES)

    trip = _draw_trips(
        rng,
        ref,
        bu,
        kind,
        session_start[bi] + (minutes[bi] * US_PER_MINUTE).astype(np.int64),
        home,
        behaviour,
    )

    # Cancellation: the user's next session, if it books nothing, becomes the cancellation of this trip,
    # re-timed to fall between the booking and the departure, and before the data end: the real sessions stop
    # on their last day, so a trip departing later was cancelled by then or not (yet) at all.
    # Heavy users cancel a smaller share of their bookings (CANCEL_DAMPING).
    cancel_p = behaviour.cancel_p * (sessions_per_user / 5.3) ** -CANCEL_DAMPING
    cancel = _draw_cancellations(rng, bi, u, booked, cancel_p, trip.leave_time, session_start, minutes)
    cancelled_by, cancel_session = cancel
    deadline = np.minimum(trip.leave_time[cancelled_by], data_end)
    gap = deadline - (session_start[bi[cancelled_by]] + US_PER_HOUR)
    offset = (rng.random(gap.size) * np.maximum(gap, 0)).astype(np.int64)
    # A cancellation takes up to 200 clicks, 41% of them exactly 200 (real cohort); past 120 clicks the session
    # is recorded at the 120-minute cap (59% of cancellations), shorter ones at the usual pace of clicking.
    cancel_clicks = np.where(
        rng.random(gap.size) < CANCEL_CLICKS_AT_CAP, CANCEL_MAX_CLICKS, rng.integers(0, CANCEL_MAX_CLICKS, gap.size)
    )
    cancel_minutes = np.where(
        cancel_clicks >= CANCEL_CAPPED_FROM_CLICKS,
        MAX_SESSION_MINUTES,
        np.maximum(cancel_clicks, 1) * SECONDS_PER_CLICK / 60,
    )
    # Booked in the data's last hour: no room for a cancellation, the session stays an ordinary one. (Filtered
    # after the draws, so that every later draw, and with it the rest of the data, is what it was.)
    keep = gap > 0
    cancelled_by, cancel_session = cancelled_by[keep], cancel_session[keep]
    start = session_start.copy()
    start[cancel_session] = session_start[bi[cancelled_by]] + US_PER_HOUR + offset[keep]
    minutes[cancel_session] = cancel_minutes[keep]

    # Clicks follow the session length closely: 7.5 s a click, log-sd 0.03 (real cohort, correlation 0.998).
    seconds_per_click = np.exp(np.log(SECONDS_PER_CLICK) + CLICK_PACE_SPREAD * rng.standard_normal(n_sessions))
    clicks = np.round(minutes * 60 / seconds_per_click)
    clicks[cancel_session] = cancel_clicks[keep]
    # Rare runaway sessions (bots, stuck pages) with hundreds to thousands of clicks: the whole base's outliers up
    # to 2,421; none among the real cohort's 49,211 sessions, so they are rare.
    runaway = rng.random(n_sessions) < QUIRK_RUNAWAY_CLICKS
    clicks[runaway] = rng.integers(300, MAX_CLICKS + 1, runaway.sum())
    clicks = np.minimum(clicks, MAX_CLICKS).astype(np.int32)
    end = start + np.round(minutes * US_PER_MINUTE).astype(np.int64)

    trip_ids = prefixed_ids(rng, bu)
    session_trip = np.full(n_sessions, -1, dtype=np.int64)
    session_trip[bi] = np.arange(bi.size)
    session_trip[cancel_session] = cancelled_by
    is_cancel = np.zeros(n_sessions, dtype=bool)
    is_cancel[cancel_session] = True

    flight_booked = np.zeros(n_sessions, dtype=bool)
    hotel_booked = np.zeros(n_sessions, dtype=bool)
    flight_booked[bi] = kind != HOTEL_ONLY
    hotel_booked[bi] = kind != FLIGHT_ONLY
    for flags in (flight_booked, hotel_booked, flight_disc, hotel_disc):
        flags[is_cancel] = True  # cancellations carry every flag, and no discount amount

    sessions = pa.table(
        {
            "session_id": prefixed_ids(rng, u),
            "user_id": pa.array(u.astype(np.int32)),
            "trip_id": trip_ids.take(pa.array(session_trip, mask=session_trip < 0)),
            "session_start": timestamps(start),
            "session_end": timestamps(end),
            "flight_discount": pa.array(flight_disc),
            "hotel_discount": pa.array(hotel_disc),
            "flight_discount_amount": to_decimal(
                flight_amount, schema.SESSIONS, "flight_discount_amount", ~flight_disc | is_cancel
            ),
            "hotel_discount_amount": to_decimal(
                hotel_amount, schema.SESSIONS, "hotel_discount_amount", ~hotel_disc | is_cancel
            ),
            "flight_booked": pa.array(flight_booked),
            "hotel_booked": pa.array(hotel_booked),
            "page_clicks": pa.array(clicks),
            "cancellation": pa.array(is_cancel),
        },
        schema=schema.SESSIONS.arrow_schema,
    )
    has_flight = kind != HOTEL_ONLY
    has_hotel = kind != FLIGHT_ONLY
    return Bookings(
        sessions=sessions,
        flights=_flights_table(trip, trip_ids, has_flight, ref, home[bu]),
        hotels=_hotels_table(trip, trip_ids, has_hotel, ref),
    )


@dataclass(frozen=True)
class _Trips:
    """One row per booking; flight columns are meaningful where a flight was booked, hotel ones likewise."""

    destination: np.ndarray  # index into ref.destinations
    leave_time: np.ndarray  # departure, or hotel check-in for hotel-only trips (µs)
    return_time: np.ndarray
    has_return: np.ndarray
    seats: np.ndarray
    bags: np.ndarray
    airline: np.ndarray
    fare: np.ndarray
    brand: np.ndarray
    nights: np.ndarray  # as recorded, quirks included
    rooms: np.ndarray
    check_in: np.ndarray
    check_out: np.ndarray
    room_price: np.ndarray


def _draw_trips(
    rng: np.random.Generator,
    ref: Reference,
    bu: np.ndarray,
    kind: np.ndarray,
    booked_at: np.ndarray,
    home: np.ndarray,
    b: UserBehaviour,
) -> _Trips:
    n = bu.size
    dest = _draw_destinations(rng, ref, home[bu])
    km = haversine_km(
        ref.home.lat[home[bu]], ref.home.lon[home[bu]], ref.destinations.lat[dest], ref.destinations.lon[dest]
    )

    # Departure (or check-in) day: some days to months ahead; flights leave between 05:00 and 23:00.
    lead_days = np.exp(np.log(b.lead_days_median[bu]) + 0.8 * rng.standard_normal(n))
    leave_day = day_start(booked_at + (lead_days * US_PER_DAY).astype(np.int64))
    leave = leave_day + rng.integers(5 * 60, 23 * 60, n) * US_PER_MINUTE
    too_soon = leave < booked_at + 2 * US_PER_HOUR
    leave[too_soon] += US_PER_DAY
    leave_day = day_start(leave)

    # Stay length: a few nights (median 3), bundles with a flight a little longer for some, rare long stays.
    median_nights = b.nights_median[bu] * np.where(kind == BUNDLE, b.bundle_nights_mult[bu], 1.0)
    true_nights = np.maximum(1, np.round(np.exp(np.log(median_nights) + NIGHTS_SPREAD * rng.standard_normal(n))))
    long_stay = rng.random(n) < 0.004
    true_nights[long_stay] = rng.integers(14, 108, long_stay.sum())
    true_nights = true_nights.astype(np.int64)

    # Hotel: check-in at 11:00 or later on the day of arrival, check-out at 11:00.
    check_in = np.clip(
        leave + rng.integers(60, 300, n) * US_PER_MINUTE,
        leave_day + 11 * US_PER_HOUR,
        leave_day + 23 * US_PER_HOUR + 59 * US_PER_MINUTE,
    )
    check_in[kind == HOTEL_ONLY] = (
        leave_day[kind == HOTEL_ONLY]
        + 11 * US_PER_HOUR
        + rng.integers(0, 11 * 60, (kind == HOTEL_ONLY).sum()) * US_PER_MINUTE
    )
    nights = true_nights.copy()
    bad_dates = rng.random(n) < QUIRK_BAD_HOTEL_DATES
    nights[bad_dates] = rng.choice([0, -1, -2], size=bad_dates.sum(), p=[0.75, 0.2, 0.05])
    check_out = day_start(check_in) + nights * US_PER_DAY + 11 * US_PER_HOUR
    wrong = ~bad_dates & (rng.random(n) < QUIRK_WRONG_NIGHTS)
    nights[wrong] += rng.choice([-1, 1, 2], size=wrong.sum())

    # Return flight on the check-out day (or after the stay for flight-only trips).
    return_day = leave_day + true_nights * US_PER_DAY
    ret = return_day + rng.integers(12 * 60, 23 * 60, n) * US_PER_MINUTE
    has_return = rng.random(n) >= QUIRK_ONE_WAY

    # Seats: one, or with company 2 + Poisson(0.3) (real cohort: 86% one seat; of the rest 74% two, 19% three).
    with_company = rng.random(n) < b.company_p[bu]
    seats = 1 + with_company * (1 + rng.poisson(COMPANY_EXTRA_SEATS, n))
    group = rng.random(n) < 0.0015
    seats[group] = rng.integers(4, 13, group.sum())
    seats = np.minimum(seats, 12)
    seats[rng.random(n) < QUIRK_ZERO_SEATS] = 0
    # More seats, more bags, but less than in proportion (real cohort: 0.55 bags with one seat, 0.67 with two,
    # 0.84 with three); longer stays a little more.
    bag_mean = b.bags_mean[bu] * np.maximum(seats, 1) ** 0.3 * (1 + 0.015 * (np.minimum(true_nights, 20) - 3))
    # Bags: a first bag with the user's chance, then rarely more (real flights carry 0 bags 48%, 1 bag 47%, 2 or
    # more 5%; 6% of the cohort's flying customers average more than one a flight), unlike a Poisson count.
    first = rng.random(n) < np.clip(bag_mean, 0, 1)
    bags = np.minimum(first * (1 + rng.poisson(EXTRA_BAGS * np.maximum(seats, 1) ** 0.5)), 13).astype(np.int64)

    # Fare: proportional to the distance, per seat and per leg (real cohort: $0.089 per km, a return flight twice
    # a single).
    per_leg = FARE_PER_KM * km * np.exp(FARE_SPREAD * rng.standard_normal(n)) * b.price_mult[bu]
    fare = per_leg * np.where(has_return, 2.0, 1.0) * np.maximum(seats, 1)
    fare[rng.random(n) < QUIRK_ZERO_FARE] = 0.0

    brand = rng.choice(ref.brand_label.size, size=n, p=ref.brand_weight)
    abroad = ref.destinations.country[dest] != ref.home.country[home[bu]]
    room_price = (
        HOTEL_PRICE_MEDIAN
        * ref.brand_price_tier[brand]
        * b.hotel_price_mult[bu]
        * np.where(abroad, 1.15, 1.0)
        * np.exp(0.45 * rng.standard_normal(n))
    )
    rooms = np.minimum(1 + rng.poisson(b.extra_rooms[bu]), 6)
    rooms[rng.random(n) < QUIRK_ZERO_ROOMS] = 0

    return _Trips(
        destination=dest,
        leave_time=leave,
        return_time=ret,
        has_return=has_return,
        seats=seats,
        bags=bags,
        airline=rng.choice(ref.airlines.size, size=n, p=ref.airline_weight),
        fare=fare,
        brand=brand,
        nights=nights,
        rooms=rooms,
        check_in=check_in,
        check_out=check_out,
        room_price=np.clip(np.round(room_price), 8, 2377),
    )


def _discount_steps(rng: np.random.Generator, n: int, single: float, p: float) -> np.ndarray:
    """Discount sizes in steps of 0.05: 1 step with probability `single`, else 1 + Geometric(p) steps (mode 2)."""
    return np.where(rng.random(n) < single, 1, 1 + rng.geometric(p, n))


def _draw_destinations(rng: np.random.Generator, ref: Reference, home: np.ndarray) -> np.ndarray:
    """Destinations by popularity, far ones kept less often (FAR_KM, FAR_ACCEPT), never the traveller's own city.

    Rejection sampling: a rejected draw is drawn again, so the kept ones follow popularity x acceptance.
    """
    dest = np.zeros(home.size, dtype=np.int64)
    todo = np.arange(home.size)
    for _ in range(30):
        drawn = rng.choice(ref.destinations.iata.size, size=todo.size, p=ref.destinations.weight)
        h = home[todo]
        km = haversine_km(ref.home.lat[h], ref.home.lon[h], ref.destinations.lat[drawn], ref.destinations.lon[drawn])
        accept = np.where(km > FAR_KM[1], FAR_ACCEPT[1], np.where(km > FAR_KM[0], FAR_ACCEPT[0], 1.0))
        keep = (rng.random(todo.size) < accept) & (ref.destinations.city[drawn] != ref.home.city[h])
        dest[todo] = drawn
        todo = todo[~keep]
        if todo.size == 0:
            break
    return dest


def _draw_cancellations(
    rng: np.random.Generator,
    bi: np.ndarray,
    u: np.ndarray,
    booked: np.ndarray,
    cancel_p: np.ndarray,
    leave_time: np.ndarray,
    session_start: np.ndarray,
    minutes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(booking index, session index) pairs: which bookings are cancelled and by which session; `cancel_p` is
    each user's probability that a booking is cancelled."""
    nxt = bi + 1
    has_next = nxt < u.size
    nxt = np.where(has_next, nxt, bi)
    booking_end = session_start[bi] + (minutes[bi] * US_PER_MINUTE).astype(np.int64)
    eligible = has_next & (u[nxt] == u[bi]) & ~booked[nxt] & (leave_time - booking_end > 3 * US_PER_HOUR)
    wants = rng.random(bi.size) < cancel_p[u[bi]]
    which = np.flatnonzero(eligible & wants)
    return which, nxt[which]


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def _flights_table(trip: _Trips, trip_ids: pa.Array, rows: np.ndarray, ref: Reference, home: np.ndarray) -> pa.Table:
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


def _hotels_table(trip: _Trips, trip_ids: pa.Array, rows: np.ndarray, ref: Reference) -> pa.Table:
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
