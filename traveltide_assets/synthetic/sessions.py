"""What each session holds: the discounts it offers, whether it books, how long it lasts and how many clicks it
takes, and which later session cancels a booking.

Real figures these draws are tuned to (shared/traveltide-schema.md): 42% of non-cancellation sessions book;
1.7% of sessions cancel an earlier booking; flight discounts are offered in ~17% and hotel discounts in ~12.5%
of sessions. The shapes (session length, clicks, discount sizes) follow the real study cohort's rows, per user
(shared/real-cohort; `traveltide fidelity` measures the fit); where the cohort and the whole base differ, the
comments say which figure a parameter follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from traveltide_assets.synthetic.behaviour import UserBehaviour
from traveltide_assets.synthetic.columns import US_PER_HOUR, US_PER_MINUTE, expit

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

QUIRK_RUNAWAY_CLICKS = 2e-5  # sessions with 300-2,421 clicks, as a rate per session


@dataclass(frozen=True)
class Offers:
    """The discounts each session offers (flags) and their sizes (meaningful where offered)."""

    flight: np.ndarray
    hotel: np.ndarray
    flight_amount: np.ndarray
    hotel_amount: np.ndarray


def draw_offers(rng: np.random.Generator, session_user: np.ndarray, b: UserBehaviour) -> Offers:
    """Discounts offered, and their amounts in steps of 0.05 (median 0.10)."""
    u, n_sessions = session_user, session_user.size
    flight = rng.random(n_sessions) < FLIGHT_DISCOUNT_RATE * b.discount_seen_mult[u]
    hotel = rng.random(n_sessions) < HOTEL_DISCOUNT_RATE * b.discount_seen_mult[u]
    flight_amount = 0.05 * np.minimum(_discount_steps(rng, n_sessions, *FLIGHT_DISCOUNT_STEPS), 17)
    hotel_amount = 0.05 * np.minimum(_discount_steps(rng, n_sessions, *HOTEL_DISCOUNT_STEPS), 13)
    return Offers(flight=flight, hotel=hotel, flight_amount=flight_amount, hotel_amount=hotel_amount)


def _discount_steps(rng: np.random.Generator, n: int, single: float, p: float) -> np.ndarray:
    """Discount sizes in steps of 0.05: 1 step with probability `single`, else 1 + Geometric(p) steps (mode 2)."""
    return np.where(rng.random(n) < single, 1, 1 + rng.geometric(p, n))


def draw_booked(rng: np.random.Generator, session_user: np.ndarray, offers: Offers, b: UserBehaviour) -> np.ndarray:
    """Which sessions book: heavy browsers convert a smaller share of their sessions (the cohort books in ~1/3)."""
    u = session_user
    sessions_per_user = np.bincount(u)
    offered = (offers.flight | offers.hotel).astype(np.float64)
    user_logit = np.log(BOOKING_RATE / (1 - BOOKING_RATE)) - BOOKING_DAMPING * np.log(sessions_per_user / 5.3)
    user_logit += BOOKING_SPREAD_LOGIT * rng.standard_normal(sessions_per_user.size)
    book_logit = user_logit[u] + b.discount_book_log[u] * (offered - 0.27)
    return rng.random(u.size) < expit(book_logit)


def draw_minutes(
    rng: np.random.Generator, session_user: np.ndarray, bi: np.ndarray, kind: np.ndarray, b: UserBehaviour
) -> np.ndarray:
    """Session length (minutes): log-normal, booking sessions (`bi`, of booking `kind`) longer and less varied
    (real cohort: medians 0.98 and 2.7 min, log-sd 0.82 and 0.45 including the users' own pace)."""
    n_sessions = session_user.size
    median_minutes = np.full(n_sessions, BROWSE_MINUTES)
    median_minutes[bi] = np.asarray(BOOKING_MINUTES)[kind]
    spread = np.full(n_sessions, BROWSE_SPREAD)
    spread[bi] = BOOKING_SPREAD
    minutes = median_minutes * b.browse_mult[session_user] * np.exp(spread * rng.standard_normal(n_sessions))
    return np.clip(minutes, 1 / 60, MAX_SESSION_MINUTES)


@dataclass(frozen=True)
class Cancellations:
    """Cancelled bookings and the sessions that cancel them, re-timed between the booking and the departure."""

    booking: np.ndarray  # index into the booking sessions (and so into the trips)
    session: np.ndarray  # index of the cancelling session
    start: np.ndarray  # the cancelling session's new start (µs)
    minutes: np.ndarray
    clicks: np.ndarray


def draw_cancellations(
    rng: np.random.Generator,
    bi: np.ndarray,
    session_user: np.ndarray,
    booked: np.ndarray,
    leave_time: np.ndarray,
    session_start: np.ndarray,
    minutes: np.ndarray,
    b: UserBehaviour,
    data_end: int,
) -> Cancellations:
    """The user's next session, if it books nothing, becomes the cancellation of this trip, re-timed to fall
    between the booking and the departure, and before the data end (µs): the real sessions stop on their last day,
    so a trip departing later was cancelled by then or not (yet) at all. Heavy users cancel a smaller share of
    their bookings (CANCEL_DAMPING)."""
    u = session_user
    cancel_p = b.cancel_p * (np.bincount(u) / 5.3) ** -CANCEL_DAMPING
    cancelled_by, cancel_session = _cancelling_sessions(
        rng, bi, u, booked, cancel_p, leave_time, session_start, minutes
    )
    deadline = np.minimum(leave_time[cancelled_by], data_end)
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
    return Cancellations(
        booking=cancelled_by[keep],
        session=cancel_session[keep],
        start=session_start[bi[cancelled_by[keep]]] + US_PER_HOUR + offset[keep],
        minutes=cancel_minutes[keep],
        clicks=cancel_clicks[keep],
    )


def _cancelling_sessions(
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


def draw_clicks(rng: np.random.Generator, minutes: np.ndarray, cancellations: Cancellations) -> np.ndarray:
    """Clicks follow the session length closely: 7.5 s a click, log-sd 0.03 (real cohort, correlation 0.998);
    cancellations keep their own."""
    n_sessions = minutes.size
    seconds_per_click = np.exp(np.log(SECONDS_PER_CLICK) + CLICK_PACE_SPREAD * rng.standard_normal(n_sessions))
    clicks = np.round(minutes * 60 / seconds_per_click)
    clicks[cancellations.session] = cancellations.clicks
    # Rare runaway sessions (bots, stuck pages) with hundreds to thousands of clicks: the whole base's outliers up
    # to 2,421; none among the real cohort's 49,211 sessions, so they are rare.
    runaway = rng.random(n_sessions) < QUIRK_RUNAWAY_CLICKS
    clicks[runaway] = rng.integers(300, MAX_CLICKS + 1, runaway.sum())
    return np.minimum(clicks, MAX_CLICKS).astype(np.int32)
