"""The jobs: the whole lineage, the benchmark's path from the source to the favourite perks and the rest of the
lineage after it, the path to the campaign plan (campaign coverage), and the campaign's results and read-out
(campaign_signups_sensor)."""

from dagster import AssetSelection, define_asset_job

# A multi-asset (user_segments with user_segment_profiles) runs whole: a selection upstream of an asset takes the
# other assets of the same step along.

refresh_all = define_asset_job("refresh_all", selection=AssetSelection.all(), description="The whole lineage.")
_TO_PERK_ASSIGNMENTS = AssetSelection.assets("perk_assignments").upstream().required_multi_asset_neighbors()
to_perk_assignments = define_asset_job(
    "to_perk_assignments",
    selection=_TO_PERK_ASSIGNMENTS,
    description="From the source to the favourite perks, without evidence, report or accuracy (the benchmark's run).",
)
after_perk_assignments = define_asset_job(
    "after_perk_assignments",
    selection=AssetSelection.all() - _TO_PERK_ASSIGNMENTS,
    description="The rest of the whole lineage on a warehouse that holds to_perk_assignments' tables: reliability, "
    "segment evidence, summary, accuracy, campaign, report and slides (the benchmark's second run, for the cost "
    "of each of these steps).",
)
to_campaign_plan = define_asset_job(
    "to_campaign_plan",
    selection=AssetSelection.assets("campaign_plan").upstream().required_multi_asset_neighbors(),
    description="From the source to the invitation campaign's plan, without the report (campaign coverage).",
)
# The results and everything that shows them: the read-out, and the report and slides that state it.
campaign_results = define_asset_job(
    "campaign_results",
    selection=AssetSelection.assets("campaign_signups").downstream(),
    description="The campaign's sign-ups, their blocking check, the read-out, and the report and slides that show "
    "it (started by campaign_signups_sensor).",
)
