"""gpukernels.devices on the simulator, and the CLIs' one-line answer on a machine with no GPU."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpukernels import devices
from gpukernels.devices import DeviceInfo, NoGPUError
from gpukernels.launch import DOCUMENTED_LIMITS

REPO = Path(__file__).resolve().parent.parent


def test_state_is_simulator() -> None:
    assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
    assert devices.state() == "simulator"
    assert devices.require() == "simulator"
    assert devices.count() == 1
    assert devices.current_index() == 0


def test_select_zero_is_fine_and_one_is_absent() -> None:
    devices.select(0)
    with pytest.raises(NoGPUError) as err:
        devices.select(1)
    msg = str(err.value)
    assert "device index 1 is absent" in msg
    assert "1 device(s)" in msg and "0..0" in msg


@pytest.mark.parametrize("index", [-1, 2, 7])
def test_other_absent_indices(index) -> None:
    with pytest.raises(NoGPUError, match=f"device index {index} is absent"):
        devices.select(index)
    with pytest.raises(NoGPUError):
        devices.info(index)


def test_info_on_the_simulator() -> None:
    d = devices.info(0)
    assert d.index == 0
    assert d.name == "CUDA simulator"
    assert d.simulated is True
    assert d.compute_capability == "5.2"
    assert d.max_grid == (2147483647, 65535, 65535)
    assert d.max_block == (1024, 1024, 64)
    assert d.max_threads_per_block == 1024
    assert d.limits == DOCUMENTED_LIMITS
    assert d.uuid.startswith("GPU-")
    assert d.memory_bandwidth_gbs == 0.0
    as_dict = d.as_dict()
    assert as_dict["memory_bandwidth_gbs"] == 0.0
    assert as_dict["name"] == "CUDA simulator" and as_dict["simulated"] is True
    assert set(as_dict) >= {"name", "uuid", "compute_capability", "sm_count", "l2_bytes", "max_grid", "max_block"}


H100 = DeviceInfo(index=0, name="NVIDIA H100 80GB HBM3", uuid="GPU-d874", compute_capability="9.0",
                  sm_count=132, sm_clock_mhz=1980.0, memory_clock_mhz=2619.0, memory_bus_bits=5120,
                  l2_bytes=52428800, total_memory_bytes=85017493504, max_threads_per_block=1024,
                  max_block=(1024, 1024, 64), max_grid=(2147483647, 65535, 65535))


def test_theoretical_bandwidth_is_2_x_clock_x_bus() -> None:
    # 2 x 2619 MHz x 5120 bits / 8 = 3352.32 GB/s (probes/h100-80gb-hbm3.json has 3352.3)
    assert H100.memory_bandwidth_gbs == pytest.approx(3352.32)
    assert H100.as_dict()["memory_bandwidth_gbs"] == 3352.3
    assert H100.limits == DOCUMENTED_LIMITS


def test_machine_name_on_the_simulator() -> None:
    assert devices.machine_name() == "cuda-simulator"


@pytest.mark.parametrize("name, n, slug", [("NVIDIA H100 80GB HBM3", 1, "h100-80gb-hbm3"),
                                           ("NVIDIA H200", 1, "h200"),
                                           ("NVIDIA H100 80GB HBM3", 2, "h100-80gb-hbm3-x2"),
                                           ("NVIDIA A100-SXM4-40GB", 8, "a100-sxm4-40gb-x8")])
def test_machine_name_says_the_gpu(monkeypatch, name, n, slug) -> None:
    from dataclasses import replace

    monkeypatch.setattr(devices, "state", lambda: "gpu")
    monkeypatch.setattr(devices, "count", lambda: n)
    monkeypatch.setattr(devices, "info", lambda index=0: replace(H100, name=name))
    assert devices.machine_name() == slug


def test_versions() -> None:
    v = devices.versions()
    assert set(v) == {"numba_cuda", "driver", "cuda_runtime"}
    assert v["numba_cuda"] == "0.30.4"  # pinned in pyproject.toml
    assert v["driver"] == "" and v["cuda_runtime"] == ""  # no driver under the simulator


def test_require_without_a_gpu_says_what_to_do(monkeypatch) -> None:
    monkeypatch.setattr(devices, "state", lambda: "none")
    with pytest.raises(NoGPUError, match="no CUDA GPU found.*NUMBA_ENABLE_CUDASIM=1"):
        devices.require()
    with pytest.raises(NoGPUError):
        devices.select(0)


# --- the CLIs without the simulator on a machine without a GPU ----------------------------

def no_gpu_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["CUDA_VISIBLE_DEVICES"] = ""  # hide any GPU, so this holds on a GPU machine too
    env["HOME"] = str(tmp_path)       # asv's ~/.asv-machine.json, were anything written
    return env


@pytest.mark.parametrize("script", ["probe.py", "machine.py"])
def test_cli_without_gpu_exits_2_with_one_line(tmp_path, script) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / script)], cwd=tmp_path,
                          env=no_gpu_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines == [f"{script.removesuffix('.py')}: no CUDA GPU found (no NVIDIA driver or no visible device); "
                     "run on a GPU machine, or set NUMBA_ENABLE_CUDASIM=1 for the CUDA simulator"]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert list(tmp_path.iterdir()) == []  # wrote nothing (no results/, no ~/.asv-machine.json)


def test_cli_with_cudasim_zero_is_also_no_gpu(tmp_path) -> None:
    env = no_gpu_env(tmp_path)
    env["NUMBA_ENABLE_CUDASIM"] = "0"
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "probe.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "no CUDA GPU found" in proc.stderr
