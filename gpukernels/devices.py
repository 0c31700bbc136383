"""Which GPUs exist, what they are, and choosing one.

Three states, each with a clear message: a real GPU, the CUDA simulator
(NUMBA_ENABLE_CUDASIM=1), or none. Nothing here touches the driver at import time.
"""
from __future__ import annotations

import importlib.metadata
from dataclasses import asdict, dataclass
from typing import Literal

from numba import config, cuda

from .launch import DOCUMENTED_LIMITS, Limits

State = Literal["gpu", "simulator", "none"]


class NoGPUError(RuntimeError):
    """No usable CUDA GPU (and the simulator is off), or the requested index is absent."""


def state() -> State:
    """'simulator' when NUMBA_ENABLE_CUDASIM=1, 'gpu' when the driver sees a device, else 'none'."""
    if simulated():
        return "simulator"
    try:
        return "gpu" if cuda.is_available() and len(cuda.gpus) > 0 else "none"
    except Exception:  # a broken driver install counts as no GPU, with the message below
        return "none"


def simulated() -> bool:
    """Whether numba runs kernels on the CUDA simulator (NUMBA_ENABLE_CUDASIM=1, read once by numba)."""
    return bool(config.ENABLE_CUDASIM)


def count() -> int:
    """Number of devices numba can use (1 under the simulator, 0 without a GPU)."""
    s = state()
    return 0 if s == "none" else len(cuda.gpus)


def require() -> State:
    """Return the state, or raise NoGPUError with one line a user can act on."""
    s = state()
    if s == "none":
        raise NoGPUError(
            "no CUDA GPU found (no NVIDIA driver or no visible device); "
            "run on a GPU machine, or set NUMBA_ENABLE_CUDASIM=1 for the CUDA simulator"
        )
    return s


def current_index() -> int:
    """Index of the current device (0 under the simulator)."""
    return 0 if simulated() else int(cuda.get_current_device().id)


def machine_name() -> str:
    """asv machine name that says the GPU: 'h100-80gb-hbm3', with '-x2' etc. for several."""
    if state() == "simulator":
        return "cuda-simulator"
    name = info(0).name.lower().replace("nvidia", "").strip()
    slug = "-".join("".join(c if c.isalnum() else " " for c in name).split())
    n = count()
    return slug + (f"-x{n}" if n > 1 else "")


def select(index: int) -> None:
    """Make device ``index`` current (cuda.select_device), with a clear error if it is absent."""
    require()
    n = count()
    if not 0 <= index < n:
        raise NoGPUError(f"device index {index} is absent: this machine has {n} device(s), 0..{n - 1}")
    cuda.select_device(index)


@dataclass(frozen=True)
class DeviceInfo:
    """deviceQuery-class attributes of one device (clocks in MHz, sizes in bytes)."""

    index: int
    name: str
    uuid: str
    compute_capability: str
    sm_count: int
    sm_clock_mhz: float
    memory_clock_mhz: float
    memory_bus_bits: int
    l2_bytes: int
    total_memory_bytes: int
    max_threads_per_block: int
    max_block: tuple[int, int, int]
    max_grid: tuple[int, int, int]
    simulated: bool = False

    @property
    def memory_bandwidth_gbs(self) -> float:
        """Theoretical peak: 2 (DDR) x memory clock x bus width / 8, in GB/s (10^9 B/s)."""
        return 2 * self.memory_clock_mhz * 1e6 * self.memory_bus_bits / 8 / 1e9

    @property
    def limits(self) -> Limits:
        return Limits(self.max_grid, self.max_block, self.max_threads_per_block)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["memory_bandwidth_gbs"] = round(self.memory_bandwidth_gbs, 1)
        return d


def info(index: int = 0) -> DeviceInfo:
    """Attributes of device ``index`` (selects it). The simulator reports documented limits."""
    select(index)
    if state() == "simulator":
        lim = DOCUMENTED_LIMITS
        return DeviceInfo(index, "CUDA simulator", cuda.gpus[0].device.uuid, "5.2", 1, 0.0, 0.0, 0, 0, 0,
                          lim.max_threads_per_block, lim.max_block, lim.max_grid, simulated=True)
    dev = cuda.get_current_device()
    _, total = cuda.current_context().get_memory_info()
    cc = dev.compute_capability
    return DeviceInfo(
        index=index,
        name=dev.name if isinstance(dev.name, str) else dev.name.decode(),
        uuid=dev.uuid,
        compute_capability=f"{cc[0]}.{cc[1]}",
        sm_count=dev.MULTIPROCESSOR_COUNT,
        sm_clock_mhz=dev.CLOCK_RATE / 1e3,  # attributes are in kHz
        memory_clock_mhz=dev.MEMORY_CLOCK_RATE / 1e3,
        memory_bus_bits=dev.GLOBAL_MEMORY_BUS_WIDTH,
        l2_bytes=dev.L2_CACHE_SIZE,
        total_memory_bytes=int(total),
        max_threads_per_block=dev.MAX_THREADS_PER_BLOCK,
        max_block=(dev.MAX_BLOCK_DIM_X, dev.MAX_BLOCK_DIM_Y, dev.MAX_BLOCK_DIM_Z),
        max_grid=(dev.MAX_GRID_DIM_X, dev.MAX_GRID_DIM_Y, dev.MAX_GRID_DIM_Z),
    )


def versions() -> dict[str, str]:
    """Driver and CUDA runtime versions ("13.0") and the numba-cuda package version."""
    out = {"numba_cuda": importlib.metadata.version("numba-cuda"), "driver": "", "cuda_runtime": ""}
    if state() == "gpu":
        from numba.cuda.cudadrv import driver, runtime

        out["driver"] = "%d.%d" % driver.driver.get_version()
        out["cuda_runtime"] = "%d.%d" % runtime.runtime.get_version()
    return out
