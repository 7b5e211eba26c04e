"""A small SVG writer for the report's charts: a canvas of shapes and text, linear scales, nice ticks, axes.

Pure string building, deterministic (the same calls give byte-identical text: no ids, no timestamps) and safe:
every text is escaped, every number is finite (anything else is drawn at 0, never written as "nan").
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

FONT = "Helvetica, Arial, 'Liberation Sans', sans-serif"
INK, MUTED, GRID = "#222222", "#555555", "#e6e6e6"
TITLE_SIZE, LABEL_SIZE, TICK_SIZE = 14, 11, 10


def esc(text: object) -> str:
    """Text for SVG content or attribute values: & < > " ' escaped."""
    return html.escape(str(text), quote=True)


def num(value: float) -> str:
    """A coordinate: at most 2 decimals, no trailing zeros, no '-0'; non-finite values become 0."""
    value = float(value)
    if not math.isfinite(value):
        value = 0.0
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text_width(text: str, size: float) -> float:
    """Rough rendered width of sans-serif text (wide enough for layout: labels must not be clipped)."""
    wide = sum(1 for ch in text if ch.isupper() or ch in "mw%")
    return size * (0.56 * (len(text) - wide) + 0.8 * wide)


def _attrs(attrs: dict[str, object]) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        shown = num(value) if isinstance(value, numbers.Real) else esc(value)  # numbers include numpy's
        parts.append(f' {key.rstrip("_").replace("_", "-")}="{shown}"')
    return "".join(parts)


class Canvas:
    """Elements in drawing order; render() wraps them in a standalone <svg> (also valid inline in HTML)."""

    def __init__(self, width: float, height: float, label: str) -> None:
        self.width, self.height, self.label = width, height, label
        self.parts: list[str] = [f'<rect width="{num(width)}" height="{num(height)}" fill="#ffffff"/>']

    def element(self, tag: str, content: str | None = None, **attrs: object) -> None:
        if content is None:
            self.parts.append(f"<{tag}{_attrs(attrs)}/>")
        else:
            self.parts.append(f"<{tag}{_attrs(attrs)}>{content}</{tag}>")

    def open(self, tag: str = "g", **attrs: object) -> None:
        self.parts.append(f"<{tag}{_attrs(attrs)}>")

    def close(self, tag: str = "g") -> None:
        self.parts.append(f"</{tag}>")

    def rect(self, x: float, y: float, w: float, h: float, fill: str, **attrs: object) -> None:
        self.element("rect", x=x, y=y, width=max(w, 0.0), height=max(h, 0.0), fill=fill, **attrs)

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = INK, width: float = 1) -> None:
        self.element("line", x1=x1, y1=y1, x2=x2, y2=y2, stroke=stroke, stroke_width=width)

    def polyline(self, points: Iterable[tuple[float, float]], stroke: str, width: float = 1.5) -> None:
        coords = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        self.element("polyline", points=coords, fill="none", stroke=stroke, stroke_width=width, stroke_linejoin="round")

    def dots(self, xs: np.ndarray, ys: np.ndarray, r: float) -> None:
        """Many circles at once (a scatter plot): coordinates rounded to 0.1 px, non-finite ones drawn at 0."""
        xs, ys = (np.nan_to_num(np.round(np.asarray(v, dtype=float), 1), posinf=0, neginf=0) + 0.0 for v in (xs, ys))
        radius = num(r)
        self.parts.extend(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}"/>' for x, y in zip(xs.tolist(), ys.tolist(), strict=True)
        )

    def text(
        self,
        x: float,
        y: float,
        content: object,
        size: float = LABEL_SIZE,
        anchor: str = "start",
        fill: str = INK,
        weight: str | None = None,
        rotate: float | None = None,
    ) -> None:
        """Text whose vertical middle is at y (baseline shifted by 0.35 em, which every renderer honours)."""
        transform = f"rotate({num(rotate)} {num(x)} {num(y)})" if rotate else None
        self.element(
            "text",
            esc(content),
            x=x,
            y=y + 0.35 * size,
            font_size=size,
            text_anchor=anchor,
            fill=fill,
            font_weight=weight,
            transform=transform,
        )

    def title(self, content: str, x: float = 16, y: float = 20) -> None:
        self.text(x, y, content, size=TITLE_SIZE, weight="bold")

    def render(self) -> str:
        w, h = num(self.width), num(self.height)
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            f'font-family="{esc(FONT)}" role="img" aria-label="{esc(self.label)}">'
        )
        return head + "".join(self.parts) + "</svg>"


@dataclass(frozen=True)
class Scale:
    """Linear map of the domain [d0, d1] onto the pixel range [r0, r1]; a degenerate domain maps to the middle."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, value: float | np.ndarray) -> float | np.ndarray:  # a number or an array of numbers
        if self.d1 == self.d0:
            return value * 0.0 + (self.r0 + self.r1) / 2
        return self.r0 + (value - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)


@dataclass(frozen=True)
class Ticks:
    lo: float  # the axis extent: a whole number of steps around the data
    hi: float
    values: tuple[float, ...]
    step: float

    def label(self, value: float) -> str:
        decimals = next((d for d in range(6) if abs(round(self.step, d) - self.step) < 1e-9 * self.step), 6)
        text = f"{value:,.{decimals}f}"
        if text.startswith("-"):  # a true minus sign, and never "-0"
            text = text[1:] if float(text[1:].replace(",", "")) == 0 else "\u2212" + text[1:]
        return text


def nice_ticks(lo: float, hi: float, target: int = 5, integer: bool = False) -> Ticks:
    """About `target` round tick values (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]."""
    lo, hi = (float(lo), float(hi)) if math.isfinite(lo) and math.isfinite(hi) else (0.0, 1.0)
    lo, hi = min(lo, hi), max(lo, hi)
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.5 or 1.0
        lo, hi = (0.0, hi + pad) if lo == 0 else (lo - pad, hi + pad)
    raw = (hi - lo) / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * 0.999)
    if integer:
        step = max(1.0, float(round(step)))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    values = tuple(round(i * step, 10) + 0.0 for i in range(first, last + 1))
    return Ticks(values[0], values[-1], values, step)


def x_axis(c: Canvas, scale: Scale, ticks: Ticks, y: float, top: float | None = None, caption: str = "") -> None:
    """Bottom axis at y: a line, tick marks, labels and a caption; vertical grid lines up to `top` if given."""
    for value in ticks.values:
        x = scale(value)
        if top is not None:
            c.line(x, top, x, y, stroke=GRID)
        c.line(x, y, x, y + 4, stroke=MUTED)
        c.text(x, y + 13, ticks.label(value), size=TICK_SIZE, anchor="middle", fill=MUTED)
    c.line(scale.r0, y, scale.r1, y, stroke=MUTED)
    if caption:
        c.text((scale.r0 + scale.r1) / 2, y + 32, caption, anchor="middle")


def y_axis(c: Canvas, scale: Scale, ticks: Ticks, x: float, right: float | None = None, caption: str = "") -> None:
    """Left axis at x: a line, tick marks, labels and a rotated caption; horizontal grid lines up to `right`."""
    widest = 0.0
    for value in ticks.values:
        y, label = scale(value), ticks.label(value)
        if right is not None:
            c.line(x, y, right, y, stroke=GRID)
        c.line(x - 4, y, x, y, stroke=MUTED)
        c.text(x - 7, y, label, size=TICK_SIZE, anchor="end", fill=MUTED)
        widest = max(widest, text_width(label, TICK_SIZE))
    c.line(x, scale.r0, x, scale.r1, stroke=MUTED)
    if caption:
        mid = (scale.r0 + scale.r1) / 2
        c.text(x - widest - 18, mid, caption, anchor="middle", rotate=-90)


def y_axis_width(ticks: Ticks, caption: bool = True) -> float:
    """Room left of a y axis for its tick labels (and caption)."""
    return max(text_width(ticks.label(v), TICK_SIZE) for v in ticks.values) + (32 if caption else 12)


def legend(c: Canvas, x: float, y: float, entries: Sequence[tuple[str, str]], mark: str = "box") -> None:
    """One entry a line from (x, y): a colour mark (box, line or dot) and its label."""
    for i, (label, colour) in enumerate(entries):
        row = y + 18 * i
        if mark == "line":
            c.line(x, row, x + 16, row, stroke=colour, width=2)
        elif mark == "dot":
            c.element("circle", cx=x + 8, cy=row, r=4, fill=colour)
        else:
            c.rect(x + 2, row - 6, 12, 12, colour)
        c.text(x + 22, row, label, size=LABEL_SIZE)


def legend_width(labels: Iterable[str]) -> float:
    return 22 + max((text_width(label, LABEL_SIZE) for label in labels), default=0.0)
