"""Report tables, built from the suite and one ``MachineView`` (gpukernels.report.data).

Each function returns a ``Table`` (a frame whose columns are the headers, units in parentheses,
and a caption naming the families, the commit and the timing method behind every number) or
None where its families were not run. No benchmark id is written here: ids, params, byte and
flop counts and timing methods come from the ``Suite`` the view carries, for any user's ops.

Every quantity appears in one table only: device time, GB/s and GFLOP/s per implementation in
the op tables, host baselines in their own table, ratios against the peers in the peers table.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pandas as pd

from ..metrics import COMPUTE, DEVICE_TIME, THROTTLE, WALL_TIME, TimingMethod
from ..suite import Family, Op, param_label
from .data import GIGA, OK, US, MachineView, Size, size_label

NOT_RECORDED = "not recorded"


@dataclass
class Table:
    frame: pd.DataFrame  # columns are the headers; the index is not shown
    caption: str


# --- helpers ---------------------------------------------------------------------------------

def timing_text(fam: Family) -> str:
    """'graph: what it measures' for each timing method the family uses."""
    return "; ".join(f"{m.name}: {m.what}" for m in fam.methods())


def method_text(method: TimingMethod) -> str:
    return f"{method.name} ({'host' if method.host_bound else 'device'}-bound): {method.what}"


def source(view: MachineView, *fams: Family | None) -> str:
    """'kernels.X at commit abcdef12 (date)' for each family that was run."""
    parts = []
    for fam in fams:
        pick = view.pick(fam)
        if pick is not None:
            parts.append(f"{fam.cls_id} at {pick.label}")
    return "; ".join(parts)


def impl_label(op: Op, impl: str) -> str:
    return f"{impl} (ours)" if impl == op.ours else impl


def axes_of(op: Op, row) -> dict:
    """The op's axis values of one wide row (a Series or namedtuple)."""
    get = row.get if hasattr(row, "get") else (lambda k: getattr(row, k))
    return {a: int(get(a)) for a in op.axis_names}


def axis_header(op: Op, axis: str) -> str:
    """An axis as a column header, with its unit like every numeric header: a one-axis op's size
    counts elements; an axis of several (m, n, k) is a count of rows, columns, ..."""
    return f"{axis} (elements)" if len(op.axes) == 1 else f"{axis} (count)"


def fits_l2(view: MachineView, op: Op, axes: dict) -> bool | float:
    l2 = view.l2_bytes
    return op.bytes(**axes) <= l2 if l2 == l2 else math.nan


def l2_sentence(view: MachineView, op: Op) -> str:
    l2 = view.l2_bytes
    if l2 != l2:
        return "L2 size unknown (machine.json has no l2_bytes)."
    if len(op.axes) != 1:
        return f"Problems whose bytes moved fit in L2 ({l2 / 1e6:.1f} MB) measure the cache rather than memory."
    (axis, values), = op.axes
    inside = [v for v in values if op.bytes(**{axis: v}) <= l2]
    last = f"sizes up to {axis} = {size_label(max(inside))} fit" if inside else "no size fits"
    return (f"L2 boundary: {l2 / 1e6:.1f} MB of L2 against the bytes each call moves; {last} and measure the "
            "cache rather than memory.")


def throttle_text(value: float, status: str) -> str:
    if status != OK:
        return "-"
    if value is None or value != value:
        return NOT_RECORDED
    return f"yes ({value:.0f})" if value > 0 else "no"


def _col(wide: pd.DataFrame, method: str) -> pd.Series:
    return wide[method] if method in wide else pd.Series(math.nan, index=wide.index)


def _where(row, names: tuple[str, ...]) -> str:
    return ", ".join(f"{n}={param_label(row[n])}" for n in names)


def missing_sentence(wide: pd.DataFrame, by: str, sizes: tuple[str, ...]) -> str | None:
    """'torch: skipped at every size; mine: failed at n=2^28' for parameter sets without a value."""
    bad = wide[wide.status != OK]
    if bad.empty:
        return None
    parts = []
    for key, rows in bad.groupby(by, sort=False):
        total = int((wide[by] == key).values.nonzero()[0].size)
        for status, group in rows.groupby("status", sort=False):
            where = ("every size" if len(group) == total
                     else "; ".join(_where(r, sizes) for _, r in group.iterrows()))
            parts.append(f"{key}: {status} at {where}")
    return ("Parameter sets without a value: " + "; ".join(parts) + " (skipped = asv NaN, e.g. a peer library "
            "absent or a size too large for the device; failed = asv null; invalid = not a measurement).")


def percent(part: float, whole: float) -> float:
    """100 x part / whole; NaN where the whole is unknown or zero (a simulator's peak)."""
    return 100 * part / whole if whole == whole and whole > 0 else math.nan


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


# --- per op ------------------------------------------------------------------------------------

def rates(view: MachineView, op: Op) -> tuple[pd.DataFrame, str] | None:
    """The op's headline rate per problem (rows: axes; columns: GPU implementations) and its header:
    GFLOP/s for compute-bound ops, else GB/s (stored, or derived from the median device time)."""
    fam = op.kernel_family
    wide = view.wide(fam)
    if wide is None:
        return None
    if op.compute_bound:
        value = _col(wide, COMPUTE.method) if COMPUTE.method in wide else pd.Series(
            [op.flops(**axes_of(op, r)) for _, r in wide.iterrows()], index=wide.index) / _col(
            wide, DEVICE_TIME.method) / GIGA
        header = "compute (GFLOP/s)"
    else:
        value, derived = view.bandwidth(fam)
        header = bandwidth_header(derived)
    axes = list(op.axis_names)
    table = wide.assign(_rate=value.to_numpy()).pivot_table(index=axes, columns="impl", values="_rate",
                                                           aggfunc="first", dropna=False)
    impls = [i for i in op.gpu_impls if i in table.columns] + [i for i in table.columns if i not in op.gpu_impls]
    return table.reindex(columns=impls).sort_index(), header


def bandwidth_header(derived: bool) -> str:
    return "bandwidth (GB/s, derived: bytes / median device time)" if derived else "bandwidth (GB/s)"


def op_table(view: MachineView, op: Op) -> Table | None:
    fam, base_fam = op.kernel_family, op.baseline_family
    wide = view.wide(fam)
    if wide is None:
        return None
    gbs, derived = view.bandwidth(fam)
    seconds = _col(wide, DEVICE_TIME.method)
    base = view.wide(base_fam)
    host = {} if base is None else {(r["impl"], tuple(axes_of(op, r).values())): r[WALL_TIME.method]
                                    for _, r in base.iterrows()}
    ceiling = view.ceiling.gbs if view.ceiling else math.nan
    peak = view.fp32_peak_gflops
    throttle = _col(wide, THROTTLE.method)
    order = list(op.gpu_impls)
    rows = []
    for i, r in wide.iterrows():
        if r.status == "skipped" and seconds[i] != seconds[i]:
            continue  # said once in the sentence under the table
        axes = axes_of(op, r)
        gflops = op.flops(**axes) / seconds[i] / GIGA
        row = {axis_header(op, a): Size(v) for a, v in axes.items()}
        row.update({
            "impl": impl_label(op, r.impl),
            "device time (us)": seconds[i] * US,
            bandwidth_header(derived): gbs[i],
            "compute (GFLOP/s)": gflops,
        })
        if op.compute_bound:
            row["of FP32 peak (%)"] = percent(gflops, peak)
        else:
            row["of ceiling (%)"] = percent(gbs[i], ceiling)
            row["fits in L2"] = fits_l2(view, op, axes)
        row["throttled (NVML flags)"] = throttle_text(throttle[i], r.status)
        for cpu in op.host_impls:
            row[f"speedup vs {cpu} (x)"] = host.get((cpu, tuple(axes.values())), math.nan) / seconds[i]
        row["_order"] = (*axes.values(), order.index(r.impl) if r.impl in order else len(order))
        rows.append(row)
    if not rows:
        return None
    frame = pd.DataFrame(rows).sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
    host_source = (f"{source(view, base_fam)}, timing {timing_text(base_fam)}"
                   if base_fam and view.pick(base_fam) else "not run")
    speedup = (f"Speedup = host baseline time / device time (kernel only; host: {host_source}). "
               if op.host_impls else "")
    against = ("% of the machine's FP32 peak (Machines and GPUs)" if op.compute_bound
               else "% of the machine's bandwidth ceiling (Machines and GPUs)")
    caption = (
        f"{op.name} ({op.what}). Device time: {source(view, fam)}, timing {timing_text(fam)}. "
        f"Bandwidth = bytes moved / time and GFLOP/s = flops / time (the op's declared counts), from the same "
        f"samples; {against}. {speedup}"
        f"Throttled: NVML readings with a slowdown reason or SM clock below 75% of default during the samples "
        f"(0 = no). {l2_sentence(view, op)}"
    )
    return Table(frame, caption)


def op_missing(view: MachineView, op: Op) -> str | None:
    wide = view.wide(op.kernel_family)
    return None if wide is None else missing_sentence(wide, "impl", op.axis_names)


def baselines(view: MachineView, op: Op) -> Table | None:
    """Host baselines: the median per implementation and size, its spread (host timings move with
    whatever else the host runs), and the sizes where a baseline is latency-bound."""
    fam = op.baseline_family
    wide = view.wide(fam)
    if wide is None:
        return None
    axes = list(op.axis_names)
    rows = view.rows[(view.rows._family == fam.cls_id) & (view.rows.method == WALL_TIME.method)]
    iqr = rows.assign(**{a: rows[f"p_{a}"] for a in [*axes, "impl"]},
                      _iqr=100 * (pd.to_numeric(rows.q_75, errors="coerce") - pd.to_numeric(rows.q_25, errors="coerce"))
                      / pd.to_numeric(rows["median"], errors="coerce"))
    spread_of = iqr.pivot_table(index=axes, columns="impl", values="_iqr", aggfunc="first", dropna=False)
    table = wide.pivot_table(index=axes, columns="impl", values=WALL_TIME.method, aggfunc="first", dropna=False)
    impls = [i for i in op.host_impls if i in table.columns] + [i for i in table.columns if i not in op.host_impls]
    table = table.reindex(columns=impls).sort_index() * US
    spread_of = spread_of.reindex(index=table.index, columns=impls)
    keys = table.index.to_frame(index=False)
    frame = pd.DataFrame({axis_header(op, a): [Size(v) for v in keys[a]] for a in axes})
    for impl in impls:
        frame[f"{impl} (us)"] = table[impl].to_numpy()
        frame[f"{impl} IQR (%)"] = spread_of[impl].to_numpy()
    floors = [_latency_bound(op, impl, table[impl]) for impl in impls] if len(axes) == 1 else []
    return Table(frame, f"{op.name} host baselines: {source(view, fam)}, timing {timing_text(fam)}. IQR: the middle "
                        "half of the samples, as % of the median." + "".join(f" {f}" for f in floors if f))


def _latency_bound(op: Op, impl: str, us: pd.Series) -> str | None:
    """'impl: latency-bound up to n = X ...' where the times stay within 2x of the fastest one: the
    call's fixed cost (dispatch, a thread pool waking), not the work, is what those sizes measure."""
    us = us.dropna().sort_index()
    if us.empty:
        return None
    floor = us.min()
    flat = list(itertools.takewhile(lambda k: us[k] < 2 * floor, us.index))  # from the smallest size up
    if not flat:
        return None
    upto = flat[-1]
    (axis, _), = op.axes
    return (f"{impl}: latency-bound up to {axis} = {size_label(upto)} (within 2x of its fastest, "
            f"{floor:.3g} us: the call's fixed cost, not the work).")


def _problem_label(op: Op, key) -> str:
    values = key if isinstance(key, tuple) else (key,)
    return " x ".join(size_label(v) for v in values)


def peers(view: MachineView, op: Op) -> Table | None:
    """Our best implementation against each peer library: ratio of rates per problem, and the fastest."""
    found = rates(view, op)
    present = [p for p in op.peers if found is not None and p in found[0]]
    if found is None or op.ours not in found[0] or not present:
        return None
    table, header = found
    contenders = [op.ours, *present]
    rows = []
    for key, row in table.iterrows():
        record = {axis_header(op, a): Size(v) for a, v in zip(op.axis_names, key if isinstance(key, tuple) else (key,))}
        for peer in present:
            record[f"ours vs {peer} (x)"] = row.get(op.ours, math.nan) / row.get(peer, math.nan)
        measured = {c: row.get(c, math.nan) for c in contenders if row.get(c, math.nan) == row.get(c, math.nan)}
        record["fastest"] = impl_label(op, max(measured, key=measured.get)) if len(measured) > 1 else "-"
        rows.append(record)
    fam = op.kernel_family
    return Table(pd.DataFrame(rows), (
        f"{op.name}: our best Numba kernel ({op.ours}) against {', '.join(present)}: ratio = our {header} / the "
        f"peer's at each problem size (above 1: ours is faster); fastest of them. {source(view, fam)}, "
        f"timing {timing_text(fam)}. {l2_sentence(view, op)}"))


def peer_sentences(view: MachineView, op: Op) -> list[str]:
    """The headline answer per op: does our Numba kernel keep up with the peer libraries?"""
    found = rates(view, op)
    if found is None or op.ours not in found[0]:
        return []
    table, _ = found
    l2 = view.l2_bytes

    def moved(key) -> float:
        return op.bytes(**dict(zip(op.axis_names, key if isinstance(key, tuple) else (key,))))
    beyond = pd.Series([moved(k) > l2 for k in table.index], index=table.index)
    out = []
    for peer in op.peers:
        ratio = (table[op.ours] / table[peer]) if peer in table else pd.Series(dtype=float)
        ratio = ratio.dropna()
        if ratio.empty:
            out.append(f"{op.name}: {peer} was not measured on this machine (skipped).")
            continue
        parts = []
        if op.compute_bound:  # the cache is not what limits it: one range
            groups = (("at the sizes measured", ratio),)
        elif l2 == l2:
            groups = (("beyond L2", ratio[beyond.reindex(ratio.index)]), ("in L2", ratio[~beyond.reindex(ratio.index)]))
        else:
            groups = (("at the sizes measured (L2 size unknown)", ratio),)
        for label, part in groups:
            if part.empty:
                continue
            wins = int((part > 1).values.nonzero()[0].size)
            low, high = part.min(), part.max()
            span = f"{low:.3g}x" if f"{low:.3g}" == f"{high:.3g}" else f"{low:.3g}x to {high:.3g}x"
            ordered = sorted(part.index, key=moved)  # smallest to largest problem, by bytes moved
            sizes = f"{', '.join(op.axis_names)} = {_problem_label(op, ordered[0])} to " \
                    f"{_problem_label(op, ordered[-1])}"
            parts.append(f"{label} ({sizes}) ours runs at {span} {peer}'s speed and is faster at {wins} of "
                         f"{len(part)} sizes")
        out.append(f"{op.name}, {op.ours} vs {peer}: " + "; ".join(parts) + ".")
    return out


def spread(wide: pd.DataFrame, rows: str, cols: str, value: str) -> tuple[list, dict[object, pd.Series]]:
    """``value`` laid out by two parameters: the ``rows`` keys in order of appearance, and for each
    ``cols`` key a Series over those rows (NaN where the pair was not measured)."""
    row_keys = list(dict.fromkeys(wide[rows]))
    return row_keys, {c: wide[wide[cols] == c].set_index(rows)[value].reindex(row_keys)
                      for c in dict.fromkeys(wide[cols])}


def crossover(speedup: pd.Series) -> int | None:
    """First n from which the speedup stays >= 1 through the largest n measured; None if never."""
    start = None
    for n, ratio in speedup.dropna().sort_index(ascending=False).items():
        if ratio < 1:
            break
        start = n
    return start


def throttle_note(view: MachineView, fam: Family | None) -> str | None:
    """Parameter sets of ``fam`` whose NVML readings were flagged (for pivot tables without a column)."""
    wide = view.wide(fam)
    if wide is None or THROTTLE.method not in wide:
        return None
    flagged = wide[wide[THROTTLE.method] > 0]
    if flagged.empty:
        return None
    sets = ", ".join("(" + _where(r, fam.param_names) + ")" for _, r in flagged.iterrows())
    return f"Throttled (NVML flags > 0) in {fam.cls_id}: {sets}."
