"""One measurement per parameter set of a family, and every metric derived from it.

``measure_family(family)`` runs in one process (asv's ``setup_cache``): for each parameter set it
calls the family's ``measure(ctx, **params)`` (which builds the problem, checks it, and takes the
samples under the one timing policy) and derives every metric of the family from what came back:

- ``time`` metrics: the samples (seconds per operation);
- ``bandwidth`` / ``compute``: bytes or flops / each of those same samples;
- ``clock`` / ``throttle``: NVML readings taken between the samples;
- ``value`` metrics (limits, error counts): the number.

A parameter set that cannot run here is *skipped* with the reason (no GPU, simulator size, peer
library absent, does not fit in memory); one that raises is *failed* with the error, and the
family goes on with the next set: one failure never stops the suite.

``op_device`` and ``op_host`` are the standard measures of an op's families (gpukernels.suite);
a suite's own families bring their own measure functions, written with ``Context``'s helpers.
"""
from __future__ import annotations

import gc
import hashlib
import inspect
import itertools
import sys
import time
import traceback
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from . import devices, problems, timing
from .timing import Policy, Timing

if TYPE_CHECKING:  # the suite holds families whose measures live here: names for annotations only
    from .metrics import Metric
    from .suite import Family, Op


class Skip(Exception):
    """This parameter set cannot run here; the message says why (asv records NaN)."""


@dataclass
class Measured:
    """What one parameter set's measurement produced, before metrics are derived."""

    timing: Timing | None = None
    bytes_moved: float = 0
    flops: float = 0
    value: float | None = None


@dataclass
class Outcome:
    """A parameter set's metrics (method -> asv result), or why there are none."""

    metrics: dict[str, Any] = field(default_factory=dict)
    skip: str = ""
    error: str = ""


@dataclass
class Context:
    """What every measure gets besides its parameters."""

    family: Family
    policy: Policy
    watch: Any = None  # gpukernels.clocks.Watch for device-bound sets, else None
    shared: problems.SharedInputs = field(default_factory=problems.SharedInputs)
    family_memo: dict = field(default_factory=dict)  # shared by the family's parameter sets

    def once(self, key: object, make: Callable[[], Any]) -> Any:
        """``make()`` the first time a parameter set of this family asks for ``key``, then the same."""
        if key not in self.family_memo:
            self.family_memo[key] = make()
        return self.family_memo[key]

    def require_elements(self, elements: int) -> None:
        """Skip above the policy's size limit (the simulator runs each thread in Python)."""
        limit = self.policy.max_elements
        if limit is not None and elements > limit:
            raise Skip(f"{self.policy.name} policy: smoke sizes only ({elements} elements > {limit})")

    def device_time(self, launch: timing.Launch, elements: int, mode: timing.Mode = "graph", cold: bool = False,
                    launches: int | None = None) -> Timing:
        """Device seconds per launch under the policy, NVML read around and between the samples."""
        watch, p = self.watch, self.policy
        if watch is not None:
            watch.observe()
        k = launches if launches is not None else p.launches_for(elements)
        t = timing.device_time(launch, mode, samples=p.samples, launches=k, cold=cold, warmup=p.warmup,
                               on_sample=watch.observe if watch is not None else None)
        if watch is not None:
            watch.observe()
        return t

    def wall(self, fn: Callable[[], object], clock: Callable[[], float] = timing.synced_perf_counter) -> Timing:
        """Wall seconds per call under the policy's host sampling (synchronised unless told otherwise)."""
        p = self.policy
        return timing.wall_time(fn, samples=p.host_samples, warmup=p.warmup, clock=clock,
                                min_samples=p.host_min_samples, budget_s=p.host_budget_s)


# --- the family loop ---------------------------------------------------------------------------

def measure_family(family: Family, policy: Policy | None = None) -> dict[tuple, Outcome]:
    """Every parameter set of ``family``: {params tuple: Outcome}. Never raises for one set."""
    policy = policy or timing.policy()
    names = family.param_names
    combos = list(itertools.product(*family.param_values))
    # smallest work first, each size's implementations together: host inputs made for one size serve all
    sizes = [n for n in names if n not in ("impl",)]
    order = sorted(combos, key=lambda c: tuple(_sortable(v) for n, v in zip(names, c) if n in sizes))
    out: dict[tuple, Outcome] = {}
    memo: dict = {}
    shared = problems.SharedInputs()  # implementations of a size compared on the same arrays
    if devices.simulated():  # a simulated block is a Python thread per GPU thread, meeting at every
        sys.setswitchinterval(0.001)  # syncthreads: 5 ms GIL slices kept them waiting (tests/conftest.py)
    took: dict[tuple, float] = {}
    try:
        for combo in order:
            params = dict(zip(names, combo))
            start = time.perf_counter()
            out[combo] = _one(family, params, policy, shared, memo)
            # Free the set's own device arrays (held in cycles, e.g. a peer's closures) before the
            # next set allocates; then freeze what survived (imported libraries, the memo, shared
            # inputs) so the next collection looks only at objects made since: a full collection
            # with PyTorch loaded took 90 ms per set on the H200 host, a sixth of a quick run.
            gc.collect()
            gc.freeze()
            took[combo] = time.perf_counter() - start
    finally:
        gc.unfreeze()  # what the family kept becomes collectable again
    print(where_the_time_went(family, took), file=sys.stderr)  # asv shows it with --show-stderr
    return out


def where_the_time_went(family: Family, took: dict[tuple, float], slowest: int = 3) -> str:
    """One line: the family's parameter sets, their seconds in all, and the slowest sets. asv
    records one duration per family; a set's seconds hold its inputs, check and compiles as well
    as its samples."""
    top = sorted(took.items(), key=lambda item: -item[1])[:slowest]
    sets = "; ".join(", ".join(f"{k}={v}" for k, v in zip(family.param_names, combo)) + f": {s:.1f} s"
                     for combo, s in top)
    return (f"gpukernels: {family.cls_id}: {len(took)} parameter sets in {sum(took.values()):.1f} s"
            + (f"; slowest {sets}" if sets else ""))


def _sortable(value: object) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, 0, str(value))


def _one(family: Family, params: dict, policy: Policy, shared: problems.SharedInputs, memo: dict) -> Outcome:
    from .clocks import Watch

    try:
        _require(params)
        watch = Watch(params.get("device", 0)) if family.bound(params) == "device" else None
        measured = family.measure(Context(family, policy, watch, shared, memo), **params)
    except (Skip, NotImplementedError, problems.WontFit, problems.PeerMissing, devices.NoGPUError) as exc:
        return Outcome(skip=str(exc) or type(exc).__name__)
    except Exception as exc:  # recorded as failed; the family goes on
        if _out_of_memory(exc):
            return Outcome(skip=f"out of device memory: {exc}")
        return Outcome(error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")
    return Outcome(metrics={m.method: derive(m, measured, watch) for m in family.metrics})


def _out_of_memory(exc: BaseException) -> bool:
    return "OUT_OF_MEMORY" in str(exc) or "out of memory" in str(exc).lower()


def _require(params: dict) -> None:
    state = devices.state()
    if state == "none":
        raise Skip("no CUDA GPU and NUMBA_ENABLE_CUDASIM is not set")
    device = params.get("device", 0)
    if device >= devices.count():
        raise Skip(f"device {device} absent: this machine has {devices.count()}")
    devices.select(device)


def _per_sample(amount: float, m: Measured) -> dict:
    return {"samples": [amount / s / 1e9 for s in m.timing.samples_s], "number": 1}


DERIVE: dict[str, Callable[[Measured, Any], Any]] = {
    "time": lambda m, watch: m.timing.asv() if m.timing is not None else float("nan"),
    "bandwidth": lambda m, watch: _per_sample(m.bytes_moved, m),
    "compute": lambda m, watch: _per_sample(m.flops, m),
    "value": lambda m, watch: float("nan") if m.value is None else float(m.value),
    "clock": lambda m, watch: {"samples": watch.sm_clock_samples(), "number": 1},
    "throttle": lambda m, watch: float(watch.flagged()),
}


def derive(metric: Metric, m: Measured, watch) -> Any:
    """One metric's asv value from the set's measurement (NaN: NVML readings not recorded)."""
    if metric.kind in ("clock", "throttle") and (watch is None or not watch.recorded):
        return float("nan")
    return DERIVE[metric.kind](m, watch)


# --- the standard measures of an op's families ---------------------------------------------

def op_device(ctx: Context, impl: str, **axes: int) -> Measured:
    """An op by one GPU implementation: checked against its reference, then CUDA-graph device time."""
    op: Op = ctx.family.op
    elements = op.elements(**axes)
    ctx.require_elements(elements)
    problems.require_device_bytes(op.bytes(**axes))
    work = op.make_gpu(impl, shared=ctx.shared, **axes)
    work.check()
    mode = "graph" if getattr(work, "graph_capture", True) else "batch"
    return Measured(ctx.device_time(work.launch, elements, mode), op.bytes(**axes), op.flops(**axes))


def op_host(ctx: Context, impl: str, **axes: int) -> Measured:
    """An op by a host baseline: checked, then wall time (no GPU involved)."""
    op: Op = ctx.family.op
    ctx.require_elements(op.elements(**axes))
    work = op.make_host(impl, **axes)
    work.check()
    return Measured(ctx.wall(work.run, clock=time.perf_counter))


# --- versions ----------------------------------------------------------------------------------

def family_version(family: Family, policy: Policy = timing.POLICY) -> str:
    """asv ``version`` of every benchmark of ``family``: the method, not the code under test.

    It hashes the timing policy, the family's declaration (params, timing, metrics; an op's axes
    and cost functions) and the source of every function the measurement runs (``measuring_code``:
    the measure function and, transitively, the Python functions it references), so numbers taken
    two ways are never compared. Kernels (numba dispatchers) and implementations (reached through
    the op, not by name) are not in it: a faster kernel is what the gate is there to judge.
    """
    parts = [repr(policy), repr(family), family.op.declaration() if family.op else "",
             *measuring_code(family.measure), *ENGINE_CODE]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def measuring_code(fn: Callable) -> list[str]:
    """Sources of ``fn`` and every function or class it reaches by name (globals, closures, module
    attributes), followed within the packages of ``fn`` and gpukernels; numba kernels excluded."""
    roots = {"gpukernels", (getattr(fn, "__module__", "") or "").partition(".")[0]}
    seen: dict[str, str] = {}
    todo = [fn]
    while todo:
        obj = todo.pop()
        key = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', repr(obj))}"
        if key in seen or not _followed(obj, roots):
            continue
        seen[key] = _source(obj)
        todo += _references(obj)
    return [seen[k] for k in sorted(seen)]


def _followed(obj: object, roots: set[str]) -> bool:
    if not isinstance(obj, (types.FunctionType, type)):
        return False  # numba dispatchers, builtins, instances: not measuring code
    return (getattr(obj, "__module__", "") or "").partition(".")[0] in roots


def _references(obj: object) -> list:
    if isinstance(obj, type):
        return [v for v in vars(obj).values() if isinstance(v, (types.FunctionType, staticmethod, classmethod))
                for v in [getattr(v, "__func__", v)]]
    found: list = []
    codes = [obj.__code__]
    names: set[str] = set()
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    glb = obj.__globals__
    for name in names:
        value = glb.get(name)
        if isinstance(value, types.ModuleType):
            found += [getattr(value, attr) for attr in names if hasattr(value, attr)]
        elif value is not None:
            found.append(value)
    found += [c.cell_contents for c in (obj.__closure__ or ()) if _filled(c)]
    return found


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _source(obj) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):  # generated code (dataclass methods): its name, never an address
        return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


# What every family's measurement runs besides its own measure (reached through ``ctx``).
ENGINE_CODE = tuple(src for root in (Context, Policy, _one, derive) for src in measuring_code(root))
