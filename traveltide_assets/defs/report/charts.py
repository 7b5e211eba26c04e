"""The four charts of the marketing report and of the assets' metadata, each as standalone SVG text.

Drawn with the small writer in traveltide_assets.defs.report.svg (no plotting library: importing and running one
cost about a second of every pipeline run). The same SVG sits inline in the HTML report, in a .svg file beside
it, and base64-encoded in markdown for the Dagster UI (svg_markdown).
The calibration chart (drawn only for a source with a planted truth) is matplotlib's SVG.
"""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd

from traveltide_assets.defs.report.svg import (
    LABEL_SIZE,
    MUTED,
    TICK_SIZE,
    Canvas,
    Scale,
    legend,
    legend_width,
    nice_ticks,
    text_width,
    x_axis,
    y_axis,
    y_axis_width,
)
from traveltide_assets.lib.catalog import PERK_LABELS, PERKS

COLOURS = dict(zip(PERKS, ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#b279a2"), strict=True))
PROJECTION_SAMPLE = 3_000
SCORE_BINS = np.linspace(-4, 6, 60)
Z_LIMIT = 1.5  # the heatmap's colour scale is clipped to +-1.5 cohort standard deviations
# RdBu-like diverging scale: blue (below the cohort) - white - red (above), from -Z_LIMIT to +Z_LIMIT.
DIVERGING = ((33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43))


def svg_markdown(title: str, svg: str) -> str:
    """An SVG as markdown with an inline image (data URI), which the Dagster UI renders in asset metadata."""
    alt = title.replace("[", "(").replace("]", ")")
    return f"![{alt}](data:image/svg+xml;base64,{base64.b64encode(svg.encode('utf-8')).decode('ascii')})"


def _no_data(c: Canvas, message: str = "no data") -> str:
    c.text(c.width / 2, c.height / 2, message, anchor="middle", fill=MUTED)
    return c.render()


def perk_distribution(assignments: pd.DataFrame) -> str:
    """Horizontal bars: customers per favourite perk, labelled with count and share."""
    counts = assignments["favourite_perk"].value_counts().reindex(list(PERKS), fill_value=0).astype(int)
    total = max(int(counts.sum()), 1)
    values = [f"{n:,} ({n / total:.0%})" for n in counts]
    left = 16 + max(text_width(PERK_LABELS[p], LABEL_SIZE) for p in PERKS) + 10
    right = 16 + max(text_width(v, TICK_SIZE) for v in values) + 8
    band, top = 30, 40
    width, height = 720, top + band * len(PERKS) + 50
    c = Canvas(width, height, "Favourite perk")
    c.title("Favourite perk")
    ticks = nice_ticks(0, max(int(counts.max()), 1), integer=True)
    scale, axis_y = Scale(0, ticks.hi, left, width - right), top + band * len(PERKS)
    x_axis(c, scale, ticks, axis_y, top=top, caption="customers whose favourite perk it is")
    for i, (perk, n, value) in enumerate(zip(PERKS, counts, values, strict=True)):
        mid = top + band * (i + 0.5)
        c.rect(left, mid - band * 0.35, scale(n) - left, band * 0.7, COLOURS[perk])
        c.text(left - 8, mid, PERK_LABELS[perk], anchor="end")
        c.text(scale(n) + 5, mid, value, size=TICK_SIZE)
    c.line(left, top, left, axis_y, stroke=MUTED)
    return c.render()


def score_distributions(scores: pd.DataFrame) -> str:
    """Step histograms (outlines) of the five affinity scores on one axis."""
    counts = {}
    for perk in PERKS:
        column = f"score_{perk}"
        values = scores[column].to_numpy(dtype=float) if column in scores else np.empty(0)
        counts[perk] = np.histogram(values[np.isfinite(values)], bins=SCORE_BINS)[0]
    labels = [PERK_LABELS[p] for p in PERKS]
    width, height, top = 760, 320, 40
    yticks = nice_ticks(0, max(max(int(n.max()) for n in counts.values()), 1), integer=True)
    left, right = 16 + y_axis_width(yticks), width - legend_width(labels) - 32
    xticks = nice_ticks(SCORE_BINS[0], SCORE_BINS[-1])
    sx, sy = Scale(xticks.lo, xticks.hi, left, right), Scale(0, yticks.hi, height - 54, top)
    c = Canvas(width, height, "Perk affinity scores")
    c.title("Perk affinity scores")
    y_axis(c, sy, yticks, left, right=right, caption="customers")
    x_axis(c, sx, xticks, sy.r0, caption="affinity score (cohort mean 0, sd 1)")
    for perk in PERKS:
        n = counts[perk]
        steps = [(SCORE_BINS[0], 0)]
        for i, count in enumerate(n):
            steps += [(SCORE_BINS[i], count), (SCORE_BINS[i + 1], count)]
        steps.append((SCORE_BINS[-1], 0))
        c.polyline([(sx(a), sy(b)) for a, b in steps], stroke=COLOURS[perk])
    legend(c, right + 20, top + 8, list(zip(labels, (COLOURS[p] for p in PERKS), strict=True)), mark="line")
    return c.render()


def _signed(value: float) -> str:
    """One decimal with its sign, a true minus sign and never "-0.0"."""
    return f"{round(value, 1) + 0.0:+.1f}".replace("-", "\u2212")


def _diverging(z: float) -> str:
    """Colour of z on the diverging scale, clipped to +-Z_LIMIT; light grey when z is missing."""
    if not np.isfinite(z):
        return "#dddddd"
    position = (min(max(z, -Z_LIMIT), Z_LIMIT) + Z_LIMIT) / (2 * Z_LIMIT) * (len(DIVERGING) - 1)
    i = min(int(position), len(DIVERGING) - 2)
    t = position - i
    rgb = (round(a + (b - a) * t) for a, b in zip(DIVERGING[i], DIVERGING[i + 1], strict=True))
    return "#" + "".join(f"{v:02x}" for v in rgb)


def segment_heatmap(profile: pd.DataFrame, features: pd.DataFrame) -> str:
    """Segments x features: each segment's mean in cohort standard deviations from the cohort mean."""
    values = profile.drop(columns=["users"], errors="ignore")
    values = values[[f for f in values.columns if f in features.columns]].astype(float)
    cohort = features[values.columns].astype(float)
    sd = cohort.std()
    z = (values - cohort.mean()) / sd.where(np.isfinite(sd) & (sd > 0), 1.0)
    sizes = profile["users"] if "users" in profile else pd.Series(0, index=profile.index)
    rows = [f"segment {s} ({int(n) if pd.notna(n) else 0:,})" for s, n in sizes.items()]
    columns = [str(f) for f in z.columns]
    cell_w, cell_h, top, slant = 46, 28, 40, 0.7071  # column labels run at 45 degrees below the grid
    label_h = max((text_width(f, TICK_SIZE) for f in columns), default=0) * slant + 16
    left = 16 + max(max((text_width(r, LABEL_SIZE) for r in rows), default=0) + 10, label_h - cell_w / 2)
    width = max(left + cell_w * len(columns) + 150, 460)
    legend_h = max(cell_h * len(rows), 170)  # tall enough for its rotated caption
    height = top + max(cell_h * len(rows) + label_h, legend_h) + 10
    c = Canvas(width, height, "What distinguishes each segment")
    c.title("What distinguishes each segment")
    if z.empty:
        return _no_data(c)
    for i, row in enumerate(rows):
        y = top + cell_h * i
        c.text(left - 8, y + cell_h / 2, row, anchor="end")
        for j, value in enumerate(z.iloc[i].to_numpy(dtype=float)):
            x = left + cell_w * j
            c.rect(x, y, cell_w, cell_h, _diverging(value), stroke="#ffffff", stroke_width=1)
            if np.isfinite(value):
                ink = "#ffffff" if abs(value) > 1.0 else "#333333"
                c.text(x + cell_w / 2, y + cell_h / 2, _signed(value), size=9, anchor="middle", fill=ink)
    grid_bottom = top + cell_h * len(rows)
    for j, name in enumerate(columns):
        x = left + cell_w * (j + 0.5)
        c.text(x + 3, grid_bottom + 8, name, size=TICK_SIZE, anchor="end", rotate=-45)
    _colour_legend(c, left + cell_w * len(columns) + 24, top, legend_h)
    return c.render()


def _colour_legend(c: Canvas, x: float, top: float, height: float, steps: int = 30) -> None:
    """A vertical colour bar from -Z_LIMIT (bottom) to +Z_LIMIT (top), its ticks and caption."""
    for k in range(steps):
        z = Z_LIMIT - (k + 0.5) * 2 * Z_LIMIT / steps
        c.rect(x, top + k * height / steps, 12, height / steps + 0.5, _diverging(z))
    scale = Scale(-Z_LIMIT, Z_LIMIT, top + height, top)
    for value in (-Z_LIMIT, 0.0, Z_LIMIT):
        c.line(x + 12, scale(value), x + 16, scale(value), stroke=MUTED)
        c.text(x + 19, scale(value), _signed(value) if value else "0", size=TICK_SIZE, fill=MUTED)
    c.text(x + 62, top + height / 2, "segment mean vs cohort (sd)", size=TICK_SIZE, anchor="middle", rotate=-90)


def _principal_components(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, two unit axes as rows, their shares of the variance): PCA by SVD, signs fixed for determinism."""
    mean = x.mean(axis=0)
    _, singular, axes = np.linalg.svd(x - mean, full_matrices=False)
    axes = np.array([a if a[np.abs(a).argmax()] >= 0 else -a for a in axes[:2]])  # largest loading positive
    variance = singular**2
    share = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    return mean, axes, share


def cluster_projection(x: np.ndarray, favourite: np.ndarray, seed: int = 0) -> str:
    """PCA 2-D projection of (a sample of) the standardised driver features, coloured by favourite perk."""
    x = np.nan_to_num(np.asarray(x, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    favourite = np.asarray(favourite)
    title = "Customers projected on two principal components"
    width, height, top = 720, 480, 40
    c = Canvas(width, height, title)
    c.title(title)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        return _no_data(c, "not enough data for a projection")
    rng = np.random.default_rng(seed)
    rows = rng.choice(x.shape[0], size=min(PROJECTION_SAMPLE, x.shape[0]), replace=False)
    mean, axes, share = _principal_components(x)
    points = (x[rows] - mean) @ axes.T
    labels = [PERK_LABELS[p] for p in PERKS]
    xticks = nice_ticks(points[:, 0].min(), points[:, 0].max(), target=6)
    yticks = nice_ticks(points[:, 1].min(), points[:, 1].max(), target=6)
    left, right = 16 + y_axis_width(yticks), width - legend_width(labels) - 32
    sx, sy = Scale(xticks.lo, xticks.hi, left, right), Scale(yticks.lo, yticks.hi, height - 54, top)
    y_axis(c, sy, yticks, left, right=right, caption=f"PC2 ({share[1]:.0%} of variance)")
    x_axis(c, sx, xticks, sy.r0, top=top, caption=f"PC1 ({share[0]:.0%} of variance)")
    for perk in PERKS:
        mine = points[favourite[rows] == perk]
        c.open("g", fill=COLOURS[perk], fill_opacity=0.6)
        c.dots(sx(mine[:, 0]), sy(mine[:, 1]), r=2)
        c.close("g")
    legend(c, right + 20, top + 8, list(zip(labels, (COLOURS[p] for p in PERKS), strict=True)), mark="dot")
    return c.render()


def _matplotlib_svg(figure: object) -> str:
    """A matplotlib figure as standalone SVG text without the XML prolog (so it can sit inline in HTML too),
    byte-identical for the same figure (fixed ids, no date)."""
    import io

    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": "traveltide", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")  # type: ignore[attr-defined]
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def calibration_chart(deciles: pd.DataFrame, chance: float = 1 / len(PERKS)) -> str:
    """Predicted probability of the favourite against the share of customers whose favourite is the planted
    one, per decile of the prediction, with the diagonal of perfect calibration (matplotlib, drawn only for
    sources with a planted truth)."""
    # Imported here: only a source with a planted truth draws this chart (the import costs about a second).
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.6))
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
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", frameon=False, fontsize=9)
    return _matplotlib_svg(figure)
