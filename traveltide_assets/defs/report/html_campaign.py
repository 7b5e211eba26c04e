"""The report's campaign sections in HTML: the invitation campaign's plan, and its read-out (did personalisation
work?) or what it awaits."""

from __future__ import annotations

import pandas as pd

from traveltide_assets.defs.report.html_data import CampaignSection, ReadoutSection
from traveltide_assets.defs.report.html_elements import esc, html_table
from traveltide_assets.lib.campaign_plan import points
from traveltide_assets.lib.catalog import PERK_LABELS
from traveltide_assets.lib.experiment import DOES_WORSE, RAISES_SIGNUPS

ARM_EMAILS = {
    "personalised": "their favourite perk where the policy expects it to pay off, else the generic email",
    "generic": "the generic email listing all five perks (the control)",
    "random_perk": "a perk drawn at random from the four that are not their favourite",
}


def campaign_section(campaign: CampaignSection | None) -> str:
    if campaign is None:
        return "<p>No plan for the configured campaign yet.</p>"
    plan = campaign.summary
    arms = pd.DataFrame(
        [
            {"arm": arm, "email": ARM_EMAILS[arm], "customers": n, "share": n / max(plan.customers, 1)}
            for arm, n in plan.per_arm.items()
        ]
    )
    return (
        f"<p>Campaign <b>{esc(plan.campaign_id)}</b>: {plan.customers:,} customers, assigned at random to three "
        "arms within each favourite perk and confidence band, so every arm has the same mix of perks and of "
        "certainty. The random-perk arm separates \u201ca specific perk\u201d from \u201cthe right perk\u201d.</p>"
        + html_table(arms, floats="{:.0%}")
        + f"<p>{esc(campaign.policy)} Of the {plan.per_arm['personalised']:,} personalised customers, "
        f"{plan.personalised_with_perk:,} get their favourite perk and {plan.personalised_fallback:,} the generic "
        "email.</p>"
        + f'<div class="verdict unsure">{esc(campaign.power)}</div>'
        + f"<p>If the assumed gain and cost were true and the probabilities honest, personalised would beat generic "
        f"by about {esc(points(plan.assumed_difference))}, since only some personalised customers get their perk "
        "and some of those perks are wrong.</p>"
        + f"<p>A true effect of personalisation smaller than {esc(points(plan.detectable_difference))} will "
        "often go undetected: the read-out would then say there is no evidence either way, not that there is no "
        "effect. The plan is frozen once issued: customers who join the cohort later are added with their own "
        f"assignment date, and nobody's email changes ({plan.batches} batch{'es' if plan.batches != 1 else ''} "
        "so far).</p>"
    )


READOUT_ARM_LABELS = {"personalised": "Personalised", "generic": "Generic (all perks)", "random_perk": "Random perk"}
READOUT_OUTCOME = {RAISES_SIGNUPS: "yes", DOES_WORSE: "no"}  # the verdict box's colour; otherwise 'unsure'


def _pct(value: float) -> str:
    return f"{value:.1%}" if pd.notna(value) else "-"


def _pts(value: float) -> str:
    return f"{value * 100:+.1f} points" if pd.notna(value) else "-"


def _rates(rows: pd.DataFrame, with_level: bool) -> pd.DataFrame:
    table = {"arm": rows["arm"].map(lambda a: READOUT_ARM_LABELS.get(a, a))}
    if with_level:
        table["group"] = rows["level"].map(lambda v: PERK_LABELS.get(v, v))
    table |= {
        "customers": rows["customers"].astype(int),
        "sign-ups": rows["signups"].astype(int),
        "rate": rows["rate"].map(_pct),
        "95% interval": [f"{_pct(lo)} to {_pct(hi)}" for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)],
    }
    return pd.DataFrame(table)


def readout_section(section: ReadoutSection | None) -> str:
    """Did personalisation work: the verdict, the rates per arm and the two uplifts, or what is awaited."""
    if section is None or section.uplift.empty:
        return (
            "<p><b>Awaiting results.</b> Once the invitations have gone out, the sign-ups come back as a table "
            "<code>campaign_signups(campaign_id, user_id, signed_up_at)</code>: a Parquet or CSV file named by "
            "<code>TRAVELTIDE_CAMPAIGN_SIGNUPS</code>, a table in the source database, or "
            "<code>campaign_signups.parquet</code> in the embedded store. The read-out then appears here: the "
            "sign-up rate of every arm with its 95% interval, and whether personalised invitations did better "
            "than the generic one.</p>"
        )
    uplift = section.uplift.set_index("comparison")
    main = uplift.loc["personalised_vs_generic"]
    arms = section.readout[section.readout["scope"] == "arm"].set_index("arm")
    outcome = READOUT_OUTCOME.get(str(main["verdict"]), "unsure")

    def arm_rate(arm: str) -> str:
        if arm not in arms.index:
            return "-"
        row = arms.loc[arm]
        return f"{_pct(row['rate'])} ({_pct(row['ci_low'])} to {_pct(row['ci_high'])})"

    comparisons = pd.DataFrame(
        {
            "comparison": [c.replace("_vs_", " \u2212 ").replace("_", " ") for c in uplift.index],
            "difference": uplift["difference"].map(_pts).to_numpy(),
            "95% interval": [
                f"{_pts(lo)} to {_pts(hi)}" for lo, hi in zip(uplift["ci_low"], uplift["ci_high"], strict=True)
            ],
            "p-value": uplift["p_value"].map(lambda p: f"{p:.3g}" if pd.notna(p) else "-").to_numpy(),
            "reading": uplift["verdict"].to_numpy(),
        }
    )
    by_band = section.readout[section.readout["scope"] == "arm_x_confidence"]
    by_perk = section.readout[section.readout["scope"] == "arm_x_favourite_perk"]
    source = f" Sign-ups read from {esc(section.read_from)}." if section.read_from else ""
    return (
        f'<div class="verdict {outcome}">Campaign {esc(section.campaign_id)}: '
        f"{esc(str(main['verdict']).capitalize())}.</div>"
        f"<p>Personalised invitations: {esc(arm_rate('personalised'))} signed up; generic: "
        f"{esc(arm_rate('generic'))}; random perk: {esc(arm_rate('random_perk'))}. Personalised minus generic: "
        f"<b>{esc(_pts(main['difference']))}</b> (95% interval {esc(_pts(main['ci_low']))} to "
        f"{esc(_pts(main['ci_high']))}, p = {main['p_value']:.3g}).{source}</p>"
        + html_table(_rates(arms.reset_index(), with_level=False))
        + html_table(comparisons)
        + "<p>How to read it: the verdict is the 95% interval of personalised minus generic. Wholly above 0, "
        "personalised invitations raise sign-ups; wholly below, they do worse; across 0, the campaign cannot tell "
        "(no evidence either way), which is not evidence of no effect: an effect smaller than the plan's detectable "
        "difference is often missed. Personalised minus random perk separates \u201cthe right perk\u201d from "
        "\u201cany specific perk\u201d. Every customer of the plan counts in their arm (a customer absent from "
        "the sign-ups did not sign up), including the personalised customers the policy sent the generic email. "
        "Intervals are Wilson's for a rate and Newcomb's for a difference; the p-value is a score test.</p>"
        + "<p>By confidence band of the favourite perk (as planned):</p>"
        + html_table(_rates(by_band, with_level=True))
        + "<p>By favourite perk (as planned):</p>"
        + html_table(_rates(by_perk, with_level=True))
    )
