"""The asv suite's own behaviour on the simulator, calling the benchmark classes directly."""
from __future__ import annotations

import importlib
import inspect
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import common, compile as compile_bench, end_to_end, launches
from benchmarks import probes as probe_bench
from benchmarks import transfers, vector_add
from gpukernels import devices
from gpukernels.workloads import COPY_KINDS, Copy

REPO = Path(__file__).resolve().parent.parent
MODULES = ("baselines", "compile", "end_to_end", "launches", "probes", "transfers", "vector_add")
SIZES = [2**e for e in range(10, 29, 2)]

# docs/suite.md's parameter lists (fixed on every machine, so ids match across machines).
EXPECTED_PARAMS = {
    "vector_add.VectorAdd": [SIZES, [0, 1]],
    "vector_add.VectorAddBlock": [[2**20, 2**24, 2**28], [4, 32, 128, 256, 1024]],
    "vector_add.VectorAddModes": [[2**10, 2**20, 2**24, 2**28], ["single", "batch", "graph", "graph_cold"]],
    "vector_add.VectorAddVariants": [["seed_256", "grid_stride", "per_thread_4", "per_thread_8"], [2**24, 2**28]],
    "vector_add.SeedAudit": [["seed_async_wall", "synced_wall", "graph_device", "end_to_end"]],
    "baselines.NumpyAdd": [SIZES],
    "baselines.CpuParallelAdd": [SIZES],
    "end_to_end.EndToEnd": [SIZES, ["pageable", "pinned"]],
    "compile.Compile": [],
    "launches.LaunchCost": [[0, 1, 3, 8]],
    "launches.SeedGrids": [["[2,4]", "[2**30,1]", "[2**30,2**10]"]],
    # docs/suite.md lists five kinds; the suite (and results/benchmarks.json) also has d2d_kernel
    "transfers.Transfers": [list(COPY_KINDS), [2**20, 2**24, 2**28, 2**30]],
    "probes.GridLimits": [["x", "y", "z"]],
    "probes.BlockLimits": [["x", "y", "z"]],
    "probes.IndexMapping": [["1d", "2d", "3d"]],
    "probes.DeviceSelection": [[0, 1]],
}


def suite_classes() -> dict[str, type]:
    """Every class in the suite with a time_ or track_ method, as 'module.Class'."""
    out = {}
    for mod_name in MODULES:
        mod = importlib.import_module(f"benchmarks.{mod_name}")
        for name, cls in inspect.getmembers(mod, inspect.isclass):
            if cls.__module__ == mod.__name__ and any(m.startswith(("time_", "track_")) for m in vars(cls)):
                out[f"{mod_name}.{name}"] = cls
    return out


def test_params_are_the_documented_fixed_lists() -> None:
    classes = suite_classes()
    assert set(classes) == set(EXPECTED_PARAMS)
    for key, cls in classes.items():
        assert getattr(cls, "params", []) == EXPECTED_PARAMS[key], key
        assert len(getattr(cls, "param_names", [])) == len(EXPECTED_PARAMS[key]), key


def test_ids_and_params_match_the_committed_results() -> None:
    """Benchmark ids and asv's repr'd parameters equal results/benchmarks.json from the real runs."""
    recorded = json.loads((REPO / "results" / "benchmarks.json").read_text())
    recorded.pop("version")
    ours = {}
    for key, cls in suite_classes().items():
        for meth in vars(cls):
            if meth.startswith(("time_", "track_")):
                ours[f"{key}.{meth}"] = [[repr(v) for v in p] for p in getattr(cls, "params", [])]
    assert set(ours) == set(recorded)
    for bench_id, params in ours.items():
        assert params == recorded[bench_id]["params"], bench_id


def test_docs_list_every_benchmark_id() -> None:
    doc = (REPO / "docs" / "suite.md").read_text()
    for key, cls in suite_classes().items():
        for meth in vars(cls):
            if meth.startswith(("time_", "track_")):
                assert f"| {key}.{meth} |" in doc, f"{key}.{meth} missing from docs/suite.md"


def test_nothing_touches_cuda_at_import() -> None:
    """Import every suite module with the driver's entry point booby-trapped (rule 10)."""
    code = ("import sys; sys.path.insert(0, '.')\n"
            "from numba.cuda.cudadrv import driver\n"
            "def trap(self): raise AssertionError('the CUDA driver was touched at import')\n"
            "driver.Driver.ensure_initialized = trap\n"
            + "".join(f"import benchmarks.{m}\n" for m in MODULES)
            + "import gpukernels.probes, gpukernels.timing, gpukernels.machine\n"
            + "try:\n    driver.driver.is_available\nexcept AssertionError:\n    print('trap armed')\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["CUDA_VISIBLE_DEVICES"] = ""
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "trap armed"


# --- skips (NotImplementedError with a reason) ----------------------------------------------

@pytest.mark.parametrize(
    "cls, args",
    [(vector_add.VectorAdd, (2**12, 0)),
     (vector_add.VectorAddBlock, (2**20, 256)),
     (vector_add.VectorAddModes, (2**20, "graph")),
     (vector_add.VectorAddVariants, ("seed_256", 2**24)),
     (vector_add.SeedAudit, ("synced_wall",)),
     (end_to_end.EndToEnd, (2**12, "pinned")),
     (transfers.Transfers, ("d2d", 2**20))],
)
def test_above_the_simulator_size_is_skipped(cls, args) -> None:
    with pytest.raises(NotImplementedError, match=r"simulator: smoke sizes only \(n <= 1024\)"):
        cls().setup(*args)


@pytest.mark.parametrize(
    "cls, args, reason",
    [(launches.SeedGrids, ("[2**30,1]",), "simulator: 2\\*\\*30 blocks"),
     (probe_bench.GridLimits, ("x",), "simulator: launches at the device limits"),
     (probe_bench.BlockLimits, ("z",), "simulator: launches at the device limits")],
)
def test_simulator_skips_with_reasons(cls, args, reason) -> None:
    with pytest.raises(NotImplementedError, match=reason):
        cls().setup(*args)


@pytest.mark.parametrize("cls, args", [(vector_add.VectorAdd, (1024, 1)), (probe_bench.DeviceSelection, (1,))])
def test_device_axis_one_is_absent(cls, args) -> None:
    with pytest.raises(NotImplementedError, match="device 1 absent: this machine has 1"):
        cls().setup(*args)


def test_no_gpu_skips(monkeypatch) -> None:
    monkeypatch.setattr(devices, "state", lambda: "none")
    with pytest.raises(NotImplementedError, match="no CUDA GPU"):
        vector_add.VectorAdd().setup(1024, 0)


# --- values on the simulator at the smallest size -------------------------------------------

def positive_samples(out: dict, count: int) -> None:
    assert set(out) == {"samples", "number"} and out["number"] == 1
    assert isinstance(out["samples"], list) and len(out["samples"]) == count
    assert all(isinstance(x, float) and x > 0 and math.isfinite(x) for x in out["samples"])


@pytest.fixture(scope="module")
def va_bench():
    b = vector_add.VectorAdd()
    b.setup(1024, 0)
    return b


def test_vector_add_device_time(va_bench) -> None:
    assert va_bench.work.n == 1024 and va_bench.work.config.grid == (4, 1, 1)
    positive_samples(va_bench.track_device_time(1024, 0), 3)


def test_vector_add_bandwidth_and_call(va_bench) -> None:
    bw = va_bench.track_bandwidth(1024, 0)
    assert isinstance(bw, float) and bw > 0 and math.isfinite(bw)
    assert vector_add.VectorAdd.track_bandwidth.unit == "GB/s"
    assert va_bench.time_call(1024, 0) is None


def test_setup_is_memoised_and_checked() -> None:
    a, b = vector_add.VectorAdd(), vector_add.VectorAdd()
    a.setup(1024, 0)
    b.setup(1024, 0)
    assert a.work is b.work  # asv_runner re-runs setup per sample: no second allocation or check


def test_launches_for_on_the_simulator() -> None:
    assert common.launches_for(1024) == 2
    assert common.sim_or("sim", "gpu") == "sim"


@pytest.mark.parametrize("kind", COPY_KINDS)
def test_transfers_bandwidth(kind) -> None:
    bench = transfers.Transfers()
    bench.copy = Copy(kind, 1024)  # setup skips every listed size on the simulator
    gbs = bench.track_bandwidth(kind, 1024)
    assert isinstance(gbs, float) and gbs > 0 and math.isfinite(gbs)


@pytest.mark.parametrize("launch", ["1d", "2d", "3d"])
def test_index_mapping_has_no_errors(launch) -> None:
    bench = probe_bench.IndexMapping()
    bench.setup(launch)
    assert bench.track_coverage_errors(launch) == 0


def test_device_selection_zero_is_correct() -> None:
    bench = probe_bench.DeviceSelection()
    bench.setup(0)
    assert bench.track_vector_add_correct(0) == 1


def test_launch_cost_samples() -> None:
    bench = launches.LaunchCost()
    bench.setup(1)
    positive_samples(bench.track_enqueue(1), 3)
    positive_samples(bench.track_roundtrip(1), 3)
    positive_samples(bench.track_graph_replay(1), 3)


def test_seed_grid_2_4_on_the_simulator() -> None:
    bench = launches.SeedGrids()
    bench.setup("[2,4]")
    positive_samples(bench.track_launch_and_sync("[2,4]"), 20)


def test_compile_first_call() -> None:
    bench = compile_bench.Compile()
    bench.setup()
    positive_samples(bench.track_first_call(), 1)


def test_end_to_end_round_trip() -> None:
    bench = end_to_end.EndToEnd()
    bench.setup(1024, "pinned")
    a, b, out = bench.bufs
    out[:] = 0
    bench.time_roundtrip(1024, "pinned")
    np.testing.assert_array_equal(out, a + b)


# --- asv itself --------------------------------------------------------------------------

def test_asv_check_passes() -> None:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    # asv discovers the suite by importing it; the subprocess timeout bounds the test
    proc = subprocess.run([sys.executable, "-m", "asv", "check", "--python=same"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found" in proc.stdout
