"""The invitation campaign: the frozen plan of who gets which email (campaign_plan.py holds the logic), the
sign-ups that come back with their blocking check (signups.py), the read-out (experiment.py), and the sensor that
notices new results."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
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

from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.jobs import campaign_results
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
from traveltide_assets.lib.experiment import readout_table, uplift_table
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
    signed_up,
    validate,
)
from traveltide_assets.storage.atomic import replacing
from traveltide_assets.storage.duck import one_row, run
from traveltide_assets.storage.publish import PREVIEW_ROWS, has_table, publish_arrow, publish_arrow_tables
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


# --- The results: sign-ups in, their rules, the read-out, and the sensor that notices new results -------------

SIGNUPS_ORIGIN_TABLE = "campaign_state.signups_origin"  # bookkeeping beside campaign_signups: where they came from
READOUT_TABLE = "campaign_readout"
UPLIFT_TABLE = "campaign_uplift"
AWAITING_RESULTS = "awaiting results"
RESULTS_IN = "results in"
READOUT_SCHEMA = pa.schema(
    [
        ("scope", pa.string()),
        ("arm", pa.string()),
        ("level", pa.string()),
        ("customers", pa.int64()),
        ("signups", pa.int64()),
        ("rate", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
    ]
)
UPLIFT_SCHEMA = pa.schema(
    [
        ("comparison", pa.string()),
        ("difference", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("p_value", pa.float64()),
        ("verdict", pa.string()),
    ]
)


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


def _campaign_rows(con: duckdb.DuckDBPyConnection, campaign_id: str, columns: str) -> pd.DataFrame:
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
        plan = _campaign_rows(con, campaign.campaign_id, "user_id, assigned_at")
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


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%" if math.isfinite(value) else "-"


def _signed_points(value: float) -> str:
    return f"{value * 100:+.1f} points" if math.isfinite(value) else "-"


def readout_markdown(readout: pd.DataFrame, scope: str) -> str:
    """One scope of the read-out as marketing reads it: rates and their 95% intervals in percent."""
    rows = readout[readout["scope"] == scope]
    shown = pd.DataFrame(
        {
            "arm": rows["arm"],
            **({} if scope == "arm" else {"level": rows["level"]}),
            "customers": rows["customers"],
            "sign-ups": rows["signups"],
            "rate": rows["rate"].map(_percent),
            "95% CI": [
                f"{_percent(lo)} - {_percent(hi)}" for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
            ],
        }
    )
    return shown.to_markdown(index=False) if len(shown) else "(no rows)"


def uplift_markdown(uplift: pd.DataFrame) -> str:
    shown = pd.DataFrame(
        {
            "comparison": uplift["comparison"],
            "difference": uplift["difference"].map(_signed_points),
            "95% CI": [
                f"{_signed_points(lo)} to {_signed_points(hi)}"
                for lo, hi in zip(uplift["ci_low"], uplift["ci_high"], strict=True)
            ],
            "p-value": uplift["p_value"].map(lambda p: f"{p:.3g}" if math.isfinite(p) else "-"),
            "verdict": uplift["verdict"],
        }
    )
    return shown.to_markdown(index=False) if len(shown) else "(no rows)"


def compute_readout(plan: pd.DataFrame, signups: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(campaign_readout, campaign_uplift) of one campaign's plan rows and its (checked) sign-ups."""
    outcomes = plan.assign(signed_up=signed_up(plan, signups))
    readout = readout_table(outcomes)
    return readout, uplift_table(readout)


@asset(
    group_name="campaign",
    deps=[campaign_signups, campaign_plan],
    kinds={"duckdb", "parquet"},
    description="Did personalisation work? Per arm, and per arm x favourite perk and x confidence band as planned: "
    "customers, sign-ups, rate and Wilson 95% interval (table campaign_readout); personalised minus generic and "
    "minus random perk with a Newcomb 95% interval and a p-value, and the verdict in words (table "
    "campaign_uplift). Zero rows while results are awaited. Runs only on sign-ups that pass campaign_signups_valid.",
)
def campaign_readout(context, warehouse: Warehouse, campaign: CampaignSettings) -> MaterializeResult:
    with warehouse.connect() as con:
        origin = signups_origin(con)
        if origin is not None and origin[0] != campaign.campaign_id:
            raise ValueError(
                f"campaign_signups holds the sign-ups of campaign {origin[0]!r}, not of the configured "
                f"{campaign.campaign_id!r}: materialise campaign_signups with this campaign first"
            )
        awaiting = origin is None or origin[1] is None
        plan = _campaign_rows(con, campaign.campaign_id, "user_id, arm, favourite_perk, confidence")
        signups = con.sql(f"SELECT * FROM {SIGNUPS_TABLE}").df() if not awaiting else None
    if signups is None:
        readout, uplift = READOUT_SCHEMA.empty_table().to_pandas(), UPLIFT_SCHEMA.empty_table().to_pandas()
    else:
        readout, uplift = compute_readout(plan, signups)
    tables = {
        READOUT_TABLE: pa.Table.from_pandas(readout, schema=READOUT_SCHEMA, preserve_index=False),
        UPLIFT_TABLE: pa.Table.from_pandas(uplift, schema=UPLIFT_SCHEMA, preserve_index=False),
    }
    with warehouse.connect() as con:
        published = publish_arrow_tables(con, warehouse, tables)
    metadata = published[READOUT_TABLE]
    metadata["uplift_table"] = MetadataValue.text(UPLIFT_TABLE)
    metadata["uplift_parquet_path"] = published[UPLIFT_TABLE]["parquet_path"]
    metadata.update(_readout_metadata(campaign.campaign_id, origin, readout, uplift))
    context.log.info(f"campaign_readout of {campaign.campaign_id}: {metadata['verdict'].value}")
    return MaterializeResult(metadata=metadata)


def _readout_metadata(
    campaign_id: str, origin: tuple[str, str | None] | None, readout: pd.DataFrame, uplift: pd.DataFrame
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"campaign_id": MetadataValue.text(campaign_id)}
    if uplift.empty:
        metadata["status"] = MetadataValue.text(AWAITING_RESULTS)
        metadata["verdict"] = MetadataValue.text(AWAITING_RESULTS)
        return metadata
    comparisons = uplift.set_index("comparison")
    main = comparisons.loc["personalised_vs_generic"]
    arms = readout[readout["scope"] == "arm"]

    def figure(value: float) -> float | None:
        return round(float(value), 6) if math.isfinite(value) else None

    metadata.update(
        {
            "status": MetadataValue.text(RESULTS_IN),
            "read_from": MetadataValue.text(str(origin[1]) if origin else ""),
            "verdict": MetadataValue.text(str(main["verdict"])),
            "customers": MetadataValue.int(int(arms["customers"].sum())),
            "signups": MetadataValue.int(int(arms["signups"].sum())),
            "per_arm": MetadataValue.md(readout_markdown(readout, "arm")),
            "per_arm_x_confidence": MetadataValue.md(readout_markdown(readout, "arm_x_confidence")),
            "per_arm_x_favourite_perk": MetadataValue.md(readout_markdown(readout, "arm_x_favourite_perk")),
            "uplifts": MetadataValue.md(uplift_markdown(uplift)),
            **{
                f"rate/{arm}": MetadataValue.float(float(rate))
                for arm, rate in zip(arms["arm"], arms["rate"], strict=True)
            },
            **{
                comparison: MetadataValue.json(
                    {key: figure(row[key]) for key in ("difference", "ci_low", "ci_high", "p_value")}
                    | {"verdict": str(row["verdict"])}
                )
                for comparison, row in comparisons.iterrows()
            },
        }
    )
    return metadata


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
