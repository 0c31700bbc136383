"""The report's content: sections of text, tables and figures, independent of the output format."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from matplotlib.figure import Figure

from ..results import Results
from . import plots
from . import tables as t


@dataclass
class Plot:
    name: str  # file stem of the PNG
    figure: Figure


@dataclass
class Section:
    title: str
    level: int = 2
    parts: list[str | pd.DataFrame | Plot] = field(default_factory=list)


def missing(*benchmarks: str) -> str:
    return f"No results for {', '.join(benchmarks)} in this run."


def build(results: Results, selected: pd.DataFrame, machine: str | None = None) -> list[Section]:
    """All sections for the selected runs (one commit per machine) of ``results``."""
    sections = [Section("Machines and GPUs", parts=[t.machines(selected)])]
    for name, run in selected.groupby("machine"):
        sections += _run_sections(name, run, results.probes.get(name))
    side = t.side_by_side(selected)
    if side is not None:
        sections.append(Section("Machines side by side", parts=[
            "Vector add on device 0; bandwidth also as a share of each machine's own measured D2D copy ceiling.",
            side,
        ]))
    frame = results.frame if machine is None else results.frame[results.frame.machine == machine]
    for name, runs in frame.groupby("machine"):
        past = t.history(runs)
        if past is not None:
            sections.append(Section(f"History: {name}", parts=[past]))
    sections.append(Section("Files not read", parts=[
        t.unread(results.unread) if results.unread else "Every file under the results directory was read.",
        "Parameter sets per status (failed = asv null, skipped = asv NaN):",
        t.status_counts(selected),
    ]))
    return sections


def _run_sections(machine: str, run: pd.DataFrame, probe: dict | None) -> list[Section]:
    commit, date = run.commit_short.iloc[0], run.date.iloc[0].strftime("%Y-%m-%d")
    head = Section(f"{machine} at {commit} ({date})", parts=[f"asv environment: {run.env_name.iloc[0]}"])
    return [head, _seed_audit(run), _vector_add(machine, run), _speedup(machine, run),
            _launches(machine, run), *_probes(run, probe)]


def _seed_audit(run: pd.DataFrame) -> Section:
    section = Section("Seed audit: N=2^20, block 4, measured four ways", level=3)
    table = t.seed_audit(run)
    if table is None:
        section.parts.append(missing(t.SEED_AUDIT))
        return section
    section.parts.append(table)
    claims = table["claimed speedup vs NumPy (x)"]
    if {"seed_async_wall", "graph_device"} <= set(claims.index):
        section.parts.append(
            f"The tutorial's unsynchronised timing claims {claims['seed_async_wall']:.3g}x over NumPy; "
            f"the kernel's device time gives {claims['graph_device']:.3g}x"
            + (f" and the full round trip {claims['end_to_end']:.3g}x." if "end_to_end" in claims else ".")
        )
    return section


def _vector_add(machine: str, run: pd.DataFrame) -> Section:
    section = Section("Vector add per size", level=3)
    sizes = t.vector_add_sizes(run)
    if sizes is None:
        section.parts.append(missing(t.DEVICE_TIME))
    else:
        section.parts += [
            "Device time from CUDA-graph replay on device 0 (hot L2); sizes marked as fitting in L2 "
            "measure the cache rather than HBM.",
            sizes,
        ]
        figure = plots.bandwidth_vs_size(run, machine)
        if figure is not None:
            section.parts.append(Plot(f"bandwidth_vs_size-{machine}", figure))
    for title, table, benchmark in (
        ("Block size effect: device time", t.block_effect(run), t.BLOCK),
        ("Timing modes: device time of the same kernel", t.timing_modes(run), t.MODES),
    ):
        section.parts += [f"{title}:", table if table is not None else missing(benchmark)]
    found = t.variants(run)
    if found is None:
        section.parts.append(missing(t.VARIANTS))
    else:
        table, best = found
        section.parts += [
            "Variants: bandwidth",
            table,
            "Best variant: " + "; ".join(f"n={n}: {v}" for n, v in best.items()),
        ]
    return section


def _speedup(machine: str, run: pd.DataFrame) -> Section:
    section = Section("Speedup vs NumPy and CPU parallel", level=3)
    table = t.speedups(run)
    if table is None:
        section.parts.append(missing(t.DEVICE_TIME, t.NUMPY, t.CPU_PARALLEL))
        return section
    section.parts += [
        "Speedup = baseline time / GPU time. Kernel = device time only; end-to-end = host arrays in, "
        "copies, kernel, copy back.",
        table.rename(index=t.size_label),
        "Crossover: the first size from which the GPU stays at least as fast:",
        t.crossovers(table),
    ]
    for name in ("time_vs_size", "speedup_vs_size"):
        figure = plots.FIGURES[name](run, machine)
        if figure is not None:
            section.parts.append(Plot(f"{name}-{machine}", figure))
    return section


def _launches(machine: str, run: pd.DataFrame) -> Section:
    section = Section("Launch costs", level=3)
    costs = t.launch_costs(run)
    section.parts.append(costs if costs is not None else missing(t.LAUNCH_COST + "*"))
    if costs is not None:
        section.parts.append(Plot(f"launch_costs-{machine}", plots.launch_costs(run, machine)))
    grids = t.seed_grids(run)
    section.parts += ["The seed's grids, empty kernel:", grids if grids is not None else missing(t.SEED_GRIDS)]
    return section


def _probes(run: pd.DataFrame, probe: dict | None) -> list[Section]:
    section = Section("Probes: documented vs measured", level=3)
    limits = t.limits(run, probe)
    section.parts.append(limits if limits is not None else missing(*t.LIMIT_TRACKS.values()))
    tracks = t.probe_tracks(run)
    if tracks is not None:
        section.parts.append(tracks)
    if probe is None:
        section.parts.append("No probe file (results/probes/<machine>.json) for this machine.")
        return [section]
    section.parts.append(f"Probe file created {probe.get('created', 'at an unknown time')}.")
    subsections = []
    for name, note, table in t.probe_sections(probe):
        parts = [p for p in (note, table) if p is not None and len(p)]
        subsections.append(Section(f"Probe: {name}", level=4, parts=parts or ["(no data)"]))
    return [section, *subsections]
