"""The tutorial's experiments as tracked values: launch limits, index mapping, device choice."""
from gpukernels import devices, probes
from gpukernels.workloads import VectorAdd

from .common import DEVICES, require_gpu


def _require_real_gpu():
    require_gpu(0)
    if devices.state() == "simulator":
        raise NotImplementedError("simulator: launches at the device limits would take hours")


class GridLimits:
    params = [["x", "y", "z"]]
    param_names = ["dim"]
    unit = "blocks"
    timeout = 120

    def setup(self, dim):
        _require_real_gpu()

    def track_max_grid(self, dim):
        """The documented limit if a launch there succeeded and one past it failed, else NaN."""
        row = probes.measure_limit(f"grid {dim}")
        return row["measured"] if row["measured"] is not None else float("nan")


class BlockLimits:
    params = [["x", "y", "z"]]
    param_names = ["dim"]
    unit = "threads"

    def setup(self, dim):
        _require_real_gpu()

    def track_max_block(self, dim):
        row = probes.measure_limit(f"block {dim}")
        return row["measured"] if row["measured"] is not None else float("nan")


class IndexMapping:
    """Global ids from threadIdx + blockIdx * blockDim hit every element once (0 errors)."""

    params = [["1d", "2d", "3d"]]
    param_names = ["launch"]
    unit = "errors"
    LAUNCHES = {"1d": (2, 4), "2d": ((3, 2), (4, 2)), "3d": ((2, 2, 2), (2, 3, 4))}

    def setup(self, launch):
        require_gpu(0)

    def track_coverage_errors(self, launch):
        return probes.coverage_errors(*self.LAUNCHES[launch])


class DeviceSelection:
    """``select_device(i)`` then vector add on it: 1 when the result matches NumPy."""

    params = [DEVICES]
    param_names = ["device"]
    unit = "ok"

    def setup(self, device):
        require_gpu(device)

    def track_vector_add_correct(self, device):
        try:
            VectorAdd(1000, 128).check()
        except AssertionError:
            return 0
        return 1
