"""k-means segments of the cohort and the profile of each segment."""

from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
from dagster import AssetSpec, MaterializeResult, MetadataValue, multi_asset

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.features.assets import user_features
from traveltide_assets.defs.report import charts
from traveltide_assets.lib.scoring import DRIVER_FEATURES
from traveltide_assets.lib.segmentation import SILHOUETTE_SAMPLE, segment, standardised_drivers
from traveltide_assets.storage.publish import publish_arrow
from traveltide_assets.storage.warehouse import Warehouse

SEGMENT_SEED = 42


@multi_asset(
    specs=[
        AssetSpec(
            "user_segments",
            group_name="segments",
            deps=[user_features],
            kinds={"duckdb", "parquet", "scikitlearn"},
            description="k-means segment of each cohort user on standardised driver features; k in 2..8 by "
            f"silhouette, scored on a fixed sample of at most {SILHOUETTE_SAMPLE:,} users.",
        ),
        AssetSpec(
            "user_segment_profiles",
            group_name="segments",
            deps=[user_features],
            kinds={"duckdb", "parquet"},
            description="Per segment: its users and the mean of each driver feature.",
        ),
    ],
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def user_segments(warehouse: Warehouse) -> Iterator[MaterializeResult]:
    """One k-means fit gives both: the segment of every user and what each segment looks like."""
    features = warehouse.read_frame("user_features")
    result = segment(standardised_drivers(features), seed=SEGMENT_SEED)
    table = pd.DataFrame({"user_id": features["user_id"], "segment": result.labels})
    profile = features[list(DRIVER_FEATURES)].assign(segment=result.labels).groupby("segment").mean()
    profile.insert(0, "users", pd.Series(result.labels).value_counts().sort_index())
    with warehouse.connect() as con:
        metadata = publish_arrow(con, warehouse, "user_segments", pa.Table.from_pandas(table, preserve_index=False))
        profile_metadata = publish_arrow(
            con, warehouse, "user_segment_profiles", pa.Table.from_pandas(profile.reset_index())
        )
    metadata.update(
        {
            "method": MetadataValue.text(
                f"KMeans (n_init=4, random_state={SEGMENT_SEED}) on robust z-scores of {len(DRIVER_FEATURES)} "
                f"driver features; k maximises scikit-learn's silhouette on a fixed sample of at most "
                f"{SILHOUETTE_SAMPLE:,} users (random_state={SEGMENT_SEED})"
            ),
            "k": MetadataValue.int(result.k),
            "silhouette_sample": MetadataValue.int(min(SILHOUETTE_SAMPLE, len(table))),
            "silhouette_by_k": MetadataValue.json({str(k): round(v, 4) for k, v in result.silhouette_by_k.items()}),
            "segment_sizes": MetadataValue.json(
                {str(s): int(n) for s, n in pd.Series(result.labels).value_counts().sort_index().items()}
            ),
        }
    )
    yield MaterializeResult(asset_key="user_segments", metadata=metadata)
    profile_metadata["segment_profile"] = MetadataValue.md(profile.round(3).to_markdown())
    chart = charts.to_svg(charts.segment_heatmap(profile, features))
    profile_metadata["chart"] = MetadataValue.md(charts.svg_markdown("Segments", chart))
    yield MaterializeResult(asset_key="user_segment_profiles", metadata=profile_metadata)
