"""The marketing report: self-contained HTML with its charts, with and without a planted truth."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from traveltide_assets.resources import TravelTideSource, Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import GROUND_TRUTH_FILE, write_parquet_store
from traveltide_assets_tests.pipeline_harness import run_graph

SECTIONS = (
    "Do customer groups with distinct perk affinities exist?",
    "Favourite perks",
    "Segments",
    "Example customers and why",
    "Accuracy against the planted truth",
    "Data quality: rows cleaned per rule",
)


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report_source")
    write_parquet_store(generate_source(GeneratorConfig(users=30_000, seed=19)), folder)
    return folder


def test_report_is_complete_and_self_contained(source_dir: Path, tmp_path: Path) -> None:
    result = run_graph(TravelTideSource(embedded_dir=str(source_dir)), Warehouse.in_folder(tmp_path))
    assert result.success
    page = (tmp_path / "report" / "executive_summary.html").read_text()
    for heading in SECTIONS:
        assert heading in page
    assert page.count("<svg") >= 4
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched: works offline
    assert "accuracy <b>" in page
    for chart in (
        "favourite_perk_distribution",
        "segment_profiles",
        "affinity_score_distributions",
        "cluster_projection",
    ):
        root = ET.fromstring((tmp_path / "report" / f"{chart}.svg").read_text(encoding="utf-8"))
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    event = next(
        e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "executive_summary"
    )
    charts = [k for k in event.materialization.metadata if k.startswith("chart/")]
    assert len(charts) == 4
    for key in charts:
        assert event.materialization.metadata[key].value.startswith("![")
        assert "](data:image/svg+xml;base64," in event.materialization.metadata[key].value


def test_report_without_truth_says_accuracy_is_not_measured(source_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "source"
    copy.mkdir()
    for path in source_dir.glob("*.parquet"):
        if path.name != GROUND_TRUTH_FILE:
            (copy / path.name).write_bytes(path.read_bytes())
    result = run_graph(TravelTideSource(embedded_dir=str(copy)), Warehouse.in_folder(tmp_path))
    assert result.success
    page = (tmp_path / "report" / "executive_summary.html").read_text()
    assert "accuracy is not measured" in page
