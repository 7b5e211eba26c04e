"""The executive slides for marketing: a PowerPoint deck with speaker notes, in the report folder."""

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from traveltide_assets.defs.backfill import SINGLE_RUN_BACKFILL
from traveltide_assets.defs.campaign.plan import campaign_plan, plan_design, read_plan
from traveltide_assets.defs.campaign.readout import READOUT_TABLE, UPLIFT_TABLE, campaign_readout
from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.cohort.assets import session_cohort
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.perks.assets import perk_assignments, perk_summary
from traveltide_assets.defs.perks.probabilities import assignment_reliability
from traveltide_assets.defs.perks.settings import PerkModelSettings
from traveltide_assets.defs.report.deck import build_deck, notes_words
from traveltide_assets.defs.report.deck_data import DeckData, ReadoutFigures, readout_figures
from traveltide_assets.defs.segments.evidence import segment_evidence
from traveltide_assets.lib.campaign_plan import summarise
from traveltide_assets.lib.catalog import CONFIDENCE_BANDS, PERKS
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.atomic import replacing
from traveltide_assets.storage.duck import one_row
from traveltide_assets.storage.publish import has_table, source_metadata
from traveltide_assets.storage.warehouse import Warehouse

SLIDES_FILE = "executive_summary.pptx"
# The assets whose tables the deck reads (campaign_readout publishes campaign_readout and campaign_uplift).
SLIDES_DEPS = (
    session_cohort, perk_assignments, perk_summary, segment_evidence, assignment_reliability, campaign_plan,
    campaign_readout,
)  # fmt: skip


def _readout(con: duckdb.DuckDBPyConnection) -> ReadoutFigures | None:
    """The campaign's read-out (both tables of campaign_readout), or None while results are awaited (no rows)."""
    if not (has_table(con, READOUT_TABLE) and has_table(con, UPLIFT_TABLE)):
        return None
    readout = con.sql(f"SELECT * FROM {READOUT_TABLE}").df()
    return readout_figures(readout, con.sql(f"SELECT * FROM {UPLIFT_TABLE}").df())


def read_deck_data(
    warehouse: Warehouse,
    study: StudySettings,
    perk_model: PerkModelSettings,
    campaign: CampaignSettings,
    synthetic: bool,
) -> DeckData:
    """Every figure of the deck, from the warehouse tables."""
    with warehouse.connect() as con:
        users, mean_probability = one_row(con, "SELECT count(*), avg(probability) FROM perk_assignments")
        bands = dict(con.execute("SELECT confidence, count(*) FROM perk_assignments GROUP BY 1").fetchall())
        sessions = one_row(con, "SELECT count(*) FROM session_cohort")[0]
        mix = dict(con.execute("SELECT favourite_perk, users FROM perk_summary WHERE segment IS NULL").fetchall())
        evidence = con.sql("SELECT * FROM segment_evidence").df().iloc[0].to_dict()
        reliability = con.sql("SELECT * FROM assignment_reliability WHERE perk = 'all'").df()
        readout = _readout(con)
    plan = read_plan(warehouse)
    summary = None
    if plan is not None and (plan["campaign_id"] == campaign.campaign_id).any():
        summary = summarise(plan, campaign.campaign_id, plan_design(campaign).policy, campaign.base_rate)
    return DeckData(
        cohort_start=study.cohort_start,
        min_sessions=study.min_sessions,
        cohort_users=int(users),
        cohort_sessions=int(sessions),
        evidence=evidence,
        perk_counts={p: int(mix.get(p, 0)) for p in PERKS},
        mean_probability=float(mean_probability) if pd.notna(mean_probability) else 0.0,
        reliability=reliability.iloc[0].to_dict() if len(reliability) else None,
        confidence_shares={b: int(bands.get(b, 0)) / max(int(users), 1) for b in CONFIDENCE_BANDS},
        confidence_thresholds={"high": perk_model.high_confidence, "medium": perk_model.medium_confidence},
        plan=summary,
        readout=readout,
        synthetic=synthetic,
        generated=dt.datetime.now(dt.UTC),
    )


@asset(
    group_name="report",
    deps=list(SLIDES_DEPS),
    kinds={"pptx"},
    description="The executive slides (report folder, executive_summary.pptx): eight slides with charts and "
    "speaker notes that script a five-minute talk: the question, the cohort, whether segments exist, the perk "
    "mix, how far to trust a customer's perk, the campaign plan and its power, the read-out (or what it will "
    "show once sign-ups arrive) and next steps (traveltide_assets/defs/report/deck.py).",
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def executive_slides(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    source: TravelTideSource,
    study: StudySettings,
    perk_model: PerkModelSettings,
    campaign: CampaignSettings,
) -> MaterializeResult:
    data = read_deck_data(warehouse, study, perk_model, campaign, source.is_synthetic())
    with warehouse.connect() as con:
        provenance = source_metadata(con)
    deck = build_deck(data)
    path = Path(warehouse.report_dir) / SLIDES_FILE
    with replacing(path) as staged:
        deck.save(str(staged))
    titles = [slide.shapes.title.text for slide in deck.slides]
    words = notes_words(deck)
    context.log.info(f"{len(titles)} slides written to {path} ({words} words of speaker notes)")
    return MaterializeResult(
        metadata={
            **provenance,
            "path": MetadataValue.path(str(path.resolve())),
            "slides": MetadataValue.int(len(titles)),
            "titles": MetadataValue.json(titles),
            "notes_words": MetadataValue.int(words),
            "readout_shown": MetadataValue.bool(data.readout is not None),
            "synthetic_source": MetadataValue.bool(data.synthetic),
        }
    )
