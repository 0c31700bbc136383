"""Shared parameters and set-up for the asv suite.

asv spawns a process per parameter set and (asv_runner 0.3) re-runs ``setup`` between the
samples of a ``time_`` benchmark, so prepared problems are memoised per process: set-up work
(allocation, input generation, the NumPy check) happens once, never inside a sample.
Nothing here touches CUDA at import time.
"""
from __future__ import annotations

import functools

from gpukernels import devices
from gpukernels.workloads import Copy, VectorAdd, WontFit

SIZES = [2**e for e in range(10, 29, 2)]  # 2^10 .. 2^28, every power of 4
DEVICES = [0, 1]  # fixed on every machine so ids match; absent indices skip
SIM_MAX_N = 2**10  # the simulator runs each thread in Python: smoke sizes only


def sim_or(sim_value, gpu_value):
    return sim_value if devices.state() == "simulator" else gpu_value


def require_gpu(device: int = 0, n: int | None = None) -> None:
    """Select ``device`` or skip (NotImplementedError, asv's skip) with the reason."""
    state = devices.state()
    if state == "none":
        raise NotImplementedError("no CUDA GPU and NUMBA_ENABLE_CUDASIM is not set")
    if state == "simulator" and n is not None and n > SIM_MAX_N:
        raise NotImplementedError(f"simulator: smoke sizes only (n <= {SIM_MAX_N})")
    if device >= devices.count():
        raise NotImplementedError(f"device {device} absent: this machine has {devices.count()}")
    devices.select(device)


def launches_for(n: int) -> int:
    """Launches per graph or batch sample: about 2^26 elements of work, 1 to 100 launches."""
    return sim_or(2, max(1, min(100, 2**26 // max(n, 1))))


@functools.lru_cache(maxsize=4)
def vector_add(n: int, block: int = 256, variant: str = "seed_256", device: int = 0) -> VectorAdd:
    """A checked vector-add problem, made once per process (device must already be selected)."""
    try:
        work = VectorAdd(n, block, variant)
    except WontFit as exc:
        raise NotImplementedError(str(exc)) from exc
    work.check()
    return work


@functools.lru_cache(maxsize=2)
def copy(kind: str, nbytes: int) -> Copy:
    try:
        return Copy(kind, nbytes)
    except WontFit as exc:
        raise NotImplementedError(str(exc)) from exc
