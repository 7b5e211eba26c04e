"""What the HTML report shows, as data: ReportData (read from the warehouse by the asset in summary.py) and the
campaign's two sections. Pure: no Dagster."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from traveltide_assets.lib.campaign_plan import PlanSummary


@dataclass
class CampaignSection:
    """The invitation campaign's plan: its figures, the policy and the power figure in words (campaign_plan.py)."""

    summary: PlanSummary
    policy: str
    power: str


@dataclass
class ReadoutSection:
    """The campaign's read-out (tables campaign_readout and campaign_uplift; both empty while results are awaited)
    and where its sign-ups were read."""

    campaign_id: str
    readout: pd.DataFrame
    uplift: pd.DataFrame
    read_from: str | None = None


@dataclass
class ReportData:
    cohort_definition: str
    cohort_users: int
    cohort_sessions: int
    evidence: dict[str, Any]
    perk_counts: pd.Series  # favourite perk -> users
    segment_profile: pd.DataFrame  # index segment, columns users + features
    segment_leaning: pd.DataFrame  # segment x perk share
    examples: pd.DataFrame  # user_id, favourite_perk, probability, confidence, reason
    cleaning: dict[str, int]
    accuracy: dict[str, Any] | None
    charts: dict[str, str] = field(default_factory=dict)  # title -> inline SVG
    # How far to trust a customer's perk: the split-half reliability ('all' row of assignment_reliability),
    # the share of customers per confidence band, the bands' thresholds, and (planted truth only) the
    # perk_calibration table with its chart.
    reliability: dict[str, Any] | None = None
    confidence_shares: dict[str, float] = field(default_factory=dict)
    confidence_thresholds: dict[str, float] = field(default_factory=dict)  # high, medium
    calibration: pd.DataFrame | None = None
    calibration_chart: str | None = None
    synthetic: bool = False  # the source is the synthetic TravelTide source
    source: str = ""  # where the customers come from, in one line (publish.source_metadata)
    campaign: CampaignSection | None = None  # None before the configured campaign has a plan
    readout: ReadoutSection | None = None  # None before campaign_readout ever ran
