"""Measuring GPU work honestly.

Kernel launches are asynchronous: a host clock read right after ``kernel[grid, block](...)``
measures the enqueue, not the kernel. Device time here comes from CUDA event pairs, in
three modes (always say which mode produced a number):

- ``single``: one launch between two events, the GPU idle before it. Includes the host's
  launch latency (30-60 us with numba), so it overstates kernels shorter than that.
- ``batch``: ``launches`` launches back to back between two events, time / launches.
  Still bound by the host's enqueue rate while the kernel is shorter than one enqueue.
- ``graph``: ``launches`` launches captured once in a CUDA graph, the graph replayed between
  two events, time / launches. Replay removes the launch gaps: the kernel's own time.

Samples are enqueued back to back and read after one synchronisation, so each sample's
start event waits behind the previous sample's work and host latency stays out of it
(except in ``single`` mode, which synchronises per sample on purpose). ``cold`` writes a
buffer larger than L2 before each sample (the first launch of the sample sees a cold L2).

Wall time (``wall_time``, ``synced_perf_counter``) synchronises the device before reading
the clock: it answers "how long does a Python caller wait". Under the CUDA simulator, work is
synchronous and events carry no time, so host-clock events stand in for them.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Literal, Protocol

import numpy as np
from numba import cuda

from . import devices

Mode = Literal["single", "batch", "graph"]


@dataclass(frozen=True)
class Policy:
    """The one sampling policy of the suite: how many samples, launches per sample, warm-up.

    Every benchmark's asv ``version`` includes the policy's fields and the source of the code
    that applies it (gpukernels.measure.family_version): changing either starts a new series
    instead of comparing numbers taken two ways.
    """

    samples: int = 30  # device-time samples per parameter set
    host_samples: int = 20  # wall-clock samples per parameter set, at most...
    host_min_samples: int = 10  # ...and at least; between the two, stop once the set took host_budget_s
    host_budget_s: float = 1.0
    warmup: int = 1  # unrecorded samples first (module load, graph upload)
    work_per_sample: int = 2**26  # elements per graph/batch sample: short kernels get more launches
    max_launches: int = 100
    enqueue_launches: int = 200  # calls per enqueue sample
    max_elements: int | None = None  # larger problems are skipped (the simulator's smoke sizes)
    name: str = "full"

    def launches_for(self, n: int) -> int:
        """Launches per graph or batch sample: about ``work_per_sample`` elements of work."""
        return max(1, min(self.max_launches, self.work_per_sample // max(n, 1)))


POLICY = Policy()
# The simulator runs each thread in Python: a smoke test of the same code path, never saved.
SIMULATOR_POLICY = Policy(samples=3, host_samples=3, host_min_samples=3, work_per_sample=2**11, max_launches=2,
                          enqueue_launches=3, max_elements=2**10, name="simulator")


# ``asv run --quick``: every op of ours still checked against NumPy and timed, at sizes up to 2^22
# elements (inside L2: a smoke run, not a bandwidth figure), with a third of the samples and no
# library peers (gpukernels.problems.PeerLibrary.load): the whole suite in about two minutes, never
# a result to keep (asv saves nothing from --quick).
QUICK_POLICY = Policy(samples=10, host_samples=5, host_min_samples=3, host_budget_s=0.2, max_launches=20,
                      enqueue_launches=50, max_elements=2**22, name="quick")


def policy() -> Policy:
    """The simulator's policy there; the quick one under ``asv run --quick``; else the suite's."""
    from .machine import asv_quick

    if devices.simulated():
        return SIMULATOR_POLICY
    return QUICK_POLICY if asv_quick() else POLICY
MODES: tuple[Mode, ...] = ("single", "batch", "graph")
Launch = Callable[[object], None]  # enqueues one launch on the stream it is given


class TimingError(RuntimeError):
    """A measurement that cannot be trusted (bad arguments, an event pair without a time)."""


@dataclass(frozen=True)
class Timing:
    """Samples of one measurement, in seconds per operation, with the mode that took them."""

    samples_s: tuple[float, ...]
    mode: str
    cold: bool = False
    per_sample: int = 1  # operations (launches) averaged into each sample

    def __post_init__(self) -> None:
        if not self.samples_s:
            raise TimingError("a Timing needs at least one sample")

    @property
    def median_s(self) -> float:
        return float(np.median(self.samples_s))

    @property
    def min_s(self) -> float:
        return float(np.min(self.samples_s))

    @property
    def iqr_s(self) -> float:
        q25, q75 = np.percentile(self.samples_s, [25, 75])
        return float(q75 - q25)

    def asv(self) -> dict:
        """The shape asv keeps as timing samples (a track_ with type 'time', unit 'seconds')."""
        return {"samples": list(self.samples_s), "number": 1}

    def __repr__(self) -> str:
        cache = "cold" if self.cold else "hot"
        return (
            f"Timing({self.mode}, {cache}, {self.per_sample}/sample, n={len(self.samples_s)}: "
            f"median {self.median_s * 1e6:.3f} us, IQR {self.iqr_s * 1e6:.3f} us, min {self.min_s * 1e6:.3f} us)"
        )


class Event(Protocol):
    def record(self, stream: object = 0) -> None: ...
    def synchronize(self) -> None: ...
    def elapsed_time(self, other: "Event") -> float: ...  # milliseconds, like cuda.event


class HostEvent:
    """A host perf_counter stamp with the cuda.event interface, for the synchronous simulator."""

    def record(self, stream: object = 0) -> None:
        self.t = time.perf_counter()

    def synchronize(self) -> None:
        pass

    def elapsed_time(self, other: "HostEvent") -> float:
        return (other.t - self.t) * 1e3


def default_event_factory() -> Callable[[], Event]:
    return HostEvent if devices.simulated() else (lambda: cuda.event(timing=True))


def synced_perf_counter() -> float:
    """asv ``timer``: wait for the device, then read the clock, so async work is counted."""
    cuda.synchronize()
    return time.perf_counter()


# --- CUDA graphs -------------------------------------------------------------------------

def _check(result: tuple) -> tuple:
    err, *rest = result
    if int(err) != 0:
        raise TimingError(f"CUDA graph call failed: {err!r}")
    return tuple(rest)


class Graph:
    """``launches`` launches captured from a numba stream into an instantiated CUDA graph."""

    def __init__(self, launch: Launch, stream, launches: int) -> None:
        from cuda.bindings import driver as drv  # the NVIDIA bindings numba-cuda runs on

        self._drv = drv
        self._stream = drv.CUstream(int(stream.handle))
        _check(drv.cuStreamBeginCapture(self._stream, drv.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED))
        try:
            for _ in range(launches):
                launch(stream)
        finally:
            (self._graph,) = _check(drv.cuStreamEndCapture(self._stream))
        (self._exec,) = _check(drv.cuGraphInstantiate(self._graph, 0))

    def replay(self) -> None:
        _check(self._drv.cuGraphLaunch(self._exec, self._stream))

    def __del__(self) -> None:
        drv = getattr(self, "_drv", None)
        if drv is not None and hasattr(self, "_exec"):
            drv.cuGraphExecDestroy(self._exec)
            drv.cuGraphDestroy(self._graph)


class SimulatedGraph:
    """The simulator has no driver: a 'graph' there replays the launches one by one."""

    def __init__(self, launch: Launch, stream, launches: int) -> None:
        self._launch, self._stream, self._launches = launch, stream, launches

    def replay(self) -> None:
        for _ in range(self._launches):
            self._launch(self._stream)


def capture_graph(launch: Launch, stream, launches: int) -> Graph | SimulatedGraph:
    return SimulatedGraph(launch, stream, launches) if devices.simulated() else Graph(launch, stream, launches)


# --- L2 flush ----------------------------------------------------------------------------

@cuda.jit(cache=True)
def fill(buf, value):
    """Grid-stride write of ``value`` into every word of ``buf`` (the L2 flush)."""
    for i in range(cuda.grid(1), buf.size, cuda.gridsize(1)):
        buf[i] = value


class L2Flusher:
    """Writes a buffer of ``nbytes`` (default twice the L2) to evict the L2 before a sample."""

    def __init__(self, nbytes: int | None = None) -> None:
        if nbytes is None:
            l2 = 0 if devices.simulated() else cuda.get_current_device().L2_CACHE_SIZE
            nbytes = max(2 * l2, 1 << 16)
        self._fill = fill
        self._buf = cuda.device_array(nbytes // 4, dtype=np.int32)
        self._value = 0

    def flush(self, stream) -> None:
        self._value += 1  # a new value each time, so no write can be skipped as redundant
        blocks = min(256, max(1, -(-self._buf.size // 256)))  # no more threads than words
        self._fill[blocks, 256, stream](self._buf, self._value)


# --- measurements ------------------------------------------------------------------------

def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TimingError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def device_time(
    launch: Launch,
    mode: Mode = "graph",
    *,
    samples: int = 20,
    launches: int = 100,
    cold: bool = False,
    warmup: int = 1,
    event_factory: Callable[[], Event] | None = None,
    on_sample: Callable[[], None] | None = None,
) -> Timing:
    """Device seconds per launch of ``launch`` (called with a stream) from CUDA events.

    ``launches`` applies to batch and graph (single is one launch a sample). ``warmup``
    unrecorded samples run first (JIT, module load, graph upload stay out of the numbers).
    ``on_sample`` runs on the host after each sample is enqueued (NVML clock readings while
    the GPU works through the queue).
    """
    if mode not in MODES:
        raise TimingError(f"mode must be one of {MODES}, got {mode!r}")
    _positive("samples", samples)
    k = 1 if mode == "single" else _positive("launches", launches)
    make_event = event_factory or default_event_factory()
    stream = cuda.stream()
    flusher = L2Flusher() if cold else None
    if mode == "graph":
        body = capture_graph(launch, stream, k).replay
    elif mode == "batch":
        def body() -> None:
            for _ in range(k):
                launch(stream)
    else:
        def body() -> None:
            launch(stream)
    for _ in range(warmup):
        body()
    stream.synchronize()

    pairs = []
    for _ in range(samples):
        if flusher is not None:
            flusher.flush(stream)
        start, end = make_event(), make_event()
        start.record(stream)
        body()
        end.record(stream)
        if mode == "single":
            end.synchronize()  # the GPU idles before the next launch: latency is included
        pairs.append((start, end))
        if on_sample is not None:
            on_sample()
    stream.synchronize()
    per_launch = []
    for start, end in pairs:
        ms = start.elapsed_time(end)
        if not ms >= 0:  # NaN or the -1 some event fakes return
            raise TimingError(f"an event pair returned {ms} ms: no device time was recorded")
        per_launch.append(ms / 1e3 / k)
    return Timing(tuple(per_launch), mode, cold=cold, per_sample=k)


def wall_time(fn: Callable[[], object], *, samples: int = 20, warmup: int = 1,
              clock: Callable[[], float] = synced_perf_counter, min_samples: int | None = None,
              budget_s: float = math.inf) -> Timing:
    """Synchronised wall seconds per call of ``fn``: what a Python caller waits for.

    Takes ``samples`` samples, or stops early once ``min_samples`` are taken and the samples
    add up to ``budget_s`` (a NumPy add of 2^28 floats takes 0.15 s a call).
    """
    _positive("samples", samples)
    least = samples if min_samples is None else _positive("min_samples", min_samples)
    for _ in range(warmup):
        fn()
    out: list[float] = []
    for _ in range(samples):
        t0 = clock()
        fn()
        out.append(clock() - t0)
        if len(out) >= least and sum(out) >= budget_s:
            break
    return Timing(tuple(out), "wall")


def enqueue_time(fn: Callable[[], object], *, launches: int = 200, samples: int = 10) -> Timing:
    """Host seconds per call of an async ``fn`` without synchronising: the enqueue cost alone.

    Drains the queue between samples so a full launch queue never blocks the host.
    """
    _positive("launches", launches)
    _positive("samples", samples)
    fn()
    cuda.synchronize()
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(launches):
            fn()
        out.append((time.perf_counter() - t0) / launches)
        cuda.synchronize()
    return Timing(tuple(out), "enqueue", per_sample=launches)


def compile_time(pyfunc: Callable, launch_args: Callable[[], tuple], grid, block, *, samples: int = 3) -> Timing:
    """Seconds for a fresh, uncached dispatcher's first call: JIT compile, load and one launch."""
    _positive("samples", samples)
    out = []
    for _ in range(samples):
        args = launch_args()
        cuda.synchronize()
        kernel = cuda.jit(pyfunc)  # a new dispatcher compiles again; no on-disk cache
        t0 = time.perf_counter()
        kernel[grid, block](*args)
        cuda.synchronize()
        out.append(time.perf_counter() - t0)
    return Timing(tuple(out), "compile")
