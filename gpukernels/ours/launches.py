"""What a launch costs: the host's enqueue by launch path and argument count, a launch with a
sync, and the tutorial's grids. Families of our suite, written with the public API."""
from __future__ import annotations

from typing import Callable

import numpy as np
from numba import cuda

from .. import timing
from ..devices import simulated
from ..launch import PreparedLaunch, grid_for
from ..measure import Context, Measured, Skip
from ..problems import CUPY, TORCH
from ..suite import ENQUEUE, WALL, WALL_TIME, Family
from . import kernels
from .probes import SEED_GRIDS

LAUNCH_PATHS: dict[str, str] = {
    "dispatcher": "kernel[grid, block](*args): numba's dispatcher, types resolved at each call",
    "dispatcher_eager": "the same, on a kernel compiled eagerly for a signature",
    "prepared": "gpukernels.launch.PreparedLaunch: arguments bound once, cuLaunchKernel",
    "graph_replay": "one kernel's share of a replayed CUDA graph of 100 launches (host side)",
    "cupy": "cupy.RawKernel with the same arguments",
    "torch": "a PyTorch op with that many tensor arguments (zero_ for 1, add out= for 3)",
}
NARGS = (0, 1, 3, 8)
GRIDS = ("[2,4]", "[2**30,1]", "[2**30,2**10]")


def _empty_args(nargs: int) -> tuple:
    return (cuda.device_array(1, dtype=np.float32),) * nargs


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


def _enqueue_in_turn(ctx: Context, nargs: int) -> dict[str, timing.Timing | Exception]:
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
        out[path] = timing.Timing(tuple(samples[path]), "enqueue", per_sample=per_sample[path] * per_call)
    return out


def _cupy_empty(nargs: int, args: tuple) -> Callable[[], None]:
    cp = CUPY.load()
    params = ", ".join(f"float* a{i}" for i in range(nargs))
    kern = cp.RawKernel(f'extern "C" __global__ void empty{nargs}({params}) {{}}', f"empty{nargs}")
    arrays = tuple(cp.asarray(a) for a in args)
    return lambda: kern((1,), (1,), arrays)


def _torch_op(nargs: int) -> Callable[[], None]:
    torch = TORCH.load()
    x, y, z = (torch.zeros(1, device="cuda") for _ in range(3))
    if nargs == 1:
        return x.zero_
    if nargs == 3:
        return lambda: torch.add(x, y, out=z)
    raise Skip(f"no single PyTorch op takes {nargs} tensor arguments")


def roundtrip(ctx: Context, nargs: int) -> Measured:
    kern, args = kernels.EMPTY_BY_NARGS[nargs], _empty_args(nargs)
    return Measured(ctx.wall(lambda: kern[1, 1](*args)))


def seed_grids(ctx: Context, grid: str) -> Measured:
    g, b = SEED_GRIDS[grid]
    if g > 2 and simulated():
        raise Skip("simulator: 2**30 blocks would take days")
    if g > 2:  # 2^30 blocks take ~0.7 s a launch: 3 samples
        return Measured(timing.wall_time(lambda: kernels.empty0[g, b](), samples=3))
    return Measured(ctx.wall(lambda: kernels.empty0[g, b]()))


ENQUEUE_FAMILY = Family("launches", "Enqueue", "host seconds per launch call by launch path and kernel argument count",
                        (("path", tuple(LAUNCH_PATHS)), ("nargs", NARGS)), enqueue, ENQUEUE, (WALL_TIME,))
ROUNDTRIP_FAMILY = Family("launches", "Roundtrip", "an empty kernel launched, then the device synchronised",
                          (("nargs", NARGS),), roundtrip, WALL, (WALL_TIME,))
GRIDS_FAMILY = Family("launches", "SeedGrids", "the tutorial's grids on the empty kernel, launch + sync",
                      (("grid", GRIDS),), seed_grids, WALL, (WALL_TIME,))
FAMILIES = (ENQUEUE_FAMILY, ROUNDTRIP_FAMILY, GRIDS_FAMILY)
