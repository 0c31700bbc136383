"""CPU baselines for the same work: NumPy's add and a multi-core Numba add.

No CUDA here, so these run on any machine; both are checked against each other in setup.
"""
import functools

import numpy as np
from numba import njit, prange

from gpukernels.workloads import host_inputs

from .common import SIZES


@njit(parallel=True, cache=True)
def cpu_parallel_add(a, b):
    for i in prange(b.size):
        b[i] += a[i]


@functools.lru_cache(maxsize=1)
def inputs(n):
    return host_inputs(n)


class NumpyAdd:
    repeat = (3, 10, 5.0)  # 3 to 10 samples a round, at most ~5 s: keeps 2^28 rounds short
    params = [SIZES]
    param_names = ["n"]

    def setup(self, n):
        self.a, self.b = inputs(n)

    def time_add(self, n):
        np.add(self.b, self.a, out=self.b)


@functools.lru_cache(maxsize=1)
def checked_cpu_inputs(n):
    """Inputs for the CPU-parallel add, compiled and checked against NumPy once per process
    (asv_runner 0.3 re-runs setup before every sample: the check must not repeat)."""
    a, b = inputs(n)
    out = b.copy()
    cpu_parallel_add(a, out)  # compile (or load from cache) outside the samples
    np.testing.assert_allclose(out, b + a, rtol=1e-6)
    return a, out


class CpuParallelAdd:
    """``@njit(parallel=True)`` on every core the process may use."""

    repeat = (3, 10, 5.0)  # 3 to 10 samples a round, at most ~5 s: keeps 2^28 rounds short
    params = [SIZES]
    param_names = ["n"]

    def setup(self, n):
        self.a, self.b = checked_cpu_inputs(n)

    def time_add(self, n):
        cpu_parallel_add(self.a, self.b)
