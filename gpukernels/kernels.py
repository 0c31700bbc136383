"""The @cuda.jit kernels the suite measures.

``cache=True`` keeps compiled kernels on disk: asv spawns a fresh process for every
parameter set, and a cold JIT (about 1 s on an H100 host) would otherwise dominate it.
``compile.py``'s benchmark builds its own uncached dispatcher to time the JIT itself.
"""
from __future__ import annotations

from numba import cuda, float32, float64

from .vectors import load_f32x4, store_f32x4

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


@cuda.jit(device=True)
def _pair_edges(a, b, head, thread):
    """The floats a pair view leaves out: one before the first 8-byte boundary (``head`` = 1)
    and an odd last one, done by threads 0 and 1."""
    if thread == 0 and head == 1:
        b[0] += a[0]
    if thread == 1 and (b.size - head) % 2 == 1:
        b[b.size - 1] += a[b.size - 1]


@cuda.jit(cache=True)
def vector_add_pairs(a2, b2, a, b, head):
    """``b += a`` two float32 at a time: ``a2``, ``b2`` are complex64 views of ``a[head:]``, ``b[head:]``.

    A complex64 add is two float32 adds (bit-exact with NumPy's). Half the threads of the
    one-element kernel, each with two independent loads per array in flight, and half the
    index arithmetic and bounds checks per float (the SASS still issues 4-byte loads).
    """
    i = cuda.grid(1)
    if i < b2.size:
        b2[i] += a2[i]
    _pair_edges(a, b, head, i)


@cuda.jit(cache=True)
def vector_add_pairs_4(a2, b2, a, b, head):
    """As ``vector_add_pairs`` with 4 pairs per thread, one block-width apart (coalesced): fewer,
    fuller blocks, which wins while the arrays sit in L2. The trip count is a constant so the
    loop unrolls (a runtime count measured 3-10% slower on an H100)."""
    base = cuda.blockIdx.x * cuda.blockDim.x * 4 + cuda.threadIdx.x
    for j in range(4):
        i = base + j * cuda.blockDim.x
        if i < b2.size:
            b2[i] += a2[i]
    _pair_edges(a, b, head, base)


@cuda.jit(device=True, inline=True)
def _quad_sum(a, b, i):
    """``b[i:i+4] + a[i:i+4]`` from two 16-byte loads, b first (1-3% faster in L2 on an H200)."""
    y = load_f32x4(b, i)
    x = load_f32x4(a, i)
    return (y[0] + x[0], y[1] + x[1], y[2] + x[2], y[3] + x[3])


@cuda.jit(cache=True)
def vector_add_quads(a, b):
    """``b += a`` four float32 at a time: per thread one 16-byte load per array and one 16-byte
    store (``LDG.E.128`` / ``STG.E.128``, see gpukernels.vectors), as PyTorch's vectorised add.

    For 16-byte aligned arrays whose size is a multiple of 4: no head or tail code, which measured
    5% slower at 2^20 on an H200 even though only four threads run it
    (``vector_add_quads_edges`` serves every other case).
    """
    i = 4 * cuda.grid(1)
    if i + 3 < b.size:
        store_f32x4(b, i, _quad_sum(a, b, i))


@cuda.jit(cache=True)
def vector_add_quads_2(a, b):
    """As ``vector_add_quads`` with two quads per thread, one block-width apart, all four loads
    before the two stores (PyTorch's layout for float32: 8 elements per thread)."""
    i0 = 4 * (cuda.blockIdx.x * cuda.blockDim.x * 2 + cuda.threadIdx.x)
    i1 = i0 + 4 * cuda.blockDim.x
    if i1 + 3 < b.size:
        first = _quad_sum(a, b, i0)
        second = _quad_sum(a, b, i1)
        store_f32x4(b, i0, first)
        store_f32x4(b, i1, second)
    elif i0 + 3 < b.size:
        store_f32x4(b, i0, _quad_sum(a, b, i0))


@cuda.jit(cache=True)
def vector_add_quads_edges(a, b, head, tail):
    """``vector_add_quads`` for any offset and size: ``&b[head]`` and ``&a[head]`` are 16-byte
    aligned; the ``head`` floats before them and the ``tail`` floats after the last whole quad
    (0-3 each) are added one by one by threads 0-3 (at least 4 threads are launched)."""
    t = cuda.grid(1)
    i = head + 4 * t
    if i + 3 < b.size:
        store_f32x4(b, i, _quad_sum(a, b, i))
    if t < 4:
        if t < head:
            b[t] += a[t]
        if t < tail:
            j = b.size - 1 - t
            b[j] += a[j]


@cuda.jit(cache=True)
def saxpy(a, x, y):
    """``y = a * x + y``, one thread per element."""
    i = cuda.grid(1)
    if i < y.size:
        y[i] = a * x[i] + y[i]


SUM_BLOCK = 256  # threads per block of both sum passes (the shared-memory tree assumes it)


@cuda.jit(device=True)
def _block_sum(value):
    """Sum of ``value`` over the block's SUM_BLOCK threads (float64 shared-memory tree); valid in thread 0.

    A tree in shared memory rather than warp shuffles: the CUDA simulator, where the tests run,
    has no shuffles, and the tree costs nothing next to the grid-stride read of the input.
    """
    buf = cuda.shared.array(SUM_BLOCK, dtype=float64)
    t = cuda.threadIdx.x
    buf[t] = value
    cuda.syncthreads()
    step = SUM_BLOCK // 2
    while step > 0:
        if t < step:
            buf[t] += buf[t + step]
        cuda.syncthreads()
        step //= 2
    return buf[0]


@cuda.jit(cache=True)
def sum_partials(x, partials):
    """Pass 1: each block sums a grid-stride share of float32 ``x`` into ``partials[blockIdx.x]`` (float64).

    Threads accumulate in float32 (the element type), blocks in float64; the result is
    deterministic for a given grid (no atomics), so repeated runs agree bit for bit.
    """
    acc = float32(0)
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        acc += x[i]
    total = _block_sum(float64(acc))
    if cuda.threadIdx.x == 0:
        partials[cuda.blockIdx.x] = total


@cuda.jit(cache=True)
def sum_final(partials, out):
    """Pass 2, one block: ``out[0]`` = the sum of the partials."""
    acc = float64(0)
    for i in range(cuda.threadIdx.x, partials.size, cuda.blockDim.x):
        acc += partials[i]
    total = _block_sum(acc)
    if cuda.threadIdx.x == 0:
        out[0] = total


@cuda.jit(cache=True)
def copy(src, dst):
    """Grid-stride ``dst[i] = src[i]``: the copy ceiling as a Numba kernel sees it."""
    for i in range(cuda.grid(1), dst.size, cuda.gridsize(1)):
        dst[i] = src[i]


@cuda.jit(cache=True)
def fill(buf, value):
    """Grid-stride fill; writing a buffer larger than L2 evicts it (the cold-cache flush)."""
    for i in range(cuda.grid(1), buf.size, cuda.gridsize(1)):
        buf[i] = value


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
