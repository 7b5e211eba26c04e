"""The jobs: the whole lineage, and the benchmark's path from the source to the favourite perks."""

from dagster import AssetSelection, define_asset_job

refresh_all = define_asset_job("refresh_all", selection=AssetSelection.all(), description="The whole lineage.")
to_perk_assignments = define_asset_job(
    "to_perk_assignments",
    selection=AssetSelection.assets("perk_assignments").upstream(),
    description="From the source to the favourite perks, without evidence, report or accuracy (the benchmark's run).",
)
