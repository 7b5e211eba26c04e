"""The marketing report: self-contained HTML with its charts, with and without a planted truth."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import psycopg
import pyarrow.parquet as pq
import pytest
from dagster import ExecuteInProcessResult

from tools.local_postgres import LocalPostgres
from traveltide_assets.defs.report.charts import svg_markdown
from traveltide_assets.defs.report.html import SYNTHETIC_BANNER
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import GROUND_TRUTH_FILE, load_postgres
from traveltide_assets_tests.pipeline_harness import run_graph

SVG_NS = "{http://www.w3.org/2000/svg}"
# file -> (title in the report and the metadata, a text the chart draws)
CHARTS = {
    "favourite_perk_distribution": ("Favourite perk distribution", "customers whose favourite perk it is"),
    "segment_profiles": ("Segment profiles", "segment mean vs cohort (sd)"),
    "affinity_score_distributions": ("Affinity score distributions", "affinity score (cohort mean 0, sd 1)"),
    "cluster_projection": ("Cluster projection (PCA 2-D)", "Customers projected on two principal components"),
}
SECTIONS = (
    "Do customer groups with distinct perk affinities exist?",
    "Favourite perks",
    "How far to trust a customer's perk",
    "Segments",
    "Example customers and why",
    "Accuracy against the planted truth",
    "Data quality: rows cleaned per rule",
)


def _report_metadata(result: ExecuteInProcessResult) -> dict:
    event = next(
        e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "executive_summary"
    )
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_report_is_complete_and_self_contained(planted_run: tuple[ExecuteInProcessResult, Path]) -> None:
    result, tmp_path = planted_run
    assert result.success
    page = (tmp_path / "report" / "executive_summary.html").read_text()
    for heading in SECTIONS:
        assert heading in page
    assert page.count("<svg") >= 4
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched: works offline
    assert "accuracy <b>" in page
    metadata = _report_metadata(result)
    for chart, (title, drawn) in CHARTS.items():
        svg = (tmp_path / "report" / f"{chart}.svg").read_text(encoding="utf-8")
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG_NS}svg"
        assert drawn in ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")], chart
        assert f'<h3>{title}</h3><div class="chart">{svg}</div>' in page  # the file's chart, inline
        assert metadata[f"chart/{title}"] == svg_markdown(title, svg)  # and in the Dagster UI
    charts = [k for k in metadata if k.startswith("chart/")]
    assert len(charts) == 5  # the four charts and, with a planted truth, the calibration chart
    for key in charts:
        assert metadata[key].startswith("![")
        assert "](data:image/svg+xml;base64," in metadata[key]


def test_trust_section_reads_reliability_bands_and_calibration(
    planted_run: tuple[ExecuteInProcessResult, Path],
) -> None:
    result, folder = planted_run
    page = (folder / "report" / "executive_summary.html").read_text()
    metadata = _report_metadata(result)
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        reliability = con.sql("SELECT * FROM assignment_reliability WHERE perk = 'all'").df().iloc[0]
        calibration = con.sql("SELECT * FROM perk_calibration").df()
        bands = con.sql("SELECT confidence, count(*) / sum(count(*)) OVER () AS share FROM perk_assignments GROUP BY 1")
        shares = dict(bands.fetchall())
    assert "Asked twice" in page and f"Cohen&#x27;s kappa {reliability['kappa']:.2f}" in page
    assert f"for {reliability['observed_agreement']:.0%} of customers" in page
    assert f"probabilities predicted {reliability['predicted_agreement']:.0%}" in page
    assert "probability of the favourite at least 0.60" in page and "below 0.40" in page
    assert metadata["split_half_kappa"] == pytest.approx(reliability["kappa"])
    assert metadata["split_half_predicted_agreement"] == pytest.approx(reliability["predicted_agreement"])
    assert metadata["confidence_thresholds"] == {"high": 0.6, "medium": 0.4}
    assert metadata["confidence_shares"] == pytest.approx(
        {b: round(shares.get(b, 0.0), 4) for b in ("high", "medium", "low")}
    )
    # The calibration figures are perk_calibration's (the report does not read the truth for them).
    overall = calibration[calibration["kind"] == "all"].iloc[0]
    for key in ("ece", "brier", "top_quintile_accuracy"):
        assert metadata[key] == pytest.approx(overall[key])
    assert f"expected calibration error <b>{overall['ece']:.3f}</b>" in page
    band_rows = calibration[calibration["kind"] == "band"].set_index("bin")["accuracy"]
    assert metadata["band_accuracy"] == pytest.approx({b: round(a, 4) for b, a in band_rows.dropna().items()})
    svg = (folder / "report" / "calibration.svg").read_text(encoding="utf-8")
    chart = ET.fromstring(svg)
    assert chart.tag == f"{SVG_NS}svg"
    assert "Calibration: predicted against observed" in ["".join(t.itertext()) for t in chart.iter(f"{SVG_NS}text")]
    assert f'<div class="chart">{svg}</div>' in page
    assert metadata["chart/Calibration"] == svg_markdown("Calibration", svg)
    assert page.count("<svg") >= 5


def test_synthetic_banner_comes_first(planted_run: tuple[ExecuteInProcessResult, Path]) -> None:
    result, folder = planted_run
    page = (folder / "report" / "executive_summary.html").read_text()
    banner = page.index("Synthetic data: these customers were generated by the synthetic TravelTide source")
    assert banner < page.index("<h1>")
    # The first line a reader sees (the body's first text) is the banner, and the page's title says it too.
    body = page[page.index("<body>") + len("<body>") :]
    first_text = next(line for line in re.sub(r"<[^>]+>", "\n", body).splitlines() if line.strip())
    assert first_text.startswith("Synthetic data: these customers were generated"), first_text
    assert re.search(r"<title>Synthetic data \u2014 ", page)
    assert "Customers: Synthetic customers (generated, seed 19) \u2014 not TravelTide data." in page
    assert SYNTHETIC_BANNER.replace("'", "&#x27;") in page
    assert _report_metadata(result)["synthetic_source"] is True


def test_report_without_truth_says_accuracy_is_not_measured(
    source_dir: Path, planted_run: tuple[ExecuteInProcessResult, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "source"
    copy.mkdir()
    for path in source_dir.glob("*.parquet"):
        if path.name != GROUND_TRUTH_FILE:
            (copy / path.name).write_bytes(path.read_bytes())
    # The warehouse of the planted run: its calibration table, export and chart must not outlive the truth.
    warehouse_dir = tmp_path / "warehouse"
    shutil.copytree(planted_run[1], warehouse_dir, ignore=shutil.ignore_patterns("*.lock"))
    assert (warehouse_dir / "parquet" / "perk_calibration.parquet").is_file()
    result = run_graph(TravelTideSource(embedded_dir=str(copy)), Warehouse.in_folder(warehouse_dir))
    assert result.success
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"executive_summary", "perk_calibration", "perk_accuracy"} <= materialised
    assert not (warehouse_dir / "report" / "calibration.svg").exists()
    with duckdb.connect(str(warehouse_dir / "warehouse.duckdb"), read_only=True) as con:
        for table in ("perk_calibration", "perk_accuracy"):  # no rows: nothing of the planted run outlives its truth
            assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)], table
    for table in ("perk_calibration", "perk_accuracy"):
        assert pq.read_metadata(warehouse_dir / "parquet" / f"{table}.parquet").num_rows == 0, table
    page = (warehouse_dir / "report" / "executive_summary.html").read_text()
    assert "accuracy is not measured" in page
    assert "can only be measured on planted data" in page and "Asked twice" in page
    metadata = _report_metadata(result)
    assert "ece" not in metadata and "chart/Calibration" not in metadata and "split_half_kappa" in metadata
    assert metadata["synthetic_source"] is True  # the embedded store is the synthetic source, truth or not


class _WithoutTruth:
    """The tables of a synthetic source loaded as a real database would be: without a planted truth."""

    ground_truth = None

    def __init__(self, tables: dict) -> None:
        self._tables = tables

    def source_tables(self) -> dict:
        return self._tables


def test_synthetic_source_is_told_without_reading_the_truth(postgres: LocalPostgres, tmp_path: Path) -> None:
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE report_synthetic")
    url = postgres.url_for("report_synthetic")
    generated = generate_source(GeneratorConfig(users=2_000, seed=3))
    load_postgres(generated, url)
    assert TravelTideSource(postgres_url=url).is_synthetic()
    load_postgres(_WithoutTruth(generated.source_tables()), url)  # drops the truth table, as for real rows
    assert not TravelTideSource(postgres_url=url).is_synthetic()
    assert TravelTideSource(embedded_dir=str(tmp_path)).is_synthetic()  # the embedded store is synthetic
