"""One measurement per parameter set of a catalogue family, and every metric derived from it.

``measure_family(family)`` runs in one process (asv's ``setup_cache``): it makes each parameter
set's problem, checks it against NumPy, takes the samples under the one timing policy, and
returns plain data, per parameter set, for every metric of the family:

- ``track_device_time`` / ``track_seconds``: the samples (seconds per operation);
- ``track_bandwidth``: bytes moved / each of those same samples;
- ``track_sm_clock`` / ``track_throttle``: NVML readings taken between the samples;
- value metrics (limits, error counts): the number.

A parameter set that cannot run here is *skipped* with the reason (no GPU, simulator size,
peer library absent, does not fit in memory); one that raises is *failed* with the error,
and the family goes on with the next set: one failure never stops the suite.
"""
from __future__ import annotations

import dataclasses
import gc
import hashlib
import inspect
import itertools
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from numba import config, cuda

from . import catalogue, devices, kernels, probes, timing, workloads
from .catalogue import Family
from .launch import PreparedLaunch, grid_for
from .timing import Policy, Timing

SIM_MAX_N = 2**10  # the simulator runs each thread in Python: smoke sizes only


class Skip(Exception):
    """This parameter set cannot run here; the message says why (asv records NaN)."""


@dataclass
class Measured:
    """What one parameter set's measurement produced, before metrics are derived."""

    timing: Timing | None = None
    bytes_moved: int = 0
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
    watch: Any = None  # gpukernels.clocks.Watch for device-bound families, else None
    family_memo: dict = field(default_factory=dict)  # shared by the family's parameter sets

    def once(self, key: object, make: Callable[[], Any]) -> Any:
        """``make()`` the first time a parameter set of this family asks for ``key``, then the same."""
        if key not in self.family_memo:
            self.family_memo[key] = make()
        return self.family_memo[key]


MEASURES: dict[str, Callable[..., Measured]] = {}


def measures(fn: Callable[..., Measured]) -> Callable[..., Measured]:
    """Register a measure under its name (the catalogue's ``Family.measure``)."""
    MEASURES[fn.__name__] = fn
    return fn


# --- the family loop ---------------------------------------------------------------------------

def measure_family(family: Family, policy: Policy | None = None) -> dict[tuple, Outcome]:
    """Every parameter set of ``family``: {params tuple: Outcome}. Never raises for one set."""
    policy = policy or timing.policy()
    fn = MEASURES[family.measure]
    names = family.param_names
    combos = list(itertools.product(*family.param_values))
    # sizes in order, so host inputs generated for one size serve every implementation of it
    order = sorted(combos, key=lambda c: dict(zip(names, c)).get("n", 0))
    out: dict[tuple, Outcome] = {}
    memo: dict = {}
    with workloads.shared_inputs():  # implementations of a size compared on the same arrays
        for combo in order:
            params = dict(zip(names, combo))
            out[combo] = _one(family, fn, params, policy, memo)
            gc.collect()  # free the set's own device arrays before the next one allocates
    return out


def _one(family: Family, fn: Callable, params: dict, policy: Policy, memo: dict) -> Outcome:
    from .clocks import Watch

    try:
        _require(family, params)
        watch = Watch(params.get("device", 0)) if family.bound == "device" else None
        measured = fn(Context(family, policy, watch, memo), **params)
    except (Skip, NotImplementedError, workloads.WontFit, workloads.PeerMissing, devices.NoGPUError) as exc:
        return Outcome(skip=str(exc) or type(exc).__name__)
    except Exception as exc:  # recorded as failed; the family goes on
        return Outcome(error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")
    return Outcome(metrics={m.method: _derive(m, measured, watch) for m in family.metrics})


def _require(family: Family, params: dict) -> None:
    state = devices.state()
    if state == "none":
        raise Skip("no CUDA GPU and NUMBA_ENABLE_CUDASIM is not set")
    n = params.get("n") or params.get("nbytes", 0) // 4
    if state == "simulator" and n > SIM_MAX_N:
        raise Skip(f"simulator: smoke sizes only (n <= {SIM_MAX_N})")
    device = params.get("device", 0)
    if device >= devices.count():
        raise Skip(f"device {device} absent: this machine has {devices.count()}")
    devices.select(device)


def _derive(metric: catalogue.Metric, m: Measured, watch) -> Any:
    nan = float("nan")
    if metric.derive == "time":
        return m.timing.asv() if m.timing is not None else nan
    if metric.derive == "bandwidth":
        return {"samples": [m.bytes_moved / s / 1e9 for s in m.timing.samples_s], "number": 1}
    if metric.derive == "value":
        return nan if m.value is None else float(m.value)
    if watch is None or not watch.recorded:
        return nan  # "not recorded": simulator or no NVML
    if metric.derive == "clock":
        return {"samples": watch.sm_clock_samples(), "number": 1}
    if metric.derive == "throttle":
        return float(watch.flagged())
    raise ValueError(f"unknown derive {metric.derive!r} for {metric.method}")


def _device_time(launch, ctx: Context, n: int, mode: str = "graph", cold: bool = False,
                 launches: int | None = None) -> Timing:
    watch = ctx.watch
    if watch is not None:
        watch.observe()
    k = launches if launches is not None else ctx.policy.launches_for(n)
    t = timing.device_time(launch, mode, samples=ctx.policy.samples, launches=k, cold=cold, warmup=ctx.policy.warmup,
                           on_sample=watch.observe if watch is not None else None)
    if watch is not None:
        watch.observe()
    return t


def _wall(ctx: Context, fn: Callable[[], object], clock: Callable[[], float] = timing.synced_perf_counter) -> Timing:
    p = ctx.policy
    return timing.wall_time(fn, samples=p.host_samples, warmup=p.warmup, clock=clock, min_samples=p.host_min_samples,
                            budget_s=p.host_budget_s)


# --- measures named by the catalogue -----------------------------------------------------------

@measures
def op_device(ctx: Context, impl: str, n: int) -> Measured:
    """The family's op by one GPU implementation: checked, then CUDA-graph device time."""
    work = workloads.make_gpu(ctx.family.op, impl, n)
    work.check()
    return Measured(_device_time(work.launch, ctx, n), work.bytes_moved)


@measures
def op_host(ctx: Context, impl: str, n: int) -> Measured:
    """The family's op by a host baseline: checked, then wall time (no GPU involved)."""
    work = workloads.make_host(ctx.family.op, impl, n)
    work.check()
    return Measured(_wall(ctx, work.run, clock=time.perf_counter))


@measures
def variants(ctx: Context, variant: str, n: int) -> Measured:
    work = workloads.VARIANT_CLASSES[variant](n)
    work.check()
    return Measured(_device_time(work.launch, ctx, n), work.bytes_moved)


@measures
def block(ctx: Context, n: int, block: int) -> Measured:
    work = workloads.VectorAddSeed(n, block)
    work.check()
    return Measured(_device_time(work.launch, ctx, n), work.bytes_moved)


@measures
def modes(ctx: Context, n: int, mode: str) -> Measured:
    work = workloads.VectorAddSeed(n)
    work.check()
    cold = mode == "graph_cold"
    launches = 1 if cold or mode == "single" else None
    t = _device_time(work.launch, ctx, n, "graph" if cold else mode, cold=cold, launches=launches)
    return Measured(t, work.bytes_moved)


@measures
def seed_audit(ctx: Context, method: str) -> Measured:
    if config.ENABLE_CUDASIM:
        raise Skip(f"simulator: smoke sizes only (the seed's n = {catalogue.SEED_N})")
    w = workloads.VectorAddSeed(catalogue.SEED_N, catalogue.SEED_BLOCK)
    w.check()
    samples = ctx.policy.host_samples
    if method == "seed_async_wall":
        # The tutorial's clock: read right after an asynchronous launch (wrong on purpose).
        def seed_style() -> float:
            t0 = time.time()
            w.launch()
            t = time.time() - t0
            cuda.synchronize()  # let the kernel finish before the next sample
            return t
        seed_style()
        return Measured(Timing(tuple(seed_style() for _ in range(samples)), "async_wall"))
    if method == "synced_wall":
        return Measured(_wall(ctx, w.launch))
    if method == "graph_device":
        return Measured(_device_time(w.launch, ctx, catalogue.SEED_N))
    out = np.empty_like(w.b_host)

    def round_trip() -> None:
        w.a.copy_to_device(w.a_host)
        w.b.copy_to_device(w.b_host)
        w.launch()
        w.b.copy_to_host(out)
    return Measured(_wall(ctx, round_trip))


@measures
def end_to_end(ctx: Context, memory: str, n: int) -> Measured:
    """Host a, b -> device, our best kernel, device b -> host, pageable or pinned host memory."""
    work = workloads.VectorAddPairs(n)
    if memory == "pageable":
        a, b, out = work.a_host, work.b_host, np.empty_like(work.b_host)
    else:
        a, b, out = (cuda.pinned_array(n, dtype=np.float32) for _ in range(3))
        a[:], b[:] = work.a_host, work.b_host

    def round_trip() -> None:
        work.a.copy_to_device(a)
        work.b.copy_to_device(b)
        work.launch()
        work.b.copy_to_host(out)
    round_trip()
    if not np.array_equal(out, a + b):
        raise AssertionError(f"end to end ({memory}) n={n}: result differs from NumPy")
    return Measured(_wall(ctx, round_trip))


def _empty_args(nargs: int) -> tuple:
    return (cuda.device_array(1, dtype=np.float32),) * nargs


@measures
def enqueue(ctx: Context, path: str, nargs: int) -> Measured:
    """Host seconds per launch call of an empty 1x1 kernel with ``nargs`` array arguments.

    Every path of one argument count is sampled in turn (round-robin, _enqueue_in_turn): the
    host's state drifts over a family's minutes (clocks, other work), and measured one after
    the other the paths would each get a different slice of it.
    """
    found = ctx.once(("enqueue", nargs), lambda: _enqueue_in_turn(ctx, nargs))[path]
    if isinstance(found, Exception):
        raise found
    return Measured(found)


def _enqueue_call(ctx: Context, path: str, nargs: int) -> tuple[Callable[[], object], int]:
    """One launch path: a no-argument call and the kernel launches each call makes."""
    kern = kernels.EMPTY_BY_NARGS[nargs]
    args = _empty_args(nargs)
    if path == "dispatcher":
        return (lambda: kern[1, 1](*args)), 1
    if path == "dispatcher_eager":
        eager = cuda.jit(f"void({', '.join(['float32[::1]'] * nargs)})")(kern.py_func)
        eager[1, 1](*args)
        return (lambda: eager[1, 1](*args)), 1
    if path == "prepared":
        return PreparedLaunch(kern, grid_for(1, 1), *args), 1
    if path == "graph_replay":
        launches = ctx.policy.max_launches
        return timing.capture_graph(lambda s: kern[1, 1, s](*args), cuda.stream(), launches).replay, launches
    if path == "cupy":
        return _cupy_empty(nargs, args), 1
    if path == "torch":
        return _torch_op(nargs), 1
    raise ValueError(f"unknown launch path {path!r}")


def _enqueue_in_turn(ctx: Context, nargs: int) -> dict[str, Timing | Exception]:
    """Every path of the family at ``nargs`` arguments: its Timing, or the exception that kept it
    from running (raised again by its own parameter set: a skip stays a skip, a failure a failure).

    One round takes one sample of each path (timing.enqueue_time's: a warm-up call, then
    ``enqueue_launches`` kernel launches timed, the queue drained) in a shuffled order, so a
    path does not always follow the same one.
    """
    p = ctx.policy
    calls, out = {}, {}
    for path in dict(ctx.family.params)["path"]:
        try:
            calls[path] = _enqueue_call(ctx, path, nargs)
        except Exception as exc:  # noqa: BLE001 - kept for the path's own parameter set
            out[path] = exc
    per_sample = {path: max(1, p.enqueue_launches // per_call) for path, (_, per_call) in calls.items()}
    samples: dict[str, list[float]] = {path: [] for path in calls}
    rng = np.random.default_rng(nargs)
    for _ in range(p.host_samples):
        names = list(calls)
        for path in [names[i] for i in rng.permutation(len(names))]:
            fn, per_call = calls[path]
            try:
                t = timing.enqueue_time(fn, launches=per_sample[path], samples=1)
            except Exception as exc:  # noqa: BLE001 - this path stops; the others go on
                out[path] = exc
                del calls[path]
                continue
            samples[path].append(t.samples_s[0] / per_call)
    for path, (_, per_call) in calls.items():
        out[path] = Timing(tuple(samples[path]), "enqueue", per_sample=per_sample[path] * per_call)
    return out


def _cupy_empty(nargs: int, args: tuple) -> Callable[[], None]:
    cp = workloads.peer_module("cupy")
    params = ", ".join(f"float* a{i}" for i in range(nargs))
    kern = cp.RawKernel(f'extern "C" __global__ void empty{nargs}({params}) {{}}', f"empty{nargs}")
    arrays = tuple(cp.asarray(a) for a in args)
    return lambda: kern((1,), (1,), arrays)


def _torch_op(nargs: int) -> Callable[[], None]:
    torch = workloads.peer_module("torch")
    x, y, z = (torch.zeros(1, device="cuda") for _ in range(3))
    if nargs == 1:
        return x.zero_
    if nargs == 3:
        return lambda: torch.add(x, y, out=z)
    raise Skip(f"no single PyTorch op takes {nargs} tensor arguments")


@measures
def roundtrip(ctx: Context, nargs: int) -> Measured:
    kern, args = kernels.EMPTY_BY_NARGS[nargs], _empty_args(nargs)
    return Measured(_wall(ctx, lambda: kern[1, 1](*args)))


@measures
def seed_grids(ctx: Context, grid: str) -> Measured:
    g, b = probes.SEED_GRIDS[grid]
    if g > 2 and config.ENABLE_CUDASIM:
        raise Skip("simulator: 2**30 blocks would take days")
    if g > 2:  # 2^30 blocks take ~0.7 s a launch: 3 samples
        return Measured(timing.wall_time(lambda: kernels.empty0[g, b](), samples=3))
    return Measured(_wall(ctx, lambda: kernels.empty0[g, b]()))


@measures
def copies(ctx: Context, kind: str, nbytes: int) -> Measured:
    c = workloads.Copy(kind, nbytes)
    c.check()
    return Measured(_device_time(c.launch, ctx, nbytes, "batch", launches=1), c.bytes_moved)


@measures
def compile(ctx: Context) -> Measured:
    w = workloads.VectorAddSeed(2**10)
    return Measured(timing.compile_time(kernels.vector_add_py, lambda: (w.a, w.b), w.config.grid, w.config.block,
                                        samples=1 if config.ENABLE_CUDASIM else 3))


def _real_gpu_only() -> None:
    if config.ENABLE_CUDASIM:
        raise Skip("simulator: launches at the device limits would take hours")


@measures
def grid_limit(ctx: Context, dim: str) -> Measured:
    _real_gpu_only()
    return Measured(value=probes.measure_limit(f"grid {dim}")["measured"])


@measures
def block_limit(ctx: Context, dim: str) -> Measured:
    _real_gpu_only()
    return Measured(value=probes.measure_limit(f"block {dim}")["measured"])


INDEX_LAUNCHES = {"1d": (2, 4), "2d": ((3, 2), (4, 2)), "3d": ((2, 2, 2), (2, 3, 4))}


@measures
def index_mapping(ctx: Context, launch: str) -> Measured:
    return Measured(value=probes.coverage_errors(*INDEX_LAUNCHES[launch]))


@measures
def device_selection(ctx: Context, device: int) -> Measured:
    work = workloads.VectorAddSeed(1000, 128)
    try:
        work.check()
    except AssertionError:
        return Measured(value=0)
    return Measured(value=1)


@measures
def card(ctx: Context) -> Measured:
    uuid = devices.info(0).uuid
    digits = "".join(c for c in uuid.lower() if c in "0123456789abcdef")
    return Measured(value=int(digits[:12] or "0", 16))


# --- versions ----------------------------------------------------------------------------------

def family_version(family: Family, policy: Policy = timing.POLICY) -> str:
    """asv ``version`` of every benchmark of ``family``: the method, not the code under test.

    It changes with the timing policy (its fields and the code applying them), the family's
    catalogue entry (params, metrics, the op's bytes and flops per element) and the measure
    function, so numbers taken two ways are never compared. It does not change with a kernel
    or a workload's launch code, nor with the prose describing an op's implementations: that
    is what the regression gate is there to judge, and what history must survive.
    """
    op = catalogue.OPS.get(family.op)
    op_method = None if op is None else dataclasses.replace(op, what_impl={})
    parts = [policy.fingerprint(), repr(family), repr(op_method), _source(MEASURES[family.measure])]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:16]


def _source(obj) -> str:
    obj = getattr(obj, "py_func", obj)  # numba dispatchers: the Python function they compile
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return repr(obj)
