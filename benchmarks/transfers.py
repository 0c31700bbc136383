"""Copy bandwidth: host<->device pageable and pinned, and device-to-device (the ceiling)."""
from gpukernels import timing
from gpukernels.workloads import COPY_KINDS, gbs

from .common import copy, require_gpu, sim_or


class Transfers:
    params = [list(COPY_KINDS), [2**20, 2**24, 2**28, 2**30]]
    param_names = ["kind", "nbytes"]
    type = "track"
    unit = "GB/s"

    def setup(self, kind, nbytes):
        require_gpu(0, nbytes // 4)
        self.copy = copy(kind, nbytes)

    def track_bandwidth(self, kind, nbytes):
        """GB/s from the median event-timed copy; d2d counts bytes read + written."""
        t = timing.device_time(self.copy.launch, "batch", launches=1, samples=sim_or(3, 10))
        return gbs(self.copy.bytes_moved, t.median_s)
