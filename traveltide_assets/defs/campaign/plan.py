"""The invitation campaign's plan: who gets which email, frozen once issued and extended for newcomers
(lib/campaign_plan.py holds the logic), with its exports for the email tool."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import (
    MaterializeResult,
    MetadataValue,
    asset,
)

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.perks.assets import perk_assignments
from traveltide_assets.lib.campaign_plan import (
    COHORT_COLUMNS,
    PlanDesign,
    PlanSummary,
    Policy,
    arms_by_stratum,
    extend_plan,
    policy_sentence,
    power_sentence,
    summarise,
)
from traveltide_assets.storage.atomic import replacing
from traveltide_assets.storage.publish import PREVIEW_ROWS, has_table, publish_arrow
from traveltide_assets.storage.warehouse import Warehouse

PLAN_TABLE = "campaign_plan"


PLAN_SCHEMA = pa.schema(
    [
        ("campaign_id", pa.string()),
        ("user_id", pa.int64()),
        ("arm", pa.string()),
        ("email_perk", pa.string()),
        ("template", pa.string()),
        ("favourite_perk", pa.string()),
        ("probability", pa.float64()),
        ("confidence", pa.string()),
        ("assigned_at", pa.timestamp("us", tz="UTC")),
    ]
)


CSV_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # ISO 8601 in UTC, what email tools import without guessing


def plan_design(campaign: CampaignSettings) -> PlanDesign:
    return PlanDesign(
        campaign_id=campaign.campaign_id,
        seed=campaign.seed,
        shares=campaign.shares,
        policy=Policy(match_gain=campaign.match_gain, mismatch_cost=campaign.mismatch_cost),
    )


def plan_export_paths(warehouse: Warehouse, campaign_id: str) -> tuple[Path, Path]:
    """The email tool's copy of one campaign's plan: (plan.csv, plan.parquet) in <campaign_dir>/<campaign_id>/."""
    folder = Path(warehouse.campaign_dir) / campaign_id
    return folder / "plan.csv", folder / "plan.parquet"


def read_plan(warehouse: Warehouse) -> pd.DataFrame | None:
    """Every campaign's planned rows, or None before the first plan."""
    with warehouse.connect() as con:
        if not has_table(con, PLAN_TABLE):
            return None
        return con.sql(f"SELECT * FROM {PLAN_TABLE}").df()


def _write_exports(own: pd.DataFrame, csv_path: Path, parquet_path: Path) -> None:
    own.to_csv(csv_path, index=False, encoding="utf-8", date_format=CSV_TIME_FORMAT, lineterminator="\n")
    pq.write_table(pa.Table.from_pandas(own, schema=PLAN_SCHEMA, preserve_index=False), parquet_path)


def _plan_metadata(summary: PlanSummary, campaign: CampaignSettings, plan: pd.DataFrame) -> dict[str, Any]:
    own = plan[plan["campaign_id"] == summary.campaign_id]
    mde = summary.detectable_difference
    return {
        "campaign_id": MetadataValue.text(summary.campaign_id),
        "customers": MetadataValue.int(summary.customers),
        "customers_per_arm": MetadataValue.json(summary.per_arm),
        "personalised_emails": MetadataValue.json(
            {
                "with_their_favourite_perk": summary.personalised_with_perk,
                "generic_fallback": summary.personalised_fallback,
            }
        ),
        "policy": MetadataValue.text(policy_sentence(plan_design(campaign).policy)),
        "policy_threshold": MetadataValue.float(round(summary.threshold, 6)),
        "base_rate": MetadataValue.float(summary.base_rate),
        "minimum_detectable_difference": MetadataValue.float(mde) if math.isfinite(mde) else MetadataValue.text("none"),
        "power": MetadataValue.text(power_sentence(summary)),
        "assumed_difference": MetadataValue.float(summary.assumed_difference),
        "batches": MetadataValue.int(summary.batches),
        "arms_by_stratum": MetadataValue.md(arms_by_stratum(plan, summary.campaign_id).to_markdown()),
        "preview": MetadataValue.md(own.head(PREVIEW_ROWS).to_markdown(index=False) if len(own) else "(no rows)"),
        "rows_per_campaign": MetadataValue.json(
            {str(c): int(n) for c, n in plan["campaign_id"].value_counts().items()}
        ),
    }


@asset(
    group_name="campaign",
    deps=[perk_assignments],
    kinds={"duckdb", "parquet", "csv"},
    description="The invitation campaign's plan: per cohort customer the arm (personalised / generic / "
    "random_perk, stratified by favourite perk and confidence), the email's perk and template. Frozen once "
    "issued: a refresh keeps every planned row and adds new cohort customers with their own assigned_at. "
    "Exported for the email tool to <campaign_dir>/<campaign_id>/plan.csv and plan.parquet.",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def campaign_plan(warehouse: Warehouse, campaign: CampaignSettings) -> MaterializeResult:
    with warehouse.connect() as con:
        cohort = con.sql(f"SELECT {', '.join(COHORT_COLUMNS)} FROM perk_assignments").df()
    extended = extend_plan(read_plan(warehouse), cohort, plan_design(campaign), dt.datetime.now(dt.UTC))
    plan = extended.table
    own = plan[plan["campaign_id"] == campaign.campaign_id]
    csv_path, parquet_path = plan_export_paths(warehouse, campaign.campaign_id)
    # The exports are staged first and renamed into place only once the table has committed: the email tool
    # never sees a plan the warehouse does not hold.
    with replacing(csv_path) as staged_csv, replacing(parquet_path) as staged_parquet:
        _write_exports(own, staged_csv, staged_parquet)
        with warehouse.connect() as con:
            table = pa.Table.from_pandas(plan, schema=PLAN_SCHEMA, preserve_index=False)
            metadata = publish_arrow(con, warehouse, PLAN_TABLE, table)
    summary = summarise(plan, campaign.campaign_id, plan_design(campaign).policy, campaign.base_rate)
    metadata.update(_plan_metadata(summary, campaign, plan))
    in_cohort = own["user_id"].isin(cohort["user_id"])
    metadata.update(
        {
            "customers_added": MetadataValue.int(extended.added),
            "batch_number": MetadataValue.int(extended.batch_number or 0),
            "planned_customers_no_longer_in_cohort": MetadataValue.int(int((~in_cohort).sum())),
            "plan_csv": MetadataValue.path(str(csv_path)),
            "plan_parquet": MetadataValue.path(str(parquet_path)),
        }
    )
    return MaterializeResult(metadata=metadata)
