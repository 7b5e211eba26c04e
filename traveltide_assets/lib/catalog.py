"""The five rewards perks marketing proposes: the vocabulary shared by the generator and the pipeline."""

from __future__ import annotations

# Stable identifiers (stored in tables) with the label marketing uses.
PERK_LABELS: dict[str, str] = {
    "free_hotel_meal": "Free hotel meal",
    "free_checked_bag": "Free checked bag",
    "no_cancellation_fees": "No cancellation fees",
    "exclusive_discounts": "Exclusive discounts",
    "free_hotel_night_with_flight": "One free hotel night with flight",
}
PERKS: tuple[str, ...] = tuple(PERK_LABELS)
NO_PERK = "none"

# How sure the favourite perk is (thresholds: resources.PerkModelSettings, docs/perk_model.md).
CONFIDENCE_BANDS: tuple[str, ...] = ("high", "medium", "low")
