"""End to end: host arrays in, the result back on the host (copies + kernel), wall time."""
import functools

import numpy as np
from numba import cuda

from gpukernels import timing

from .common import SIZES, require_gpu, vector_add


@functools.lru_cache(maxsize=1)
def host_buffers(n, memory):
    """Host a, b and an output buffer, pageable (NumPy) or pinned (page-locked)."""
    work = vector_add(n)
    if memory == "pageable":
        return work.a_host, work.b_host, np.empty_like(work.b_host)
    bufs = [cuda.pinned_array(n, dtype=work.a_host.dtype) for _ in range(3)]
    bufs[0][:], bufs[1][:] = work.a_host, work.b_host
    return tuple(bufs)


class EndToEnd:
    repeat = (3, 10, 5.0)  # 3 to 10 samples a round, at most ~5 s: keeps 2^28 rounds short
    params = [SIZES, ["pageable", "pinned"]]
    param_names = ["n", "memory"]
    timer = staticmethod(timing.synced_perf_counter)

    def setup(self, n, memory):
        require_gpu(0, n)
        self.work = vector_add(n)
        self.a, self.b, self.out = host_buffers(n, memory)
        self.time_roundtrip(n, memory)
        np.testing.assert_allclose(self.out, self.a + self.b, rtol=1e-6)

    def time_roundtrip(self, n, memory):
        w = self.work
        w.a.copy_to_device(self.a)
        w.b.copy_to_device(self.b)
        w.launch()
        w.b.copy_to_host(self.out)
