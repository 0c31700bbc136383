"""The report's content: sections of text, tables and figures, independent of the output format.

Per machine: the headline (our Numba kernels against the peer libraries), one section per op of
the suite, then the sections the suite registers itself (``Suite.section``: our suite adds its
tutorial experiments, launch costs, copies and probes), clocks and history. Around them:
machines and bandwidth ceilings first, files not read and status counts last.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from matplotlib.figure import Figure

from ..results import Results
from ..suite import Family, Op
from . import plots
from . import summary
from . import tables as t
from .data import MachineView, Selection


@dataclass
class Plot:
    name: str  # file stem of the PNG
    figure: Figure
    caption: str = ""


@dataclass
class Section:
    title: str
    level: int = 2
    parts: list = field(default_factory=list)  # str | tables.Table | Plot


def not_run(view: MachineView, *fams: Family | None) -> str:
    """One line naming only the families of this part that the selected runs lack ('' if none)."""
    absent = [f.cls_id for f in fams if f is not None and view.pick(f) is None]
    return f"Not measured in the runs shown on {view.name}: {', '.join(absent)}." if absent else ""


def build(results: Results, sel: Selection) -> list[Section]:
    """All sections for the selection (one view per machine) of ``results``."""
    head = Section("Machines and GPUs", parts=[summary.machines(sel)])
    ceilings = summary.ceilings(sel)
    head.parts.append(ceilings if ceilings is not None else
                      "No bandwidth ceiling: no streaming family measured beyond L2 in the runs shown.")
    sections = [head]
    for name, view in sel.machines.items():
        sections += _machine(sel, view, results.probes.get(name))
    tail = Section("Files not read and result status")
    table = summary.unread(results.unread)
    tail.parts.append(table if table is not None else "Every file under the results directory was read.")
    for where, note in getattr(results, "notes", ()):  # read, but the report shows one of several
        tail.parts.append(f"Note ({where}): {note}.")
    tail.parts.append(summary.status_counts(sel))
    skipped = summary.not_in_suite(sel)
    if skipped is not None:
        tail.parts.append(skipped)
    sections.append(tail)
    return sections


def _machine(sel: Selection, view: MachineView, probe: dict | None) -> list[Section]:
    head = Section(f"{view.name} ({view.gpu or 'GPU unknown'})")
    suite = view.suite
    if not view.picks:
        head.parts.append(
            f"No results with ids of the suite {suite.name!r} for {view.name} in this selection"
            + (f" ({len(view.skipped)} rows with ids not in the suite are skipped; see the last section)."
               if len(view.skipped) else "."))
        return [head, *(s for fn in suite.sections for s in fn(view, probe) if s.parts)]
    commits = {}
    for cls_id, pick in view.picks.items():
        commits.setdefault(pick, []).append(cls_id)
    ordered = sorted(commits, key=lambda p: p.date, reverse=True)
    head.parts.append(f"Newest run shown: {ordered[0].label}, asv environment {ordered[0].env}.")
    if len(ordered) > 1:
        head.parts.append(
            "The newest commit did not run every family; each family comes from the newest commit that ran it: "
            + "; ".join(f"{p.short}: {len(commits[p])} families" for p in ordered)
            + ". Every table's caption names its commit.")
    absent = not_run(view, *suite.families)
    if absent:
        head.parts.append(absent + " Their sections are left out.")
    sections = [head, _headline(view)]
    for op in suite.ops.values():
        if view.pick(op.kernel_family) or view.pick(op.baseline_family):
            sections.append(_op(view, op))
    for fn in suite.sections:
        sections += fn(view, probe)
    sections += [_clocks(view), *_history(sel, view)]
    return [s for s in sections if s.parts]


def _headline(view: MachineView) -> Section:
    section = Section("Numba or a library? Our best kernels against the libraries", level=3)
    for op in view.suite.ops.values():
        section.parts += t.peer_sentences(view, op)
    if section.parts:
        section.parts.insert(0, "Ratio of speed (GB/s, or GFLOP/s for compute-bound ops) at each size, our best "
                                "Numba kernel per op over the peer's, device time from the same method for both; "
                                "per-size figures in each op's peers table below.")
    return section


def _op(view: MachineView, op: Op) -> Section:
    section = Section(f"{op.name}: {op.what}", level=3)
    table = t.op_table(view, op)
    if table is None:  # host baselines only
        section.parts += [p for p in (t.baselines(view, op), not_run(view, op.kernel_family)) if p]
        return section
    section.parts.append(table)
    if op.impl_notes:
        section.parts.append("Implementations: " + "; ".join(f"{k}: {v}" for k, v in op.impl_notes.items()) + ".")
    for extra in (t.op_missing(view, op), t.throttle_note(view, op.kernel_family)):
        if extra:
            section.parts.append(extra)
    crossover = _kernel_crossover(view, op, table)
    if crossover:
        section.parts.append(crossover)
    if op.baseline_family is not None:
        base = t.baselines(view, op)
        section.parts.append(base if base is not None else not_run(view, op.baseline_family))
    peers = t.peers(view, op)
    if peers is not None:
        section.parts.append(peers)
    figure = plots.op_rates(view, op)
    if figure is not None:
        section.parts.append(Plot(f"{'compute' if op.compute_bound else 'bandwidth'}_vs_size-{op.name}-{view.name}", figure,
                                  f"{op.name} speed vs size on {view.name}, and ours vs the peers"))
    return section


def _kernel_crossover(view: MachineView, op: Op, table: t.Table) -> str:
    if len(op.axes) != 1:
        return ""
    frame = table.frame
    ours = frame[frame.impl == t.impl_label(op, op.ours)]
    size = t.axis_header(op, op.axis_names[0])
    parts = []
    for cpu in op.host_impls:
        column = f"speedup vs {cpu} (x)"
        if column in ours and ours[column].notna().any():
            start = t.crossover(ours.set_index(size)[column].rename(index=int))
            parts.append(f"{cpu} from {op.axis_names[0]} = {t.size_label(start)}" if start
                         else f"{cpu} at no size measured")
    if not parts:
        return ""
    return f"Our kernel ({op.ours}, device time only) is at least as fast as " + "; ".join(parts) + "."


def _clocks(view: MachineView) -> Section:
    section = Section("Clocks", level=3)
    table = summary.clocks(view)
    if table is not None:
        section.parts.append(table)
    return section


def _history(sel: Selection, view: MachineView) -> list[Section]:
    section = Section(f"History: {view.name}", level=3)
    for op in view.suite.ops.values():
        table = summary.history(sel, view, op)
        if table is not None:
            section.parts.append(table)
    return [section] if section.parts else []
