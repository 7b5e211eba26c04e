"""Per-user behaviour: population heterogeneity plus a modest shift from the user's hidden favourite perk.

Every propensity is drawn on a log or logit scale as `baseline + spread * z + effect * is_fan`, with z a
standard normal per user. The perk effects are centred (minus share * effect under the default mix), so
that the default-mix population reproduces the real marginal rates while fans still differ from others.
`signal` scales every perk effect (1.0 = the calibrated default, 0.0 = no planted preference at all).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from traveltide_assets.lib.catalog import PERKS
from traveltide_assets.synthetic.columns import expit

# The share each perk has under the default mix, used to centre the effects.
_DEFAULT_SHARE = 1.0 / len(PERKS)

# Log-sd of a user's own pace (session length and clicks): small, the real cohort's per-user average minutes lie
# close together (10% and 90% at 1.3 and 3 min); most of the spread is from session to session (sessions.py).
BROWSE_PACE_SPREAD = 0.02
# A user's typical stay (median nights); trips.py spreads single stays around it.
NIGHTS_MEDIAN = 2.57
# Chance of a checked bag on a flight (real cohort: 0.59 bags a flight, most flights 0 or 1, and whether a flight
# carries one barely repeats within a customer: 20% of its flying customers never check a bag, as with independent
# flights).
BAGS_MEDIAN = 0.5


@dataclass(frozen=True)
class PerkEffects:
    """Shifts (log / logit units) applied to fans of each perk; see module docstring. Sized with `Spreads` so
    that fans and everyone else together differ between customers as much as the real cohort's customers do
    (sql/validation/fidelity/spread_components.sql, docs/perk_model_figures.md), and no more: most of what real
    customers do varies from trip to trip, not from customer to customer."""

    bags_log: float = 0.2  # free_checked_bag: checks a bag a little more often (real: bags barely repeat)
    flight_only_logit: float = 0.6  # free_checked_bag: flies without a hotel a little more often
    cancel_logit: float = 0.8  # no_cancellation_fees: cancels more often
    lead_log: float = 0.2  # no_cancellation_fees: books further ahead
    discount_book_log: float = 0.6  # exclusive_discounts: books more readily when a discount is offered
    browse_log: float = 0.06  # exclusive_discounts: longer sessions, more clicks
    discount_seen_log: float = 0.05  # exclusive_discounts: seeks out pages with discounts
    fare_log: float = -0.015  # exclusive_discounts: cheaper fares and hotels
    hotel_only_logit: float = 1.7  # free_hotel_meal: books hotels without flights more often
    hotel_price_log: float = 0.25  # free_hotel_meal: pricier hotels
    meal_rooms: float = 0.35  # free_hotel_meal: more rooms (families eat together)
    bundle_logit: float = 1.6  # free_hotel_night_with_flight: books flight + hotel together
    bundle_nights_log: float = 0.35  # free_hotel_night_with_flight: longer stays with a flight


@dataclass(frozen=True)
class Spreads:
    """How much users differ for reasons other than a perk (sd of a standard normal per user, log / logit
    units). Real cohort, between-customer sd beyond each customer's own trip-to-trip spread: a checked bag on a
    flight 0.03, a booking flight-only 0.04 or hotel-only 0.10, a discount at booking 0.04, a cancellation or the
    log lead time 0.00, log minutes 0.02-0.04, log fare per km 0.01, log room price 0.10, log nights 0.12."""

    booking_type_logit: float = 0.05
    bags_log: float = 0.03
    bags_family_log: float = 0.03  # per unit of family (married 0.5, children 1): families check more bags
    cancel_logit: float = 0.1
    lead_log: float = 0.03
    discount_book_log: float = 0.15
    fare_log: float = 0.005
    hotel_price_log: float = 0.0
    nights_log: float = 0.11


@dataclass(frozen=True)
class UserBehaviour:
    bags_mean: np.ndarray  # expected checked bags per seat-flight
    type_logits: np.ndarray  # (n, 3): bundle, flight only, hotel only
    cancel_p: np.ndarray  # probability a booking is later cancelled
    lead_days_median: np.ndarray
    discount_book_log: np.ndarray  # log multiplier of booking odds when a discount is offered
    browse_mult: np.ndarray  # multiplier on session length (and so clicks)
    discount_seen_mult: np.ndarray  # multiplier on the chance a session is offered a discount
    price_mult: np.ndarray  # multiplier on fares chosen
    hotel_price_mult: np.ndarray
    nights_median: np.ndarray
    bundle_nights_mult: np.ndarray
    extra_rooms: np.ndarray  # Poisson mean of rooms beyond the first
    company_p: np.ndarray  # chance a flight is booked for more than one seat


def draw_behaviour(
    rng: np.random.Generator,
    perk_index: np.ndarray,
    married: np.ndarray,
    has_children: np.ndarray,
    signal: float,
    effects: PerkEffects = PerkEffects(),
    spread: Spreads = Spreads(),
) -> UserBehaviour:
    """Draw each user's behaviour; `perk_index` is the position in PERKS, or -1 for no preference."""
    n = perk_index.size

    def fan(perk: str) -> np.ndarray:
        return (perk_index == PERKS.index(perk)).astype(np.float64) - _DEFAULT_SHARE

    z = rng.standard_normal((n, 10))
    s = signal
    bag, cancel, disc = fan("free_checked_bag"), fan("no_cancellation_fees"), fan("exclusive_discounts")
    meal, night = fan("free_hotel_meal"), fan("free_hotel_night_with_flight")
    family = married.astype(np.float64) * 0.5 + has_children.astype(np.float64)

    # Bookings split 70% bundle, 14.5% flight only, 15.3% hotel only in the real data; the real cohort books
    # fewer flights alone (75% bundle, 11% flight only, 15% hotel only): flight-only re-centred by -0.25.
    type_logits = np.column_stack(
        [
            spread.booking_type_logit * z[:, 0] + s * effects.bundle_logit * night,
            np.log(326_558 / 1_574_480)
            - 0.25
            + spread.booking_type_logit * z[:, 1]
            + s * effects.flight_only_logit * bag,
            np.log(344_137 / 1_574_480) + spread.booking_type_logit * z[:, 2] + s * effects.hotel_only_logit * meal,
        ]
    )
    return UserBehaviour(
        bags_mean=np.exp(
            np.log(BAGS_MEDIAN)
            + spread.bags_log * z[:, 3]
            + s * effects.bags_log * bag
            + spread.bags_family_log * family
        ),
        type_logits=type_logits,
        # Re-centred (was -2.45) for the heavy-user damping in sessions.py: 1.6% of the whole base's sessions cancel.
        cancel_p=expit(-2.2 + spread.cancel_logit * z[:, 4] + s * effects.cancel_logit * cancel),
        lead_days_median=np.exp(np.log(9.0) + spread.lead_log * z[:, 5] + s * effects.lead_log * cancel),
        discount_book_log=0.25 + spread.discount_book_log * z[:, 6] + s * effects.discount_book_log * disc,
        browse_mult=np.exp(BROWSE_PACE_SPREAD * z[:, 7] + s * effects.browse_log * disc),
        discount_seen_mult=np.exp(s * effects.discount_seen_log * disc),
        # Little spread of fares between users (real cohort: $0.080-0.099 per seat, leg and km, 5%-95%) or of
        # room prices (per-user average price 10%-90%: $100-262 real).
        price_mult=np.exp(spread.fare_log * z[:, 8] + s * effects.fare_log * disc),
        hotel_price_mult=np.exp(
            spread.hotel_price_log * z[:, 9] + s * effects.hotel_price_log * meal + 0.5 * s * effects.fare_log * disc
        ),
        nights_median=np.exp(np.log(NIGHTS_MEDIAN) + spread.nights_log * rng.standard_normal(n)),
        bundle_nights_mult=np.exp(s * effects.bundle_nights_log * night),
        extra_rooms=np.clip(0.15 + 0.12 * has_children + s * effects.meal_rooms * meal, 0.0, None),
        # Real cohort: 14% of flights carry more than one seat (mean 1.19 seats); families more often.
        company_p=0.06 + 0.11 * married + 0.15 * has_children,
    )
