"""The tutorial's experiments as functions that return data.

Each probe returns ``{"data": ..., "measured": bool, "note": str}``: ``measured`` is False
where a value is the documented one rather than found by a launch (the simulator would take
hours for a 2**31-block grid, so it reports the documented limits instead).
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
from numba import config, cuda

from . import devices, kernels, timing
from .launch import DOCUMENTED_LIMITS, LaunchConfigError, validate
from .workloads import COPY_KINDS, Copy, VectorAdd, gbs


SIM_NOTE = "simulator: host times of Python-simulated threads, not a GPU"


def _probe(data, measured: bool = True, note: str = "") -> dict:
    return {"data": data, "measured": measured, "note": note}


def _sim_or(sim_value, gpu_value):
    """The simulator runs every thread in Python: it gets tiny sizes and few repeats."""
    return sim_value if config.ENABLE_CUDASIM else gpu_value


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
    if config.ENABLE_CUDASIM:
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
    sim = bool(config.ENABLE_CUDASIM)
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


def device_selection() -> dict:
    """Select each device in turn and check vector add there against NumPy."""
    rows = []
    for i in range(devices.count()):
        d = devices.info(i)
        try:
            VectorAdd(1000, 128).check()
            ok, err = True, ""
        except AssertionError as exc:
            ok, err = False, str(exc).splitlines()[0]
        rows.append({"device": i, "name": d.name, "uuid": d.uuid, "correct": ok, "error": err})
    devices.select(0)
    return _probe(rows)


def launch_cost(samples: int | None = None) -> dict:
    """Enqueue per launch, launch + sync round trip and graph replay per kernel, by argument count."""
    sim = bool(config.ENABLE_CUDASIM)
    samples = samples or _sim_or(3, 10)
    arg = cuda.device_array(1, dtype=np.float32)
    rows = []
    for nargs, kern in kernels.EMPTY_BY_NARGS.items():
        args = (arg,) * nargs
        launch = lambda stream=0, k=kern, a=args: k[1, 1, stream](*a)  # noqa: E731
        enq = timing.enqueue_time(launch, launches=_sim_or(3, 200), samples=samples)
        rt = timing.wall_time(lambda l=launch: (l(), cuda.synchronize()), samples=samples)
        graph = timing.device_time(launch, "graph", samples=samples, launches=_sim_or(2, 100))
        rows.append({"nargs": nargs, "enqueue_us": enq.median_s * 1e6, "roundtrip_us": rt.median_s * 1e6,
                     "graph_replay_us": graph.median_s * 1e6})
    return _probe(rows, measured=not sim, note=_sim_or(SIM_NOTE, ""))


def copy_bandwidth(nbytes: int | None = None, samples: int | None = None) -> dict:
    """Copy bandwidth in GB/s for every kind (d2d counts bytes read + written): the ceilings."""
    nbytes = nbytes or _sim_or(2**16, 2**30)
    samples = samples or _sim_or(3, 10)
    rows = []
    for kind in COPY_KINDS:
        c = Copy(kind, nbytes)
        t = timing.device_time(c.launch, "batch", launches=1, samples=samples)
        rows.append({"kind": kind, "bytes": nbytes, "median_us": t.median_s * 1e6,
                     "gbs": gbs(c.bytes_moved, t.median_s)})
    return _probe(rows, measured=not config.ENABLE_CUDASIM, note=_sim_or(SIM_NOTE, ""))


def vector_add_modes(exponents: tuple[int, ...] | None = None, block: int = 256, samples: int | None = None) -> dict:
    """Vector add device time per launch in each timing mode, to show what each one measures."""
    exponents = exponents or _sim_or((4, 8), (10, 20, 24, 28))
    samples = samples or _sim_or(3, 10)
    rows = []
    for e in exponents:
        w = VectorAdd(2**e, block)
        w.check()
        row = {"n": f"2^{e}"}
        for mode in timing.MODES:
            launches = 1 if mode == "single" else _sim_or(2, max(2, min(100, 2**28 // 2**e)))
            row[f"{mode}_us"] = timing.device_time(w.launch, mode, samples=samples, launches=launches).median_s * 1e6
        rows.append(row)
    return _probe(rows, measured=not config.ENABLE_CUDASIM, note=_sim_or(SIM_NOTE, ""))


# Probes in the order the CLI runs them; each takes no arguments and runs on the current device.
PROBES: dict[str, Callable[[], dict]] = {
    "index_mapping": index_mapping,
    "launch_limits": launch_limits,
    "seed_claims": seed_claims,
    "launch_cost": launch_cost,
    "copy_bandwidth": copy_bandwidth,
    "vector_add_modes": vector_add_modes,
}


def run_all(device_indices: list[int] | None = None,
            progress: Callable[[str], None] = lambda msg: None) -> dict:
    """Every probe on each chosen device (all by default), plus device selection across them."""
    devices.require()
    indices = list(range(devices.count())) if device_indices is None else device_indices
    for i in indices:
        devices.select(i)  # fails with a clear message before any work if an index is absent
    report = {"machine": devices.machine_name(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "state": devices.state(), "versions": devices.versions(),
              "devices": [devices.info(i).as_dict() for i in indices]}
    per_device = {}
    for i in indices:
        devices.select(i)
        per_device[i] = {}
        for name, probe in PROBES.items():
            progress(f"device {i}: {name}")
            t0 = time.perf_counter()
            per_device[i][name] = probe()
            per_device[i][name]["seconds"] = round(time.perf_counter() - t0, 2)
    progress("device selection")
    # "probes" holds the first chosen device's; any others follow under "other_devices".
    report["probes"] = {**per_device.pop(indices[0]), "device_selection": device_selection()}
    report["other_devices"] = {str(i): p for i, p in per_device.items()}
    return report
