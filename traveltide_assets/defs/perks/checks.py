"""The perk stage's checks: finite scores, probabilities that sum to one, one valid assignment each.

Each rule is sql/perks/checks/<name>.sql: a query of the rows that break it."""

from traveltide_assets.defs.checks import CheckSpec, build_checks

CHECKS = (
    CheckSpec("perks", "perk_scores", "scores_finite", "perk_scores.score_*"),
    CheckSpec(
        "perks", "perk_probabilities", "probabilities_sum_to_one", "perk_probabilities.p_*", reads=("perk_evidence",)
    ),
    CheckSpec("perks", "perk_assignments", "one_valid_assignment_per_cohort_user", "perk_assignments.user_id"),
)
asset_checks = build_checks(CHECKS)
