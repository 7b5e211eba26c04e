"""Per-user behaviour: population heterogeneity plus a modest shift from the user's hidden favourite perk.

Every propensity is drawn on a log or logit scale as `baseline + spread * z + effect * is_fan`, with z a
standard normal per user. The perk effects are centred (minus share * effect under the default mix), so
that the default-mix population reproduces the real marginal rates while fans still differ from others.
`signal` scales every perk effect (1.0 = the calibrated default, 0.0 = no planted preference at all).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from traveltide_assets.catalog import PERKS
from traveltide_assets.synthetic.columns import expit

# The share each perk has under the default mix, used to centre the effects.
_DEFAULT_SHARE = 1.0 / len(PERKS)

# Log-sd of a user's own pace (session length and clicks): small, the real cohort's per-user average minutes lie
# close together (10% and 90% at 1.3 and 3 min); most of the spread is from session to session (trips.py).
BROWSE_PACE_SPREAD = 0.12
# A user's typical stay (median nights), log-sd 0.3 between users; trips.py spreads single stays around it.
NIGHTS_MEDIAN = 2.7
# Checked bags per flight: users close to a typical number (log-sd 0.15), the planted free_checked_bag effect
# makes most of the spread. Real cohort: 0.59 bags a flight; 20% of its flying customers never check a bag, 24%
# check exactly one a flight.
BAGS_MEDIAN = 0.47
BAGS_SPREAD = 0.15


@dataclass(frozen=True)
class PerkEffects:
    """Shifts (log / logit units) applied to fans of each perk; see module docstring."""

    bags_log: float = 0.75  # free_checked_bag: more checked bags per flight
    flight_only_logit: float = 0.35  # free_checked_bag: flies without a hotel a little more often
    cancel_logit: float = 1.25  # no_cancellation_fees: cancels more often
    lead_log: float = 0.65  # no_cancellation_fees: books further ahead
    discount_book_log: float = 1.0  # exclusive_discounts: books mainly when a discount is offered
    browse_log: float = 0.22  # exclusive_discounts: longer sessions, more clicks
    discount_seen_log: float = 0.25  # exclusive_discounts: seeks out pages with discounts
    fare_log: float = -0.15  # exclusive_discounts: cheaper fares and hotels
    hotel_only_logit: float = 0.9  # free_hotel_meal: books hotels without flights more often
    hotel_price_log: float = 0.3  # free_hotel_meal: pricier hotels
    meal_rooms: float = 0.12  # free_hotel_meal: more rooms (families eat together)
    bundle_logit: float = 0.85  # free_hotel_night_with_flight: books flight + hotel together
    bundle_nights_log: float = 0.22  # free_hotel_night_with_flight: longer stays with a flight


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
            0.55 * z[:, 0] + s * effects.bundle_logit * night,
            np.log(326_558 / 1_574_480) - 0.25 + 0.55 * z[:, 1] + s * effects.flight_only_logit * bag,
            np.log(344_137 / 1_574_480) + 0.55 * z[:, 2] + s * effects.hotel_only_logit * meal,
        ]
    )
    return UserBehaviour(
        bags_mean=np.exp(np.log(BAGS_MEDIAN) + BAGS_SPREAD * z[:, 3] + s * effects.bags_log * bag + 0.12 * family),
        type_logits=type_logits,
        # Re-centred (was -2.45) for the heavy-user damping in trips.py: 1.6% of the whole base's sessions cancel.
        cancel_p=expit(-2.2 + 0.5 * z[:, 4] + s * effects.cancel_logit * cancel),
        lead_days_median=np.exp(np.log(9.0) + 0.45 * z[:, 5] + s * effects.lead_log * cancel),
        discount_book_log=0.25 + 0.35 * z[:, 6] + s * effects.discount_book_log * disc,
        browse_mult=np.exp(BROWSE_PACE_SPREAD * z[:, 7] + s * effects.browse_log * disc),
        discount_seen_mult=np.exp(s * effects.discount_seen_log * disc),
        # Little spread of fares between users (real cohort: $0.080-0.099 per seat, leg and km, 5%-95%) or of
        # room prices (per-user average price 10%-90%: $100-262 real).
        price_mult=np.exp(0.05 * z[:, 8] + s * effects.fare_log * disc),
        hotel_price_mult=np.exp(0.1 * z[:, 9] + s * effects.hotel_price_log * meal + 0.5 * s * effects.fare_log * disc),
        nights_median=np.exp(np.log(NIGHTS_MEDIAN) + 0.3 * rng.standard_normal(n)),
        bundle_nights_mult=np.exp(s * effects.bundle_nights_log * night),
        extra_rooms=np.clip(0.15 + 0.12 * has_children + s * effects.meal_rooms * meal, 0.0, None),
        # Real cohort: 14% of flights carry more than one seat (mean 1.19 seats); families more often.
        company_p=0.06 + 0.11 * married + 0.15 * has_children,
    )
