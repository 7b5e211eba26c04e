"""Perk mixes: the share of synthetic users whose hidden favourite is each perk (or none)."""

from __future__ import annotations

from collections.abc import Mapping

from traveltide_assets.lib.catalog import NO_PERK, PERKS

PerkMix = Mapping[str, float]

MIXES: dict[str, PerkMix] = {
    # Every user has a favourite, all perks equally common: chance accuracy is 20%.
    "default": dict.fromkeys(PERKS, 0.2),
    # Skewed shares, as a real base would more likely be: balanced accuracy is the fair figure here.
    "unbalanced": {
        "free_hotel_meal": 0.10,
        "free_checked_bag": 0.35,
        "no_cancellation_fees": 0.08,
        "exclusive_discounts": 0.30,
        "free_hotel_night_with_flight": 0.17,
    },
    # Nobody has a preference: behaviour is the population baseline, so no segments should be found.
    "null": {NO_PERK: 1.0},
}


class UnknownMixError(ValueError):
    pass


def resolve_mix(name_or_spec: str) -> dict[str, float]:
    """A named mix, or an explicit one written 'perk=share,perk=share' (shares are normalised)."""
    if name_or_spec in MIXES:
        return dict(MIXES[name_or_spec])
    if "=" not in name_or_spec:
        known = ", ".join(MIXES)
        raise UnknownMixError(f"unknown perk mix {name_or_spec!r}: use one of {known} or 'perk=share,...'")
    mix: dict[str, float] = {}
    for part in name_or_spec.split(","):
        perk, _, share = part.partition("=")
        perk = perk.strip()
        if perk not in (*PERKS, NO_PERK):
            raise UnknownMixError(f"unknown perk {perk!r} in mix: perks are {', '.join(PERKS)}, {NO_PERK}")
        try:
            value = float(share)
        except ValueError:
            raise UnknownMixError(f"share of {perk!r} is not a number: {share!r}") from None
        if value < 0:
            raise UnknownMixError(f"share of {perk!r} is negative: {value}")
        mix[perk] = value
    total = sum(mix.values())
    if total <= 0:
        raise UnknownMixError("a perk mix needs at least one positive share")
    return {perk: share / total for perk, share in mix.items()}
