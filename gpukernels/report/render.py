"""Write the report: report.md (for a PR comment), report.html (self-contained), results.csv, PNGs.

Numbers are formatted once, by ``format_value``, for both Markdown and HTML. Every string that
comes from the results is HTML-escaped (pandas ``to_html`` escapes cells and labels;
``html.escape`` the rest).
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
from . import sections as s
from .tables import ReportError, select_runs

TITLE = "GPU kernel benchmark report"
CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.9em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
img{max-width:100%;display:block;margin:.5em 0 1.5em}h2{border-bottom:1px solid #ddd;margin-top:2em}"""


def format_value(value: object) -> str:
    """The report's one number format: 3 significant digits, thousands separated, '-' for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


def _formatted(table: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Cells as report strings, and whether the index is worth showing (not a bare row count)."""
    if isinstance(table.index, pd.MultiIndex):
        table = table.reset_index()
    out = table.map(format_value)
    out.index = out.index.map(format_value)
    return out, not isinstance(table.index, pd.RangeIndex)


def _md_text(text: str) -> str:
    """Markdown cell/paragraph text: HTML-escaped (GitHub renders inline HTML) and pipes kept in cells."""
    return html.escape(text, quote=False).replace("|", "\\|")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def write_report(
    results: Results,
    out_dir: str | Path,
    results_dir: str | Path | None = None,
    machine: str | None = None,
    commit: str | None = None,
) -> list[Path]:
    """Render the report for the latest commit per machine (or the one asked) into ``out_dir``.

    Raises ReportError when the selection is empty or ``out_dir`` lies inside ``results_dir``.
    """
    out = Path(out_dir).resolve()
    if results_dir is not None:
        source = Path(results_dir).resolve()
        if out == source or source in out.parents:
            raise ReportError(f"refusing to write the report into the results directory {source}")
    selected = select_runs(results.frame, machine, commit)
    content = s.build(results, selected, machine)
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


def to_markdown(content: list[s.Section]) -> str:
    lines = [f"# {TITLE}", ""]
    for section in content:
        lines += [f"{'#' * section.level} {section.title}", ""]
        for part in section.parts:
            if isinstance(part, pd.DataFrame):
                table, index = _formatted(part)
                table = table.map(_md_text).rename(index=_md_text, columns=_md_text)
                lines.append(table.to_markdown(index=index, disable_numparse=True))
            elif isinstance(part, s.Plot):
                lines.append(f"![{part.name}]({_slug(part.name)}.png)")
            else:
                lines.append(_md_text(part))
            lines.append("")
    return "\n".join(lines)


def to_html(content: list[s.Section], images: dict[str, bytes]) -> str:
    body = []
    for section in content:
        body.append(f"<h{section.level}>{html.escape(section.title)}</h{section.level}>")
        for part in section.parts:
            if isinstance(part, pd.DataFrame):
                table, index = _formatted(part)
                body.append(table.to_html(index=index, escape=True, border=0))
            elif isinstance(part, s.Plot):
                data = base64.b64encode(images[part.name]).decode("ascii")
                body.append(f'<img alt="{html.escape(part.name)}" src="data:image/png;base64,{data}">')
            else:
                body.append(f"<p>{html.escape(part)}</p>")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>'
        f"<style>{CSS}</style></head>\n<body><h1>{TITLE}</h1>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """The tidy frame with samples and params as JSON so that the CSV stays one row per set."""
    out = frame.assign(
        samples=frame.samples.map(lambda x: json.dumps(x) if x is not None else ""),
        params=frame.params.map(lambda p: json.dumps(p, default=str)),
        date=frame.date.map(lambda d: d.isoformat()),
    )
    out.to_csv(path, index=False)
    return path

