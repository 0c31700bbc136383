"""Report tables about the machines and the run rather than one op: machines and ceilings, NVML
clocks, each op's history across commits, and the bookkeeping (status counts, ids not in the
suite, files not read). Same conventions as gpukernels.report.tables.
"""
from __future__ import annotations

import itertools
import math

import pandas as pd

from ..metrics import DEVICE_TIME, SM_CLOCK, THROTTLE
from ..suite import Op
from .data import GIGA, OK, US, MachineView, Selection, run_dates, size_label, when
from .tables import NOT_RECORDED, Table, _col, _int, _number, method_text, percent, timing_text


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
