"""Asset checks: each is a SQL file in sql/checks/ that selects the rows breaking its rule.

A check passes when that query returns no rows; otherwise it reports the count and a sample of the rows at
fault, naming the table and column. Checks guarding downstream data are blocking: a failure stops the
assets below it, so nothing downstream is overwritten with bad data.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    multi_asset_check,
)

from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.sql_files import read_sql
from traveltide_assets.storage.duck import one_row
from traveltide_assets.storage.warehouse import Warehouse

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class CheckSpec:
    asset: str
    name: str
    table_column: str  # what the failure message names, e.g. 'raw_sessions.user_id'
    blocking: bool = True
    reads: tuple[str, ...] = ()  # other assets the rule reads: the check waits for them in the same run


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("raw_users", "users_primary_key", "raw_users.user_id"),
    CheckSpec("raw_users", "users_birthdate_plausible", "raw_users.birthdate"),
    CheckSpec("raw_sessions", "sessions_primary_key", "raw_sessions.session_id"),
    CheckSpec("raw_sessions", "sessions_have_known_users", "raw_sessions.user_id", reads=("raw_users",)),
    CheckSpec(
        "raw_sessions", "sessions_booked_trips_exist", "raw_sessions.trip_id", reads=("raw_flights", "raw_hotels")
    ),
    CheckSpec("raw_sessions", "sessions_discount_amounts_in_range", "raw_sessions.*_discount_amount"),
    CheckSpec("raw_sessions", "sessions_page_clicks_plausible", "raw_sessions.page_clicks"),
    CheckSpec("raw_sessions", "sessions_not_in_future", "raw_sessions.session_start"),
    CheckSpec("raw_flights", "flights_primary_key", "raw_flights.trip_id"),
    CheckSpec("raw_flights", "flights_values_in_range", "raw_flights.base_fare_usd/seats/checked_bags"),
    CheckSpec("raw_hotels", "hotels_primary_key", "raw_hotels.trip_id"),
    CheckSpec("raw_hotels", "hotels_values_in_range", "raw_hotels.nights/rooms/hotel_per_room_usd"),
    CheckSpec("session_cohort", "cohort_rule_holds", "session_cohort.user_id"),
    CheckSpec("session_cohort", "cohort_nights_clean", "session_cohort.nights"),
    CheckSpec("user_features", "features_one_row_per_cohort_user", "user_features.user_id"),
    CheckSpec("user_features", "features_in_range", "user_features"),
    CheckSpec("perk_scores", "scores_finite", "perk_scores.score_*"),
    CheckSpec("perk_probabilities", "probabilities_sum_to_one", "perk_probabilities.p_*", reads=("perk_evidence",)),
    CheckSpec("perk_assignments", "one_valid_assignment_per_cohort_user", "perk_assignments.user_id"),
    CheckSpec("campaign_plan", "plan_covers_cohort", "campaign_plan.user_id", reads=("perk_assignments",)),
    CheckSpec("campaign_plan", "one_valid_plan_row_per_customer", "campaign_plan"),
)


def count_violations(
    warehouse: Warehouse, study: StudySettings, check_name: str, campaign: CampaignSettings | None = None
) -> tuple[int, str]:
    """(rows breaking the rule, a markdown sample of them)."""
    sql = read_sql(f"checks/{check_name}.sql")
    campaign_id = (campaign or CampaignSettings()).campaign_id
    available = {"cohort_start": study.cohort_start, "min_sessions": study.min_sessions, "campaign_id": campaign_id}
    params = {k: v for k, v in available.items() if re.search(rf"\${k}\b", sql)}
    with warehouse.connect() as con:
        count = int(one_row(con, f"SELECT count(*) FROM ({sql})", params)[0])
        sample = con.sql(f"SELECT * FROM ({sql}) LIMIT {SAMPLE_ROWS}", params=params).df() if count else None
    return count, (sample.to_markdown(index=False) if sample is not None else "")


def _description(spec: CheckSpec) -> str:
    return read_sql(f"checks/{spec.name}.sql").splitlines()[0].removeprefix("-- ")


def evaluate(
    warehouse: Warehouse, study: StudySettings, spec: CheckSpec, campaign: CampaignSettings | None = None
) -> AssetCheckResult:
    count, sample = count_violations(warehouse, study, spec.name, campaign)
    metadata = {"violating_rows": MetadataValue.int(count)}
    if count:
        metadata["sample"] = MetadataValue.md(sample)
    return AssetCheckResult(
        asset_key=spec.asset,
        check_name=spec.name,
        passed=count == 0,
        severity=AssetCheckSeverity.ERROR,
        description=f"{spec.table_column}: {count:,} rows break the rule '{_description(spec)}'" if count else None,
        metadata=metadata,
    )


def _build(name: str, specs: list[CheckSpec]) -> AssetChecksDefinition:
    """Checks of one asset evaluated in one step (each can still be run on its own: can_subset)."""
    check_specs = [
        AssetCheckSpec(
            name=spec.name,
            asset=spec.asset,
            description=_description(spec),
            blocking=spec.blocking,
            additional_deps=list(spec.reads),
        )
        for spec in specs
    ]

    @multi_asset_check(name=name, specs=check_specs, can_subset=True)
    def _checks(
        context: AssetCheckExecutionContext, warehouse: Warehouse, study: StudySettings, campaign: CampaignSettings
    ) -> Iterator[AssetCheckResult]:
        selected = {key.name for key in context.selected_asset_check_keys}
        for spec in specs:
            if spec.name in selected:
                yield evaluate(warehouse, study, spec, campaign)

    return _checks


def _step_name(asset: str, reads: tuple[str, ...]) -> str:
    return f"{asset}_checks" + (f"_against_{'_'.join(reads)}" if reads else "")


# One step per asset and set of other assets read: a check that reads another asset waits for it (and is
# skipped when that asset's blocking checks fail) without holding back the checks that do not read it.
_GROUPS = dict.fromkeys((spec.asset, spec.reads) for spec in CHECKS)
asset_checks = [
    _build(_step_name(asset, reads), [spec for spec in CHECKS if (spec.asset, spec.reads) == (asset, reads)])
    for asset, reads in _GROUPS
]
