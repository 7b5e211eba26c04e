"""The campaign's read-out: sign-up rates per arm, perk and confidence band, and the uplifts of personalisation
(lib/experiment.py holds the statistics)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pyarrow as pa
from dagster import (
    MaterializeResult,
    MetadataValue,
    asset,
)

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.campaign.plan import campaign_plan
from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.campaign.signups import (
    AWAITING_RESULTS,
    RESULTS_IN,
    campaign_rows,
    campaign_signups,
    signups_origin,
)
from traveltide_assets.lib.experiment import readout_table, uplift_table
from traveltide_assets.sources.signups import (
    SIGNUPS_TABLE,
    signed_up,
)
from traveltide_assets.storage.publish import publish_arrow_tables
from traveltide_assets.storage.warehouse import Warehouse

READOUT_TABLE = "campaign_readout"


UPLIFT_TABLE = "campaign_uplift"


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
    backfill_policy=SINGLE_RUN_BACKFILL,
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
        plan = campaign_rows(con, campaign.campaign_id, "user_id, arm, favourite_perk, confidence")
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
