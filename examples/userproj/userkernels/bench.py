"""userkernels' benchmark suite: two ops, how to check them, and who implements them.

Everything here is gpukernels' public API: an ``Op`` per computation (axes, bytes, flops), a
``DeviceProblem`` per op (inputs, the NumPy reference, the result), one subclass per
implementation (``@OP.gpu``: our kernel and the peers CuPy and PyTorch; ``@OP.host``: a NumPy
baseline), and ``SUITE``, which benchmarks/ hands to asv and the CLIs read (``--suite
userkernels.bench:SUITE``). Nothing is allocated or compiled at import.
"""
from __future__ import annotations

import os

import numpy as np
from numba import cuda

from gpukernels.launch import grid_for, validate
from gpukernels.problems import CUPY, TORCH, DeviceProblem, HostProblem, Peer, PeerMissing
from gpukernels.suite import Op, Suite

from . import kernels

# --- relu: memory-bound, reads and writes 4 bytes per element -----------------------------

RELU = Op("relu", "y = max(x, 0), float32, out of place", (("n", (2**10, 2**20, 2**24)),),
          bytes=lambda n: 8 * n, flops=lambda n: n, best="numba",
          impl_notes={"numba": "one thread per element, blocks of 256", "numpy": "np.maximum(x, 0)"})


def _relu_input(n: int) -> np.ndarray:
    """Half negative: a relu that returned x, or 0, would not match."""
    return np.random.default_rng(0).standard_normal(n, dtype=np.float32)


class ReluProblem(DeviceProblem):
    """x on the device (shared by the implementations), y per implementation; bit-exact."""

    def allocate(self) -> None:
        self.x_host = _relu_input(self.n)
        self.x = cuda.to_device(self.x_host)

    def prepare(self) -> None:
        self.y = cuda.device_array(self.n, dtype=np.float32)

    def expected(self) -> np.ndarray:
        return np.maximum(self.x_host, np.float32(0))

    def result(self) -> np.ndarray:
        return self.y.copy_to_host()


@RELU.gpu("numba")
class ReluNumba(ReluProblem):

    def prepare(self) -> None:
        super().prepare()
        self.config = grid_for(self.n, 256)

    def launch(self, stream: object = 0) -> None:
        kernels.relu[self.config.grid, self.config.block, stream](self.x, self.y)


@RELU.host("numpy")
class ReluNumpy(HostProblem):
    rtol = 0.0

    def inputs(self) -> list[np.ndarray]:
        return [_relu_input(self.n)]

    @staticmethod
    def call(x: np.ndarray) -> np.ndarray:
        return np.maximum(x, np.float32(0))

    @staticmethod
    def reference(x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, np.float32(0))


# --- matmul: compute-bound, 2mnk flops -----------------------------------------------------

SIZES = (16, 1024, 4096)

MATMUL = Op(
    "matmul", "C = A @ B, float32, 16 x 16 shared-memory tiles, one output per thread",
    (("m", SIZES), ("n", SIZES), ("k", SIZES)),
    bytes=lambda m, n, k: 4 * (m * k + k * n + m * n), flops=lambda m, n, k: 2 * m * n * k,
    # the largest matrix: only 16 x 16 x 16 is small enough for the CUDA simulator (2^10)
    elements=lambda m, n, k: max(m * n, m * k, k * n),
    best="numba", peers=("cupy", "torch"),
    impl_notes={"numba": "16 x 16 tiles, one output per thread (the textbook kernel)",
                "cupy": "cupy.matmul: cuBLAS SGEMM, TF32 off", "torch": "torch.matmul: cuBLAS SGEMM, TF32 off"})


class MatmulProblem(DeviceProblem):
    """A and B in [0, 1), C per implementation; within 1e-4 of NumPy: float32 sums of k products
    in another order differ by about sqrt(k) * 2^-24 relative, far below 1e-4 at k = 4096."""

    rtol = 1e-4

    def allocate(self) -> None:
        rng = np.random.default_rng(0)
        self.a_host = rng.random((self.m, self.k), dtype=np.float32)
        self.b_host = rng.random((self.k, self.n), dtype=np.float32)
        self.c_want = self.a_host @ self.b_host  # once per size, for every implementation
        self.a, self.b = cuda.to_device(self.a_host), cuda.to_device(self.b_host)

    def prepare(self) -> None:
        self.c = cuda.device_array((self.m, self.n), dtype=np.float32)

    def expected(self) -> np.ndarray:
        return self.c_want

    def result(self) -> np.ndarray:
        return self.c.copy_to_host()


@MATMUL.gpu("numba")
class MatmulNumba(MatmulProblem):

    def prepare(self) -> None:
        super().prepare()
        t = kernels.TILE
        self.config = validate((-(-self.n // t), -(-self.m // t)), (t, t))

    def launch(self, stream: object = 0) -> None:
        kernels.matmul[self.config.grid, self.config.block, stream](self.a, self.b, self.c)


class _MatmulPeer(Peer, MatmulProblem):
    """``matmul(a, b, out=c)`` on our arrays and stream: cuBLAS behind both libraries."""

    def prepare(self) -> None:
        super().prepare()
        pa, pb, pc = self.wrap(self.a), self.wrap(self.b), self.wrap(self.c)
        self.work = lambda: self.lib.matmul(pa, pb, out=pc)


@MATMUL.gpu("cupy")
class MatmulCupy(_MatmulPeer):
    library = CUPY
    graph_capture = False  # CuPy refuses cuBLAS calls during a CUDA-graph capture: timed in batches

    def prepare(self) -> None:
        if os.environ.get("CUPY_TF32", "0") != "0":  # CuPy's switch for TF32 tensor cores
            raise PeerMissing("CUPY_TF32 is set: cupy.matmul would not be plain FP32")
        super().prepare()


@MATMUL.gpu("torch")
class MatmulTorch(_MatmulPeer):
    library = TORCH

    def prepare(self) -> None:
        super().prepare()
        self.lib.backends.cuda.matmul.allow_tf32 = False  # plain FP32, as our kernel
        self.lib.backends.cudnn.allow_tf32 = False


SUITE = Suite("userkernels")
for op in (RELU, MATMUL):
    SUITE.add_op(op)
