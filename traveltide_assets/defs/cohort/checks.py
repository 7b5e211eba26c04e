"""The session cohort's checks: the cohort rule holds, nights are clean.

Each rule is sql/cohort/checks/<name>.sql: a query of the rows that break it."""

from traveltide_assets.defs.checks import CheckSpec, build_checks

CHECKS = (
    CheckSpec("cohort", "session_cohort", "cohort_rule_holds", "session_cohort.user_id"),
    CheckSpec("cohort", "session_cohort", "cohort_nights_clean", "session_cohort.nights"),
)
asset_checks = build_checks(CHECKS)
