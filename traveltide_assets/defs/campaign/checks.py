"""The campaign plan's checks (the sign-ups' blocking check lives with them in signups.py).

Each rule is sql/campaign/checks/<name>.sql: a query of the rows that break it."""

from traveltide_assets.defs.checks import CheckSpec, build_checks

CHECKS = (
    CheckSpec("campaign", "campaign_plan", "plan_covers_cohort", "campaign_plan.user_id", reads=("perk_assignments",)),
    CheckSpec("campaign", "campaign_plan", "one_valid_plan_row_per_customer", "campaign_plan"),
)
asset_checks = build_checks(CHECKS)
