"""Evidence that segments exist, and (synthetic sources only) accuracy against the planted truth."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from traveltide_assets.accuracy import accuracy_report
from traveltide_assets.assets.features import user_features
from traveltide_assets.assets.perks import perk_assignments, read_table
from traveltide_assets.evidence import METHOD, affinity_signals, assess_segments
from traveltide_assets.publish import publish_arrow
from traveltide_assets.resources import TravelTideSource, Warehouse

EVIDENCE_SEED = 2023


@asset(
    group_name="segments",
    deps=[user_features],
    kinds={"duckdb", "parquet", "scipy"},
    description="Do distinct perk-affinity segments exist? Exclusivity test against a permutation null, "
    "with effect size, p-value, verdict, cluster quality and stability (traveltide_assets/evidence.py).",
)
def segment_evidence(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    features = read_table(warehouse, "user_features")
    evidence = assess_segments(affinity_signals(features, np.random.default_rng(EVIDENCE_SEED)), seed=EVIDENCE_SEED)
    row = pd.DataFrame([{**evidence.as_dict(), "method": METHOD}])
    with warehouse.connect() as con:
        metadata = publish_arrow(con, warehouse, "segment_evidence", pa.Table.from_pandas(row, preserve_index=False))
    verdict = "segments exist" if evidence.segments_exist else "no evidence of segments"
    context.log.info(f"{verdict}: p={evidence.p_value:.4f}, effect size {evidence.effect_size:.2f}")
    metadata.update(
        {
            "segments_exist": MetadataValue.bool(evidence.segments_exist),
            "p_value": MetadataValue.float(evidence.p_value),
            "effect_size": MetadataValue.float(evidence.effect_size),
            "stability_ari": MetadataValue.float(evidence.stability_ari),
            "silhouette": MetadataValue.float(evidence.silhouette),
            "silhouette_null_mean": MetadataValue.float(evidence.silhouette_null_mean),
            "method": MetadataValue.text(METHOD),
        }
    )
    return MaterializeResult(metadata=metadata)


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
    report = (
        accuracy_report(read_table(warehouse, "perk_assignments"), truth.to_pandas()) if truth is not None else None
    )
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
