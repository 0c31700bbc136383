"""Report figures (matplotlib, Agg backend: no display needed) for one run (machine x commit).

Each function returns a Figure, or None when the benchmarks it draws are absent.
Sizes span decades, so size axes are log2 and time axes log10.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from . import tables as t  # noqa: E402


def _axes(title: str, ylabel: str) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    ax.set_title(title)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n (float32 elements)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    return fig, ax


def _line(ax: plt.Axes, series: pd.Series, label: str, scale: float = 1.0, **style) -> bool:
    series = series.dropna()
    if series.empty:
        return False
    ax.plot(series.index.astype(float), series.to_numpy(dtype=float) * scale, marker="o", label=label, **style)
    return True


def _l2_line(ax: plt.Axes, run: pd.DataFrame) -> None:
    boundary = t.l2_boundary(run)
    if boundary == boundary:
        ax.axvline(boundary, color="grey", linestyle=":", label="L2 boundary (12 n bytes = L2)")


def time_vs_size(run: pd.DataFrame, machine: str) -> Figure | None:
    fig, ax = _axes(f"Vector add time vs size: {machine}", "time (us)")
    drawn = [
        _line(ax, t.device_time(run), "GPU kernel (device time)", t.US),
        _line(ax, t.values(run, t.NUMPY, "n"), "NumPy", t.US),
        _line(ax, t.values(run, t.CPU_PARALLEL, "n"), "CPU parallel", t.US),
        _line(ax, t.values(run, t.END_TO_END, "n", memory="pageable"), "end-to-end pageable", t.US),
        _line(ax, t.values(run, t.END_TO_END, "n", memory="pinned"), "end-to-end pinned", t.US),
    ]
    return _finish(fig, ax, any(drawn))


def bandwidth_vs_size(run: pd.DataFrame, machine: str) -> Figure | None:
    fig, ax = _axes(f"Vector add bandwidth vs size: {machine}", "bandwidth (GB/s)")
    drawn = _line(ax, t.values(run, t.BANDWIDTH, "n", device=0), "vector add (12 bytes / element)")
    ceiling = t.copy_ceiling(run)
    if ceiling == ceiling:
        ax.axhline(ceiling, color="C1", linestyle="--", label=f"measured D2D copy {ceiling:,.0f} GB/s")
    peak = float(t.machine_field(run, "memory_bandwidth_gbs"))
    if peak == peak:
        ax.axhline(peak, color="C3", linestyle="--", label=f"theoretical peak {peak:,.0f} GB/s")
    _l2_line(ax, run)
    return _finish(fig, ax, drawn)


def speedup_vs_size(run: pd.DataFrame, machine: str) -> Figure | None:
    table = t.speedups(run)
    if table is None:
        return None
    fig, ax = _axes(f"GPU speedup vs size: {machine}", "speedup (x)")
    drawn = [_line(ax, table[c], c.removesuffix(" (x)")) for c in table.columns if c.endswith("(x)")]
    ax.axhline(1.0, color="black", linewidth=0.8, label="break-even")
    _l2_line(ax, run)
    return _finish(fig, ax, any(drawn))


def launch_costs(run: pd.DataFrame, machine: str) -> Figure | None:
    table = t.launch_costs(run)
    if table is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    table.set_axis(table.index.astype(str)).plot.bar(ax=ax, logy=True, rot=0)
    ax.set_title(f"Launch cost by kernel argument count: {machine}")
    ax.set_xlabel("kernel arguments")
    ax.set_ylabel("time per launch (us)")
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def _finish(fig: Figure, ax: plt.Axes, drawn: bool) -> Figure | None:
    if not drawn:
        plt.close(fig)
        return None
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))  # outside: lines fill the axes
    return fig


FIGURES = {
    "time_vs_size": time_vs_size,
    "bandwidth_vs_size": bandwidth_vs_size,
    "speedup_vs_size": speedup_vs_size,
    "launch_costs": launch_costs,
}
