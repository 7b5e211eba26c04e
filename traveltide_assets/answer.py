"""The answer `traveltide run` ends with: a few lines read back from the warehouse tables the run wrote.

Every figure comes from an asset's table (perk_assignments, session_cohort, segment_evidence, perk_summary,
assignment_reliability) and the source line from the provenance raw_users recorded, never from recomputing, so the
lines say what the report, the slides and the Parquet files say.
"""

from __future__ import annotations

from pathlib import Path

from traveltide_assets.defs.campaign.plan import plan_export_paths
from traveltide_assets.defs.report.slides import SLIDES_FILE
from traveltide_assets.defs.report.summary import REPORT_FILE
from traveltide_assets.lib.catalog import CONFIDENCE_BANDS, PERK_LABELS
from traveltide_assets.pipeline import RunCounts
from traveltide_assets.storage.duck import one_row
from traveltide_assets.storage.publish import source_metadata
from traveltide_assets.storage.warehouse import Warehouse


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def answer_lines(warehouse: Warehouse, campaign_id: str, run: RunCounts, cohort_definition: str) -> list[str]:
    """The answer, one line per figure: label, then what it says."""
    with warehouse.connect() as con:
        source = str(source_metadata(con)["source"].value)
        users, sessions = one_row(
            con, "SELECT (SELECT count(*) FROM perk_assignments), (SELECT count(*) FROM session_cohort)"
        )
        verdict, p_value, alpha = one_row(con, "SELECT verdict, p_value, alpha FROM segment_evidence")
        mix = con.execute(
            "SELECT favourite_perk, users FROM perk_summary WHERE segment IS NULL ORDER BY users DESC, favourite_perk"
        ).fetchall()
        kappa, observed, predicted = one_row(
            con, "SELECT kappa, observed_agreement, predicted_agreement FROM assignment_reliability WHERE perk = 'all'"
        )
        bands = dict(con.execute("SELECT confidence, count(*) FROM perk_assignments GROUP BY 1").fetchall())
    users, sessions = int(users), int(sessions)
    perks = ", ".join(f"{PERK_LABELS.get(p, p).lower()} {int(n):,} ({_share(int(n), users)})" for p, n in mix)
    confidence = ", ".join(f"{band} {_share(int(bands.get(band, 0)), users)}" for band in CONFIDENCE_BANDS)
    report, slides = Path(warehouse.report_dir) / REPORT_FILE, Path(warehouse.report_dir) / SLIDES_FILE
    rows = [
        ("Run", f"{run.assets} assets materialised ({run.months} session months), {run.checks} checks passed"),
        ("Source", source),
        ("Customers", f"{users:,} in the cohort ({cohort_definition}), {sessions:,} sessions"),
        ("Segments", f"{verdict} (p = {float(p_value):.3g}, alpha {float(alpha):g}; table segment_evidence)"),
        ("Perk mix", perks),
        (
            "Trust",
            f"split-half kappa {float(kappa):.2f}: a customer's favourite repeats between two halves of their "
            f"sessions for {float(observed):.0%} (the probabilities predicted {float(predicted):.0%}); "
            f"confidence {confidence}",
        ),
        ("Report", _where(report)),
        ("Slides", _where(slides)),
        ("Campaign", _where(*plan_export_paths(warehouse, campaign_id))),
        ("Warehouse", f"{Path(warehouse.path).resolve()}, Parquet in {Path(warehouse.parquet_dir).resolve()}/"),
    ]
    return [f"{label:<10} {text}" for label, text in rows]


def _where(*paths: Path) -> str:
    """The files' absolute paths, or that they were not written (e.g. a job that stops before the report)."""
    found = [str(p.resolve()) for p in paths if p.is_file()]
    return ", ".join(found) if found else f"not written ({paths[0]})"
