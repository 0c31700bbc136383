"""Write the report: report.md (for a PR comment), report.html (self-contained), results.csv, PNGs.

Numbers are formatted once, by ``format_value``, for both Markdown and HTML; numeric columns are
right-aligned and text left-aligned in both. Tables are written without an index, so HTML has
exactly one header row. Every string that comes from the results is HTML-escaped.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..results import Results
from ..suite import Suite
from . import sections as s
from .data import ReportError, Size, select, size_label
from .tables import Table

__all__ = ["ReportError", "format_value", "to_html", "to_markdown", "write_csv", "write_report"]

TITLE = "GPU kernel benchmark report"
CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.3em 0 1.4em;font-size:.88em}
caption{caption-side:top;text-align:left;color:#444;padding:.3em 0;font-size:.95em;max-width:1100px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3;vertical-align:bottom}th.num,td.num{text-align:right}td.nw{white-space:nowrap}
tbody tr:nth-child(even){background:#fafafa}tr.ours{font-weight:600}
img{max-width:100%;display:block;margin:.5em 0 1.5em}h2{border-bottom:1px solid #ddd;margin-top:2em}"""
OURS = " (ours)"  # a row of our best implementation: bold in HTML
# cells that say "no number here" and do not make a column text
_NEUTRAL = {"-", "not recorded", "never"}


def format_value(value: object) -> str:
    """The report's one number format: 3 significant digits, thousands separated, '-' for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, Size):
        return size_label(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "-"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


def _is_number(value: object) -> bool:
    if isinstance(value, Size):
        return True
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def numeric_columns(frame: pd.DataFrame) -> list[bool]:
    """Per column: every value is a number (or a neutral 'no value' cell), and at least one is."""
    out = []
    for column in frame.columns:
        values = frame[column].tolist()
        numbers = [_is_number(v) for v in values]
        neutral = [v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v in _NEUTRAL)
                   for v in values]
        out.append(any(n and not z for n, z in zip(numbers, neutral))
                   and all(n or z for n, z in zip(numbers, neutral)))
    return out


def _cells(table: Table) -> list[list[str]]:
    return [[format_value(v) for v in row] for row in table.frame.itertuples(index=False)]


def _md_text(text: str) -> str:
    """Markdown cell/paragraph text: HTML-escaped (GitHub renders inline HTML) and pipes kept in cells."""
    return html.escape(str(text), quote=False).replace("|", "\\|")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def write_report(
    results: Results,
    suite: Suite,
    out_dir: str | Path,
    results_dir: str | Path | None = None,
    machine: str | None = None,
    commit: str | None = None,
) -> list[Path]:
    """Render the report of ``suite`` for the selection into ``out_dir``: per machine, each family from the
    newest commit that ran it, or every family from ``commit``. Returns the files written.

    Raises ReportError when the selection is empty or ``out_dir`` lies inside ``results_dir``.
    """
    out = Path(out_dir).resolve()
    if results_dir is not None:
        source = Path(results_dir).resolve()
        if out == source or source in out.parents:
            raise ReportError(f"refusing to write the report into the results directory {source}")
    selection = select(results.frame, suite, machine, commit)
    content = s.build(results, selection)
    out.mkdir(parents=True, exist_ok=True)

    images: dict[str, bytes] = {}
    for section in content:
        for part in section.parts:
            if isinstance(part, s.Plot):
                images[part.name] = _png(part.figure)
    written = []
    for name, png in images.items():
        path = out / f"{_slug(name)}.png"
        path.write_bytes(png)
        written.append(path)
    for path, text in ((out / "report.md", to_markdown(content)), (out / "report.html", to_html(content, images))):
        path.write_text(text, encoding="utf-8")
        written.append(path)
    written.append(write_csv(results.frame, out / "results.csv"))
    return written


def markdown_table(table: Table) -> str:
    align = ["right" if n else "left" for n in numeric_columns(table.frame)]
    cells = pd.DataFrame(_cells(table), columns=[_md_text(c) for c in table.frame.columns]).map(_md_text)
    if cells.empty:
        cells = pd.DataFrame([["-"] * len(cells.columns)], columns=cells.columns)
    return cells.to_markdown(index=False, disable_numparse=True, colalign=align)


def to_markdown(content: list[s.Section]) -> str:
    lines = [f"# {TITLE}", ""]
    for section in content:
        lines += [f"{'#' * section.level} {section.title}", ""]
        for part in section.parts:
            if isinstance(part, Table):
                lines += [f"Table: {_md_text(part.caption)}", "", markdown_table(part)]
            elif isinstance(part, s.Plot):
                lines.append(f"![{_md_text(part.caption or part.name)}]({_slug(part.name)}.png)")
            else:
                lines.append(_md_text(part))
            lines.append("")
    return "\n".join(lines)


def html_table(table: Table) -> str:
    numeric = numeric_columns(table.frame)
    klass = ['num' if n else 'txt' for n in numeric]
    head = "".join(f'<th class="{k}">{html.escape(str(c))}</th>' for c, k in zip(table.frame.columns, klass))
    body = "\n".join(
        ('<tr class="ours">' if any(v.endswith(OURS) for v in row) else "<tr>")
        + "".join(f'<td class="{k}{" nw" if len(v) < 24 else ""}">{html.escape(v)}</td>'
                  for v, k in zip(row, klass)) + "</tr>"
        for row in _cells(table)
    )
    return (f"<table><caption>{html.escape(table.caption)}</caption>\n<thead><tr>{head}</tr></thead>\n"
            f"<tbody>\n{body}\n</tbody></table>")


def to_html(content: list[s.Section], images: dict[str, bytes]) -> str:
    body = []
    for section in content:
        body.append(f"<h{section.level}>{html.escape(section.title)}</h{section.level}>")
        for part in section.parts:
            if isinstance(part, Table):
                body.append(html_table(part))
            elif isinstance(part, s.Plot):
                data = base64.b64encode(images[part.name]).decode("ascii")
                alt = html.escape(part.caption or part.name)
                body.append(f'<img alt="{alt}" src="data:image/png;base64,{data}">')
            else:
                body.append(f"<p>{html.escape(part)}</p>")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>'
        f"<style>{CSS}</style></head>\n<body><h1>{TITLE}</h1>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """The tidy frame with samples and params as JSON so that the CSV stays one row per set;
    a non-finite number (which no measurement is) is written empty, like NaN (null in samples)."""
    numeric = frame.select_dtypes("number").columns
    frame = frame.assign(**{c: frame[c].where(np.isfinite(frame[c])) for c in numeric})
    out = frame.assign(
        samples=frame.samples.map(
            lambda x: json.dumps([v if math.isfinite(v) else None for v in x]) if x is not None else ""),
        params=frame.params.map(lambda p: json.dumps(p, default=str)),
        date=frame.date.map(lambda d: d.isoformat()),
    )
    out.to_csv(path, index=False)
    return path
