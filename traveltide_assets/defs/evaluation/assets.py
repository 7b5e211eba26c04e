"""Evidence that segments exist, and (synthetic sources only) accuracy against the planted truth."""

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from traveltide_assets.defs.perks.assets import perk_assignments
from traveltide_assets.defs.perks.probabilities import perk_probabilities
from traveltide_assets.defs.report import charts
from traveltide_assets.lib.accuracy import accuracy_report
from traveltide_assets.lib.calibration import calibration_report
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.publish import publish_arrow
from traveltide_assets.storage.warehouse import Warehouse


@asset(
    group_name="evaluation",
    deps=[perk_assignments],
    output_required=False,
    kinds={"duckdb", "parquet"},
    description="Accuracy of the favourite perk against the synthetic ground truth; materialised only when the "
    "source has one (a real database has none).",
)
def perk_accuracy(context: AssetExecutionContext, source: TravelTideSource, warehouse: Warehouse):
    truth = source.ground_truth()
    report = accuracy_report(warehouse.read_frame("perk_assignments"), truth.to_pandas()) if truth is not None else None
    if report is None:
        # No truth: not materialised, and no stale accuracy from an earlier synthetic run is left behind.
        with warehouse.connect() as con:
            con.execute("DROP TABLE IF EXISTS perk_accuracy").fetchall()
        Path(warehouse.parquet_path("perk_accuracy")).unlink(missing_ok=True)
        context.log.info("no ground truth with planted perks in the source: perk_accuracy not materialised")
        return
    rows = pd.DataFrame(
        [{"perk": perk, **figures} for perk, figures in report["per_perk"].items()]
        + [
            {
                "perk": "all",
                "precision": report["accuracy"],
                "recall": report["balanced_accuracy"],
                "support": report["users"],
            }
        ]
    )
    with warehouse.connect() as con:
        metadata = publish_arrow(con, warehouse, "perk_accuracy", pa.Table.from_pandas(rows, preserve_index=False))
    confusion = pd.DataFrame(report["confusion"], index=report["labels"], columns=report["labels"])
    metadata.update(
        {
            "accuracy": MetadataValue.float(report["accuracy"]),
            "balanced_accuracy": MetadataValue.float(report["balanced_accuracy"]),
            "users": MetadataValue.int(report["users"]),
            "confusion_matrix": MetadataValue.md("rows = planted truth\n\n" + confusion.to_markdown()),
            "report": MetadataValue.json(json.loads(json.dumps(report))),
        }
    )
    yield MaterializeResult(metadata=metadata)


def _drop_stale(context: AssetExecutionContext, warehouse: Warehouse, table: str) -> None:
    """No truth: the asset is not materialised, and nothing stale from an earlier synthetic run is left."""
    with warehouse.connect() as con:
        con.execute(f"DROP TABLE IF EXISTS {table}").fetchall()
    Path(warehouse.parquet_path(table)).unlink(missing_ok=True)
    context.log.info(f"no ground truth with planted perks in the source: {table} not materialised")


@asset(
    group_name="evaluation",
    deps=[perk_assignments, perk_probabilities],
    output_required=False,
    kinds={"duckdb", "parquet", "scikitlearn"},
    description="Calibration of the favourite's probability against the synthetic ground truth: accuracy per "
    "decile of the probability (kind 'decile') and per confidence band ('band'), and for all ('all', with the "
    "expected calibration error, the multi-class Brier score and the accuracy of the most confident fifth); "
    "materialised only when the source has a planted truth (traveltide_assets/lib/calibration.py).",
)
def perk_calibration(context: AssetExecutionContext, source: TravelTideSource, warehouse: Warehouse):
    truth = source.ground_truth()
    report = (
        calibration_report(
            warehouse.read_frame("perk_assignments"), warehouse.read_frame("perk_probabilities"), truth.to_pandas()
        )
        if truth is not None
        else None
    )
    if report is None:
        _drop_stale(context, warehouse, "perk_calibration")
        return
    table = report["table"]
    with warehouse.connect() as con:
        metadata = publish_arrow(con, warehouse, "perk_calibration", pa.Table.from_pandas(table, preserve_index=False))
    context.log.info(
        f"ECE {report['ece']:.3f}, Brier {report['brier']:.3f}, top-quintile accuracy "
        f"{report['top_quintile_accuracy']:.3f} over {report['users']:,} customers"
    )
    chart = charts.to_svg(charts.calibration_chart(table[table["kind"] == "decile"]))
    metadata.update(
        {
            "users": MetadataValue.int(int(report["users"])),
            "accuracy": MetadataValue.float(float(report["accuracy"])),
            "mean_probability": MetadataValue.float(float(report["mean_probability"])),
            "ece": MetadataValue.float(float(report["ece"])),
            "brier": MetadataValue.float(float(report["brier"])),
            "top_quintile_accuracy": MetadataValue.float(float(report["top_quintile_accuracy"])),
            "band_accuracy": MetadataValue.json(report["band_accuracy"]),
            "band_share": MetadataValue.json({b: round(s, 4) for b, s in report["band_share"].items()}),
            "table": MetadataValue.md(
                table.drop(columns=["ece", "brier", "top_quintile_accuracy"]).round(4).to_markdown(index=False)
            ),
            "chart": MetadataValue.md(charts.svg_markdown("Calibration", chart)),
        }
    )
    yield MaterializeResult(metadata=metadata)
