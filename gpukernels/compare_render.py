"""Text of a Comparison (gpukernels.compare): a terminal table, or Markdown for a PR comment."""
from __future__ import annotations

from tabulate import tabulate

from .compare import Comparison

HEADERS = ("benchmark", "params", "base", "head", "ratio", "decision", "test")
ALIGN = ("left", "left", "right", "right", "right", "left", "left")
RATIO_NOTE = (
    "ratio = head / base for times, base / head for rates (units with '/s', larger is better), "
    "so ratio > 1 always means HEAD is worse"
)


def render(comparison: Comparison, markdown: bool = False, only_changed: bool = False) -> str:
    c = comparison
    rows = c.rows[c.rows.decision != "same"] if only_changed else c.rows
    cells = [
        [r.benchmark, r.params, format_quantity(r.base, r.unit), format_quantity(r.head, r.unit),
         f"{r.ratio:.3f}", r.decision, r.test]
        for r in rows.itertuples(index=False)
    ]
    if markdown:
        cells = [[_md_cell(x) for x in row] for row in cells]
    title = f"{c.base[:8]} -> {c.head[:8]} on {c.machine}: factor {c.factor:g}, alpha {c.alpha:g}"
    lines = [f"### Benchmark comparison {title}" if markdown else f"compare {title}", "", RATIO_NOTE, ""]
    if cells:
        lines.append(tabulate(cells, HEADERS, tablefmt="github" if markdown else "simple",
                              colalign=ALIGN, disable_numparse=True))
    else:
        lines.append("no parameter set changed beyond the factor")
    tail = [summary(c), *_not_compared_lines(c)]
    lines += ["", *([f"- {t}" for t in tail] if markdown else tail)]  # a list: Markdown joins bare lines
    return "\n".join(lines) + "\n"


def summary(comparison: Comparison) -> str:
    counts = comparison.counts()
    return "summary: " + ", ".join(f"{n} {d}" for d, n in counts.items())


def _not_compared_lines(c: Comparison) -> list[str]:
    lines = []
    for label, per_benchmark in (("added (head only)", c.added), ("removed (base only)", c.removed)):
        if per_benchmark:
            names = ", ".join(f"{b} ({n})" for b, n in per_benchmark.items())
            lines.append(f"{label}: {sum(per_benchmark.values())} parameter sets: {names}")
    lines += [f"not compared, {reason}: {n} parameter sets" for reason, n in c.not_compared.items()]
    lines += [f"not read: {path} ({reason})" for path, reason in c.unread]
    return lines


def format_quantity(value: float, unit: str) -> str:
    """Seconds humanised to s/ms/us/ns at 4 significant digits; other units as stored."""
    if unit == "seconds":
        for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
            if abs(value) >= scale:
                return f"{value / scale:.4g} {name}"
        return f"{value / 1e-9:.4g} ns"
    return f"{value:.4g} {unit}".strip()


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")
