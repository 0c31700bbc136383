"""What a number is and how it was taken: timing methods and metrics (pure Python).

A ``TimingMethod`` says how a number was measured and whether the host's time is inside it (the
gate judges such rows as host-bound); a ``Metric`` is one asv method of a family, and its
``kind`` says how it comes from the family's one measurement (gpukernels.measure.derive).
"""
from __future__ import annotations

from dataclasses import dataclass

UNIT_SECONDS = "seconds"
UNIT_GBS = "GB/s"
UNIT_GFLOPS = "GFLOP/s"


@dataclass(frozen=True)
class TimingMethod:
    """How a number was measured. ``host_bound``: the host's time (a launch, a copy through
    pageable memory, Python) is inside the number, so the gate judges it as host-bound."""

    name: str
    what: str
    host_bound: bool


GRAPH = TimingMethod("graph", "device time per launch from CUDA-graph replay of captured launches, hot L2: "
                              "the kernel's own time", False)
GRAPH_COLD = TimingMethod("graph_cold", "one captured launch replayed after a buffer twice the L2 size is "
                                        "written: cold L2; one graph launch on an idle GPU includes its "
                                        "launch latency", True)
BATCH = TimingMethod("batch", "back-to-back launches between two CUDA events, time / launches: host-bound "
                              "while a kernel is shorter than one enqueue", True)
SINGLE = TimingMethod("single", "one launch between two CUDA events on an idle GPU: includes the host's "
                                "launch latency", True)
EVENTS = TimingMethod("events", "one operation between two CUDA events (copies): includes the call's host "
                                "latency", True)
WALL = TimingMethod("wall", "wall clock around the call and a device synchronisation: what a Python caller "
                            "waits", True)
ASYNC_WALL = TimingMethod("async_wall", "wall clock around an asynchronous launch, no synchronisation: the "
                                        "enqueue, not the kernel (the tutorial's mistake, kept to show it)", True)
ENQUEUE = TimingMethod("enqueue", "host time per launch call, many launches, no synchronisation: the cost of "
                                  "the call itself; the paths of one argument count sampled in turn", True)
COMPILE = TimingMethod("compile", "a fresh dispatcher's first call: type inference, NVVM, PTX to cubin, "
                                  "module load, one launch", True)
VALUE = TimingMethod("value", "a measured value, not a time (limits, error counts)", False)
TIMING_METHODS: tuple[TimingMethod, ...] = (GRAPH, GRAPH_COLD, BATCH, SINGLE, EVENTS, WALL, ASYNC_WALL, ENQUEUE,
                                            COMPILE, VALUE)


@dataclass(frozen=True)
class Metric:
    """One asv benchmark method of a family; ``derive`` turns the family's measurement into it."""

    method: str  # asv method name, e.g. "track_device_time"
    unit: str  # "seconds", "GB/s", "MHz", ...
    what: str
    kind: str = "time"  # time | bandwidth | compute | value | clock | throttle: what the report and gate read

    @property
    def asv_type(self) -> str:
        return "time" if self.unit == UNIT_SECONDS else "track"

    @property
    def is_speed(self) -> bool:
        """Times and rates can get slower; ids, flags, counts, limits and clocks cannot."""
        return self.unit == UNIT_SECONDS or "/s" in self.unit


DEVICE_TIME = Metric("track_device_time", UNIT_SECONDS, "device seconds per operation")
BANDWIDTH = Metric("track_bandwidth", UNIT_GBS, "bytes moved / device time, per sample", "bandwidth")
COMPUTE = Metric("track_compute", UNIT_GFLOPS, "flops / device time, per sample", "compute")
WALL_TIME = Metric("track_seconds", UNIT_SECONDS, "seconds per call")
# NVML around the samples of device-bound families (gpukernels.clocks); NaN where not recorded.
SM_CLOCK = Metric("track_sm_clock", "MHz", "SM clock read by NVML between samples", "clock")
THROTTLE = Metric("track_throttle", "flags", "NVML readings with a slowdown reason or SM clock below 75% "
                                             "of default (0 = clean)", "throttle")
DEVICE_METRICS = (DEVICE_TIME, BANDWIDTH, SM_CLOCK, THROTTLE)
COMPUTE_METRICS = (DEVICE_TIME, COMPUTE, BANDWIDTH, SM_CLOCK, THROTTLE)


def value_metric(method: str, unit: str, what: str) -> Metric:
    """A metric that is a measured number, not a time (a limit, an error count, an id)."""
    return Metric(method, unit, what, "value")
