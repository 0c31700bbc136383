"""The kernels: what a user writes, with no gpukernels import (``bench`` measures them)."""
from __future__ import annotations

from numba import cuda, float32

TILE = 16  # matmul: threads per block side, and the side of the shared-memory tiles


@cuda.jit(cache=True)
def relu(x, y):
    """``y = max(x, 0)`` on float32, out of place, one thread per element."""
    i = cuda.grid(1)
    if i < y.size:
        y[i] = max(x[i], float32(0))


@cuda.jit(cache=True)
def matmul(a, b, c):
    """``c = a @ b`` on float32 (a: m x k, b: k x n), the textbook tiled kernel.

    A TILE x TILE block computes as many elements of c, one per thread: per step it stages a
    TILE x TILE tile of a and of b in shared memory, then each thread adds TILE products.
    Elements beyond m, n or k load as 0, so any shape works.
    """
    sa = cuda.shared.array((TILE, TILE), dtype=float32)
    sb = cuda.shared.array((TILE, TILE), dtype=float32)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    row = cuda.blockIdx.y * TILE + ty
    col = cuda.blockIdx.x * TILE + tx
    m, k = a.shape
    n = b.shape[1]
    acc = float32(0)
    for k0 in range(0, k, TILE):
        sa[ty, tx] = a[row, k0 + tx] if row < m and k0 + tx < k else float32(0)
        sb[ty, tx] = b[k0 + ty, col] if k0 + ty < k and col < n else float32(0)
        cuda.syncthreads()
        for i in range(TILE):
            acc += sa[ty, i] * sb[i, tx]
        cuda.syncthreads()
    if row < m and col < n:
        c[row, col] = acc
