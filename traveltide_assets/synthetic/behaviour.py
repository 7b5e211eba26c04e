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
    extra_seats: np.ndarray  # Poisson mean of seats beyond the first


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

    # Bookings split 70% bundle, 14.5% flight only, 15.3% hotel only in the real data.
    type_logits = np.column_stack(
        [
            0.55 * z[:, 0] + s * effects.bundle_logit * night,
            np.log(326_558 / 1_574_480) + 0.55 * z[:, 1] + s * effects.flight_only_logit * bag,
            np.log(344_137 / 1_574_480) + 0.55 * z[:, 2] + s * effects.hotel_only_logit * meal,
        ]
    )
    return UserBehaviour(
        bags_mean=np.exp(np.log(0.43) + 0.45 * z[:, 3] + s * effects.bags_log * bag + 0.12 * family),
        type_logits=type_logits,
        cancel_p=expit(-2.45 + 0.5 * z[:, 4] + s * effects.cancel_logit * cancel),
        lead_days_median=np.exp(np.log(9.0) + 0.45 * z[:, 5] + s * effects.lead_log * cancel),
        discount_book_log=0.25 + 0.35 * z[:, 6] + s * effects.discount_book_log * disc,
        browse_mult=np.exp(0.25 * z[:, 7] + s * effects.browse_log * disc),
        discount_seen_mult=np.exp(s * effects.discount_seen_log * disc),
        price_mult=np.exp(0.12 * z[:, 8] + s * effects.fare_log * disc),
        hotel_price_mult=np.exp(0.2 * z[:, 9] + s * effects.hotel_price_log * meal + 0.5 * s * effects.fare_log * disc),
        nights_median=np.exp(np.log(3.0) + 0.3 * rng.standard_normal(n)),
        bundle_nights_mult=np.exp(s * effects.bundle_nights_log * night),
        extra_rooms=np.clip(0.15 + 0.12 * has_children + s * effects.meal_rooms * meal, 0.0, None),
        extra_seats=0.09 + 0.16 * married + 0.24 * has_children,
    )
