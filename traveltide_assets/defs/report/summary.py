"""The executive summary for marketing: a self-contained HTML report with its charts, in the report folder."""

from pathlib import Path

import duckdb
import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.campaign.plan import plan_design, read_plan
from traveltide_assets.defs.campaign.readout import READOUT_TABLE, UPLIFT_TABLE
from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.campaign.signups import signups_origin
from traveltide_assets.defs.cohort.assets import cleaning_counts
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.perks.settings import PerkModelSettings
from traveltide_assets.defs.report import charts
from traveltide_assets.defs.report.html import render
from traveltide_assets.defs.report.html_data import CampaignSection, ReadoutSection, ReportData
from traveltide_assets.lib.accuracy import accuracy_from_table
from traveltide_assets.lib.campaign_plan import policy_sentence, power_sentence, summarise
from traveltide_assets.lib.catalog import CONFIDENCE_BANDS, PERKS
from traveltide_assets.lib.segmentation import standardised_drivers
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.atomic import replacing
from traveltide_assets.storage.publish import has_table, source_metadata
from traveltide_assets.storage.warehouse import Warehouse

REPORT_FILE = "executive_summary.html"
CALIBRATION_CHART_FILE = "calibration.svg"
# Every asset whose table the report reads: the planted truth only through perk_accuracy and perk_calibration
# (no rows for a real source); campaign_signups for where the read-out's sign-ups came from, campaign_readout for
# its two tables (campaign_readout, campaign_uplift).
REPORT_DEPS = (
    "session_cohort", "user_features", "perk_scores", "user_segment_profiles", "segment_evidence", "perk_assignments",
    "assignment_reliability", "perk_accuracy", "perk_calibration", "campaign_plan", "campaign_signups",
    "campaign_readout",
)  # fmt: skip
EXAMPLES_PER_PERK = 3


def write_atomically(path: Path, payload: bytes) -> None:
    with replacing(path) as staged:
        staged.write_bytes(payload)


def _frames(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    return {
        name: con.sql(f"SELECT * FROM {name}").df()
        for name in ("perk_assignments", "perk_scores", "user_features", "user_segment_profiles", "segment_evidence")
    }


def _trust_inputs(con: duckdb.DuckDBPyConnection) -> tuple[dict | None, pd.DataFrame, pd.DataFrame | None]:
    """The 'all' row of assignment_reliability, the confidence bands per customer, and perk_calibration when it
    has rows (a source with a planted truth)."""
    reliability = con.sql("SELECT * FROM assignment_reliability WHERE perk = 'all'").df()
    bands = con.sql("SELECT confidence FROM perk_assignments").df()
    calibration = con.sql("SELECT * FROM perk_calibration").df()
    return (
        (reliability.iloc[0].to_dict() if len(reliability) else None),
        bands,
        (calibration if len(calibration) else None),
    )


def _trust_metadata(data: ReportData) -> dict[str, MetadataValue]:
    metadata: dict[str, MetadataValue] = {
        "synthetic_source": MetadataValue.bool(data.synthetic),
        "confidence_shares": MetadataValue.json({b: round(s, 4) for b, s in data.confidence_shares.items()}),
        "confidence_thresholds": MetadataValue.json(data.confidence_thresholds),
    }
    if data.reliability is not None:
        for key in ("kappa", "observed_agreement", "chance_agreement", "predicted_agreement"):
            metadata[f"split_half_{key}"] = MetadataValue.float(float(data.reliability[key]))
    if data.calibration is not None:
        overall = data.calibration[data.calibration["kind"] == "all"].iloc[0]
        for key in ("ece", "brier", "top_quintile_accuracy"):
            metadata[key] = MetadataValue.float(float(overall[key]))
        bands = data.calibration[data.calibration["kind"] == "band"]
        accuracy = zip(bands["bin"], bands["accuracy"], strict=True)
        metadata["band_accuracy"] = MetadataValue.json(
            {b: None if pd.isna(a) else round(float(a), 4) for b, a in accuracy}
        )
    if data.calibration_chart:
        metadata["chart/Calibration"] = MetadataValue.md(charts.svg_markdown("Calibration", data.calibration_chart))
    return metadata


def _campaign_section(warehouse: Warehouse, campaign: CampaignSettings) -> CampaignSection | None:
    """The configured campaign's plan in figures and sentences; None if the plan holds none of its rows."""
    plan = read_plan(warehouse)
    if plan is None or not (plan["campaign_id"] == campaign.campaign_id).any():
        return None
    policy = plan_design(campaign).policy
    summary = summarise(plan, campaign.campaign_id, policy, campaign.base_rate)
    return CampaignSection(summary=summary, policy=policy_sentence(policy), power=power_sentence(summary))


def _campaign_metadata(section: CampaignSection | None) -> dict[str, MetadataValue]:
    if section is None:
        return {}
    return {
        "campaign_customers_per_arm": MetadataValue.json(section.summary.per_arm),
        "campaign_power": MetadataValue.text(section.power),
    }


def _readout_section(warehouse: Warehouse, campaign: CampaignSettings) -> ReadoutSection | None:
    """The configured campaign's read-out (empty tables while results are awaited); None before it ever ran or
    when it is another campaign's."""
    with warehouse.connect() as con:
        if not (has_table(con, READOUT_TABLE) and has_table(con, UPLIFT_TABLE)):
            return None
        origin = signups_origin(con)
        if origin is None or origin[0] != campaign.campaign_id:
            return None
        readout = con.sql(f"SELECT * FROM {READOUT_TABLE}").df()
        uplift = con.sql(f"SELECT * FROM {UPLIFT_TABLE}").df()
    return ReadoutSection(campaign_id=campaign.campaign_id, readout=readout, uplift=uplift, read_from=origin[1])


def _readout_metadata(section: ReadoutSection | None) -> dict[str, MetadataValue]:
    if section is None or section.uplift.empty:
        return {"campaign_readout": MetadataValue.text("awaiting results")}
    main = section.uplift.set_index("comparison").loc["personalised_vs_generic"]
    return {"campaign_verdict": MetadataValue.text(str(main["verdict"]))}


def _examples(assignments: pd.DataFrame) -> pd.DataFrame:
    best = assignments.sort_values(["favourite_perk", "probability"], ascending=[True, False])
    picked = best.groupby("favourite_perk", sort=False).head(EXAMPLES_PER_PERK)
    order = {p: i for i, p in enumerate(PERKS)}
    picked = picked.sort_values("favourite_perk", key=lambda s: s.map(order))
    return picked[["user_id", "favourite_perk", "probability", "confidence", "reason"]]


@asset(
    group_name="report",
    deps=list(REPORT_DEPS),
    kinds={"html", "svg"},
    description="Self-contained HTML report for marketing (report folder): cohort, segment evidence, segment "
    "profiles, favourite perks, how far to trust each customer's perk (split-half reliability, confidence "
    "bands, and with a synthetic truth calibration), the invitation campaign's plan and power, its read-out "
    "(did personalisation work?), example customers, data quality and, with a synthetic truth, accuracy.",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def executive_summary(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    source: TravelTideSource,
    study: StudySettings,
    perk_model: PerkModelSettings,
    campaign: CampaignSettings,
) -> MaterializeResult:
    with warehouse.connect() as con:
        frames = _frames(con)
        reliability, bands, calibration = _trust_inputs(con)
        cleaning = cleaning_counts(con)
        sessions = int(con.execute("SELECT count(*) FROM session_cohort").fetchall()[0][0])
        provenance = source_metadata(con)
        accuracy = accuracy_from_table(con.sql("SELECT * FROM perk_accuracy").df())
    assignments, scores, features = frames["perk_assignments"], frames["perk_scores"], frames["user_features"]
    profile = frames["user_segment_profiles"].set_index("segment")
    report_dir = Path(warehouse.report_dir)
    svgs = _write_charts(report_dir, assignments, scores, features, profile)
    calibration_svg = _write_calibration_chart(report_dir, calibration)
    band_shares = bands["confidence"].value_counts(normalize=True).reindex(list(CONFIDENCE_BANDS), fill_value=0.0)

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
        reliability=reliability,
        confidence_shares={b: float(v) for b, v in band_shares.items()},
        confidence_thresholds={"high": perk_model.high_confidence, "medium": perk_model.medium_confidence},
        calibration=calibration,
        calibration_chart=calibration_svg,
        synthetic=source.is_synthetic(),
        source=str(provenance["source"].value),
        campaign=_campaign_section(warehouse, campaign),
        readout=_readout_section(warehouse, campaign),
    )
    report_path = report_dir / REPORT_FILE
    write_atomically(report_path, render(data).encode("utf-8"))
    context.log.info(f"report written to {report_path}")
    return MaterializeResult(metadata={**provenance, **_report_metadata(data, report_path)})


def _write_charts(
    report_dir: Path, assignments: pd.DataFrame, scores: pd.DataFrame, features: pd.DataFrame, profile: pd.DataFrame
) -> dict[str, str]:
    """The report's charts as SVG (title -> SVG), each also written to a .svg file in the report folder."""
    favourite = assignments.set_index("user_id").loc[features["user_id"], "favourite_perk"].to_numpy()
    figures = {  # title -> chart: SVG inline in the report, in a .svg file beside it, and in the metadata
        "Favourite perk distribution": charts.perk_distribution(assignments),
        "Segment profiles": charts.segment_heatmap(profile, features),
        "Affinity score distributions": charts.score_distributions(scores),
        "Cluster projection (PCA 2-D)": charts.cluster_projection(standardised_drivers(features), favourite),
    }
    svgs = {title: charts.to_svg(figure) for title, figure in figures.items()}
    for title, svg in svgs.items():
        write_atomically(report_dir / f"{title.split(' (')[0].lower().replace(' ', '_')}.svg", svg.encode("utf-8"))
    return svgs


def _write_calibration_chart(report_dir: Path, calibration: pd.DataFrame | None) -> str | None:
    """The calibration chart as SVG, also written beside the report; None (and no file) without a planted truth."""
    if calibration is None:  # no chart of an earlier synthetic run left beside a report without one
        (report_dir / CALIBRATION_CHART_FILE).unlink(missing_ok=True)
        return None
    calibration_svg = charts.to_svg(charts.calibration_chart(calibration[calibration["kind"] == "decile"]))
    write_atomically(report_dir / CALIBRATION_CHART_FILE, calibration_svg.encode("utf-8"))
    return calibration_svg


def _report_metadata(data: ReportData, report_path: Path) -> dict[str, MetadataValue]:
    """What the materialisation shows: where the report is, its headline figures and its charts."""
    metadata = {
        "report_path": MetadataValue.path(str(report_path.resolve())),
        "segments_exist": MetadataValue.bool(bool(data.evidence["segments_exist"])),
        "segment_verdict": MetadataValue.text(str(data.evidence["verdict_sentence"])),
        "cohort_users": MetadataValue.int(data.cohort_users),
        "perk_shares": MetadataValue.json(
            {p: round(float(n) / max(data.cohort_users, 1), 4) for p, n in data.perk_counts.items()}
        ),
        **{f"chart/{title}": MetadataValue.md(charts.svg_markdown(title, svg)) for title, svg in data.charts.items()},
        **_trust_metadata(data),
        **_campaign_metadata(data.campaign),
        **_readout_metadata(data.readout),
    }
    if data.accuracy is not None:
        metadata["accuracy"] = MetadataValue.float(data.accuracy["accuracy"])
        metadata["balanced_accuracy"] = MetadataValue.float(data.accuracy["balanced_accuracy"])
    return metadata
