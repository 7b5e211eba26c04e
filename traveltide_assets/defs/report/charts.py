"""The product's charts, drawn with matplotlib's object API (a Figure, no pyplot, no global backend).

A chart function returns a Figure; one figure is written as SVG text (inline in the HTML report, a .svg file
beside it, and base64 in markdown for the Dagster UI) or as PNG bytes (the slides, see deck_charts.py).
matplotlib and scikit-learn load with the first chart, not with the definitions: a process that only loads the
definitions (the UI's code server) pays nothing for charts.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from traveltide_assets.lib.catalog import PERK_LABELS, PERKS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLOURS = dict(zip(PERKS, ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#b279a2"), strict=True))
MUTED, MISSING = "#555555", "#dddddd"
FONTS = ["Helvetica", "Arial", "Liberation Sans", "DejaVu Sans"]  # the first one the viewer (or Agg) has
PNG_DPI = 200  # sharp on a projector
RASTER_DPI = 150  # the projection's points only: 3,000 of them as vector shapes would weigh about 350 kB
SVG_METADATA = dict.fromkeys(("Date", "Creator", "Format", "Type"))  # none: the same chart, the same bytes
PROJECTION_SAMPLE = 3_000
SCORE_BINS = np.linspace(-4, 6, 60)
Z_LIMIT = 1.5  # the heatmap's colour scale is clipped to +-1.5 cohort standard deviations


# ---- figures and their outputs -----------------------------------------------------------------------------


def new_figure(label: str, width: float, height: float) -> Figure:
    """A white figure of width x height inches whose layout keeps labels inside it; `label` names the chart."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained", facecolor="white")
    figure.set_label(label)
    return figure


# Text stays text in the SVG (searchable, small); a fixed salt gives the same ids every run (matplotlib hashes
# it with what an id names, so charts in one page share an id only for the same definition).
OUTPUT_STYLE = {"svg.fonttype": "none", "svg.hashsalt": "traveltide", "font.sans-serif": FONTS}


def to_svg(figure: Figure) -> str:
    """Standalone SVG text without the XML prolog, so that it can also sit inline in HTML; byte-identical for
    the same chart (no date, no random ids), named for screen readers by the figure's label."""
    from matplotlib import rc_context

    label = figure.get_label()
    buffer = io.StringIO()
    with rc_context(OUTPUT_STYLE):
        figure.savefig(buffer, format="svg", dpi=RASTER_DPI, metadata=SVG_METADATA)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    return text.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label, quote=True)}" ', 1)


def to_png(figure: Figure, dpi: int = PNG_DPI) -> bytes:
    from matplotlib import rc_context

    buffer = io.BytesIO()
    with rc_context(OUTPUT_STYLE):
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def svg_markdown(title: str, svg: str) -> str:
    """An SVG as markdown with an inline image (data URI), which the Dagster UI renders in asset metadata."""
    alt = title.replace("[", "(").replace("]", ")")
    return f"![{alt}](data:image/svg+xml;base64,{base64.b64encode(svg.encode('utf-8')).decode('ascii')})"


def tidy(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=10)


def no_data(ax: Any, message: str = "no data") -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, transform=ax.transAxes)


def signed(value: float) -> str:
    """One decimal with its sign, a true minus sign and never "-0.0"."""
    return f"{round(value, 1) + 0.0:+.1f}".replace("-", "\u2212")


# ---- the report's charts -----------------------------------------------------------------------------------


def perk_distribution(assignments: pd.DataFrame) -> Figure:
    """Horizontal bars: customers per favourite perk, labelled with count and share."""
    counts = assignments["favourite_perk"].value_counts().reindex(list(PERKS), fill_value=0).astype(int)
    total = max(int(counts.sum()), 1)
    figure = new_figure("Favourite perk", 7.5, 3.2)
    ax = figure.subplots()
    bars = ax.barh([PERK_LABELS[p] for p in PERKS], counts.to_numpy(), color=[COLOURS[p] for p in PERKS])
    ax.bar_label(bars, labels=[f"{n:,} ({n / total:.0%})" for n in counts], padding=4, fontsize=9)
    ax.invert_yaxis()  # the catalogue's order, top to bottom
    ax.set_xlim(0, max(int(counts.max()), 1) * 1.2)
    ax.set_xlabel("customers whose favourite perk it is")
    ax.set_title("Favourite perk", loc="left", fontweight="bold")
    tidy(ax)
    return figure


def score_distributions(scores: pd.DataFrame) -> Figure:
    """Step histograms (outlines) of the five affinity scores on one axis."""
    figure = new_figure("Perk affinity scores", 7.5, 3.6)
    ax = figure.subplots()
    highest = 0
    for perk in PERKS:
        column = f"score_{perk}"
        values = scores[column].to_numpy(dtype=float) if column in scores else np.empty(0)
        counts = np.histogram(values[np.isfinite(values)], bins=SCORE_BINS)[0]
        highest = max(highest, int(counts.max()))
        ax.stairs(counts, SCORE_BINS, color=COLOURS[perk], linewidth=1.5, label=PERK_LABELS[perk])
    ax.set_xlim(SCORE_BINS[0], SCORE_BINS[-1])
    ax.set_ylim(0, max(highest, 1) * 1.05)
    ax.set_xlabel("affinity score (cohort mean 0, sd 1)")
    ax.set_ylabel("customers")
    ax.set_title("Perk affinity scores", loc="left", fontweight="bold")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=9)
    ax.grid(axis="y", color="#e6e6e6", linewidth=0.8)
    tidy(ax)
    return figure


def standardised_profile(profile: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Each segment's mean of each feature in cohort standard deviations from the cohort mean."""
    values = profile.drop(columns=["users"], errors="ignore")
    values = values[[f for f in values.columns if f in features.columns]].astype(float)
    cohort = features[values.columns].astype(float)
    sd = cohort.std()
    return (values - cohort.mean()) / sd.where(np.isfinite(sd) & (sd > 0), 1.0)


def segment_heatmap(profile: pd.DataFrame, features: pd.DataFrame) -> Figure:
    """Segments x features, coloured by standardised_profile, with each cell's value written in it."""
    z = standardised_profile(profile, features)
    sizes = profile["users"] if "users" in profile else pd.Series(0, index=profile.index)
    rows = [f"segment {s} ({int(n) if pd.notna(n) else 0:,})" for s, n in sizes.items()]
    columns = [str(f) for f in z.columns]
    label_room = 0.05 * max((len(c) for c in columns), default=0)  # column names run at 45 degrees
    width = max(6.4, 2.8 + 0.55 * len(columns))
    figure = new_figure("What distinguishes each segment", width, max(2.8, 1.0 + 0.4 * len(rows) + label_room))
    ax = figure.subplots()
    ax.set_title("What distinguishes each segment", loc="left", fontweight="bold")
    if z.empty:
        no_data(ax)
        return figure
    values = z.to_numpy(dtype=float)
    mesh = ax.pcolormesh(values, cmap="RdBu_r", vmin=-Z_LIMIT, vmax=Z_LIMIT, edgecolors="white", linewidth=1)
    ax.set_facecolor(MISSING)  # a missing mean is not drawn, so the background shows
    ax.invert_yaxis()
    # Names come from the data: never read as mathtext, where a "$" would change or break them.
    ax.set_xticks(np.arange(len(columns)) + 0.5, columns, rotation=45, ha="right", fontsize=9, parse_math=False)
    ax.set_yticks(np.arange(len(rows)) + 0.5, rows, parse_math=False)
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            ink = "white" if abs(value) > 1.0 else "#333333"
            ax.text(j + 0.5, i + 0.5, signed(value), ha="center", va="center", fontsize=8, color=ink)
    bar = figure.colorbar(mesh, ax=ax, ticks=[-Z_LIMIT, 0.0, Z_LIMIT], fraction=0.05, aspect=12)
    bar.ax.set_yticklabels([signed(-Z_LIMIT), "0", signed(Z_LIMIT)], fontsize=9)
    bar.set_label("segment mean vs cohort (sd)", fontsize=9)
    bar.outline.set_visible(False)
    return figure


@dataclass(frozen=True)
class Projection:
    rows: np.ndarray  # the sampled customers
    points: np.ndarray  # their coordinates on the first two principal components
    share: np.ndarray  # each component's share of the variance


def project(x: np.ndarray, seed: int = 0) -> Projection:
    """Principal components of all customers (scikit-learn's PCA), with a sample of them projected on the two
    first. Loadings' signs are sklearn's (the largest loading of a component is positive): the same each run."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    rows = rng.choice(x.shape[0], size=min(PROJECTION_SAMPLE, x.shape[0]), replace=False)
    if not np.any(np.ptp(x, axis=0) > 0):  # identical customers: no direction, and sklearn would divide by 0
        return Projection(rows, np.zeros((len(rows), 2)), np.zeros(2))
    pca = PCA(n_components=2, svd_solver="full").fit(x)
    return Projection(rows, pca.transform(x[rows]), pca.explained_variance_ratio_)


def cluster_projection(x: np.ndarray, favourite: np.ndarray, seed: int = 0) -> Figure:
    """PCA 2-D projection of (a sample of) the standardised driver features, coloured by favourite perk."""
    x = np.nan_to_num(np.asarray(x, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    favourite = np.asarray(favourite)
    title = "Customers projected on two principal components"
    figure = new_figure(title, 7.5, 5.0)
    ax = figure.subplots()
    ax.set_title(title, loc="left", fontweight="bold")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        no_data(ax, "not enough data for a projection")
        return figure
    projection = project(x, seed)
    for perk in PERKS:
        mine = projection.points[favourite[projection.rows] == perk]
        ax.scatter(
            mine[:, 0], mine[:, 1], s=8, color=COLOURS[perk], alpha=0.6, linewidths=0, label=PERK_LABELS[perk]
        ).set_rasterized(True)
    ax.set_xlabel(f"PC1 ({projection.share[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({projection.share[1]:.0%} of variance)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=9, markerscale=2)
    ax.grid(color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    tidy(ax)
    return figure


def calibration_chart(deciles: pd.DataFrame, chance: float = 1 / len(PERKS)) -> Figure:
    """Predicted probability of the favourite against the share of customers whose favourite is the planted
    one, per decile of the prediction, with the diagonal of perfect calibration (sources with a planted truth)."""
    figure = new_figure("Calibration", 6.4, 4.8)
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], linestyle="--", color="#999999", linewidth=1, label="perfectly calibrated")
    ax.axhline(chance, linestyle=":", color="#bbbbbb", linewidth=1, label=f"chance ({chance:.0%})")
    if len(deciles):
        ax.plot(
            deciles["mean_probability"],
            deciles["accuracy"],
            marker="o",
            color=COLOURS[PERKS[0]],
            linewidth=1.5,
            label="deciles of customers",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("predicted probability of the favourite perk (decile mean)")
    ax.set_ylabel("share whose favourite is the planted one")
    ax.set_title("Calibration: predicted against observed")
    ax.grid(color="#eeeeee", linewidth=0.8)
    tidy(ax)
    ax.legend(loc="upper left", frameon=False, fontsize=9)
    return figure
