"""End to end: host arrays in, the result back on the host (copies + kernel), wall time."""
import functools

import numpy as np
from numba import cuda

from gpukernels import timing

from .common import SIZES, require_gpu, vector_add


def round_trip(work, a, b, out):
    """Host a, b -> device, kernel, device b -> host out."""
    work.a.copy_to_device(a)
    work.b.copy_to_device(b)
    work.launch()
    work.b.copy_to_host(out)


@functools.lru_cache(maxsize=1)
def host_buffers(n, memory):
    """Host a, b and an output buffer, pageable (NumPy) or pinned (page-locked), checked once
    per process (asv_runner 0.3 re-runs setup before every sample)."""
    work = vector_add(n)
    if memory == "pageable":
        bufs = work.a_host, work.b_host, np.empty_like(work.b_host)
    else:
        bufs = tuple(cuda.pinned_array(n, dtype=work.a_host.dtype) for _ in range(3))
        bufs[0][:], bufs[1][:] = work.a_host, work.b_host
    round_trip(work, *bufs)
    np.testing.assert_allclose(bufs[2], bufs[0] + bufs[1], rtol=1e-6)
    return bufs


class EndToEnd:
    repeat = (3, 10, 5.0)  # 3 to 10 samples a round, at most ~5 s: keeps 2^28 rounds short
    params = [SIZES, ["pageable", "pinned"]]
    param_names = ["n", "memory"]
    timer = staticmethod(timing.synced_perf_counter)

    def setup(self, n, memory):
        require_gpu(0, n)
        self.work = vector_add(n)
        self.bufs = host_buffers(n, memory)

    def time_roundtrip(self, n, memory):
        round_trip(self.work, *self.bufs)
