"""Dagster resources: the TravelTide source, the DuckDB warehouse (+ Parquet exports) and the study settings."""

from __future__ import annotations

import datetime as dt

from dagster import ConfigurableResource
from pydantic import Field, field_validator

from traveltide_assets.defs.partitions import FIRST_SESSION_MONTH


def check_cohort_start(value: str) -> str:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"cohort_start must be a date YYYY-MM-DD, got {value!r}") from None
    if day > dt.date.today():
        raise ValueError(f"cohort_start {value} is in the future")
    if day < FIRST_SESSION_MONTH:
        raise ValueError(
            f"cohort_start {value} is before {FIRST_SESSION_MONTH}, the first session month the raw extracts hold"
        )
    return value


def check_min_sessions(value: int) -> int:
    if value < 0:
        raise ValueError(f"min_sessions must be >= 0, got {value}")
    return value


class StudySettings(ConfigurableResource):
    """The cohort definition, shared by the extraction (date pushdown) and the cohort asset."""

    cohort_start: str = Field(default="2023-01-04", description="Sessions strictly after this date count.")
    min_sessions: int = Field(default=7, description="Cohort users have more than this many sessions.")

    @field_validator("cohort_start")
    @classmethod
    def _valid_start(cls, value: str) -> str:
        return check_cohort_start(value)

    @field_validator("min_sessions")
    @classmethod
    def _valid_min(cls, value: int) -> int:
        return check_min_sessions(value)

    @property
    def start_timestamp(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.cohort_start)
