"""The favourite-perk model on counts it can be checked against: its gradient, how it weighs evidence, what it
says without evidence, and the split-half agreement it predicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy.optimize import approx_fprime

from traveltide_assets.defs.perks.settings import PerkModelSettings
from traveltide_assets.lib.catalog import PERKS
from traveltide_assets.lib.perk_channels import build_channels
from traveltide_assets.lib.perk_model import ModelOptions, _Objective, fit_perk_model
from traveltide_assets.lib.reliability import implied_confusion, split_half_agreement

BAG = PERKS.index("free_checked_bag")
COUNT_COLUMNS = (
    "bookings", "bundle_bookings", "flight_only_bookings", "hotel_only_bookings", "cancelled_bookings",
    "discounted_bookings", "browsing_sessions", "discounted_browsing_sessions", "flights_with_bags", "flights",
    "extra_rooms", "room_stays",
)  # fmt: skip
# Log-scale channels: (centre, owner, direction of the fans' shift).
LOG_CHANNELS = {
    "price": (5.0, "free_hotel_meal", 1.0),
    "nights": (1.1, "free_hotel_night_with_flight", 1.0),
    "fare": (-2.4, "exclusive_discounts", -1.0),  # fans of discounts pay less per km
}


def planted_evidence(users: int, seed: int, shift: float = 0.8) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-customer counts drawn from a planted mixture: each customer favours one perk (or, with shift 0,
    none), with per-customer rates that vary (beta / gamma), as the model assumes."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(PERKS), users)

    def fan(perk: str) -> np.ndarray:
        return shift * (truth == PERKS.index(perk))

    bookings = rng.poisson(3.0, users)
    logits = np.column_stack(
        [
            fan("free_hotel_night_with_flight") + 0.3 * rng.standard_normal(users),
            -1.6 + fan("free_checked_bag") + 0.3 * rng.standard_normal(users),
            -1.6 + fan("free_hotel_meal") + 0.3 * rng.standard_normal(users),
        ]
    )
    shares = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    types = np.array([rng.multinomial(n, p) for n, p in zip(bookings, shares, strict=True)])
    seats = types[:, 0] + types[:, 1]
    bag_rate = rng.gamma(4.0, np.exp(np.log(0.4) + fan("free_checked_bag")) / 4.0)
    stays = types[:, 0] + types[:, 2]

    def rate(base: float, perk: str) -> np.ndarray:
        return 1 / (1 + np.exp(-(np.log(base / (1 - base)) + fan(perk) + 0.3 * rng.standard_normal(users))))

    browsing = rng.poisson(5.0, users)
    frame = pd.DataFrame(
        {
            "user_id": np.arange(users),
            "bookings": bookings,
            "bundle_bookings": types[:, 0],
            "flight_only_bookings": types[:, 1],
            "hotel_only_bookings": types[:, 2],
            "cancelled_bookings": rng.binomial(bookings, rate(0.05, "no_cancellation_fees")),
            "discounted_bookings": rng.binomial(bookings, rate(0.25, "exclusive_discounts")),
            "dated_trips": bookings,
            "trips_booked_well_ahead": rng.binomial(bookings, rate(0.25, "no_cancellation_fees")),
            "browsing_sessions": browsing,
            "discounted_browsing_sessions": rng.binomial(browsing, rate(0.25, "exclusive_discounts")),
            "flights_with_bags": rng.binomial(seats, 1 - np.exp(-bag_rate)),
            "flights": seats,
            "extra_rooms": rng.poisson(0.15 * np.exp(fan("free_hotel_meal")) * stays),
            "room_stays": stays,
        }
    )
    counts = {"price": stays, "nights": types[:, 0], "fare": seats}
    for name, (centre, owner, direction) in LOG_CHANNELS.items():
        n = counts[name]
        person = centre + direction * 0.5 * fan(owner) + 0.3 * rng.standard_normal(users)
        values = [person[i] + 0.8 * rng.standard_normal(n[i]) for i in range(users)]
        frame[f"{name}_n"] = n
        frame[f"{name}_sum"] = [v.sum() for v in values]
        frame[f"{name}_sumsq"] = [(v**2).sum() for v in values]
    # Pace: every session's log minutes against its kind's typical length, weighted by 1 / its variance.
    sessions = browsing + bookings
    pace = 0.5 * fan("exclusive_discounts") + 0.1 * rng.standard_normal(users)
    frame["pace_weight"] = sessions / 0.8**2
    draws = [pace[i] + 0.8 * rng.standard_normal(k) for i, k in enumerate(sessions)]
    frame["pace_weighted_sum"] = [d.sum() / 0.8**2 for d in draws]
    return frame, truth


def test_gradient_is_the_derivative_of_the_likelihood() -> None:
    evidence, _ = planted_evidence(400, seed=1)
    objective = _Objective(build_channels(evidence), len(evidence), ModelOptions())
    theta, _ = objective.pack()
    theta = theta + np.random.default_rng(2).normal(0, 0.1, theta.size)
    _, gradient = objective(theta)
    numeric = approx_fprime(theta, lambda t: objective(t)[0], 1e-6)
    assert np.allclose(gradient, numeric, rtol=1e-3, atol=1e-2), np.abs(gradient - numeric).max()


def test_probabilities_sum_to_one_and_recover_a_planted_mixture() -> None:
    evidence, truth = planted_evidence(3000, seed=3)
    model = fit_perk_model(evidence)
    p = model.probabilities
    assert p.shape == (3000, len(PERKS))
    assert np.allclose(p.sum(axis=1), 1.0)
    accuracy = float(np.mean(p.argmax(axis=1) == truth))
    assert accuracy > 0.45  # chance is 0.2
    # Honest: the mean probability of the favourite is close to how often it is right.
    assert abs(float(p.max(axis=1).mean()) - accuracy) < 0.05
    assert model.converged
    assert model.bic() < model.one_class_bic()  # the likelihood also says the classes are there


def test_without_preferences_the_probabilities_stay_near_the_shares() -> None:
    evidence, _ = planted_evidence(3000, seed=4, shift=0.0)
    model = fit_perk_model(evidence)
    assert model.bic() > model.one_class_bic()  # the likelihood prefers no classes at all
    # Shifts fitted to noise still spread customers a little (0.2 would be none at all); with preferences of
    # the planted size the mean is near 0.5 (previous test).
    assert float(model.probabilities.max(axis=1).mean()) < 0.4


def test_more_of_the_same_evidence_makes_the_model_surer() -> None:
    evidence, _ = planted_evidence(3000, seed=5)
    quiet = dict.fromkeys(evidence.columns, 0)
    one_flight = {**quiet, "bookings": 1, "flight_only_bookings": 1, "flights_with_bags": 1, "flights": 1}
    six_flights = {**quiet, "bookings": 6, "flight_only_bookings": 6, "flights_with_bags": 6, "flights": 6}
    no_trips = {**quiet, "browsing_sessions": 8, "discounted_browsing_sessions": 2}
    extra = pd.DataFrame([one_flight, six_flights, no_trips]).assign(user_id=[-1, -2, -3])
    model = fit_perk_model(pd.concat([evidence, extra], ignore_index=True))
    one, six, none = model.probabilities[-3:]
    assert one.argmax() == BAG and six.argmax() == BAG
    assert six[BAG] > one[BAG] + 0.1
    assert one[BAG] < 0.75  # one flight with a bag is suggestive, no more
    # No trips at all: close to the cohort's perk shares, and in the low band.
    assert np.abs(none - model.class_shares).max() < 0.1
    assert PerkModelSettings().band(none.max()) == "low"


def test_predicted_agreement_from_the_implied_confusion() -> None:
    # Two halves that each see the truth through the same known confusion: the prediction is exact in the limit.
    rng = np.random.default_rng(6)
    n, k, right = 200_000, len(PERKS), 0.5
    truth = rng.integers(0, k, n)
    probabilities = np.full((n, k), (1 - right) / (k - 1))

    def half() -> tuple[np.ndarray, np.ndarray]:
        keep = rng.random(n) < right
        assigned = np.where(keep, truth, (truth + rng.integers(1, k, n)) % k)
        p = probabilities.copy()
        p[np.arange(n), assigned] = right  # calibrated: the favourite is right with probability 0.5
        return assigned, p

    (fa, pa), (fb, pb) = half(), half()
    confusion = implied_confusion(fa, pa)
    assert np.allclose(confusion.sum(axis=0), 1.0)
    assert np.allclose(np.diag(confusion), right, atol=0.01)
    row = split_half_agreement(fa, pa, fb, pb).set_index("perk").loc["all"]
    expected = right**2 + (1 - right) ** 2 / (k - 1)
    assert row["predicted_agreement"] == pytest.approx(expected, abs=0.01)
    assert row["observed_agreement"] == pytest.approx(expected, abs=0.01)
    assert row["kappa"] == pytest.approx((expected - 0.2) / 0.8, abs=0.02)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"high_confidence": 1.2}, "high_confidence must be above 0.2"),
        ({"medium_confidence": 0.1}, "medium_confidence must be above 0.2"),
        ({"high_confidence": 0.5, "medium_confidence": 0.55}, "must be below high_confidence"),
        ({"max_iterations": 0}, "max_iterations must be at least 1"),
        ({"tolerance": 0}, "tolerance must be between 0 and 1"),
    ],
)
def test_bad_model_settings_are_refused_in_one_line(settings: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PerkModelSettings(**settings)
