"""Text of a Comparison (gpukernels.compare): a terminal table, or Markdown for a PR comment.

When the two runs may be on different physical GPUs the FIRST line says so and names the
card-to-card rule, so a reader (or a CI log's first line) never mistakes card spread for code.
"""
from __future__ import annotations

import math

from tabulate import tabulate

from .compare import CARD_FACTOR, Comparison

HEADERS = ("benchmark", "params", "base", "head", "ratio", "decision", "test")
ALIGN = ("left", "left", "right", "right", "right", "left", "left")
RATIO_NOTE = (
    "ratio = head / base for times, base / head for rates (units with '/s', larger is better), "
    "so ratio > 1 always means HEAD is worse"
)
SECTIONS = {
    "device": "device-bound (fails the gate when slower)",
    "host": "host-bound (reported; fails the gate only with --fail-on-host)",
}


def card_line(c: Comparison) -> str | None:
    """The warning that leads the output when the cards differ or are not known to be the same."""
    if c.cards.same:
        return None
    return (f"cards: {c.cards.describe()}: card-to-card rule: device-bound factor {c.device_factor:g} "
            f"= max(--factor {c.factor:g}, {CARD_FACTOR:g}) (identical code measured up to 9.4% apart "
            "on two H100 cards; under 0.2% on one)")


def rules_line(c: Comparison) -> str:
    host = "fails the gate" if c.fail_on_host else "reported only (--fail-on-host to fail)"
    return (f"rules: device-bound factor {c.device_factor:g}; host-bound factor {c.host_factor:g}, {host}; "
            f"Mann-Whitney U p-values Benjamini-Hochberg adjusted per bound, significant at q < {c.alpha:g} "
            "(asv's 99% CI rule where no samples are stored); throttled parameter sets and units "
            "that are not a speed are never slower")


def render(comparison: Comparison, markdown: bool = False, only_changed: bool = False) -> str:
    c = comparison
    title = f"{c.base[:8]} -> {c.head[:8]} on {c.machine}"
    warning = card_line(c)
    lines = []
    if warning:
        lines += [f"> **{warning}**" if markdown else f"WARNING {warning}", ""]
    lines += [f"### Benchmark comparison {title}" if markdown else f"compare {title}", "",
              rules_line(c), "", RATIO_NOTE, ""]
    for bound, heading in SECTIONS.items():
        rows = c.rows[c.rows.bound == bound]
        if rows.empty:
            continue
        if only_changed:
            rows = rows[~rows.decision.isin(["same", "unjudged"])]
        lines += [f"#### {heading}" if markdown else heading, ""]
        cells = [
            [r.benchmark, r.params, format_quantity(r.base, r.unit), format_quantity(r.head, r.unit),
             "-" if math.isnan(r.ratio) else f"{r.ratio:.3f}", r.decision, r.test]
            for r in rows.itertuples(index=False)
        ]
        if markdown:
            cells = [[_md_cell(x) for x in row] for row in cells]
        if cells:
            lines.append(tabulate(cells, HEADERS, tablefmt="github" if markdown else "simple",
                                  colalign=ALIGN, disable_numparse=True))
        else:
            lines.append("no parameter set changed beyond the factor")
        lines.append("")
    tail = [*summary_lines(c), *_not_compared_lines(c), verdict(c)]
    lines += [f"- {t}" for t in tail] if markdown else tail  # a list: Markdown joins bare lines
    return "\n".join(lines) + "\n"


def summary_lines(c: Comparison) -> list[str]:
    out = []
    for bound in ("device", "host"):
        if (c.rows.bound == bound).any():
            counts = c.counts(bound)
            out.append(f"{bound}-bound: " + ", ".join(f"{n} {d}" for d, n in counts.items()))
    if c.cards.base is None and c.cards.head is None and not c.cards.known_same:
        out.append(f"no {c.cards.card_id or 'card id'} at either commit: the card-to-card rule applies")
    throttled = c.rows[c.rows.decision == "throttled"]
    if len(throttled):
        out.append(f"throttled: {len(throttled)} metrics x parameter sets where NVML saw a slowdown reason or "
                   "an SM clock below 75% of default at base or head: not judged")
    return out


def summary(comparison: Comparison) -> str:
    """One line: the device-bound counts (what decides the exit status by default)."""
    return summary_lines(comparison)[0]


def verdict(c: Comparison) -> str:
    device, host = c.counts("device")["slower"], c.counts("host")["slower"]
    if c.exit_code:
        what = [f"{n} {b}-bound slower" for b, n in (("device", device), ("host", host)) if n
                and (b == "device" or c.fail_on_host)]
        return f"exit 1: {', '.join(what)}"
    note = f" ({host} host-bound slower, reported only)" if host else ""
    return f"exit 0: nothing device-bound slower{note}"


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
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if unit == "id":  # a card id: the hex of the UUID's first 48 bits, as the card line prints it
        return f"{int(value):012x}"
    if unit == "seconds":
        for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
            if abs(value) >= scale:
                return f"{value / scale:.4g} {name}"
        return f"{value / 1e-9:.4g} ns"
    return f"{value:.4g} {unit}".strip()


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")
