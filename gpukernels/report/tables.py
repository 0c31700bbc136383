"""Report tables: pandas frames computed from the tidy results frame (gpukernels.results).

``run`` below means the rows of one machine at one commit. Every table carries its unit in
its column headers (us, GB/s, x, %); a function returns None when its benchmarks are absent
from the run, so a section can say so instead of failing. Sizes ``n`` are element counts.
"""
from __future__ import annotations

import math

import pandas as pd

US = 1e6  # seconds -> microseconds
VECTOR_ADD_BYTES = 12  # f32 vector add: read a, read b, write b

DEVICE_TIME = "vector_add.VectorAdd.track_device_time"
BANDWIDTH = "vector_add.VectorAdd.track_bandwidth"
BLOCK = "vector_add.VectorAddBlock.track_device_time"
MODES = "vector_add.VectorAddModes.track_device_time"
VARIANTS = "vector_add.VectorAddVariants.track_bandwidth"
SEED_AUDIT = "vector_add.SeedAudit.track_seconds"
NUMPY = "baselines.NumpyAdd.time_add"
CPU_PARALLEL = "baselines.CpuParallelAdd.time_add"
END_TO_END = "end_to_end.EndToEnd.time_roundtrip"
LAUNCH_COST = "launches.LaunchCost.track_"
SEED_GRIDS = "launches.SeedGrids.track_launch_and_sync"
TRANSFERS = "transfers.Transfers.track_bandwidth"
LIMIT_TRACKS = {"grid": "probes.GridLimits.track_max_grid", "block": "probes.BlockLimits.track_max_block"}
PROBE_TRACKS = "probes."

SEED_N = 2**20
SEED_METHODS = {
    "seed_async_wall": "the seed's timing: wall clock around an async launch, no sync (the enqueue)",
    "synced_wall": "wall clock around launch + device sync (what a Python caller waits)",
    "graph_device": "device time per kernel from CUDA-graph replay (the kernel itself)",
    "end_to_end": "host arrays in and out: copies + kernel + copy back",
}
HEADLINE_SIZES = (2**20, 2**28)


class ReportError(Exception):
    """The selection asked for (machine, commit) is not in the results."""


def size_label(n: int) -> str:
    """2^k for powers of two, the plain number otherwise."""
    n = int(n)
    return f"2^{n.bit_length() - 1}" if n > 0 and n & (n - 1) == 0 else str(n)


def select_runs(frame: pd.DataFrame, machine: str | None = None, commit: str | None = None) -> pd.DataFrame:
    """Rows of one commit per machine: the given one (full hash or prefix), else the latest by date.

    Where a commit was run in several asv environments, the first environment name is used so
    that every table has one value per parameter set.
    """
    if machine is not None:
        if machine not in set(frame.machine):
            raise ReportError(f"no results for machine {machine!r}; have {sorted(set(frame.machine))}")
        frame = frame[frame.machine == machine]
    if commit is not None:
        frame = frame[frame.commit.str.startswith(commit)]
        if frame.empty:
            raise ReportError(f"no results for commit {commit!r}")
        if frame.commit.nunique() > 1:
            raise ReportError(f"commit prefix {commit!r} is ambiguous: {sorted(set(frame.commit))}")
    chosen = frame.sort_values(["date", "commit", "env_name"], ascending=[False, True, True]).drop_duplicates("machine")
    keys = ["machine", "commit", "env_name"]
    return frame.merge(chosen[keys], on=keys)


def values(run: pd.DataFrame, benchmark: str, by: str, column: str = "median", **where) -> pd.Series:
    """One benchmark's ``column`` indexed by parameter ``by``, other parameters fixed by ``where``."""
    rows = run[run.benchmark == benchmark]
    for name, value in where.items():
        if f"p_{name}" in rows:
            rows = rows[rows[f"p_{name}"] == value]
    if rows.empty:
        return pd.Series(dtype=float, name=column)
    return rows.set_index(f"p_{by}")[column].rename_axis(by).sort_index()


def device_time(run: pd.DataFrame) -> pd.Series:
    """Vector add kernel device time (s) per n on device 0."""
    return values(run, DEVICE_TIME, "n", device=0)


def copy_ceiling(run: pd.DataFrame) -> float:
    """Measured D2D copy bandwidth (GB/s): the best of transfers kind='d2d' over sizes."""
    return values(run, TRANSFERS, "nbytes", column="value", kind="d2d").max()


def machine_field(run: pd.DataFrame, name: str) -> float | str:
    return run[name].iloc[0] if len(run) else math.nan


def l2_boundary(run: pd.DataFrame) -> float:
    """Largest n whose vector-add working set (12 n bytes) fits in L2."""
    return float(machine_field(run, "l2_bytes")) / VECTOR_ADD_BYTES


def _labelled(table: pd.DataFrame) -> pd.DataFrame:
    return table.rename(index=size_label)


def machines(selected: pd.DataFrame) -> pd.DataFrame:
    rows = {}
    for name, run in selected.groupby("machine"):
        rows[name] = {
            "GPU": machine_field(run, "gpu"),
            "GPUs": machine_field(run, "gpu_count"),
            "CC": machine_field(run, "compute_capability"),
            "driver": machine_field(run, "driver"),
            "CUDA runtime": machine_field(run, "cuda_runtime"),
            "numba-cuda": machine_field(run, "numba_cuda"),
            "L2 (MB)": float(machine_field(run, "l2_bytes")) / 1e6,
            "theoretical peak (GB/s)": float(machine_field(run, "memory_bandwidth_gbs")),
            "measured D2D copy (GB/s)": copy_ceiling(run),
            "commit": machine_field(run, "commit_short"),
            "date": machine_field(run, "date").strftime("%Y-%m-%d"),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("machine")


def seed_audit(run: pd.DataFrame) -> pd.DataFrame | None:
    seconds = values(run, SEED_AUDIT, "method")
    if seconds.empty:
        return None
    seconds = seconds.reindex([*(m for m in SEED_METHODS if m in seconds.index),
                               *(m for m in seconds.index if m not in SEED_METHODS)])
    numpy = values(run, NUMPY, "n").get(SEED_N, math.nan)
    table = pd.DataFrame({
        "what it measures": [SEED_METHODS.get(m, "") for m in seconds.index],
        "time (us)": seconds * US,
        "claimed speedup vs NumPy (x)": numpy / seconds,
    })
    table.loc["NumPy np.add"] = ["host baseline at n=2^20", numpy * US, 1.0 if numpy == numpy else math.nan]
    return table


def vector_add_sizes(run: pd.DataFrame) -> pd.DataFrame | None:
    seconds = device_time(run)
    if seconds.empty:
        return None
    bandwidth = values(run, BANDWIDTH, "n", device=0).reindex(seconds.index)
    table = pd.DataFrame({
        "device time (us)": seconds * US,
        "bandwidth (GB/s)": bandwidth,
        "of copy ceiling (%)": 100 * bandwidth / copy_ceiling(run),
        "of theoretical peak (%)": 100 * bandwidth / float(machine_field(run, "memory_bandwidth_gbs")),
        "fits in L2": [n <= l2_boundary(run) if l2_boundary(run) == l2_boundary(run) else math.nan
                       for n in seconds.index],
    })
    return _labelled(table)


def _pivot(run: pd.DataFrame, benchmark: str, index: str, columns: str, scale: float, unit: str) -> pd.DataFrame | None:
    rows = run[run.benchmark == benchmark]
    if rows.empty:
        return None
    table = rows.pivot_table(index=f"p_{index}", columns=f"p_{columns}", values="median", aggfunc="first", dropna=False) * scale
    table = table.rename_axis(index=index, columns=None)
    return table.rename(columns=lambda c: f"{columns} {c} ({unit})")


def block_effect(run: pd.DataFrame) -> pd.DataFrame | None:
    table = _pivot(run, BLOCK, "n", "block", US, "us")
    return None if table is None else _labelled(table)


def timing_modes(run: pd.DataFrame) -> pd.DataFrame | None:
    table = _pivot(run, MODES, "n", "mode", US, "us")
    return None if table is None else _labelled(table)


def variants(run: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series] | None:
    """Bandwidth per variant and size, and the best variant per size."""
    rows = run[run.benchmark == VARIANTS]
    if rows.empty:
        return None
    wide = rows.pivot_table(index="p_variant", columns="p_n", values="median", aggfunc="first", dropna=False)
    best = wide.dropna(how="all", axis=1).idxmax().rename(index=size_label).rename("best variant")
    table = wide.rename_axis(index="variant", columns=None).rename(columns=lambda n: f"n {size_label(n)} (GB/s)")
    return table, best


def speedups(run: pd.DataFrame) -> pd.DataFrame | None:
    """Times per n and speedups (baseline time / GPU time) of the kernel and of the round trip."""
    gpu = device_time(run)
    numpy = values(run, NUMPY, "n")
    cpu = values(run, CPU_PARALLEL, "n")
    if gpu.empty or (numpy.empty and cpu.empty):
        return None
    times = pd.DataFrame({
        "GPU kernel": gpu,
        "NumPy": numpy,
        "CPU parallel": cpu,
        "end-to-end pageable": values(run, END_TO_END, "n", memory="pageable"),
        "end-to-end pinned": values(run, END_TO_END, "n", memory="pinned"),
    }).sort_index()
    table = (times * US).rename(columns=lambda c: f"{c} (us)")
    for baseline in ("NumPy", "CPU parallel"):
        for gpu_time in ("GPU kernel", "end-to-end pageable", "end-to-end pinned"):
            table[f"{gpu_time} vs {baseline} (x)"] = times[baseline] / times[gpu_time]
    return table


def crossover(speedup: pd.Series) -> int | None:
    """First n from which the speedup stays >= 1 through the largest n measured; None if never."""
    start = None
    for n, ratio in speedup.dropna().sort_index(ascending=False).items():
        if ratio < 1:
            break
        start = n
    return start


def crossovers(speedup_table: pd.DataFrame) -> pd.DataFrame:
    ratios = [c for c in speedup_table.columns if c.endswith("(x)")]
    found = {c.removesuffix(" (x)"): crossover(speedup_table[c]) for c in ratios}
    return pd.DataFrame(
        {"GPU wins from n": [size_label(n) if n is not None else "never" for n in found.values()]},
        index=pd.Index(found, name="comparison"),
    )


def launch_costs(run: pd.DataFrame) -> pd.DataFrame | None:
    rows = run[run.benchmark.str.startswith(LAUNCH_COST)]
    if rows.empty:
        return None
    table = rows.pivot_table(index="p_nargs", columns="method", values="median", aggfunc="first") * US
    return table.rename_axis(index="nargs", columns=None).rename(
        columns=lambda m: f"{m.removeprefix('track_').replace('_', ' ')} (us)"
    )


def seed_grids(run: pd.DataFrame) -> pd.DataFrame | None:
    rows = run[run.benchmark == SEED_GRIDS]
    if rows.empty:
        return None
    return pd.DataFrame(
        {"launch + sync (us)": rows["median"].to_numpy() * US, "status": rows.status.to_numpy()},
        index=pd.Index(rows.p_grid, name="grid"),
    )


def limits(run: pd.DataFrame, probe: dict | None) -> pd.DataFrame | None:
    """asv-measured grid/block limits next to the documented ones from the probe JSON."""
    documented = {
        row.get("what"): row.get("documented")
        for row in _probe_data(probe, "launch_limits").get("rows", [])
        if isinstance(row, dict)
    }
    table = {}
    for kind, benchmark in LIMIT_TRACKS.items():
        for dim, measured in values(run, benchmark, "dim", column="value").items():
            what = f"{kind} {dim}"
            table[what] = {"documented": documented.get(what, math.nan), "measured": measured}
    if not table:
        return None
    return pd.DataFrame.from_dict(table, orient="index").rename_axis("limit")


def probe_tracks(run: pd.DataFrame) -> pd.DataFrame | None:
    """The remaining probes.* tracks (coverage errors, device selection) as plain rows."""
    rows = run[run.benchmark.str.startswith(PROBE_TRACKS) & ~run.benchmark.isin(LIMIT_TRACKS.values())]
    if rows.empty:
        return None
    return pd.DataFrame({
        "benchmark": rows.benchmark,
        "params": rows.params.map(lambda p: ", ".join(f"{k}={v}" for k, v in p.items())),
        "value": rows["value"],
        "unit": rows.unit,
        "status": rows.status,
    }).set_index("benchmark")


def _probe_data(probe: dict | None, name: str) -> dict:
    entry = (probe or {}).get("probes", {}).get(name, {})
    data = entry.get("data") if isinstance(entry, dict) else None
    return data if isinstance(data, dict) else {}


def probe_sections(probe: dict | None) -> list[tuple[str, str, pd.DataFrame | None]]:
    """Each probe of a probe JSON as (name, note, table): a list of dict rows becomes a table."""
    out = []
    for name, entry in ((probe or {}).get("probes") or {}).items():
        entry = entry if isinstance(entry, dict) else {"data": entry}
        data = entry.get("data")
        rows = data.get("rows") if isinstance(data, dict) else data
        facts = {k: v for k, v in data.items() if k != "rows"} if isinstance(data, dict) else {}
        note = "; ".join(
            [f"{k}: {v}" for k, v in facts.items()]
            + [f"measured: {entry.get('measured')}"] * ("measured" in entry)
            + [str(entry["note"])] * bool(entry.get("note"))
        )
        is_rows = isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows)
        out.append((str(name), note, pd.DataFrame(rows) if is_rows else None))
    return out


def side_by_side(selected: pd.DataFrame) -> pd.DataFrame | None:
    """Device time, bandwidth and bandwidth / own copy ceiling per n, one column per machine."""
    if selected.machine.nunique() < 2:
        return None
    columns = {}
    for name, run in selected.groupby("machine"):
        bandwidth = values(run, BANDWIDTH, "n", device=0)
        columns[f"{name} device time (us)"] = device_time(run) * US
        columns[f"{name} bandwidth (GB/s)"] = bandwidth
        columns[f"{name} of copy ceiling (%)"] = 100 * bandwidth / copy_ceiling(run)
    table = pd.DataFrame(columns).sort_index()
    return None if table.empty else _labelled(table.rename_axis("n"))


def history(frame: pd.DataFrame) -> pd.DataFrame | None:
    """Headline figures per commit of one machine, in commit-date order."""
    if frame.commit.nunique() < 2:
        return None
    rows = []
    for (date, commit), run in frame.groupby(["date", "commit_short"], sort=True):
        headline = run[run.benchmark.isin([DEVICE_TIME, BANDWIDTH])]
        seconds, bandwidth = device_time(run), values(run, BANDWIDTH, "n", device=0)
        rows.append({
            "date": date.strftime("%Y-%m-%d %H:%M"),
            "commit": commit,
            **{f"device time {size_label(n)} (us)": seconds.get(n, math.nan) * US for n in HEADLINE_SIZES},
            f"bandwidth {size_label(HEADLINE_SIZES[-1])} (GB/s)": bandwidth.get(HEADLINE_SIZES[-1], math.nan),
            "benchmark versions current": bool(headline.version_current.all()) if len(headline) else math.nan,
        })
    return pd.DataFrame(rows).set_index("date")


def status_counts(selected: pd.DataFrame) -> pd.DataFrame:
    """ok / failed / skipped parameter sets per machine and commit, and rows from older versions."""
    counts = selected.pivot_table(index=["machine", "commit_short"], columns="status", values="benchmark",
                                  aggfunc="count", fill_value=0)
    counts = counts.reindex(columns=["ok", "failed", "skipped"], fill_value=0)
    counts["older benchmark version"] = selected.groupby(["machine", "commit_short"]).version_current.apply(
        lambda current: int((~current).sum())
    )
    return counts.rename_axis(columns=None)


def unread(results_unread: list[tuple[str, str]]) -> pd.DataFrame | None:
    if not results_unread:
        return None
    return pd.DataFrame(results_unread, columns=["file", "reason"]).set_index("file")
