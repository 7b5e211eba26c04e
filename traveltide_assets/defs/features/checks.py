"""The user features' checks: one row per cohort customer, values in range.

Each rule is sql/features/checks/<name>.sql: a query of the rows that break it."""

from traveltide_assets.defs.checks import CheckSpec, build_checks

CHECKS = (
    CheckSpec("features", "user_features", "features_one_row_per_cohort_user", "user_features.user_id"),
    CheckSpec("features", "user_features", "features_in_range", "user_features"),
)
asset_checks = build_checks(CHECKS)
