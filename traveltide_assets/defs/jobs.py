"""The jobs: the whole lineage, the benchmark's path from the source to the favourite perks, the path to the
campaign plan (campaign coverage), and the campaign's results and read-out (campaign_signups_sensor)."""

from dagster import AssetSelection, define_asset_job

# A multi-asset (user_segments with user_segment_profiles) runs whole: a selection upstream of an asset takes the
# other assets of the same step along.

refresh_all = define_asset_job("refresh_all", selection=AssetSelection.all(), description="The whole lineage.")
to_perk_assignments = define_asset_job(
    "to_perk_assignments",
    selection=AssetSelection.assets("perk_assignments").upstream().required_multi_asset_neighbors(),
    description="From the source to the favourite perks, without evidence, report or accuracy (the benchmark's run).",
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
