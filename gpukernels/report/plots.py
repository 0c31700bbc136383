"""Report figures (matplotlib, Agg backend: no display needed), driven by the catalogue.

Each function returns a Figure, or None when what it draws is absent. Sizes span decades, so
size axes are log2; bandwidth axes are linear
(the large sizes near the ceiling are what matters), launch times log10.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .. import catalogue as cat  # noqa: E402
from . import tables as t  # noqa: E402
from .data import MachineView  # noqa: E402

# Published BabelStream results for its "Add" kernel in fp64 (c[i] = a[i] + b[i], 3 x 8 bytes per
# element), in GB/s, from the BabelStream paper and website (UoB-HPC, https://uob-hpc.github.io/BabelStream/):
# 2.97 TB/s on an H100 SXM, 4.15 TB/s on an H200. Key: what the machine's GPU name must contain;
# value: (the GPU the figure was published for, GB/s). Drawn only for a matching machine.
BABELSTREAM_ADD_FP64_GBS = {"H100": ("H100 SXM", 2970.0), "H200": ("H200", 4150.0)}
BABELSTREAM_SOURCE = "BabelStream Add, fp64, published (uob-hpc.github.io/BabelStream)"


def babelstream_reference(gpu: str) -> tuple[str, float] | None:
    """(GPU the figure is for, GB/s) of the published BabelStream Add figure matching this GPU name."""
    for key, reference in BABELSTREAM_ADD_FP64_GBS.items():
        if key in gpu.upper():
            return reference
    return None


def _size_axis(ax: plt.Axes, label: str) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xlabel(label)
    ax.grid(True, which="major", alpha=0.3)


def _l2(ax: plt.Axes, view: MachineView, op: cat.Op) -> None:
    limit = t.l2_limit(view, op)
    if limit == limit:
        ax.axvline(limit, color="grey", linestyle=":",
                   label=f"L2 boundary ({op.bytes_per_element} B x n = L2)")


def op_bandwidth(view: MachineView, op: cat.Op) -> Figure | None:
    """Bandwidth vs size for every GPU implementation of ``op`` with the ceiling, the theoretical
    peak and BabelStream's reference; beside it, our best against each peer library."""
    found = t.op_bandwidth(view, op)
    if found is None or found[0].dropna(how="all").empty:
        return None
    table, derived = found
    # fixed margins: constrained layout measures every tick label and was most of the report's time
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [3, 2]})
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.12, top=0.93, wspace=0.18)
    for impl in table.columns:
        series = table[impl].dropna()
        if series.empty:
            continue
        ours = impl == op.ours
        left.plot(series.index.astype(float), series.to_numpy(dtype=float), marker="o",
                  linewidth=2.6 if ours else 1.3, label=t.impl_label(op, impl), zorder=3 if ours else 2)
    ceiling = view.ceiling
    if ceiling is not None:
        left.axhline(ceiling.gbs, color="black", linestyle="--",
                     label=f"ceiling {ceiling.gbs:,.0f} GB/s ({ceiling.source})")
    if view.peak_gbs == view.peak_gbs:
        left.axhline(view.peak_gbs, color="C3", linestyle="--", label=f"theoretical peak {view.peak_gbs:,.0f} GB/s")
    reference = babelstream_reference(view.gpu)
    if reference is not None:
        model, gbs = reference
        left.axhline(gbs, color="C4", linestyle="-.", label=f"{BABELSTREAM_SOURCE}, {model}: {gbs:,.0f} GB/s")
    _l2(left, view, op)
    left.set_ylim(bottom=0)  # linear: the large sizes, where the ceiling lines are, are what matters
    _size_axis(left, "n (elements)")
    left.set_ylabel(t.bandwidth_header(derived))
    left.set_title(f"{op.name} bandwidth vs size: {view.name}")
    left.legend(fontsize="x-small", loc="lower right")  # empty on a linear axis: big n sit high

    drawn = False
    if op.ours in table:
        for peer in (p for p in cat.PEERS if p in table):
            ratio = (table[op.ours] / table[peer]).dropna()
            if not ratio.empty:
                right.plot(ratio.index.astype(float), ratio.to_numpy(dtype=float), marker="o", label=f"vs {peer}")
                drawn = True
    right.axhline(1.0, color="black", linewidth=0.8)
    _l2(right, view, op)
    _size_axis(right, "n (elements)")
    right.set_ylabel(f"ours ({op.ours}) GB/s / peer GB/s (x)")
    right.set_title("ours vs CuPy and PyTorch (above 1: ours faster)")
    if drawn:
        right.legend(fontsize="x-small")
    else:
        right.text(0.5, 0.5, "no peer measured", transform=right.transAxes, ha="center")
    return fig


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
