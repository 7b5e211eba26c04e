"""The marketing report: one self-contained HTML page (inline SVG charts, inline CSS, no external resources)."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from traveltide_assets.catalog import CONFIDENCE_BANDS, PERK_LABELS, PERKS
from traveltide_assets.power import EVIDENCE_OF_NONE, SEGMENTS_EXIST, verdict_sentence

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
    banner = f'<div class="banner"><b>{_esc(SYNTHETIC_BANNER)}</b></div>' if data.synthetic else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>TravelTide rewards: favourite perks</title>
<style>{_CSS}</style></head><body>
{banner}
<h1>TravelTide rewards: which perk does each customer want?</h1>
<p class="sub">Generated {when} by TravelTide Segments. Cohort: {_esc(data.cohort_definition)}.</p>
{kpis}
<h2>Do customer groups with distinct perk affinities exist?</h2>
{_evidence_section(data.evidence)}
<h2>Favourite perks</h2>
{_table(distribution, floats="{:.1%}")}
<h2>How far to trust a customer's perk</h2>
{_trust_section(data)}
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
