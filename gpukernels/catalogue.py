"""The suite as data: every benchmark family, its asv ids, params, units and byte counts.

One place says what the suite measures. ``benchmarks/`` generates its asv classes from it,
the report and the regression gate read units, byte counts and host/device bounds from it,
and ``docs/suite.md`` is generated from it (``python -m gpukernels.catalogue > docs/suite.md``;
a test fails when the file is stale). Pure Python: importing it touches neither numba nor CUDA.

Vocabulary
----------
- An **op** is one computation (``vector_add``: ``b += a``) with its bytes and flops per element.
  ``OPS`` lists them; each op gets two families generated below: ``kernels.<Op>`` (GPU
  implementations, device time by CUDA-graph replay) and ``baselines.<Op>`` (NumPy and
  ``@njit(parallel=True)`` on the host, synchronised wall time).
- A **family** is one asv class: params, a measurement (``measure`` names a function in
  ``gpukernels.measure``), and the metrics it stores. Every metric of a family comes from the
  same samples of one measurement (GB/s = bytes / each time sample).
- ``bound`` says what limits the number: ``device`` (GPU work) or ``host`` (Python, the driver
  call, PCIe copies through pageable memory): the gate judges them with different tolerances.

Adding a kernel: the kernel (kernels.py), its workload (workloads.py, a few lines on
``DeviceProblem`` and ``@gpu``), one ``Op`` line below, and a test. See README, "Add your own kernel".
"""
from __future__ import annotations

from dataclasses import dataclass, field

SIZES: tuple[int, ...] = tuple(2**e for e in range(10, 29, 2))  # 2^10 .. 2^28, every power of 4
UNIT_SECONDS = "seconds"
UNIT_GBS = "GB/s"

# What each timing method measures (gpukernels.timing has the how). The report prints these.
TIMING_METHODS: dict[str, str] = {
    "graph": "device time per launch from CUDA-graph replay of captured launches, hot L2: the kernel's own time",
    "graph_cold": "one captured launch replayed after a buffer twice the L2 size is written: cold L2",
    "batch": "back-to-back launches between two CUDA events, time / launches: host-bound while a kernel is "
             "shorter than one enqueue",
    "single": "one launch between two CUDA events on an idle GPU: includes the host's launch latency",
    "events": "one operation between two CUDA events (copies)",
    "wall": "wall clock around the call and a device synchronisation: what a Python caller waits",
    "async_wall": "wall clock around an asynchronous launch, no synchronisation: the enqueue, not the kernel "
                  "(the tutorial's mistake, kept to show it)",
    "enqueue": "host time per launch call, many launches, no synchronisation: the cost of the call itself; "
               "the paths of one argument count sampled in turn",
    "compile": "a fresh dispatcher's first call: type inference, NVVM, PTX to cubin, module load, one launch",
    "value": "a measured value, not a time (limits, error counts)",
}


@dataclass(frozen=True)
class Metric:
    """One asv benchmark method of a family."""

    method: str  # asv method name, e.g. "track_device_time"
    unit: str  # "seconds", "GB/s", "MHz", ...
    what: str
    derive: str = "time"  # time | bandwidth | value | clock | throttle (how it comes from the measurement)

    @property
    def asv_type(self) -> str:
        return "time" if self.unit == UNIT_SECONDS else "track"


DEVICE_TIME = Metric("track_device_time", UNIT_SECONDS, "device seconds per operation")
BANDWIDTH = Metric("track_bandwidth", UNIT_GBS, "bytes moved / device time, per sample", "bandwidth")
WALL = Metric("track_seconds", UNIT_SECONDS, "seconds per call")
# NVML around the samples of device-bound families (gpukernels.clocks); NaN where not recorded.
SM_CLOCK = Metric("track_sm_clock", "MHz", "SM clock read by NVML between samples", "clock")
THROTTLE = Metric("track_throttle", "flags", "NVML readings with a slowdown reason or SM clock below 75% "
                                             "of default (0 = clean)", "throttle")
DEVICE_METRICS = (DEVICE_TIME, BANDWIDTH, SM_CLOCK, THROTTLE)


@dataclass(frozen=True)
class Family:
    """One asv class: ``<area>.<name>.<metric.method>`` for each metric."""

    area: str  # benchmarks/<area>.py
    name: str  # asv class name
    what: str  # one sentence
    params: tuple[tuple[str, tuple], ...]  # (name, values) in asv order
    measure: str  # function name in gpukernels.measure
    timing: str  # key of TIMING_METHODS
    bound: str  # "device" | "host"
    metrics: tuple[Metric, ...]
    op: str = ""  # key of OPS where the family computes an op (bytes per element come from it)
    role: str = ""  # how the report groups it: kernel, baseline, variants, block, modes, seed, ...
    timeout: int = 600  # seconds for the family's whole measurement (asv setup_cache timeout)

    @property
    def cls_id(self) -> str:
        return f"{self.area}.{self.name}"

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(f"{self.cls_id}.{m.method}" for m in self.metrics)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.params)

    @property
    def param_values(self) -> tuple[tuple, ...]:
        return tuple(values for _, values in self.params)

    def metric(self, method: str) -> Metric:
        for m in self.metrics:
            if m.method == method:
                return m
        raise KeyError(f"{self.cls_id} has no metric {method!r}")


@dataclass(frozen=True)
class Op:
    """One computation, its cost per element, and who implements it.

    ``gpu`` names implementations timed on the device (``numba`` kernels by their variant name,
    ``cupy``, ``torch``), ``cpu`` the host baselines; each is a workload in gpukernels.workloads.
    """

    name: str  # snake_case; the family name is its CamelCase
    what: str
    bytes_per_element: int
    flops_per_element: int
    gpu: tuple[str, ...]
    cpu: tuple[str, ...] = ("numpy", "cpu_parallel")
    best: str = ""  # the gpu implementation the report calls "ours, best" (default: the first)
    sizes: tuple[int, ...] = SIZES
    what_impl: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def family_name(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def ours(self) -> str:
        return self.best or self.gpu[0]


PEERS = ("cupy", "torch")  # libraries a user would pick instead; optional extra [peers]

OPS: dict[str, Op] = {op.name: op for op in (
    Op("vector_add", "b += a, float32 (the tutorial's kernel)", 12, 1, ("seed", "pairs", "quads", "tuned", *PEERS),
       best="tuned",
       what_impl={"seed": "one thread per element, block 256 (the tutorial's kernel)",
                  "pairs": "two float32 per 8-byte load and store (LDG.E.64), block 512; any n and offset",
                  "quads": "four float32 per thread in one 16-byte load and store (LDG.E.128), block 256; "
                           "any n and offset",
                  "tuned": "quads or pairs, whichever ran faster on this GPU at this size when prepared"}),
    Op("saxpy", "y = a*x + y, float32, a = 2", 12, 2, ("numba", *PEERS)),
    Op("sum", "s = sum(x), float32 in, per-block partials in float64, two passes", 4, 1, ("numba", *PEERS)),
)}


def _op_families(op: Op) -> tuple[Family, Family]:
    sizes = ("n", op.sizes)
    return (
        Family("kernels", op.family_name, f"{op.what}: GPU implementations, device time",
               (("impl", op.gpu), sizes), "op_device", "graph", "device", DEVICE_METRICS, op=op.name, role="kernel"),
        Family("baselines", op.family_name, f"{op.what}: host baselines (NumPy, @njit(parallel=True))",
               (("impl", op.cpu), sizes), "op_host", "wall", "host", (WALL,), op=op.name, role="baseline"),
    )


VARIANTS = ("seed_256", "grid_stride", "per_thread_4", "per_thread_8", "pairs", "quads")
MODES = ("single", "batch", "graph", "graph_cold")
SEED_METHODS: dict[str, str] = {
    "seed_async_wall": "async_wall",
    "synced_wall": "wall",
    "graph_device": "graph",
    "end_to_end": "wall",
}
SEED_N, SEED_BLOCK = 2**20, 4
LAUNCH_PATHS: dict[str, str] = {
    "dispatcher": "kernel[grid, block](*args): numba's dispatcher, types resolved at each call",
    "dispatcher_eager": "the same, on a kernel compiled eagerly for a signature",
    "prepared": "gpukernels.launch.PreparedLaunch: arguments bound once, cuLaunchKernel",
    "graph_replay": "one kernel's share of a replayed CUDA graph of 100 launches (host side)",
    "cupy": "cupy.RawKernel with the same arguments",
    "torch": "a PyTorch op with that many tensor arguments (zero_ for 1, add out= for 3)",
}
NARGS = (0, 1, 3, 8)
COPY_KINDS = ("h2d_pageable", "h2d_pinned", "d2h_pageable", "d2h_pinned", "d2d", "d2d_kernel")
SEED_GRIDS = ("[2,4]", "[2**30,1]", "[2**30,2**10]")

FAMILIES: tuple[Family, ...] = (
    *(f for op in OPS.values() for f in _op_families(op)),
    Family("kernels", "VectorAddVariants", "vector add variants: the fastest b += a Numba can express",
           (("variant", VARIANTS), ("n", (2**20, 2**24, 2**28))), "variants", "graph", "device",
           DEVICE_METRICS, op="vector_add", role="variants"),
    Family("kernels", "VectorAddBlock", "the tutorial's kernel from 4 to 1024 threads per block",
           (("n", (2**20, 2**24, 2**28)), ("block", (4, 32, 128, 256, 1024))), "block", "graph", "device",
           DEVICE_METRICS, op="vector_add", role="block"),
    Family("modes", "VectorAdd", "one kernel (the tutorial's, block 256) under each timing method",
           (("n", (2**10, 2**20, 2**24, 2**28)), ("mode", MODES)), "modes", "graph", "device",
           (DEVICE_TIME,), op="vector_add", role="modes"),
    Family("seed", "SeedAudit", f"the tutorial's experiment (n = 2^20, block {SEED_BLOCK}) timed four ways",
           (("method", tuple(SEED_METHODS)),), "seed_audit", "wall", "host", (WALL,), op="vector_add", role="seed"),
    Family("end_to_end", "VectorAdd", "host a, b in, copies, kernel (pairs), host b out",
           (("memory", ("pageable", "pinned")), ("n", SIZES)), "end_to_end", "wall", "host", (WALL,),
           op="vector_add", role="end_to_end"),
    Family("launches", "Enqueue", "host seconds per launch call by launch path and kernel argument count",
           (("path", tuple(LAUNCH_PATHS)), ("nargs", NARGS)), "enqueue", "enqueue", "host", (WALL,), role="launch"),
    Family("launches", "Roundtrip", "an empty kernel launched, then the device synchronised",
           (("nargs", NARGS),), "roundtrip", "wall", "host", (WALL,), role="launch_sync"),
    Family("launches", "SeedGrids", "the tutorial's grids on the empty kernel, launch + sync",
           (("grid", SEED_GRIDS),), "seed_grids", "wall", "host", (WALL,), role="seed_grids"),
    Family("transfers", "Copy", "copies host<->device (pageable, pinned) and on the device; d2d counts "
           "bytes read + written", (("kind", COPY_KINDS), ("nbytes", (2**20, 2**24, 2**28, 2**30))),
           "copies", "events", "device", DEVICE_METRICS, role="copy"),
    Family("compile", "Compile", "JIT compile + first launch of a fresh vector-add dispatcher",
           (), "compile", "compile", "host", (WALL,), role="compile"),
    Family("probes", "GridLimits", "largest grid launched per dimension (a launch there ran, one past failed)",
           (("dim", ("x", "y", "z")),), "grid_limit", "value", "device",
           (Metric("track_max_grid", "blocks", "largest grid launched", "value"),), role="limits"),
    Family("probes", "BlockLimits", "largest block launched per dimension",
           (("dim", ("x", "y", "z")),), "block_limit", "value", "device",
           (Metric("track_max_block", "threads", "largest block launched", "value"),), role="limits"),
    Family("probes", "IndexMapping", "global ids not covered exactly once by a 1-, 2- and 3-D launch (0 is right)",
           (("launch", ("1d", "2d", "3d")),), "index_mapping", "value", "device",
           (Metric("track_coverage_errors", "errors", "ids not hit exactly once", "value"),), role="checks"),
    Family("probes", "DeviceSelection", "select_device(i) then vector add there: 1 when it matches NumPy",
           (("device", (0, 1)),), "device_selection", "value", "device",
           (Metric("track_vector_add_correct", "ok (1 = correct)", "1 when the result matches NumPy", "value"),),
           role="checks"),
    # The physical card, as a number asv can store (its UUID must stay out of machine.json, where
    # asv publish would draw one series per card): the gate says so when two runs differ in it.
    Family("probes", "Card", "the physical GPU of this run: the first 48 bits of its UUID as a number",
           (), "card", "value", "device", (Metric("track_card_id", "id", "card identity, not a speed", "value"),),
           role="card"),
)

_BY_CLASS = {f.cls_id: f for f in FAMILIES}
assert len(_BY_CLASS) == len(FAMILIES), "two families share an asv class id"


def family(cls_id: str) -> Family:
    """The family of ``area.Class`` (KeyError names what exists)."""
    try:
        return _BY_CLASS[cls_id]
    except KeyError:
        raise KeyError(f"no family {cls_id!r} in the catalogue") from None


def lookup(benchmark_id: str) -> tuple[Family, Metric] | None:
    """(family, metric) of a full asv id ``area.Class.method``; None for ids not in the catalogue."""
    cls_id, _, method = benchmark_id.rpartition(".")
    fam = _BY_CLASS.get(cls_id)
    if fam is None:
        return None
    try:
        return fam, fam.metric(method)
    except KeyError:
        return None


def bound_of(benchmark_id: str) -> str | None:
    """'device' or 'host' for an id in the catalogue, else None."""
    found = lookup(benchmark_id)
    return found[0].bound if found else None


def families(area: str | None = None, role: str | None = None) -> tuple[Family, ...]:
    return tuple(f for f in FAMILIES if (area is None or f.area == area) and (role is None or f.role == role))


def all_ids() -> tuple[str, ...]:
    return tuple(i for f in FAMILIES for i in f.ids)


def suite_markdown() -> str:
    """docs/suite.md: every id, its params, unit, bound and what it measures."""
    def fmt(values: tuple) -> str:
        return ", ".join(param_label(v) for v in values)

    lines = [
        "# The benchmark suite: ids, parameters, units",
        "",
        "Generated from `gpukernels/catalogue.py` by `python -m gpukernels.catalogue > docs/suite.md`;",
        "a test fails when this file is stale. Every id is `area.Class.method`; all metrics of a class",
        "come from one measurement (GB/s is bytes / each device-time sample).",
        "",
        "## Ops",
        "",
        "| op | what | bytes / element | flops / element | GPU implementations | host baselines |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for op in OPS.values():
        lines.append(f"| {op.name} | {op.what} | {op.bytes_per_element} | {op.flops_per_element} | "
                     f"{', '.join(op.gpu)} | {', '.join(op.cpu)} |")
    lines += ["", "## Families", "",
              "| class | params | metrics (unit) | timing | bound | what |", "| --- | --- | --- | --- | --- | --- |"]
    for f in FAMILIES:
        params = "; ".join(f"{n}: {fmt(v)}" for n, v in f.params) or "-"
        metrics = ", ".join(f"`{m.method}` ({m.unit})" for m in f.metrics)
        lines.append(f"| `{f.cls_id}` | {params} | {metrics} | {f.timing} | {f.bound} | {f.what} |")
    lines += ["", "## Timing methods", "", "| timing | what it measures |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in TIMING_METHODS.items()]
    lines += ["", "## Launch paths (launches.Enqueue)", "", "| path | what |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in LAUNCH_PATHS.items()]
    lines += ["", f"{sum(_count(f) for f in FAMILIES)} parameter sets x metrics in all.", ""]
    return "\n".join(lines)


def _count(f: Family) -> int:
    n = len(f.metrics)
    for _, values in f.params:
        n *= len(values)
    return n


def param_label(v: object) -> str:
    """A parameter value as people read it: sizes (powers of two from 1024) as 2^k, the rest as is."""
    if isinstance(v, int) and v >= 1024 and v & (v - 1) == 0:
        return f"2^{v.bit_length() - 1}"
    return str(v)


if __name__ == "__main__":
    print(suite_markdown(), end="")
