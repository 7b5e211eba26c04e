"""The charts (matplotlib figures) on small synthetic frames: as SVG well-formed, deterministic and labelled, as
PNG decodable at their size; the data they draw; edge cases; the projection's PCA."""

from __future__ import annotations

import base64
import io
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from traveltide_assets.defs.report import charts, deck_charts
from traveltide_assets.lib.campaign_plan import PlanSummary
from traveltide_assets.lib.catalog import PERK_LABELS, PERKS

SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"
FEATURES = ("bags_per_flight", "cancellation_rate", "avg_lead_days", "hotel_only_rate")


def parse(svg: str) -> ET.Element:
    """The SVG's root, after the checks every chart must pass."""
    assert svg.startswith("<svg ")  # no XML prolog: it sits inline in the HTML report
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    assert {"width", "height", "viewBox"} <= set(root.attrib)
    assert root.attrib["role"] == "img" and root.attrib["aria-label"]
    assert not re.search(r"\b(nan|inf)\b", svg, re.IGNORECASE)
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


def figure_texts(figure: Figure) -> list[str]:
    figure.draw_without_rendering()  # tick labels exist once the figure is laid out
    return [t.get_text() for t in figure.findobj(Text) if t.get_text()]


def assignments(users: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user_id": np.arange(users), "favourite_perk": rng.choice(PERKS, size=users)})


def scores(users: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user_id": np.arange(users)} | {f"score_{p}": rng.normal(0, 1, users) for p in PERKS})


def features_and_profile(users: int = 400, segments: int = 3, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    features = pd.DataFrame({"user_id": np.arange(users)} | {f: rng.gamma(2, 1, users) for f in FEATURES})
    labels = np.arange(users) % segments
    profile = features[list(FEATURES)].assign(segment=labels).groupby("segment").mean()
    profile.insert(0, "users", pd.Series(labels).value_counts().sort_index())
    return features, profile


def test_perk_distribution_labels_every_perk_with_count_and_share() -> None:
    frame = assignments()
    svg = charts.to_svg(charts.perk_distribution(frame))
    root = parse(svg)
    labels = texts(root)
    assert root.attrib["aria-label"] == "Favourite perk"
    assert all(PERK_LABELS[p] in labels for p in PERKS)
    assert "Favourite perk" in labels and "customers whose favourite perk it is" in labels
    n = int((frame["favourite_perk"] == PERKS[0]).sum())
    assert f"{n:,} ({n / len(frame):.0%})" in labels
    assert svg == charts.to_svg(charts.perk_distribution(frame.copy()))  # the same bytes every run


def test_perk_distribution_with_a_perk_nobody_prefers_and_with_nobody() -> None:
    frame = assignments()
    frame.loc[frame["favourite_perk"] == PERKS[2], "favourite_perk"] = PERKS[0]
    assert "0 (0%)" in texts(parse(charts.to_svg(charts.perk_distribution(frame))))
    empty = charts.to_svg(charts.perk_distribution(frame.iloc[:0]))
    assert texts(parse(empty)).count("0 (0%)") == len(PERKS)


def test_score_distributions_draw_one_outline_per_perk_holding_every_score() -> None:
    frame = scores()
    figure = charts.score_distributions(frame)
    outlines = figure.axes[0].patches
    assert [p.get_label() for p in outlines] == [PERK_LABELS[p] for p in PERKS]
    for perk, outline in zip(PERKS, outlines, strict=True):
        inside = frame[f"score_{perk}"].between(charts.SCORE_BINS[0], charts.SCORE_BINS[-1]).sum()
        assert outline.get_data().values.sum() == inside
    svg = charts.to_svg(figure)
    labels = texts(parse(svg))
    assert all(PERK_LABELS[p] in labels for p in PERKS)
    assert "customers" in labels and "affinity score (cohort mean 0, sd 1)" in labels
    assert svg == charts.to_svg(charts.score_distributions(frame.copy()))


@pytest.mark.parametrize("kind", ["empty", "constant", "missing values"])
def test_score_distributions_edge_cases(kind: str) -> None:
    frame = scores(50)
    if kind == "empty":
        frame = frame.iloc[:0]
    elif kind == "constant":
        frame[[f"score_{p}" for p in PERKS]] = 0.0
    else:
        frame.iloc[::3, 1:] = np.nan
    figure = charts.score_distributions(frame)
    drawn = sum(p.get_data().values.sum() for p in figure.axes[0].patches)
    assert drawn == frame.filter(like="score_").notna().to_numpy().sum()
    parse(charts.to_svg(figure))


def test_segment_heatmap_colours_and_writes_each_segments_standardised_mean() -> None:
    features, profile = features_and_profile()
    figure = charts.segment_heatmap(profile, features)
    mesh = next(c for c in figure.axes[0].collections if isinstance(c, QuadMesh))
    expected = (profile[list(FEATURES)] - features[list(FEATURES)].mean()) / features[list(FEATURES)].std()
    assert np.allclose(mesh.get_array().reshape(expected.shape), expected.to_numpy())
    svg = charts.to_svg(figure)
    labels = texts(parse(svg))
    assert labels.count(charts.signed(float(expected.iloc[1, 2]))) >= 1
    assert any(label.startswith("segment 0 (") for label in labels)
    assert all(f in labels for f in FEATURES)
    assert "segment mean vs cohort (sd)" in labels and "What distinguishes each segment" in labels
    assert svg == charts.to_svg(charts.segment_heatmap(profile.copy(), features.copy()))


@pytest.mark.parametrize("kind", ["single segment", "all equal", "one user", "no features", "no segments"])
def test_segment_heatmap_edge_cases(kind: str) -> None:
    features, profile = features_and_profile(segments=1 if kind == "single segment" else 3)
    if kind == "all equal":
        features[list(FEATURES)] = 2.0
        profile[list(FEATURES)] = 2.0
    elif kind == "one user":
        features, profile = features.iloc[:1], profile.iloc[:1].assign(users=1)
    elif kind == "no features":
        profile = profile[["users"]]
    elif kind == "no segments":
        profile = profile.iloc[:0]
    labels = texts(parse(charts.to_svg(charts.segment_heatmap(profile, features))))
    if kind in ("single segment", "all equal", "one user"):
        assert any(label.startswith("segment 0 (") for label in labels)
    else:
        assert "no data" in labels


def test_heatmap_keeps_odd_names_as_written() -> None:
    features, profile = features_and_profile()
    odd = "a<b & \"c\" 'd'> $x$"  # XML's special characters, and mathtext's
    features, profile = features.rename(columns={FEATURES[0]: odd}), profile.rename(columns={FEATURES[0]: odd})
    assert odd in texts(parse(charts.to_svg(charts.segment_heatmap(profile, features))))


def test_projection_is_the_principal_components_of_all_customers() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4_000, 6)) * np.array([3, 2, 1, 1, 1, 1])
    projection = charts.project(x)
    assert projection.points.shape == (charts.PROJECTION_SAMPLE, 2)
    assert len(set(projection.rows.tolist())) == charts.PROJECTION_SAMPLE
    assert projection.share[0] == pytest.approx(9 / 17, abs=0.03) and projection.share[1] == pytest.approx(
        4 / 17, abs=0.03
    )
    # PC1 is the first column's direction, its largest loading positive; PC2 the second's.
    assert np.corrcoef(projection.points[:, 0], x[projection.rows, 0])[0, 1] > 0.98
    assert abs(np.corrcoef(projection.points[:, 1], x[projection.rows, 1])[0, 1]) > 0.95
    again = charts.project(x.copy())
    assert np.array_equal(again.points, projection.points) and np.array_equal(again.rows, projection.rows)
    assert not np.array_equal(charts.project(x, seed=1).rows, projection.rows)


def test_cluster_projection_draws_the_sample_coloured_and_labels_axes() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4_000, 6)) * np.array([3, 2, 1, 1, 1, 1])
    favourite = rng.choice(PERKS, size=len(x))
    figure = charts.cluster_projection(x, favourite)
    clouds = figure.axes[0].collections
    assert [c.get_label() for c in clouds] == [PERK_LABELS[p] for p in PERKS]
    assert sum(len(c.get_offsets()) for c in clouds) == charts.PROJECTION_SAMPLE
    svg = charts.to_svg(figure)
    root = parse(svg)
    labels = texts(root)
    assert any(label.startswith("PC1 (") and label.endswith("% of variance)") for label in labels)
    assert all(PERK_LABELS[p] in labels for p in PERKS)
    points = [i for i in root.iter(f"{SVG_NS}image") if i.attrib[XLINK].startswith("data:image/png;base64,")]
    assert len(points) == 1  # the points, rasterised inside the SVG; the rest stays vector
    picture = Image.open(io.BytesIO(base64.b64decode(points[0].attrib[XLINK].split(",", 1)[1])))
    assert picture.getextrema()[3][0] == 0 < picture.getextrema()[3][1]  # transparent around opaque points
    assert len(svg) < 300_000
    assert svg == charts.to_svg(charts.cluster_projection(x.copy(), favourite.copy()))
    assert svg != charts.to_svg(charts.cluster_projection(x, favourite, seed=1))


@pytest.mark.parametrize("rows", [0, 1, 5])
def test_cluster_projection_small_or_constant_data(rows: int) -> None:
    figure = charts.cluster_projection(np.ones((rows, 4)), np.array(PERKS[:1] * rows))
    labels = texts(parse(charts.to_svg(figure)))
    if rows < 2:
        assert "not enough data for a projection" in labels
    else:  # identical customers: no direction explains any variance
        assert "PC1 (0% of variance)" in labels


def test_calibration_chart_with_and_without_deciles() -> None:
    deciles = pd.DataFrame({"mean_probability": np.linspace(0.1, 0.9, 10), "accuracy": np.linspace(0.15, 0.8, 10)})
    figure = charts.calibration_chart(deciles)
    line = next(line for line in figure.axes[0].lines if line.get_label() == "deciles of customers")
    assert np.allclose(line.get_xdata(), deciles["mean_probability"])
    labels = texts(parse(charts.to_svg(figure)))
    assert "Calibration: predicted against observed" in labels and "chance (20%)" in labels
    assert "deciles of customers" not in texts(parse(charts.to_svg(charts.calibration_chart(deciles.iloc[:0]))))


def test_svg_markdown_round_trips() -> None:
    svg = charts.to_svg(charts.perk_distribution(assignments()))
    markdown = charts.svg_markdown("Favourite perk", svg)
    prefix = "![Favourite perk](data:image/svg+xml;base64,"
    assert markdown.startswith(prefix) and markdown.endswith(")")
    assert base64.b64decode(markdown[len(prefix) : -1]).decode("utf-8") == svg


# ---- the slides' charts, as PNG ----------------------------------------------------------------------------


def png_size(chart: Callable[[], Figure]) -> tuple[int, int]:
    png = charts.to_png(chart())
    picture = Image.open(io.BytesIO(png))
    picture.load()  # decodes the whole image, not only its header
    assert picture.format == "PNG"
    assert png == charts.to_png(chart())  # the same bytes every time
    return picture.size


def plan(customers: int = 1_000) -> PlanSummary:
    per_arm = {"personalised": customers * 6 // 10, "generic": customers * 2 // 10, "random_perk": customers * 2 // 10}
    return PlanSummary("spring", customers, per_arm, per_arm["personalised"] * 2 // 3,
                       per_arm["personalised"] - per_arm["personalised"] * 2 // 3, 0.4, 0.1, 0.05, 1)  # fmt: skip


EVIDENCE = {
    "estimated_shift_sd": 0.71, "shift_upper_95_sd": 0.86, "detectable_shift_sd": 0.58, "meaningful_shift_sd": 0.5,
    "power": 0.8,
}  # fmt: skip
ARMS = pd.DataFrame(
    {"rate": [0.15, 0.10, 0.09], "ci_low": [0.124, 0.066, 0.058], "ci_high": [0.18, 0.149, 0.138]},
    index=pd.Index(["personalised", "generic", "random_perk"], name="arm"),
)


@pytest.mark.parametrize(
    ("chart", "inches"),
    [
        (lambda: deck_charts.perk_mix_chart({PERKS[0]: 300, PERKS[1]: 100}), (5.4, 3.6)),
        (lambda: deck_charts.segment_shift_chart(EVIDENCE), (5.4, 3.0)),
        (lambda: deck_charts.confidence_chart({"high": 0.4, "medium": 0.35, "low": 0.25}, {"high": 0.6}), (5.4, 3.6)),
        (lambda: deck_charts.plan_chart(plan()), (5.4, 3.4)),
        (lambda: deck_charts.readout_chart(ARMS), (5.4, 3.6)),
        (lambda: charts.perk_distribution(assignments()), (7.5, 3.2)),
    ],
)
def test_png_decodes_at_the_figures_size(chart: Callable[[], Figure], inches: tuple[float, float]) -> None:
    assert png_size(chart) == (round(inches[0] * charts.PNG_DPI), round(inches[1] * charts.PNG_DPI))


def test_slide_charts_label_their_figures() -> None:
    mix = figure_texts(deck_charts.perk_mix_chart({PERKS[0]: 300, PERKS[1]: 100}))
    assert "75% (300)" in mix and "25% (100)" in mix and "0% (0)" in mix and PERK_LABELS[PERKS[4]] in mix
    bands = figure_texts(deck_charts.confidence_chart({"high": 0.4, "low": 0.25}, {"high": 0.6, "medium": 0.4}))
    assert "high\np \u2265 0.60" in bands and "40%" in bands and "0%" in bands and "low\np < 0.40" in bands
    arms = figure_texts(deck_charts.plan_chart(plan()))
    assert "  600" in arms and "falls back to the generic email" in arms
    readout = figure_texts(deck_charts.readout_chart(ARMS))
    assert "15.0%" in readout and "Random perk" in readout
    shift = figure_texts(deck_charts.segment_shift_chart(EVIDENCE))
    assert "detectable with 80% power" in shift and "worth acting on" in shift


def test_slide_charts_without_data() -> None:
    assert png_size(lambda: deck_charts.perk_mix_chart({}))[0] == 1080
    assert png_size(lambda: deck_charts.confidence_chart({}, {}))[0] == 1080
    assert png_size(lambda: deck_charts.plan_chart(plan(0)))[0] == 1080
    assert png_size(lambda: deck_charts.readout_chart(ARMS.iloc[:0]))[0] == 1080
    missing = dict.fromkeys(EVIDENCE, math.nan) | {"shift_upper_95_sd": math.inf, "power": 0.8}
    drawn = figure_texts(deck_charts.segment_shift_chart(missing))
    assert "95% confidence range" in drawn and "estimated shift" not in drawn
    assert png_size(lambda: deck_charts.segment_shift_chart(missing))[0] == 1080
