"""The executive summary for marketing: a self-contained HTML report with its charts, in the report folder."""

from pathlib import Path

import duckdb
import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from traveltide_assets.accuracy import accuracy_report
from traveltide_assets.assets.cohort import cleaning_counts, session_cohort
from traveltide_assets.assets.evaluation import segment_evidence
from traveltide_assets.assets.perks import perk_assignments, perk_scores_asset, perk_summary, user_segments
from traveltide_assets.atomic import replacing
from traveltide_assets.catalog import PERKS
from traveltide_assets.report import charts
from traveltide_assets.report.html import ReportData, render
from traveltide_assets.resources import StudySettings, TravelTideSource, Warehouse
from traveltide_assets.segmentation import standardised_drivers

REPORT_FILE = "executive_summary.html"
EXAMPLES_PER_PERK = 3


def write_atomically(path: Path, payload: bytes) -> None:
    with replacing(path) as staged:
        staged.write_bytes(payload)


def _frames(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    return {
        name: con.sql(f"SELECT * FROM {name}").df()
        for name in ("perk_assignments", "perk_scores", "user_features", "user_segment_profiles", "segment_evidence")
    }


def _examples(assignments: pd.DataFrame) -> pd.DataFrame:
    best = assignments.sort_values(["favourite_perk", "margin"], ascending=[True, False])
    picked = best.groupby("favourite_perk", sort=False).head(EXAMPLES_PER_PERK)
    order = {p: i for i, p in enumerate(PERKS)}
    picked = picked.sort_values("favourite_perk", key=lambda s: s.map(order))
    return picked[["user_id", "favourite_perk", "score", "margin", "reason"]]


@asset(
    group_name="report",
    deps=[session_cohort, perk_scores_asset, user_segments, segment_evidence, perk_assignments, perk_summary],
    kinds={"html", "svg"},
    description="Self-contained HTML report for marketing (report folder): cohort, segment evidence, segment "
    "profiles, favourite perks, example customers, data quality and, with a synthetic truth, accuracy.",
)
def executive_summary(
    context: AssetExecutionContext, warehouse: Warehouse, source: TravelTideSource, study: StudySettings
) -> MaterializeResult:
    with warehouse.connect() as con:
        frames = _frames(con)
        cleaning = cleaning_counts(con)
        sessions = int(con.execute("SELECT count(*) FROM session_cohort").fetchall()[0][0])
    assignments, scores, features = frames["perk_assignments"], frames["perk_scores"], frames["user_features"]
    profile = frames["user_segment_profiles"].set_index("segment")
    truth = source.ground_truth()
    accuracy = accuracy_report(assignments, truth.to_pandas()) if truth is not None else None

    favourite = assignments.set_index("user_id").loc[features["user_id"], "favourite_perk"].to_numpy()
    svgs = {  # title -> SVG text: inline in the report, a .svg file beside it, and in the metadata
        "Favourite perk distribution": charts.perk_distribution(assignments),
        "Segment profiles": charts.segment_heatmap(profile, features),
        "Affinity score distributions": charts.score_distributions(scores),
        "Cluster projection (PCA 2-D)": charts.cluster_projection(standardised_drivers(features), favourite),
    }
    report_dir = Path(warehouse.report_dir)
    for title, svg in svgs.items():
        write_atomically(report_dir / f"{title.split(' (')[0].lower().replace(' ', '_')}.svg", svg.encode("utf-8"))

    leaning = pd.crosstab(assignments["segment"], assignments["favourite_perk"], normalize="index")
    data = ReportData(
        cohort_definition=f"sessions after {study.cohort_start}, customers with more than {study.min_sessions}",
        cohort_users=len(assignments),
        cohort_sessions=sessions,
        evidence=frames["segment_evidence"].iloc[0].to_dict(),
        perk_counts=assignments["favourite_perk"].value_counts(),
        segment_profile=profile,
        segment_leaning=leaning.reindex(columns=[p for p in PERKS if p in leaning.columns]),
        examples=_examples(assignments),
        cleaning=cleaning,
        accuracy=accuracy,
        charts=svgs,
    )
    report_path = report_dir / REPORT_FILE
    write_atomically(report_path, render(data).encode("utf-8"))
    context.log.info(f"report written to {report_path}")
    metadata = {
        "report_path": MetadataValue.path(str(report_path.resolve())),
        "segments_exist": MetadataValue.bool(bool(data.evidence["segments_exist"])),
        "cohort_users": MetadataValue.int(data.cohort_users),
        "perk_shares": MetadataValue.json(
            {p: round(float(n) / max(data.cohort_users, 1), 4) for p, n in data.perk_counts.items()}
        ),
        **{f"chart/{title}": MetadataValue.md(charts.svg_markdown(title, svg)) for title, svg in svgs.items()},
    }
    if accuracy is not None:
        metadata["accuracy"] = MetadataValue.float(accuracy["accuracy"])
        metadata["balanced_accuracy"] = MetadataValue.float(accuracy["balanced_accuracy"])
    return MaterializeResult(metadata=metadata)
