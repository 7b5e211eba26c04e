"""Charts of the marketing report, drawn with matplotlib (no display needed) as SVG text or PNG bytes."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from traveltide_assets.catalog import PERK_LABELS, PERKS

COLOURS = dict(zip(PERKS, ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#b279a2"), strict=True))
PROJECTION_SAMPLE = 3_000


def export(fig: Figure) -> tuple[str, bytes]:
    """(inline SVG text, PNG bytes) of a figure, which is then closed."""
    svg, png = io.StringIO(), io.BytesIO()
    fig.savefig(svg, format="svg", bbox_inches="tight")
    fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    text = svg.getvalue()
    return text[text.index("<svg") :], png.getvalue()  # no XML prologue: the SVG sits inline in HTML


def png_markdown(title: str, png: bytes) -> str:
    """A PNG as markdown with an inline image, which the Dagster UI renders in asset metadata."""
    return f"![{title}](data:image/png;base64,{base64.b64encode(png).decode()})"


def as_markdown(title: str, fig: Figure) -> str:
    return png_markdown(title, export(fig)[1])


def perk_distribution(assignments: pd.DataFrame) -> Figure:
    counts = assignments["favourite_perk"].value_counts().reindex(list(PERKS), fill_value=0)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.barh([PERK_LABELS[p] for p in PERKS], counts.to_numpy(), color=[COLOURS[p] for p in PERKS])
    for y, value in enumerate(counts.to_numpy()):
        ax.text(value, y, f" {value:,} ({value / max(counts.sum(), 1):.0%})", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("customers whose favourite perk it is")
    ax.set_title("Favourite perk")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def segment_heatmap(profile: pd.DataFrame, features: pd.DataFrame) -> Figure:
    """Segments x features: each segment's mean in cohort standard deviations from the cohort mean."""
    values = profile.drop(columns=["users"], errors="ignore")
    cohort = features[values.columns].astype(float)
    z = (values - cohort.mean()) / cohort.std().replace(0, 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * z.shape[1]), 0.5 * z.shape[0] + 1.8))
    image = ax.imshow(z.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1.5, vmax=1.5, aspect="auto")
    ax.set_xticks(range(z.shape[1]), z.columns, rotation=45, ha="right", fontsize=8)
    sizes = profile["users"] if "users" in profile else pd.Series(0, index=profile.index)
    ax.set_yticks(range(z.shape[0]), [f"segment {s} ({n:,})" for s, n in sizes.items()], fontsize=8)
    fig.colorbar(image, ax=ax, label="segment mean vs cohort (sd)")
    ax.set_title("What distinguishes each segment")
    return fig


def score_distributions(scores: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bins = np.linspace(-4, 6, 60)
    for perk in PERKS:
        ax.hist(scores[f"score_{perk}"], bins=bins, histtype="step", linewidth=1.5, color=COLOURS[perk],
                label=PERK_LABELS[perk])  # fmt: skip
    ax.set_xlabel("affinity score (cohort mean 0, sd 1)")
    ax.set_ylabel("customers")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("Perk affinity scores")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def cluster_projection(x: np.ndarray, favourite: np.ndarray, seed: int = 0) -> Figure:
    """PCA 2-D projection of the standardised driver features, coloured by favourite perk."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(x.shape[0], size=min(PROJECTION_SAMPLE, x.shape[0]), replace=False)
    pca = PCA(n_components=2, random_state=seed).fit(x)
    points = pca.transform(x[rows])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for perk in PERKS:
        mine = favourite[rows] == perk
        ax.scatter(points[mine, 0], points[mine, 1], s=6, alpha=0.6, color=COLOURS[perk], label=PERK_LABELS[perk])
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({ratio[1]:.0%} of variance)")
    ax.legend(fontsize=7, markerscale=2, frameon=False)
    ax.set_title("Customers projected on two principal components")
    return fig
