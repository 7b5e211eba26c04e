"""The HTML pieces every section of the report uses: escaped text and tables."""

from __future__ import annotations

import html

import pandas as pd


def esc(value: object) -> str:
    return html.escape(str(value))


def html_table(frame: pd.DataFrame, index: bool = False, floats: str = "{:.3f}") -> str:
    frame = frame.reset_index() if index else frame
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for value in record:
            if isinstance(value, float):
                cells.append(f'<td class="num">{floats.format(value)}</td>')
            elif isinstance(value, int):
                cells.append(f'<td class="num">{value:,}</td>')
            else:
                cells.append(f"<td>{esc(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="scroll">{table}</div>'  # wide tables scroll instead of overflowing the page
