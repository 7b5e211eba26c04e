"""The slides' charts: figures from charts.new_figure, written as PNG by charts.to_png for python-pptx.

They have no title of their own: the slide's title states what the chart shows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from traveltide_assets.defs.report.charts import COLOURS, new_figure, tidy
from traveltide_assets.lib.campaign_plan import ARMS, PlanSummary
from traveltide_assets.lib.catalog import CONFIDENCE_BANDS, PERK_LABELS, PERKS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ARM_LABELS = {"personalised": "Personalised", "generic": "Generic", "random_perk": "Random perk"}
ARM_COLOURS = {"personalised": "#4c78a8", "generic": "#9d9d9d", "random_perk": "#f58518"}
FALLBACK_COLOUR = "#a9c4e0"  # personalised-arm customers whose probability is too low: they get the generic email
BAND_COLOURS = ("#2e7d32", "#f9a825", "#c62828")  # high, medium, low


def _percent(axis: Any) -> None:
    """An axis of shares (0 to 1) labelled in percent, with as many decimals as its range needs."""
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0))


def perk_mix_chart(counts: dict[str, int]) -> Figure:
    """Horizontal bars: the share of customers whose favourite each perk is, labelled with the share."""
    total = max(sum(counts.values()), 1)
    order = list(reversed(PERKS))  # barh draws bottom-up: the catalogue's first perk on top
    shares = [counts.get(p, 0) / total for p in order]
    figure = new_figure("Favourite perks", 5.4, 3.6)
    ax = figure.subplots()
    bars = ax.barh([PERK_LABELS[p] for p in order], shares, color=[COLOURS[p] for p in order])
    ax.bar_label(
        bars, labels=[f"{s:.0%} ({counts.get(p, 0):,})" for p, s in zip(order, shares, strict=True)], padding=4
    )
    ax.set_xlim(0, max(max(shares), 0.01) * 1.3)
    _percent(ax.xaxis)
    ax.set_xlabel("share of customers whose favourite perk it is")
    tidy(ax)
    return figure


def segment_shift_chart(evidence: dict[str, Any]) -> Figure:
    """The segment effect on one axis (SD): estimated with its 95% upper bound, the shift the test detects with
    its power at this cohort size, and the smallest shift worth acting on."""
    estimated, upper = float(evidence["estimated_shift_sd"]), float(evidence["shift_upper_95_sd"])
    detectable, meaningful = float(evidence["detectable_shift_sd"]), float(evidence["meaningful_shift_sd"])
    finite = [v for v in (estimated, upper, detectable, meaningful) if math.isfinite(v)]
    right = max(max(finite) * 1.25, 0.1) if finite else 1.0
    figure = new_figure("Segment shift", 5.4, 3.0)
    ax = figure.subplots()
    # A bound or estimate beyond the axis (an infinite one too) is drawn to its edge; a missing one not at all.
    if not math.isnan(upper):
        ax.hlines(1, 0, min(upper, right), color="#4c78a8", linewidth=6, alpha=0.35, label="95% confidence range")
    if not math.isnan(estimated):
        ax.plot([min(estimated, right)], [1], "o", color="#4c78a8", markersize=10, label="estimated shift")
    if math.isfinite(detectable):
        power = float(evidence["power"])
        ax.axvline(detectable, color="#e45756", linewidth=2, label=f"detectable with {power:.0%} power")
    if math.isfinite(meaningful):
        ax.axvline(meaningful, color="#54a24b", linewidth=2, linestyle="--", label="worth acting on")
    ax.set_xlim(0, right)
    ax.set_ylim(0.5, 1.8)
    ax.set_yticks([])
    ax.set_xlabel("how far each perk's fans stand out on their own perk's behaviour (SD)")
    ax.legend(loc="upper center", ncols=2, frameon=False, fontsize=9)
    tidy(ax)
    ax.spines["left"].set_visible(False)
    return figure


def _band_rules(thresholds: dict[str, float]) -> dict[str, str]:
    high, medium = thresholds.get("high"), thresholds.get("medium")
    if high is None or medium is None:
        return {}
    return {"high": f"p \u2265 {high:.2f}", "medium": f"{medium:.2f} \u2264 p < {high:.2f}", "low": f"p < {medium:.2f}"}


def confidence_chart(shares: dict[str, float], thresholds: dict[str, float]) -> Figure:
    """Bars: the share of customers in each confidence band, with the band's rule under its name."""
    rules = _band_rules(thresholds)
    labels = [f"{band}\n{rules.get(band, '')}".strip() for band in CONFIDENCE_BANDS]
    values = [float(shares.get(band, 0.0)) for band in CONFIDENCE_BANDS]
    figure = new_figure("Confidence bands", 5.4, 3.6)
    ax = figure.subplots()
    bars = ax.bar(labels, values, color=BAND_COLOURS, width=0.6)
    ax.bar_label(bars, labels=[f"{v:.0%}" for v in values], padding=3, fontsize=12)
    ax.set_ylim(0, max(max(values), 0.01) * 1.25)
    _percent(ax.yaxis)
    ax.set_ylabel("share of customers")
    ax.set_xlabel("confidence in the customer's favourite perk (p = its probability)")
    tidy(ax)
    return figure


def plan_chart(plan: PlanSummary) -> Figure:
    """Customers per arm; the personalised bar split into customers who get their perk and those who fall back
    to the generic email."""
    figure = new_figure("Campaign arms", 5.4, 3.4)
    ax = figure.subplots()
    for arm in reversed(ARMS):  # barh draws bottom-up: personalised on top
        label = ARM_LABELS[arm]
        if arm == "personalised":
            ax.barh(label, plan.personalised_with_perk, color=ARM_COLOURS[arm], label="email leads with their perk")
            ax.barh(
                label,
                plan.personalised_fallback,
                left=plan.personalised_with_perk,
                color=FALLBACK_COLOUR,
                label="falls back to the generic email",
            )
        else:
            ax.barh(label, plan.per_arm[arm], color=ARM_COLOURS[arm])
        ax.text(plan.per_arm[arm], label, f"  {plan.per_arm[arm]:,}", va="center", fontsize=11)
    ax.set_xlim(0, max(max(plan.per_arm.values()), 1) * 1.2)
    ax.set_xlabel("customers")
    ax.legend(loc="lower right", frameon=False, fontsize=9)
    tidy(ax)
    return figure


def readout_chart(arms: pd.DataFrame) -> Figure:
    """Sign-up rate per arm with its 95% (Wilson) interval; `arms`: index arm, columns rate, ci_low, ci_high."""
    figure = new_figure("Sign-up rate per arm", 5.4, 3.6)
    ax = figure.subplots()
    labels = [ARM_LABELS.get(a, a) for a in arms.index]
    rates = arms["rate"].astype(float).to_numpy()
    errors = [rates - arms["ci_low"].astype(float).to_numpy(), arms["ci_high"].astype(float).to_numpy() - rates]
    bars = ax.bar(labels, rates, color=[ARM_COLOURS.get(a, "#777777") for a in arms.index], width=0.55)
    ax.errorbar(labels, rates, yerr=errors, fmt="none", ecolor="#333333", capsize=8, linewidth=1.5)
    ax.bar_label(bars, labels=[f"{r:.1%}" for r in rates], label_type="center", color="white", fontsize=12)
    highest = np.nanmax(arms["ci_high"].astype(float).to_numpy(), initial=0.0)
    ax.set_ylim(0, max(highest, 0.01) * 1.2)
    _percent(ax.yaxis)
    ax.set_ylabel("sign-up rate (95% interval)")
    tidy(ax)
    return figure
