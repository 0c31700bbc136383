"""Our suite's vector-add kernels and the tutorial's experiment kernels (empty launches, indices).

``cache=True`` keeps compiled kernels on disk: asv spawns a fresh process for every
parameter set, and a cold JIT (about 1 s on an H100 host) would otherwise dominate it.
``compile.py``'s benchmark builds its own uncached dispatcher to time the JIT itself.
"""
from __future__ import annotations

from numba import cuda

from ..vectors import load_f32, load_f32x2, load_f32x4, store_f32, store_f32x2, store_f32x4

# Columns written by ``record_indices`` for each thread, in this order.
INDEX_FIELDS = (
    "threadIdx.x", "threadIdx.y", "threadIdx.z",
    "blockIdx.x", "blockIdx.y", "blockIdx.z",
    "blockDim.x", "blockDim.y", "blockDim.z",
    "gridDim.x", "gridDim.y", "gridDim.z",
)
# ``record_indices`` counts the threads that wrote each row in the column after the fields.
VISITS_COLUMN = len(INDEX_FIELDS)


def vector_add_py(a, b):
    """The tutorial's kernel: one thread per element, ``b[i] += a[i]`` with a bounds check."""
    i = cuda.threadIdx.x + cuda.blockIdx.x * cuda.blockDim.x
    if i < b.size:
        b[i] += a[i]


vector_add = cuda.jit(cache=True)(vector_add_py)


@cuda.jit(cache=True)
def vector_add_grid_stride(a, b):
    """Each thread walks the array in steps of the whole grid: any grid covers any n."""
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, b.size, stride):
        b[i] += a[i]


@cuda.jit(cache=True)
def vector_add_per_thread_4(a, b):
    """Four elements per thread, one block-width apart, so each warp's loads stay coalesced."""
    base = cuda.blockIdx.x * cuda.blockDim.x * 4 + cuda.threadIdx.x
    for j in range(4):
        i = base + j * cuda.blockDim.x
        if i < b.size:
            b[i] += a[i]


@cuda.jit(cache=True)
def vector_add_per_thread_8(a, b):
    """Eight elements per thread, one block-width apart."""
    base = cuda.blockIdx.x * cuda.blockDim.x * 8 + cuda.threadIdx.x
    for j in range(8):
        i = base + j * cuda.blockDim.x
        if i < b.size:
            b[i] += a[i]


# The fast vector adds below take device addresses (int64) and counts instead of arrays: 24-32
# bytes of kernel parameters instead of 112 (gpukernels.vectors says why and what it measured).
# The workloads pass addresses only of contiguous float32 arrays, aligned as each kernel needs.

@cuda.jit(device=True, inline=True)
def _add_one(a, b, i):
    store_f32(b, i, load_f32(b, i) + load_f32(a, i))


@cuda.jit(device=True, inline=True)
def _pair_sum(a, b, k):
    """Floats ``2k``, ``2k+1`` of ``b + a`` from two 8-byte loads."""
    y = load_f32x2(b, k)
    x = load_f32x2(a, k)
    return (y[0] + x[0], y[1] + x[1])


@cuda.jit(device=True, inline=True)
def _pair_edges(a, b, n, head, thread):
    """The floats pairs leave out: one before the first 8-byte boundary (``head`` = 1) and an
    odd last one, done by threads 0 and 1."""
    if thread == 0 and head == 1:
        _add_one(a, b, 0)
    if thread == 1 and (n - head) & 1:
        _add_one(a, b, n - 1)


@cuda.jit(cache=True)
def vector_add_pairs(a, b, n, head):
    """``b += a`` two float32 at a time (one 8-byte load per array, ``ld.global.v2.f32``) for
    the ``n`` floats at addresses ``a`` and ``b``; pairs start ``head`` (0 or 1) floats in, at an
    8-byte boundary. Half the threads of the one-element kernel and half its index arithmetic."""
    pa, pb = a + 4 * head, b + 4 * head
    k = cuda.grid(1)
    if k < (n - head) >> 1:
        store_f32x2(pb, k, _pair_sum(pa, pb, k))
    _pair_edges(a, b, n, head, k)


@cuda.jit(cache=True)
def vector_add_pairs_4(a, b, n, head):
    """As ``vector_add_pairs`` with 4 pairs per thread, one block-width apart (coalesced): fewer,
    fuller blocks, which wins while the arrays sit in L2. The trip count is a constant so the
    loop unrolls (a runtime count measured 3-10% slower on an H100)."""
    pa, pb = a + 4 * head, b + 4 * head
    pairs = (n - head) >> 1
    base = cuda.blockIdx.x * cuda.blockDim.x * 4 + cuda.threadIdx.x
    for j in range(4):
        k = base + j * cuda.blockDim.x
        if k < pairs:
            store_f32x2(pb, k, _pair_sum(pa, pb, k))
    _pair_edges(a, b, n, head, base)


@cuda.jit(device=True, inline=True)
def _quad_sum(a, b, k):
    """Floats ``4k`` to ``4k+3`` of ``b + a`` from two 16-byte loads, b first (1-3% faster in L2
    on an H200)."""
    y = load_f32x4(b, k)
    x = load_f32x4(a, k)
    return (y[0] + x[0], y[1] + x[1], y[2] + x[2], y[3] + x[3])


@cuda.jit(cache=True)
def vector_add_quads(a, b, quads):
    """``b += a`` four float32 at a time for ``quads`` quads at 16-byte aligned addresses ``a``
    and ``b``: per thread one 16-byte load per array and one 16-byte store (``LDG.E.128`` /
    ``STG.E.128``, see gpukernels.vectors), as PyTorch's vectorised add.

    No head or tail code: it measured 5% slower at 2^20 on an H200 even though only four threads
    run it (``vector_add_quads_edges`` serves the other cases).
    """
    k = cuda.grid(1)
    if k < quads:
        store_f32x4(b, k, _quad_sum(a, b, k))


@cuda.jit(cache=True)
def vector_add_quads_2(a, b, quads):
    """As ``vector_add_quads`` with two quads per thread, one block-width apart, all four loads
    before the two stores (PyTorch's layout for float32: 8 elements per thread)."""
    k0 = cuda.blockIdx.x * cuda.blockDim.x * 2 + cuda.threadIdx.x
    k1 = k0 + cuda.blockDim.x
    if k1 < quads:
        first = _quad_sum(a, b, k0)
        second = _quad_sum(a, b, k1)
        store_f32x4(b, k0, first)
        store_f32x4(b, k1, second)
    elif k0 < quads:
        store_f32x4(b, k0, _quad_sum(a, b, k0))


@cuda.jit(cache=True)
def vector_add_quads_edges(a, b, n, head):
    """``vector_add_quads`` for any offset and size: the ``n`` floats at ``a`` and ``b`` reach a
    16-byte boundary after ``head`` floats (0-3, the same for both); those and the 0-3 floats
    after the last whole quad are added one by one by threads 0-3 (at least 4 are launched)."""
    qa, qb = a + 4 * head, b + 4 * head
    t = cuda.grid(1)
    if t < (n - head) >> 2:
        store_f32x4(qb, t, _quad_sum(qa, qb, t))
    if t < 4:
        if t < head:
            _add_one(a, b, t)
        if t < (n - head) & 3:
            _add_one(a, b, n - 1 - t)


@cuda.jit(cache=True)
def copy(src, dst):
    """Grid-stride ``dst[i] = src[i]``: the copy ceiling as a Numba kernel sees it."""
    for i in range(cuda.grid(1), dst.size, cuda.gridsize(1)):
        dst[i] = src[i]


@cuda.jit(cache=True)
def empty0():
    pass


@cuda.jit(cache=True)
def empty1(a):
    pass


@cuda.jit(cache=True)
def empty3(a, b, c):
    pass


@cuda.jit(cache=True)
def empty8(a, b, c, d, e, f, g, h):
    pass


EMPTY_BY_NARGS = {0: empty0, 1: empty1, 3: empty3, 8: empty8}


@cuda.jit(cache=True)
def record_indices(out):
    """Write every thread's threadIdx, blockIdx, blockDim, gridDim (x, y, z) into ``out``.

    ``out`` is a zeroed int array of shape (threads, len(INDEX_FIELDS) + 1); the last column
    counts the threads that wrote the row (1 everywhere when the mapping is one-to-one).

    Serves 1-, 2- and 3-D launches alike (unused dimensions read 0 / 1). Row of a thread:
    its global x + y * (threads along x) + z * (threads along x and y), so a launch that maps
    each thread to one global id fills every row exactly once.
    """
    x, y, z = cuda.grid(3)
    nx = cuda.gridDim.x * cuda.blockDim.x
    ny = cuda.gridDim.y * cuda.blockDim.y
    row = x + y * nx + z * nx * ny
    if row < out.shape[0]:
        out[row, 0] = cuda.threadIdx.x
        out[row, 1] = cuda.threadIdx.y
        out[row, 2] = cuda.threadIdx.z
        out[row, 3] = cuda.blockIdx.x
        out[row, 4] = cuda.blockIdx.y
        out[row, 5] = cuda.blockIdx.z
        out[row, 6] = cuda.blockDim.x
        out[row, 7] = cuda.blockDim.y
        out[row, 8] = cuda.blockDim.z
        out[row, 9] = cuda.gridDim.x
        out[row, 10] = cuda.gridDim.y
        out[row, 11] = cuda.gridDim.z
        cuda.atomic.add(out, (row, 12), 1)  # 12 == VISITS_COLUMN
