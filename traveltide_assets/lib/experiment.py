"""Statistics of the invitation experiment (pure, statsmodels): first the power of a plan, before any email is
sent; then the read-out of the sign-ups that came back."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, test_proportions_2indep

from traveltide_assets.lib.catalog import CONFIDENCE_BANDS, PERKS

# The power figure the plan and the report state: a two-sided test at 5%, detecting with 80% probability.
ALPHA = 0.05
POWER = 0.8


def minimum_detectable_difference(
    n_treatment: int, n_control: int, base_rate: float, alpha: float = ALPHA, power: float = POWER
) -> float:
    """The smallest rise in sign-up rate (treatment rate minus control rate, absolute: 0.02 is 2 points) that a
    two-sided two-proportion test at `alpha` detects with probability `power`, when the control arm signs up at
    `base_rate` and the arms have these sizes.

    The test is the normal approximation on Cohen's h = 2·asin(√p₁) − 2·asin(√p₀), the scale on which a
    proportion's variance does not depend on its level; statsmodels' NormalIndPower solves for the h this
    design detects, and h is turned back into a rate above the base rate. A smaller figure means a more
    sensitive experiment: a true uplift below it will often be missed. Infinite when an arm is empty, or when
    even a rise to a 100% sign-up rate would not be detected reliably (a tiny arm).
    """
    if not 0 < base_rate < 1:
        raise ValueError(f"base_rate must be between 0 and 1, got {base_rate}")
    if n_treatment < 1 or n_control < 1:
        return math.inf
    h = NormalIndPower().solve_power(
        effect_size=None,
        nobs1=n_treatment,
        alpha=alpha,
        power=power,
        ratio=n_control / n_treatment,
        alternative="two-sided",
    )
    angle = math.asin(math.sqrt(base_rate)) + float(h) / 2
    if angle >= math.pi / 2:  # past a rate of 100%
        return math.inf
    return math.sin(angle) ** 2 - base_rate


# --- The read-out: sign-up rates per arm and the uplifts, once results are in ---------------------------------

# Each comparison is (treatment arm, control arm); the arms' order in the read-out follows from them.
COMPARISONS: dict[str, tuple[str, str]] = {
    "personalised_vs_generic": ("personalised", "generic"),
    "personalised_vs_random_perk": ("personalised", "random_perk"),
}
ARM_ORDER: tuple[str, ...] = tuple(dict.fromkeys(arm for pair in COMPARISONS.values() for arm in pair))
# The verdict on marketing's hypothesis, from the 95% interval of personalised minus generic.
RAISES_SIGNUPS = "personalised invitations raise sign-ups"
DOES_WORSE = "personalised invitations do worse"
NO_EVIDENCE = "no evidence either way"
GENERIC_VERDICTS = (RAISES_SIGNUPS, DOES_WORSE, NO_EVIDENCE)
# The same reading of personalised minus random perk: does the right perk beat a specific but wrong one?
RANDOM_PERK_VERDICTS = (
    "personalised invitations beat a random perk",
    "personalised invitations do worse than a random perk",
    NO_EVIDENCE,
)
# Per arm, then per arm and one stratum variable of the plan: (scope, the plan's column giving the level).
READOUT_SCOPES: tuple[tuple[str, str | None], ...] = (
    ("arm", None),
    ("arm_x_favourite_perk", "favourite_perk"),
    ("arm_x_confidence", "confidence"),
)
READOUT_COLUMNS = ("scope", "arm", "level", "customers", "signups", "rate", "ci_low", "ci_high")
UPLIFT_COLUMNS = ("comparison", "difference", "ci_low", "ci_high", "p_value", "verdict")


def wilson_interval(signups: int, customers: int, alpha: float = ALPHA) -> tuple[float, float]:
    """The Wilson score interval of a sign-up rate (statsmodels); it stays inside [0, 1] and keeps its coverage
    at rates near 0, where the normal approximation fails. NaN without customers."""
    if customers < 1:
        return math.nan, math.nan
    low, high = proportion_confint(signups, customers, alpha=alpha, method="wilson")
    return float(low), float(high)


def _rank(values: pd.Series, order: list[str]) -> pd.Series:
    """Position of each value in `order`; values not in it go last."""
    return values.map({v: i for i, v in enumerate(order)}).fillna(len(order))


def readout_table(outcomes: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """The long read-out: one row per group (READOUT_COLUMNS) of the planned customers in `outcomes` (columns
    arm, favourite_perk, confidence, signed_up), per arm (level 'all') and per arm x favourite perk and x
    confidence band as planned. Groups without customers are left out; rows are in scope, arm and catalog order."""
    parts = []
    for scope, column in READOUT_SCOPES:
        level = outcomes[column] if column else pd.Series("all", index=outcomes.index)
        grouped = outcomes.assign(level=level).groupby(["arm", "level"])["signed_up"].agg(["size", "sum"])
        parts.append(grouped.reset_index().rename(columns={"size": "customers", "sum": "signups"}).assign(scope=scope))
    table = pd.concat(parts, ignore_index=True)
    table["customers"] = table["customers"].astype("int64")
    table["signups"] = table["signups"].astype("int64")
    table["rate"] = table["signups"] / table["customers"]
    intervals = [wilson_interval(s, n, alpha) for s, n in zip(table["signups"], table["customers"], strict=True)]
    table["ci_low"] = [low for low, _ in intervals]
    table["ci_high"] = [high for _, high in intervals]
    keys = pd.DataFrame(
        {
            "scope": _rank(table["scope"], [scope for scope, _ in READOUT_SCOPES]),
            "arm": _rank(table["arm"], list(ARM_ORDER)),
            "level": _rank(table["level"], ["all", *PERKS, *CONFIDENCE_BANDS]),
        }
    )
    order = keys.sort_values(["scope", "arm", "level"], kind="stable").index
    return table.loc[order, list(READOUT_COLUMNS)].reset_index(drop=True)


@dataclass(frozen=True)
class Uplift:
    """Treatment rate minus control rate, with its 95% interval (Newcomb's hybrid score) and two-sided p-value."""

    difference: float
    ci_low: float
    ci_high: float
    p_value: float


def uplift(signups_t: int, customers_t: int, signups_c: int, customers_c: int, alpha: float = ALPHA) -> Uplift:
    """The difference of two sign-up rates. The interval is Newcomb's, built from the two Wilson intervals
    (statsmodels confint_proportions_2indep, method newcomb), which holds its coverage at low rates; the p-value
    is statsmodels' score test of no difference (test_proportions_2indep, method score). NaN when an arm has no
    customers, and a p-value of 1 when neither arm varies (nobody or everybody signed up)."""
    if customers_t < 1 or customers_c < 1:
        return Uplift(math.nan, math.nan, math.nan, math.nan)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # ratios of rates at 0 or 1, which are not used
        low, high = confint_proportions_2indep(
            signups_t, customers_t, signups_c, customers_c, method="newcomb", compare="diff", alpha=alpha
        )
        test = test_proportions_2indep(
            signups_t, customers_t, signups_c, customers_c, method="score", compare="diff", alternative="two-sided"
        )
    p_value = float(test.pvalue)
    return Uplift(
        difference=signups_t / customers_t - signups_c / customers_c,
        ci_low=float(low),
        ci_high=float(high),
        p_value=p_value if math.isfinite(p_value) else 1.0,
    )


def verdict(ci_low: float, ci_high: float, words: tuple[str, str, str] = GENERIC_VERDICTS) -> str:
    """The hypothesis in words from an interval of treatment minus control: raised when the whole interval is
    above 0, worse when it is all below, otherwise (an interval across 0, or none) no evidence either way."""
    above, below, neither = words
    if ci_low > 0:
        return above
    if ci_high < 0:
        return below
    return neither


def uplift_table(readout: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """The two comparisons (UPLIFT_COLUMNS) from the per-arm rows of a read-out; a comparison whose arms are
    missing has NaN figures and no evidence either way."""
    arms = readout[readout["scope"] == "arm"].set_index("arm")
    rows = []
    for comparison, (treatment, control) in COMPARISONS.items():
        counts = [
            (int(arms.loc[arm, "signups"]), int(arms.loc[arm, "customers"])) if arm in arms.index else (0, 0)
            for arm in (treatment, control)
        ]
        result = uplift(*counts[0], *counts[1], alpha=alpha)
        words = GENERIC_VERDICTS if control == "generic" else RANDOM_PERK_VERDICTS
        said = verdict(result.ci_low, result.ci_high, words)
        rows.append((comparison, result.difference, result.ci_low, result.ci_high, result.p_value, said))
    return pd.DataFrame(rows, columns=list(UPLIFT_COLUMNS))
