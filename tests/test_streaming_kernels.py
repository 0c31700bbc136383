"""The fast saxpy and the one-pass sum on the CUDA simulator, and the vector-width helpers they use.

saxpy: the 16-byte kernels (``saxpy.quads_launch``) against NumPy for sizes around the quad
edges and for views at every offset, with the plain kernel where x and y cannot share 16-byte
accesses. sum: ``sum_one_pass`` against NumPy's float64 sum, launched twice on one counter (the
last block must leave it at 0). Both through the Op, as the suite runs them; a wrong result must
fail ``check()``. On a GPU the benchmarks ``check()`` the same implementations at every size.
"""
from __future__ import annotations

import numpy as np
import pytest
from numba import config, cuda

from fixtures.grid import representatives
from gpukernels import vectors
from gpukernels.ours import reduce_sum, saxpy
from gpukernels.ours.reduce_sum import SUM
from gpukernels.ours.saxpy import SAXPY

pytestmark = pytest.mark.skipif(not config.ENABLE_CUDASIM, reason="simulator tests (NUMBA_ENABLE_CUDASIM=1)")


def view(values: np.ndarray, offset: int):
    """A device view of ``values`` starting ``offset`` floats into a fresh 16-byte aligned allocation."""
    base = cuda.to_device(np.concatenate([np.zeros(offset, np.float32), values]))
    assert vectors.address(base) % 16 == 0  # the simulator's arrays come from NumPy (16-byte aligned)
    return base[offset:]


def host(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(n, dtype=np.float32)


# --- vectors: the host-side helpers ---------------------------------------------------------------

def test_vector_width_follows_the_offsets() -> None:
    a = cuda.to_device(np.zeros(64, np.float32))
    b = cuda.to_device(np.zeros(64, np.float32))
    assert vectors.vector_width(a[0:16], b[0:16]) == 16
    assert vectors.vector_width(a[3:19], b[3:19]) == 16  # the same offset: same head, then quads
    assert vectors.vector_width(a[0:16], b[2:18]) == 8  # 8 bytes apart: pairs line up, quads do not
    assert vectors.vector_width(a[1:17], b[3:19]) == 8
    assert vectors.vector_width(a[0:16], b[1:17]) == 4
    assert vectors.vector_width(a[0:16], b[3:19]) == 4
    assert vectors.vector_width(a[5:30]) == 16  # one array alone always has a 16-byte body
    # no address kernel at all: strided, sizes that differ, another dtype, nothing
    assert vectors.vector_width(a[::2], b[0:32]) == 0
    assert vectors.vector_width(a[0:16], b[0:17]) == 0
    assert vectors.vector_width(cuda.to_device(np.zeros(16, np.float64))) == 0
    assert vectors.vector_width() == 0


@pytest.mark.parametrize("offset", range(8))
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 9, 17])
def test_vector_span_partitions_the_array(offset, n) -> None:
    x = view(np.zeros(n, np.float32), offset)
    for width in (4, 8, 16):
        head, vectors_, tail = vectors.vector_span(x, width)
        per = width // 4
        assert head + vectors_ * per + tail == n and 0 <= tail < per
        assert head == min((-offset) % per, n)
        assert (vectors.address(x) + 4 * head) % width == 0 or vectors_ == 0
    with pytest.raises(ValueError):
        vectors.vector_span(x, 12)


# --- saxpy ----------------------------------------------------------------------------------------

# -m "not slow": all quads at 4, head or tail only at 3, many blocks at 1000; .ci/run: every size
@pytest.mark.parametrize("n", representatives([1, 3, 4, 5, 17, 1000], fast=[3, 4, 1000]))
def test_saxpy_through_the_op(n) -> None:
    w = SAXPY.make_gpu("numba", n=n)
    assert w.choice == "quads"  # fresh arrays: 16-byte aligned, the fast path
    w.check()
    SAXPY.gpu_impls["numba"](n, per_thread=2).check()
    SAXPY.make_gpu("plain", n=n).check()
    assert SAXPY.best == "numba"


SAXPY_OFFSETS = [(0, 0), (1, 1), (2, 2), (3, 3), (1, 2), (0, 1), (5, 1), (0, 4)]


# -m "not slow": every offset pair at 17 floats (head, quads and tail), nothing at 0, the edge-free
# kernel at 8, and many blocks at 1000 (aligned, and 4 bytes apart: the plain kernel); .ci/run: all
@pytest.mark.parametrize("n,off_x,off_y", representatives(
    [(n, *offsets) for offsets in SAXPY_OFFSETS for n in (0, 1, 3, 5, 8, 17, 1000)],
    fast=[(17, *offsets) for offsets in SAXPY_OFFSETS] + [(0, 0, 0), (8, 0, 0), (1000, 0, 0), (1000, 0, 1)]))
@pytest.mark.parametrize("per_thread", [1])
def test_saxpy_any_offset(n, off_x, off_y, per_thread) -> None:
    """Views at any offsets: the quads kernels where x and y agree modulo 16 bytes, else None (the
    caller's fallback, here the plain kernel); y = a*x + y within 1e-6 either way, x unchanged."""
    x_host, y_host = host(n, 1), host(n, 2)
    x, y = view(x_host, off_x), view(y_host, off_y)
    launch = saxpy.quads_launch(saxpy.A, x, y, per_thread)
    if vectors.address(x) % 16 != vectors.address(y) % 16:  # offsets 1-3 floats apart (mod 4)
        assert launch is None and vectors.vector_width(x, y) in (4, 8)
        launch = saxpy.plain_launch(saxpy.A, x, y)
    else:
        head, quads, tail = vectors.vector_span(y, 16)
        edges = head or tail
        assert launch.dispatcher is (saxpy.saxpy_quads_edges if edges else
                                     saxpy.saxpy_quads_2 if per_thread == 2 else saxpy.saxpy_quads)
        assert launch.owners == (x, y)
    launch()
    np.testing.assert_allclose(y.copy_to_host(), saxpy.A * x_host + y_host, rtol=1e-6)
    np.testing.assert_array_equal(x.copy_to_host(), x_host)


@pytest.mark.parametrize("n", [4, 8, 1000, 1028])
def test_saxpy_two_quads_per_thread(n) -> None:
    """Aligned multiples of 4 floats: 2 quads per thread, with an odd last quad at 1028 floats."""
    test_saxpy_any_offset(n, 0, 0, 2)


def test_saxpy_misaligned_problem_falls_back(monkeypatch) -> None:
    """A problem whose x and y differ modulo 16 bytes takes the plain kernel and is still right."""
    w = SAXPY.make_gpu("numba", n=37)
    x_host, y_host = host(37, 3), host(37, 4)
    w.x, w.y = view(x_host, 1), view(y_host, 2)
    w.x_host, w.y_host = x_host, y_host
    w.y_start, w.y_want = view(y_host, 2), saxpy.A * x_host + y_host  # what reset and check use
    w.prepare()
    assert w.choice == "plain"
    w.check()


def test_saxpy_check_catches_a_wrong_result(monkeypatch) -> None:
    w = SAXPY.make_gpu("numba", n=100)
    real = w._launch

    def off_by_one_quad(stream=None):
        real(stream)
        y = w.y.copy_to_host()
        y[40:44] += 1e-3  # one quad wrong
        w.y.copy_to_device(y)

    monkeypatch.setattr(w, "_launch", off_by_one_quad)
    with pytest.raises(AssertionError):
        w.check()


# --- sum ------------------------------------------------------------------------------------------

# seconds each on the simulator (one launch runs 256 Python threads a block): -m "not slow" runs
# 1023 (quads and a tail); .ci/run every size
@pytest.mark.parametrize("n", representatives([1, 5, 1000, 1023], fast=[1023]))
def test_sum_through_the_op(n) -> None:
    w = SUM.make_gpu("numba", n=n)
    w.check()
    assert w.counter.copy_to_host()[0] == 0  # the last block put the counter back
    first = w.result()
    w.launch()  # a second launch on the same counter and partials
    np.testing.assert_array_equal(w.result(), first)
    assert w.counter.copy_to_host()[0] == 0
    assert SUM.best == "numba"


@pytest.mark.slow  # a second or more on the simulator; -m "not slow" checks two_pass at n=300 (tests/test_kernels.py)
def test_sum_two_pass_is_kept() -> None:
    SUM.make_gpu("two_pass", n=1000).check()


# -m "not slow": a head of 1 float, one quad, one block; a head of 3, quads, a tail and two blocks
# launched twice; .ci/run every head, tail and grid below (a second or more each)
@pytest.mark.parametrize("n,offset,blocks", representatives(
    [(3, 1, 1), (5, 0, 1), (5, 3, 1), (1023, 2, 1), (0, 0, 1), (1000, 1, 2), (1000 + 3, 3, 3), (6898, 1, 1)],
    fast=[(5, 3, 1), (1000, 1, 2)]))
def test_sum_any_offset_and_grid(n, offset, blocks) -> None:
    """Every head (0-3 floats before the first 16-byte boundary), tail and grid: the head and tail
    floats are counted once, every quad once, and the last of several blocks adds the partials."""
    values = host(n, 5)
    x = view(values, offset)
    head, quads, _ = vectors.vector_span(x, 16)
    partials = cuda.device_array(blocks, dtype=np.float64)
    counter = cuda.to_device(np.zeros(1, np.uint32))
    out = cuda.device_array(1, dtype=np.float64)
    want = values.sum(dtype=np.float64)
    chunk = max(1, -(-quads // blocks))  # blocks that start past the last quad add nothing
    for _ in range(2 if blocks > 1 else 1):  # the second launch finds the counter back at 0
        reduce_sum.sum_one_pass[blocks, reduce_sum.SUM_BLOCK](vectors.address(x), n, head, chunk, partials, counter,
                                                              out)
        np.testing.assert_allclose(out.copy_to_host()[0], want, rtol=1e-5)
        assert counter.copy_to_host()[0] == 0


def test_sum_grid_covers_every_quad_once_in_whole_trips() -> None:
    trip = reduce_sum.SUM_BLOCK * reduce_sum.SUM_UNROLL
    assert reduce_sum.sum_grid(0, 132) == (1, trip)
    assert reduce_sum.sum_grid(trip, 132) == (1, trip)
    assert reduce_sum.sum_grid(trip + 1, 132) == (2, trip)
    for quads in (1, trip - 1, 3 * trip + 5, 2**22 + 3, 2**26):
        blocks, chunk = reduce_sum.sum_grid(quads, 132)
        assert chunk % trip == 0 and blocks <= 132 * reduce_sum.SUM_BLOCKS_PER_SM
        assert (blocks - 1) * chunk < quads <= blocks * chunk  # every block has quads, none is left over
    # large inputs fill the SMs: whole-trip chunks leave at most a few of the SMs x 4 blocks unused
    assert 132 * (reduce_sum.SUM_BLOCKS_PER_SM - 1) < reduce_sum.sum_grid(2**26, 132)[0]


def test_sum_check_catches_a_wrong_result(monkeypatch) -> None:
    w = SUM.make_gpu("numba", n=1000)
    real = w._launch

    def wrong(stream=None):
        real(stream)
        w.out.copy_to_device(w.out.copy_to_host() * (1 + 1e-4))

    monkeypatch.setattr(w, "_launch", wrong)
    with pytest.raises(AssertionError):
        w.check()
