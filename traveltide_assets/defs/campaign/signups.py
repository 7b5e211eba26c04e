"""The campaign's sign-ups as they come back (sources/signups.py reads them), their blocking check, and the
sensor that notices new results."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DefaultSensorStatus,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    SensorResult,
    SkipReason,
    asset,
    asset_check,
    sensor,
)

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.campaign.plan import PLAN_TABLE, campaign_plan
from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.jobs import campaign_results
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.sources.signups import (
    NO_RESULTS,
    RULES,
    SHOWN_USER_IDS,
    SIGNUP_COLUMNS,
    SIGNUPS_SCHEMA,
    SIGNUPS_TABLE,
    Validation,
    fingerprint,
    looked_in,
    read_signups,
    validate,
)
from traveltide_assets.storage.duck import one_row, run
from traveltide_assets.storage.publish import has_table, publish_arrow
from traveltide_assets.storage.warehouse import Warehouse

SIGNUPS_ORIGIN_TABLE = "campaign_state.signups_origin"  # bookkeeping beside campaign_signups: where they came from


AWAITING_RESULTS = "awaiting results"


RESULTS_IN = "results in"


def _record_origin(con: duckdb.DuckDBPyConnection, campaign_id: str, origin: str | None) -> None:
    """Which campaign the published sign-ups are of and where they were read (NULL: nowhere yet), so that the
    read-out tells 'nobody signed up' from 'no results yet'."""
    run(con, "CREATE SCHEMA IF NOT EXISTS campaign_state")
    run(
        con,
        f"CREATE OR REPLACE TABLE {SIGNUPS_ORIGIN_TABLE} AS "
        "SELECT $campaign_id AS campaign_id, CAST($origin AS VARCHAR) AS origin, now() AS read_at",
        {"campaign_id": campaign_id, "origin": origin},
    )


@asset(
    group_name="campaign",
    deps=[campaign_plan],
    kinds={"duckdb", "parquet"},
    description="The configured campaign's sign-ups (campaign_id, user_id, signed_up_at), read from the first "
    "that exists: the file CampaignSettings.signups_path (Parquet or CSV; env TRAVELTIDE_CAMPAIGN_SIGNUPS), the "
    "source PostgreSQL's table campaign_signups (read-only), the embedded store's campaign_signups.parquet. None: "
    "awaiting results (no rows). A planned customer absent from it did not sign up.",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def campaign_signups(
    context, source: TravelTideSource, warehouse: Warehouse, campaign: CampaignSettings
) -> MaterializeResult:
    found = read_signups(campaign.signups_path, source)
    own = found.of_campaign(campaign.campaign_id) if found else SIGNUPS_SCHEMA.empty_table()
    origin = found.origin if found else None
    with warehouse.connect() as con:
        metadata = publish_arrow(
            con, warehouse, SIGNUPS_TABLE, own, also=lambda: _record_origin(con, campaign.campaign_id, origin)
        )
    where = origin or "nowhere yet; looked in " + ", then ".join(looked_in(campaign.signups_path, source))
    context.log.info(f"campaign_signups: {own.num_rows:,} sign-ups of {campaign.campaign_id} from {where}")
    metadata.update(
        {
            "campaign_id": MetadataValue.text(campaign.campaign_id),
            "status": MetadataValue.text(RESULTS_IN if found else AWAITING_RESULTS),
            "read_from": MetadataValue.text(where),
            "signups": MetadataValue.int(own.num_rows),
            "other_campaigns_rows_ignored": MetadataValue.int(found.table.num_rows - own.num_rows if found else 0),
        }
    )
    return MaterializeResult(metadata=metadata)


def campaign_rows(con: duckdb.DuckDBPyConnection, campaign_id: str, columns: str) -> pd.DataFrame:
    """The configured campaign's plan rows (empty before a plan)."""
    if not has_table(con, PLAN_TABLE):
        return pd.DataFrame(columns=[c.strip() for c in columns.split(",")])
    sql = f"SELECT {columns} FROM {PLAN_TABLE} WHERE campaign_id = $campaign_id ORDER BY user_id"
    return con.sql(sql, params={"campaign_id": campaign_id}).df()


def _offending_rows(signups: pd.DataFrame, validation: Validation) -> str:
    """A markdown sample of the rows breaking each rule: up to SHOWN_USER_IDS customers per rule."""
    parts = []
    for rule, violation in validation.violations.items():
        shown = list(violation.rows_per_user)[:SHOWN_USER_IDS]
        rows = signups[signups["user_id"].isin(shown)].assign(rule=rule)
        parts.append(rows[["rule", *SIGNUP_COLUMNS]])
    return pd.concat(parts).to_markdown(index=False) if parts else ""


@asset_check(
    asset=campaign_signups,
    name="campaign_signups_valid",
    blocking=True,
    additional_deps=["raw_users", campaign_plan],
    description="Every sign-up names a known customer (unknown_customer), who is in the campaign's plan "
    "(not_in_plan), once (duplicate), and not before the customer's assigned_at (before_assigned_at). "
    "Blocks the read-out.",
)
def campaign_signups_valid(warehouse: Warehouse, campaign: CampaignSettings) -> AssetCheckResult:
    with warehouse.connect() as con:
        signups = con.sql(f"SELECT * FROM {SIGNUPS_TABLE}").df()
        plan = campaign_rows(con, campaign.campaign_id, "user_id, assigned_at")
        known = con.sql("SELECT user_id FROM raw_users").df()["user_id"] if has_table(con, "raw_users") else []
    validation = validate(signups, plan, known)
    metadata: dict[str, Any] = {
        "checked_rows": MetadataValue.int(validation.checked_rows),
        "rows_breaking_each_rule": MetadataValue.json(validation.counts()),
        "rules": MetadataValue.md("\n".join(f"- `{rule}`: {sentence}" for rule, sentence in RULES.items())),
    }
    if not validation.passed:
        metadata["offending_rows"] = MetadataValue.md(_offending_rows(signups, validation))
    return AssetCheckResult(
        passed=validation.passed,
        severity=AssetCheckSeverity.ERROR,
        description=validation.describe(),
        metadata=metadata,
    )


def signups_origin(con: duckdb.DuckDBPyConnection) -> tuple[str, str | None] | None:
    """(campaign_id, origin or None) of the published sign-ups; None before campaign_signups ever ran."""
    if not has_table(con, SIGNUPS_ORIGIN_TABLE):
        return None
    row = one_row(con, f"SELECT campaign_id, origin FROM {SIGNUPS_ORIGIN_TABLE}")
    return (str(row[0]), row[1]) if row else None


@sensor(
    name="campaign_signups_sensor",
    job=campaign_results,
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.RUNNING,
    description="Notices new campaign results: when the sign-ups location (the file's size and modification time, "
    "or the source table's row count and newest signed_up_at) changes, runs job campaign_results: "
    "campaign_signups, its blocking check, campaign_readout, and the report and slides that show it.",
)
def campaign_signups_sensor(context, source: TravelTideSource, campaign: CampaignSettings) -> SensorResult:
    current = fingerprint(campaign.signups_path, source)
    if current == NO_RESULTS:
        return SensorResult(skip_reason=SkipReason("no campaign results yet"), cursor=current)
    if current == context.cursor:
        return SensorResult(skip_reason=SkipReason(f"no new results since the last run ({current})"), cursor=current)
    return SensorResult(
        run_requests=[RunRequest(run_key=current, tags={"campaign_id": campaign.campaign_id})], cursor=current
    )
