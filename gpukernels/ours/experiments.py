"""The tutorial's experiments on the vector add: variants, block sizes, timing methods, the seed
audit, end to end, and the JIT's cost. Families of our suite, written with the public API."""
from __future__ import annotations

import time

import numpy as np
from numba import cuda

from .. import devices, timing
from ..measure import Context, Measured
from ..suite import (BATCH, COMPILE, DEVICE_METRICS, DEVICE_TIME, GRAPH, GRAPH_COLD, SINGLE, WALL, WALL_TIME,
                     ASYNC_WALL, Family, TimingMethod)
from . import kernels
from .vector_add import SIZES, VARIANTS, VECTOR_ADD, VectorAddPairs, VectorAddSeed

SEED_N, SEED_BLOCK = 2**20, 4
MODES: dict[str, TimingMethod] = {"single": SINGLE, "batch": BATCH, "graph": GRAPH, "graph_cold": GRAPH_COLD}
SEED_METHODS: dict[str, TimingMethod] = {"seed_async_wall": ASYNC_WALL, "synced_wall": WALL,
                                         "graph_device": GRAPH, "end_to_end": WALL}


def _moved(n: int, **_: object) -> float:
    return VECTOR_ADD.bytes(n=n)


def _checked_time(ctx: Context, work: VectorAddSeed, **kwargs) -> Measured:
    work.check()
    return Measured(ctx.device_time(work.launch, work.n, **kwargs), VECTOR_ADD.bytes(n=work.n))


def variants(ctx: Context, variant: str, n: int) -> Measured:
    ctx.require_elements(n)
    return _checked_time(ctx, VARIANTS[variant](n=n))


def block(ctx: Context, n: int, block: int) -> Measured:
    ctx.require_elements(n)
    return _checked_time(ctx, VectorAddSeed(n, block))


def modes(ctx: Context, n: int, mode: str) -> Measured:
    ctx.require_elements(n)
    cold = mode == "graph_cold"
    launches = 1 if cold or mode == "single" else None
    return _checked_time(ctx, VectorAddSeed(n), mode="graph" if cold else mode, cold=cold, launches=launches)


def seed_audit(ctx: Context, method: str) -> Measured:
    ctx.require_elements(SEED_N)
    w = VectorAddSeed(SEED_N, SEED_BLOCK)
    w.check()
    if method == "seed_async_wall":
        # The tutorial's clock: read right after an asynchronous launch (wrong on purpose).
        def seed_style() -> float:
            t0 = time.time()
            w.launch()
            t = time.time() - t0
            cuda.synchronize()  # let the kernel finish before the next sample
            return t
        seed_style()
        return Measured(timing.Timing(tuple(seed_style() for _ in range(ctx.policy.host_samples)), "async_wall"))
    if method == "synced_wall":
        return Measured(ctx.wall(w.launch))
    if method == "graph_device":
        return Measured(ctx.device_time(w.launch, SEED_N))
    out = np.empty_like(w.b_host)

    def round_trip() -> None:
        w.a.copy_to_device(w.a_host)
        w.b.copy_to_device(w.b_host)
        w.launch()
        w.b.copy_to_host(out)
    return Measured(ctx.wall(round_trip))


def end_to_end(ctx: Context, memory: str, n: int) -> Measured:
    """Host a, b -> device, the pairs kernel, device b -> host, pageable or pinned host memory."""
    ctx.require_elements(n)
    work = VectorAddPairs(n=n)
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
    return Measured(ctx.wall(round_trip))


def compile_seed(ctx: Context) -> Measured:
    w = VectorAddSeed(2**10)
    samples = 1 if devices.simulated() else 3
    return Measured(timing.compile_time(kernels.vector_add_py, lambda: (w.a, w.b), w.config.grid, w.config.block,
                                        samples=samples))


VARIANTS_FAMILY = Family("kernels", "VectorAddVariants", "vector add variants: the fastest b += a Numba can express",
                         (("variant", tuple(VARIANTS)), ("n", (2**20, 2**24, 2**28))), variants, GRAPH, DEVICE_METRICS,
                         moved=_moved, streaming=True)
BLOCK_FAMILY = Family("kernels", "VectorAddBlock", "the tutorial's kernel from 4 to 1024 threads per block",
                      (("n", (2**20, 2**24, 2**28)), ("block", (4, 32, 128, 256, 1024))), block, GRAPH, DEVICE_METRICS,
                      moved=_moved)
MODES_FAMILY = Family("modes", "VectorAdd", "one kernel (the tutorial's, block 256) under each timing method",
                      (("n", (2**10, 2**20, 2**24, 2**28)), ("mode", tuple(MODES))), modes,
                      lambda n, mode: MODES[mode], (DEVICE_TIME,), moved=_moved)
SEED_FAMILY = Family("seed", "SeedAudit", f"the tutorial's experiment (n = 2^20, block {SEED_BLOCK}) timed four ways",
                     (("method", tuple(SEED_METHODS)),), seed_audit, lambda method: SEED_METHODS[method], (WALL_TIME,))
END_TO_END_FAMILY = Family("end_to_end", "VectorAdd", "host a, b in, copies, kernel (pairs), host b out",
                           (("memory", ("pageable", "pinned")), ("n", SIZES)), end_to_end, WALL, (WALL_TIME,))
COMPILE_FAMILY = Family("compile", "Compile", "JIT compile + first launch of a fresh vector-add dispatcher",
                        (), compile_seed, COMPILE, (WALL_TIME,))
FAMILIES = (VARIANTS_FAMILY, BLOCK_FAMILY, MODES_FAMILY, SEED_FAMILY, END_TO_END_FAMILY, COMPILE_FAMILY)
