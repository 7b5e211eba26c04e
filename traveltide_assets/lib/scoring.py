"""Perk affinity scores and favourite-perk assignment: pure functions on a user-features frame.

Each perk's score is a weighted mean of standardised driver features (robust z-scores: median and MAD, so
a few extreme users do not set the scale), then standardised again across the cohort so that the five scores
are on one comparable scale (0 = a typical cohort user, 1 = one standard deviation more affinity).
Missing drivers (e.g. bags for a user who never flew) count as typical (z = 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from traveltide_assets.lib.catalog import PERK_LABELS, PERKS


@dataclass(frozen=True)
class Driver:
    feature: str
    weight: float
    phrase: str  # how the reason names it: '<phrase> <value> (cohort median <median>)'
    log: bool = False  # log1p before standardising, for long right tails
    fmt: str = "{:.2f}"


PERK_DRIVERS: dict[str, tuple[Driver, ...]] = {
    "free_checked_bag": (
        Driver("bags_per_seat", 1.0, "checks bags per seat"),
        Driver("flight_only_rate", 0.3, "books flights without a hotel at a rate of", fmt="{:.0%}"),
    ),
    "no_cancellation_fees": (
        Driver("cancellation_rate", 1.0, "cancels bookings at a rate of", fmt="{:.0%}"),
        Driver("avg_lead_days", 0.5, "books days ahead:", log=True, fmt="{:.0f}"),
    ),
    "exclusive_discounts": (
        Driver("discount_used_rate", 1.0, "books with a discount at a rate of", fmt="{:.0%}"),
        Driver("bargain_hunter_index", 0.5, "has a bargain-hunter index of", fmt="{:.3f}"),
        Driver("discount_offered_rate", 0.3, "sees discounts in sessions at a rate of", fmt="{:.0%}"),
        Driver("avg_session_minutes", 0.2, "browses minutes per session:", log=True, fmt="{:.1f}"),
    ),
    "free_hotel_meal": (
        Driver("hotel_only_rate", 1.0, "books hotels without a flight at a rate of", fmt="{:.0%}"),
        Driver("avg_hotel_per_night_usd", 0.4, "pays per room-night USD", log=True, fmt="{:.0f}"),
        Driver("avg_rooms", 0.3, "books rooms per stay:", fmt="{:.1f}"),
    ),
    "free_hotel_night_with_flight": (
        Driver("bundle_rate", 1.0, "books flight + hotel together at a rate of", fmt="{:.0%}"),
        Driver("avg_bundle_nights", 0.4, "stays nights with a flight:", fmt="{:.1f}"),
    ),
}
DRIVER_FEATURES: tuple[str, ...] = tuple(dict.fromkeys(d.feature for ds in PERK_DRIVERS.values() for d in ds))


def robust_z(values: pd.Series, log: bool = False) -> pd.Series:
    """(x - median) / (1.4826 * MAD), falling back to the standard deviation when MAD is 0; NaN -> 0."""
    x = values.astype(float)
    if log:
        x = np.log1p(x.clip(lower=0))
    median = x.median()
    scale = 1.4826 * (x - median).abs().median()
    if not np.isfinite(scale) or scale == 0:
        scale = x.std()
    if not np.isfinite(scale) or scale == 0:
        return pd.Series(0.0, index=values.index)
    return ((x - median) / scale).clip(-6, 6).fillna(0.0)


def score_perks(features: pd.DataFrame) -> pd.DataFrame:
    """user_id plus one `score_<perk>` column per perk, each with cohort mean 0 and sd 1."""
    out = pd.DataFrame({"user_id": features["user_id"].to_numpy()})
    for perk, drivers in PERK_DRIVERS.items():
        total = sum(d.weight for d in drivers)
        raw = sum(d.weight * robust_z(features[d.feature], d.log) for d in drivers) / total
        sd = raw.std()
        out[f"score_{perk}"] = ((raw - raw.mean()) / sd if sd and np.isfinite(sd) else raw * 0.0).to_numpy()
    return out


def assign_perks(
    probabilities: pd.DataFrame, scores: pd.DataFrame, features: pd.DataFrame, bands: Callable[[np.ndarray], np.ndarray]
) -> pd.DataFrame:
    """Favourite perk (the most probable), its probability, the runner-up and theirs, a confidence band, the
    favourite's affinity score and a one-line reason. The three frames hold the same users in the same order."""
    matrix = probabilities[[f"p_{p}" for p in PERKS]].to_numpy()
    order = np.argsort(-matrix, axis=1, kind="stable")
    rows = np.arange(matrix.shape[0])
    best, second = order[:, 0], order[:, 1]
    perks = np.array(PERKS, dtype=object)
    score_matrix = scores[[f"score_{p}" for p in PERKS]].to_numpy()
    out = pd.DataFrame(
        {
            "user_id": probabilities["user_id"].to_numpy(),
            "favourite_perk": perks[best],
            "favourite_perk_label": [PERK_LABELS[p] for p in perks[best]],
            "probability": matrix[rows, best],
            "runner_up_perk": perks[second],
            "runner_up_probability": matrix[rows, second],
            "confidence": bands(matrix[rows, best]),
            "score": score_matrix[rows, best],
            "runner_up_score": score_matrix[rows, second],
        }
    )
    out["margin"] = out["probability"] - out["runner_up_probability"]
    out["reason"] = _reasons(out["favourite_perk"].to_numpy(), features)
    return out


def _reasons(favourite: np.ndarray, features: pd.DataFrame) -> list[str]:
    """'Free checked bag: checks bags per seat 1.50 (cohort median 0.50)' for each user's strongest driver of the
    favourite perk (a driver the user has no value for never wins over one they have)."""
    reasons = np.empty(len(favourite), dtype=object)
    for perk, drivers in PERK_DRIVERS.items():
        rows = np.flatnonzero(favourite == perk)
        if rows.size == 0:
            continue
        weighted = np.column_stack(
            [d.weight * robust_z(features[d.feature], d.log).to_numpy(dtype=float)[rows] for d in drivers]
        )
        top = np.argmax(np.nan_to_num(weighted, nan=-np.inf), axis=1)
        for k, driver in enumerate(drivers):
            chosen = rows[top == k]
            median = features[driver.feature].median()
            typical = driver.fmt.format(median) if pd.notna(median) else "n/a"
            values = features[driver.feature].to_numpy()[chosen]
            reasons[chosen] = [
                f"{PERK_LABELS[perk]}: {driver.phrase} "
                f"{driver.fmt.format(v) if pd.notna(v) else 'n/a'} (cohort median {typical})"
                for v in values
            ]
    return reasons.tolist()
