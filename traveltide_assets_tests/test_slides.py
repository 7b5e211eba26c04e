"""The executive slides: the deck of a real run checked against the asset tables, build_deck with and without a
read-out, and (where LibreOffice is installed) the deck rendered to PDF."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import ExecuteInProcessResult
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from traveltide_assets.defs.campaign.settings import CampaignSettings
from traveltide_assets.defs.cohort.settings import StudySettings
from traveltide_assets.defs.report.charts import PNG_DPI, to_png
from traveltide_assets.defs.report.deck import build_deck
from traveltide_assets.defs.report.deck_charts import perk_mix_chart, readout_chart
from traveltide_assets.defs.report.deck_data import DeckData, readout_figures
from traveltide_assets.lib.campaign_plan import Policy, summarise
from traveltide_assets.lib.catalog import PERK_LABELS, PERKS
from traveltide_assets.lib.experiment import DOES_WORSE, NO_EVIDENCE, RAISES_SIGNUPS, minimum_detectable_difference
from traveltide_assets.lib.power import EVIDENCE_OF_NONE, NO_EVIDENCE_AT_THIS_SIZE, SEGMENTS_EXIST
from traveltide_assets.pipeline import execute
from traveltide_assets.sources.resource import TravelTideSource
from traveltide_assets.storage.warehouse import Warehouse

SLIDE_COUNT = 8
CHART_SLIDES = (3, 4, 5, 6)  # segments, perk mix, trust, plan; the read-out (7) too once results exist
NOTES_WORDS = (550, 900)  # a five-minute talk at about 140 words a minute
SEGMENT_TITLES = {
    SEGMENTS_EXIST: "Yes: customer groups with distinct perk affinities exist",
    EVIDENCE_OF_NONE: "No distinct perk groups: preferences are a continuum",
    NO_EVIDENCE_AT_THIS_SIZE: "No perk groups detected, but too few customers to rule them out",
}
VERDICT_TITLES = {
    RAISES_SIGNUPS: "Personalised invitations raise sign-ups",
    NO_EVIDENCE: "No evidence either way: personalised and generic emails tie",
    DOES_WORSE: "Personalised invitations do worse than the generic email",
}
NEXT_TITLES = {
    RAISES_SIGNUPS: "Next: roll out personalised invitations",
    NO_EVIDENCE: "Next: keep the generic email; personalisation is unproven",
    DOES_WORSE: "Next: send the generic email to everyone",
}
SYNTHETIC = "SYNTHETIC DATA: generated customers, not TravelTide's"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def readout_run(
    source_dir: Path, planted_run: tuple[ExecuteInProcessResult, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[ExecuteInProcessResult, Path]:
    """The same warehouse once sign-ups came back: every third planned customer, a minute after the plan."""
    folder = tmp_path_factory.mktemp("readout_run") / "warehouse"
    shutil.copytree(planted_run[1], folder, ignore=shutil.ignore_patterns("*.lock"))
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        plan = con.sql("SELECT campaign_id, user_id, assigned_at FROM campaign_plan ORDER BY user_id").df()
    signups = plan.iloc[::3].assign(signed_up_at=lambda f: f["assigned_at"] + pd.Timedelta(minutes=1))
    path = folder.parent / "signups.parquet"
    signups[["campaign_id", "user_id", "signed_up_at"]].to_parquet(path, index=False)
    resources = {
        "source": TravelTideSource(embedded_dir=str(source_dir)),
        "warehouse": Warehouse.in_folder(folder),
        "study": StudySettings(),
        "campaign": CampaignSettings(signups_path=str(path)),
    }
    return execute(resources=resources), folder


def _metadata(result: ExecuteInProcessResult) -> dict:
    event = next(
        e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "executive_slides"
    )
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _texts(slide) -> str:
    """Every text on a slide (not its notes), and the alternative text of its pictures."""
    parts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
    parts += [s._element.nvPicPr.cNvPr.get("descr", "") for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    return "\n".join(parts)


def _notes(slide) -> str:
    return slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""


def _pictures(slide) -> list:
    return [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]


def _footer(slide) -> str:
    return next(s.text_frame.text for s in slide.shapes if s.name == "Footer")


def _words(deck) -> int:
    return sum(len(_notes(slide).split()) for slide in deck.slides)


def _tables(folder: Path) -> dict:
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        return {
            "users": con.execute("SELECT count(*) FROM perk_assignments").fetchall()[0][0],
            "sessions": con.execute("SELECT count(*) FROM session_cohort").fetchall()[0][0],
            "bands": dict(con.execute("SELECT confidence, count(*) FROM perk_assignments GROUP BY 1").fetchall()),
            "perks": dict(con.execute("SELECT favourite_perk, count(*) FROM perk_assignments GROUP BY 1").fetchall()),
            "evidence": con.sql("SELECT * FROM segment_evidence").df().iloc[0],
            "reliability": con.sql("SELECT * FROM assignment_reliability WHERE perk = 'all'").df().iloc[0],
            "plan": con.sql("SELECT * FROM campaign_plan").df(),
        }


def test_deck_has_its_slides_titles_charts_and_a_five_minute_script(
    planted_run: tuple[ExecuteInProcessResult, Path],
) -> None:
    result, folder = planted_run
    assert result.success
    path = folder / "report" / "executive_summary.pptx"
    deck = Presentation(str(path))
    metadata = _metadata(result)
    titles = [slide.shapes.title.text for slide in deck.slides]
    assert len(deck.slides) == SLIDE_COUNT == metadata["slides"]
    assert titles == metadata["titles"]
    assert Path(metadata["path"]) == path.resolve()
    tables = _tables(folder)
    evidence = tables["evidence"]
    top = max(PERKS, key=lambda p: (tables["perks"].get(p, 0), -PERKS.index(p)))
    top_share = tables["perks"][top] / tables["users"]
    assert titles[0] == "Which perk should each customer's rewards invitation lead with?"
    assert titles[1] == f"{tables['users']:,} active customers and their {tables['sessions']:,} sessions"
    assert titles[2] == SEGMENT_TITLES[evidence["verdict"]]
    assert titles[3] == f"{PERK_LABELS[top]} leads, the favourite of {top_share:.0%} of customers"
    assert tables["reliability"]["kappa"] < 0.2  # the synthetic perks barely repeat between halves at this size
    assert titles[4] == "A customer's perk is a weak lead, not a fact"
    assert titles[5].startswith(f"{len(tables['plan']):,} customers in three arms: ")
    assert titles[6] == "Results pending: the read-out appears once sign-ups arrive"  # nobody has signed up
    assert titles[7] == "Next: send the plan's emails and let sign-ups decide"
    for number, slide in enumerate(deck.slides, start=1):
        pictures = _pictures(slide)
        assert len(pictures) == (1 if number in CHART_SLIDES else 0), number
        for picture in pictures:
            assert picture.image.blob.startswith(PNG_MAGIC)
            image = Image.open(io.BytesIO(picture.image.blob))
            image.load()  # the whole PNG decodes
            assert image.size[0] == round(5.4 * PNG_DPI)  # 1,080 pixels: sharp on a projector
            assert picture.top + picture.height <= deck.slide_height  # on the slide
        assert len(_notes(slide).split()) >= 40, f"slide {number} has no real speaker notes"
        bullets = next((s for s in slide.shapes if s.name == "Bullets"), None)
        if bullets is not None:
            assert len(bullets.text_frame.paragraphs) <= 4, number  # short text
    # The perk-mix slide shows the chart module's drawing of the asset tables' counts.
    mix = perk_mix_chart({p: tables["perks"].get(p, 0) for p in PERKS})
    assert _pictures(deck.slides[3])[0].image.blob == to_png(mix)
    assert NOTES_WORDS[0] <= _words(deck) <= NOTES_WORDS[1]
    assert metadata["notes_words"] == _words(deck)


def test_figures_on_the_slides_are_the_asset_tables(planted_run: tuple[ExecuteInProcessResult, Path]) -> None:
    _, folder = planted_run
    deck = Presentation(str(folder / "report" / "executive_summary.pptx"))
    slides = list(deck.slides)
    tables = _tables(folder)
    users = tables["users"]
    cohort = _texts(slides[1])
    assert f"{users:,}\ncustomers" in cohort and f"{tables['sessions']:,}\nsessions" in cohort
    assert f"{tables['sessions'] / users:.1f}\nsessions per customer" in cohort
    evidence = tables["evidence"]
    segments = _texts(slides[2])
    assert f"Permutation test: p = {evidence['p_value']:.2g} (threshold {evidence['alpha']:g})" in segments
    assert f"it detects {evidence['detectable_shift_sd']:.2f} SD at {evidence['power']:.0%} power" in segments
    assert f"p = {evidence['p_value']:.2g}" in _notes(slides[2])
    mix = _texts(slides[3])
    for perk in PERKS:
        assert (
            f"{PERK_LABELS[perk][0].lower() + PERK_LABELS[perk][1:]} {tables['perks'].get(perk, 0) / users:.0%}" in mix
        )
    trust = _texts(slides[4])
    shares = {b: tables["bands"].get(b, 0) / users for b in ("high", "medium", "low")}
    assert f"High confidence (p \u2265 0.60): {shares['high']:.0%} of customers" in trust
    assert f"Medium: {shares['medium']:.0%} \u00b7 low: {shares['low']:.0%}" in trust
    assert f"Cohen's kappa {tables['reliability']['kappa']:.2f}" in trust
    assert f"{tables['reliability']['observed_agreement']:.0%} (chance" in trust
    plan = tables["plan"]
    arms = plan["arm"].value_counts()
    personalised = plan[plan["arm"] == "personalised"]
    with_perk = int((personalised["email_perk"] != "all_perks").sum())
    detectable = minimum_detectable_difference(int(arms["personalised"]), int(arms["generic"]), 0.10)
    plan_text = _texts(slides[5])
    assert f"Detectable: {detectable * 100:.1f} points over a 10% base rate" in plan_text
    assert f"{with_perk:,} get their perk (p > 0.40); {len(personalised) - with_perk:,} fall back" in plan_text
    assert (
        f"Personalised {arms['personalised']:,}, Generic {arms['generic']:,}, Random perk {arms['random_perk']:,}"
        in plan_text
    )
    assert "rewards_invitation_1" in _texts(slides[6])


def test_synthetic_customers_are_named_on_the_title_and_every_footer(
    planted_run: tuple[ExecuteInProcessResult, Path],
) -> None:
    result, folder = planted_run
    deck = Presentation(str(folder / "report" / "executive_summary.pptx"))
    assert "generated by the synthetic TravelTide source, not TravelTide's" in _texts(deck.slides[0])
    assert "generated by the synthetic TravelTide source" in _notes(deck.slides[0])
    for number, slide in enumerate(deck.slides, start=1):
        footer = _footer(slide)
        assert footer.startswith(SYNTHETIC), number
        assert footer.endswith(f"{number} / {SLIDE_COUNT}")
    assert _metadata(result)["synthetic_source"] is True


def test_readout_slide_shows_the_campaign_readout_tables(readout_run: tuple[ExecuteInProcessResult, Path]) -> None:
    result, folder = readout_run
    assert result.success
    assert _metadata(result)["readout_shown"] is True
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        arms = con.sql("SELECT * FROM campaign_readout WHERE scope = 'arm'").df().set_index("arm")
        uplift = con.sql("SELECT * FROM campaign_uplift").df().set_index("comparison")
    deck = Presentation(str(folder / "report" / "executive_summary.pptx"))
    slide = deck.slides[6]
    main = uplift.loc["personalised_vs_generic"]
    assert slide.shapes.title.text == VERDICT_TITLES[main["verdict"]]
    assert len(_pictures(slide)) == 1
    text = _texts(slide)
    rates = " \u00b7 ".join(
        f"{label} {arms.loc[arm, 'rate']:.1%}"
        for arm, label in (("personalised", "personalised"), ("generic", "generic"), ("random_perk", "random perk"))
    )
    assert f"Sign-up rate: {rates}" in text

    def signed(value: float) -> str:
        return f"{value * 100:+.1f}".replace("-", "\u2212")

    assert (
        f"Personalised \u2212 generic: {signed(main['difference'])} points (95% CI {signed(main['ci_low'])} to "
        f"{signed(main['ci_high'])}), p = {main['p_value']:.2g}"
    ) in text
    assert f"{int(arms['signups'].sum()):,} of {int(arms['customers'].sum()):,} invited customers" in _notes(slide)
    assert f"Verdict: {main['verdict']}." in _notes(slide)
    assert deck.slides[7].shapes.title.text == NEXT_TITLES[main["verdict"]]
    assert NOTES_WORDS[0] <= _words(deck) <= NOTES_WORDS[1]


def test_slides_depend_on_the_tables_they_read_and_follow_new_results() -> None:
    from traveltide_assets.definitions import defs

    deps = {k.to_user_string() for k in defs.resolve_assets_def("executive_slides").dependency_keys}
    assert deps == {
        "session_cohort", "perk_assignments", "perk_summary", "segment_evidence", "assignment_reliability",
        "campaign_plan", "campaign_readout",
    }  # fmt: skip
    # The run the sign-ups sensor starts rebuilds the deck, as the pending slide promises.
    selected = defs.resolve_job_def("campaign_results").asset_layer.selected_asset_keys
    assert "executive_slides" in {k.to_user_string() for k in selected}


# ---- build_deck on figures constructed here ----------------------------------------------------------------


def _plan_frame() -> pd.DataFrame:
    """A campaign_plan of 1,000 customers (contract columns): 600 personalised (400 with their perk), 200 generic,
    200 random perk; plus rows of another campaign, which must not count."""
    rows = []
    assigned = pd.Timestamp("2026-11-01 09:00:00", tz="UTC")
    for user in range(1_000):
        favourite = PERKS[user % len(PERKS)]
        arm = "personalised" if user < 600 else "generic" if user < 800 else "random_perk"
        email = favourite if user < 400 else PERKS[(user + 1) % len(PERKS)] if arm == "random_perk" else "all_perks"
        template = "invite_generic" if email == "all_perks" else f"invite_{email}"
        probability = 0.7 if user < 400 else 0.3
        confidence = "high" if probability > 0.6 else "low"
        rows.append(("spring", user, arm, email, template, favourite, probability, confidence, assigned))
    rows.append(("old_campaign", 5_000, "generic", "all_perks", "invite_generic", PERKS[0], 0.5, "medium", assigned))
    columns = ["campaign_id", "user_id", "arm", "email_perk", "template", "favourite_perk", "probability"]
    return pd.DataFrame(rows, columns=[*columns, "confidence", "assigned_at"])


def _readout_frames(verdict: str = "personalised invitations raise sign-ups") -> tuple[pd.DataFrame, pd.DataFrame]:
    readout = pd.DataFrame(
        [
            ("arm", "personalised", "all", 600, 90, 0.15, 0.124, 0.180),
            ("arm", "generic", "all", 200, 20, 0.10, 0.066, 0.149),
            ("arm", "random_perk", "all", 200, 18, 0.09, 0.058, 0.138),
            ("arm_x_confidence", "personalised", "high", 400, 68, 0.17, 0.136, 0.210),
            ("arm_x_confidence", "generic", "high", 80, 8, 0.10, 0.052, 0.185),
        ],
        columns=["scope", "arm", "level", "customers", "signups", "rate", "ci_low", "ci_high"],
    )
    uplift = pd.DataFrame(
        [
            ("personalised_vs_generic", 0.05, 0.004, 0.098, 0.043, verdict),
            ("personalised_vs_random_perk", 0.06, 0.013, 0.104, 0.021, ""),
        ],
        columns=["comparison", "difference", "ci_low", "ci_high", "p_value", "verdict"],
    )
    return readout, uplift


def _deck_data(readout: tuple[pd.DataFrame, pd.DataFrame] | None, synthetic: bool = False) -> DeckData:
    settings = CampaignSettings(campaign_id="spring")
    policy = Policy(match_gain=settings.match_gain, mismatch_cost=settings.mismatch_cost)
    evidence = {
        "p_value": 0.004, "alpha": 0.01, "power": 0.8, "users": 6_000, "detectable_shift_sd": 0.58,
        "estimated_shift_sd": 0.71, "shift_upper_95_sd": 0.86, "meaningful_shift_sd": 0.5,
        "users_for_meaningful_shift": 8_123, "verdict": SEGMENTS_EXIST,
    }  # fmt: skip
    return DeckData(
        cohort_start="2023-01-04",
        min_sessions=7,
        cohort_users=1_000,
        cohort_sessions=12_345,
        evidence=evidence,
        perk_counts={PERKS[0]: 300, PERKS[1]: 250, PERKS[2]: 200, PERKS[3]: 150, PERKS[4]: 100},
        mean_probability=0.46,
        reliability={"observed_agreement": 0.52, "chance_agreement": 0.21, "kappa": 0.39, "predicted_agreement": 0.5},
        confidence_shares={"high": 0.4, "medium": 0.35, "low": 0.25},
        confidence_thresholds={"high": 0.6, "medium": 0.4},
        plan=summarise(_plan_frame(), "spring", policy, settings.base_rate),
        readout=readout_figures(*readout) if readout is not None else None,
        synthetic=synthetic,
        generated=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )


def test_build_deck_shows_the_readout_once_results_exist() -> None:
    deck = build_deck(_deck_data(_readout_frames()))
    slides = list(deck.slides)
    assert len(slides) == SLIDE_COUNT
    readout = slides[6]
    assert readout.shapes.title.text == "Personalised invitations raise sign-ups"
    assert len(_pictures(readout)) == 1
    arms = _readout_frames()[0].query("scope == 'arm'").set_index("arm")
    assert _pictures(readout)[0].image.blob == to_png(readout_chart(arms))
    text = _texts(readout)
    assert "Sign-up rate: personalised 15.0% \u00b7 generic 10.0% \u00b7 random perk 9.0%" in text
    assert "Personalised \u2212 generic: +5.0 points (95% CI +0.4 to +9.8), p = 0.043" in text
    assert "Personalised \u2212 random perk: +6.0 points" in text
    notes = _notes(readout)
    assert "128 of 1,000 invited customers signed up" in notes
    assert "high-confidence customers, personalised signed up at 17.0% and generic at 10.0%" in notes
    assert slides[7].shapes.title.text == "Next: roll out personalised invitations"
    # The plan's figures are the spring campaign's only: 1,000 customers, 400 of 600 personalised with a perk.
    plan = _texts(slides[5])
    assert slides[5].shapes.title.text.startswith("1,000 customers in three arms")
    assert "400 get their perk (p > 0.40); 200 fall back to generic" in plan
    assert "Personalised 60% \u00b7 generic 20% \u00b7 random perk 20%" in plan
    assert slides[2].shapes.title.text == SEGMENT_TITLES[SEGMENTS_EXIST]
    assert slides[4].shapes.title.text == "A customer's perk is a useful but unstable lead"
    assert NOTES_WORDS[0] <= _words(deck) <= NOTES_WORDS[1]
    for slide in slides:  # a real source: no synthetic warning anywhere
        assert "SYNTHETIC" not in _footer(slide).upper() and "synthetic" not in _notes(slide)


def test_build_deck_says_results_are_pending_without_readout_rows() -> None:
    readout, uplift = _readout_frames()
    data = _deck_data((readout.iloc[0:0], uplift.iloc[0:0]), synthetic=True)  # "awaiting results": zero rows
    assert data.readout is None
    deck = build_deck(data)
    slides = list(deck.slides)
    pending = slides[6]
    assert pending.shapes.title.text == "Results pending: the read-out appears once sign-ups arrive"
    assert not _pictures(pending)
    text = _texts(pending)
    assert "Sign-up rate per arm, with 95% intervals" in text and "sign-ups for spring are loaded" in text
    assert "The same run rebuilds this deck" in _notes(pending)
    assert slides[7].shapes.title.text == "Next: send the plan's emails and let sign-ups decide"
    assert NOTES_WORDS[0] <= _words(deck) <= NOTES_WORDS[1]
    assert all(_footer(slide).startswith(SYNTHETIC) for slide in slides)


def test_build_deck_before_any_plan_says_so() -> None:
    slides = list(build_deck(dataclasses.replace(_deck_data(None), plan=None)).slides)
    assert len(slides) == SLIDE_COUNT
    assert slides[5].shapes.title.text == "The campaign plan has not been issued yet" and not _pictures(slides[5])
    assert slides[6].shapes.title.text.startswith("Results pending")
    assert slides[7].shapes.title.text == "Next: issue the campaign plan, then let sign-ups decide"


@pytest.mark.parametrize("verdict", [NO_EVIDENCE, DOES_WORSE])
def test_the_readout_verdict_sets_the_titles(verdict: str) -> None:
    slides = list(build_deck(_deck_data(_readout_frames(verdict))).slides)
    assert slides[6].shapes.title.text == VERDICT_TITLES[verdict]
    assert slides[7].shapes.title.text == NEXT_TITLES[verdict]
    assert f"Verdict: {verdict}." in _notes(slides[6])


# ---- rendered by LibreOffice -------------------------------------------------------------------------------


def _pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF: its /Type /Page objects (LibreOffice writes them uncompressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_libreoffice_renders_one_page_per_slide(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-impress")
    planted_run = request.getfixturevalue("planted_run")  # the pipeline runs only where the deck can be rendered
    deck = planted_run[1] / "report" / "executive_summary.pptx"
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation={(home / 'profile').as_uri()}",  # a fresh profile: no clash with a desktop
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(deck),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "HOME": str(home)},
    )
    pdf = tmp_path / "executive_summary.pdf"
    assert done.returncode == 0 and pdf.is_file(), done.stderr[-2000:]
    assert _pdf_pages(pdf.read_bytes()) == len(Presentation(str(deck)).slides) == SLIDE_COUNT
