"""The tutorial's experiments as data: only what asv cannot store.

The ``gpu[2,4]`` index table, the driver's and our error strings for oversized launches
(``gpu[2**50,1]`` included), documented vs measured limits and the device list. Launch costs,
copy bandwidths and timing modes are asv benchmarks (gpukernels.ours.suite), so the report shows
each quantity once. ``measure_limit``, ``coverage_errors`` and ``SEED_GRIDS`` serve the
benchmarks too.

Each probe returns ``{"data": ..., "measured": bool, "note": str}``: ``measured`` is False
where a value is the documented one rather than found by a launch (the simulator would take
hours for a 2**31-block grid, so it reports the documented limits instead).
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
from numba import cuda

from .. import devices
from ..devices import simulated
from ..launch import DOCUMENTED_LIMITS, LaunchConfigError, validate
from . import kernels


def _probe(data, measured: bool = True, note: str = "") -> dict:
    return {"data": data, "measured": measured, "note": note}


def record_launch(grid, block) -> np.ndarray:
    """Launch ``record_indices`` on (grid, block); one row per thread (see kernels.INDEX_FIELDS)."""
    cfg = validate(grid, block)
    out = cuda.to_device(np.zeros((cfg.threads, len(kernels.INDEX_FIELDS) + 1), dtype=np.int64))
    kernels.record_indices[cfg.grid, cfg.block](out)
    return out.copy_to_host()


def coverage_errors(grid, block) -> int:
    """Threads whose global id (threadIdx + blockIdx * blockDim per axis) is not hit exactly once."""
    return _count_coverage_errors(record_launch(grid, block), validate(grid, block))


def _count_coverage_errors(rows: np.ndarray, cfg) -> int:
    visits = rows[:, kernels.VISITS_COLUMN]
    gx = rows[:, 0] + rows[:, 3] * rows[:, 6]  # threadIdx.x + blockIdx.x * blockDim.x
    gy = rows[:, 1] + rows[:, 4] * rows[:, 7]
    gz = rows[:, 2] + rows[:, 5] * rows[:, 8]
    nx, ny = cfg.grid[0] * cfg.block[0], cfg.grid[1] * cfg.block[1]
    misplaced = (gx + gy * nx + gz * nx * ny) != np.arange(len(rows))
    return int(np.count_nonzero((visits != 1) | misplaced))


def index_mapping(grid=2, block=4) -> dict:
    """The tutorial's ``gpu[2,4]`` table: every thread's indices, and whether ids cover 0..N-1 once."""
    rows = record_launch(grid, block)
    cfg = validate(grid, block)
    one_d = cfg.grid[1:] == (1, 1) and cfg.block[1:] == (1, 1)
    table = []
    for t, r in enumerate(rows):
        if one_d:
            table.append({"thread": t, "threadIdx": int(r[0]), "blockIdx": int(r[3]),
                          "blockDim": int(r[6]), "gridDim": int(r[9])})
        else:
            table.append({"thread": t, "threadIdx": [int(v) for v in r[0:3]], "blockIdx": [int(v) for v in r[3:6]],
                          "blockDim": [int(v) for v in r[6:9]], "gridDim": [int(v) for v in r[9:12]]})
    return _probe({"launch": f"[{grid},{block}]", "rows": table,
                   "covered_once": _count_coverage_errors(rows, cfg) == 0})


def _raw_launch(grid, block) -> str:
    """Launch the empty kernel without our validation; '' on success, else the error it raised."""
    try:
        kernels.empty0[grid, block]()
        cuda.synchronize()
        return ""
    except Exception as exc:  # the driver's own answer is what we record
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


# (what, launch at the limit, launch one past it); limits come from the device attributes.
def _limit_cases(lim) -> list[tuple[str, int, Callable[[int], tuple]]]:
    return [
        ("grid x", lim.max_grid[0], lambda v: (v, 1)),
        ("grid y", lim.max_grid[1], lambda v: ((1, v), 1)),
        ("grid z", lim.max_grid[2], lambda v: ((1, 1, v), 1)),
        ("block x", lim.max_block[0], lambda v: (1, v)),
        ("block y", lim.max_block[1], lambda v: (1, (1, v))),
        ("block z", lim.max_block[2], lambda v: (1, (1, 1, v))),
        ("threads per block", lim.max_threads_per_block, lambda v: (1, (32, v // 32))),
    ]


def _past_limit(name: str, documented: int) -> int:
    """One past the limit: a block of 32 x (n / 32) threads needs 32 more threads, not 1."""
    return documented + (32 if name == "threads per block" else 1)


def measure_limit(what: str) -> dict:
    """Launch the empty kernel at a documented limit and one past it (real GPU only)."""
    lim = devices.info(devices.current_index()).limits
    for name, documented, shape in _limit_cases(lim):
        if name == what:
            t0 = time.perf_counter()
            at = _raw_launch(*shape(documented))
            past_value = _past_limit(name, documented)
            past = _raw_launch(*shape(past_value))
            return {"what": name, "documented": documented,
                    "measured": documented if not at else None,
                    "launch_at_limit": at or "ok", "launch_past_limit": past or "ok (limit not reached)",
                    "our_error_past_limit": _validation_message(*shape(past_value), lim),
                    "seconds": round(time.perf_counter() - t0, 3)}
    raise ValueError(f"unknown limit {what!r}")


def _validation_message(grid, block, lim) -> str:
    try:
        validate(grid, block, lim)
        return "accepted"
    except LaunchConfigError as exc:
        return str(exc)


def launch_limits() -> dict:
    """Documented vs measured grid and block limits, with what each oversized launch says."""
    if simulated():
        rows = [{"what": name, "documented": doc, "measured": None,
                 "our_error_past_limit": _validation_message(*shape(_past_limit(name, doc)), DOCUMENTED_LIMITS)}
                for name, doc, shape in _limit_cases(DOCUMENTED_LIMITS)]
        return _probe({"rows": rows}, measured=False,
                      note="simulator: documented limits, not launched (a 2**31-block grid would take hours)")
    return _probe({"rows": [measure_limit(name) for name, _, _ in _limit_cases(DOCUMENTED_LIMITS)]})


SEED_GRIDS = {"[2,4]": (2, 4), "[2**30,1]": (2**30, 1), "[2**30,2**10]": (2**30, 2**10), "[2**50,1]": (2**50, 1)}


def seed_claims() -> dict:
    """The tutorial's launches: 2**50 blocks must be refused with a named limit, the rest run."""
    rows = []
    sim = bool(simulated())
    for label, (grid, block) in SEED_GRIDS.items():
        row = {"launch": label, "our_check": _validation_message(grid, block, DOCUMENTED_LIMITS)}
        if row["our_check"] == "accepted" and not (sim and grid > 2):
            t0 = time.perf_counter()
            row["driver"] = _raw_launch(grid, block) or "ok"
            row["seconds"] = round(time.perf_counter() - t0, 3)
        elif row["our_check"] != "accepted" and not sim:
            row["driver"] = _raw_launch(grid, block)  # what the user would see without our check
        rows.append(row)
    return _probe(rows, measured=not sim, note="simulator: only [2,4] launched" if sim else "")


def _first_line(exc: BaseException) -> str:
    return (f"{type(exc).__name__}: {exc}".splitlines() or [type(exc).__name__])[0]


def _vector_add_error(n: int = 1000, block: int = 128) -> str:
    """The tutorial's kernel (b += a) on the current device against NumPy: '' when they agree."""
    a = np.arange(n, dtype=np.float32)
    b = np.full(n, 0.5, dtype=np.float32)
    d_a, d_b = cuda.to_device(a), cuda.to_device(b)
    kernels.vector_add[(n + block - 1) // block, block](d_a, d_b)
    wrong = np.count_nonzero(d_b.copy_to_host() != a + b)
    return f"{wrong} of {n} elements differ from NumPy" if wrong else ""


def device_selection() -> dict:
    """Select each device in turn and check vector add there against NumPy."""
    rows = []
    for i in range(devices.count()):
        d = devices.info(i)  # selects device i
        try:
            err = _vector_add_error()
        except Exception as exc:  # a device that cannot run it is the finding, not a crash
            err = _first_line(exc)
        rows.append({"device": i, "name": d.name, "uuid": d.uuid, "correct": not err, "error": err})
    devices.select(0)
    return _probe(rows)


def tuned_choice() -> dict:
    """Which kernel vector add's ``tuned`` picks at each suite size here, with every candidate's
    median time. Each benchmark process tunes again on its own arrays: this is one draw of the
    choice (close candidates can trade places), not the one behind a particular result."""
    from .vector_add import VECTOR_ADD, VectorAddTuned

    sizes = dict(VECTOR_ADD.axes)["n"]
    if simulated():
        sizes = sizes[:1]  # nothing is timed there: one size shows the fallback order
    rows = []
    for n in sizes:
        work = VectorAddTuned(n=n)
        rows.append({"n": n, "choice": work.choice, **{f"{k} us": round(v * 1e6, 3) for k, v in work.tuning.items()}})
        del work  # free the arrays before the next size (2^28 floats: 2 GiB)
    tuned = VectorAddTuned.tune
    return _probe(rows, measured=tuned, note="" if tuned else "simulator: nothing timed, the first candidate is taken")


def _anatomy_axes(op) -> dict[str, int]:
    """One size per op: the largest n not above 2^24 (one axis), else the smallest shape."""
    if len(op.axes) == 1:
        name, values = op.axes[0]
        return {name: max((v for v in values if v <= 2**24), default=min(values))}
    return {name: values[0] for name, values in op.axes}


def kernel_anatomy() -> dict:
    """Registers, shared and local memory, PTX access widths and theoretical occupancy of every
    kernel our implementations launch (peers skipped), at one size per op (gpukernels.anatomy)."""
    if simulated():
        return _probe({"rows": []}, measured=False, note="simulator: no PTX or registers")
    from ..anatomy import device_limits, suite_anatomy
    from .suite import SUITE

    limits = device_limits()
    return _probe({"rows": suite_anatomy(SUITE, _anatomy_axes, limits), "sm_limits": vars(limits)})


# vector add's tuned and torch, saxpy's and sum's numba and peers: ours beside nvbench's at 2^20 (in
# L2: the small-size comparison with the peers) and at three sizes from 2^24 (past L2 from 2^26)
CROSSCHECK_IMPLS = {"vector_add": ("tuned", "torch"), "saxpy": ("numba", "torch"), "sum": ("numba", "cupy", "torch")}
CROSSCHECK_SIZES = (2**20, 2**24, 2**26, 2**28)


def nvbench_crosscheck() -> dict:
    """Our graph and graph_cold times beside nvbench's batch and cold ones (gpukernels.crosscheck);
    raises NvbenchMissing where cuda.bench is absent (the probe is then listed as failed)."""
    if simulated():
        return _probe({"rows": []}, measured=False, note="simulator: nvbench needs a real GPU")
    from ..crosscheck import crosscheck
    from .suite import SUITE

    rows = crosscheck(SUITE, tuple(CROSSCHECK_IMPLS), CROSSCHECK_SIZES, CROSSCHECK_IMPLS)
    return _probe({"rows": rows})


# Probes in the order the CLI runs them; each takes no arguments and runs on the current device.
# Times, bandwidths and launch costs are asv benchmarks (ours/suite.py): a probe keeps only
# what asv cannot store (tables, error strings, documented vs measured limits).
PROBES: dict[str, Callable[[], dict]] = {
    "index_mapping": index_mapping,
    "launch_limits": launch_limits,
    "seed_claims": seed_claims,
    "tuned_choice": tuned_choice,
    "kernel_anatomy": kernel_anatomy,
    "nvbench_crosscheck": nvbench_crosscheck,
}


def run_all(device_indices: list[int] | None = None,
            progress: Callable[[str], None] = lambda msg: None,
            checkpoint: Callable[[dict], None] = lambda report: None) -> dict:
    """Every probe on each chosen device (all by default), plus device selection across them.

    A probe that raises is left out of ``probes`` and listed in ``failed`` (device, probe,
    error); the others still run. ``checkpoint(report)`` is called after each probe with what
    is known so far, so a caller can save it before a later probe takes the process down.
    """
    devices.require()
    indices = list(range(devices.count())) if device_indices is None else device_indices
    for i in indices:
        devices.select(i)  # fails with a clear message before any work if an index is absent
    report = {"machine": devices.machine_name(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "state": devices.state(), "versions": devices.versions(),
              "devices": [devices.info(i).as_dict() for i in indices],
              "probes": {}, "other_devices": {}, "failed": []}

    def attempt(device: int | None, name: str, probe: Callable[[], dict], into: dict) -> None:
        progress(f"device {device}: {name}" if device is not None else name)
        t0 = time.perf_counter()
        try:
            into[name] = {**probe(), "seconds": round(time.perf_counter() - t0, 2)}
        except Exception as exc:  # recorded with the reason; the remaining probes still run
            report["failed"].append({"device": device, "probe": name, "error": _first_line(exc)})
        checkpoint(report)

    # "probes" holds the first chosen device's; any others follow under "other_devices".
    for i in indices:
        into = report["probes"] if i == indices[0] else report["other_devices"].setdefault(str(i), {})
        try:
            devices.select(i)
        except Exception as exc:
            report["failed"].append({"device": i, "probe": "select", "error": _first_line(exc)})
            continue
        for name, probe in PROBES.items():
            attempt(i, name, probe, into)
    attempt(None, "device_selection", device_selection, report["probes"])
    return report
