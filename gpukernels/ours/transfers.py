"""Copies host<->device (pageable, pinned) and on the device: the streaming ceiling of the run."""
from __future__ import annotations

import numpy as np
from numba import cuda

from ..launch import check_size, grid_stride_for
from ..measure import Context, Measured
from ..problems import require_device_bytes, sm_count
from ..suite import DEVICE_METRICS, EVENTS, Family, TimingMethod
from . import kernels

COPY_KINDS = ("h2d_pageable", "h2d_pinned", "d2h_pageable", "d2h_pinned", "d2d", "d2d_kernel")
NBYTES = (2**20, 2**24, 2**28, 2**30)
# A copy of 2^28 bytes or more on the device lasts 100 us and longer: the call's host latency
# (a few us) is inside the noise, so the event pair measures the device. Smaller device copies,
# and every copy through host memory (the host's memcpy, the PCIe link), are host-bound.
EVENTS_LONG = TimingMethod("events_long", "one device-to-device copy of 2^28 bytes or more between two CUDA "
                                          "events: the host latency is under the noise", False)


def copy_timing(kind: str, nbytes: int) -> TimingMethod:
    return EVENTS_LONG if kind.startswith("d2d") and nbytes >= 2**28 else EVENTS


def copy_bytes(kind: str, nbytes: int) -> int:
    """Bytes moved: read + written (2 x nbytes) on the device, as copy benchmarks count them."""
    return 2 * nbytes if kind.startswith("d2d") else nbytes


class Copy:
    """One copy of ``nbytes`` in the direction and host-memory kind named by ``kind``.

    d2d is the driver's copy (cuMemcpyDtoDAsync); d2d_kernel is kernels.copy over 4-byte words.
    """

    def __init__(self, kind: str, nbytes: int) -> None:
        if kind not in COPY_KINDS:
            raise ValueError(f"unknown copy kind {kind!r}; choose from {COPY_KINDS}")
        n = check_size(nbytes)
        if kind == "d2d_kernel" and n % 4:
            raise ValueError(f"d2d_kernel copies 4-byte words: nbytes must be a multiple of 4, got {n}")
        self.kind, self.nbytes = kind, n
        on_device = kind.startswith("d2d")
        require_device_bytes(2 * n if on_device else n)
        pinned = kind.endswith("pinned")
        self.host = cuda.pinned_array(n, dtype=np.uint8) if pinned else np.empty(n, dtype=np.uint8)
        self.host[:] = 1
        self.dev = cuda.to_device(self.host)
        self.dev2 = cuda.device_array(n, dtype=np.uint8) if on_device else None
        if kind == "d2d_kernel":
            self.config = grid_stride_for(n // 4, 256, sm_count(), blocks_per_sm=8)
            self.words = self.dev.view(np.uint32), self.dev2.view(np.uint32)
        self.bytes_moved = copy_bytes(kind, n)

    def launch(self, stream: object = 0) -> None:
        if self.kind == "d2d_kernel":
            kernels.copy[self.config.grid, self.config.block, stream](*self.words)
        elif self.kind == "d2d":
            self.dev2.copy_to_device(self.dev, stream=stream)
        elif self.kind.startswith("h2d"):
            self.dev.copy_to_device(self.host, stream=stream)
        else:
            self.dev.copy_to_host(self.host, stream=stream)

    def check(self) -> None:
        """The copy lands: destination bytes equal the source's."""
        self.launch()
        cuda.synchronize()
        if self.kind.startswith("d2d"):
            ok = np.array_equal(self.dev2.copy_to_host(), self.dev.copy_to_host())
        else:
            ok = np.array_equal(self.dev.copy_to_host(), self.host)
        if not ok:
            raise AssertionError(f"copy {self.kind} of {self.nbytes} bytes did not land")


def copies(ctx: Context, kind: str, nbytes: int) -> Measured:
    ctx.require_elements(nbytes // 4)
    c = Copy(kind, nbytes)
    c.check()
    return Measured(ctx.device_time(c.launch, nbytes, "batch", launches=1), c.bytes_moved)


COPY_FAMILY = Family("transfers", "Copy", "copies host<->device (pageable, pinned) and on the device; d2d counts "
                     "bytes read + written", (("kind", COPY_KINDS), ("nbytes", NBYTES)), copies, copy_timing, DEVICE_METRICS,
                     moved=copy_bytes, streaming=True)
FAMILIES = (COPY_FAMILY,)
