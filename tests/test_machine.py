"""gpukernels.machine: the fields written into asv's machine file, and the stray-results rule."""
from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from gpukernels import clocks, machine
from gpukernels.cli import machine as machine_cli

FIELDS = {"gpu", "gpu_count", "compute_capability", "memory_bandwidth_gbs", "l2_bytes", "sm_clock_default_mhz",
          "sm_count", "fp32_peak_gflops", "numba_cuda", "driver", "cuda_runtime"}
HOST = platform.uname().node


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    """asv finds its machine file under $HOME (os.path.expanduser)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def write_machines(home: Path, entries: dict[str, dict]) -> None:
    (home / ".asv-machine.json").write_text(json.dumps({"version": 1, **entries}))


def test_gpu_fields_carry_no_uuid_and_the_default_clock() -> None:
    fields = machine.gpu_fields()
    assert set(fields) == FIELDS  # no gpu_uuid: asv publish would draw one series per card
    assert all(isinstance(v, str) for v in fields.values())
    assert fields["gpu"] == "CUDA simulator" and fields["sm_clock_default_mhz"] == "0"


def test_default_clock_comes_from_nvml_where_there(monkeypatch) -> None:
    monkeypatch.setattr(clocks, "default_sm_clock_mhz", lambda index=0: 1980.0)
    assert machine.gpu_fields()["sm_clock_default_mhz"] == "1980"


def test_register_writes_into_home(home: Path, capsys) -> None:
    assert machine_cli.main([]) == 0
    entry = json.loads((home / ".asv-machine.json").read_text())["cuda-simulator"]
    assert FIELDS <= set(entry) and "gpu_uuid" not in entry
    assert entry["machine"] == "cuda-simulator" and {"os", "cpu", "num_cpu", "ram", "arch"} <= set(entry)
    assert "cuda-simulator" in capsys.readouterr().out


def test_asv_entry_follows_asvs_choice(home: Path) -> None:
    write_machines(home, {"a": {"machine": "a"}})
    assert machine.asv_entry() == {"machine": "a"}  # the only entry
    write_machines(home, {"a": {"machine": "a"}, "b": {"machine": "b"}})
    assert machine.asv_entry() is None and machine.asv_entry("b") == {"machine": "b"}
    write_machines(home, {"a": {"machine": "a"}, HOST: {"machine": HOST}})
    assert machine.asv_entry() == {"machine": HOST}  # the host's name wins
    (home / ".asv-machine.json").write_text("{oops")
    assert machine.asv_entry() is None


def test_refusal(home: Path) -> None:
    assert "python scripts/machine.py" in machine.refusal()  # no machine file at all
    write_machines(home, {HOST: {"machine": HOST, "os": "Linux"},
                          "h100": {"machine": "h100", "gpu": "NVIDIA H100 80GB HBM3"},
                          "cuda-simulator": {"machine": "cuda-simulator", "gpu": "CUDA simulator"}})
    reason = machine.refusal()
    assert f"'{HOST}' has no GPU fields" in reason and "\n" not in reason
    assert machine.refusal("h100") is None
    assert "never saved" in machine.refusal("cuda-simulator")
    assert machine.refusal("cuda-simulator", dry_run=True) is None
    assert "has no GPU fields" in machine.refusal("absent")


@pytest.mark.parametrize(("argv", "refused"), [
    (["run", "--python=same", "--quick"], True),  # the host's entry, no GPU fields
    (["run", "--machine", "h100"], False),
    (["--config", "x.json", "run", "--machine", "h100", "HEAD^!"], False),
    (["run", "--machine", "cuda-simulator"], True),
    (["run", "--quick", "--dry-run", "--python=same", "--machine", "cuda-simulator"], False),
    (["run", "--dry-run", "--machine", HOST], True),  # asv writes machine.json on dry runs too
    (["continuous", "HEAD~1", "HEAD", "--machine", HOST], True),
    (["find", "HEAD~3..HEAD", "bench", "--machine", "h100"], False),
    (["check", "--python=same"], False),
    (["publish"], False),
    (["machine", "--yes"], False),
    (["no-such-command"], False),  # asv says what is wrong itself
    ([], False),
])
def test_asv_refusal_by_command(home: Path, argv: list[str], refused: bool) -> None:
    write_machines(home, {HOST: {"machine": HOST}, "h100": {"machine": "h100", "gpu": "NVIDIA H100"},
                          "cuda-simulator": {"machine": "cuda-simulator", "gpu": "CUDA simulator"}})
    assert (machine.asv_refusal(argv) is not None) == refused


def test_import_guard_is_silent_outside_asv(home: Path) -> None:
    machine.import_guard()  # pytest is not asv: no machine file, no complaint


def test_check_command(home: Path, capsys) -> None:
    assert machine_cli.main(["--check"]) == 2
    assert "python scripts/machine.py" in capsys.readouterr().err
    write_machines(home, {"h100": {"machine": "h100", "gpu": "NVIDIA H100"}})
    assert machine_cli.main(["--check", "--name", "h100"]) == 0


def test_fp32_peak_from_the_sm_count_lanes_and_clock() -> None:
    # H200: 132 SMs x 128 FP32 lanes x 2 flops x 1980 MHz = 66,908 GFLOP/s (the datasheet's 67 TFLOP/s)
    assert machine.fp32_peak_gflops("9.0", 132, 1980) == pytest.approx(66908.16)
    assert machine.fp32_peak_gflops("8.0", 108, 1410) == pytest.approx(19491.84)  # A100: 64 lanes per SM


def test_asv_quick_is_read_from_the_asv_command_line(monkeypatch) -> None:
    for argv, quick in ((["run", "--quick", "--python=same"], True), (["run", "-q"], True), (["run"], False),
                        (None, False)):
        monkeypatch.setattr(machine, "_parent_asv_argv", lambda max_depth=6, argv=argv: argv)
        assert machine.asv_quick() is quick
