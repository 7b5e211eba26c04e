"""Dagster resources: the TravelTide source, the DuckDB warehouse (+ Parquet exports) and the study settings."""

from __future__ import annotations

import re
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field, field_validator

CAMPAIGN_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


SHARE_FIELDS = ("personalised_share", "generic_share", "random_perk_share")


class CampaignSettings(ConfigurableResource):
    """The invitation campaign: its id, the plan's randomisation and arm shares, the personalisation policy's
    assumed effects, and the base rate the power figure assumes (campaign_plan.py; README "The invitation campaign").

    Fields whose rule involves an earlier field (the shares' sum, gain and cost not both 0) validate their
    default too, so a run that configures only one share is still checked."""

    campaign_id: str = Field(
        default="rewards_invitation_1", description="Names the plan and its folder; a new id issues a new plan."
    )
    seed: int = Field(default=2027, description="The plan's randomisation: the same seed gives the same plan.")
    personalised_share: float = Field(default=0.6, description="Share of each stratum in the personalised arm.")
    generic_share: float = Field(default=0.2, description="Share in the generic arm (the email listing all perks).")
    random_perk_share: float = Field(
        default=0.2, validate_default=True, description="Share in the random-perk arm (a perk not the favourite)."
    )
    match_gain: float = Field(
        default=0.03, description="ASSUMED extra sign-up probability when the email leads with the true favourite."
    )
    mismatch_cost: float = Field(
        default=0.02, validate_default=True, description="ASSUMED loss when the email leads with another perk."
    )
    base_rate: float = Field(default=0.10, description="Assumed sign-up rate of the generic email (power figure).")
    signups_path: str | None = Field(default=None, description="A Parquet or CSV file of the campaign's sign-ups.")

    @field_validator("campaign_id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not CAMPAIGN_ID_PATTERN.fullmatch(value):
            raise ValueError(
                f"campaign_id must be 1-64 lower-case letters, digits, '_' or '-', starting with a letter or digit "
                f"(it names a folder), got {value!r}"
            )
        return value

    @field_validator("seed")
    @classmethod
    def _valid_seed(cls, value: int) -> int:
        if value < 0:  # numpy's seed sequences take non-negative integers only
            raise ValueError(f"seed must be >= 0, got {value}")
        return value

    @field_validator(*SHARE_FIELDS)
    @classmethod
    def _positive_share(cls, value: float, info: Any) -> float:
        if not 0 < value < 1:
            raise ValueError(f"{info.field_name} must be between 0 and 1 (every arm gets customers), got {value}")
        return value

    @field_validator("random_perk_share")
    @classmethod
    def _shares_sum_to_one(cls, value: float, info: Any) -> float:
        shares = [info.data.get(name) for name in SHARE_FIELDS[:-1]] + [value]
        if None not in shares and abs(sum(shares) - 1) > 1e-9:
            listed = " + ".join(f"{s:g}" for s in shares)
            raise ValueError(f"the arm shares must sum to 1, got {listed} = {sum(shares):g}")
        return value

    @field_validator("match_gain", "mismatch_cost")
    @classmethod
    def _non_negative(cls, value: float, info: Any) -> float:
        if not 0 <= value < 1:
            raise ValueError(f"{info.field_name} is a change of sign-up probability, >= 0 and below 1, got {value}")
        return value

    @field_validator("mismatch_cost")
    @classmethod
    def _some_effect(cls, value: float, info: Any) -> float:
        if value == 0 and info.data.get("match_gain") == 0:
            raise ValueError("match_gain and mismatch_cost cannot both be 0 (the policy would have nothing to weigh)")
        return value

    @field_validator("base_rate")
    @classmethod
    def _valid_base_rate(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(f"base_rate must be between 0 and 1, got {value}")
        return value

    @property
    def shares(self) -> tuple[float, float, float]:
        """The arm shares in campaign_plan.ARMS order: personalised, generic, random_perk."""
        return (self.personalised_share, self.generic_share, self.random_perk_share)
