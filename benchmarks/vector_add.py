"""Vector add ``b[i] += a[i]`` (the tutorial's kernel) across sizes, block sizes, modes, variants."""
import time

from gpukernels import timing
from gpukernels.workloads import gbs

from .common import DEVICES, SIZES, launches_for, require_gpu, sim_or, vector_add


class VectorAdd:
    """The seed kernel at 256 threads per block on each device."""
    repeat = (3, 10, 5.0)  # 3 to 10 samples a round, at most ~5 s: keeps 2^28 rounds short

    params = [SIZES, DEVICES]
    param_names = ["n", "device"]
    timer = staticmethod(timing.synced_perf_counter)  # for time_call: waits for the GPU
    type = "time"
    unit = "seconds"

    def setup(self, n, device):
        require_gpu(device, n)
        self.work = vector_add(n, 256, "seed_256", device)

    def _graph(self):
        return timing.device_time(self.work.launch, "graph", samples=sim_or(3, 30),
                                  launches=launches_for(self.work.n))

    def track_device_time(self, n, device):
        """Device seconds per kernel, CUDA-graph replay, hot L2."""
        return self._graph().asv()

    def track_bandwidth(self, n, device):
        """GB/s = 12 bytes per element / median graph device time."""
        return gbs(self.work.bytes_moved, self._graph().median_s)

    track_bandwidth.type = "track"
    track_bandwidth.unit = "GB/s"

    def time_call(self, n, device):
        """Wall time a Python caller waits: one launch, then the device is synchronised."""
        self.work.launch()


class VectorAddBlock:
    """Block size from the tutorial's 4 threads to 1024, graph replay."""

    params = [[2**20, 2**24, 2**28], [4, 32, 128, 256, 1024]]
    param_names = ["n", "block"]
    type = "time"
    unit = "seconds"

    def setup(self, n, block):
        require_gpu(0, n)
        self.work = vector_add(n, block)

    def track_device_time(self, n, block):
        return timing.device_time(self.work.launch, "graph", samples=sim_or(3, 20),
                                  launches=launches_for(n)).asv()


class VectorAddModes:
    """One kernel, four ways of timing it: what each mode measures (see gpukernels.timing)."""

    params = [[2**10, 2**20, 2**24, 2**28], ["single", "batch", "graph", "graph_cold"]]
    param_names = ["n", "mode"]
    type = "time"
    unit = "seconds"

    def setup(self, n, mode):
        require_gpu(0, n)
        self.work = vector_add(n)

    def track_device_time(self, n, mode):
        cold = mode == "graph_cold"
        launches = 1 if cold else launches_for(n)
        return timing.device_time(self.work.launch, "graph" if cold else mode, samples=sim_or(3, 30),
                                  launches=launches, cold=cold).asv()


class VectorAddVariants:
    """The fastest vector add Numba can express: bandwidth of each variant, block 256."""

    params = [["seed_256", "grid_stride", "per_thread_4", "per_thread_8"], [2**24, 2**28]]
    param_names = ["variant", "n"]
    type = "track"
    unit = "GB/s"

    def setup(self, variant, n):
        require_gpu(0, n)
        self.work = vector_add(n, 256, variant)

    def track_bandwidth(self, variant, n):
        t = timing.device_time(self.work.launch, "graph", samples=sim_or(3, 30), launches=launches_for(n))
        return gbs(self.work.bytes_moved, t.median_s)


class SeedAudit:
    """The tutorial's experiment (N = 2^20, 4 threads per block) timed four ways."""

    params = [["seed_async_wall", "synced_wall", "graph_device", "end_to_end"]]
    param_names = ["method"]
    type = "time"
    unit = "seconds"
    N, BLOCK = 2**20, 4

    def setup(self, method):
        require_gpu(0, self.N)
        self.work = vector_add(self.N, self.BLOCK)

    def track_seconds(self, method):
        w = self.work
        samples = sim_or(3, 20)
        if method == "seed_async_wall":
            # The tutorial's clock: read right after an asynchronous launch (wrong on purpose).
            def seed_style():
                t0 = time.time()
                w.launch()
                t = time.time() - t0
                timing.synced_perf_counter()  # let the kernel finish before the next sample
                return t
            seed_style()
            return {"samples": [seed_style() for _ in range(samples)], "number": 1}
        if method == "synced_wall":
            return timing.wall_time(w.launch, samples=samples).asv()
        if method == "graph_device":
            return timing.device_time(w.launch, "graph", samples=samples, launches=sim_or(2, 10)).asv()
        out = w.b_host.copy()

        def round_trip():
            w.a.copy_to_device(w.a_host)
            w.b.copy_to_device(w.b_host)
            w.launch()
            w.b.copy_to_host(out)
        return timing.wall_time(round_trip, samples=samples).asv()
