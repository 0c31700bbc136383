"""Our suite's own report sections: the vector-add variants, block sizes, timing methods, the seed
audit, end to end, launch costs, copies, limits and probes: ``sections``, which our suite
registers (gpukernels.ours.suite); the engine's report calls it after the op sections.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from ..report.data import US, MachineView, Size, size_label
from ..report.sections import Plot, Section
from ..report.tables import (Table, crossover, l2_sentence, method_text, source, spread, throttle_note,
                             timing_text, _col)
from ..suite import DEVICE_TIME, WALL_TIME, Family
from .experiments import (BLOCK_FAMILY, COMPILE_FAMILY, END_TO_END_FAMILY, MODES, MODES_FAMILY, SEED_BLOCK,
                          SEED_FAMILY, SEED_METHODS, SEED_N, VARIANTS_FAMILY)
from .probe_tables import probe_section, tuned_choices
from .launches import ENQUEUE_FAMILY, GRIDS_FAMILY, LAUNCH_PATHS, ROUNDTRIP_FAMILY
from .transfers import COPY_FAMILY
from .reduce_sum import SUM
from .vector_add import VECTOR_ADD

E2E = "end_to_end"  # the seed audit's method that is a round trip


def variants(view: MachineView, fam: Family) -> tuple[Table, list[str]] | None:
    wide = view.wide(fam)
    if wide is None:
        return None
    gbs, derived = view.bandwidth(fam)
    op = VECTOR_ADD
    names, by_size = spread(wide.assign(_gbs=gbs.to_numpy()), "variant", "n", "_gbs")
    frame = pd.DataFrame({"variant": names, "what it does": [op.impl_notes.get(v, "-") for v in names]})
    unit = "GB/s, derived" if derived else "GB/s"
    for n, at in by_size.items():
        frame[f"n = {size_label(n)} ({unit})"] = at.to_numpy()
    sentences = []
    for n, at in by_size.items():
        at = at.dropna()
        if at.empty:
            continue
        best = at.idxmax()
        why = op.impl_notes.get(best)
        sentences.append(f"At n = {size_label(n)} the fastest variant is {best}"
                         + (f": {why}." if why else " (no description of it)."))
    caption = (f"{fam.what}. {source(view, fam)}, timing {timing_text(fam)}; bandwidth = "
               f"12 bytes per element x n / device time. {l2_sentence(view, op)}")
    return Table(frame, caption), sentences


def block_sizes(view: MachineView, fam: Family) -> tuple[Table, list[str]] | None:
    wide = view.wide(fam)
    if wide is None:
        return None
    wide = wide.assign(_us=(_col(wide, DEVICE_TIME.method) * US).to_numpy())
    sizes, by_block = spread(wide, "n", "block", "_us")
    frame = pd.DataFrame({"n (elements)": [Size(n) for n in sizes]})
    for b, at in by_block.items():
        frame[f"block {b} (us)"] = at.to_numpy()
    sentences = []
    for n, at in spread(wide, "block", "n", "_us")[1].items():
        at = at.dropna()
        if len(at) > 1:
            sentences.append(f"n = {size_label(n)}: fastest at block {at.idxmin()}, "
                             f"block {at.idxmax()} takes {at.max() / at.min():.3g}x as long.")
    return Table(frame, f"{fam.what}: device time. {source(view, fam)}, timing {timing_text(fam)}."), sentences


def timing_modes(view: MachineView, fam: Family) -> Table | None:
    wide = view.wide(fam)
    if wide is None:
        return None
    wide = wide.assign(_us=_col(wide, DEVICE_TIME.method).to_numpy() * US)
    modes, by_size = spread(wide, "mode", "n", "_us")
    frame = pd.DataFrame({"timing method": modes,
                          "what it measures": [method_text(MODES[m]) if m in MODES else "-" for m in modes]})
    for n, at in by_size.items():
        frame[f"n = {size_label(n)} (us)"] = at.to_numpy()
    return Table(frame, (f"{fam.what}: time per launch. {source(view, fam)}; every number in a row was produced "
                         "by that row's timing method (described beside it)."))


def _with_baseline(view: MachineView, fam: Family) -> tuple | None:
    """(wide frame, op, the op's host-baseline family, its wide frame or None) for a vector-add
    family, or None when this machine has no results for ``fam``."""
    wide = view.wide(fam)
    if wide is None:
        return None
    base_fam = VECTOR_ADD.baseline_family
    return wide, VECTOR_ADD, base_fam, view.wide(base_fam)


def seed_audit(view: MachineView, fam: Family) -> tuple[Table, list[str]] | None:
    found = _with_baseline(view, fam)
    if found is None:
        return None
    wide, op, base_fam, base = found
    host_impl = next(iter(op.host_impls))
    host = math.nan
    if base is not None:
        at = base[(base.impl == host_impl) & (base.n == SEED_N)]
        host = at[WALL_TIME.method].iloc[0] if len(at) else math.nan
    seconds = _col(wide, WALL_TIME.method)
    frame = pd.DataFrame({
        "method": wide.method,
        "timing": [SEED_METHODS[m].name if m in SEED_METHODS else "-" for m in wide.method],
        "what it measures": [SEED_METHODS[m].what if m in SEED_METHODS else "-" for m in wide.method],
        "time (us)": seconds * US,
        f"claimed speedup vs {host_impl} (x)": host / seconds,
    })
    caption = (f"{fam.what}: {source(view, fam)}. Claimed speedup = {host_impl} time at n = "
               f"{size_label(SEED_N)} ({source(view, base_fam) if base_fam else 'absent'}, timing "
               f"{timing_text(base_fam) if base_fam else 'wall'}) / the row's time.")
    sentences = []
    by = dict(zip(wide.method, seconds))
    if E2E in by:
        e2e_fam = END_TO_END_FAMILY
        text = (f"The seed audit's {E2E} row runs the tutorial's kernel at block {SEED_BLOCK} on "
                f"n = {size_label(SEED_N)}; the end-to-end table below runs {e2e_fam.what}")
        e2e = view.wide(e2e_fam) if e2e_fam else None
        if e2e is not None:
            at = e2e[e2e.n == SEED_N].set_index("memory")[WALL_TIME.method].dropna()
            if len(at):
                memory, table_time = at.index[0], at.iloc[0]
                ratio = by[E2E] / table_time
                text += (f" and is a separate measurement ({e2e_fam.cls_id} at {view.pick(e2e_fam).label}). "
                         f"At n = {size_label(SEED_N)} the seed's round trip takes {ratio:.3g}x the "
                         f"table's {memory} one")
                if ratio < 1:
                    text += (": the kernel is a small part of either round trip (copies dominate), so a "
                             "round trip with the slower kernel can come out faster from run-to-run "
                             "variation of host copies and allocation; it is not evidence that block "
                             f"{SEED_BLOCK} is faster")
        sentences.append(text + ".")
    return Table(frame, caption), sentences


def end_to_end(view: MachineView, fam: Family) -> tuple[Table, Table] | None:
    found = _with_baseline(view, fam)
    if found is None:
        return None
    wide, op, base_fam, base = found
    host = {} if base is None else {(r["impl"], r["n"]): r[WALL_TIME.method] for _, r in base.iterrows()}
    memories = list(dict.fromkeys(wide.memory))
    sizes = list(dict.fromkeys(wide.n))
    times = {m: wide[wide.memory == m].set_index("n")[WALL_TIME.method] for m in memories}
    frame = pd.DataFrame({"n (elements)": [Size(n) for n in sizes]})
    for m in memories:
        frame[f"{m} round trip (us)"] = [times[m].get(n, math.nan) * US for n in sizes]
    crossings = []
    for cpu in op.host_impls:
        for m in memories:
            ratio = pd.Series([host.get((cpu, n), math.nan) / times[m].get(n, math.nan) for n in sizes],
                              index=sizes)
            frame[f"{m} vs {cpu} (x)"] = ratio.to_numpy()
            start = crossover(ratio)
            crossings.append({"comparison": f"{m} round trip vs {cpu}",
                              "GPU at least as fast from n (elements)": Size(start) if start else "never"})
    caption = (f"{fam.what}. {source(view, fam)}, timing {timing_text(fam)}; speedup = host baseline time "
               f"({source(view, base_fam) if base_fam else 'absent'}) / round-trip time.")
    return Table(frame, caption), Table(pd.DataFrame(crossings), (
        "Crossover: the smallest size from which the round trip stays at least as fast as the host "
        "through the largest size measured ('never' if it does not)."))


# --- launches, copies, compile ---------------------------------------------------------------

def launches(view: MachineView) -> Table | None:
    enqueue, sync = ENQUEUE_FAMILY, ROUNDTRIP_FAMILY
    wide = view.wide(enqueue) if enqueue else None
    rt = view.wide(sync) if sync else None
    if wide is None and rt is None:
        return None
    nargs = list(dict.fromkeys([*(wide.nargs if wide is not None else []), *(rt.nargs if rt is not None else [])]))
    rows = []
    if wide is not None:
        for path in dict.fromkeys(wide.path):
            at = wide[wide.path == path].set_index("nargs")[WALL_TIME.method]
            rows.append({"launch": path, "what": LAUNCH_PATHS.get(path, "-"),
                         **{f"{a} args (us)": at.get(a, math.nan) * US for a in nargs}})
    if rt is not None:
        at = rt.set_index("nargs")[WALL_TIME.method]
        rows.append({"launch": "launch + sync", "what": sync.what,
                     **{f"{a} args (us)": at.get(a, math.nan) * US for a in nargs}})
    caption = "Host time per launch by kernel argument count. " + "; ".join(
        f"{source(view, f)}, timing {timing_text(f)}" for f in (enqueue, sync) if view.pick(f))
    return Table(pd.DataFrame(rows), caption + ".")


def seed_grids(view: MachineView) -> Table | None:
    fam = GRIDS_FAMILY
    wide = view.wide(fam)
    if wide is None:
        return None
    frame = pd.DataFrame({"grid": wide.grid, "launch + sync (us)": _col(wide, WALL_TIME.method) * US,
                          "status": wide.status})
    return Table(frame, f"{fam.what}. {source(view, fam)}, timing {timing_text(fam)}.")


def compile_time(view: MachineView) -> Table | None:
    fam = COMPILE_FAMILY
    wide = view.wide(fam)
    if wide is None:
        return None
    frame = pd.DataFrame({"what": [fam.what], "time (s)": [wide[WALL_TIME.method].iloc[0]],
                          "status": [wide.status.iloc[0]]})
    return Table(frame, f"{source(view, fam)}, timing {timing_text(fam)}.")


def copies(view: MachineView) -> Table | None:
    fam = COPY_FAMILY
    found = view.bandwidth(fam)
    if found is None:
        return None
    gbs, derived = found
    kinds, by_size = spread(view.wide(fam).assign(_gbs=gbs.to_numpy()), "kind", "nbytes", "_gbs")
    frame = pd.DataFrame({"kind": kinds})
    unit = "GB/s, derived" if derived else "GB/s"
    for b, at in by_size.items():
        frame[f"{size_label(b)} bytes ({unit})"] = at.to_numpy()
    # the gate's own rule (the family's timing method per parameter set), written on each row
    frame["host-bound sizes"] = [
        ", ".join(size_label(b) for b in by_size if fam.bound({"kind": k, "nbytes": b}) == "host") or "-"
        for k in kinds]
    return Table(frame, f"{fam.what}. {source(view, fam)}, timing {timing_text(fam)}; GB/s from the "
                        "device-time samples. Host-bound sizes (last column): the timing includes the call's host "
                        "latency (tens of us), so small copies there are latency-bound and say how long a caller "
                        "waits, not how fast the link or the memory is; the gate judges them as host-bound.")


def _gbs_by(view: MachineView, fam: Family | None, key: str) -> dict[tuple[object, int], float]:
    """GB/s of ``fam``'s parameter sets by (their ``key`` parameter, their size), NaN left out."""
    found = view.bandwidth(fam)
    if found is None:
        return {}
    wide = view.wide(fam)
    size = "nbytes" if "nbytes" in wide else "n"
    return {(k, int(n)): float(v) for k, n, v in zip(wide[key], wide[size], found[0].to_numpy()) if v == v}


def vector_add_limit(view: MachineView) -> tuple[Table, list[str]] | None:
    """Why the vector add goes no further: its GB/s beside the copy and the read-only sum of the run.

    A vector add streams two reads and one write per element; a device-to-device copy is the same
    read+write stream without arithmetic, and the sum reads only. Where the add moves as many bytes
    per second as the copy, the memory system, not the kernel, sets the pace.
    """
    add, total = VECTOR_ADD.kernel_family, SUM.kernel_family
    adds, sums, copies = _gbs_by(view, add, "impl"), _gbs_by(view, total, "impl"), _gbs_by(view, COPY_FAMILY, "kind")
    ours = {n: v for (impl, n), v in adds.items() if impl == VECTOR_ADD.ours}
    copy = {b: v for (kind, b), v in copies.items() if kind == "d2d"}
    beyond = [n for n in ours if VECTOR_ADD.bytes(n=n) > view.l2_bytes]
    if not beyond or not copy:
        return None
    n, nbytes = max(beyond), max(copy)
    rows = [(f"vector add, ours ({VECTOR_ADD.ours})", f"n = {size_label(n)}", "2 reads, 1 write", ours[n]),
            ("vector add, PyTorch", f"n = {size_label(n)}", "2 reads, 1 write", adds.get(("torch", n), math.nan)),
            (f"sum, ours ({SUM.ours})", f"n = {size_label(n)}", "1 read", sums.get((SUM.ours, n), math.nan)),
            ("sum, CuPy (cub)", f"n = {size_label(n)}", "1 read", sums.get(("cupy", n), math.nan)),
            ("copy, cudaMemcpy device to device", f"{size_label(nbytes)} bytes", "1 read, 1 write", copy[nbytes]),
            ("copy, a Numba kernel (4-byte loads)", f"{size_label(nbytes)} bytes", "1 read, 1 write",
             copies.get(("d2d_kernel", nbytes), math.nan))]
    peak = view.peak_gbs
    frame = pd.DataFrame({"what": [r[0] for r in rows], "size": [r[1] for r in rows],
                          "per element": [r[2] for r in rows], "bandwidth (GB/s)": [r[3] for r in rows],
                          "of theoretical (%)": [100 * r[3] / peak for r in rows]})
    caption = (f"The largest sizes of the run, beyond L2: {source(view, add, total, COPY_FAMILY)}. GB/s from each "
               f"benchmark's median device time (copies: bytes read + written); theoretical peak "
               f"{peak:,.0f} GB/s (machine.json).")
    torch, read = rows[1][3], rows[2][3]
    sentences = [f"Our vector add moves {ours[n]:,.0f} GB/s at n = {size_label(n)}: {ours[n] / copy[nbytes]:.1%} of "
                 f"cudaMemcpy device to device ({copy[nbytes]:,.0f} GB/s), the same read+write stream without "
                 "arithmetic" + (f", and {ours[n] / read:.1%} of reading alone (our sum)" if read == read else "") + "."]
    if ours[n] >= copy[nbytes]:
        sentences.append("The add streams at least as fast as the copy: what is left between it and reading alone is "
                         "the cost of mixing writes into the stream, which every kernel that writes pays; its "
                         "instructions are not what holds it.")
    if torch == torch:
        ratio = ours[n] / torch
        sentences.append(f"Against PyTorch's add: {ratio:.3f}x, " + (
            "a tie (within 1%, inside what this suite and nvbench agree to)." if abs(ratio - 1) < 0.01 else
            f"{'ahead' if ratio > 1 else 'behind'} by this suite's timer; the nvbench cross-check says whether an "
            "independent timer resolves the margin."))
    return Table(frame, caption), sentences


# --- sections ----------------------------------------------------------------------------------

def _family_section(view: MachineView, fam: Family, title: str, parts: list) -> list[Section]:
    if view.pick(fam) is None:
        return []
    section = Section(title, level=3, parts=[p for p in parts if p is not None])
    note = throttle_note(view, fam)
    if note:
        section.parts.append(note)
    return [section]


def experiments(view: MachineView, probe: dict | None) -> list[Section]:
    """The vector add's variants, block sizes, timing methods, seed audit and end to end."""
    out = []
    tuned = tuned_choices(probe)
    if tuned is not None:
        out.append(Section("vector_add tuned choices", level=3, parts=[tuned]))
    for fam, title, build in ((VARIANTS_FAMILY, "vector_add variants", variants),
                              (BLOCK_FAMILY, "vector_add block size", block_sizes),
                              (MODES_FAMILY, "vector_add timing modes", timing_modes),
                              (SEED_FAMILY, "vector_add seed audit", seed_audit),
                              (END_TO_END_FAMILY, "vector_add end to end", end_to_end)):
        out += _family_section(view, fam, title, _parts(build(view, fam)) if view.pick(fam) else [])
    return out


def _parts(found) -> list:
    """A builder's table, (table, sentences) or (table, table) as a flat list of parts."""
    if found is None:
        return []
    if not isinstance(found, tuple):
        return [found]
    return [p for part in found for p in (part if isinstance(part, list) else [part])]


def launch_section(view: MachineView, probe: dict | None) -> list[Section]:
    section = Section("Launch costs", level=3)
    table = launches(view)
    if table is not None:
        section.parts.append(table)
        figure = launch_costs(table.frame, view.name)
        if figure is not None:
            section.parts.append(Plot(f"launch_costs-{view.name}", figure, f"launch costs on {view.name}"))
    section.parts += [p for p in (seed_grids(view), compile_time(view)) if p is not None]
    return [section]


def limit_section(view: MachineView, probe: dict | None) -> list[Section]:
    found = vector_add_limit(view)
    return [Section("How far a vector add can go", level=3, parts=_parts(found))] if found else []


def copy_section(view: MachineView, probe: dict | None) -> list[Section]:
    table = copies(view)
    return _family_section(view, COPY_FAMILY, "Copies", [table]) if table is not None else []


def launch_costs(table: pd.DataFrame, machine: str) -> Figure | None:
    """Grouped bars: one group per argument count, one bar per launch path (the launch table)."""
    columns = [c for c in table.columns if c.endswith("(us)")]
    data = table.set_index("launch")[columns].T
    if data.dropna(how="all").empty:
        return None
    data.index = [c.removesuffix(" (us)") for c in columns]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    fig.subplots_adjust(left=0.08, right=0.78, bottom=0.13, top=0.92)
    data.plot.bar(ax=ax, logy=True, rot=0, width=0.85)
    ax.set_title(f"Host time per launch by path and argument count: {machine}")
    ax.set_xlabel("kernel arguments")
    ax.set_ylabel("time per launch (us)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def sections(view: MachineView, probe: dict | None) -> list[Section]:
    """Our sections, in the order the report shows them after the op sections."""
    return [s for fn in (experiments, limit_section, launch_section, copy_section, probe_section)
            for s in fn(view, probe)]
