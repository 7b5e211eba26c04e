"""Evidence that segments exist, and (synthetic sources only) accuracy against the planted truth."""

import numpy as np
import pandas as pd
import pyarrow as pa
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.features.assets import user_features
from traveltide_assets.lib.evidence import METHOD, SILHOUETTE_SAMPLE, affinity_signals, assess_segments
from traveltide_assets.lib.power import verdict_sentence
from traveltide_assets.storage.publish import publish_arrow
from traveltide_assets.storage.warehouse import Warehouse

EVIDENCE_SEED = 2023


@asset(
    group_name="segments",
    deps=[user_features],
    kinds={"duckdb", "parquet", "scipy"},
    description="Do distinct perk-affinity segments exist? Exclusivity test against a permutation null, "
    "with effect size, p-value, the shift it can detect at this cohort size, the shift it estimates, the verdict "
    "in words, cluster quality (silhouette on a fixed sample of at most "
    f"{SILHOUETTE_SAMPLE:,} customers) and stability (traveltide_assets/lib/evidence.py, power.py).",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def segment_evidence(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    features = warehouse.read_frame("user_features")
    # The power figures assume five segments of equal size: the test stays apart from the perk model, and
    # unequal shares move the detectable shift by a few hundredths of an SD (docs/segment_power.md).
    signals = affinity_signals(features, np.random.default_rng(EVIDENCE_SEED))
    evidence = assess_segments(signals, seed=EVIDENCE_SEED)
    sentence = verdict_sentence(evidence.as_dict())
    row = pd.DataFrame([{**evidence.as_dict(), "verdict_sentence": sentence, "method": METHOD}])
    with warehouse.connect() as con:
        metadata = publish_arrow(con, warehouse, "segment_evidence", pa.Table.from_pandas(row, preserve_index=False))
    context.log.info(
        f"{evidence.verdict}: p={evidence.p_value:.4f}, effect size {evidence.effect_size:.2f}, detectable shift "
        f"{evidence.detectable_shift_sd:.2f} SD, estimated {evidence.estimated_shift_sd:.2f} SD "
        f"(upper 95% {evidence.shift_upper_95_sd:.2f})"
    )
    metadata.update(
        {
            "segments_exist": MetadataValue.bool(evidence.segments_exist),
            "verdict": MetadataValue.text(evidence.verdict),
            "verdict_sentence": MetadataValue.text(sentence),
            "p_value": MetadataValue.float(evidence.p_value),
            "effect_size": MetadataValue.float(evidence.effect_size),
            "detectable_shift_sd": MetadataValue.float(evidence.detectable_shift_sd),
            "estimated_shift_sd": MetadataValue.float(evidence.estimated_shift_sd),
            "shift_upper_95_sd": MetadataValue.float(evidence.shift_upper_95_sd),
            "meaningful_shift_sd": MetadataValue.float(evidence.meaningful_shift_sd),
            "users_for_meaningful_shift": MetadataValue.int(evidence.users_for_meaningful_shift),
            "stability_ari": MetadataValue.float(evidence.stability_ari),
            "silhouette": MetadataValue.float(evidence.silhouette),
            "silhouette_null_mean": MetadataValue.float(evidence.silhouette_null_mean),
            "silhouette_sample": MetadataValue.int(min(SILHOUETTE_SAMPLE, evidence.users)),
            "method": MetadataValue.text(METHOD),
        }
    )
    return MaterializeResult(metadata=metadata)
