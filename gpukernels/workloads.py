"""Prepared problems: device arrays, a validated launch, a NumPy check and the bytes moved.

Benchmarks and probes build one of these outside any timed region (rule: launch
configuration and allocation are never timed), check it against NumPy, then time ``launch``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import config, cuda

from . import kernels
from .launch import LaunchConfig, check_size, grid_for, grid_stride_for

# The fastest-vector-add search: name -> (kernel, elements per thread, grid-stride?).
VARIANTS: dict[str, tuple[Callable, int, bool]] = {
    "seed_256": (kernels.vector_add, 1, False),
    "grid_stride": (kernels.vector_add_grid_stride, 1, True),
    "per_thread_4": (kernels.vector_add_per_thread_4, 4, False),
    "per_thread_8": (kernels.vector_add_per_thread_8, 8, False),
}


class WontFit(RuntimeError):
    """The problem needs more device memory than is free."""


def host_inputs(n: int, dtype=np.float32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Reproducible inputs a, b of n elements in [0, 1)."""
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) in (np.float32, np.float64):  # generated in place: 2^28 floats in ~1 s
        return rng.random(n, dtype=dtype), rng.random(n, dtype=dtype)
    return rng.random(n).astype(dtype), rng.random(n).astype(dtype)


def require_device_bytes(nbytes: int) -> None:
    """Raise WontFit, with the numbers, when ``nbytes`` (plus 10% headroom) is not free."""
    if config.ENABLE_CUDASIM:
        return
    free, _ = cuda.current_context().get_memory_info()
    if nbytes * 1.1 > free:
        raise WontFit(f"needs {nbytes / 2**30:.2f} GiB of device memory, {free / 2**30:.2f} GiB free")


@dataclass
class VectorAdd:
    """``b += a`` on the device for n elements with one of VARIANTS at a block size."""

    n: int
    block: int = 256
    variant: str = "seed_256"
    dtype: type = np.float32

    def __post_init__(self) -> None:
        self.n = check_size(self.n)
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose from {sorted(VARIANTS)}")
        self.kernel, per_thread, stride = VARIANTS[self.variant]
        if stride:
            sms = 1 if config.ENABLE_CUDASIM else cuda.get_current_device().MULTIPROCESSOR_COUNT
            self.config: LaunchConfig = grid_stride_for(self.n, self.block, sms, blocks_per_sm=8)
        else:
            self.config = grid_for(-(-self.n // per_thread), self.block)
        self.a_host, self.b_host = host_inputs(self.n, self.dtype)
        require_device_bytes(2 * self.nbytes_per_array)
        self.a = cuda.to_device(self.a_host)
        self.b = cuda.to_device(self.b_host)

    @property
    def nbytes_per_array(self) -> int:
        return self.n * np.dtype(self.dtype).itemsize

    @property
    def bytes_moved(self) -> int:
        """Read a, read b, write b: 3 arrays' bytes per call (12 per element for float32)."""
        return 3 * self.nbytes_per_array

    def launch(self, stream=0) -> None:
        self.kernel[self.config.grid, self.config.block, stream](self.a, self.b)

    def check(self) -> None:
        """Run once from fresh inputs and compare with NumPy; leaves b as it was given."""
        self.launch()
        got = self.b.copy_to_host()
        np.testing.assert_allclose(got, self.b_host + self.a_host, rtol=1e-6,
                                   err_msg=f"vector add {self.variant} n={self.n} block={self.block}")
        self.b.copy_to_device(self.b_host)


# d2d is the driver's copy (cuMemcpyDtoDAsync); d2d_kernel is kernels.copy over 4-byte words.
COPY_KINDS = ("h2d_pageable", "h2d_pinned", "d2h_pageable", "d2h_pinned", "d2d", "d2d_kernel")


@dataclass
class Copy:
    """One copy of ``nbytes`` in the direction and host-memory kind named by ``kind``."""

    kind: str
    nbytes: int

    def __post_init__(self) -> None:
        if self.kind not in COPY_KINDS:
            raise ValueError(f"unknown copy kind {self.kind!r}; choose from {COPY_KINDS}")
        n = check_size(self.nbytes)
        if self.kind == "d2d_kernel" and n % 4:
            raise ValueError(f"d2d_kernel copies 4-byte words: nbytes must be a multiple of 4, got {n}")
        on_device = self.kind.startswith("d2d")
        require_device_bytes(2 * n if on_device else n)
        pinned = self.kind.endswith("pinned")
        self.host = cuda.pinned_array(n, dtype=np.uint8) if pinned else np.empty(n, dtype=np.uint8)
        self.host[:] = 1
        self.dev = cuda.to_device(self.host)
        self.dev2 = cuda.device_array(n, dtype=np.uint8) if on_device else None
        if self.kind == "d2d_kernel":
            sms = 1 if config.ENABLE_CUDASIM else cuda.get_current_device().MULTIPROCESSOR_COUNT
            self.config = grid_stride_for(n // 4, 256, sms, blocks_per_sm=8)
            self.words = self.dev.view(np.uint32), self.dev2.view(np.uint32)

    @property
    def bytes_moved(self) -> int:
        """D2D reads and writes every byte (counted twice, as copy benchmarks usually do)."""
        return 2 * self.nbytes if self.kind.startswith("d2d") else self.nbytes

    def launch(self, stream=0) -> None:
        if self.kind == "d2d_kernel":
            kernels.copy[self.config.grid, self.config.block, stream](*self.words)
        elif self.kind == "d2d":
            self.dev2.copy_to_device(self.dev, stream=stream)
        elif self.kind.startswith("h2d"):
            self.dev.copy_to_device(self.host, stream=stream)
        else:
            self.dev.copy_to_host(self.host, stream=stream)


def gbs(nbytes: int, seconds: float) -> float:
    """Bandwidth in GB/s (10^9 bytes per second)."""
    return nbytes / seconds / 1e9
