"""Report tables, built from the suite and one ``MachineView`` (gpukernels.report.data).

Each function returns a ``Table`` (a frame whose columns are the headers, units in parentheses,
and a caption naming the families, the commit and the timing method behind every number) or
None where its families were not run. No benchmark id is written here: ids, params, byte and
flop counts and timing methods come from the ``Suite`` the view carries, for any user's ops.

Every quantity appears in one table only: device time, GB/s and GFLOP/s per implementation in
the op tables, host baselines in their own table, ratios against the peers in the peers table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..suite import (BANDWIDTH, COMPUTE, DEVICE_TIME, SM_CLOCK, THROTTLE, WALL_TIME, Family, Op, TimingMethod,
                     param_label)
from .data import (  # noqa: F401  (ReportError and size_label are re-exported for the CLI and tests)
    GIGA, OK, US, MachineView, ReportError, Selection, Size, run_dates, size_label, when,
)

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
    """'torch: skipped at every size; seed: failed at n=2^28' for parameter sets without a value."""
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


# --- machines and ceilings ---------------------------------------------------------------------

def machines(sel: Selection) -> Table:
    rows = []
    for name, view in sel.machines.items():
        info = view.info
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
            "FP32 peak (GFLOP/s)": view.fp32_peak_gflops,
            "default SM clock (MHz)": _number(info.get("sm_clock_default_mhz")),
            "card (UUID prefix, hex)": _card(view),
        })
    fam = next(iter(sel.machines.values())).suite.identity_family() if sel.machines else None
    caption = ("From each machine's machine.json; theoretical peak = 2 x memory clock x bus width / 8; FP32 peak = "
               "SMs x FP32 lanes x 2 x default SM clock (absent from machines registered before it was recorded)."
               + (f" Card: {fam.cls_id} ({fam.what})." if fam else ""))
    return Table(pd.DataFrame(rows), caption)


def _card(view: MachineView) -> str:
    fam = view.suite.identity_family()
    wide = view.wide(fam)
    if wide is not None:
        value = wide[fam.metrics[0].method].iloc[0]
        if value == value:
            return f"{int(value):012x}"
    return "-"


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
            "of theoretical peak (%)": percent(found.gbs, view.peak_gbs),
            "run": found.pick.label,
        })
    if not rows:
        return None
    suite = next(iter(sel.machines.values())).suite
    streaming = [f for f in suite.families if f.streaming]
    return Table(pd.DataFrame(rows), (
        "The report's bandwidth ceiling per machine: the best bandwidth at sizes beyond L2, in the runs shown, of "
        f"every streaming family ({', '.join(f.cls_id for f in streaming)}: ours and the peers). No bandwidth "
        "beyond L2 exceeds it, by construction. Medians of asv's samples; timing: "
        + "; ".join(dict.fromkeys(method_text(m) for f in streaming for m in f.methods())) + "."))


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
    fam = op.baseline_family
    wide = view.wide(fam)
    if wide is None:
        return None
    axes = list(op.axis_names)
    table = wide.pivot_table(index=axes, columns="impl", values=WALL_TIME.method, aggfunc="first", dropna=False)
    impls = [i for i in op.host_impls if i in table.columns] + [i for i in table.columns if i not in op.host_impls]
    table = table.reindex(columns=impls).sort_index() * US
    keys = table.index.to_frame(index=False)
    frame = pd.DataFrame({axis_header(op, a): [Size(v) for v in keys[a]] for a in axes})
    for impl in impls:
        frame[f"{impl} (us)"] = table[impl].to_numpy()
    return Table(frame, f"{op.name} host baselines: {source(view, fam)}, timing {timing_text(fam)}.")


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


# --- clocks ----------------------------------------------------------------------------------

def clocks(view: MachineView) -> Table | None:
    rows = []
    for fam in view.suite.families:
        if SM_CLOCK not in fam.metrics:
            continue
        wide = view.wide(fam)
        if wide is None:
            continue
        clock = _col(wide, SM_CLOCK.method)
        flags = _col(wide, THROTTLE.method)
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
        f"NVML around the samples: {SM_CLOCK.method} ({SM_CLOCK.what}; range of the per-set medians) and "
        f"{THROTTLE.method} ({THROTTLE.what}). Flagged sets are marked in the tables above."))


# --- history ---------------------------------------------------------------------------------

def headline_problems(view: MachineView, op: Op) -> list[dict]:
    """A few problems to follow across commits: the largest in L2, the first beyond it, the largest."""
    import itertools

    problems = sorted((dict(zip(op.axis_names, c)) for c in itertools.product(*(v for _, v in op.axes))),
                      key=lambda a: op.bytes(**a))
    l2 = view.l2_bytes
    inside = [p for p in problems if l2 == l2 and op.bytes(**p) <= l2]
    beyond = [p for p in problems if l2 == l2 and op.bytes(**p) > l2]
    picked = [p for p in (inside[-1] if inside else None, beyond[0] if beyond else None, problems[-1]) if p]
    return list({tuple(p.values()): p for p in picked}.values())


def history(sel: Selection, view: MachineView, op: Op) -> Table | None:
    """Our best implementation's device time and rate at headline problems, one row per commit."""
    fam = op.kernel_family
    frame = sel.frame
    rows = frame[(frame.machine == view.name) & (frame._family == (fam.cls_id if fam else None))]
    if "p_impl" not in rows:
        return None
    rows = rows[rows.p_impl == op.ours]
    if rows.commit.nunique() < 2:
        return None
    runs = rows[["commit", "date", "env_name"]].drop_duplicates()
    runs = runs.sort_values(["date", "commit", "env_name"], kind="stable").drop_duplicates("commit")
    started = run_dates(rows)
    keys = [f"p_{a}" for a in op.axis_names]
    rate = "compute (GFLOP/s, derived: flops / median device time)" if op.compute_bound else \
        "bandwidth (GB/s, derived: bytes / median device time)"
    records = []
    for run in runs.itertuples():
        at = rows[(rows.commit == run.commit) & (rows.env_name == run.env_name)]
        ok = at[at.status == OK]
        seconds = ok[ok.method == DEVICE_TIME.method].set_index(keys)["median"]
        device = at[at.method == DEVICE_TIME.method]
        record = {"commit date": when(run.date), "commit": run.commit[:8]}
        if started is not None:
            record["run started"] = when(started.get(run.commit))
        record["benchmark version"] = ("current" if device.version_current.all() else "older") if len(device) else "-"
        for problem in headline_problems(view, op):
            key = tuple(problem.values())
            t = seconds.get(key if len(key) > 1 else key[0], math.nan)
            label = ", ".join(f"{a} = {size_label(v)}" for a, v in problem.items())
            record[f"{label} device time (us)"] = t * US
            amount = op.flops(**problem) if op.compute_bound else op.bytes(**problem)
            record[f"{label} {rate}"] = amount / t / GIGA
        records.append(record)
    dates = "commit date (asv's date) and the run's start" if started is not None else (
        "commit date (asv's date; the loader exposes no run start time)")
    return Table(pd.DataFrame(records), (
        f"{op.name}, our best kernel ({op.ours}), {fam.cls_id} per commit in commit-date order, timing "
        f"{timing_text(fam)}; each row shows the {dates}, with the time of day in UTC. Rates derived from the "
        "median device time, so runs that stored no rate metric compare too."))


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


def not_in_suite(sel: Selection) -> Table | None:
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
    suite = next(iter(sel.machines.values())).suite
    return Table(pd.DataFrame(rows), (
        f"Rows whose benchmark ids are not in the suite {suite.name!r} (an older suite, or another project's): "
        "not shown anywhere in this report."))


def unread(results_unread: list[tuple[str, str]]) -> Table | None:
    if not results_unread:
        return None
    return Table(pd.DataFrame(results_unread, columns=["file", "reason"]), "Files the loader could not read.")
