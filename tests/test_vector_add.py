"""The fast vector adds (16-byte quads, 8-byte pairs, tuned) on the CUDA simulator: bit-exact
``b += a`` for any size and any offsets of a and b, the right fallback when the addresses do
not line up, and the tuned choice. On a GPU the same paths are checked against NumPy by every
benchmark (``check()``); the 16-byte instructions themselves are checked in the compiled PTX."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import cuda

from fixtures.grid import representatives
from gpukernels import measure, problems, timing
from gpukernels.ours import kernels, vector_add
from gpukernels.ours.suite import SUITE
from gpukernels.ours.vector_add import element_launch, pairs_launch, quads_launch
from gpukernels.problems import device_address

LAUNCHERS = {"quads": quads_launch, "pairs": pairs_launch, "element": element_launch}


def offset_arrays(n: int, offset_a: int, offset_b: int):
    """Device views of n floats starting ``offset`` floats into fresh allocations, and the host data."""
    a_host = np.arange(n, dtype=np.float32) * np.float32(1.5) + np.float32(0.1)
    b_host = np.arange(n, dtype=np.float32) * np.float32(-0.7) + np.float32(3.3)
    a = cuda.to_device(np.concatenate([np.zeros(offset_a, np.float32), a_host]))[offset_a:]
    b = cuda.to_device(np.concatenate([np.zeros(offset_b, np.float32), b_host]))[offset_b:]
    return a, b, a_host, b_host


@settings(max_examples=40, deadline=None, database=None)
@given(n=st.integers(0, 70), offset_a=st.integers(0, 7), offset_b=st.integers(0, 7),
       kind=st.sampled_from(sorted(LAUNCHERS)))
@pytest.mark.slow  # seconds on the simulator: .ci/run runs it
def test_fast_paths_are_bit_exact_for_any_size_and_offset(n, offset_a, offset_b, kind) -> None:
    a, b, a_host, b_host = offset_arrays(n, offset_a, offset_b)
    launch = LAUNCHERS[kind](a, b)
    lined_up = {"quads": 16, "pairs": 8, "element": 1}[kind]
    if device_address(a) % lined_up != device_address(b) % lined_up:
        assert launch is None  # this kernel cannot serve these arrays: the caller falls back
        return
    launch()
    np.testing.assert_array_equal(b.copy_to_host(), b_host + a_host)
    np.testing.assert_array_equal(a.copy_to_host(), a_host)  # a is only read


# -m "not slow": every offset at 5 and 8 floats (head, quads and tail; or whole quads only), and
# past one block (1029 with edges, 1032 without); .ci/run: every size at every offset
@pytest.mark.parametrize("n, offset", representatives(
    [(n, offset) for offset in range(4) for n in (0, 1, 3, 4, 5, 8, 12, 1029, 1032)],
    fast=[(n, offset) for offset in range(4) for n in (5, 8)] + [(1029, 1), (1032, 0)]))
@pytest.mark.parametrize("per_thread", [1, 2])
def test_quads_kernels_do_head_quads_and_tail(n, offset, per_thread) -> None:
    """Same offset for a and b: a quads kernel always applies; aligned multiples of 4 take the
    kernel without edge code (1 or 2 quads per thread), the rest the one with head and tail."""
    a, b, a_host, b_host = offset_arrays(n, offset, offset)
    if device_address(a) % 16 != device_address(b) % 16:
        pytest.skip("the two host allocations differ modulo 16 bytes")
    launch = quads_launch(a, b, per_thread)
    head = min((-device_address(b)) % 16 // 4, n)
    tail = (n - head) % 4
    if head or tail:
        assert launch.dispatcher is kernels.vector_add_quads_edges and launch._args[2:] == (n, head)
        assert launch.config.threads >= 4
    else:
        fast = kernels.vector_add_quads_2 if per_thread == 2 else kernels.vector_add_quads
        assert launch.dispatcher is fast and launch.config.threads * 4 * per_thread >= n
    launch()
    np.testing.assert_array_equal(b.copy_to_host(), b_host + a_host)


def test_strided_or_misaligned_arrays_fall_back() -> None:
    base = cuda.to_device(np.arange(32, dtype=np.float32))
    assert quads_launch(base[::2], base[1::2]) is None and pairs_launch(base[::2], base[1::2]) is None
    assert quads_launch(base[1:9], base[2:10]) is None  # 4 bytes apart: neither 16 nor 8 lines up
    assert pairs_launch(base[1:9], base[2:10]) is None
    w = vector_add.VectorAddQuads(n=10)
    assert w._launch.dispatcher in (kernels.vector_add_quads_edges, kernels.vector_add_pairs_4)


class FakeTiming:
    def __init__(self, seconds: float) -> None:
        self.median_s = seconds


KERNEL_OF = {"quads": kernels.vector_add_quads, "quads_2": kernels.vector_add_quads_2,
             "pairs": kernels.vector_add_pairs_4}


def tuned_with(monkeypatch, seconds) -> tuple[vector_add.VectorAddTuned, list]:
    """A tuned vector add of 1000 floats whose candidates time as ``seconds(kernel name, call)``."""
    timed = []
    name_of = {k: n for n, k in KERNEL_OF.items()}

    def fake_device_time(launch, mode, *, samples, launches):
        launch(0)  # the tuning launches do change b: prepare must put it back
        timed.append((name_of[launch.dispatcher], mode, samples, launches))
        return FakeTiming(seconds(name_of[launch.dispatcher], len(timed) - 1))

    monkeypatch.setattr(vector_add.VectorAddTuned, "tune", True)
    monkeypatch.setattr(timing, "device_time", fake_device_time)
    w = vector_add.VectorAddTuned(n=1000)
    assert device_address(w.a) % 16 == device_address(w.b) % 16 == 0  # every candidate applies
    return w, timed


@pytest.mark.parametrize("faster", ["quads", "quads_2", "pairs"])
def test_tuned_takes_a_clearly_faster_kernel_and_resets_b(monkeypatch, faster) -> None:
    w, timed = tuned_with(monkeypatch, lambda name, call: 1e-6 if name == faster else 2e-6)
    assert w.choice == faster and w._launch.dispatcher is KERNEL_OF[faster]
    assert w.tuning == {name: 1e-6 if name == faster else 2e-6 for name in KERNEL_OF}
    # interleaved rounds: every candidate once per round, in order
    assert [t[0] for t in timed] == list(KERNEL_OF) * w.TUNING_ROUNDS
    assert {t[1:] for t in timed} == {("graph", w.TUNING_SAMPLES, timing.policy().launches_for(1000))}
    np.testing.assert_array_equal(w.b.copy_to_host(), w.b_host)
    w.check()


def test_tuned_keeps_quads_on_a_tie(monkeypatch) -> None:
    w, _ = tuned_with(monkeypatch, lambda name, call: 1e-6 * (0.995 if name == "pairs" else 1.0))
    assert w.choice == "quads" and min(w.tuning, key=w.tuning.get) == "pairs"  # 0.5% faster: a tie


def test_tuned_is_not_fooled_by_one_slow_round(monkeypatch) -> None:
    """A busy GPU (or a profiler) during the first round slows quads only there: the fastest round counts."""
    rounds = len(KERNEL_OF)
    w, _ = tuned_with(monkeypatch, lambda name, call: (1.5e-6 if call < rounds and name == "quads" else
                                                       1.0e-6 if name == "quads" else 1.04e-6))
    assert w.choice == "quads" and w.tuning["quads"] == 1e-6


def test_tuned_without_a_choice_does_not_time(monkeypatch) -> None:
    monkeypatch.setattr(vector_add.VectorAddTuned, "tune", True)
    monkeypatch.setattr(timing, "device_time", lambda *a, **k: pytest.fail("timed with one candidate"))
    one_quads = vector_add.quads_launch
    monkeypatch.setattr(vector_add, "pairs_launch", lambda a, b: None)
    monkeypatch.setattr(vector_add, "quads_launch", lambda a, b, per_thread=1: one_quads(a, b) if per_thread == 1 else None)
    w = vector_add.VectorAddTuned(n=100)
    assert w.choice == "quads" and w.tuning == {}
    monkeypatch.setattr(vector_add, "quads_launch", lambda a, b, per_thread=1: None)
    w = vector_add.VectorAddTuned(n=100)
    assert w.choice == "element" and w._launch.dispatcher is kernels.vector_add
    w.check()


def test_fast_kernels_compile_to_vector_loads_and_stores() -> None:
    """Outside the simulator the intrinsics emit ld/st.global.v4.f32 (quads) and .v2.f32 (pairs)
    at the addresses they are given (compiled to PTX, no GPU needed)."""
    # one interpreter for both: the int64 addresses' PTX, then the same kernel given a float64, whose
    # compile must fail (its error is printed on a line of its own, after the counts)
    code = ("from numba import cuda, types\n"
            "from gpukernels.ours import kernels\n"
            "ADDRESS = types.int64\n"
            "for name, nargs in (('vector_add_quads', 3), ('vector_add_quads_2', 3), ('vector_add_quads_edges', 4),\n"
            "                    ('vector_add_pairs', 4), ('vector_add_pairs_4', 4)):\n"
            "    ptx, _ = cuda.compile_ptx(getattr(kernels, name).py_func, (ADDRESS,) * nargs, cc=(9, 0))\n"
            "    print(name, *(ptx.count(f'{op}.global.{v}.f32') for v in ('v4', 'v2') for op in ('ld', 'st')),\n"
            "          ptx.count('.param .'))\n"
            "try:\n"
            "    cuda.compile_ptx(kernels.vector_add_quads.py_func, (types.float64,) * 3, cc=(9, 0))\n"
            "except Exception as exc:  # a float is no address\n"
            "    print('float64 refused:', ' '.join(str(exc).split()))\n"
            "else:\n"
            "    print('float64 compiled')\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    *lines, refused = done.stdout.splitlines()
    counts = dict((line.split()[0], tuple(map(int, line.split()[1:]))) for line in lines)
    # (16-byte loads, stores, 8-byte loads, stores, kernel parameters). quads_2: four loads and
    # two stores in the full path, two and one in the last partial one; pairs_4: unrolled x4.
    assert counts == {"vector_add_quads": (2, 1, 0, 0, 3), "vector_add_quads_2": (6, 3, 0, 0, 3),
                      "vector_add_quads_edges": (2, 1, 0, 0, 4), "vector_add_pairs": (0, 0, 2, 1, 4),
                      "vector_add_pairs_4": (0, 0, 8, 4, 4)}
    assert refused.startswith("float64 refused:") and "needs an integer device address" in refused, refused


def test_shared_inputs_give_every_implementation_of_a_size_the_same_arrays() -> None:
    shared = problems.SharedInputs()
    add, saxpy_op = SUITE.ops["vector_add"], SUITE.ops["saxpy"]
    quads, pairs = add.make_gpu("quads", shared, n=100), add.make_gpu("pairs", shared, n=100)
    assert quads.b is pairs.b and quads.a is pairs.a and quads.b_host is pairs.b_host
    quads.check()
    pairs.check()  # each starts from the host inputs, whatever the other left in b
    seed = vector_add.VectorAddSeed(100, block=64, shared=shared)
    assert seed.b is quads.b
    other = add.make_gpu("quads", shared, n=200)
    assert other.b is not quads.b and other.b.size == 200
    assert shared._key == (vector_add.VectorAddProblem, (("n", 200),))  # one size at a time: 100's released
    saxpy = saxpy_op.make_gpu("numba", shared, n=200)
    assert saxpy.y.size == 200 and shared._key[0] is not vector_add.VectorAddProblem
    alone = add.make_gpu("quads", n=200)
    assert alone.b is not other.b  # without shared inputs every problem allocates its own


@pytest.mark.slow  # seconds on the simulator: .ci/run runs it
def test_a_family_allocates_once_per_size(monkeypatch) -> None:
    calls = []
    real = vector_add.VectorAddProblem.allocate
    monkeypatch.setattr(vector_add.VectorAddProblem, "allocate", lambda self: calls.append(self.n) or real(self))
    fam = dataclasses.replace(SUITE.family("kernels.VectorAdd"),
                              params=(("impl", ("seed", "pairs", "quads")), ("n", (64, 96))))
    res = measure.measure_family(fam)
    assert all(not o.error and not o.skip for o in res.values()), res
    assert sorted(calls) == [64, 96]


@pytest.mark.parametrize("op", sorted(SUITE.ops))
def test_every_implementation_of_an_op_allocates_the_same_inputs(op) -> None:
    """What SharedInputs hands around: an implementation-specific array (a float32 output where
    another wants float64) would change what the next implementation measures."""
    def inputs(cls) -> dict:
        work = cls.__new__(cls)
        vars(work).update({a: 16 for a in SUITE.ops[op].axis_names})
        return {k: (str(getattr(v, "dtype", type(v))), getattr(v, "shape", None)) for k, v in work._allocated().items()}

    found = {impl: inputs(cls) for impl, cls in SUITE.ops[op].gpu_impls.items()}
    assert len(found) > 1 and all(v == next(iter(found.values())) for v in found.values()), found
