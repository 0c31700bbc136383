"""Launch costs: enqueue, launch + sync round trip, graph replay, by kernel argument count."""
import numpy as np
from numba import cuda

from gpukernels import kernels, timing
from gpukernels.probes import SEED_GRIDS

from .common import require_gpu, sim_or


class LaunchCost:
    params = [[0, 1, 3, 8]]
    param_names = ["nargs"]
    type = "time"
    unit = "seconds"

    def setup(self, nargs):
        require_gpu(0)
        kern = kernels.EMPTY_BY_NARGS[nargs]
        args = (cuda.device_array(1, dtype=np.float32),) * nargs
        self.launch = lambda stream=0: kern[1, 1, stream](*args)

    def track_enqueue(self, nargs):
        """Host seconds per launch, no synchronisation: what the Python call itself costs."""
        return timing.enqueue_time(self.launch, launches=sim_or(3, 200), samples=sim_or(3, 20)).asv()

    def track_roundtrip(self, nargs):
        """Launch, then wait for the device: the latency a synchronous caller sees."""
        return timing.wall_time(lambda: (self.launch(), cuda.synchronize()), samples=sim_or(3, 50)).asv()

    def track_graph_replay(self, nargs):
        """Device seconds per kernel when 100 launches replay from a CUDA graph."""
        return timing.device_time(self.launch, "graph", samples=sim_or(3, 30), launches=sim_or(2, 100)).asv()


class SeedGrids:
    """The tutorial's grids on the empty kernel (2**30 x 2**10 = 2**40 threads)."""

    params = [["[2,4]", "[2**30,1]", "[2**30,2**10]"]]
    param_names = ["grid"]
    type = "time"
    unit = "seconds"
    timeout = 300

    def setup(self, grid):
        require_gpu(0)
        self.grid, self.block = SEED_GRIDS[grid]
        if self.grid > 2 and sim_or(True, False):
            raise NotImplementedError("simulator: 2**30 blocks would take days")

    def track_launch_and_sync(self, grid):
        def run():
            kernels.empty0[self.grid, self.block]()
            cuda.synchronize()
        return timing.wall_time(run, samples=3 if self.grid > 2 else 20).asv()
