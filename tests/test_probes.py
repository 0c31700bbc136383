"""The probe CLI on the simulator, the probe JSON schema, and the committed real-GPU probe files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from gpukernels import probes
from gpukernels.launch import DOCUMENTED_LIMITS
from gpukernels.workloads import COPY_KINDS

REPO = Path(__file__).resolve().parent.parent
PROBE = REPO / "scripts" / "probe.py"
REAL = {name: REPO / "results" / "probes" / f"{name}.json" for name in ("h100-80gb-hbm3", "h200")}

PROBE_NAMES = ("index_mapping", "launch_limits", "seed_claims", "launch_cost", "copy_bandwidth",
               "vector_add_modes", "device_selection")
DEVICE_KEYS = {"index", "name", "uuid", "compute_capability", "sm_count", "sm_clock_mhz", "memory_clock_mhz",
               "memory_bus_bits", "l2_bytes", "total_memory_bytes", "max_threads_per_block", "max_block",
               "max_grid", "simulated", "memory_bandwidth_gbs"}
LIMIT_NAMES = ["grid x", "grid y", "grid z", "block x", "block y", "block z", "threads per block"]
SEED_TABLE = {"threadIdx": [0, 1, 2, 3, 0, 1, 2, 3], "blockIdx": [0, 0, 0, 0, 1, 1, 1, 1]}
SEED_2_50_ERROR = "grid x = 1125899906842624 exceeds the device limit of 2147483647 blocks (MAX_GRID_DIM_X)"
PAST_LIMIT_ERRORS = {
    "grid x": "grid x = 2147483648 exceeds the device limit of 2147483647 blocks (MAX_GRID_DIM_X)",
    "grid y": "grid y = 65536 exceeds the device limit of 65535 blocks (MAX_GRID_DIM_Y)",
    "grid z": "grid z = 65536 exceeds the device limit of 65535 blocks (MAX_GRID_DIM_Z)",
    "block x": "block x = 1025 exceeds the device limit of 1024 threads (MAX_BLOCK_DIM_X)",
    "block y": "block y = 1025 exceeds the device limit of 1024 threads (MAX_BLOCK_DIM_Y)",
    "block z": "block z = 65 exceeds the device limit of 64 threads (MAX_BLOCK_DIM_Z)",
    "threads per block": "block of 1056 threads (32, 33, 1) exceeds the device limit of 1024 threads per block "
                         "(MAX_THREADS_PER_BLOCK)",
}


def check_schema(report: dict) -> None:
    """The probe report's shape, common to simulator and real-GPU runs."""
    assert {"machine", "created", "state", "versions", "devices", "probes", "other_devices"} <= set(report)
    assert isinstance(report["machine"], str) and report["machine"]
    created = datetime.strptime(report["created"], "%Y-%m-%dT%H:%M:%S%z")
    assert created.tzinfo is not None and created.year >= 2024
    assert report["state"] in ("gpu", "simulator")
    assert set(report["versions"]) == {"numba_cuda", "driver", "cuda_runtime"}
    assert isinstance(report["devices"], list) and report["devices"]
    for d in report["devices"]:
        assert set(d) == DEVICE_KEYS
        assert isinstance(d["name"], str) and d["uuid"].startswith("GPU-")
        assert len(d["max_grid"]) == 3 and len(d["max_block"]) == 3
        assert isinstance(d["memory_bandwidth_gbs"], (int, float))
    assert [d["index"] for d in report["devices"]] == sorted(d["index"] for d in report["devices"])
    assert list(report["probes"]) == list(PROBE_NAMES)
    for name, p in report["probes"].items():
        assert {"data", "measured", "note"} <= set(p), name
        assert isinstance(p["measured"], bool) and isinstance(p["note"], str), name
        if not p["measured"]:
            assert p["note"], f"{name}: a value that was not measured must say why"
    pr = report["probes"]
    im = pr["index_mapping"]["data"]
    assert im["launch"] == "[2,4]" and im["covered_once"] is True
    assert [r["threadIdx"] for r in im["rows"]] == SEED_TABLE["threadIdx"]
    assert [r["blockIdx"] for r in im["rows"]] == SEED_TABLE["blockIdx"]
    assert {(r["blockDim"], r["gridDim"]) for r in im["rows"]} == {(4, 2)}
    rows = pr["launch_limits"]["data"]["rows"]
    assert [r["what"] for r in rows] == LIMIT_NAMES
    assert {r["what"]: r["our_error_past_limit"] for r in rows} == PAST_LIMIT_ERRORS
    seed = {r["launch"]: r for r in pr["seed_claims"]["data"]}
    assert list(seed) == ["[2,4]", "[2**30,1]", "[2**30,2**10]", "[2**50,1]"]
    assert seed["[2**50,1]"]["our_check"] == SEED_2_50_ERROR
    assert all(seed[k]["our_check"] == "accepted" for k in ["[2,4]", "[2**30,1]", "[2**30,2**10]"])
    assert seed["[2,4]"]["driver"] == "ok"
    assert [r["nargs"] for r in pr["launch_cost"]["data"]] == [0, 1, 3, 8]
    for r in pr["launch_cost"]["data"]:
        assert all(r[k] > 0 for k in ("enqueue_us", "roundtrip_us", "graph_replay_us"))
    assert [r["kind"] for r in pr["copy_bandwidth"]["data"]] == list(COPY_KINDS)
    assert all(r["gbs"] > 0 and r["median_us"] > 0 for r in pr["copy_bandwidth"]["data"])
    for r in pr["vector_add_modes"]["data"]:
        assert r["n"].startswith("2^")
        assert all(r[f"{m}_us"] > 0 for m in ("single", "batch", "graph"))
    sel = pr["device_selection"]["data"]
    assert [r["device"] for r in sel] == [d["index"] for d in report["devices"]]
    assert all(r["correct"] is True and r["error"] == "" for r in sel)


def results_snapshot() -> dict[str, int]:
    root = REPO / "results"
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def run_probe(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    return subprocess.run([sys.executable, str(PROBE), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240)


@pytest.fixture(scope="module")
def sim_runs(tmp_path_factory) -> dict:
    """One probe run saved with --out, one not saved; results/ snapshotted around both."""
    before = results_snapshot()
    plain_cwd = tmp_path_factory.mktemp("plain")
    out_cwd = tmp_path_factory.mktemp("out")
    plain = run_probe(plain_cwd)
    saved = run_probe(out_cwd, "--out", "tmp/x.json")
    return {"plain": plain, "plain_cwd": plain_cwd, "saved": saved, "out_cwd": out_cwd,
            "results_unchanged": before == results_snapshot()}


def test_simulator_probe_prints_the_seed_table_and_saves_nothing(sim_runs) -> None:
    proc = sim_runs["plain"]
    assert proc.returncode == 0, proc.stderr
    assert "Index mapping of gpu[2,4] (each global id covered once: True)" in proc.stdout
    table = proc.stdout.split("Index mapping of gpu[2,4]")[1].split("\n\n")[0].splitlines()[3:]
    assert [[int(v) for v in line.split()] for line in table] == [
        [t, t % 4, t // 4, 4, 2] for t in range(8)]  # thread, threadIdx, blockIdx, blockDim, gridDim
    assert "machine cuda-simulator (simulator)" in proc.stdout
    assert "not saved" in proc.stderr and "Traceback" not in proc.stderr
    assert list(sim_runs["plain_cwd"].iterdir()) == []  # no results/probes/cuda-simulator.json
    assert sim_runs["results_unchanged"]


def test_simulator_probe_with_out_writes_json(sim_runs) -> None:
    proc = sim_runs["saved"]
    assert proc.returncode == 0, proc.stderr
    path = sim_runs["out_cwd"] / "tmp" / "x.json"
    assert f"wrote tmp{os.sep}x.json" in proc.stderr
    assert [p.name for p in sim_runs["out_cwd"].iterdir()] == ["tmp"]
    report = json.loads(path.read_text())
    check_schema(report)
    assert report["machine"] == "cuda-simulator" and report["state"] == "simulator"
    assert report["devices"][0]["simulated"] is True and report["devices"][0]["name"] == "CUDA simulator"
    assert report["other_devices"] == {}
    pr = report["probes"]
    # on the simulator only the index mapping and device selection are real launches
    assert pr["index_mapping"]["measured"] is True and pr["device_selection"]["measured"] is True
    for name in ("launch_limits", "seed_claims", "launch_cost", "copy_bandwidth", "vector_add_modes"):
        assert pr[name]["measured"] is False and "simulator" in pr[name]["note"]
    rows = pr["launch_limits"]["data"]["rows"]
    assert [r["documented"] for r in rows] == [*DOCUMENTED_LIMITS.max_grid, *DOCUMENTED_LIMITS.max_block,
                                               DOCUMENTED_LIMITS.max_threads_per_block]
    assert all(r["measured"] is None for r in rows)
    seed = {r["launch"]: r for r in pr["seed_claims"]["data"]}
    assert all("driver" not in seed[k] for k in ["[2**30,1]", "[2**30,2**10]", "[2**50,1]"])  # not launched


def test_launch_limits_in_process_refuses_every_past_limit() -> None:
    p = probes.launch_limits()
    assert p["measured"] is False
    rows = p["data"]["rows"]
    for r in rows:
        assert r["our_error_past_limit"] != "accepted", r["what"]
        assert r["what"].split()[-1] in r["our_error_past_limit"] or r["what"] == "threads per block"
        assert str(r["documented"]) in r["our_error_past_limit"]
    assert {r["what"]: r["our_error_past_limit"] for r in rows} == PAST_LIMIT_ERRORS


def test_seed_claims_in_process() -> None:
    p = probes.seed_claims()
    rows = {r["launch"]: r for r in p["data"]}
    assert rows["[2**50,1]"]["our_check"] == SEED_2_50_ERROR
    assert rows["[2,4]"]["driver"] == "ok"
    assert p["measured"] is False and p["note"] == "simulator: only [2,4] launched"


def test_measure_limit_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown limit 'grid w'"):
        probes.measure_limit("grid w")


# --- the committed probe files from real GPUs (read only) --------------------------------

@pytest.fixture(scope="module", params=sorted(REAL))
def real(request) -> dict:
    return json.loads(REAL[request.param].read_text())


def test_real_probe_schema(real) -> None:
    check_schema(real)
    assert real["state"] == "gpu"
    assert all(p["measured"] is True for p in real["probes"].values())
    assert real["versions"]["numba_cuda"] == "0.30.4"
    assert real["versions"]["driver"] and real["versions"]["cuda_runtime"]
    d = real["devices"][0]
    assert d["simulated"] is False and d["compute_capability"] == "9.0"
    assert d["memory_bandwidth_gbs"] == pytest.approx(
        2 * d["memory_clock_mhz"] * d["memory_bus_bits"] / 8 / 1e3, abs=0.05)


def test_real_probe_machine_names_the_gpu(real) -> None:
    slug = real["devices"][0]["name"].lower().replace("nvidia", "").strip().replace(" ", "-")
    assert real["machine"] == slug


def test_real_launch_limits_were_measured(real) -> None:
    ll = real["probes"]["launch_limits"]
    assert ll["measured"] is True
    measured = {r["what"]: r["measured"] for r in ll["data"]["rows"]}
    assert measured == {"grid x": 2147483647, "grid y": 65535, "grid z": 65535, "block x": 1024,
                        "block y": 1024, "block z": 64, "threads per block": 1024}
    d = real["devices"][0]
    assert d["max_grid"] == [2147483647, 65535, 65535] and d["max_block"] == [1024, 1024, 64]
    for r in ll["data"]["rows"]:
        assert r["launch_at_limit"] == "ok"
        assert "CUDA_ERROR_INVALID_VALUE" in r["launch_past_limit"]
        assert r["documented"] == r["measured"]


def test_real_seed_claims(real) -> None:
    seed = {r["launch"]: r for r in real["probes"]["seed_claims"]["data"]}
    assert seed["[2**50,1]"]["our_check"] == SEED_2_50_ERROR
    assert "OverflowError" in seed["[2**50,1]"]["driver"]  # what a user sees without our check
    assert all(seed[k]["driver"] == "ok" for k in ["[2,4]", "[2**30,1]", "[2**30,2**10]"])


def test_real_copy_ceilings_are_plausible(real) -> None:
    rows = {r["kind"]: r for r in real["probes"]["copy_bandwidth"]["data"]}
    peak = real["devices"][0]["memory_bandwidth_gbs"]
    assert rows["h2d_pinned"]["gbs"] > rows["h2d_pageable"]["gbs"]
    for kind in ("d2d", "d2d_kernel"):
        assert 0.5 * peak < rows[kind]["gbs"] < peak  # a measured ceiling below the theoretical peak
    graph = [r["graph_us"] for r in real["probes"]["vector_add_modes"]["data"]]
    single = [r["single_us"] for r in real["probes"]["vector_add_modes"]["data"]]
    assert graph[0] < single[0]  # graph replay hides launch latency at the smallest size
