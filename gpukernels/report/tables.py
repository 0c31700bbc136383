"""Report tables, built from the catalogue and one ``MachineView`` (gpukernels.report.data).

Each function returns a ``Table`` (a frame whose columns are the headers, units in parentheses,
and a caption naming the families, the commit and the timing method behind every number) or
None where its families were not run. No benchmark id is written here: ids, params, byte and
flop counts, timing descriptions come from ``gpukernels.catalogue``.

Every quantity appears in one table only: device time and GB/s per implementation in the op
tables, host baselines in their own table, ratios against the peers in the peers table, copy
bandwidth in the copies table, launch costs in the launch table.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from .. import catalogue as cat
from .data import (  # noqa: F401  (ReportError and size_label are re-exported for the CLI and tests)
    GIGA, OK, US, MachineView, ReportError, Selection, Size, run_dates, size_label, when,
)

NOT_RECORDED = "not recorded"
E2E = "end_to_end"  # the catalogue role of the end-to-end family, also a seed-audit method


@dataclass
class Table:
    frame: pd.DataFrame  # columns are the headers; the index is not shown
    caption: str


# --- catalogue look-ups ------------------------------------------------------------------------

def op_family(op: cat.Op, role: str) -> cat.Family | None:
    """The family of ``op`` with ``role`` ('kernel', 'baseline', 'variants', ...)."""
    return next((f for f in cat.FAMILIES if f.op == op.name and f.role == role), None)


def role_families(role: str) -> tuple[cat.Family, ...]:
    return cat.families(role=role)


def role_family(role: str) -> cat.Family | None:
    """The first (for most roles, the only) family of ``role``; None if the catalogue has none."""
    return next(iter(role_families(role)), None)


def timing_text(key: str) -> str:
    return f"{key}: {cat.TIMING_METHODS.get(key, 'not described in the catalogue')}"


def source(view: MachineView, *fams: cat.Family) -> str:
    """'kernels.X at commit abcdef12 (date)' for each family that was run."""
    parts = []
    for fam in fams:
        pick = view.pick(fam)
        if pick is not None:
            parts.append(f"{fam.cls_id} at {pick.label}")
    return "; ".join(parts)


def impl_label(op: cat.Op, impl: str) -> str:
    return f"{impl} (ours)" if impl == op.ours else impl


def l2_limit(view: MachineView, op: cat.Op) -> float:
    """Largest n whose working set (bytes per element x n) fits in L2."""
    return view.l2_bytes / op.bytes_per_element


def fits_l2(view: MachineView, op: cat.Op, n: int) -> bool | float:
    limit = l2_limit(view, op)
    return n <= limit if limit == limit else math.nan


def l2_sentence(view: MachineView, op: cat.Op) -> str:
    limit = l2_limit(view, op)
    if limit != limit:
        return "L2 size unknown (machine.json has no l2_bytes)."
    inside = [n for n in op.sizes if n <= limit]
    last = f"sizes up to n = {size_label(max(inside))} fit" if inside else "no size fits"
    return (f"L2 boundary: n = {limit:,.0f} ({op.bytes_per_element} bytes per element x n = "
            f"{view.l2_bytes / 1e6:.1f} MB of L2); {last} and measure the cache rather than memory.")


def throttle_text(value: float, status: str) -> str:
    if status != OK:
        return "-"
    if value is None or value != value:
        return NOT_RECORDED
    return f"yes ({value:.0f})" if value > 0 else "no"


def _col(wide: pd.DataFrame, method: str) -> pd.Series:
    return wide[method] if method in wide else pd.Series(math.nan, index=wide.index)


def missing_sentence(wide: pd.DataFrame, by: str, size: str) -> str | None:
    """'torch: skipped at every size; seed: failed at n=2^28' for parameter sets without a value."""
    bad = wide[wide.status != OK]
    if bad.empty:
        return None
    parts = []
    for key, rows in bad.groupby(by, sort=False):
        total = int((wide[by] == key).values.nonzero()[0].size)
        for status, group in rows.groupby("status", sort=False):
            where = ("every size" if len(group) == total
                     else ", ".join(f"{size}={cat.param_label(v)}" for v in group[size]))
            parts.append(f"{key}: {status} at {where}")
    return ("Parameter sets without a value: " + "; ".join(parts) + " (skipped = asv NaN, e.g. a peer library "
            "absent or a size too large for the device; failed = asv null; invalid = not a measurement).")


# --- machines and ceilings ---------------------------------------------------------------------

def machines(sel: Selection) -> Table:
    rows = []
    for name, view in sel.machines.items():
        info = view.info
        card = _card(view)
        rows.append({
            "machine": name,
            "GPU": info.get("gpu"),
            "GPUs (count)": _int(info.get("gpu_count")),
            "compute capability": info.get("compute_capability"),
            "driver (version)": info.get("driver"),
            "CUDA runtime (version)": info.get("cuda_runtime"),
            "numba-cuda (version)": info.get("numba_cuda"),
            "L2 (MB)": view.l2_bytes / 1e6,
            "theoretical peak (GB/s)": view.peak_gbs,
            "default SM clock (MHz)": _number(info.get("sm_clock_default_mhz")),
            "card (UUID prefix, hex)": card,
        })
    fam = role_family("card")
    caption = ("From each machine's machine.json; theoretical peak = 2 x memory clock x bus width / 8."
               + (f" Card: {fam.cls_id} ({fam.what})." if fam else ""))
    return Table(pd.DataFrame(rows), caption)


def _card(view: MachineView) -> str:
    for fam in role_families("card"):
        wide = view.wide(fam)
        if wide is not None:
            value = wide[fam.metrics[0].method].iloc[0]
            if value == value:
                return f"{int(value):012x}"
    return "-"


def _number(value: object) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _int(value: object) -> int | float:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return math.nan


def ceilings(sel: Selection) -> Table | None:
    rows = []
    for name, view in sel.machines.items():
        found = view.ceiling
        if found is None:
            continue
        rows.append({
            "machine": name,
            "bandwidth ceiling (GB/s)": found.gbs,
            "measured by": found.source,
            "of theoretical peak (%)": 100 * found.gbs / view.peak_gbs,
            "run": found.pick.label,
        })
    if not rows:
        return None
    kinds = ", ".join(k for k in cat.COPY_KINDS if k.startswith("d2d"))
    return Table(pd.DataFrame(rows), (
        f"The report's bandwidth ceiling per machine: the best of the device-to-device copies ({kinds}) and "
        "every kernels.* family's bandwidth (ours and the peers) at sizes beyond L2, in the runs shown. "
        "No bandwidth beyond L2 exceeds it, by construction. Medians of asv's samples; timing: "
        + "; ".join(f"{f.cls_id} {timing_text(f.timing)}" for f in role_families("copy"))
        + "; kernels.* " + ", ".join(timing_text(k) for k in dict.fromkeys(
            f.timing for f in cat.FAMILIES if f.area == "kernels")) + "."))


# --- per op ------------------------------------------------------------------------------------

def op_bandwidth(view: MachineView, op: cat.Op) -> tuple[pd.DataFrame, bool] | None:
    """GB/s per n (rows) and GPU implementation (columns), and whether derived from device time."""
    fam = op_family(op, "kernel")
    found = view.bandwidth(fam) if fam else None
    if found is None:
        return None
    gbs, derived = found
    wide = view.wide(fam).assign(_gbs=gbs.to_numpy())
    table = wide.pivot_table(index="n", columns="impl", values="_gbs", aggfunc="first", dropna=False)
    impls = [i for i in op.gpu if i in table.columns] + [i for i in table.columns if i not in op.gpu]
    return table.reindex(columns=impls).sort_index(), derived


def bandwidth_header(derived: bool) -> str:
    return "bandwidth (GB/s, derived: bytes / median device time)" if derived else "bandwidth (GB/s)"


def op_table(view: MachineView, op: cat.Op) -> Table | None:
    fam, base_fam = op_family(op, "kernel"), op_family(op, "baseline")
    wide = view.wide(fam)
    if wide is None:
        return None
    gbs, derived = view.bandwidth(fam)
    seconds = _col(wide, cat.DEVICE_TIME.method)
    base = view.wide(base_fam)
    host = {} if base is None else {(r.impl, r.n): getattr(r, cat.WALL.method) for r in base.itertuples()}
    ceiling = view.ceiling.gbs if view.ceiling else math.nan
    throttle = _col(wide, cat.THROTTLE.method)
    rows = []
    for i, r in wide.iterrows():
        if r.status == "skipped" and seconds[i] != seconds[i]:
            continue  # said once in the sentence under the table
        row = {
            "n (elements)": Size(r.n),
            "impl": impl_label(op, r.impl),
            "device time (us)": seconds[i] * US,
            bandwidth_header(derived): gbs[i],
            "compute (GFLOP/s)": op.flops_per_element * r.n / seconds[i] / GIGA,
            "of ceiling (%)": 100 * gbs[i] / ceiling,
            "fits in L2": fits_l2(view, op, r.n),
            "throttled (NVML flags)": throttle_text(throttle[i], r.status),
        }
        for cpu in op.cpu:
            row[f"speedup vs {cpu} (x)"] = host.get((cpu, r.n), math.nan) / seconds[i]
        row["_order"] = (r.n, op.gpu.index(r.impl) if r.impl in op.gpu else len(op.gpu))
        rows.append(row)
    if not rows:
        return None
    frame = pd.DataFrame(rows).sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
    host_source = (f"{source(view, base_fam)}, timing {timing_text(base_fam.timing)}"
                   if base_fam and view.pick(base_fam) else "not run")
    caption = (
        f"{op.name} ({op.what}). Device time: {source(view, fam)}, timing {timing_text(fam.timing)}. "
        f"Bandwidth = {op.bytes_per_element} bytes per element x n / time and GFLOP/s = "
        f"{op.flops_per_element} flop per element x n / time, from the same samples; % of the machine's "
        f"ceiling (Machines and GPUs). Speedup = host baseline time / device time (kernel only; host: "
        f"{host_source}). Throttled: NVML readings with a slowdown reason or SM clock below 75% of default "
        f"during the samples (0 = no). {l2_sentence(view, op)}"
    )
    return Table(frame, caption)


def op_missing(view: MachineView, op: cat.Op) -> str | None:
    fam = op_family(op, "kernel")
    wide = view.wide(fam)
    return None if wide is None else missing_sentence(wide, "impl", "n")


def baselines(view: MachineView, op: cat.Op) -> Table | None:
    fam = op_family(op, "baseline")
    wide = view.wide(fam)
    if wide is None:
        return None
    table = wide.pivot_table(index="n", columns="impl", values=cat.WALL.method, aggfunc="first", dropna=False)
    impls = [i for i in op.cpu if i in table.columns] + [i for i in table.columns if i not in op.cpu]
    table = table.reindex(columns=impls).sort_index() * US
    frame = pd.DataFrame({"n (elements)": [Size(n) for n in table.index]})
    for impl in impls:
        frame[f"{impl} (us)"] = table[impl].to_numpy()
    return Table(frame, f"{op.name} host baselines: {source(view, fam)}, timing {timing_text(fam.timing)}.")


def peers(view: MachineView, op: cat.Op) -> Table | None:
    """Our best implementation against each peer library: ratio of GB/s per size, and the fastest."""
    found = op_bandwidth(view, op)
    present = [p for p in cat.PEERS if p in op.gpu]
    if found is None or op.ours not in found[0] or not present:
        return None
    table, _ = found
    contenders = [op.ours, *present]
    rows = []
    for n, row in table.iterrows():
        record = {"n (elements)": Size(n)}
        for peer in present:
            record[f"ours vs {peer} (x)"] = row.get(op.ours, math.nan) / row.get(peer, math.nan)
        measured = {c: row.get(c, math.nan) for c in contenders if row.get(c, math.nan) == row.get(c, math.nan)}
        record["fastest"] = impl_label(op, max(measured, key=measured.get)) if len(measured) > 1 else "-"
        rows.append(record)
    fam = op_family(op, "kernel")
    return Table(pd.DataFrame(rows), (
        f"{op.name}: our best Numba kernel ({op.ours}) against {', '.join(present)}: ratio = our GB/s / the "
        f"peer's GB/s at each size (above 1: ours is faster); fastest of the three. {source(view, fam)}, "
        f"timing {timing_text(fam.timing)}. {l2_sentence(view, op)}"))


def peer_sentences(view: MachineView, op: cat.Op) -> list[str]:
    """The headline answer per op: does our Numba kernel keep up with CuPy and PyTorch?"""
    found = op_bandwidth(view, op)
    if found is None or op.ours not in found[0]:
        return []
    table, _ = found
    limit = l2_limit(view, op)
    out = []
    for peer in (p for p in cat.PEERS if p in op.gpu):
        ratio = (table[op.ours] / table[peer]) if peer in table else pd.Series(dtype=float)
        ratio = ratio.dropna()
        if ratio.empty:
            out.append(f"{op.name}: {peer} was not measured on this machine (skipped).")
            continue
        parts = []
        groups = ((("beyond L2", ratio[ratio.index > limit]), ("in L2", ratio[ratio.index <= limit]))
                  if limit == limit else (("at the sizes measured (L2 size unknown)", ratio),))
        for label, part in groups:
            if part.empty:
                continue
            wins = int((part > 1).values.nonzero()[0].size)
            low, high = part.min(), part.max()
            span = f"{low:.3g}x" if f"{low:.3g}" == f"{high:.3g}" else f"{low:.3g}x to {high:.3g}x"
            parts.append(f"{label} (n = {size_label(part.index.min())} to {size_label(part.index.max())}) "
                         f"ours runs at {span} {peer}'s bandwidth and is faster at {wins} of {len(part)} sizes")
        out.append(f"{op.name}, {op.ours} vs {peer}: " + "; ".join(parts) + ".")
    return out


# --- vector-add specifics (by role) ----------------------------------------------------------

def spread(wide: pd.DataFrame, rows: str, cols: str, value: str) -> tuple[list, dict[object, pd.Series]]:
    """``value`` laid out by two parameters: the ``rows`` keys in order of appearance, and for each
    ``cols`` key a Series over those rows (NaN where the pair was not measured)."""
    row_keys = list(dict.fromkeys(wide[rows]))
    return row_keys, {c: wide[wide[cols] == c].set_index(rows)[value].reindex(row_keys)
                      for c in dict.fromkeys(wide[cols])}


def variants(view: MachineView, fam: cat.Family) -> tuple[Table, list[str]] | None:
    wide = view.wide(fam)
    if wide is None:
        return None
    gbs, derived = view.bandwidth(fam)
    op = cat.OPS[fam.op]
    names, by_size = spread(wide.assign(_gbs=gbs.to_numpy()), "variant", "n", "_gbs")
    frame = pd.DataFrame({"variant": names, "what it does": [op.what_impl.get(v, "-") for v in names]})
    unit = "GB/s, derived" if derived else "GB/s"
    for n, at in by_size.items():
        frame[f"n = {size_label(n)} ({unit})"] = at.to_numpy()
    sentences = []
    for n, at in by_size.items():
        at = at.dropna()
        if at.empty:
            continue
        best = at.idxmax()
        why = op.what_impl.get(best)
        sentences.append(f"At n = {size_label(n)} the fastest variant is {best}"
                         + (f": {why}." if why else " (the catalogue has no description of it)."))
    caption = (f"{fam.what}. {source(view, fam)}, timing {timing_text(fam.timing)}; bandwidth = "
               f"{op.bytes_per_element} bytes per element x n / device time. {l2_sentence(view, op)}")
    return Table(frame, caption), sentences


def block_sizes(view: MachineView, fam: cat.Family) -> tuple[Table, list[str]] | None:
    wide = view.wide(fam)
    if wide is None:
        return None
    wide = wide.assign(_us=(_col(wide, cat.DEVICE_TIME.method) * US).to_numpy())
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
    return Table(frame, f"{fam.what}: device time. {source(view, fam)}, timing {timing_text(fam.timing)}."), sentences


def timing_modes(view: MachineView, fam: cat.Family) -> Table | None:
    wide = view.wide(fam)
    if wide is None:
        return None
    wide = wide.assign(_us=_col(wide, cat.DEVICE_TIME.method).to_numpy() * US)
    modes, by_size = spread(wide, "mode", "n", "_us")
    frame = pd.DataFrame({"timing method": modes,
                          "what it measures": [cat.TIMING_METHODS.get(m, "-") for m in modes]})
    for n, at in by_size.items():
        frame[f"n = {size_label(n)} (us)"] = at.to_numpy()
    return Table(frame, (f"{fam.what}: time per launch. {source(view, fam)}; every number in a row was produced "
                         "by that row's timing method (described beside it)."))


def _with_baseline(view: MachineView, fam: cat.Family) -> tuple | None:
    """(wide frame, op, the op's host-baseline family, its wide frame or None) for a vector-add
    family, or None when this machine has no results for ``fam``."""
    wide = view.wide(fam)
    if wide is None:
        return None
    op = cat.OPS[fam.op]
    base_fam = op_family(op, "baseline")
    return wide, op, base_fam, view.wide(base_fam)


def seed_audit(view: MachineView, fam: cat.Family) -> tuple[Table, list[str]] | None:
    found = _with_baseline(view, fam)
    if found is None:
        return None
    wide, op, base_fam, base = found
    host_impl = op.cpu[0]
    host = math.nan
    if base is not None:
        at = base[(base.impl == host_impl) & (base.n == cat.SEED_N)]
        host = at[cat.WALL.method].iloc[0] if len(at) else math.nan
    seconds = _col(wide, cat.WALL.method)
    frame = pd.DataFrame({
        "method": wide.method,
        "timing": [cat.SEED_METHODS.get(m, "-") for m in wide.method],
        "what it measures": [cat.TIMING_METHODS.get(cat.SEED_METHODS.get(m, ""), "-") for m in wide.method],
        "time (us)": seconds * US,
        f"claimed speedup vs {host_impl} (x)": host / seconds,
    })
    caption = (f"{fam.what}: {source(view, fam)}. Claimed speedup = {host_impl} time at n = "
               f"{size_label(cat.SEED_N)} ({source(view, base_fam) if base_fam else 'absent'}, timing "
               f"{timing_text(base_fam.timing if base_fam else 'wall')}) / the row's time.")
    sentences = []
    by = dict(zip(wide.method, seconds))
    if E2E in by:
        e2e_fam = role_family(E2E)
        text = (f"The seed audit's {E2E} row runs the tutorial's kernel at block {cat.SEED_BLOCK} on "
                f"n = {size_label(cat.SEED_N)}; the end-to-end table below runs {e2e_fam.what}")
        e2e = view.wide(e2e_fam) if e2e_fam else None
        if e2e is not None:
            at = e2e[e2e.n == cat.SEED_N].set_index("memory")[cat.WALL.method].dropna()
            if len(at):
                memory, table_time = at.index[0], at.iloc[0]
                ratio = by[E2E] / table_time
                text += (f" and is a separate measurement ({e2e_fam.cls_id} at {view.pick(e2e_fam).label}). "
                         f"At n = {size_label(cat.SEED_N)} the seed's round trip takes {ratio:.3g}x the "
                         f"table's {memory} one")
                if ratio < 1:
                    text += (": the kernel is a small part of either round trip (copies dominate), so a "
                             "round trip with the slower kernel can come out faster from run-to-run "
                             "variation of host copies and allocation; it is not evidence that block "
                             f"{cat.SEED_BLOCK} is faster")
        sentences.append(text + ".")
    return Table(frame, caption), sentences


def end_to_end(view: MachineView, fam: cat.Family) -> tuple[Table, Table] | None:
    found = _with_baseline(view, fam)
    if found is None:
        return None
    wide, op, base_fam, base = found
    host = {} if base is None else {(r.impl, r.n): getattr(r, cat.WALL.method) for r in base.itertuples()}
    memories = list(dict.fromkeys(wide.memory))
    sizes = list(dict.fromkeys(wide.n))
    times = {m: wide[wide.memory == m].set_index("n")[cat.WALL.method] for m in memories}
    frame = pd.DataFrame({"n (elements)": [Size(n) for n in sizes]})
    for m in memories:
        frame[f"{m} round trip (us)"] = [times[m].get(n, math.nan) * US for n in sizes]
    crossings = []
    for cpu in op.cpu:
        for m in memories:
            ratio = pd.Series([host.get((cpu, n), math.nan) / times[m].get(n, math.nan) for n in sizes],
                              index=sizes)
            frame[f"{m} vs {cpu} (x)"] = ratio.to_numpy()
            start = crossover(ratio)
            crossings.append({"comparison": f"{m} round trip vs {cpu}",
                              "GPU at least as fast from n (elements)": Size(start) if start else "never"})
    caption = (f"{fam.what}. {source(view, fam)}, timing {timing_text(fam.timing)}; speedup = host baseline time "
               f"({source(view, base_fam) if base_fam else 'absent'}) / round-trip time.")
    return Table(frame, caption), Table(pd.DataFrame(crossings), (
        "Crossover: the smallest size from which the round trip stays at least as fast as the host "
        "through the largest size measured ('never' if it does not)."))


def crossover(speedup: pd.Series) -> int | None:
    """First n from which the speedup stays >= 1 through the largest n measured; None if never."""
    start = None
    for n, ratio in speedup.dropna().sort_index(ascending=False).items():
        if ratio < 1:
            break
        start = n
    return start


# --- launches, copies, compile ---------------------------------------------------------------

def launches(view: MachineView) -> Table | None:
    enqueue = role_family("launch")
    sync = role_family("launch_sync")
    wide = view.wide(enqueue) if enqueue else None
    rt = view.wide(sync) if sync else None
    if wide is None and rt is None:
        return None
    nargs = list(dict.fromkeys([*(wide.nargs if wide is not None else []), *(rt.nargs if rt is not None else [])]))
    rows = []
    if wide is not None:
        for path in dict.fromkeys(wide.path):
            at = wide[wide.path == path].set_index("nargs")[cat.WALL.method]
            rows.append({"launch": path, "what": cat.LAUNCH_PATHS.get(path, "-"),
                         **{f"{a} args (us)": at.get(a, math.nan) * US for a in nargs}})
    if rt is not None:
        at = rt.set_index("nargs")[cat.WALL.method]
        rows.append({"launch": "launch + sync", "what": sync.what,
                     **{f"{a} args (us)": at.get(a, math.nan) * US for a in nargs}})
    caption = "Host time per launch by kernel argument count. " + "; ".join(
        f"{source(view, f)}, timing {timing_text(f.timing)}" for f in (enqueue, sync) if f and view.pick(f))
    return Table(pd.DataFrame(rows), caption + ".")


def seed_grids(view: MachineView) -> Table | None:
    fam = role_family("seed_grids")
    wide = view.wide(fam)
    if wide is None:
        return None
    frame = pd.DataFrame({"grid": wide.grid, "launch + sync (us)": _col(wide, cat.WALL.method) * US,
                          "status": wide.status})
    return Table(frame, f"{fam.what}. {source(view, fam)}, timing {timing_text(fam.timing)}.")


def compile_time(view: MachineView) -> Table | None:
    fam = role_family("compile")
    wide = view.wide(fam)
    if wide is None:
        return None
    frame = pd.DataFrame({"what": [fam.what], "time (s)": [wide[cat.WALL.method].iloc[0]],
                          "status": [wide.status.iloc[0]]})
    return Table(frame, f"{source(view, fam)}, timing {timing_text(fam.timing)}.")


def copies(view: MachineView) -> Table | None:
    fam = role_family("copy")
    found = view.bandwidth(fam) if fam else None
    if found is None:
        return None
    gbs, derived = found
    kinds, by_size = spread(view.wide(fam).assign(_gbs=gbs.to_numpy()), "kind", "nbytes", "_gbs")
    frame = pd.DataFrame({"kind": kinds})
    unit = "GB/s, derived" if derived else "GB/s"
    for b, at in by_size.items():
        frame[f"{size_label(b)} bytes ({unit})"] = at.to_numpy()
    return Table(frame, f"{fam.what}. {source(view, fam)}, timing {timing_text(fam.timing)}; GB/s from the "
                        "device-time samples.")


def throttle_note(view: MachineView, fam: cat.Family) -> str | None:
    """Parameter sets of ``fam`` whose NVML readings were flagged (for pivot tables without a column)."""
    wide = view.wide(fam)
    if wide is None or cat.THROTTLE.method not in wide:
        return None
    flagged = wide[wide[cat.THROTTLE.method] > 0]
    if flagged.empty:
        return None
    sets = ", ".join("(" + ", ".join(f"{p}={cat.param_label(r[p])}" for p in fam.param_names) + ")"
                     for _, r in flagged.iterrows())
    return f"Throttled (NVML flags > 0) in {fam.cls_id}: {sets}."


# --- probes: limits, checks, probe JSON --------------------------------------------------------

# The probe JSON's entries the report shows; others (old files' launch costs, copy bandwidth, timing
# modes) are asv's to measure now and are ignored here.
PROBES_SHOWN = ("index_mapping", "launch_limits", "seed_claims", "device_selection")
INDEX_HEADERS = {"thread": "thread (global id)", "threadIdx": "threadIdx (id)", "blockIdx": "blockIdx (id)",
                 "blockDim": "blockDim (threads)", "gridDim": "gridDim (blocks)"}


def _probe_rows(probe: dict | None, name: str) -> list[dict]:
    entry = ((probe or {}).get("probes") or {}).get(name)
    data = entry.get("data") if isinstance(entry, dict) else entry
    rows = data.get("rows") if isinstance(data, dict) else data
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def limits(view: MachineView, probe: dict | None) -> Table | None:
    """Documented limits (probe JSON) against the ones asv measured, with the error strings past them."""
    documented = {r.get("what"): r for r in _probe_rows(probe, "launch_limits")}
    rows = []
    for fam in role_families("limits"):
        wide = view.wide(fam)
        kind = fam.name.removesuffix("Limits").lower()
        metric = fam.metrics[0]
        for _, r in (wide.iterrows() if wide is not None else ()):
            what = f"{kind} {r.dim}"
            doc = documented.pop(what, {})
            rows.append(_limit_row(what, metric.unit, doc, r[metric.method], fam.cls_id))
    for what, doc in documented.items():
        rows.append(_limit_row(str(what), "", doc, doc.get("measured", math.nan), "probe JSON"))
    if not rows:
        return None
    fams = [f for f in role_families("limits") if view.pick(f)]
    return Table(pd.DataFrame(rows), (
        "Documented limits from the probe JSON (probes/<machine>.json); measured = the largest "
        "launch that ran, one past it failed" + (f" ({source(view, *fams)})" if fams else "") +
        "; the errors are what the driver and gpukernels say one past the limit."))


def _limit_row(what: str, unit: str, doc: dict, measured: float, by: str) -> dict:
    return {
        "limit": f"{what} ({unit})" if unit else what,
        "documented (count)": doc.get("documented", math.nan),
        "measured (count)": measured,
        "measured by": by,
        "at the limit, the driver says": doc.get("launch_at_limit", "-"),
        "past the limit, the driver says": doc.get("launch_past_limit", "-"),
        "past the limit, gpukernels says": doc.get("our_error_past_limit", "-"),
    }


def checks(view: MachineView) -> list[Table]:
    out = []
    for fam in role_families("checks"):
        wide = view.wide(fam)
        if wide is None:
            continue
        metric = fam.metrics[0]
        frame = pd.DataFrame({name: wide[name].map(cat.param_label) for name in fam.param_names})  # labels
        legend = re.search(r"\((.*=.*)\)", metric.unit)  # "ok (1 = correct)": a legend, not a unit
        frame[f"{metric.what} ({legend.group(1) if legend else metric.unit})"] = wide[metric.method]
        frame["status"] = wide.status
        out.append(Table(frame, f"{fam.what}. {source(view, fam)}."))
    return out


def index_table(probe: dict | None) -> Table | None:
    rows = _probe_rows(probe, "index_mapping")
    if not rows:
        return None
    entry = probe["probes"]["index_mapping"]
    launch = entry.get("data", {}).get("launch", "") if isinstance(entry, dict) else ""
    frame = pd.DataFrame(rows).rename(columns=INDEX_HEADERS)
    return Table(frame, f"Thread and block indices of the tutorial's launch gpu{launch} (probe JSON).")


def tuned_choices(probe: dict | None) -> Table | None:
    """Which kernel vector add's ``tuned`` picked at each size in the probe run, and every
    candidate's time (probe JSON); None without a measured probe."""
    rows = _probe_rows(probe, "tuned_choice")
    if not rows or not probe["probes"]["tuned_choice"].get("measured"):
        return None
    frame = pd.DataFrame(rows).rename(columns={"choice": "tuned chose"})
    frame["n"] = frame["n"].map(size_label)
    return Table(frame, "The kernel `tuned` chose at each size in the probe run, with each candidate's device time "
                        "(us, graph replay, median of 10; probe JSON). Every benchmark process tunes again on its "
                        "own arrays: candidates within a percent can trade places between runs.")


def probe_errors(probe: dict | None) -> list[Table]:
    """Error strings of the probe JSON other than the limits': the seed's launches, device selection."""
    out = []
    claims = _probe_rows(probe, "seed_claims")
    if claims:
        frame = pd.DataFrame([{k: v for k, v in r.items() if isinstance(v, str)} for r in claims])
        out.append(Table(frame, "The tutorial's launches, checked by gpukernels and then by the driver (probe JSON)."))
    selection = [r for r in _probe_rows(probe, "device_selection") if r.get("error")]
    if selection:
        frame = pd.DataFrame([{"device": str(r.get("device")), "error": r.get("error")} for r in selection])
        out.append(Table(frame, "cuda.select_device errors (probe JSON)."))
    return out


def probe_failures(probe: dict | None) -> Table | None:
    """Probes that raised on the GPU machine (the probe JSON's ``failed`` list)."""
    failed = [f for f in (probe or {}).get("failed") or [] if isinstance(f, dict)]
    if not failed:
        return None
    frame = pd.DataFrame([{"probe": str(f.get("probe", "-")), "device": str(f.get("device", "-")),
                           "error": str(f.get("error", "-"))} for f in failed])
    return Table(frame, "Probes that failed on the GPU machine (probe JSON); the others still ran.")


def probe_notes(probe: dict | None) -> list[str]:
    """The notes of the probes the report shows (e.g. 'simulator: documented limits, not launched')."""
    out = []
    for name in PROBES_SHOWN:
        entry = ((probe or {}).get("probes") or {}).get(name)
        if isinstance(entry, dict) and entry.get("note"):
            out.append(f"Probe {name}: {entry['note']}")
    return out


def devices(probe: dict | None) -> Table | None:
    found = [d for d in (probe or {}).get("devices") or [] if isinstance(d, dict)]
    if not found:
        return None
    frame = pd.DataFrame([{
        "device (index)": d.get("index", i),
        "name": d.get("name", "-"),
        "compute capability": d.get("compute_capability", "-"),
        "SMs (count)": d.get("sm_count", math.nan),
        "memory (GB)": d.get("total_memory_bytes", math.nan) / 1e9,
    } for i, d in enumerate(found)])
    return Table(frame, f"GPUs the probe saw (probe JSON, created {probe.get('created', 'at an unknown time')}).")


# --- clocks ----------------------------------------------------------------------------------

def clocks(view: MachineView) -> Table | None:
    rows = []
    for fam in cat.FAMILIES:
        if cat.SM_CLOCK not in fam.metrics:
            continue
        wide = view.wide(fam)
        if wide is None:
            continue
        clock = _col(wide, cat.SM_CLOCK.method)
        flags = _col(wide, cat.THROTTLE.method)
        measured = (wide.status == OK).to_numpy()
        recorded = clock.notna()
        rows.append({
            "family": fam.cls_id,
            "run": view.pick(fam).label,
            "parameter sets (count)": len(wide),
            "SM clock min (MHz)": clock.min() if recorded.any() else NOT_RECORDED,
            "SM clock max (MHz)": clock.max() if recorded.any() else NOT_RECORDED,
            "flagged sets (count)": int((flags > 0).values.nonzero()[0].size) if flags.notna().any() else NOT_RECORDED,
            "measured sets without NVML readings (count)": int(
                (measured & ~(recorded & flags.notna()).to_numpy()).nonzero()[0].size),
        })
    if not rows:
        return None
    return Table(pd.DataFrame(rows), (
        f"NVML around the samples: {cat.SM_CLOCK.method} ({cat.SM_CLOCK.what}; range of the per-set medians) and "
        f"{cat.THROTTLE.method} ({cat.THROTTLE.what}). Flagged sets are marked in the tables above."))


# --- history ---------------------------------------------------------------------------------

def headline_sizes(view: MachineView, op: cat.Op) -> list[int]:
    """A few sizes to follow across commits: the seed's n, the first size beyond L2, the largest."""
    limit = l2_limit(view, op)
    beyond = [n for n in op.sizes if limit == limit and n > limit]
    picked = {n for n in (cat.SEED_N, beyond[0] if beyond else None, max(op.sizes)) if n in op.sizes}
    return sorted(picked)


def history(sel: Selection, view: MachineView, op: cat.Op) -> Table | None:
    """Our best implementation's device time and bandwidth at headline sizes, one row per commit."""
    fam = op_family(op, "kernel")
    frame = sel.frame
    rows = frame[(frame.machine == view.name) & (frame._family == fam.cls_id)]
    if "p_impl" not in rows:
        return None
    rows = rows[rows.p_impl == op.ours]
    if rows.commit.nunique() < 2:
        return None
    runs = rows[["commit", "date", "env_name"]].drop_duplicates()
    runs = runs.sort_values(["date", "commit", "env_name"], kind="stable").drop_duplicates("commit")
    started = run_dates(rows)
    sizes = headline_sizes(view, op)
    stored = bool((rows.method == cat.BANDWIDTH.method).any())
    derive = not stored or any(
        not (rows[(rows.commit == c) & (rows.method == cat.BANDWIDTH.method)]).size for c in runs.commit)
    header = bandwidth_header(derive)
    records = []
    for run in runs.itertuples():
        at = rows[(rows.commit == run.commit) & (rows.env_name == run.env_name)]
        ok = at[at.status == OK]
        seconds = ok[ok.method == cat.DEVICE_TIME.method].set_index("p_n")["median"]
        gbs = ok[ok.method == cat.BANDWIDTH.method].set_index("p_n")["median"]
        device = at[at.method == cat.DEVICE_TIME.method]
        record = {"commit date": when(run.date), "commit": run.commit[:8]}
        if started is not None:
            record["run started"] = when(started.get(run.commit))
        record["benchmark version"] = ("current" if device.version_current.all() else "older") if len(device) else "-"
        for n in sizes:
            t = seconds.get(n, math.nan)
            record[f"n = {size_label(n)} device time (us)"] = t * US
            value = op.bytes_per_element * n / t / GIGA if derive else gbs.get(n, math.nan)
            record[f"n = {size_label(n)} {header}"] = value
        records.append(record)
    dates = "commit date (asv's date) and the run's start" if started is not None else (
        "commit date (asv's date; the loader exposes no run start time)")
    return Table(pd.DataFrame(records), (
        f"{op.name}, our best kernel ({op.ours}), {fam.cls_id} per commit in commit-date order, timing "
        f"{timing_text(fam.timing)}; each row shows the {dates}, with the time of day in UTC."))


# --- bookkeeping ---------------------------------------------------------------------------

def status_counts(sel: Selection) -> Table:
    """ok / failed / skipped / invalid parameter sets per machine and commit among the rows shown."""
    rows = []
    for name, view in sel.machines.items():
        for commit, at in view.rows.groupby("commit_short", sort=False):
            counts = at.status.value_counts()
            record = {"machine": name, "commit": commit}
            for status in ("ok", "failed", "skipped", "invalid", *sorted(set(counts.index) - {
                    "ok", "failed", "skipped", "invalid"})):
                record[f"{status} (count)"] = int(counts.get(status, 0))
            record["older benchmark version (count)"] = int((~at.version_current.astype(bool)).values.nonzero()[0].size)
            rows.append(record)
    frame = pd.DataFrame(rows).fillna(0) if rows else pd.DataFrame(columns=["machine", "commit"])
    return Table(frame, "Parameter sets per status among the rows the report shows (failed = asv null, "
                        "skipped = asv NaN, invalid = rejected by the loader).")


def not_in_catalogue(sel: Selection) -> Table | None:
    rows = []
    for name, view in sel.machines.items():
        skipped = view.skipped
        if skipped.empty:
            continue
        for (date, commit), at in skipped.groupby(["date", "commit_short"], sort=True):
            rows.append({"machine": name, "commit": commit, "commit date": when(date),
                         "rows skipped (count)": len(at), "benchmarks (count)": at.benchmark.nunique()})
    if not rows:
        return None
    return Table(pd.DataFrame(rows), (
        "Rows whose benchmark ids are not in gpukernels.catalogue (an older suite): not shown anywhere "
        "in this report."))


def unread(results_unread: list[tuple[str, str]]) -> Table | None:
    if not results_unread:
        return None
    return Table(pd.DataFrame(results_unread, columns=["file", "reason"]), "Files the loader could not read.")
