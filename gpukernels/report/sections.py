"""The report's content: sections of text, tables and figures, independent of the output format.

Per machine: the headline (our Numba kernels against CuPy and PyTorch), one section per op of the
catalogue, the op-specific families by role (variants, block sizes, timing modes, seed audit,
end to end), launch costs and copies, limits and probes, clocks, history. Around them: machines
and bandwidth ceilings first, files not read and status counts last.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from matplotlib.figure import Figure

from .. import catalogue as cat
from ..results import Results
from . import plots
from . import tables as t
from .data import MachineView, Selection

ROLE_TITLES = {
    "variants": "variants",
    "block": "block size",
    "modes": "timing modes",
    "seed": "seed audit",
    t.E2E: "end to end",
}


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


def not_run(view: MachineView, *fams: cat.Family) -> str:
    """One line naming only the families of this part that the selected runs lack ('' if none)."""
    absent = [f.cls_id for f in fams if f is not None and view.pick(f) is None]
    return f"Not measured in the runs shown on {view.name}: {', '.join(absent)}." if absent else ""


def build(results: Results, sel: Selection) -> list[Section]:
    """All sections for the selection (one view per machine) of ``results``."""
    head = Section("Machines and GPUs", parts=[t.machines(sel)])
    ceilings = t.ceilings(sel)
    head.parts.append(ceilings if ceilings is not None else
                      "No bandwidth ceiling: no device-to-device copy or kernel bandwidth beyond L2 in the runs shown.")
    sections = [head]
    for name, view in sel.machines.items():
        sections += _machine(sel, view, results.probes.get(name))
    tail = Section("Files not read and result status")
    table = t.unread(results.unread)
    tail.parts.append(table if table is not None else "Every file under the results directory was read.")
    tail.parts.append(t.status_counts(sel))
    skipped = t.not_in_catalogue(sel)
    if skipped is not None:
        tail.parts.append(skipped)
    sections.append(tail)
    return sections


def _machine(sel: Selection, view: MachineView, probe: dict | None) -> list[Section]:
    head = Section(f"{view.name} ({view.gpu or 'GPU unknown'})")
    if not view.picks:
        head.parts.append(
            f"No results with catalogue ids for {view.name} in this selection"
            + (f" ({len(view.skipped)} rows with ids not in the catalogue are skipped; see the last section)."
               if len(view.skipped) else "."))
        return [head, *_probe_sections(view, probe)]
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
    absent = not_run(view, *cat.FAMILIES)
    if absent:
        head.parts.append(absent + " Their sections are left out.")
    sections = [head, _headline(view)]
    for op in cat.OPS.values():
        if view.pick(t.op_family(op, "kernel")) or view.pick(t.op_family(op, "baseline")):
            sections.append(_op(view, op, probe))
    for role, title in ROLE_TITLES.items():
        for fam in t.role_families(role):
            if view.pick(fam):
                sections.append(_role(view, fam, role, title))
    sections += [_launches(view), _copies(view), *_probe_sections(view, probe), _clocks(view),
                 *_history(sel, view)]
    return [s for s in sections if s.parts]


def _headline(view: MachineView) -> Section:
    section = Section("Numba or a library? Our best kernels against CuPy and PyTorch", level=3)
    for op in cat.OPS.values():
        section.parts += t.peer_sentences(view, op)
    if section.parts:
        section.parts.insert(0, "Ratio of bandwidth (GB/s) at each size, our best Numba kernel per op over the "
                                "peer's, device time from the same method for both; per-size figures in each op's "
                                "peers table below.")
    return section


def _op(view: MachineView, op: cat.Op, probe: dict | None) -> Section:
    section = Section(f"{op.name}: {op.what}", level=3)
    kernel, baseline = t.op_family(op, "kernel"), t.op_family(op, "baseline")
    table = t.op_table(view, op)
    if table is None:  # host baselines only
        section.parts += [p for p in (t.baselines(view, op), not_run(view, kernel)) if p]
        return section
    section.parts.append(table)
    for extra in (t.op_missing(view, op), t.throttle_note(view, kernel)):
        if extra:
            section.parts.append(extra)
    crossover = _kernel_crossover(view, op, table)
    if crossover:
        section.parts.append(crossover)
    base = t.baselines(view, op)
    section.parts.append(base if base is not None else not_run(view, baseline))
    for part in (t.peers(view, op), t.tuned_choices(probe) if op.ours == "tuned" else None):
        if part is not None:
            section.parts.append(part)
    figure = plots.op_bandwidth(view, op)
    if figure is not None:
        section.parts.append(Plot(f"bandwidth_vs_size-{op.name}-{view.name}", figure,
                                  f"{op.name} bandwidth vs size on {view.name}, and ours vs the peers"))
    return section


def _kernel_crossover(view: MachineView, op: cat.Op, table: t.Table) -> str:
    frame = table.frame
    ours = frame[frame.impl == t.impl_label(op, op.ours)]
    parts = []
    for cpu in op.cpu:
        column = f"speedup vs {cpu} (x)"
        if column in ours and ours[column].notna().any():
            start = t.crossover(ours.set_index("n (elements)")[column].rename(index=int))
            parts.append(f"{cpu} from n = {t.size_label(start)}" if start else f"{cpu} at no size measured")
    if not parts:
        return ""
    return f"Our kernel ({op.ours}, device time only) is at least as fast as " + "; ".join(parts) + "."


def _role(view: MachineView, fam: cat.Family, role: str, title: str) -> Section:
    op = cat.OPS.get(fam.op)
    section = Section(f"{op.name if op else fam.cls_id} {title}", level=3)
    if role == "variants":
        table, sentences = t.variants(view, fam)
        section.parts += [table, *sentences]
    elif role == "block":
        table, sentences = t.block_sizes(view, fam)
        section.parts += [table, *sentences]
    elif role == "modes":
        section.parts.append(t.timing_modes(view, fam))
    elif role == "seed":
        table, sentences = t.seed_audit(view, fam)
        section.parts += [table, *sentences]
    elif role == t.E2E:
        table, crossings = t.end_to_end(view, fam)
        section.parts += [table, crossings]
    note = t.throttle_note(view, fam)
    if note:
        section.parts.append(note)
    return section


def _launches(view: MachineView) -> Section:
    section = Section("Launch costs", level=3)
    table = t.launches(view)
    if table is not None:
        section.parts.append(table)
        figure = plots.launch_costs(table.frame, view.name)
        if figure is not None:
            section.parts.append(Plot(f"launch_costs-{view.name}", figure, f"launch costs on {view.name}"))
    section.parts += [p for p in (t.seed_grids(view), t.compile_time(view)) if p is not None]
    return section


def _copies(view: MachineView) -> Section:
    section = Section("Copies", level=3)
    table = t.copies(view)
    if table is not None:
        section.parts.append(table)
        note = t.throttle_note(view, next(iter(t.role_families("copy"))))
        if note:
            section.parts.append(note)
    return section


def _probe_sections(view: MachineView, probe: dict | None) -> list[Section]:
    section = Section("Limits, indices and checks", level=3)
    for part in (t.limits(view, probe), *t.checks(view), t.index_table(probe), *t.probe_errors(probe),
                 t.probe_failures(probe), t.devices(probe), *t.probe_notes(probe)):
        if part is not None:
            section.parts.append(part)
    if probe is None:
        section.parts.append("No probe file (probes/<machine>.json) for this machine.")
    return [section]


def _clocks(view: MachineView) -> Section:
    section = Section("Clocks", level=3)
    table = t.clocks(view)
    if table is not None:
        section.parts.append(table)
    return section


def _history(sel: Selection, view: MachineView) -> list[Section]:
    section = Section(f"History: {view.name}", level=3)
    for op in cat.OPS.values():
        table = t.history(sel, view, op)
        if table is not None:
            section.parts.append(table)
    return [section] if section.parts else []

