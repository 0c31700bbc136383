"""matmul, ``C = A @ B`` on float32: our shared-memory, register-blocked SGEMM, and the peers.

The op is our suite's compute-bound one (2mnk flops over 4(mk + kn + mn) bytes): the report leads
with GFLOP/s. CuPy and PyTorch both call cuBLAS's SGEMM, so the peers are cuBLAS, TF32 off (plain
FP32 on the CUDA cores, as our kernel). No host baselines: a NumPy matmul at 8192^3 takes seconds
per call, minutes for a family's samples, and says nothing about the GPU.
"""
from __future__ import annotations

import os

import numpy as np
from numba import cuda, float32

from ..launch import validate
from ..problems import CUPY, TORCH, DeviceProblem, Peer, PeerMissing
from ..suite import Op

BM, BN, BK = 128, 128, 8  # block tile: C rows, C columns, k per step
TM, TN = 8, 8  # micro-tile: the C elements one thread keeps in registers, 8 x 8
ACC = TM * TN  # (named: numba needs literal local-array sizes)
THREADS_X, THREADS_Y = BN // TN, BM // TM  # 16 x 16 = 256 threads per block
THREADS = THREADS_X * THREADS_Y
A_LOADS = BM * BK // THREADS  # A-tile elements each thread loads per step (4)
B_LOADS = BK * BN // THREADS  # B-tile elements each thread loads per step (4)
A_PAD = 4  # As row padding: the transposed store hits 32 distinct banks (see sgemm)
AS_ROW = BM + A_PAD

MATMUL = Op(
    "matmul", "C = A @ B, float32, A m x k, B k x n (shared-memory tiles)",
    axes=(("m", (1024, 8192)), ("n", (1024, 8192)), ("k", (1024, 8192))),
    bytes=lambda m, n, k: 4 * (m * k + k * n + m * n), flops=lambda m, n, k: 2 * m * n * k,
    elements=lambda m, n, k: m * n, best="numba", peers=("cupy", "torch"),
    impl_notes={"numba": f"block tile {BM}x{BN}, k step {BK}, {THREADS} threads each with a {TM}x{TN} "
                         "register micro-tile, next tile prefetched into registers; float32 accumulation",
                "cupy": "cupy.matmul (cuBLAS SGEMM, TF32 off)",
                "torch": "torch.matmul (cuBLAS SGEMM, TF32 off)"})


@cuda.jit(cache=True)
def sgemm(a, b, c):
    """``c = a @ b`` for float32 row-major a (m x k), b (k x n), c (m x n); any m, n, k.

    One block computes a BM x BN = 128 x 128 tile of C with 256 threads in a 16 x 16 grid; each
    thread keeps a TM x TN = 8 x 8 micro-tile of C in registers. Per k step of BK = 8, the block
    stages a 128 x 8 tile of A and an 8 x 128 tile of B in shared memory (8 KiB), and each thread
    reads 8 values of A and 8 of B per k for 64 FMAs: 4 FMAs per shared-memory load, where one
    output per thread (the textbook kernel) does 1 per 2 loads and is bound by shared memory.
    128 x 128 x 8 keeps the 64 accumulators plus fragments near 128 registers, so two blocks
    (16 warps) fit on an SM to hide latency; a larger micro-tile would spill.

    - Micro-tiles are strided: thread (tx, ty) owns rows ty + 16i and columns tx + 16j, so the
      16 threads of a half-warp read 16 consecutive B words (no bank conflict), the A word is
      broadcast, and the C stores of a row are 64 contiguous bytes.
    - A is stored transposed (As[k][row]) so a thread's 8 A values per k are one row of As; the
      row is padded by A_PAD words so the transposed store of a warp (8 k x 4 rows) hits 32 banks.
    - The next step's A and B values are loaded from global memory into registers before the
      current step's FMAs and stored to shared memory after them: the loads' latency is hidden
      behind 512 FMAs per thread. One shared buffer, two barriers per step.
    - Edges: loads beyond m, n or k read 0 (adding nothing); stores beyond m or n are skipped.

    Not done: 16-byte shared-memory loads (numba has no vector type; 16 scalar loads per 64 FMAs
    keep the shared-memory pipe as busy as the FMA pipe) and split-k: at m = n = 1024 the grid
    is 64 blocks, fewer than an H200's 132 SMs, where cuBLAS splits k.
    """
    m, k = a.shape
    n = b.shape[1]
    # The masks change no value: they tell LLVM the indices are >= 0, so it drops numba's
    # negative-index wraparound from every shared-memory access (182 -> 91 instructions per k).
    tx, ty = cuda.threadIdx.x & (THREADS_X - 1), cuda.threadIdx.y & (THREADS_Y - 1)
    t = ty * THREADS_X + tx
    row0 = cuda.blockIdx.y * BM
    col0 = cuda.blockIdx.x * BN

    As = cuda.shared.array((BK, AS_ROW), dtype=float32)
    Bs = cuda.shared.array((BK, BN), dtype=float32)
    acc = cuda.local.array(ACC, dtype=float32)
    a_frag = cuda.local.array(TM, dtype=float32)
    b_frag = cuda.local.array(TN, dtype=float32)
    a_next = cuda.local.array(A_LOADS, dtype=float32)
    b_next = cuda.local.array(B_LOADS, dtype=float32)
    for i in range(ACC):
        acc[i] = float32(0)

    # Which element of the A and B tiles this thread loads: A by rows of BK (32 contiguous bytes
    # per row, 4 rows per warp), B by rows of BN (a warp reads 128 contiguous bytes).
    a_col = t % BK
    a_row = t // BK
    b_col = t % BN
    b_row = t // BN

    steps = (k + BK - 1) // BK
    for r in range(A_LOADS):
        i, j = row0 + a_row + r * (THREADS // BK), a_col
        a_next[r] = a[i, j] if i < m and j < k else float32(0)
    for r in range(B_LOADS):
        i, j = b_row + r * (THREADS // BN), col0 + b_col
        b_next[r] = b[i, j] if i < k and j < n else float32(0)

    for step in range(steps):
        for r in range(A_LOADS):
            As[a_col, a_row + r * (THREADS // BK)] = a_next[r]
        for r in range(B_LOADS):
            Bs[b_row + r * (THREADS // BN), b_col] = b_next[r]
        cuda.syncthreads()

        k0 = (step + 1) * BK
        if step + 1 < steps:  # prefetch the next step while this one computes
            for r in range(A_LOADS):
                i, j = row0 + a_row + r * (THREADS // BK), k0 + a_col
                a_next[r] = a[i, j] if i < m and j < k else float32(0)
            for r in range(B_LOADS):
                i, j = k0 + b_row + r * (THREADS // BN), col0 + b_col
                b_next[r] = b[i, j] if i < k and j < n else float32(0)

        for k_step in range(BK):
            kk = k_step & (BK - 1)
            for i in range(TM):
                a_frag[i] = As[kk, ty + i * THREADS_Y]
            for j in range(TN):
                b_frag[j] = Bs[kk, tx + j * THREADS_X]
            for i in range(TM):
                for j in range(TN):
                    acc[i * TN + j] += a_frag[i] * b_frag[j]
        cuda.syncthreads()

    for i in range(TM):
        row = row0 + ty + i * THREADS_Y
        if row < m:
            for j in range(TN):
                col = col0 + tx + j * THREADS_X
                if col < n:
                    c[row, col] = acc[i * TN + j]


class MatmulProblem(DeviceProblem):
    """A (m x k) and B (k x n) float32 in [0, 1), shared by every implementation; C per implementation.

    rtol 1e-4: each C element sums k float32 products in float32, in an order of the kernel's
    own (ours: k ascending per thread; cuBLAS: its own split). With positive terms the relative
    rounding error grows about as sqrt(k) * 2^-24 in practice (k * 2^-24 at worst): near 5e-6
    at k = 8192, well below 1e-4, while a wrong tile or a skipped k step is off by far more.
    """

    rtol = 1e-4

    def allocate(self) -> None:
        rng = np.random.default_rng(0)
        self.a_host = rng.random((self.m, self.k), dtype=np.float32)
        self.b_host = rng.random((self.k, self.n), dtype=np.float32)
        self.c_want = self.a_host @ self.b_host  # once per size, shared by every implementation
        self.a, self.b = cuda.to_device(self.a_host), cuda.to_device(self.b_host)

    def prepare(self) -> None:
        self.c = cuda.device_array((self.m, self.n), dtype=np.float32)

    def expected(self) -> np.ndarray:
        return self.c_want

    def result(self) -> np.ndarray:
        return self.c.copy_to_host()


@MATMUL.gpu("numba")
class MatmulNumba(MatmulProblem):
    """Our sgemm kernel: one block per 128 x 128 tile of C."""

    def prepare(self) -> None:
        super().prepare()
        self.config = validate((-(-self.n // BN), -(-self.m // BM)), (THREADS_X, THREADS_Y))

    def launch(self, stream: object = 0) -> None:
        sgemm[self.config.grid, self.config.block, stream](self.a, self.b, self.c)


class _MatmulPeer(Peer, MatmulProblem):
    """``matmul(a, b, out=c)`` on our arrays: cuBLAS SGEMM behind both libraries."""

    def prepare(self) -> None:
        super().prepare()
        pa, pb, pc = self.wrap(self.a), self.wrap(self.b), self.wrap(self.c)
        self.work = lambda: self.lib.matmul(pa, pb, out=pc)


@MATMUL.gpu("cupy")
class MatmulCupy(_MatmulPeer):
    """CuPy: TF32 only when CUPY_TF32=1 is set (read by CuPy at import); refused then, since
    TF32 rounds the inputs to 10 mantissa bits and would time another computation. CuPy refuses
    cuBLAS calls inside a CUDA-graph capture, so it is timed by back-to-back launches (batch)."""

    library = CUPY
    graph_capture = False

    def prepare(self) -> None:
        if os.environ.get("CUPY_TF32", "0") != "0":
            raise PeerMissing("CUPY_TF32 is set: cupy.matmul would use TF32 tensor cores, not FP32")
        super().prepare()


@MATMUL.gpu("torch")
class MatmulTorch(_MatmulPeer):
    """PyTorch with TF32 off for matmul and cuDNN (process-wide; our families run one per process)."""

    library = TORCH

    def prepare(self) -> None:
        super().prepare()
        self.lib.backends.cuda.matmul.allow_tf32 = False
        self.lib.backends.cudnn.allow_tf32 = False
