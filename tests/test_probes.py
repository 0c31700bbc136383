"""The probe CLI on the simulator, the probe JSON schema, failures kept and named, and the
committed real-GPU probe files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from gpukernels.ours import probes
from gpukernels.ours.vector_add import VectorAddTuned
from gpukernels.cli import probe as probe_cli
from gpukernels.launch import DOCUMENTED_LIMITS

REPO = Path(__file__).resolve().parent.parent
PROBE = REPO / "scripts" / "probe.py"
REAL = {name: REPO / "probes" / f"{name}.json" for name in ("h100-80gb-hbm3", "h200")}

PROBE_NAMES = ("index_mapping", "launch_limits", "seed_claims", "tuned_choice", "kernel_anatomy", "nvbench_crosscheck",
               "device_selection")
# asv measures these now (catalogue: launches.*, transfers.Copy, modes.VectorAdd); the committed
# probe files from before still carry them, new probe runs must not.
MOVED_TO_ASV = ("launch_cost", "copy_bandwidth", "vector_add_modes")
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


def check_schema(report: dict, names: tuple[str, ...] = PROBE_NAMES) -> None:
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
    assert list(report["probes"]) == list(names)
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
    sel = pr["device_selection"]["data"]
    assert [r["device"] for r in sel] == [d["index"] for d in report["devices"]]
    tuned = pr["tuned_choice"]
    sizes = [r["n"] for r in tuned["data"]]
    assert sizes and sizes == sorted(sizes)
    for r in tuned["data"]:
        us = {k.removesuffix(" us"): v for k, v in r.items() if k.endswith(" us")}
        if tuned["measured"]:  # the fastest candidate timed, or quads on a tie
            assert us and all(v > 0 for v in us.values())
            fastest = min(us, key=us.get)
            tie = VectorAddTuned.TIE  # since 33058d0 quads stays unless another is more than 1% faster
            assert r["choice"] == fastest or (r["choice"] == "quads" and us[fastest] >= us["quads"] * (1 - tie))
        else:
            assert r == {"n": sizes[0], "choice": "quads"}
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
    (out_cwd / "tmp").mkdir()  # an output's parent must exist: no silent mkdir -p
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
    assert list(sim_runs["plain_cwd"].iterdir()) == []  # no probes/cuda-simulator.json
    assert sim_runs["results_unchanged"]


def test_simulator_probe_with_out_writes_json(sim_runs) -> None:
    proc = sim_runs["saved"]
    assert proc.returncode == 0, proc.stderr
    path = sim_runs["out_cwd"] / "tmp" / "x.json"
    assert f"wrote tmp{os.sep}x.json" in proc.stderr
    assert [p.name for p in sim_runs["out_cwd"].iterdir()] == ["tmp"]
    report = json.loads(path.read_text())
    check_schema(report)
    assert report["failed"] == []
    assert not set(MOVED_TO_ASV) & set(report["probes"])
    assert report["machine"] == "cuda-simulator" and report["state"] == "simulator"
    assert report["devices"][0]["simulated"] is True and report["devices"][0]["name"] == "CUDA simulator"
    assert report["other_devices"] == {}
    pr = report["probes"]
    # on the simulator only the index mapping and device selection are real launches
    assert pr["index_mapping"]["measured"] is True and pr["device_selection"]["measured"] is True
    for name in ("launch_limits", "seed_claims"):
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


def test_timed_probes_are_gone() -> None:
    assert list(probes.PROBES) == ["index_mapping", "launch_limits", "seed_claims", "tuned_choice", "kernel_anatomy",
                                   "nvbench_crosscheck"]
    assert not any(hasattr(probes, name) for name in MOVED_TO_ASV)


def test_device_selection_checks_vector_add_against_numpy(monkeypatch) -> None:
    p = probes.device_selection()
    assert p["data"] == [{"device": 0, "name": "CUDA simulator", "uuid": p["data"][0]["uuid"], "correct": True,
                          "error": ""}]
    monkeypatch.setattr(probes, "_vector_add_error", lambda: "3 of 1000 elements differ from NumPy")
    row = probes.device_selection()["data"][0]
    assert row["correct"] is False and row["error"] == "3 of 1000 elements differ from NumPy"


def test_a_failing_probe_is_recorded_and_the_rest_kept(tmp_path: Path, monkeypatch, capsys) -> None:
    """seed_claims raises: the JSON keeps the others and names the failure; exit 1, said on stderr."""
    written: list[dict] = []

    def broken() -> dict:
        raise RuntimeError("CUDA_ERROR_LAUNCH_FAILED: unspecified launch failure\nsecond line")

    monkeypatch.setitem(probes.PROBES, "seed_claims", broken)
    monkeypatch.setattr(probes, "device_selection", lambda: {"data": [], "measured": True, "note": ""})
    out = tmp_path / "p.json"
    real_writer = probe_cli._writer
    monkeypatch.setattr(probe_cli, "_writer", lambda path: lambda r: (written.append(json.loads(json.dumps(
        r, default=str))), real_writer(path)(r)))
    assert probe_cli.main(["--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "1 probe(s) failed" in err and "seed_claims (device 0): RuntimeError: CUDA_ERROR_LAUNCH_FAILED" in err
    report = json.loads(out.read_text())
    assert list(report["probes"]) == ["index_mapping", "launch_limits", "tuned_choice", "kernel_anatomy",
                                      "nvbench_crosscheck", "device_selection"]
    assert report["failed"] == [{"device": 0, "probe": "seed_claims",
                                 "error": "RuntimeError: CUDA_ERROR_LAUNCH_FAILED: unspecified launch failure"}]
    # saved after every probe: what was measured before a crash is on disk
    done = ["index_mapping", "launch_limits"]
    later = ["tuned_choice", "kernel_anatomy", "nvbench_crosscheck", "device_selection"]
    assert [list(w["probes"]) for w in written] == [done[:1], done, done, *(done + later[:k] for k in (1, 2, 3, 4))]


def test_render_survives_a_partial_report() -> None:
    text = probe_cli.render({"machine": "m", "failed": [{"device": 0, "probe": "x", "error": "E"}]})
    assert "machine m" in text and "Probes that failed" in text


# --- the committed probe files from real GPUs (read only) --------------------------------

@pytest.fixture(scope="module", params=sorted(REAL))
def real(request) -> dict:
    return json.loads(REAL[request.param].read_text())


def test_real_probe_schema(real) -> None:
    # committed before the timed probes moved to asv: they carry those three too
    check_schema(real, tuple(n for n in real["probes"] if n in PROBE_NAMES or n in MOVED_TO_ASV))
    # committed before kernel_anatomy and nvbench_crosscheck existed, or after: every other probe is there
    assert set(PROBE_NAMES) - {"kernel_anatomy", "nvbench_crosscheck"} <= set(real["probes"])
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
