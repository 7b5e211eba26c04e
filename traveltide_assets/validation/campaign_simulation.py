"""Planted responses to the invitation campaign, so the loop plan -> results -> read-out can be tested end to end.

Only a synthetic source knows each customer's true favourite perk (its planted truth). A planned customer signs up
with probability
- `base_rate` when the email is the generic one (all perks, in any arm);
- `base_rate + match_uplift` when the email leads with the customer's true favourite;
- `base_rate + mismatch_effect` when it leads with another single perk.
A sign-up happens at a uniformly random second within SIGNUP_WINDOW after the customer's assigned_at.

The read-out's personalised - generic difference then estimates `planted_uplift`: the mean planted effect over the
personalised arm (match, mismatch or none, as the plan's emails and the truth have it), minus 0 for generic.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from traveltide_assets.lib.campaign_plan import ALL_PERKS
from traveltide_assets.sources.signups import SIGNUPS_SCHEMA

SIGNUP_WINDOW = dt.timedelta(days=14)


@dataclass(frozen=True)
class PlantedResponse:
    """The sign-up probabilities planted per email (module docstring)."""

    base_rate: float = 0.10
    match_uplift: float = 0.05
    mismatch_effect: float = -0.01

    def __post_init__(self) -> None:
        for name, value in (
            ("base rate", self.base_rate),
            ("base rate + match uplift", self.base_rate + self.match_uplift),
            ("base rate + mismatch effect", self.base_rate + self.mismatch_effect),
        ):
            if not (math.isfinite(value) and 0 <= value <= 1):
                raise ValueError(f"the {name} is a sign-up probability and must be between 0 and 1, got {value:g}")


def planted_effects(plan: pd.DataFrame, truth: pd.DataFrame, response: PlantedResponse) -> np.ndarray:
    """Per plan row (user_id, email_perk), the planted change of its sign-up probability over the base rate.

    `truth` has user_id and favourite_perk (the synthetic source's ground truth). A customer with no planted
    favourite (a null mix) finds every single-perk email a mismatch. A planned customer absent from the truth is
    an error: the plan was not made from this source."""
    favourite = truth.drop_duplicates("user_id").set_index("user_id")["favourite_perk"]
    true_perk = plan["user_id"].map(favourite)
    if true_perk.isna().any():
        missing = plan.loc[true_perk.isna(), "user_id"]
        raise ValueError(
            f"{len(missing):,} planned customers (e.g. user_id {int(missing.iloc[0])}) are not in the source's "
            "planted truth: the plan was made from another source"
        )
    email = plan["email_perk"].to_numpy()
    single = email != ALL_PERKS
    matched = single & (email == true_perk.to_numpy())
    return np.where(matched, response.match_uplift, np.where(single, response.mismatch_effect, 0.0))


def planted_uplift(plan: pd.DataFrame, truth: pd.DataFrame, response: PlantedResponse) -> float:
    """The personalised - generic difference in sign-up probability the planted responses make for this plan: the
    mean planted effect over the personalised arm (the generic arm's is 0 by construction). NaN without a
    personalised customer."""
    personalised = plan[plan["arm"] == "personalised"]
    if personalised.empty:
        return math.nan
    return float(planted_effects(personalised, truth, response).mean())


def simulate_signups(plan: pd.DataFrame, truth: pd.DataFrame, response: PlantedResponse, seed: int) -> pa.Table:
    """The sign-ups (signups.SIGNUPS_SCHEMA) that planted responses give for one campaign's plan rows
    (campaign_id, user_id, arm, email_perk, assigned_at). Reproducible from `seed`: customers are drawn in user_id
    order, whatever the order of `plan`."""
    rows = plan.sort_values("user_id", kind="stable").reset_index(drop=True)
    probability = response.base_rate + planted_effects(rows, truth, response)
    rng = np.random.default_rng(seed)
    signs_up = rng.random(len(rows)) < probability
    window = int(SIGNUP_WINDOW.total_seconds())
    delay = pd.to_timedelta(rng.integers(0, window, size=len(rows)), unit="s")
    assigned = pd.to_datetime(rows["assigned_at"], utc=True)
    chosen = rows[signs_up]
    frame = pd.DataFrame(
        {
            "campaign_id": chosen["campaign_id"].astype(str).to_numpy(),
            "user_id": chosen["user_id"].astype("int64").to_numpy(),
            "signed_up_at": (assigned + delay)[signs_up].to_numpy(),
        }
    )
    frame["signed_up_at"] = pd.to_datetime(frame["signed_up_at"], utc=True)
    return pa.Table.from_pandas(frame, schema=SIGNUPS_SCHEMA, preserve_index=False)


class NoPlanError(LookupError):
    """The warehouse holds no plan of the campaign yet."""


def read_campaign_plan(warehouse_path: Path, campaign_id: str) -> pd.DataFrame:
    """One campaign's rows of the warehouse's campaign_plan table, read-only (a run writing the warehouse holds its
    lock: the error says so). NoPlanError before a plan of that campaign exists."""
    if not warehouse_path.is_file():
        raise NoPlanError(f"no warehouse at {warehouse_path} yet: run the pipeline (traveltide run) to plan a campaign")
    try:
        con = duckdb.connect(str(warehouse_path), read_only=True)
    except duckdb.IOException as exc:
        reason = (str(exc).strip().splitlines() or ["locked"])[0]
        raise RuntimeError(f"cannot read the warehouse {warehouse_path} (a run may be writing it): {reason}") from None
    try:
        present = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'campaign_plan'"
        ).fetchall()[0][0]
        plan = (
            con.sql(
                "SELECT * FROM campaign_plan WHERE campaign_id = $campaign_id ORDER BY user_id",
                params={"campaign_id": campaign_id},
            ).df()
            if present
            else pd.DataFrame()
        )
    finally:
        con.close()
    if plan.empty:
        raise NoPlanError(
            f"no plan of campaign {campaign_id!r} in {warehouse_path} yet: materialise campaign_plan first "
            "(traveltide run)"
        )
    return plan
