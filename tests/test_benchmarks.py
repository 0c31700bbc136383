"""The asv suite generated from our Suite: classes, ids, params, units, versions, and the
one-measurement rule (GB/s from the same samples as device time), on the CUDA simulator."""
from __future__ import annotations

import dataclasses
import importlib
import inspect
from pathlib import Path

import pytest

from gpukernels import measure, suite, timing
from gpukernels.measure import Measured, Outcome
from gpukernels.ours import launches
from gpukernels.ours.suite import SUITE

AREAS = sorted(SUITE.areas)
REPO = Path(__file__).resolve().parent.parent


def generated() -> dict[str, type]:
    out = {}
    for area in AREAS:
        module = importlib.import_module(f"benchmarks.{area}")
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and cls.__module__ == f"benchmarks.{area}":
                out[f"{area}.{name}"] = cls
    return out


def test_every_family_is_an_asv_class_with_its_params_and_nothing_else() -> None:
    classes = generated()
    assert set(classes) == {f.cls_id for f in SUITE.families}
    for fam in SUITE.families:
        cls = classes[fam.cls_id]
        assert cls.params == [list(v) for v in fam.param_values]
        assert cls.param_names == list(fam.param_names)
        for metric in fam.metrics:
            track = getattr(cls, metric.method)
            assert track.unit == metric.unit and track.type == metric.asv_type
        assert sorted(m for m in vars(cls) if m.startswith(("track_", "time_"))) == sorted(
            m.method for m in fam.metrics)


def test_benchmark_modules_name_no_ids() -> None:
    """Ids are written once: the benchmark modules only ask the suite for their area."""
    for area in AREAS:
        text = (REPO / "benchmarks" / f"{area}.py").read_text()
        assert "track_" not in text and "class " not in text


def test_setup_cache_keys_differ_per_family() -> None:
    """asv shares a setup_cache between classes with the same key (module and line)."""
    from asv_runner.benchmarks._base import get_setup_cache_key

    keys = [get_setup_cache_key(cls().setup_cache) for cls in generated().values()]
    assert len(set(keys)) == len(keys)


def test_docs_suite_md_is_generated_from_the_suite() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "gpukernels.ours.suite"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    text = (REPO / "docs" / "suite.md").read_text()
    assert text == done.stdout, "docs/suite.md is stale: python -m gpukernels.ours.suite > docs/suite.md"


def test_version_changes_with_the_timing_policy_and_the_family_entry() -> None:
    fam = SUITE.family("kernels.VectorAdd")
    base = measure.family_version(fam)
    assert measure.family_version(fam) == base  # stable
    assert measure.family_version(fam, dataclasses.replace(timing.POLICY, samples=31)) != base
    assert measure.family_version(fam, dataclasses.replace(timing.POLICY, max_launches=50)) != base
    other = dataclasses.replace(fam, params=(("impl", ("seed",)), ("n", (2**10,))))
    assert measure.family_version(other) != base
    op = fam.op
    with pytest.MonkeyPatch.context() as mp:  # describing an implementation anew keeps its history
        mp.setattr(op, "impl_notes", {**op.impl_notes, "pairs": "reworded"})
        assert measure.family_version(fam) == base
        mp.setattr(op, "bytes", lambda n: 8 * n)
        assert measure.family_version(fam) != base
    # every metric of a family carries the family's version
    cls = generated()[fam.cls_id]
    assert {getattr(cls, m.method).version for m in fam.metrics} == {base}


MEASURE_MODULE = """
from numba import cuda
from gpukernels.measure import Measured


@cuda.jit
def kernel(x):
    x[0] = {kernel_body}


def helper(ctx, n):
    return ctx.wall(lambda: None, clock={clock})


def measure(ctx, n):
    kernel[1, 1](cuda.device_array(1))
    return Measured(helper(ctx, n))
"""


def _version_of(tmp_path: Path, name: str, **code: str) -> str:
    """The version of a family whose measure lives in a fresh module written from MEASURE_MODULE."""
    import sys

    (tmp_path / f"{name}.py").write_text(MEASURE_MODULE.format(**{"kernel_body": "1", "clock": "None", **code}))
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))
    fam = suite.Family("user", "Thing", "a user's family", (("n", (1,)),), module.measure, suite.WALL,
                       (suite.WALL_TIME,))
    return measure.family_version(fam)


def test_version_follows_every_measuring_helper_and_no_kernel(tmp_path) -> None:
    """A kernel change must stay comparable (the gate judges it); a change in any function the
    measurement runs, the measure's helpers included, starts a new series."""
    base = _version_of(tmp_path, "m_base")
    assert _version_of(tmp_path, "m_kernel", kernel_body="2") == base
    assert _version_of(tmp_path, "m_helper", clock="time.perf_counter") != base
    # the engine's own measuring code is covered too (Context's helpers, the timing functions)
    assert any("def device_time(" in src for src in measure.ENGINE_CODE)
    assert any("def wall(" in src for src in measure.ENGINE_CODE)
    fam = SUITE.family("kernels.Saxpy")
    assert measure.family_version(fam) == measure.family_version(fam, timing.POLICY)


def test_bandwidth_samples_are_the_device_time_samples() -> None:
    fam = SUITE.family("kernels.VectorAdd")
    t = timing.Timing((1e-3, 2e-3, 4e-3), "graph")
    out = {m.method: measure.derive(m, Measured(t, 12_000_000), None) for m in fam.metrics}
    assert out["track_device_time"] == {"samples": [1e-3, 2e-3, 4e-3], "number": 1}
    assert out["track_bandwidth"]["samples"] == pytest.approx([12.0, 6.0, 3.0])
    assert out["track_throttle"] != out["track_throttle"]  # NaN: not recorded without NVML


def test_compute_samples_are_the_device_time_samples() -> None:
    t = timing.Timing((1e-3, 2e-3), "graph")
    out = measure.derive(suite.COMPUTE, Measured(t, 0, 4e9), None)
    assert out["samples"] == pytest.approx([4000.0, 2000.0])


def test_family_measurement_on_the_simulator() -> None:
    fam = SUITE.family("kernels.VectorAdd")
    res = measure.measure_family(dataclasses.replace(fam, params=(("impl", ("seed", "pairs", "torch")),
                                                                  ("n", (256, 2**20)))))
    ok = res[("pairs", 256)]
    assert not ok.skip and not ok.error
    assert len(ok.metrics["track_device_time"]["samples"]) == timing.SIMULATOR_POLICY.samples
    assert "torch" in res[("torch", 256)].skip
    assert "smoke sizes" in res[("seed", 2**20)].skip


def test_the_family_says_where_its_time_went(capsys) -> None:
    fam = dataclasses.replace(SUITE.family("kernels.VectorAdd"), params=(("impl", ("seed", "pairs")), ("n", (256,))))
    measure.measure_family(fam)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("gpukernels: kernels.VectorAdd: 2 parameter sets in ")
    assert "; slowest impl=" in line and "n=256: " in line
    took = {("seed", 256): 0.5, ("pairs", 256): 2.25, ("quads", 256): 1.0, ("tuned", 256): 0.1}
    assert measure.where_the_time_went(fam, took, slowest=2) == (
        "gpukernels: kernels.VectorAdd: 4 parameter sets in 3.9 s; slowest impl=pairs, n=256: 2.2 s; "
        "impl=quads, n=256: 1.0 s")
    assert measure.where_the_time_went(fam, {}) == "gpukernels: kernels.VectorAdd: 0 parameter sets in 0.0 s"


def test_a_failing_parameter_set_is_recorded_and_the_family_goes_on(monkeypatch) -> None:
    fam = dataclasses.replace(SUITE.family("kernels.Saxpy"), params=(("impl", ("numba",)), ("n", (64, 128))))
    real = fam.op.make_gpu

    def flaky(impl, shared=None, n=0):
        if n == 64:
            raise ValueError("planted")
        return real(impl, shared=shared, n=n)
    monkeypatch.setattr(fam.op, "make_gpu", flaky)
    res = measure.measure_family(fam)
    assert "planted" in res[("numba", 64)].error
    assert not res[("numba", 128)].error and res[("numba", 128)].metrics


def test_generated_setup_and_track_follow_the_outcome() -> None:
    cls = generated()["kernels.Saxpy"]
    bench = cls()
    cache = {("numba", 64): Outcome(metrics={"track_device_time": {"samples": [1.0], "number": 1}}),
             ("cupy", 64): Outcome(skip="cupy is not installed"),
             ("torch", 64): Outcome(error="RuntimeError: boom")}
    bench.setup(cache, "numba", 64)
    assert bench.track_device_time(cache, "numba", 64) == {"samples": [1.0], "number": 1}
    with pytest.raises(NotImplementedError, match="cupy is not installed"):
        bench.setup(cache, "cupy", 64)
    with pytest.raises(RuntimeError, match="boom"):
        bench.track_device_time(cache, "torch", 64)


def test_no_cuda_at_import() -> None:
    """asv's forkserver forks after importing the suite: no CUDA context may exist before.

    Here there is no driver: any CUDA call at import would raise CudaSupportError.
    """
    import subprocess
    import sys

    code = "; ".join(f"import benchmarks.{area}" for area in AREAS)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "NUMBA_ENABLE_CUDASIM": "0"}, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_enqueue_samples_every_path_in_turn(monkeypatch) -> None:
    """launches.Enqueue: one sample of each path per round (shuffled), so host drift over the
    family falls on every path alike; a path that fails stops alone, a skip stays a skip."""
    per_sample = 1 + timing.SIMULATOR_POLICY.enqueue_launches  # enqueue_time's warm-up call, then the timed ones
    log: list[tuple[str, int]] = []  # (path, which of its samples)
    count: dict[str, int] = {}

    def fake_call(ctx, path, nargs):
        if path == "torch":
            raise measure.Skip("no single PyTorch op takes 0 tensor arguments")

        def fn() -> None:
            count[path] = count.get(path, 0) + 1
            log.append((path, (count[path] - 1) // per_sample))
            if path == "prepared" and count[path] > 2 * per_sample:
                raise RuntimeError("planted failure in its third sample")
        return fn, 1

    monkeypatch.setattr(launches, "_enqueue_call", fake_call)
    fam = dataclasses.replace(SUITE.family("launches.Enqueue"),
                              params=(("path", ("dispatcher", "dispatcher_eager", "prepared", "torch")), ("nargs", (0,))))
    policy = dataclasses.replace(timing.SIMULATOR_POLICY, host_samples=8)
    res = measure.measure_family(fam, policy)
    rounds = [k for _, k in log]
    assert rounds == sorted(rounds)  # every path's k-th sample before any path's (k+1)-th
    orders = [[p for p, k in dict.fromkeys(log) if k == r] for r in range(max(rounds) + 1)]
    assert all(sorted(o) == ["dispatcher", "dispatcher_eager", "prepared"] for o in orders[:3])
    assert all(sorted(o) == ["dispatcher", "dispatcher_eager"] for o in orders[3:])
    assert len({tuple(o) for o in orders[3:]}) > 1  # shuffled: not always the same order
    for path in ("dispatcher", "dispatcher_eager"):
        samples = res[(path, 0)].metrics["track_seconds"]["samples"]
        assert len(samples) == policy.host_samples and all(s > 0 for s in samples)
    assert "planted failure in its third sample" in res[("prepared", 0)].error
    assert "no single PyTorch op" in res[("torch", 0)].skip


def test_enqueue_family_on_the_simulator() -> None:
    fam = dataclasses.replace(SUITE.family("launches.Enqueue"),
                              params=(("path", ("dispatcher", "prepared", "torch")), ("nargs", (1, 3))))
    res = measure.measure_family(fam)
    for path in ("dispatcher", "prepared"):
        for nargs in (1, 3):
            out = res[(path, nargs)]
            assert not out.error and not out.skip, out
            assert len(out.metrics["track_seconds"]["samples"]) == timing.SIMULATOR_POLICY.host_samples
    assert "torch" in res[("torch", 1)].skip  # the test environment has no PyTorch (as test_family_measurement...)


def test_out_of_memory_is_a_skip_with_the_reason(monkeypatch) -> None:
    fam = dataclasses.replace(SUITE.family("kernels.Saxpy"), params=(("impl", ("numba",)), ("n", (64,))))

    def oom(impl, shared=None, n=0):
        raise RuntimeError("CUDA_ERROR_OUT_OF_MEMORY (planted)")
    monkeypatch.setattr(fam.op, "make_gpu", oom)
    res = measure.measure_family(fam)
    assert "out of device memory" in res[("numba", 64)].skip and not res[("numba", 64)].error


def test_bound_follows_the_timing_method_of_each_parameter_set() -> None:
    modes = SUITE.family("modes.VectorAdd")
    assert modes.bound({"n": 2**28, "mode": "graph"}) == "device"
    assert {modes.bound({"n": 2**28, "mode": m}) for m in ("single", "batch", "graph_cold")} == {"host"}
    copies = SUITE.family("transfers.Copy")
    assert copies.bound({"kind": "d2d", "nbytes": 2**30}) == "device"
    assert copies.bound({"kind": "d2d", "nbytes": 2**20}) == "host"
    assert copies.bound({"kind": "h2d_pinned", "nbytes": 2**30}) == "host"
    matmul = SUITE.family("kernels.Matmul")
    assert matmul.bound({"impl": "numba", "m": 1, "n": 1, "k": 1}) == "device"
    # CuPy refuses cuBLAS inside a graph capture: timed by batches, and judged as such
    assert matmul.timing_for({"impl": "cupy", "m": 1, "n": 1, "k": 1}).name == "batch"
    assert [m.name for m in matmul.methods()] == ["graph", "batch"]
