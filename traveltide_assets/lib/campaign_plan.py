"""Who gets which invitation email: the campaign plan, as pure functions (no Dagster, no warehouse).

Three arms, randomised within each stratum of (favourite perk, confidence band) so that every arm has the same
mix of perks and of certainty:
- `personalised`: the email leads with the customer's favourite perk when the policy expects that to pay off,
  otherwise the generic email;
- `generic`: the email listing all five perks (the control);
- `random_perk`: the email leads with a perk drawn uniformly from the four that are not the favourite; it
  separates "a specific perk" from "the right perk".

A plan is frozen once issued: extending it keeps every planned row as it is and adds only customers who are not
in it yet, as a new batch with its own assigned_at. Each batch is randomised from
`(seed, batch_number, stratum_number)`, so a plan is reproducible from its seed and its batch history.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from traveltide_assets.lib.catalog import CONFIDENCE_BANDS, PERKS
from traveltide_assets.lib.experiment import ALPHA, POWER, minimum_detectable_difference

ARMS: tuple[str, ...] = ("personalised", "generic", "random_perk")
ALL_PERKS = "all_perks"
GENERIC_TEMPLATE = "invite_generic"
PLAN_COLUMNS: tuple[str, ...] = (
    "campaign_id",
    "user_id",
    "arm",
    "email_perk",
    "template",
    "favourite_perk",
    "probability",
    "confidence",
    "assigned_at",
)
COHORT_COLUMNS: tuple[str, ...] = ("user_id", "favourite_perk", "probability", "confidence")


@dataclass(frozen=True)
class Policy:
    """When a personalised email leads with the favourite perk: when the expected gain of being right outweighs
    the expected cost of being wrong, `p · match_gain − (1 − p) · mismatch_cost > 0`. Both effects are
    assumptions (CampaignSettings), which the campaign's read-out can test."""

    match_gain: float
    mismatch_cost: float

    @property
    def threshold(self) -> float:
        """The favourite's probability above which the policy personalises: cost / (gain + cost)."""
        return self.mismatch_cost / (self.match_gain + self.mismatch_cost)

    def personalises(self, probability: np.ndarray | pd.Series) -> np.ndarray:
        p = np.asarray(probability, dtype=float)
        # The inequality itself, not `p > threshold`: the division can round the threshold below its exact value.
        return p * self.match_gain - (1 - p) * self.mismatch_cost > 0


@dataclass(frozen=True)
class PlanDesign:
    campaign_id: str
    seed: int
    shares: tuple[float, float, float]  # in ARMS order, summing to 1
    policy: Policy


@dataclass(frozen=True)
class ExtendedPlan:
    table: pd.DataFrame  # every campaign's rows, PLAN_COLUMNS, ordered by campaign_id and user_id
    added: int  # customers added to the design's campaign by this extension
    batch_number: int | None  # the new batch's number; None when nobody was added


def empty_plan() -> pd.DataFrame:
    """A plan with no rows and the plan's column types."""
    return _typed(pd.DataFrame({c: [] for c in PLAN_COLUMNS}))


def _typed(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan's columns in order, with one dtype each, so that old and new batches concatenate cleanly."""
    typed = plan.loc[:, list(PLAN_COLUMNS)].copy()
    typed["user_id"] = typed["user_id"].astype("int64")
    typed["probability"] = typed["probability"].astype("float64")
    typed["assigned_at"] = pd.to_datetime(typed["assigned_at"], utc=True).astype("datetime64[us, UTC]")
    for column in ("campaign_id", "arm", "email_perk", "template", "favourite_perk", "confidence"):
        typed[column] = typed[column].astype(object)
    return typed


def arm_sizes(n: int, shares: Sequence[float]) -> np.ndarray:
    """How many of `n` customers go to each arm: the largest-remainder split, so that the sizes add up to `n`
    and none is more than one customer away from its share. Ties go to the arm listed first."""
    quotas = n * np.asarray(shares, dtype=float)
    sizes = np.floor(quotas).astype(int)
    left = n - int(sizes.sum())
    by_remainder = sorted(range(len(sizes)), key=lambda i: (-(quotas[i] - sizes[i]), i))
    for i in by_remainder[:left]:
        sizes[i] += 1
    return sizes


def stratum_number(favourite_perk: str, confidence: str) -> int:
    """A stratum's fixed number (catalog order), so its random stream does not depend on which strata exist."""
    return PERKS.index(favourite_perk) * len(CONFIDENCE_BANDS) + CONFIDENCE_BANDS.index(confidence)


def other_perks(favourite_perk: str) -> tuple[str, ...]:
    """The four perks that are not the favourite, in catalog order."""
    return tuple(p for p in PERKS if p != favourite_perk)


def randomise_stratum(
    n: int, favourite_perk: str, shares: Sequence[float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Arms and random-perk draws for the `n` customers of one stratum, given in user_id order.

    A random permutation puts the customers in line; the first ones in line fill `personalised`, the next
    `generic`, the rest `random_perk` (arm_sizes). The random-perk customers, in that line order, then each draw
    one of the other four perks from the same generator. Returns (arm per customer, perk per customer: the
    drawn perk in random_perk, '' elsewhere)."""
    line = rng.permutation(n)
    arms = np.empty(n, dtype=object)
    arms[line] = np.repeat(np.array(ARMS, dtype=object), arm_sizes(n, shares))
    drawn = np.full(n, "", dtype=object)
    in_random = line[arms[line] == "random_perk"]
    choices = np.array(other_perks(favourite_perk), dtype=object)
    drawn[in_random] = choices[rng.integers(0, len(choices), size=len(in_random))]
    return arms, drawn


def email_perks(
    arms: np.ndarray, favourite: np.ndarray, probability: np.ndarray, drawn: np.ndarray, policy: Policy
) -> np.ndarray:
    """The perk each email leads with, or ALL_PERKS for the generic email."""
    personalise = (arms == "personalised") & policy.personalises(probability)
    return np.where(personalise, favourite, np.where(arms == "random_perk", drawn, ALL_PERKS))


def template_of(email_perk: pd.Series) -> pd.Series:
    return email_perk.map(lambda perk: GENERIC_TEMPLATE if perk == ALL_PERKS else f"invite_{perk}")


def _checked_cohort(cohort: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in COHORT_COLUMNS if c not in cohort.columns]
    if missing:
        raise ValueError(f"the cohort lacks the columns {missing}")
    customers = cohort.loc[:, list(COHORT_COLUMNS)]
    if customers["user_id"].duplicated().any():
        raise ValueError("the cohort names a customer twice")
    unknown = (set(customers["favourite_perk"]) - set(PERKS)) | (set(customers["confidence"]) - set(CONFIDENCE_BANDS))
    if unknown:
        raise ValueError(f"unknown favourite perk or confidence band in the cohort: {sorted(map(str, unknown))}")
    return customers


def assign_batch(
    customers: pd.DataFrame, design: PlanDesign, batch_number: int, assigned_at: dt.datetime
) -> pd.DataFrame:
    """Plan rows for customers joining a campaign together (COHORT_COLUMNS), in PLAN_COLUMNS, by user_id."""
    customers = _checked_cohort(customers).sort_values("user_id", kind="stable").reset_index(drop=True)
    arms = np.empty(len(customers), dtype=object)
    drawn = np.empty(len(customers), dtype=object)
    for (perk, band), rows in customers.groupby(["favourite_perk", "confidence"], sort=False).indices.items():
        # A generator per stratum and batch: a stratum's draws never depend on the size of another.
        rng = np.random.default_rng([design.seed, batch_number, stratum_number(perk, band)])
        arms[rows], drawn[rows] = randomise_stratum(len(rows), perk, design.shares, rng)
    email = email_perks(
        arms, customers["favourite_perk"].to_numpy(), customers["probability"].to_numpy(), drawn, design.policy
    )
    batch = customers.assign(campaign_id=design.campaign_id, arm=arms, email_perk=email, assigned_at=assigned_at)
    batch["template"] = template_of(batch["email_perk"])
    return _typed(batch)


def _batch_time(now: dt.datetime, earlier: pd.Series) -> pd.Timestamp:
    """`now` in UTC to the second; a second after the last batch if that is not later, so that batches stay
    distinct and in order (two refreshes within a second would otherwise share a batch number)."""
    if now.tzinfo is None:
        raise ValueError("the batch time must carry a time zone")
    stamp = pd.Timestamp(now).tz_convert("UTC").floor("s")
    if len(earlier) and stamp <= earlier.max():
        stamp = earlier.max().floor("s") + pd.Timedelta(seconds=1)
    return stamp


def extend_plan(plan: pd.DataFrame | None, cohort: pd.DataFrame, design: PlanDesign, now: dt.datetime) -> ExtendedPlan:
    """The plan of every campaign, with the cohort customers not yet in the design's campaign added as a new batch.

    Rows already planned stay exactly as they are, also for customers who have since left the cohort: their
    emails may have been sent. The batch number is 1 + the number of earlier batches (distinct assigned_at) of
    this campaign, and feeds the randomisation, so a refresh never repeats an earlier batch's draws."""
    plan = empty_plan() if plan is None else _typed(plan)
    own = plan[plan["campaign_id"] == design.campaign_id]
    joining = _checked_cohort(cohort)
    joining = joining[~joining["user_id"].isin(own["user_id"])]
    if joining.empty:
        return ExtendedPlan(plan.sort_values(["campaign_id", "user_id"], ignore_index=True), 0, None)
    number = 1 + own["assigned_at"].nunique()
    batch = assign_batch(joining, design, number, _batch_time(now, own["assigned_at"]).to_pydatetime())
    table = pd.concat([plan, batch] if len(plan) else [batch], ignore_index=True)
    return ExtendedPlan(table.sort_values(["campaign_id", "user_id"], ignore_index=True), len(batch), number)


@dataclass(frozen=True)
class PlanSummary:
    """What marketing reads about one campaign's plan: arm sizes, the policy's effect and the power figure."""

    campaign_id: str
    customers: int
    per_arm: dict[str, int]
    personalised_with_perk: int  # personalised customers whose email leads with their favourite
    personalised_fallback: int  # personalised customers who get the generic email (the policy said no)
    threshold: float
    base_rate: float
    detectable_difference: float  # personalised vs generic, absolute rate (minimum_detectable_difference)
    batches: int
    # The personalised arm's expected lead over generic if the assumed effects hold and the probabilities are
    # honest: its customers who get their perk gain p · match_gain − (1 − p) · mismatch_cost each, the rest 0.
    assumed_difference: float = 0.0


def summarise(plan: pd.DataFrame, campaign_id: str, policy: Policy, base_rate: float) -> PlanSummary:
    """The summary of `campaign_id`'s rows of a plan."""
    own = plan[plan["campaign_id"] == campaign_id]
    per_arm = {arm: int((own["arm"] == arm).sum()) for arm in ARMS}
    personalised = own[own["arm"] == "personalised"]
    with_perk = int((personalised["email_perk"] != ALL_PERKS).sum())
    return PlanSummary(
        campaign_id=campaign_id,
        customers=len(own),
        per_arm=per_arm,
        personalised_with_perk=with_perk,
        personalised_fallback=len(personalised) - with_perk,
        threshold=policy.threshold,
        base_rate=base_rate,
        detectable_difference=minimum_detectable_difference(per_arm["personalised"], per_arm["generic"], base_rate),
        batches=int(own["assigned_at"].nunique()),
        assumed_difference=assumed_difference(personalised, policy),
    )


def assumed_difference(personalised: pd.DataFrame, policy: Policy) -> float:
    """The personalised arm's expected sign-up rate minus generic's under the policy's own assumptions."""
    if personalised.empty:
        return 0.0
    p = personalised["probability"].to_numpy(dtype=float)
    gain = np.where(personalised["email_perk"] != ALL_PERKS, p * policy.match_gain - (1 - p) * policy.mismatch_cost, 0)
    return float(gain.mean())


def arms_by_stratum(plan: pd.DataFrame, campaign_id: str) -> pd.DataFrame:
    """Customers per stratum (favourite perk x confidence band, in catalog order) and arm, for one campaign."""
    own = plan[plan["campaign_id"] == campaign_id]
    table = pd.crosstab([own["favourite_perk"], own["confidence"]], own["arm"]).reindex(columns=list(ARMS))
    order = sorted(range(len(table)), key=lambda i: stratum_number(*table.index[i]))
    return table.iloc[order].fillna(0).astype(int)


def points(difference: float) -> str:
    """A difference of rates in percentage points, as marketing reads it: 0.0231 -> '2.3 points'."""
    return f"{difference * 100:.1f} points" if math.isfinite(difference) else "none (the arms are too small)"


def power_sentence(summary: PlanSummary) -> str:
    """The plan's power figure in one sentence (plan metadata, report, slides)."""
    return (
        "The smallest difference in sign-up rate this plan can detect between personalised and generic, at "
        f"\u03b1 = {ALPHA:g} two-sided and power {POWER:g}, assuming a {summary.base_rate * 100:g}% base rate: "
        f"{points(summary.detectable_difference)}."
    )


def policy_sentence(policy: Policy) -> str:
    """The personalisation rule with its assumed effects, in words."""
    return (
        f"Personalised emails lead with the customer's favourite perk when p \u00d7 {policy.match_gain:g} "
        f"\u2212 (1 \u2212 p) \u00d7 {policy.mismatch_cost:g} > 0, i.e. when the favourite's probability p is "
        f"above {policy.threshold:.2f}; otherwise they fall back to the generic email. The gain of a right perk "
        f"({policy.match_gain:g}) and the cost of a wrong one ({policy.mismatch_cost:g}) are assumptions."
    )
