"""The trips the booking sessions buy: destination, dates, stay, seats, bags, fare and hotel room.

Real figures these draws are tuned to (shared/traveltide-schema.md): bookings are 70% flight + hotel, 14.5%
flight only, 15.3% hotel only. The shapes (bags, fares, stays) follow the real study cohort's rows, per user
(shared/real-cohort; `traveltide fidelity` measures the fit); where the cohort and the whole base differ, the
comments say which figure a parameter follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from traveltide_assets.synthetic.behaviour import UserBehaviour
from traveltide_assets.synthetic.columns import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE, day_start
from traveltide_assets.synthetic.reference import Reference

BUNDLE, FLIGHT_ONLY, HOTEL_ONLY = 0, 1, 2  # the kinds of booking

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


@dataclass(frozen=True)
class Trips:
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


def draw_trips(
    rng: np.random.Generator,
    ref: Reference,
    bu: np.ndarray,
    kind: np.ndarray,
    booked_at: np.ndarray,
    home: np.ndarray,
    b: UserBehaviour,
) -> Trips:
    """The trip of each booking: `bu` its user, `kind` its kind (BUNDLE, ...), `booked_at` when (µs), `home` the
    users' home airports."""
    dest = _draw_destinations(rng, ref, home[bu])
    km = haversine_km(
        ref.home.lat[home[bu]], ref.home.lon[home[bu]], ref.destinations.lat[dest], ref.destinations.lon[dest]
    )
    leave, leave_day = _departures(rng, b, bu, booked_at)
    true_nights = _stay_nights(rng, b, bu, kind)
    check_in, check_out, nights = _hotel_dates(rng, kind, leave, leave_day, true_nights)
    # Return flight on the check-out day (or after the stay for flight-only trips).
    ret = leave_day + true_nights * US_PER_DAY + rng.integers(12 * 60, 23 * 60, bu.size) * US_PER_MINUTE
    has_return = rng.random(bu.size) >= QUIRK_ONE_WAY
    seats, bags = _seats_and_bags(rng, b, bu, true_nights)
    fare = _fares(rng, b, bu, km, has_return, seats)
    brand, room_price, rooms = _hotel_rooms(rng, ref, b, bu, dest, home)
    return Trips(
        destination=dest,
        leave_time=leave,
        return_time=ret,
        has_return=has_return,
        seats=seats,
        bags=bags,
        airline=rng.choice(ref.airlines.size, size=bu.size, p=ref.airline_weight),
        fare=fare,
        brand=brand,
        nights=nights,
        rooms=rooms,
        check_in=check_in,
        check_out=check_out,
        room_price=room_price,
    )


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


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def _departures(
    rng: np.random.Generator, b: UserBehaviour, bu: np.ndarray, booked_at: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(departure or check-in, its day) in µs: some days to months ahead; flights leave between 05:00 and 23:00."""
    n = bu.size
    lead_days = np.exp(np.log(b.lead_days_median[bu]) + 0.8 * rng.standard_normal(n))
    leave_day = day_start(booked_at + (lead_days * US_PER_DAY).astype(np.int64))
    leave = leave_day + rng.integers(5 * 60, 23 * 60, n) * US_PER_MINUTE
    too_soon = leave < booked_at + 2 * US_PER_HOUR
    leave[too_soon] += US_PER_DAY
    return leave, day_start(leave)


def _stay_nights(rng: np.random.Generator, b: UserBehaviour, bu: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Stay length: a few nights (median 3), bundles with a flight a little longer for some, rare long stays."""
    n = bu.size
    median_nights = b.nights_median[bu] * np.where(kind == BUNDLE, b.bundle_nights_mult[bu], 1.0)
    true_nights = np.maximum(1, np.round(np.exp(np.log(median_nights) + NIGHTS_SPREAD * rng.standard_normal(n))))
    long_stay = rng.random(n) < 0.004
    true_nights[long_stay] = rng.integers(14, 108, long_stay.sum())
    return true_nights.astype(np.int64)


def _hotel_dates(
    rng: np.random.Generator, kind: np.ndarray, leave: np.ndarray, leave_day: np.ndarray, true_nights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(check-in, check-out, nights as recorded): check-in at 11:00 or later on the day of arrival, check-out at
    11:00; a few stays with bad dates or nights that disagree with them."""
    n = leave.size
    check_in = np.clip(
        leave + rng.integers(60, 300, n) * US_PER_MINUTE,
        leave_day + 11 * US_PER_HOUR,
        leave_day + 23 * US_PER_HOUR + 59 * US_PER_MINUTE,
    )
    hotel_only = kind == HOTEL_ONLY
    check_in[hotel_only] = (
        leave_day[hotel_only] + 11 * US_PER_HOUR + rng.integers(0, 11 * 60, hotel_only.sum()) * US_PER_MINUTE
    )
    nights = true_nights.copy()
    bad_dates = rng.random(n) < QUIRK_BAD_HOTEL_DATES
    nights[bad_dates] = rng.choice([0, -1, -2], size=bad_dates.sum(), p=[0.75, 0.2, 0.05])
    check_out = day_start(check_in) + nights * US_PER_DAY + 11 * US_PER_HOUR
    wrong = ~bad_dates & (rng.random(n) < QUIRK_WRONG_NIGHTS)
    nights[wrong] += rng.choice([-1, 1, 2], size=wrong.sum())
    return check_in, check_out, nights


def _seats_and_bags(
    rng: np.random.Generator, b: UserBehaviour, bu: np.ndarray, true_nights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Seats: one, or with company 2 + Poisson(0.3) (real cohort: 86% one seat; of the rest 74% two, 19% three);
    and the checked bags."""
    n = bu.size
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
    return seats, bags


def _fares(
    rng: np.random.Generator,
    b: UserBehaviour,
    bu: np.ndarray,
    km: np.ndarray,
    has_return: np.ndarray,
    seats: np.ndarray,
) -> np.ndarray:
    """Fare: proportional to the distance, per seat and per leg (real cohort: $0.089 per km, a return flight
    twice a single)."""
    per_leg = FARE_PER_KM * km * np.exp(FARE_SPREAD * rng.standard_normal(bu.size)) * b.price_mult[bu]
    fare = per_leg * np.where(has_return, 2.0, 1.0) * np.maximum(seats, 1)
    fare[rng.random(bu.size) < QUIRK_ZERO_FARE] = 0.0
    return fare


def _hotel_rooms(
    rng: np.random.Generator, ref: Reference, b: UserBehaviour, bu: np.ndarray, dest: np.ndarray, home: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(brand, price per room and night, rooms) of each stay: the brand's tier, the user's taste, a mark-up abroad."""
    n = bu.size
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
    return brand, np.clip(np.round(room_price), 8, 2377), rooms
