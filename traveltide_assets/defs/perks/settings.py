"""Dagster resources: the TravelTide source, the DuckDB warehouse (+ Parquet exports) and the study settings."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource
from pydantic import Field, field_validator


class PerkModelSettings(ConfigurableResource):
    """How sure a favourite must be to count as high or medium confidence, and how long the model may fit.

    Bands (docs/perk_model.md): `high` where the favourite's probability is at least `high_confidence`,
    `medium` from `medium_confidence`, else `low`. With five perks, chance is 0.2."""

    high_confidence: float = Field(default=0.6, description="Probability of the favourite from which it is 'high'.")
    medium_confidence: float = Field(default=0.4, description="Probability from which it is 'medium'.")
    max_iterations: int = Field(default=500, description="Iterations of the model's optimiser.")
    tolerance: float = Field(default=1e-9, description="Relative change of the likelihood at which a fit stops.")

    @field_validator("high_confidence", "medium_confidence")
    @classmethod
    def _probability(cls, value: float, info: Any) -> float:
        if not 0.2 < value < 1:
            raise ValueError(f"{info.field_name} must be above 0.2 (chance with five perks) and below 1, got {value}")
        return value

    @field_validator("medium_confidence")
    @classmethod
    def _ordered(cls, value: float, info: Any) -> float:
        high = info.data.get("high_confidence")
        if high is not None and value >= high:
            raise ValueError(f"medium_confidence ({value}) must be below high_confidence ({high})")
        return value

    @field_validator("max_iterations")
    @classmethod
    def _iterations(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"max_iterations must be at least 1, got {value}")
        return value

    @field_validator("tolerance")
    @classmethod
    def _tolerance(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(f"tolerance must be between 0 and 1, got {value}")
        return value

    def band(self, probability: Any) -> Any:
        """'high' / 'medium' / 'low' for an array of favourite probabilities."""
        import numpy as np

        p = np.asarray(probability, dtype=float)
        return np.where(p >= self.high_confidence, "high", np.where(p >= self.medium_confidence, "medium", "low"))
