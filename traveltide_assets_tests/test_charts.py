"""The report's SVG charts on small synthetic frames: well-formed, deterministic, labelled, robust to edge cases."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from traveltide_assets.defs.report import charts
from traveltide_assets.defs.report.svg import esc, nice_ticks, num
from traveltide_assets.lib.catalog import PERK_LABELS, PERKS

SVG_NS = "{http://www.w3.org/2000/svg}"
FEATURES = ("bags_per_flight", "cancellation_rate", "avg_lead_days", "hotel_only_rate")


def parse(svg: str) -> ET.Element:
    """The SVG's root, after the checks every chart must pass."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    assert {"width", "height", "viewBox"} <= set(root.attrib)
    assert "sans-serif" in root.attrib["font-family"]
    assert "nan" not in svg.lower() and "inf" not in svg.lower()
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


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
    svg = charts.perk_distribution(frame)
    labels = texts(parse(svg))
    assert all(PERK_LABELS[p] in labels for p in PERKS)
    assert "Favourite perk" in labels and "customers whose favourite perk it is" in labels
    n = int((frame["favourite_perk"] == PERKS[0]).sum())
    assert f"{n:,} ({n / len(frame):.0%})" in labels
    assert svg == charts.perk_distribution(frame.copy())


def test_perk_distribution_with_a_perk_nobody_prefers_and_with_nobody() -> None:
    frame = assignments()
    frame.loc[frame["favourite_perk"] == PERKS[2], "favourite_perk"] = PERKS[0]
    assert "0 (0%)" in texts(parse(charts.perk_distribution(frame)))
    empty = charts.perk_distribution(frame.iloc[:0])
    assert texts(parse(empty)).count("0 (0%)") == len(PERKS)


def test_score_distributions_draw_one_outline_per_perk() -> None:
    frame = scores()
    svg = charts.score_distributions(frame)
    root = parse(svg)
    assert len(list(root.iter(f"{SVG_NS}polyline"))) == len(PERKS)
    labels = texts(root)
    assert all(PERK_LABELS[p] in labels for p in PERKS)
    assert "customers" in labels and "affinity score (cohort mean 0, sd 1)" in labels
    assert svg == charts.score_distributions(frame.copy())


@pytest.mark.parametrize("kind", ["empty", "constant", "missing values"])
def test_score_distributions_edge_cases(kind: str) -> None:
    frame = scores(50)
    if kind == "empty":
        frame = frame.iloc[:0]
    elif kind == "constant":
        frame[[f"score_{p}" for p in PERKS]] = 0.0
    else:
        frame.iloc[::3, 1:] = np.nan
    parse(charts.score_distributions(frame))


def test_segment_heatmap_labels_segments_and_features() -> None:
    features, profile = features_and_profile()
    svg = charts.segment_heatmap(profile, features)
    labels = texts(parse(svg))
    assert any(label.startswith("segment 0 (") for label in labels)
    assert all(f in labels for f in FEATURES)
    assert "segment mean vs cohort (sd)" in labels
    assert svg == charts.segment_heatmap(profile.copy(), features.copy())


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
    labels = texts(parse(charts.segment_heatmap(profile, features)))
    if kind in ("single segment", "all equal", "one user"):
        assert any(label.startswith("segment 0 (") for label in labels)


def test_heatmap_escapes_text() -> None:
    features, profile = features_and_profile()
    odd = "a<b & \"c\" 'd'>"
    features, profile = features.rename(columns={FEATURES[0]: odd}), profile.rename(columns={FEATURES[0]: odd})
    assert odd in texts(parse(charts.segment_heatmap(profile, features)))
    assert esc(odd) == "a&lt;b &amp; &quot;c&quot; &#x27;d&#x27;&gt;"


def test_cluster_projection_samples_colours_and_labels_axes() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4_000, 6)) * np.array([3, 2, 1, 1, 1, 1])
    favourite = rng.choice(PERKS, size=len(x))
    svg = charts.cluster_projection(x, favourite)
    root = parse(svg)
    assert len(list(root.iter(f"{SVG_NS}circle"))) == charts.PROJECTION_SAMPLE + len(PERKS)  # points + legend
    labels = texts(root)
    assert any(label.startswith("PC1 (") and label.endswith("% of variance)") for label in labels)
    assert all(PERK_LABELS[p] in labels for p in PERKS)
    assert len(svg) < 300_000
    assert svg == charts.cluster_projection(x.copy(), favourite.copy())
    assert svg != charts.cluster_projection(x, favourite, seed=1)


@pytest.mark.parametrize("rows", [0, 1, 5])
def test_cluster_projection_small_or_constant_data(rows: int) -> None:
    parse(charts.cluster_projection(np.ones((rows, 4)), np.array(PERKS[:1] * rows)))


def test_svg_markdown_round_trips() -> None:
    svg = charts.perk_distribution(assignments())
    markdown = charts.svg_markdown("Favourite perk", svg)
    prefix = "![Favourite perk](data:image/svg+xml;base64,"
    assert markdown.startswith(prefix) and markdown.endswith(")")
    assert base64.b64decode(markdown[len(prefix) : -1]).decode("utf-8") == svg


def test_ticks_and_numbers_are_round() -> None:
    ticks = nice_ticks(0, 1_234, integer=True)
    assert ticks.lo == 0 and ticks.hi >= 1_234 and [ticks.label(v) for v in ticks.values][:2] == ["0", "250"]
    assert [nice_ticks(-4, 6).label(v) for v in nice_ticks(-4, 6).values][:3] == ["\u22124", "\u22122", "0"]
    assert nice_ticks(0.5, 0.5).lo < 0.5 < nice_ticks(0.5, 0.5).hi
    assert (num(float("nan")), num(-0.001), num(12.5)) == ("0", "0", "12.5")
