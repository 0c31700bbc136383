"""Our device times beside NVIDIA nvbench's for the same launches, in one process.

nvbench (``cuda.bench``, optional extra ``[crosscheck]``) times a launcher in two ways: *cold*
(``nv/cold/time/gpu/mean``, its "GPU Time": one launch per sample, L2 flushed before each, a
blocking kernel holding the stream while the launch is enqueued) and *batch*
(``nv/batch/time/gpu/mean``, "Batch GPU": many launches back to back, L2 warm). Our counterparts
are ``timing.device_time`` graph replay (``graph``) and graph replay of one launch after an L2
flush (``graph_cold``). Both tools time the same prepared problem (``op.make_gpu``), launched on
nvbench's stream through ``numba.cuda.external_stream``, so a disagreement is the timing method's.

nvbench runs every registered benchmark once per process (``run_all_benchmarks`` refuses a second
call), so ``crosscheck`` registers all its cases and runs them together. Nothing else in the
engine imports this module.
"""
from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from numba import cuda

from . import devices, timing
from .problems import PeerMissing
from .suite import Suite, param_label

COLD_TAG = "nv/cold/time/gpu/mean"
BATCH_TAG = "nv/batch/time/gpu/mean"
# Bounds each state to about a second: 1% noise (default 0.5%) after 0.2 s (default 0.5 s), or 2 s
# at most (default 15 s); batch measurements aim at 0.2 s of GPU time (default 0.5 s).
NVBENCH_ARGS: tuple[str, ...] = ("--min-samples", "10", "--max-noise", "1", "--min-time", "0.2",
                                 "--timeout", "2", "--batch-target-time", "0.2")


class NvbenchMissing(RuntimeError):
    """cuda.bench (nvbench's Python API) is not importable here."""


def load_nvbench() -> Any:
    """The ``cuda.bench`` module, or NvbenchMissing saying how to get it."""
    try:
        import cuda.bench as bench
    except ImportError as exc:
        raise NvbenchMissing("cuda.bench is not installed (pip install 'gpukernels[crosscheck]', "
                             f"cuda-bench >= 0.3): {exc}") from None
    return bench


@dataclass(frozen=True)
class Case:
    """One implementation of one op at one set of axes."""

    op: str
    impl: str
    axes: tuple[tuple[str, int], ...]

    @property
    def name(self) -> str:
        """The nvbench benchmark name (unique per case)."""
        return f"{self.op}/{self.impl}/" + ",".join(f"{k}={v}" for k, v in self.axes)


def cases(suite: Suite, ops: Sequence[str], sizes: Sequence[int | Mapping[str, int]],
          impls: Mapping[str, Sequence[str]]) -> list[Case]:
    """Every (op, implementation, size): an int size is ``n`` of a one-axis op."""
    out = []
    for name in ops:
        op = suite.ops[name]
        for size in sizes:
            axes = {op.axis_names[0]: size} if isinstance(size, int) else dict(size)
            for impl in impls.get(name, tuple(op.gpu_impls)):
                out.append(Case(name, impl, tuple(axes.items())))
    return out


def summaries(document: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """nvbench JSON output -> {benchmark name: {summary tag: value}} (first state, numbers only)."""
    out: dict[str, dict[str, float]] = {}
    for bench in document.get("benchmarks", []):
        states = [s for s in bench.get("states", []) if not s.get("is_skipped")]
        found: dict[str, float] = {}
        for summary in (states[0].get("summaries") or []) if states else []:
            for item in summary.get("data", []):
                if item.get("name") == "value" and item.get("type") in ("float64", "int64"):
                    found[summary["tag"]] = float(item["value"])
        out[bench["name"]] = found
    return out


def _pct(ours: float, theirs: float) -> float:
    return 100 * (ours / theirs - 1) if theirs > 0 and math.isfinite(ours) else math.nan


def row(case: Case, nvbench: Mapping[str, float], ours_graph_s: float, ours_cold_s: float) -> dict:
    """One result row: nvbench's times, ours, ``ratio`` = our graph / nvbench batch and
    ``cold_ratio`` = our graph_cold / nvbench cold, with the differences in percent."""
    batch, cold = nvbench.get(BATCH_TAG, math.nan), nvbench.get(COLD_TAG, math.nan)
    return {"op": case.op, "impl": case.impl, "axes": {k: param_label(v) for k, v in case.axes},
            "nvbench_cold_s": cold, "nvbench_batch_s": batch, "ours_graph_s": ours_graph_s,
            "ours_cold_s": ours_cold_s, "ratio": ours_graph_s / batch if batch > 0 else math.nan,
            "cold_ratio": ours_cold_s / cold if cold > 0 else math.nan,
            "graph_vs_batch_pct": _pct(ours_graph_s, batch), "cold_vs_cold_pct": _pct(ours_cold_s, cold)}


def crosscheck(suite: Suite, ops: Sequence[str], sizes: Sequence[int | Mapping[str, int]],
               impls: Mapping[str, Sequence[str]], *, samples: int = 30,
               args: Sequence[str] = NVBENCH_ARGS) -> list[dict]:
    """Time each case with nvbench and with ours (graph replay of ``samples`` samples; graph_cold:
    one launch per sample after an L2 flush; batches instead for an implementation that cannot be
    captured, as the suite does); one ``row`` per case, in order.

    A case whose implementation cannot run here (a missing peer) is left out. ``args`` are nvbench
    command-line options; the JSON output and the current device are added.
    """
    bench = load_nvbench()
    ours: dict[str, tuple[float, float]] = {}
    todo = cases(suite, ops, sizes, impls)
    for case in todo:
        bench.register(_benchmark(suite, case, samples, ours)).set_name(case.name)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "nvbench.json"
        device = str(devices.current_index())
        bench.run_all_benchmarks(["gpukernels-crosscheck", *args, "--devices", device, "--json", str(out)])
        found = summaries(json.loads(out.read_text()))
    return [row(c, found.get(c.name, {}), *ours[c.name]) for c in todo if c.name in ours]


def _benchmark(suite: Suite, case: Case, samples: int, ours: dict[str, tuple[float, float]]):
    """nvbench's benchmark function for ``case``: prepare and check the problem, take our two
    timings on it (same arrays, same moment), then hand nvbench a launcher on nvbench's stream."""

    def run(state: Any) -> None:
        op = suite.ops[case.op]
        axes = dict(case.axes)
        try:
            work = op.make_gpu(case.impl, **axes)
        except PeerMissing as exc:
            state.skip(str(exc))
            return
        work.check()
        launches = timing.policy().launches_for(op.elements(**axes))
        mode = "graph" if getattr(work, "graph_capture", True) else "batch"  # as the suite times it
        graph = timing.device_time(work.launch, mode, samples=samples, launches=launches)
        cold = timing.device_time(work.launch, mode, samples=samples, launches=1, cold=True)
        ours[case.name] = (graph.median_s, cold.median_s)
        streams: dict[int, Any] = {}  # one numba wrapper per nvbench stream, not one per launch

        def launcher(launch: Any) -> None:
            handle = launch.get_stream().addressof()
            if handle not in streams:
                streams[handle] = cuda.external_stream(handle)
            work.launch(streams[handle])

        state.add_global_memory_reads(int(op.bytes(**axes)), column_name="bytes")
        state.exec(launcher)

    run.__name__ = case.name
    return run
