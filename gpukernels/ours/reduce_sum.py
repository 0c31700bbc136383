"""sum, ``s = sum(x)`` of float32 x: our one-pass reduction, the two-pass one a user writes, the peers.

``two_pass`` is the reduction as a user writes it: a grid-stride kernel of per-block float64
partials, then a second one-block kernel. Two launches, 4-byte loads: 300.6 us at 2^28 on an
H200 against 252.9 us for CuPy (cub), 7.6 against 4.5 us at 2^20. ``numba`` (ours) is one launch:
16-byte loads at a device address (``gpukernels.vectors``), eight in flight per thread over a
contiguous chunk per block, and the last block to finish adds the partials (``sum_one_pass``).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import config, cuda, float32, float64, int32, int64, njit, prange

from ..launch import PreparedLaunch, grid_stride_for, validate
from ..problems import CUPY, TORCH, DeviceProblem, HostProblem, Peer, host_inputs, sm_count
from ..suite import Op
from ..vectors import address, load_f32, load_f32x4, vector_span
from .vector_add import SIZES

SUM = Op("sum", "s = sum(x), float32 in, float32 per thread, float64 per block and across blocks",
         (("n", SIZES),), bytes=lambda n: 4 * n, flops=lambda n: n, best="numba", peers=("cupy", "torch"),
         impl_notes={"numba": "one launch: 16-byte loads at a device address, a contiguous chunk per block, "
                              "8 quads in flight per thread, SMs x 4 blocks of 256, block sums by warp shuffles; "
                              "the last block adds the partials (one block: no partials); deterministic",
                     "two_pass": "per-block partials (grid-stride, 4-byte loads), then a one-block kernel; "
                                 "two launches; deterministic"})

SUM_BLOCK = 256  # threads per block of every sum kernel (the shared-memory tree assumes it)


@cuda.jit(device=True)
def _block_sum(value):
    """Sum of ``value`` over the block's SUM_BLOCK threads (float64 shared-memory tree); valid in thread 0.

    The two-pass kernels' block sum, as a user writes it, and ours on the CUDA simulator, where the
    tests run: it has no shuffles (``cuda.shfl_down_sync`` is missing there). The order of the
    additions is fixed.
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


# --- ours: one pass, 16-byte loads, the last block finishes --------------------------------------

_ZERO4 = (float32(0), float32(0), float32(0), float32(0))  # a quad past the chunk's end: adds nothing
SUM_UNROLL = 8  # quads each thread has in flight per loop trip (32 floats, 128 bytes)
SUM_BLOCKS_PER_SM = 4  # 1024 threads per SM x 128 bytes in flight: 16 MiB on 132 SMs, far past
#                        bandwidth x latency (4.8 TB/s x ~1 us); more blocks only add partials

_WARPS = SUM_BLOCK // 32

if config.ENABLE_CUDASIM:  # no ld.cg and no warp shuffles there: plain loads and the tree
    def _load_partial(partials, i):
        return partials[i]

    _fast_block_sum = _block_sum
else:
    @cuda.jit(device=True, inline=True)
    def _load_partial(partials, i):
        """``partials[i]`` read at L2 (``ld.global.cg``): written by other blocks during this
        launch, so no line of it may come from this SM's L1, which is not coherent."""
        return cuda.ldcg(partials, i)

    @cuda.jit(device=True, inline=True)
    def _warp_sum(value):
        """Sum over the warp's 32 lanes by shuffles, valid in lane 0; a fixed order."""
        step = 16
        while step > 0:
            value += cuda.shfl_down_sync(0xFFFFFFFF, value, step)
            step //= 2
        return value

    @cuda.jit(device=True, inline=True)
    def _fast_block_sum(value):
        """``_block_sum`` by warp shuffles: each warp's sum, then warp 0 adds the eight; one
        syncthreads instead of nine. On an H200 (3 interleaved rounds) it made the one-pass sum
        3-6% faster from 2^14 to 2^22 floats (2.88 against 3.06-3.21 us at 2^18) and no slower
        beyond. The tests run the tree (the simulator has no shuffles); the suite's check runs this."""
        total = _warp_sum(value)
        warps = cuda.shared.array(_WARPS, dtype=float64)
        t = cuda.threadIdx.x
        if t % 32 == 0:
            warps[t // 32] = total
        cuda.syncthreads()
        if t < 32:
            total = _warp_sum(warps[t] if t < _WARPS else float64(0))
        return total


@cuda.jit(cache=True)
def sum_one_pass(x, n, head, chunk, partials, counter, out):
    """``out[0]`` = the sum of the ``n`` float32 at device address ``x``, in one launch.

    Per block: ``chunk`` consecutive 16-byte quads after the first ``head`` floats (0-3), block
    ``b`` from quad ``b * chunk`` (``sum_grid``). Per thread: SUM_UNROLL quads per trip, one
    block-width apart, so each warp's loads stay coalesced and all eight are in flight before the
    first add; the chunk's last part in one guarded trip of up to seven. Four float32
    accumulators, one per lane of a quad (float32 as the peers; see SumProblem for the error
    bound). The head and the 0-3 floats after the last whole quad go to threads 0-3 of block 0.

    Per block: the threads' sums in float64 by warp shuffles (``_fast_block_sum``). A grid of one
    block (up to 2^13 floats) writes that to ``out[0]``. Otherwise thread 0 stores it in
    ``partials[blockIdx.x]``, fences, and takes a ticket from ``counter``. The block with the last
    ticket adds every partial (read at L2) in index order and writes ``out[0]``. ``atomic.inc``
    with the limit ``gridDim.x - 1`` wraps the counter back to 0 at that last ticket, ready for
    the next launch (graph replay included); two launches on one counter must not run at once.

    Deterministic: every partial depends on its block's elements alone and the last block adds
    them in a fixed order whichever block arrives last, so repeated launches with the same grid
    agree bit for bit (another SM count gives another grid, and may round differently).
    """
    t = cuda.threadIdx.x
    width = cuda.blockDim.x
    q = x + 4 * head  # 16-byte aligned
    quads = (n - head) >> 2
    first = int64(cuda.blockIdx.x) * chunk  # 64-bit indices: quads may pass 2^31
    end = min(first + chunk, quads)
    s0 = float32(0)
    s1 = float32(0)
    s2 = float32(0)
    s3 = float32(0)
    k = first + t
    while k + 7 * width < end:  # SUM_UNROLL = 8 quads in flight
        v0 = load_f32x4(q, k)
        v1 = load_f32x4(q, k + width)
        v2 = load_f32x4(q, k + 2 * width)
        v3 = load_f32x4(q, k + 3 * width)
        v4 = load_f32x4(q, k + 4 * width)
        v5 = load_f32x4(q, k + 5 * width)
        v6 = load_f32x4(q, k + 6 * width)
        v7 = load_f32x4(q, k + 7 * width)
        s0 += ((v0[0] + v1[0]) + (v2[0] + v3[0])) + ((v4[0] + v5[0]) + (v6[0] + v7[0]))
        s1 += ((v0[1] + v1[1]) + (v2[1] + v3[1])) + ((v4[1] + v5[1]) + (v6[1] + v7[1]))
        s2 += ((v0[2] + v1[2]) + (v2[2] + v3[2])) + ((v4[2] + v5[2]) + (v6[2] + v7[2]))
        s3 += ((v0[3] + v1[3]) + (v2[3] + v3[3])) + ((v4[3] + v5[3]) + (v6[3] + v7[3]))
        k += 8 * width
    if k < end:  # a chunk's last 1-7 block-widths (only the last block has them: sum_grid): one
        #          guarded trip, the loads in flight together (a loop of single loads waits out each
        #          one's latency: 2.75 against 2.43 us at 2^10 on an H200)
        v0 = load_f32x4(q, k)
        v1 = load_f32x4(q, k + width) if k + width < end else _ZERO4
        v2 = load_f32x4(q, k + 2 * width) if k + 2 * width < end else _ZERO4
        v3 = load_f32x4(q, k + 3 * width) if k + 3 * width < end else _ZERO4
        v4 = load_f32x4(q, k + 4 * width) if k + 4 * width < end else _ZERO4
        v5 = load_f32x4(q, k + 5 * width) if k + 5 * width < end else _ZERO4
        v6 = load_f32x4(q, k + 6 * width) if k + 6 * width < end else _ZERO4
        s0 += ((v0[0] + v1[0]) + (v2[0] + v3[0])) + ((v4[0] + v5[0]) + v6[0])
        s1 += ((v0[1] + v1[1]) + (v2[1] + v3[1])) + ((v4[1] + v5[1]) + v6[1])
        s2 += ((v0[2] + v1[2]) + (v2[2] + v3[2])) + ((v4[2] + v5[2]) + v6[2])
        s3 += ((v0[3] + v1[3]) + (v2[3] + v3[3])) + ((v4[3] + v5[3]) + v6[3])
    if cuda.blockIdx.x == 0 and t < 4:  # the floats outside whole quads
        if t < head:
            s0 += load_f32(x, t)
        if t < (n - head) & 3:
            s1 += load_f32(x, n - 1 - t)
    total = _fast_block_sum((float64(s0) + float64(s1)) + (float64(s2) + float64(s3)))
    if cuda.gridDim.x == 1:  # one block (n up to 2^13 floats): its sum is the answer, with no
        if t == 0:         # partial, fence or ticket (1.44 against 2.75 us at 2^10 on an H200;
            out[0] = total  # cub 2.32), and the same value: the last block would add it to zeros
        return

    last = cuda.shared.array(1, dtype=int32)
    if t == 0:
        partials[cuda.blockIdx.x] = total
        cuda.threadfence()  # the partial reaches L2 before the ticket is taken
        ticket = cuda.atomic.inc(counter, 0, cuda.gridDim.x - 1)
        last[0] = ticket == cuda.gridDim.x - 1
    cuda.syncthreads()
    if last[0]:  # the same in every thread of the block: the block sum's syncthreads is safe
        acc = float64(0)
        for i in range(t, cuda.gridDim.x, SUM_BLOCK):
            acc += _load_partial(partials, i)
        total = _fast_block_sum(acc)
        if t == 0:
            out[0] = total


def sum_grid(quads: int, sms: int, blocks_per_sm: int = SUM_BLOCKS_PER_SM) -> tuple[int, int]:
    """``(blocks, chunk)`` of ``sum_one_pass`` for ``quads`` quads: up to SMs x ``blocks_per_sm``
    blocks (all resident at once, so no block waits for another to finish), fewer where a thread
    would get less than one full trip; every chunk but the last a whole number of trips.

    Measured on an H200 (graph replay, median of 20, three interleaved rounds), this layout against
    the earlier grid-stride walk with four quads in flight: 3.43 against 3.51 us at 2^20, 18.8
    against 19.2 at 2^24, 64.1 against 64.9 at 2^26, 236.4 against 237.6 at 2^28 (CuPy's cub:
    3.71, 19.2, 65.0, 237.1). Four quads in flight or SMs x 3 or 6 blocks were slower.
    """
    trip = SUM_BLOCK * SUM_UNROLL
    blocks = max(1, min(sms * blocks_per_sm, -(-quads // trip)))
    chunk = max(1, -(-(-(-quads // blocks)) // trip)) * trip
    return max(1, -(-quads // chunk)), chunk


# --- the two-pass reduction as a user writes it ------------------------------------------------

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


class SumProblem(DeviceProblem):
    """Against NumPy's float64 sum within a relative 1e-5.

    float32 accumulation per thread (as the peers do) bounds the error near n * 2^-24 in the
    worst case; for inputs in [0, 1) it stays far below 1e-5 of the sum at every suite size.
    """

    rtol = 1e-5
    out_dtype: ClassVar[type] = np.float64

    def allocate(self) -> None:
        (self.x_host,) = host_inputs(self.n, 1)
        self.x = cuda.to_device(self.x_host)
        self.want = np.array([self.x_host.sum(dtype=np.float64)])  # once per size, for every implementation

    def prepare(self) -> None:
        # the output is the implementation's own (its dtype differs), never a shared input
        self.out = cuda.device_array(1, dtype=self.out_dtype)

    def expected(self) -> np.ndarray:
        return self.want

    def result(self) -> np.ndarray:
        return self.out.copy_to_host().astype(np.float64)


@SUM.gpu("numba")
class SumNumba(SumProblem):
    """Ours: one launch of ``sum_one_pass`` through a PreparedLaunch (x by address, kept alive).

    Deterministic for a given GPU (see ``sum_one_pass``). The counter starts at 0 and every
    launch leaves it at 0; the partials need no reset (every block writes its own each launch).
    """

    def __init__(self, n: int, blocks_per_sm: int = SUM_BLOCKS_PER_SM, shared=None) -> None:
        self.blocks_per_sm = blocks_per_sm
        super().__init__(shared, n=n)

    def prepare(self) -> None:
        super().prepare()
        head, quads, _ = vector_span(self.x, 16)
        blocks, chunk = sum_grid(quads, sm_count(), self.blocks_per_sm)
        self.partials = cuda.device_array(blocks, dtype=np.float64)
        self.counter = cuda.to_device(np.zeros(1, dtype=np.uint32))
        self._launch = PreparedLaunch(sum_one_pass, validate(blocks, SUM_BLOCK), address(self.x), self.n, head, chunk,
                                      self.partials, self.counter, self.out, owners=(self.x,))

    def launch(self, stream: object = 0) -> None:
        self._launch(stream)


@SUM.gpu("two_pass")
class SumTwoPass(SumProblem):
    """Two passes: per-block float64 partials (grid-stride), then one block sums them.
    Deterministic for a given grid: no atomics."""

    def prepare(self) -> None:
        super().prepare()
        self.config = grid_stride_for(self.n, SUM_BLOCK, sm_count(), blocks_per_sm=8)
        self.partials = cuda.device_array(self.config.grid[0], dtype=np.float64)

    def launch(self, stream: object = 0) -> None:
        sum_partials[self.config.grid, self.config.block, stream](self.x, self.partials)
        sum_final[1, SUM_BLOCK, stream](self.partials, self.out)


class _SumPeer(Peer, SumProblem):
    """``x.sum(out=...)`` into a float32 scalar, as a user of either library would write it."""

    out_dtype = np.float32


@SUM.gpu("cupy")
class SumCupy(_SumPeer):
    library = CUPY

    def prepare(self) -> None:
        super().prepare()
        px, pout = self.wrap(self.x), self.wrap(self.out).reshape(())
        self.work = lambda: px.sum(out=pout)


@SUM.gpu("torch")
class SumTorch(_SumPeer):
    library = TORCH

    def prepare(self) -> None:
        super().prepare()
        px, pout = self.wrap(self.x), self.wrap(self.out).reshape(())
        self.work = lambda: self.lib.sum(px, dim=0, out=pout)


@njit(parallel=True, cache=True)
def _cpu_sum(x):
    s = 0.0
    for i in prange(x.size):
        s += x[i]
    return s


class SumHost(HostProblem):
    rtol = 1e-5

    def inputs(self) -> list[np.ndarray]:
        return [host_inputs(self.n, 1)[0].copy()]

    reference = staticmethod(np.sum)


@SUM.host("numpy")
class SumNumpy(SumHost):
    call = staticmethod(np.sum)


@SUM.host("cpu_parallel")
class SumParallel(SumHost):
    call = staticmethod(_cpu_sum)
