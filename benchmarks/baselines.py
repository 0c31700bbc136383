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


class CpuParallelAdd:
    """``@njit(parallel=True)`` on every core the process may use."""
    repeat = (3, 10, 5.0)  # 3 to 10 samples a round, at most ~5 s: keeps 2^28 rounds short

    params = [SIZES]
    param_names = ["n"]

    def setup(self, n):
        self.a, b = inputs(n)
        self.b = b.copy()
        cpu_parallel_add(self.a, self.b)  # compile (or load from cache) outside the samples
        np.testing.assert_allclose(self.b, b + self.a, rtol=1e-6)

    def time_add(self, n):
        cpu_parallel_add(self.a, self.b)
