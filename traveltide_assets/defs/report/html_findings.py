"""The report's findings in HTML: whether segments exist, how far to trust a customer's perk, and the accuracy
against a planted truth; and the reliability wording the slides share (kappa_reading)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from traveltide_assets.defs.report.html_data import ReportData
from traveltide_assets.defs.report.html_elements import esc, html_table
from traveltide_assets.lib.catalog import CONFIDENCE_BANDS, PERK_LABELS
from traveltide_assets.lib.power import EVIDENCE_OF_NONE, SEGMENTS_EXIST, verdict_sentence


def evidence_section(e: dict[str, Any]) -> str:
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
        f'<div class="verdict {outcome}">{esc(verdict_sentence(e))}</div>'
        + html_table(figures)
        + f"<p class='sub'>{esc(e.get('method', ''))}</p>"
    )


def accuracy_section(acc: dict[str, Any] | None) -> str:
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
        + html_table(per_perk)
        + html_table(confusion, index=True)
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


def trust_section(data: ReportData) -> str:
    parts = []
    if data.reliability is not None:
        parts.append(f"<p>{esc(reliability_sentence(data.reliability))}</p>")
        parts.append(f"<p>{esc(kappa_reading(float(data.reliability['kappa'])))}</p>")
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
    parts.append(html_table(pd.DataFrame(rows), floats="{:.0%}"))
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
