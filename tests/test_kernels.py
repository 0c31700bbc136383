"""Our suite's kernels on the CUDA simulator: every op's implementations against NumPy, vector add
for any size, offset and block, copies, and the index recorder."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import cuda

from fixtures.grid import representatives
from gpukernels.launch import LaunchConfigError
from gpukernels.ours import kernels, probes, vector_add
from gpukernels.ours.suite import SUITE
from gpukernels.ours.transfers import COPY_KINDS, Copy
from gpukernels.problems import PeerMissing, assert_matches, device_address, host_inputs

VARIANT_NAMES = list(vector_add.VARIANTS)
ONE_AXIS = [op for op in SUITE.ops.values() if op.axis_names == ("n",)]
SIM_IMPLS = [(op.name, impl) for op in ONE_AXIS for impl in op.gpu_impls if impl not in op.peers]
HOST_IMPLS = [(op.name, impl) for op in SUITE.ops.values() for impl in op.host_impls]


def test_every_op_family_lists_exactly_its_implementations() -> None:
    for op in SUITE.ops.values():
        assert dict(op.kernel_family.params)["impl"] == tuple(op.gpu_impls)
        if op.host_impls:
            assert dict(op.baseline_family.params)["impl"] == tuple(op.host_impls)
        assert op.ours in op.gpu_impls and set(op.peers) <= set(op.gpu_impls)


def run_and_compare(n: int, block: int, variant: str):
    """check() (the library's own NumPy check), then one launch compared with NumPy here."""
    cls = vector_add.VARIANTS[variant]
    w = cls(n, block) if variant not in ("pairs", "quads") else cls(n=n)
    w.check()
    np.testing.assert_array_equal(w.b.copy_to_host(), w.b_host)  # check() leaves b as it was given
    w.launch()
    got = w.b.copy_to_host()
    assert got.shape == (n,) and got.dtype == np.float32
    np.testing.assert_array_equal(got, w.b_host + w.a_host)  # bit-exact
    np.testing.assert_array_equal(w.a.copy_to_host(), w.a_host)  # a is read only
    return w


# -m "not slow": nothing, 3 floats (less than a pair or a quad), and several blocks with a partial last
# one; .ci/run every size and block below
@pytest.mark.parametrize("variant", VARIANT_NAMES)
@pytest.mark.parametrize("n, block", representatives(
    [(0, 256), (1, 256), (2, 256), (3, 128), (1000, 128), (257, 256), (1024, 32)],
    fast=[(0, 256), (3, 128), (1000, 128)]))
def test_vector_add_matches_numpy(variant, n, block) -> None:
    run_and_compare(n, block, variant)


@settings(max_examples=15, deadline=None, database=None)
@given(n=st.integers(0, 600), block=st.sampled_from([1, 4, 32, 128, 256]),
       variant=st.sampled_from(VARIANT_NAMES))
def test_vector_add_any_size_and_block(n, block, variant) -> None:
    run_and_compare(n, block, variant)


@pytest.mark.parametrize("n, block, grid", [(1000, 128, 8), (257, 256, 2), (1, 4, 1), (600, 1, 600)])
def test_seed_launch_is_one_thread_per_element(n, block, grid) -> None:
    assert vector_add.VectorAddSeed(n, block).config.grid == (grid, 1, 1)


@pytest.mark.parametrize("n", representatives([1, 2, 5, 64, 131], fast=[5, 131]))  # .ci/run: all sizes
@pytest.mark.parametrize("offset", [0, 1, 3])
def test_pairs_kernel_handles_tails_and_unaligned_starts(n, offset) -> None:
    """The kernels themselves on views that start at an odd float: head and tail floats are added too."""
    a_host, b_host = (np.arange(n + offset, dtype=np.float32) * k + 0.25 for k in (1, 3))
    for kernel, per_thread in ((kernels.vector_add_pairs, 1), (kernels.vector_add_pairs_4, 4)):
        a, b = cuda.to_device(a_host)[offset:], cuda.to_device(b_host)[offset:]
        assert device_address(a) % 8 == device_address(b) % 8
        head = device_address(b) % 8 // 4  # 1: the first float sits before an 8-byte boundary
        pairs = (n - head) // 2
        kernel[max(1, -(-pairs // (64 * per_thread))) + 1, 64](device_address(a),
                                                               device_address(b), n, head)
        np.testing.assert_array_equal(b.copy_to_host(), b_host[offset:] + a_host[offset:])


@pytest.mark.parametrize("op, impl", SIM_IMPLS)
@pytest.mark.parametrize("n", representatives([1, 300, 1024], fast=[300]))  # .ci/run: all three sizes
def test_every_numba_implementation_matches_numpy(op, impl, n) -> None:
    w = SUITE.ops[op].make_gpu(impl, n=n)
    w.check()  # raises on a mismatch


def test_check_catches_a_wrong_answer(monkeypatch) -> None:
    w = SUITE.ops["saxpy"].make_gpu("numba", n=64)
    monkeypatch.setattr(w, "expected", lambda: w.y_host * 3)
    with pytest.raises(AssertionError, match="Saxpy"):
        w.check()
    s = SUITE.ops["sum"].make_gpu("numba", n=100)
    monkeypatch.setattr(s, "expected", lambda: np.array([1.0]))
    with pytest.raises(AssertionError):
        s.check()


F32 = np.float32
# (got, want, rtol, atol, None or what the message must say): the one comparison of every check
MATCHES = [
    (np.arange(5, dtype=F32), np.arange(5, dtype=F32), None, 0.0, None),
    (np.arange(5, dtype=F32), np.arange(5, dtype=np.float64) + [0, 0, 1e-6, 0, 0], None, 0.0, "1 of 5 elements differ"),
    (np.full(4, 1 + 1e-7, F32), np.ones(4), 1e-6, 0.0, None),  # within rtol
    (np.array([1.0, 2.0, 3.1]), np.array([1.0, 2.0, 3.0]), 1e-2, 0.0, r"1 of 3 .* \[2\]: 3\.1, expected 3\.0"),
    (np.array([0.0, 1e-9]), np.zeros(2), 1e-6, 1e-8, None),  # atol covers a zero reference
    (np.array([0.0, 1e-7]), np.zeros(2), 1e-6, 1e-8, r"1 of 2 .* \[1\]"),
    (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), 1e-6, 0.0, r"1 of 2 .* \[0\]: nan"),  # NaN never passes
    (np.array([np.inf]), np.array([1.0]), 1e-6, 0.0, "1 of 1"),
    (np.float32(6.0), np.float64(6.0000001), 1e-6, 0.0, None),  # scalars (a host sum)
    (np.ones((2, 3), F32), np.ones((3, 2), F32), 1e-6, 0.0, r"shape \(2, 3\), the reference's \(3, 2\)"),
    (np.ones(3, np.int64), np.array([1, 1, 2]), 0.0, 0.0, "1 of 3"),
]


@pytest.mark.parametrize("got, want, rtol, atol, error", MATCHES)
def test_assert_matches_counts_and_names_the_first_element_off(got, want, rtol, atol, error) -> None:
    if error is None:
        assert_matches(got, want, rtol, atol, "label")
    else:
        with pytest.raises(AssertionError, match=error) as info:
            assert_matches(got, want, rtol, atol, "label")
        assert str(info.value).startswith("label: ")


def test_a_host_baseline_with_a_wrong_answer_fails_its_check(monkeypatch) -> None:
    w = SUITE.ops["saxpy"].make_host("numpy", n=1000)
    monkeypatch.setattr(w, "reference", lambda x, y: np.where(np.arange(y.size) == 7, y + 1, 2 * x + y))
    with pytest.raises(AssertionError, match=r"SaxpyNumpy \{'n': 1000\}: 1 of 1000 .* \[7\]"):
        w.check()


def test_sum_is_within_its_stated_tolerance_and_deterministic() -> None:
    w = SUITE.ops["sum"].make_gpu("two_pass", n=600)
    w.launch()
    first = w.result()[0]
    w.launch()
    assert w.result()[0] == first  # no atomics: the same grid gives the same bits
    want = w.x_host.sum(dtype=np.float64)
    assert abs(first - want) <= 1e-5 * want


@pytest.mark.parametrize("op, impl", HOST_IMPLS)
def test_host_baselines_match_numpy(op, impl) -> None:
    w = SUITE.ops[op].make_host(impl, n=1000)
    w.check()
    w.run()


@pytest.mark.parametrize("op, impl", [(op.name, p) for op in SUITE.ops.values() for p in op.peers])
def test_peers_skip_with_a_reason_on_the_simulator(op, impl) -> None:
    axes = {a: 16 for a in SUITE.ops[op].axis_names}
    with pytest.raises(PeerMissing, match="simulator"):
        SUITE.ops[op].make_gpu(impl, **axes)


def test_unknown_implementations_and_sizes_are_refused() -> None:
    with pytest.raises(KeyError, match="no GPU implementation 'fast'"):
        SUITE.ops["vector_add"].make_gpu("fast", n=10)
    with pytest.raises(LaunchConfigError):
        SUITE.ops["vector_add"].make_gpu("seed", n=-1)
    with pytest.raises(LaunchConfigError):
        vector_add.VectorAddSeed(10, 2048)


def test_host_inputs_are_reproducible_and_in_unit_interval() -> None:
    a, b = host_inputs(500)
    a2, b2 = host_inputs(500)
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert a.dtype == np.float32 and not np.array_equal(a, b)
    assert a.min() >= 0 and a.max() < 1
    assert len(host_inputs(5, 1)) == 1
    with pytest.raises(ValueError):
        a[0] = 2  # shared between implementations: read only


def test_host_inputs_do_not_depend_on_the_number_of_cores(monkeypatch) -> None:
    n = 2**20 + 5  # two streams (chunks of 2^20) per array
    host_inputs.cache_clear()
    many = [a.copy() for a in host_inputs(n)]
    host_inputs.cache_clear()
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    one = host_inputs(n)
    host_inputs.cache_clear()
    for a, b in zip(many, one):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(many[0][:5], many[0][2**20:2**20 + 5])  # each chunk a stream of its own


def test_numpys_own_baseline_has_nothing_to_compare_and_the_others_are_checked(monkeypatch) -> None:
    numpy_add = SUITE.ops["vector_add"].make_host("numpy", n=100)
    monkeypatch.setattr(numpy_add, "inputs", lambda: pytest.fail("a baseline that is its own reference ran"))
    numpy_add.check()
    parallel = SUITE.ops["vector_add"].make_host("cpu_parallel", n=100)
    monkeypatch.setattr(parallel, "call", lambda a, b: b)  # forgets to add
    with pytest.raises(AssertionError, match="VectorAddParallel"):
        parallel.check()


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
