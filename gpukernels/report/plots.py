"""Report figures (matplotlib, Agg backend: no display needed), driven by the suite.

Each function returns a Figure, or None when what it draws is absent. Sizes span decades, so
size axes are log2; bandwidth axes are linear
(the large sizes near the ceiling are what matters), launch times log10.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["figure.max_open_warning"] = 0  # a report of many machines holds one figure per plot

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..suite import Op  # noqa: E402
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


def _x(op: Op, key) -> float:
    """Where a problem sits on the size axis: its one axis, or flops per call for several axes."""
    values = key if isinstance(key, tuple) else (key,)
    return float(values[0]) if len(op.axes) == 1 else float(op.flops(**dict(zip(op.axis_names, values))))


def _x_label(op: Op) -> str:
    return f"{op.axis_names[0]} (elements)" if len(op.axes) == 1 else f"flops per call ({' x '.join(op.axis_names)})"


def _l2(ax: plt.Axes, view: MachineView, op: Op) -> None:
    if len(op.axes) != 1 or view.l2_bytes != view.l2_bytes:
        return
    axis = op.axis_names[0]
    per_element = op.bytes(**{axis: 1 << 20}) / (1 << 20)
    ax.axvline(view.l2_bytes / per_element, color="grey", linestyle=":", label="L2 boundary (bytes moved = L2)")


def op_rates(view: MachineView, op: Op) -> Figure | None:
    """Speed vs size for every GPU implementation of ``op`` with the machine's ceilings (bandwidth
    ceiling, theoretical peak, BabelStream's reference; or the FP32 peak for compute-bound ops);
    beside it, our best against each peer library."""
    found = t.rates(view, op)
    if found is None or found[0].dropna(how="all").empty:
        return None
    table, header = found
    # fixed margins: constrained layout measures every tick label and was most of the report's time
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [3, 2]})
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.12, top=0.93, wspace=0.18)
    xs = [_x(op, k) for k in table.index]
    for impl in table.columns:
        series = pd.Series(table[impl].to_numpy(dtype=float), index=xs).sort_index().dropna()
        if series.empty:
            continue
        ours = impl == op.ours
        left.plot(series.index, series.to_numpy(), marker="o", linewidth=2.6 if ours else 1.3,
                  label=t.impl_label(op, impl), zorder=3 if ours else 2)
    if op.compute_bound:
        if view.fp32_peak_gflops == view.fp32_peak_gflops:
            left.axhline(view.fp32_peak_gflops, color="C3", linestyle="--",
                         label=f"FP32 peak {view.fp32_peak_gflops:,.0f} GFLOP/s")
    else:
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
    _size_axis(left, _x_label(op))
    left.set_ylabel(header)
    left.set_title(f"{op.name} speed vs size: {view.name}")
    left.legend(fontsize="x-small", loc="lower right")  # empty on a linear axis: big n sit high

    drawn = False
    if op.ours in table:
        for peer in (p for p in op.peers if p in table):
            ratio = pd.Series((table[op.ours] / table[peer]).to_numpy(dtype=float), index=xs).sort_index().dropna()
            if not ratio.empty:
                right.plot(ratio.index, ratio.to_numpy(), marker="o", label=f"vs {peer}")
                drawn = True
    right.axhline(1.0, color="black", linewidth=0.8)
    _l2(right, view, op)
    _size_axis(right, _x_label(op))
    right.set_ylabel(f"ours ({op.ours}) / peer (x)")
    right.set_title("ours vs the peer libraries (above 1: ours faster)")
    if drawn:
        right.legend(fontsize="x-small")
    else:
        right.text(0.5, 0.5, "no peer measured", transform=right.transAxes, ha="center")
    return fig
