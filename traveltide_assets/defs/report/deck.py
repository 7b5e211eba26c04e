"""The executive slides: an eight-slide deck for marketing, its charts, and speaker notes that script the talk.

Pure (no Dagster): the asset (traveltide_assets/defs/report/slides.py) reads the warehouse tables into a DeckData
and saves what build_deck returns. Every figure on a slide and in its notes comes from DeckData. The slides'
words are deck_findings.py and deck_campaign.py; this module lays them out with python-pptx. Their charts
(deck_charts.py) are matplotlib figures written as PNG.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from traveltide_assets.defs.report.deck_campaign import next_steps_slide, plan_slide, readout_slide
from traveltide_assets.defs.report.deck_data import SYNTHETIC_FOOTER, SYNTHETIC_WARNING, DeckData, SlideContent
from traveltide_assets.defs.report.deck_findings import (
    cohort_slide,
    perk_mix_slide,
    question_slide,
    segments_slide,
    trust_slide,
)

if TYPE_CHECKING:
    from pptx.presentation import Presentation
    from pptx.slide import Slide


def deck_slides(d: DeckData) -> list[SlideContent]:
    return [
        question_slide(d),
        cohort_slide(d),
        segments_slide(d),
        perk_mix_slide(d),
        trust_slide(d),
        plan_slide(d),
        readout_slide(d),
        next_steps_slide(d),
    ]


WIDTH_IN, HEIGHT_IN = 13.333, 7.5  # 16:9


TITLE_ONLY_LAYOUT, TITLE_LAYOUT = 5, 0


INK, MUTED, WARNING = "222222", "666666", "B71C1C"


def _rgb(hex_colour: str) -> Any:
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex_colour)


def _footer(slide: Slide, d: DeckData, number: int, count: int) -> None:
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Inches, Pt

    box = slide.shapes.add_textbox(Inches(0.5), Inches(HEIGHT_IN - 0.55), Inches(WIDTH_IN - 1.0), Inches(0.4))
    box.name = "Footer"
    paragraph = box.text_frame.paragraphs[0]
    paragraph.alignment = PP_ALIGN.LEFT
    parts = [(SYNTHETIC_FOOTER + "  \u00b7  ", WARNING, True)] if d.synthetic else []
    parts.append((f"TravelTide Segments \u00b7 {d.generated:%Y-%m-%d} \u00b7 {number} / {count}", MUTED, False))
    for text, colour, bold in parts:
        run = paragraph.add_run()
        run.text = text
        run.font.size, run.font.bold = Pt(11), bold
        run.font.color.rgb = _rgb(colour)


def _bullets(slide: Slide, lines: list[str], left: float, width: float) -> None:
    from pptx.oxml.ns import qn
    from pptx.util import Inches, Pt

    box = slide.shapes.add_textbox(Inches(left), Inches(1.75), Inches(width), Inches(4.9))
    box.name = "Bullets"
    frame = box.text_frame
    frame.word_wrap = True
    for i, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        properties = paragraph._p.get_or_add_pPr()
        properties.set("marL", str(Inches(0.3)))
        properties.set("indent", str(-Inches(0.3)))
        bullet = properties.makeelement(qn("a:buChar"), {"char": "\u2022"})
        properties.append(bullet)
        paragraph.space_after = Pt(14)
        run = paragraph.add_run()
        run.text = line
        run.font.size = Pt(20)
        run.font.color.rgb = _rgb(INK)


def _kpis(slide: Slide, tiles: list[tuple[str, str]], left: float, width: float) -> None:
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Inches, Pt

    height, gap = 1.35, 0.3
    for i, (figure, caption) in enumerate(tiles):
        tile = slide.shapes.add_shape(
            MSO_SHAPE.ROUNDED_RECTANGLE, Inches(left), Inches(1.75 + i * (height + gap)), Inches(width), Inches(height)
        )
        tile.name = f"KPI {caption}"
        tile.fill.solid()
        tile.fill.fore_color.rgb = _rgb("EEF3F8")
        tile.line.fill.background()
        frame = tile.text_frame
        for j, (text, size, bold) in enumerate(((figure, 36, True), (caption, 16, False))):
            paragraph = frame.paragraphs[0] if j == 0 else frame.add_paragraph()
            paragraph.alignment = PP_ALIGN.CENTER
            run = paragraph.add_run()
            run.text = text
            run.font.size, run.font.bold = Pt(size), bold
            run.font.color.rgb = _rgb("1F3B57")


def _picture(slide: Slide, png: bytes, description: str, left: float, width: float) -> None:
    from pptx.util import Inches

    picture = slide.shapes.add_picture(io.BytesIO(png), Inches(left), Inches(1.7), width=Inches(width))
    limit = Inches(HEIGHT_IN - 0.7 - 1.7)
    if picture.height > limit:  # a tall chart is scaled down to stay above the footer
        picture.width = int(picture.width * limit / picture.height)
        picture.height = limit
    picture.name = "Chart"
    picture._element.nvPicPr.cNvPr.set("descr", description)


def _title(
    slide: Slide, text: str, top: float = 0.4, height: float = 1.2, size: int = 32, centred: bool = False
) -> None:
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.util import Inches, Pt

    title = slide.shapes.title
    title.left, title.top, title.width, title.height = Inches(0.5), Inches(top), Inches(WIDTH_IN - 1.0), Inches(height)
    title.text = text
    title.text_frame.vertical_anchor = MSO_ANCHOR.MIDDLE if centred else MSO_ANCHOR.BOTTOM
    for paragraph in title.text_frame.paragraphs:
        paragraph.alignment = PP_ALIGN.CENTER if centred else PP_ALIGN.LEFT
        for run in paragraph.runs:
            run.font.size, run.font.bold = Pt(size), True
            run.font.color.rgb = _rgb(INK)


def _title_slide(prs: Presentation, content: SlideContent, d: DeckData) -> Slide:
    from pptx.util import Inches, Pt

    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_LAYOUT])
    _title(slide, content.title, top=1.6, height=2.0, size=40, centred=True)
    subtitle = slide.placeholders[1]
    subtitle.left, subtitle.top = Inches(0.5), Inches(3.9)
    subtitle.width, subtitle.height = Inches(WIDTH_IN - 1.0), Inches(2.4)
    frame = subtitle.text_frame
    for i, line in enumerate(content.bullets):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        run = paragraph.add_run()
        run.text = line
        warning = d.synthetic and line == SYNTHETIC_WARNING
        run.font.size, run.font.bold = Pt(18 if warning else 22), warning
        run.font.color.rgb = _rgb(WARNING if warning else MUTED)
    return slide


def _content_slide(prs: Presentation, content: SlideContent) -> Slide:
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY_LAYOUT])
    _title(slide, content.title)
    if content.chart is not None:
        _bullets(slide, content.bullets, left=0.5, width=5.6)
        _picture(slide, content.chart, content.chart_description, left=6.3, width=6.5)
    elif content.kpis:
        _bullets(slide, content.bullets, left=0.5, width=7.2)
        _kpis(slide, content.kpis, left=8.3, width=4.5)
    else:
        _bullets(slide, content.bullets, left=0.5, width=WIDTH_IN - 1.0)
    return slide


def build_deck(data: DeckData) -> Presentation:
    """The deck: a title slide and seven content slides, each with speaker notes and a footer."""
    from pptx import Presentation as new_presentation
    from pptx.util import Inches

    prs = new_presentation()
    prs.slide_width, prs.slide_height = Inches(WIDTH_IN), Inches(HEIGHT_IN)
    prs.core_properties.title = "TravelTide rewards: which perk should each invitation lead with?"
    prs.core_properties.author = "TravelTide Segments"
    if data.synthetic:
        prs.core_properties.subject = SYNTHETIC_WARNING
    contents = deck_slides(data)
    for number, content in enumerate(contents, start=1):
        slide = _title_slide(prs, content, data) if number == 1 else _content_slide(prs, content)
        _footer(slide, data, number, len(contents))
        slide.notes_slide.notes_text_frame.text = content.notes
    return prs


def notes_words(prs: Presentation) -> int:
    """Words of speaker notes over the deck (about 140 a minute spoken)."""
    return sum(len(slide.notes_slide.notes_text_frame.text.split()) for slide in prs.slides if slide.has_notes_slide)
