"""How right the favourite perks are, against a synthetic source's planted truth: the only assets that read it."""

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.perks.assets import perk_assignments
from traveltide_assets.defs.perks.probabilities import perk_probabilities
from traveltide_assets.defs.report import charts
from traveltide_assets.lib.accuracy import accuracy_report, accuracy_table
from traveltide_assets.lib.calibration import HEADLINE_COLUMNS, calibration_report, empty_calibration_table
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.publish import publish_arrow
from traveltide_assets.storage.warehouse import Warehouse

NO_TRUTH = "no planted truth in this source (a real database has none): nothing to measure, no rows"


def cohort_truth(truth: pa.Table, user_ids: pd.Series) -> pd.DataFrame:
    """The planted truth of the cohort's customers only, as pandas. The source's truth covers every user (8.2
    million at 8x the real volume) and the cohort ~0.6% of them: filtered in Arrow, only the cohort's rows are
    converted and joined. The rows keep the truth's order, and the joins keep the cohort's."""
    members = pa.array(user_ids.to_numpy()).cast(truth.schema.field("user_id").type)
    return truth.filter(pc.is_in(truth["user_id"], value_set=members)).to_pandas()


def _publish(context: AssetExecutionContext, warehouse: Warehouse, name: str, table: pd.DataFrame) -> dict:
    """Publish an evaluation table; without rows (no truth), its metadata and the log say why."""
    with warehouse.connect() as con:
        metadata = publish_arrow(con, warehouse, name, pa.Table.from_pandas(table, preserve_index=False))
    if table.empty:
        context.log.info(f"{name}: {NO_TRUTH}")
        metadata["truth"] = MetadataValue.text(NO_TRUTH)
    return metadata


@asset(
    group_name="evaluation",
    deps=[perk_assignments],
    kinds={"duckdb", "parquet", "scikitlearn"},
    description="Accuracy of the favourite perk against the synthetic source's planted truth: per planted perk "
    "precision, recall, customers and its row of the confusion matrix, and 'all' (accuracy, balanced accuracy). "
    "No rows for a source without a planted truth. With perk_calibration, the only asset that reads the truth.",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def perk_accuracy(context: AssetExecutionContext, source: TravelTideSource, warehouse: Warehouse) -> MaterializeResult:
    truth = source.ground_truth()
    report = None
    if truth is not None:
        assigned = warehouse.read_frame("perk_assignments")
        report = accuracy_report(assigned, cohort_truth(truth, assigned["user_id"]))
    metadata = _publish(context, warehouse, "perk_accuracy", accuracy_table(report))
    if report is None:
        return MaterializeResult(metadata=metadata)
    confusion = pd.DataFrame(report["confusion"], index=report["labels"], columns=report["labels"])
    metadata.update(
        {
            "accuracy": MetadataValue.float(report["accuracy"]),
            "balanced_accuracy": MetadataValue.float(report["balanced_accuracy"]),
            "users": MetadataValue.int(report["users"]),
            "confusion_matrix": MetadataValue.md("rows = planted truth\n\n" + confusion.to_markdown()),
        }
    )
    return MaterializeResult(metadata=metadata)


@asset(
    group_name="evaluation",
    deps=[perk_assignments, perk_probabilities],
    kinds={"duckdb", "parquet", "scikitlearn"},
    description="Calibration of the favourite's probability against the synthetic source's planted truth: accuracy "
    "per decile of the probability (kind 'decile') and per confidence band ('band'), and for all ('all', with the "
    "expected calibration error, the multi-class Brier score and the accuracy of the most confident fifth) "
    "(traveltide_assets/lib/calibration.py). No rows for a source without a planted truth.",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def perk_calibration(
    context: AssetExecutionContext, source: TravelTideSource, warehouse: Warehouse
) -> MaterializeResult:
    truth = source.ground_truth()
    report = None
    if truth is not None:
        assigned = warehouse.read_frame("perk_assignments")
        probabilities = warehouse.read_frame("perk_probabilities")
        report = calibration_report(assigned, probabilities, cohort_truth(truth, assigned["user_id"]))
    table = report["table"] if report is not None else empty_calibration_table()
    metadata = _publish(context, warehouse, "perk_calibration", table)
    if report is None:
        return MaterializeResult(metadata=metadata)
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
            "table": MetadataValue.md(table.drop(columns=list(HEADLINE_COLUMNS)).round(4).to_markdown(index=False)),
            "chart": MetadataValue.md(charts.svg_markdown("Calibration", chart)),
        }
    )
    return MaterializeResult(metadata=metadata)
