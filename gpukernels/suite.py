"""The engine's vocabulary: a ``Suite`` of ops and families, declared by whoever owns the kernels.

A user's package builds a ``Suite`` and hands it to gpukernels: asv classes
(``gpukernels.asv_classes``), the report, the gate and the same-session A/B all read the suite
object they are given. Nothing here names an op of ours; pure Python (no numba, no CUDA).

- An **op** (``Op``) is one computation with named **axes** (``n``; or ``m, n, k``), its bytes
  and flops as functions of the axes, and its implementations: GPU ones (a factory called with
  the axes that returns a prepared workload: ``launch(stream)``, ``check()``) and host baselines
  (``run()``, ``check()``). ``suite.add_op(op)`` gives it two families: ``kernels.<Op>`` (device
  time by CUDA-graph replay) and ``baselines.<Op>`` (synchronised wall time).
- A **family** (``Family``) is one asv class: params, a ``measure`` function (called once per
  parameter set, in one process), a timing method, and metrics derived from that one measurement.
- A **timing method** (``TimingMethod``) says how a number was taken and whether the host's time
  is inside it: that decides whether the gate judges a row as device- or host-bound.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from .metrics import (  # noqa: F401  (the vocabulary a suite is declared in, importable from here too)
    UNIT_SECONDS, UNIT_GBS, UNIT_GFLOPS, TimingMethod, GRAPH, GRAPH_COLD, BATCH, SINGLE, EVENTS, WALL,
    ASYNC_WALL, ENQUEUE, COMPILE, VALUE, TIMING_METHODS, Metric, DEVICE_TIME, BANDWIDTH, COMPUTE, WALL_TIME,
    SM_CLOCK, THROTTLE, DEVICE_METRICS, COMPUTE_METRICS, value_metric,
)

Params = tuple[tuple[str, tuple], ...]


@dataclass(frozen=True, eq=False)
class Family:
    """One asv class ``<area>.<name>``: one measurement per parameter set, every metric from it.

    ``measure(ctx, **params)`` returns a ``gpukernels.measure.Measured``; ``timing`` is the method
    behind its numbers, or a function of the parameters where a parameter chooses the method.
    ``moved(**params)`` gives the bytes one parameter set moves where that is known (the report
    derives GB/s from it when no bandwidth metric was stored); ``streaming``: its bandwidth beyond
    L2 counts towards the machine's ceiling. ``identity``: its value names the physical card.
    """

    area: str  # benchmarks/<area>.py
    name: str  # asv class name
    what: str  # one sentence
    params: Params  # (name, values) in asv order
    measure: Callable[..., Any]
    timing: TimingMethod | Callable[..., TimingMethod]
    metrics: tuple[Metric, ...]
    op: "Op | None" = None
    moved: Callable[..., float] | None = None
    streaming: bool = False
    identity: bool = False
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

    def timing_for(self, params: Mapping[str, Any]) -> TimingMethod:
        """The timing method of one parameter set."""
        return self.timing if isinstance(self.timing, TimingMethod) else self.timing(**params)

    def methods(self) -> tuple[TimingMethod, ...]:
        """Every timing method the family's parameter sets use, in order of first use."""
        if isinstance(self.timing, TimingMethod):
            return (self.timing,)
        import itertools

        found = (self.timing(**dict(zip(self.param_names, c))) for c in itertools.product(*self.param_values))
        return tuple(dict.fromkeys(found))

    def bound(self, params: Mapping[str, Any]) -> str:
        """'host' where the parameter set's timing method includes host time, else 'device'."""
        return "host" if self.timing_for(params).host_bound else "device"

    def bytes_moved(self, params: Mapping[str, Any]) -> float:
        if self.moved is None:
            return math.nan
        try:
            return float(self.moved(**params))
        except (TypeError, ValueError, KeyError):
            return math.nan

    def __repr__(self) -> str:
        # the asv version hashes this: the declaration, not object addresses
        timing = (self.timing.name if isinstance(self.timing, TimingMethod)
                  else "/".join(m.name for m in self.methods()))
        return (f"Family({self.cls_id}, params={self.params!r}, timing={timing}, "
                f"metrics={[(m.method, m.unit, m.kind) for m in self.metrics]})")


def _product(**axes: int) -> int:
    return math.prod(axes.values())


@dataclass(eq=False)
class Op:
    """One computation with named axes, its cost, and who implements it.

    ``bytes`` and ``flops`` are functions of the axes (``lambda n: 12 * n``;
    ``lambda m, n, k: 2 * m * n * k``). ``elements`` (default: the product of the axes) sizes
    the work per timing sample and the simulator's smoke limit. Implementations are added with
    ``@op.gpu("name")`` / ``@op.host("name")`` on a factory (a class) called with the axes as
    keyword arguments and ``shared=`` (a ``gpukernels.problems.SharedInputs``, where the
    implementation takes one); ``peers`` names the GPU implementations that are libraries a user
    could pick instead of writing a kernel (CuPy, PyTorch). ``best`` is "ours" in the report.
    """

    name: str  # snake_case; the family name is its CamelCase
    what: str
    axes: Params
    bytes: Callable[..., float]
    flops: Callable[..., float]
    elements: Callable[..., int] = _product
    best: str = ""
    peers: tuple[str, ...] = ()
    impl_notes: dict[str, str] = field(default_factory=dict)  # one line per implementation (report)
    gpu_impls: dict[str, Callable[..., Any]] = field(default_factory=dict)
    host_impls: dict[str, Callable[..., Any]] = field(default_factory=dict)
    kernel_family: Family | None = None  # set by Suite.add_op
    baseline_family: Family | None = None

    def gpu(self, impl: str) -> Callable[[Callable], Callable]:
        """Register a GPU implementation (decorator)."""
        return self._register(self.gpu_impls, impl)

    def host(self, impl: str) -> Callable[[Callable], Callable]:
        """Register a host baseline (decorator)."""
        return self._register(self.host_impls, impl)

    def _register(self, table: dict, impl: str) -> Callable[[Callable], Callable]:
        def register(factory: Callable) -> Callable:
            if impl in table:
                raise ValueError(f"{self.name}: implementation {impl!r} is registered twice")
            table[impl] = factory
            return factory
        return register

    @property
    def family_name(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.axes)

    @property
    def ours(self) -> str:
        return self.best or next(iter(self.gpu_impls), "")

    def timing_of(self, impl: str, **axes: int) -> TimingMethod:
        """Graph replay, or batches for an implementation that cannot be captured in a graph."""
        return GRAPH if getattr(self.gpu_impls.get(impl), "graph_capture", True) else BATCH

    @property
    def compute_bound(self) -> bool:
        """Whether the report leads with GFLOP/s rather than GB/s (flops per byte above 4)."""
        probe = {name: values[-1] for name, values in self.axes}
        return self.flops(**probe) > 4 * self.bytes(**probe)

    def make_gpu(self, impl: str, shared: Any = None, **axes: int) -> Any:
        """A prepared GPU workload of ``impl`` at ``axes``."""
        try:
            factory = self.gpu_impls[impl]
        except KeyError:
            raise KeyError(f"{self.name} has no GPU implementation {impl!r}; have {sorted(self.gpu_impls)}") from None
        return factory(shared=shared, **axes)

    def make_host(self, impl: str, **axes: int) -> Any:
        try:
            factory = self.host_impls[impl]
        except KeyError:
            raise KeyError(f"{self.name} has no host baseline {impl!r}; have {sorted(self.host_impls)}") from None
        return factory(**axes)

    def declaration(self) -> str:
        """What the asv version covers of an op: its axes and cost functions, not its implementations."""
        import inspect

        def src(fn: Callable) -> str:
            try:
                return inspect.getsource(fn).strip()
            except (OSError, TypeError):
                return repr(fn)
        return f"Op({self.name}, {self.axes!r}, {src(self.bytes)}, {src(self.flops)}, {src(self.elements)})"


class Suite:
    """The families a project measures: its ops' families and any others it declares.

    Explicit and complete before use: ``add_op`` and ``add`` raise on a second family with the
    same asv class id; asv generation, the report and the gate read only what is here.
    ``sections`` holds report sections the suite adds (``gpukernels.report.sections.SuiteSection``).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.ops: dict[str, Op] = {}
        self.families: list[Family] = []
        self._by_class: dict[str, Family] = {}
        self.sections: list[Any] = []

    def add(self, family: Family) -> Family:
        if family.cls_id in self._by_class:
            raise ValueError(f"{self.name}: two families share the asv class id {family.cls_id!r}")
        self.families.append(family)
        self._by_class[family.cls_id] = family
        return family

    def add_op(self, op: Op, *, kernel_timeout: int = 600) -> Op:
        """Register ``op`` and its two families (GPU implementations; host baselines if any)."""
        from . import measure  # the engine's standard measures (imported lazily: numba)

        if op.name in self.ops:
            raise ValueError(f"{self.name}: op {op.name!r} is added twice")
        if not op.gpu_impls and not op.host_impls:
            raise ValueError(f"{op.name}: add implementations (@op.gpu / @op.host) before add_op")
        self.ops[op.name] = op
        metrics = COMPUTE_METRICS if op.compute_bound else DEVICE_METRICS
        if op.gpu_impls:
            op.kernel_family = self.add(Family(
                "kernels", op.family_name, f"{op.what}: GPU implementations, device time",
                (("impl", tuple(op.gpu_impls)), *op.axes), measure.op_device, op.timing_of, metrics, op=op,
                moved=lambda impl, **axes: op.bytes(**axes), streaming=not op.compute_bound,
                timeout=kernel_timeout))
        if op.host_impls:
            op.baseline_family = self.add(Family(
                "baselines", op.family_name, f"{op.what}: host baselines",
                (("impl", tuple(op.host_impls)), *op.axes), measure.op_host, WALL, (WALL_TIME,), op=op))
        return op

    def section(self, fn: Callable) -> Callable:
        """Register a report section builder: ``fn(view, probe) -> Section | None`` (decorator)."""
        self.sections.append(fn)
        return fn

    def family(self, cls_id: str) -> Family:
        try:
            return self._by_class[cls_id]
        except KeyError:
            raise KeyError(f"no family {cls_id!r} in suite {self.name!r}") from None

    def lookup(self, benchmark_id: str) -> tuple[Family, Metric] | None:
        """(family, metric) of a full asv id ``area.Class.method``; None for ids not in the suite."""
        cls_id, _, method = benchmark_id.rpartition(".")
        fam = self._by_class.get(cls_id)
        if fam is None:
            return None
        try:
            return fam, fam.metric(method)
        except KeyError:
            return None

    def in_area(self, area: str) -> tuple[Family, ...]:
        return tuple(f for f in self.families if f.area == area)

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.area for f in self.families))

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for f in self.families for n in f.param_names))

    @property
    def units(self) -> frozenset[str]:
        return frozenset(m.unit for f in self.families for m in f.metrics)

    def identity_family(self) -> Family | None:
        return next((f for f in self.families if f.identity), None)

    def ids(self) -> tuple[str, ...]:
        return tuple(i for f in self.families for i in f.ids)


def merge(name: str, suites: Iterable[Suite]) -> Suite:
    """One suite holding the families of several (e.g. a report over two projects' results)."""
    out = Suite(name)
    for suite in suites:
        out.ops.update(suite.ops)
        for fam in suite.families:
            out.add(fam)
        out.sections += suite.sections
    return out


def param_label(v: object) -> str:
    """A parameter value as people read it: sizes (powers of two from 1024) as 2^k, the rest as is."""
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1024 and v & (v - 1) == 0:
        return f"2^{v.bit_length() - 1}"
    return str(v)


def suite_markdown(suite: Suite, extra: str = "") -> str:
    """A page listing every id of ``suite``: params, unit, timing, bound, what it measures."""
    def fmt(values: tuple) -> str:
        return ", ".join(param_label(v) for v in values)

    lines = [
        f"# The benchmark suite {suite.name!r}: ids, parameters, units",
        "",
        "Every id is `area.Class.method`; all metrics of a class come from one measurement (GB/s is",
        "bytes / each device-time sample). Bound: host where the timing method includes host time.",
        "",
        "## Ops",
        "",
        "| op | what | axes | GPU implementations | host baselines |",
        "| --- | --- | --- | --- | --- |",
    ]
    for op in suite.ops.values():
        axes = "; ".join(f"{n}: {fmt(v)}" for n, v in op.axes)
        lines.append(f"| {op.name} | {op.what} | {axes} | {', '.join(op.gpu_impls) or '-'} | "
                     f"{', '.join(op.host_impls) or '-'} |")
    lines += ["", "## Families", "",
              "| class | params | metrics (unit) | timing (bound) | what |", "| --- | --- | --- | --- | --- |"]
    for f in suite.families:
        params = "; ".join(f"{n}: {fmt(v)}" for n, v in f.params) or "-"
        metrics = ", ".join(f"`{m.method}` ({m.unit})" for m in f.metrics)
        timing = ", ".join(f"{m.name} ({'host' if m.host_bound else 'device'})" for m in f.methods())
        lines.append(f"| `{f.cls_id}` | {params} | {metrics} | {timing} | {f.what} |")
    lines += ["", "## Timing methods", "", "| timing | bound | what it measures |", "| --- | --- | --- |"]
    lines += [f"| {m.name} | {'host' if m.host_bound else 'device'} | {m.what} |" for m in TIMING_METHODS]
    if extra:
        lines += ["", extra]
    lines += ["", f"{sum(_count(f) for f in suite.families)} parameter sets x metrics in all.", ""]
    return "\n".join(lines)


def _count(f: Family) -> int:
    n = len(f.metrics)
    for _, values in f.params:
        n *= len(values)
    return n
