"""saxpy, ``y = a*x + y`` on float32 with a = 2: the kernel as a user writes it, our fast one, the peers.

``plain`` is one thread per element on Numba arrays: 4-byte loads and 168 bytes of kernel
parameters (two arrays of 7 each, and a). It measured 932 us at 2^28 on an H200 against 741.7 us
for PyTorch, whose kernel loads 16 bytes at a time. ``numba`` (ours) is the vector add's recipe
(``kernels.vector_add_quads*``): x and y as device addresses, one 16-byte load of each and one
16-byte store per four floats (``gpukernels.vectors``), launched through a ``PreparedLaunch``.
"""
from __future__ import annotations

import numpy as np
from numba import cuda, njit, prange

from ..launch import PreparedLaunch, grid_for
from ..problems import CUPY, TORCH, DeviceProblem, HostProblem, Peer, host_inputs
from ..suite import Op
from ..vectors import address, load_f32, load_f32x4, store_f32, store_f32x4, vector_span, vector_width
from .vector_add import SIZES

A = np.float32(2.0)  # float32, so a * x stays float32 in the kernels (a Python 2.0 would be float64)

SAXPY = Op("saxpy", "y = a*x + y, float32, a = 2", (("n", SIZES),), bytes=lambda n: 12 * n, flops=lambda n: 2 * n,
           best="numba", peers=("cupy", "torch"),
           impl_notes={"plain": "one thread per element on Numba arrays (4-byte loads), block 256",
                       "numba": "four float32 per 16-byte load and store (LDG.E.128) at device addresses, "
                                "block 256, through a PreparedLaunch; any n and offset (plain where x and y "
                                "differ modulo 16 bytes)"})


@cuda.jit(cache=True)
def saxpy(a, x, y):
    """``y = a * x + y``, one thread per element: the kernel as a user writes it (``plain``)."""
    i = cuda.grid(1)
    if i < y.size:
        y[i] = a * x[i] + y[i]


# --- the fast saxpy: 16-byte accesses at device addresses ---------------------------------------
# x and y are int64 device addresses (24-32 bytes of parameters instead of 168) of float32 data
# whose addresses agree modulo 16 bytes (vectors.vector_width(x, y) == 16): the launcher checks.

@cuda.jit(device=True, inline=True)
def _axpy_quad(a, x, y, k):
    """Floats ``4k`` to ``4k+3`` of ``a*x + y`` from two 16-byte loads (y first, as the vector add)."""
    yv = load_f32x4(y, k)
    xv = load_f32x4(x, k)
    return (a * xv[0] + yv[0], a * xv[1] + yv[1], a * xv[2] + yv[2], a * xv[3] + yv[3])


@cuda.jit(cache=True)
def saxpy_quads(a, x, y, quads):
    """``y = a*x + y`` on ``quads`` quads at 16-byte aligned ``x`` and ``y``: one quad per thread,
    one 16-byte load per array and one 16-byte store (``LDG.E.128`` / ``STG.E.128``), as PyTorch.
    No head or tail code (the vector add measured it 5% slower at 2^20): ``saxpy_quads_edges``
    serves other offsets and sizes."""
    k = cuda.grid(1)
    if k < quads:
        store_f32x4(y, k, _axpy_quad(a, x, y, k))


@cuda.jit(cache=True)
def saxpy_quads_2(a, x, y, quads):
    """As ``saxpy_quads`` with two quads per thread one block-width apart (coalesced), all four
    loads issued before the two stores: twice the bytes in flight per thread, half the threads."""
    k0 = cuda.blockIdx.x * cuda.blockDim.x * 2 + cuda.threadIdx.x
    k1 = k0 + cuda.blockDim.x
    if k1 < quads:
        first = _axpy_quad(a, x, y, k0)
        second = _axpy_quad(a, x, y, k1)
        store_f32x4(y, k0, first)
        store_f32x4(y, k1, second)
    elif k0 < quads:
        store_f32x4(y, k0, _axpy_quad(a, x, y, k0))


@cuda.jit(device=True, inline=True)
def _axpy_one(a, x, y, i):
    store_f32(y, i, a * load_f32(x, i) + load_f32(y, i))


@cuda.jit(cache=True)
def saxpy_quads_edges(a, x, y, n, head):
    """``saxpy_quads`` for any offset and size: the ``n`` floats at ``x`` and ``y`` reach a 16-byte
    boundary after ``head`` floats (0-3, the same for both); those and the 0-3 floats after the
    last whole quad are done one by one by threads 0-3 (at least 4 are launched)."""
    qx, qy = x + 4 * head, y + 4 * head
    t = cuda.grid(1)
    if t < (n - head) >> 2:
        store_f32x4(qy, t, _axpy_quad(a, qx, qy, t))
    if t < 4:
        if t < head:
            _axpy_one(a, x, y, t)
        if t < (n - head) & 3:
            _axpy_one(a, x, y, n - 1 - t)


SAXPY_BLOCK = 256  # threads per block of the quads kernels (the vector add's best with 1 quad per thread)


def quads_launch(a, x, y, per_thread: int = 1) -> PreparedLaunch | None:
    """The 16-byte saxpy on arrays ``x`` and ``y`` (a PreparedLaunch that keeps them alive), or None
    where they cannot take it: not contiguous 1-D float32 of one size, or addresses that differ
    modulo 16 bytes (``vectors.vector_width``). Aligned multiples of 4 floats take a kernel without
    head and tail code, 1 or 2 quads per thread; the rest ``saxpy_quads_edges``."""
    if vector_width(x, y) != 16:
        return None
    n = y.size
    head, quads, tail = vector_span(y, 16)
    args = (np.float32(a), address(x), address(y))
    if head or tail:
        config = grid_for(max(4, quads), SAXPY_BLOCK)
        return PreparedLaunch(saxpy_quads_edges, config, *args, n, head, owners=(x, y))
    if per_thread == 2:
        config = grid_for(max(1, -(-quads // 2)), SAXPY_BLOCK)
        return PreparedLaunch(saxpy_quads_2, config, *args, quads, owners=(x, y))
    return PreparedLaunch(saxpy_quads, grid_for(max(1, quads), SAXPY_BLOCK), *args, quads, owners=(x, y))


def plain_launch(a, x, y) -> PreparedLaunch:
    """The one-element-per-thread kernel on the arrays: any arrays, any alignment."""
    return PreparedLaunch(saxpy, grid_for(y.size, SAXPY_BLOCK), np.float32(a), x, y)


class SaxpyProblem(DeviceProblem):
    """float32 x and y; within 1e-6 of NumPy: NVVM may fuse the multiply-add."""

    rtol = 1e-6

    def allocate(self) -> None:  # once per size; reset copies on the device (VectorAddProblem says why)
        self.x_host, self.y_host = host_inputs(self.n)
        self.x, self.y = cuda.to_device(self.x_host), cuda.to_device(self.y_host)
        self.y_start, self.y_want = cuda.to_device(self.y_host), A * self.x_host + self.y_host

    def expected(self) -> np.ndarray:
        return self.y_want

    def result(self) -> np.ndarray:
        return self.y.copy_to_host()

    def reset(self) -> None:
        self.y.copy_to_device(self.y_start)


@SAXPY.gpu("plain")
class SaxpyPlain(SaxpyProblem):
    """The kernel as a user writes it: one thread per element, Numba arrays, ``kernel[grid, block]``."""

    def prepare(self) -> None:
        self.config = grid_for(self.n, SAXPY_BLOCK)

    def launch(self, stream: object = 0) -> None:
        saxpy[self.config.grid, self.config.block, stream](A, self.x, self.y)


@SAXPY.gpu("numba")
class SaxpyNumba(SaxpyProblem):
    """Ours: 16-byte loads and stores at device addresses (``quads_launch``), ``per_thread`` quads
    per thread; the plain kernel where x and y differ modulo 16 bytes (``choice`` says which)."""

    def __init__(self, n: int, per_thread: int = 1, shared=None) -> None:
        self.per_thread = per_thread
        super().__init__(shared, n=n)

    def prepare(self) -> None:
        fast = quads_launch(A, self.x, self.y, self.per_thread)
        self.choice = "quads" if fast is not None else "plain"
        self._launch = fast or plain_launch(A, self.x, self.y)

    def launch(self, stream: object = 0) -> None:
        self._launch(stream)


@SAXPY.gpu("cupy")
class SaxpyCupy(Peer, SaxpyProblem):
    """One fused ElementwiseKernel (``y = a * x + y``), as a CuPy user writes it."""

    library = CUPY

    def prepare(self) -> None:
        super().prepare()
        px, py = self.wrap(self.x), self.wrap(self.y)
        kernel = self.lib.ElementwiseKernel("float32 x, float32 a", "float32 y", "y = a * x + y", "gpukernels_saxpy")
        self.work = lambda: kernel(px, A, py)


@SAXPY.gpu("torch")
class SaxpyTorch(Peer, SaxpyProblem):
    """PyTorch's ``y.add_(x, alpha=a)``."""

    library = TORCH

    def prepare(self) -> None:
        super().prepare()
        px, py, alpha = self.wrap(self.x), self.wrap(self.y), float(A)
        self.work = lambda: py.add_(px, alpha=alpha)


@njit(parallel=True, cache=True)
def _cpu_saxpy(a, x, y):
    for i in prange(y.size):
        y[i] = a * x[i] + y[i]


def _numpy_saxpy(x, y):
    y += A * x  # NumPy's own way: a temporary, then the in-place add
    return y


class SaxpyHost(HostProblem):
    def inputs(self) -> list[np.ndarray]:
        return [v.copy() for v in host_inputs(self.n)]

    reference = staticmethod(_numpy_saxpy)


@SAXPY.host("numpy")
class SaxpyNumpy(SaxpyHost):
    call = staticmethod(_numpy_saxpy)


@SAXPY.host("cpu_parallel")
class SaxpyParallel(SaxpyHost):
    @staticmethod
    def call(x, y):
        _cpu_saxpy(A, x, y)
        return y
