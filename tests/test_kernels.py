"""The kernels on the CUDA simulator: vector add variants, copy, and the index recorder."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import cuda

from gpukernels import kernels, probes
from gpukernels.launch import LaunchConfigError
from gpukernels.workloads import COPY_KINDS, VARIANTS, Copy, VectorAdd, host_inputs

VARIANT_NAMES = sorted(VARIANTS)


def test_the_four_variants() -> None:
    assert VARIANT_NAMES == ["grid_stride", "per_thread_4", "per_thread_8", "seed_256"]


def run_and_compare(n: int, block: int, variant: str) -> VectorAdd:
    """check() (the library's own NumPy check), then one launch compared with NumPy here."""
    w = VectorAdd(n, block, variant)
    w.check()
    # check() leaves b as it was given
    np.testing.assert_array_equal(w.b.copy_to_host(), w.b_host)
    w.launch()
    got = w.b.copy_to_host()
    assert got.shape == (n,) and got.dtype == np.float32
    np.testing.assert_array_equal(got, w.b_host + w.a_host)
    np.testing.assert_array_equal(w.a.copy_to_host(), w.a_host)  # a is read only
    return w


@pytest.mark.parametrize("variant", VARIANT_NAMES)
@pytest.mark.parametrize("n, block", [(0, 256), (1, 256), (1000, 128), (257, 256), (256, 256), (1024, 32)])
def test_vector_add_matches_numpy(variant, n, block) -> None:
    run_and_compare(n, block, variant)


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_empty_problem_launches_one_block_and_leaves_an_empty_array(variant) -> None:
    w = run_and_compare(0, 256, variant)
    assert w.config.grid == (1, 1, 1)
    assert w.b.copy_to_host().size == 0
    assert w.bytes_moved == 0


@settings(max_examples=15, deadline=None, database=None)
@given(n=st.integers(0, 600), block=st.sampled_from([1, 4, 32, 128, 256]),
       variant=st.sampled_from(VARIANT_NAMES))
def test_vector_add_any_size_and_block(n, block, variant) -> None:
    run_and_compare(n, block, variant)


@pytest.mark.parametrize("n, block, grid", [(1000, 128, 8), (257, 256, 2), (1, 4, 1), (600, 1, 600)])
def test_seed_launch_is_one_thread_per_element(n, block, grid) -> None:
    assert VectorAdd(n, block).config.grid == (grid, 1, 1)


@pytest.mark.parametrize("variant, per_thread", [("per_thread_4", 4), ("per_thread_8", 8)])
def test_per_thread_variants_launch_fewer_blocks(variant, per_thread) -> None:
    w = VectorAdd(1000, 32, variant)
    assert w.config.grid == (-(-1000 // (32 * per_thread)), 1, 1)


def test_grid_stride_walks_past_its_grid() -> None:
    # On the simulator (1 "SM", 8 blocks per SM) 600 elements at block 4 need 150 blocks but
    # get 8: each thread must loop.
    w = run_and_compare(600, 4, "grid_stride")
    assert w.config.grid == (8, 1, 1)
    assert w.config.threads < 600


def test_bounds_check_when_the_grid_overshoots() -> None:
    # 3 blocks of 256 over 300 elements: threads 300..767 must not touch the arrays
    # (the simulator raises IndexError on an out-of-bounds access).
    a, b = host_inputs(300)
    da, db = cuda.to_device(a), cuda.to_device(b)
    kernels.vector_add[3, 256](da, db)
    np.testing.assert_array_equal(db.copy_to_host(), a + b)


def test_float64_inputs() -> None:
    w = VectorAdd(100, 32, dtype=np.float64)
    w.check()
    assert w.bytes_moved == 3 * 8 * 100
    assert w.b.copy_to_host().dtype == np.float64


def test_bytes_moved_is_12_per_float32_element() -> None:
    assert VectorAdd(1000, 128).bytes_moved == 12_000
    assert VectorAdd(1000, 128).nbytes_per_array == 4_000


def test_check_catches_a_wrong_kernel() -> None:
    w = VectorAdd(64, 32)
    w.launch = lambda stream=0: kernels.empty3[1, 1, stream](w.a, w.b, w.b)  # b stays b
    with pytest.raises(AssertionError, match="vector add seed_256 n=64 block=32"):
        w.check()


def test_unknown_variant_and_bad_size() -> None:
    with pytest.raises(ValueError, match="unknown variant 'fast'"):
        VectorAdd(10, 32, "fast")
    with pytest.raises(LaunchConfigError, match="size must be >= 0"):
        VectorAdd(-1)
    with pytest.raises(LaunchConfigError, match="block x = 2048 exceeds"):
        VectorAdd(10, 2048)


def test_host_inputs_are_reproducible_and_in_unit_interval() -> None:
    a, b = host_inputs(500)
    a2, b2 = host_inputs(500)
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert a.dtype == np.float32 and not np.array_equal(a, b)
    assert a.min() >= 0 and a.max() < 1
    assert host_inputs(5, np.int32)[0].dtype == np.int32


# --- copies --------------------------------------------------------------------------------

def pattern(nbytes: int) -> np.ndarray:
    return (np.arange(nbytes) % 251 + 2).astype(np.uint8)  # never 0 or the fill value 1


@pytest.mark.parametrize("nbytes", [0, 4, 1020, 1024])
@pytest.mark.parametrize("kind", COPY_KINDS)
def test_copy_round_trips_the_bytes(kind, nbytes) -> None:
    c = Copy(kind, nbytes)
    want = pattern(nbytes)
    if kind.startswith("h2d"):
        c.host[:] = want
        c.launch()
        got = c.dev.copy_to_host()
    elif kind.startswith("d2h"):
        c.dev.copy_to_device(want)
        c.host[:] = 0
        c.launch()
        cuda.synchronize()
        got = np.array(c.host)
    else:
        c.dev.copy_to_device(want)
        c.launch()
        got = c.dev2.copy_to_host()
    np.testing.assert_array_equal(got, want)
    assert c.bytes_moved == (2 * nbytes if kind.startswith("d2d") else nbytes)


def test_copy_kernel_walks_past_its_grid() -> None:
    c = Copy("d2d_kernel", 4 * 4096)  # 4096 words, 8 blocks of 256 on the simulator
    assert c.config.grid == (8, 1, 1) and c.config.threads < 4096
    want = pattern(4 * 4096)
    c.dev.copy_to_device(want)
    c.launch()
    np.testing.assert_array_equal(c.dev2.copy_to_host(), want)


def test_copy_kinds_and_refusals() -> None:
    assert COPY_KINDS == ("h2d_pageable", "h2d_pinned", "d2h_pageable", "d2h_pinned", "d2d", "d2d_kernel")
    with pytest.raises(ValueError, match="unknown copy kind"):
        Copy("h2h", 8)
    with pytest.raises(ValueError, match="multiple of 4, got 6"):
        Copy("d2d_kernel", 6)
    with pytest.raises(LaunchConfigError):
        Copy("d2d", -4)


# --- the index recorder --------------------------------------------------------------------

LAUNCHES = {
    "1d": (2, 4),
    "1d_odd": (3, 5),
    "2d": ((3, 2), (4, 2)),
    "3d": ((2, 2, 2), (2, 3, 4)),
}


def pad(v) -> tuple[int, int, int]:
    v = v if isinstance(v, tuple) else (v,)
    return v + (1,) * (3 - len(v))


@pytest.mark.parametrize("name", list(LAUNCHES))
def test_every_thread_recorded_once_with_its_launch_shape(name) -> None:
    grid, block = (pad(x) for x in LAUNCHES[name])
    rows = probes.record_launch(*LAUNCHES[name])
    threads = int(np.prod(grid) * np.prod(block))
    assert rows.shape == (threads, len(kernels.INDEX_FIELDS) + 1)
    assert (rows[:, kernels.VISITS_COLUMN] == 1).all()
    assert (rows[:, 6:9] == block).all()   # blockDim
    assert (rows[:, 9:12] == grid).all()   # gridDim
    # every (threadIdx, blockIdx) pair appears exactly once
    pairs = {tuple(r[0:6]) for r in rows}
    expected = {(tx, ty, tz, bx, by, bz)
                for tx in range(block[0]) for ty in range(block[1]) for tz in range(block[2])
                for bx in range(grid[0]) for by in range(grid[1]) for bz in range(grid[2])}
    assert pairs == expected
    assert probes.coverage_errors(*LAUNCHES[name]) == 0


def test_row_is_the_global_id() -> None:
    rows = probes.record_launch((3, 2), (4, 2))
    nx = 3 * 4
    gx = rows[:, 0] + rows[:, 3] * 4
    gy = rows[:, 1] + rows[:, 4] * 2
    np.testing.assert_array_equal(gx + gy * nx, np.arange(len(rows)))


def test_coverage_errors_counts_bad_rows(monkeypatch) -> None:
    good = probes.record_launch(2, 4)
    bad = good.copy()
    bad[3, kernels.VISITS_COLUMN] = 2            # a row written twice
    bad[[5, 6]] = bad[[6, 5]]                    # two threads in each other's rows
    monkeypatch.setattr(probes, "record_launch", lambda grid, block: bad)
    assert probes.coverage_errors(2, 4) == 3


def test_index_mapping_is_the_seed_table() -> None:
    p = probes.index_mapping(2, 4)
    assert p["measured"] is True and p["note"] == ""
    data = p["data"]
    assert data["launch"] == "[2,4]"
    assert data["covered_once"] is True
    rows = data["rows"]
    assert [r["thread"] for r in rows] == list(range(8))
    assert [r["threadIdx"] for r in rows] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert [r["blockIdx"] for r in rows] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert {r["blockDim"] for r in rows} == {4}
    assert {r["gridDim"] for r in rows} == {2}


@pytest.mark.parametrize("grid, block", [((3, 2), (4, 2)), ((2, 2, 2), (2, 3, 4))])
def test_index_mapping_multi_d_rows_hold_triples(grid, block) -> None:
    data = probes.index_mapping(grid, block)["data"]
    assert data["covered_once"] is True
    assert data["launch"] == f"[{grid},{block}]"
    rows = data["rows"]
    assert len(rows) == np.prod(grid) * np.prod(block)
    for r in rows:
        assert r["blockDim"] == list(pad(block))
        assert r["gridDim"] == list(pad(grid))
        assert all(0 <= t < b for t, b in zip(r["threadIdx"], pad(block)))
        assert all(0 <= i < g for i, g in zip(r["blockIdx"], pad(grid)))
    assert rows[-1]["threadIdx"] == [b - 1 for b in pad(block)]
    assert rows[-1]["blockIdx"] == [g - 1 for g in pad(grid)]


def test_record_launch_validates_first() -> None:
    with pytest.raises(LaunchConfigError, match="block x = 2048"):
        probes.record_launch(1, 2048)
