"""JIT compile time of the vector add's first call, on its own (no on-disk cache)."""
from gpukernels import kernels, timing
from gpukernels.workloads import VectorAdd

from .common import require_gpu, sim_or


class Compile:
    type = "time"
    unit = "seconds"
    timeout = 300

    def setup(self):
        require_gpu(0)
        self.work = VectorAdd(2**10)

    def track_first_call(self):
        """A fresh dispatcher's first call: type inference, NVVM, PTX -> cubin, load, one launch."""
        w = self.work
        return timing.compile_time(kernels.vector_add_py, lambda: (w.a, w.b), w.config.grid, w.config.block,
                                   samples=sim_or(1, 3)).asv()
