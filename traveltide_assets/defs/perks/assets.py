"""Perk scores, segments, favourite-perk assignments and the marketing summary."""

import pyarrow as pa
from dagster import MaterializeResult, MetadataValue, asset

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.features.assets import user_features
from traveltide_assets.defs.perks.probabilities import perk_probabilities
from traveltide_assets.defs.perks.settings import PerkModelSettings
from traveltide_assets.defs.report import charts
from traveltide_assets.lib.catalog import CONFIDENCE_BANDS, PERKS
from traveltide_assets.lib.scoring import PERK_DRIVERS, assign_perks, score_perks
from traveltide_assets.sql_files import read_sql
from traveltide_assets.storage.publish import publish_arrow, publish_query
from traveltide_assets.storage.warehouse import Warehouse


def _drivers_doc() -> str:
    lines = ["| perk | driver features (weight) |", "|---|---|"]
    for perk, drivers in PERK_DRIVERS.items():
        lines.append(f"| {perk} | " + ", ".join(f"{d.feature} ({d.weight:g})" for d in drivers) + " |")
    return "\n".join(lines)


@asset(
    group_name="perks",
    deps=[user_features],
    kinds={"duckdb", "parquet", "pandas"},
    description="One affinity score per perk and user, standardised (cohort mean 0, sd 1); drivers in "
    "traveltide_assets/lib/scoring.py and docs/features.md.",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def perk_scores(warehouse: Warehouse) -> MaterializeResult:
    features = warehouse.read_frame("user_features")
    scores = score_perks(features)
    with warehouse.connect() as con:
        metadata = publish_arrow(con, warehouse, "perk_scores", pa.Table.from_pandas(scores, preserve_index=False))
    metadata["drivers"] = MetadataValue.md(_drivers_doc())
    chart = charts.to_svg(charts.score_distributions(scores))
    metadata["chart"] = MetadataValue.md(charts.svg_markdown("Affinity scores", chart))
    return MaterializeResult(metadata=metadata)


@asset(
    group_name="assignments",
    deps=[perk_probabilities, perk_scores, "user_segments", user_features],
    kinds={"duckdb", "parquet", "pandas"},
    description="Per cohort user: the favourite perk (the most probable), its probability, the runner-up and "
    "its probability, a confidence band (high / medium / low), the favourite's affinity score and a short reason.",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def perk_assignments(warehouse: Warehouse, perk_model: PerkModelSettings) -> MaterializeResult:
    features = warehouse.read_frame("user_features")
    scores = warehouse.read_frame("perk_scores")
    segments = warehouse.read_frame("user_segments")
    probabilities = warehouse.read_frame("perk_probabilities")
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
    chart = charts.to_svg(charts.perk_distribution(assigned))
    metadata["chart"] = MetadataValue.md(charts.svg_markdown("Favourite perk", chart))
    return MaterializeResult(metadata=metadata)


@asset(
    group_name="assignments",
    deps=[perk_assignments],
    kinds={"duckdb", "parquet"},
    description="Users per favourite perk, overall and per segment (sql/perks/perk_summary.sql).",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def perk_summary(warehouse: Warehouse) -> MaterializeResult:
    with warehouse.connect() as con:
        metadata = publish_query(con, warehouse, "perk_summary", read_sql("perks/perk_summary.sql"))
        table_md = con.sql("SELECT * FROM perk_summary").df().to_markdown(index=False)
    metadata["summary"] = MetadataValue.md(table_md)
    return MaterializeResult(metadata=metadata)
