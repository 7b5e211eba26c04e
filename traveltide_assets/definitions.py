"""The one front door: every asset, check, resource, job, schedule and sensor of TravelTide Segments."""

from __future__ import annotations

from dagster import AssetsDefinition, Definitions, in_process_executor

from traveltide_assets.defs.campaign.checks import asset_checks as campaign_checks
from traveltide_assets.defs.campaign.plan import campaign_plan
from traveltide_assets.defs.campaign.readout import campaign_readout
from traveltide_assets.defs.campaign.signups import campaign_signups, campaign_signups_sensor, campaign_signups_valid
from traveltide_assets.defs.cohort.assets import session_cohort
from traveltide_assets.defs.cohort.checks import asset_checks as cohort_checks
from traveltide_assets.defs.evaluation.assets import perk_accuracy, perk_calibration
from traveltide_assets.defs.features.assets import user_features
from traveltide_assets.defs.features.checks import asset_checks as features_checks
from traveltide_assets.defs.jobs import (
    after_perk_assignments,
    campaign_results,
    refresh_all,
    to_campaign_plan,
    to_perk_assignments,
)
from traveltide_assets.defs.perks.assets import perk_assignments, perk_scores, perk_summary
from traveltide_assets.defs.perks.checks import asset_checks as perks_checks
from traveltide_assets.defs.perks.probabilities import assignment_reliability, perk_evidence, perk_probabilities
from traveltide_assets.defs.raw.assets import raw_assets
from traveltide_assets.defs.raw.checks import asset_checks as raw_checks
from traveltide_assets.defs.report.slides import executive_slides
from traveltide_assets.defs.report.summary import executive_summary
from traveltide_assets.defs.resources import build_resources
from traveltide_assets.defs.schedules import daily_refresh
from traveltide_assets.defs.segments.assets import user_segments
from traveltide_assets.defs.segments.evidence import segment_evidence

# Each declares a single-run backfill policy (defs/backfill.py): a backfill of many months is one run.
all_assets: list[AssetsDefinition] = [
    *raw_assets,
    session_cohort,
    user_features,
    perk_scores,
    perk_evidence,
    perk_probabilities,
    assignment_reliability,
    user_segments,
    segment_evidence,
    perk_assignments,
    perk_summary,
    perk_accuracy,
    perk_calibration,
    campaign_plan,
    campaign_signups,
    campaign_readout,
    executive_summary,
    executive_slides,
]


defs = Definitions(
    assets=all_assets,
    asset_checks=[
        *raw_checks,
        *cohort_checks,
        *features_checks,
        *perks_checks,
        *campaign_checks,
        campaign_signups_valid,
    ],
    jobs=[refresh_all, to_perk_assignments, after_perk_assignments, to_campaign_plan, campaign_results],
    schedules=[daily_refresh],
    sensors=[campaign_signups_sensor],
    resources=build_resources(),
    # One DuckDB file takes one writer at a time: steps run one after another in the run's process.
    executor=in_process_executor,
)
