"""Perk scores, segments, favourite-perk assignments and the marketing summary."""

import pandas as pd
import pyarrow as pa
from dagster import MaterializeResult, MetadataValue, asset

from traveltide_assets.assets.features import user_features
from traveltide_assets.assets.probabilities import perk_probabilities
from traveltide_assets.catalog import CONFIDENCE_BANDS, PERKS
from traveltide_assets.publish import publish_arrow, publish_query
from traveltide_assets.report import charts
from traveltide_assets.resources import PerkModelSettings, Warehouse
from traveltide_assets.scoring import DRIVER_FEATURES, PERK_DRIVERS, assign_perks, perk_scores
from traveltide_assets.segmentation import segment, standardised_drivers
from traveltide_assets.sql_files import read_sql

SEGMENT_SEED = 42


def read_table(warehouse: Warehouse, table: str) -> pd.DataFrame:
    with warehouse.connect() as con:
        return con.sql(f"SELECT * FROM {table} ORDER BY user_id").df()


def _drivers_doc() -> str:
    lines = ["| perk | driver features (weight) |", "|---|---|"]
    for perk, drivers in PERK_DRIVERS.items():
        lines.append(f"| {perk} | " + ", ".join(f"{d.feature} ({d.weight:g})" for d in drivers) + " |")
    return "\n".join(lines)


@asset(
    name="perk_scores",
    group_name="perks",
    deps=[user_features],
    kinds={"duckdb", "parquet", "pandas"},
    description="One affinity score per perk and user, standardised (cohort mean 0, sd 1); drivers in "
    "traveltide_assets/scoring.py and docs/features.md.",
)
def perk_scores_asset(warehouse: Warehouse) -> MaterializeResult:
    features = read_table(warehouse, "user_features")
    scores = perk_scores(features)
    with warehouse.connect() as con:
        metadata = publish_arrow(con, warehouse, "perk_scores", pa.Table.from_pandas(scores, preserve_index=False))
    metadata["drivers"] = MetadataValue.md(_drivers_doc())
    metadata["chart"] = MetadataValue.md(charts.svg_markdown("Affinity scores", charts.score_distributions(scores)))
    return MaterializeResult(metadata=metadata)


@asset(
    group_name="segments",
    deps=[user_features],
    kinds={"duckdb", "parquet", "scikitlearn"},
    description="k-means segments of cohort users on standardised driver features; k in 2..8 by silhouette.",
)
def user_segments(warehouse: Warehouse) -> MaterializeResult:
    features = read_table(warehouse, "user_features")
    result = segment(standardised_drivers(features), seed=SEGMENT_SEED)
    table = pd.DataFrame({"user_id": features["user_id"], "segment": result.labels})
    profile = features[list(DRIVER_FEATURES)].assign(segment=result.labels).groupby("segment").mean()
    profile.insert(0, "users", pd.Series(result.labels).value_counts().sort_index())
    with warehouse.connect() as con:
        metadata = publish_arrow(con, warehouse, "user_segments", pa.Table.from_pandas(table, preserve_index=False))
        publish_arrow(con, warehouse, "user_segment_profiles", pa.Table.from_pandas(profile.reset_index()))
    metadata.update(
        {
            "method": MetadataValue.text(
                f"KMeans (n_init=4, random_state={SEGMENT_SEED}) on robust z-scores of {len(DRIVER_FEATURES)} "
                "driver features; k maximises the silhouette on a fixed sample"
            ),
            "k": MetadataValue.int(result.k),
            "silhouette_by_k": MetadataValue.json({str(k): round(v, 4) for k, v in result.silhouette_by_k.items()}),
            "segment_sizes": MetadataValue.json(
                {str(s): int(n) for s, n in pd.Series(result.labels).value_counts().sort_index().items()}
            ),
            "segment_profile": MetadataValue.md(profile.round(3).to_markdown()),
            "chart": MetadataValue.md(charts.svg_markdown("Segments", charts.segment_heatmap(profile, features))),
        }
    )
    return MaterializeResult(metadata=metadata)


@asset(
    group_name="assignments",
    deps=[perk_probabilities, perk_scores_asset, user_segments, user_features],
    kinds={"duckdb", "parquet", "pandas"},
    description="Per cohort user: the favourite perk (the most probable), its probability, the runner-up and "
    "its probability, a confidence band (high / medium / low), the favourite's affinity score and a short reason.",
)
def perk_assignments(warehouse: Warehouse, perk_model: PerkModelSettings) -> MaterializeResult:
    features = read_table(warehouse, "user_features")
    scores = read_table(warehouse, "perk_scores")
    segments = read_table(warehouse, "user_segments")
    probabilities = read_table(warehouse, "perk_probabilities")
    assigned = assign_perks(probabilities, scores, features, perk_model.band).merge(segments, on="user_id", how="left")
    with warehouse.connect() as con:
        metadata = publish_arrow(
            con, warehouse, "perk_assignments", pa.Table.from_pandas(assigned, preserve_index=False)
        )
    shares = assigned["favourite_perk"].value_counts(normalize=True).reindex(list(PERKS), fill_value=0.0)
    metadata["perk_shares"] = MetadataValue.json({p: round(float(s), 4) for p, s in shares.items()})
    bands = assigned["confidence"].value_counts(normalize=True).reindex(list(CONFIDENCE_BANDS), fill_value=0.0)
    metadata["confidence_shares"] = MetadataValue.json({b: round(float(s), 4) for b, s in bands.items()})
    metadata["confidence_thresholds"] = MetadataValue.json(
        {"high": perk_model.high_confidence, "medium": perk_model.medium_confidence}
    )
    metadata["mean_probability"] = MetadataValue.float(float(assigned["probability"].mean()))
    metadata["chart"] = MetadataValue.md(charts.svg_markdown("Favourite perk", charts.perk_distribution(assigned)))
    return MaterializeResult(metadata=metadata)


@asset(
    group_name="assignments",
    deps=[perk_assignments],
    kinds={"duckdb", "parquet"},
    description="Users per favourite perk, overall and per segment (sql/perk_summary.sql).",
)
def perk_summary(warehouse: Warehouse) -> MaterializeResult:
    with warehouse.connect() as con:
        metadata = publish_query(con, warehouse, "perk_summary", read_sql("perk_summary.sql"))
        table_md = con.sql("SELECT * FROM perk_summary").df().to_markdown(index=False)
    metadata["summary"] = MetadataValue.md(table_md)
    return MaterializeResult(metadata=metadata)
