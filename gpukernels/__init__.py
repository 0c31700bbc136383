"""gpukernels: benchmark your Numba CUDA kernels honestly, with asv history, peers and a gate.

The public API (everything a project needs to benchmark its own kernels; docs/api.md)::

    from gpukernels import Suite, Op, DeviceProblem, HostProblem, Peer, CUPY, TORCH
    from gpukernels.asv_classes import classes      # in the project's benchmarks/<area>.py

The engine, in the order data flows: ``suite`` (ops with named axes, families, metrics, timing
methods), ``problems`` (checked device problems, host baselines, peers), ``launch`` (launch
configurations, limits, PreparedLaunch), ``timing`` (CUDA events, graph replay, wall time: the
one Policy), ``measure`` (one measurement per family, every metric derived from it, versions),
``asv_classes`` (asv classes from a suite), ``results`` (the one reader of results/), ``report``,
``compare`` (the gate) and ``continuous`` (same-session A/B). ``vectors`` gives Numba kernels
16- and 8-byte loads. ``gpukernels.ours`` is this project's own suite, built on the same API.
Importing the package touches no CUDA driver and imports numba only for the names that need it.
"""
from __future__ import annotations

import importlib

__version__ = "0.2.0"

# name -> module: loaded on first use, so ``import gpukernels`` stays light for the report's CLI
_PUBLIC = {
    "Suite": "suite", "Op": "suite", "Family": "suite", "Metric": "suite", "TimingMethod": "suite",
    "DEVICE_TIME": "suite", "BANDWIDTH": "suite", "COMPUTE": "suite", "WALL_TIME": "suite",
    "DEVICE_METRICS": "suite", "GRAPH": "suite", "WALL": "suite", "value_metric": "suite",
    "DeviceProblem": "problems", "HostProblem": "problems", "Peer": "problems", "CUPY": "problems",
    "TORCH": "problems", "SharedInputs": "problems", "host_inputs": "problems",
    "Context": "measure", "Measured": "measure", "Skip": "measure",
    "Policy": "timing", "device_time": "timing", "wall_time": "timing",
    "PreparedLaunch": "launch", "grid_for": "launch", "validate": "launch",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'gpukernels' has no attribute {name!r}")
