"""The campaign slides of the executive deck: the plan and its power, the read-out (or what it will show once sign-ups
arrive) and the decision with next steps; each a SlideContent with its speaker notes and chart. Pure: no Dagster."""

from __future__ import annotations

import math

import pandas as pd

from traveltide_assets.defs.report.charts import to_png
from traveltide_assets.defs.report.deck_charts import (
    ARM_LABELS,
    plan_chart,
    readout_chart,
)
from traveltide_assets.defs.report.deck_data import (
    DeckData,
    ReadoutFigures,
    SlideContent,
    number_word,
    p_text,
    pct,
    signed,
    signed_points,
)
from traveltide_assets.lib.campaign_plan import ARMS
from traveltide_assets.lib.campaign_plan import points as rate_points
from traveltide_assets.lib.experiment import ALPHA, DOES_WORSE, NO_EVIDENCE, POWER, RAISES_SIGNUPS


def plan_slide(d: DeckData) -> SlideContent:
    plan = d.plan
    if plan is None:
        return SlideContent(
            "The campaign plan has not been issued yet",
            [
                "Each customer: personalised, generic or random-perk email",
                "Assigned at random within favourite perk and confidence",
                "Frozen once issued",
            ],
            "The next step is the campaign plan. It assigns every customer at random, within their favourite perk "
            "and confidence band, to a personalised, a generic or a random-perk email, and it is frozen once "
            "issued. It has not been issued for this cohort yet.",
        )
    n = plan.per_arm
    share = {arm: n[arm] / max(plan.customers, 1) for arm in ARMS}
    mdd = plan.detectable_difference
    detectable = (
        f"a {mdd * 100:.1f}-point uplift is detectable"
        if math.isfinite(mdd)
        else "too few customers to detect an uplift"
    )
    notes = (
        f"So we test it. The plan for campaign {plan.campaign_id} puts {plan.customers:,} customers at random "
        f"into {number_word(len(ARMS))} arms, within each favourite perk and confidence band: "
        f"{n['personalised']:,} get a personalised email, {n['generic']:,} the generic one, and "
        f"{n['random_perk']:,} an email that leads with a perk that is not their favourite. That last arm tells "
        "a specific perk apart from the right perk. Inside the personalised arm, "
        f"{plan.personalised_with_perk:,} customers whose favourite has a probability above {plan.threshold:.2f} "
        f"get their perk; the other {plan.personalised_fallback:,} fall back to the generic email, where a wrong "
        f"perk is expected to cost more than a right one gains. At an assumed {pct(plan.base_rate)} sign-up rate, "
        f"the smallest difference between personalised and generic these arms detect with {POWER:.0%} power is "
        f"{rate_points(mdd)}."
    )
    return SlideContent(
        f"{plan.customers:,} customers in {number_word(len(ARMS))} arms: {detectable}",
        [
            f"Personalised {pct(share['personalised'])} \u00b7 generic {pct(share['generic'])} \u00b7 "
            f"random perk {pct(share['random_perk'])}",
            f"{plan.personalised_with_perk:,} get their perk (p > {plan.threshold:.2f}); "
            f"{plan.personalised_fallback:,} fall back to generic",
            f"Detectable: {rate_points(mdd)} over a {pct(plan.base_rate)} base rate "
            f"(\u03b1 {ALPHA:g}, power {POWER:.0%})",
            "Frozen once issued; new customers join in their own batch",
        ],
        notes,
        to_png(plan_chart(plan)),
        "Customers per arm: " + ", ".join(f"{ARM_LABELS[a]} {n[a]:,}" for a in ARMS),
    )


def _verdict_title(verdict: str) -> str:
    return {
        RAISES_SIGNUPS: "Personalised invitations raise sign-ups",
        DOES_WORSE: "Personalised invitations do worse than the generic email",
        NO_EVIDENCE: "No evidence either way: personalised and generic emails tie",
    }.get(verdict, verdict[:1].upper() + verdict[1:])


def _uplift_words(row: pd.Series) -> str:
    """For a bullet: '+5.0 points (95% CI +0.4 to +9.8), p = 0.043'."""
    return (
        f"{signed_points(float(row['difference']))} (95% CI {signed(float(row['ci_low']))} to "
        f"{signed(float(row['ci_high']))}), {p_text(float(row['p_value']))}"
    )


def _spoken_uplift(row: pd.Series, against: str) -> str:
    """For the notes: 'personalised is 5.0 points ahead of generic, with a 95% interval from +0.4 to +9.8 points
    and a p-value of 0.043'."""
    difference, p = float(row["difference"]), float(row["p_value"])
    if not math.isfinite(difference):
        return f"personalised cannot be compared with {against}: an arm has no customers"
    direction = "ahead of" if difference >= 0 else "behind"
    return (
        f"personalised is {abs(difference) * 100:.1f} points {direction} {against}, with a 95% interval from "
        f"{signed(float(row['ci_low']))} to {signed(float(row['ci_high']))} points"
        + (f" and a p-value of {p:.2g}" if math.isfinite(p) else "")
    )


def _band_comparison(readout: ReadoutFigures) -> str:
    """A sentence on personalised vs generic among high-confidence customers, where the read-out has both."""
    rows = readout.by_confidence
    high = rows[rows["level"] == "high"].set_index("arm")
    if not {"personalised", "generic"} <= set(high.index):
        return ""
    return (
        f" Among high-confidence customers, personalised signed up at {float(high.loc['personalised', 'rate']):.1%} "
        f"and generic at {float(high.loc['generic', 'rate']):.1%}."
    )


def readout_slide(d: DeckData) -> SlideContent:
    readout = d.readout
    campaign = d.plan.campaign_id if d.plan is not None else "the campaign"
    if readout is None:
        return SlideContent(
            "Results pending: the read-out appears once sign-ups arrive",
            [
                "Sign-up rate per arm, with 95% intervals",
                "Uplift of personalised over generic and over random perk",
                "The verdict: raise sign-ups, no evidence, or do worse",
                f"Shown here once sign-ups for {campaign} are loaded and checked",
            ],
            "The results are not in yet. When the sign-ups for "
            f"{campaign} come back, the pipeline notices them, checks them, and computes the read-out: the sign-up "
            "rate of each arm with a 95% interval, the uplift of personalised over generic and over the random "
            "perk, and a verdict in words. The same run rebuilds this deck, so from then on this slide shows them.",
        )
    arms, uplift = readout.arms, readout.uplift
    rate = {a: f"{float(arms.loc[a, 'rate']):.1%}" for a in arms.index}
    vs_generic = uplift.loc["personalised_vs_generic"]
    bullets = [
        "Sign-up rate: " + " \u00b7 ".join(f"{ARM_LABELS.get(a, a).lower()} {r}" for a, r in rate.items()),
        f"Personalised \u2212 generic: {_uplift_words(vs_generic)}",
    ]
    signed_up = [
        f"{ARM_LABELS.get(a, a).lower()} at {r} ({int(arms.loc[a, 'signups']):,} of {int(arms.loc[a, 'customers']):,})"
        for a, r in rate.items()
    ]
    notes = (
        f"The results are in: {int(arms['signups'].sum()):,} of {int(arms['customers'].sum()):,} invited "
        f"customers signed up. By arm, {', '.join(signed_up)}. So {_spoken_uplift(vs_generic, 'generic')}."
    )
    if "personalised_vs_random_perk" in uplift.index:
        vs_random = uplift.loc["personalised_vs_random_perk"]
        bullets.append(f"Personalised \u2212 random perk: {_uplift_words(vs_random)}")
        notes += f" And {_spoken_uplift(vs_random, 'the random-perk email')}."
    notes += _band_comparison(readout) + f" Verdict: {readout.verdict}."
    description = "Sign-up rate per arm: " + ", ".join(f"{ARM_LABELS.get(a, a)} {r}" for a, r in rate.items())
    return SlideContent(_verdict_title(readout.verdict), bullets, notes, to_png(readout_chart(arms)), description)


def _decision(verdict: str, campaign_id: str) -> tuple[str, list[str], str]:
    """Title, bullets and notes of the next steps once the read-out has a verdict."""
    new_test = f"Any new test needs a new campaign id, with its own random plan; {campaign_id}'s stays frozen."
    if verdict == RAISES_SIGNUPS:
        return (
            "Next: roll out personalised invitations",
            [
                "Lead with the customer's perk where the policy says so",
                "Keep a small generic holdout to keep measuring",
                "A new test needs a new campaign id",
            ],
            "Next steps. The experiment shows that leading with the customer's perk raises sign-ups against the "
            "generic email. Roll it out where the policy says so, and keep a small generic holdout so that we "
            f"keep measuring the gain. {new_test}",
        )
    if verdict == DOES_WORSE:
        return (
            "Next: send the generic email to everyone",
            [
                "Stop personalising: the generic email does better",
                "Revisit the perk model before any new test",
                "A new test needs a new campaign id",
            ],
            "Next steps. Personalised invitations signed up fewer customers than the generic email, so send the "
            f"generic email to everyone, and revisit the perk model before testing again. {new_test}",
        )
    return (
        "Next: keep the generic email; personalisation is unproven",
        [
            "Keep the generic email, the simpler one",
            "Personalise only after a larger test shows a gain",
            "A new test needs a new campaign id",
        ],
        "Next steps. The interval for personalised against generic includes zero, so the difference could be "
        "chance. Keep the generic email, which is simpler, and personalise only if a larger campaign shows a "
        f"gain. {new_test}",
    )


def next_steps_slide(d: DeckData) -> SlideContent:
    plan, readout = d.plan, d.readout
    if plan is None:
        title = "Next: issue the campaign plan, then let sign-ups decide"
        bullets = ["Issue the plan for the cohort", "Send the emails it assigns", "Read the result before deciding"]
        notes = (
            "Next steps: issue the plan, send the emails it assigns, and read the result before committing to "
            "personalised invitations."
        )
    elif readout is None:
        title = "Next: send the plan's emails and let sign-ups decide"
        bullets = [
            f"Send each customer the email in {plan.campaign_id}'s plan.csv",
            "Load the sign-ups; the read-out follows",
            "Never re-randomise: a new test needs a new campaign",
            "Decide on personalisation from the result",
        ]
        notes = (
            f"Next steps. One: send each of the {plan.customers:,} customers the email their row in the plan's CSV "
            "names. Two: load the sign-ups when they come back; the read-out follows by itself. Three: do not "
            "re-randomise; a new test needs a new campaign. Then decide from the result, not from labels."
        )
    else:
        title, bullets, notes = _decision(readout.verdict, plan.campaign_id)
    return SlideContent(title, bullets, notes + " Thank you; I will take questions.")
