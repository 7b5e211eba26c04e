"""The marketing report: one self-contained HTML page (inline SVG charts, inline CSS, no external resources)."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from traveltide_assets.lib.campaign_plan import PlanSummary, points
from traveltide_assets.lib.catalog import CONFIDENCE_BANDS, PERK_LABELS, PERKS
from traveltide_assets.lib.experiment import DOES_WORSE, RAISES_SIGNUPS
from traveltide_assets.lib.power import EVIDENCE_OF_NONE, SEGMENTS_EXIST, verdict_sentence

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1000px;
       color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.sub { color: #666; margin-top: 0; }
.verdict { font-size: 1.25rem; padding: 0.8rem 1rem; border-radius: 6px; margin: 1rem 0; }
.yes { background: #e7f4ea; border-left: 6px solid #2e7d32; }
.no { background: #fdecea; border-left: 6px solid #c62828; }
.unsure { background: #fff8e1; border-left: 6px solid #f9a825; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.chart svg { max-width: 100%; height: auto; } .kpis { display: flex; gap: 1rem; flex-wrap: wrap; }
.kpi { background: #f6f8fa; border-radius: 6px; padding: 0.6rem 1rem; min-width: 9rem; }
.kpi b { display: block; font-size: 1.4rem; } .scroll { overflow-x: auto; }
.banner { background: #fff3cd; border: 1px solid #e0b400; border-radius: 6px; padding: 0.6rem 1rem; margin: 0 0 1rem; }
"""


@dataclass
class CampaignSection:
    """The invitation campaign's plan: its figures, the policy and the power figure in words (campaign_plan.py)."""

    summary: PlanSummary
    policy: str
    power: str


@dataclass
class ReadoutSection:
    """The campaign's read-out (tables campaign_readout and campaign_uplift; both empty while results are awaited)
    and where its sign-ups were read."""

    campaign_id: str
    readout: pd.DataFrame
    uplift: pd.DataFrame
    read_from: str | None = None


@dataclass
class ReportData:
    cohort_definition: str
    cohort_users: int
    cohort_sessions: int
    evidence: dict[str, Any]
    perk_counts: pd.Series  # favourite perk -> users
    segment_profile: pd.DataFrame  # index segment, columns users + features
    segment_leaning: pd.DataFrame  # segment x perk share
    examples: pd.DataFrame  # user_id, favourite_perk, probability, confidence, reason
    cleaning: dict[str, int]
    accuracy: dict[str, Any] | None
    charts: dict[str, str] = field(default_factory=dict)  # title -> inline SVG
    # How far to trust a customer's perk: the split-half reliability ('all' row of assignment_reliability),
    # the share of customers per confidence band, the bands' thresholds, and (planted truth only) the
    # perk_calibration table with its chart.
    reliability: dict[str, Any] | None = None
    confidence_shares: dict[str, float] = field(default_factory=dict)
    confidence_thresholds: dict[str, float] = field(default_factory=dict)  # high, medium
    calibration: pd.DataFrame | None = None
    calibration_chart: str | None = None
    synthetic: bool = False  # the source is the synthetic TravelTide source
    source: str = ""  # where the customers come from, in one line (publish.source_metadata)
    campaign: CampaignSection | None = None  # None before the configured campaign has a plan
    readout: ReadoutSection | None = None  # None before campaign_readout ever ran


def _esc(value: object) -> str:
    return html.escape(str(value))


def _table(frame: pd.DataFrame, index: bool = False, floats: str = "{:.3f}") -> str:
    frame = frame.reset_index() if index else frame
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for value in record:
            if isinstance(value, float):
                cells.append(f'<td class="num">{floats.format(value)}</td>')
            elif isinstance(value, int):
                cells.append(f'<td class="num">{value:,}</td>')
            else:
                cells.append(f"<td>{_esc(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="scroll">{table}</div>'  # wide tables scroll instead of overflowing the page


def _evidence_section(e: dict[str, Any]) -> str:
    # Three outcomes: segments exist / evidence of none / no evidence at this size (power.py names the shifts).
    outcome = {SEGMENTS_EXIST: "yes", EVIDENCE_OF_NONE: "no"}.get(str(e["verdict"]), "unsure")
    figures = pd.DataFrame(
        [
            ("p-value (one-sided permutation test)", float(e["p_value"])),
            ("effect size (z against the null reference)", float(e["effect_size"])),
            ("exclusivity statistic / null mean", f"{e['statistic']:.4f} / {e['null_mean']:.4f}"),
            (f"shift of fans detectable with {float(e['power']):.0%} power (SD)", float(e["detectable_shift_sd"])),
            ("estimated shift / upper 95% bound (SD)", f"{e['estimated_shift_sd']:.2f} / {e['shift_upper_95_sd']:.2f}"),
            ("k-means silhouette / permuted reference", f"{e['silhouette']:.3f} / {e['silhouette_null_mean']:.3f}"),
            ("cluster stability (mean ARI of bootstrap refits)", float(e["stability_ari"])),
            ("decision threshold alpha", float(e["alpha"])),
        ],
        columns=["figure", "value"],
    )
    return (
        f'<div class="verdict {outcome}">{_esc(verdict_sentence(e))}</div>'
        + _table(figures)
        + f"<p class='sub'>{_esc(e.get('method', ''))}</p>"
    )


def _accuracy_section(acc: dict[str, Any] | None) -> str:
    if acc is None:
        return "<p>No ground truth in this source (a real database has none): accuracy is not measured.</p>"
    per_perk = pd.DataFrame(
        [
            {"perk": PERK_LABELS[p], "precision": v["precision"], "recall": v["recall"], "customers": v["support"]}
            for p, v in acc["per_perk"].items()
        ]
    )
    confusion = pd.DataFrame(
        acc["confusion"], index=[PERK_LABELS[p] for p in acc["labels"]], columns=[PERK_LABELS[p] for p in acc["labels"]]
    )
    confusion.index.name = "planted \\ assigned"
    return (
        f"<p>Against the synthetic source's planted favourites ({acc['users']:,} customers): accuracy "
        f"<b>{acc['accuracy']:.1%}</b>, balanced accuracy <b>{acc['balanced_accuracy']:.1%}</b> (chance 20%).</p>"
        + _table(per_perk)
        + _table(confusion, index=True)
    )


SYNTHETIC_BANNER = (
    "Synthetic data: these customers were generated by the synthetic TravelTide source, not TravelTide's; "
    "figures show how the method behaves, not what TravelTide's customers want."
)


def kappa_reading(kappa: float) -> str:
    """What a split-half Cohen's kappa means for marketing (bands of Landis & Koch)."""
    if kappa < 0.2:
        return (
            "A kappa this low means the named perk is a weak lead, not a fact about the customer: use it to "
            "choose which offer to try first and let the customer's response decide, not to promise each "
            "customer one perk."
        )
    if kappa < 0.4:
        return (
            "Fair agreement: the named perk is a useful lead for targeting, but many customers would be named "
            "another perk on new sessions; test offers before committing to one per customer."
        )
    if kappa < 0.6:
        return (
            "Moderate agreement: reliable enough to target most customers, with a fallback offer for the "
            "medium- and low-confidence ones."
        )
    return "Substantial agreement: for most customers the named perk is a stable trait of their behaviour."


def reliability_sentence(r: dict[str, Any]) -> str:
    return (
        "Asked twice \u2014 on two halves of each customer's sessions \u2014 the model names the same favourite "
        f"for {float(r['observed_agreement']):.0%} of customers, against {float(r['chance_agreement']):.0%} by "
        f"chance (Cohen's kappa {float(r['kappa']):.2f}); the probabilities predicted "
        f"{float(r['predicted_agreement']):.0%}."
    )


def _band_rules(thresholds: dict[str, float]) -> dict[str, str]:
    high, medium = thresholds.get("high"), thresholds.get("medium")
    if high is None or medium is None:
        return {}
    return {
        "high": f"probability of the favourite at least {high:.2f}",
        "medium": f"from {medium:.2f} to below {high:.2f}",
        "low": f"below {medium:.2f}",
    }


def _trust_section(data: ReportData) -> str:
    parts = []
    if data.reliability is not None:
        parts.append(f"<p>{_esc(reliability_sentence(data.reliability))}</p>")
        parts.append(f"<p>{_esc(kappa_reading(float(data.reliability['kappa'])))}</p>")
    rules = _band_rules(data.confidence_thresholds)
    calibration = data.calibration
    bands = calibration[calibration["kind"] == "band"].set_index("bin") if calibration is not None else None
    rows = []
    for band in CONFIDENCE_BANDS:
        row = {
            "confidence": band,
            "rule": rules.get(band, ""),
            "share of customers": float(data.confidence_shares.get(band, 0.0)),
        }
        if bands is not None and band in bands.index:
            row["mean probability"] = float(bands.loc[band, "mean_probability"])
            row["right against the planted truth"] = float(bands.loc[band, "accuracy"])
        rows.append(row)
    parts.append("<p>Customers by confidence in their favourite perk:</p>")
    parts.append(_table(pd.DataFrame(rows), floats="{:.0%}"))
    if calibration is None:
        parts.append(
            "<p>Whether a stated probability holds (a 60% favourite right for 60% of such customers) can only be "
            "measured on planted data, where each customer's favourite is known; this source has none.</p>"
        )
        return "".join(parts)
    overall = calibration[calibration["kind"] == "all"].iloc[0]
    parts.append(
        f"<p>Against the planted favourites ({int(overall['users']):,} customers): the favourite is right for "
        f"<b>{float(overall['accuracy']):.0%}</b> where the model stated {float(overall['mean_probability']):.0%} "
        f"on average; expected calibration error <b>{float(overall['ece']):.3f}</b> (0 = the probabilities mean "
        f"what they say), Brier score <b>{float(overall['brier']):.3f}</b> (0 = certain and right, 0.8 = a "
        f"uniform guess over five perks); the most confident fifth of customers is right for "
        f"<b>{float(overall['top_quintile_accuracy']):.0%}</b>.</p>"
    )
    if data.calibration_chart:
        parts.append(f'<div class="chart">{data.calibration_chart}</div>')
    return "".join(parts)


ARM_EMAILS = {
    "personalised": "their favourite perk where the policy expects it to pay off, else the generic email",
    "generic": "the generic email listing all five perks (the control)",
    "random_perk": "a perk drawn at random from the four that are not their favourite",
}


def _campaign_section(campaign: CampaignSection | None) -> str:
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
        f"<p>Campaign <b>{_esc(plan.campaign_id)}</b>: {plan.customers:,} customers, assigned at random to three "
        "arms within each favourite perk and confidence band, so every arm has the same mix of perks and of "
        "certainty. The random-perk arm separates \u201ca specific perk\u201d from \u201cthe right perk\u201d.</p>"
        + _table(arms, floats="{:.0%}")
        + f"<p>{_esc(campaign.policy)} Of the {plan.per_arm['personalised']:,} personalised customers, "
        f"{plan.personalised_with_perk:,} get their favourite perk and {plan.personalised_fallback:,} the generic "
        "email.</p>"
        + f'<div class="verdict unsure">{_esc(campaign.power)}</div>'
        + f"<p>If the assumed gain and cost were true and the probabilities honest, personalised would beat generic "
        f"by about {_esc(points(plan.assumed_difference))}, since only some personalised customers get their perk "
        "and some of those perks are wrong.</p>"
        + f"<p>A true effect of personalisation smaller than {_esc(points(plan.detectable_difference))} will "
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


def _readout_section(section: ReadoutSection | None) -> str:
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
    source = f" Sign-ups read from {_esc(section.read_from)}." if section.read_from else ""
    return (
        f'<div class="verdict {outcome}">Campaign {_esc(section.campaign_id)}: '
        f"{_esc(str(main['verdict']).capitalize())}.</div>"
        f"<p>Personalised invitations: {_esc(arm_rate('personalised'))} signed up; generic: "
        f"{_esc(arm_rate('generic'))}; random perk: {_esc(arm_rate('random_perk'))}. Personalised minus generic: "
        f"<b>{_esc(_pts(main['difference']))}</b> (95% interval {_esc(_pts(main['ci_low']))} to "
        f"{_esc(_pts(main['ci_high']))}, p = {main['p_value']:.3g}).{source}</p>"
        + _table(_rates(arms.reset_index(), with_level=False))
        + _table(comparisons)
        + "<p>How to read it: the verdict is the 95% interval of personalised minus generic. Wholly above 0, "
        "personalised invitations raise sign-ups; wholly below, they do worse; across 0, the campaign cannot tell "
        "(no evidence either way), which is not evidence of no effect: an effect smaller than the plan's detectable "
        "difference is often missed. Personalised minus random perk separates \u201cthe right perk\u201d from "
        "\u201cany specific perk\u201d. Every customer of the plan counts in their arm (a customer absent from "
        "the sign-ups did not sign up), including the personalised customers the policy sent the generic email. "
        "Intervals are Wilson's for a rate and Newcomb's for a difference; the p-value is a score test.</p>"
        + "<p>By confidence band of the favourite perk (as planned):</p>"
        + _table(_rates(by_band, with_level=True))
        + "<p>By favourite perk (as planned):</p>"
        + _table(_rates(by_perk, with_level=True))
    )


def render(data: ReportData, generated: dt.datetime | None = None) -> str:
    when = (generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    total = int(data.perk_counts.sum()) or 1
    distribution = pd.DataFrame(
        {
            "perk": [PERK_LABELS[p] for p in PERKS],
            "customers": [int(data.perk_counts.get(p, 0)) for p in PERKS],
            "share": [float(data.perk_counts.get(p, 0)) / total for p in PERKS],
        }
    )
    examples = data.examples.assign(favourite_perk=data.examples["favourite_perk"].map(PERK_LABELS))
    cleaning = pd.DataFrame(sorted(data.cleaning.items()), columns=["cleaning rule", "rows touched"])
    charts = "".join(f'<h3>{_esc(t)}</h3><div class="chart">{svg}</div>' for t, svg in data.charts.items())
    kpis = (
        f'<div class="kpis"><div class="kpi"><b>{data.cohort_users:,}</b>customers in the cohort</div>'
        f'<div class="kpi"><b>{data.cohort_sessions:,}</b>sessions analysed</div>'
        f'<div class="kpi"><b>{len(data.segment_profile)}</b>segments</div></div>'
    )
    # On generated customers the banner is the first thing the page shows, and the title (a tab, a bookmark, a
    # forwarded file's name in a mail client) says it too.
    banner = f'<div class="banner"><b>{_esc(SYNTHETIC_BANNER)}</b></div>' if data.synthetic else ""
    title = ("Synthetic data \u2014 " if data.synthetic else "") + "TravelTide rewards: favourite perks"
    source = f" Customers: {_esc(data.source)}." if data.source else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{_CSS}</style></head><body>
{banner}
<h1>TravelTide rewards: which perk does each customer want?</h1>
<p class="sub">Generated {when} by TravelTide Segments. Cohort: {_esc(data.cohort_definition)}.{source}</p>
{kpis}
<h2>Do customer groups with distinct perk affinities exist?</h2>
{_evidence_section(data.evidence)}
<h2>Favourite perks</h2>
{_table(distribution, floats="{:.1%}")}
<h2>How far to trust a customer's perk</h2>
{_trust_section(data)}
<h2>The invitation campaign</h2>
{_campaign_section(data.campaign)}
<h2>Did personalisation work?</h2>
{_readout_section(data.readout)}
<h2>Segments</h2>
<p>Share of each segment's customers by favourite perk:</p>
{_table(data.segment_leaning, index=True, floats="{:.0%}")}
<p>Average behaviour per segment:</p>
{_table(data.segment_profile, index=True, floats="{:.2f}")}
<h2>Example customers and why</h2>
{_table(examples, floats="{:.2f}")}
<h2>Accuracy against the planted truth</h2>
{_accuracy_section(data.accuracy)}
<h2>Data quality: rows cleaned per rule</h2>
{_table(cleaning)}
<h2>Charts</h2>
{charts}
</body></html>
"""
