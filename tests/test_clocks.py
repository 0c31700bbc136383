"""gpukernels.clocks.Watch against a fake pynvml: flagging rules, one nvmlInit, graceful degradation."""
from __future__ import annotations

import sys
import types

import pytest

from gpukernels import clocks

DEFAULT_SM = 1980.0


class FakeNVMLError(Exception):
    pass


def fake_pynvml(readings: list[tuple[float, int]], *, event_names: bool = True, power: bool = True,
                init_error: bool = False) -> types.ModuleType:
    """A pynvml whose successive readings give (SM MHz, reasons bitmask) from ``readings``."""
    m = types.ModuleType("pynvml")
    m.NVML_CLOCK_SM, m.NVML_CLOCK_MEM, m.NVML_TEMPERATURE_GPU = 1, 2, 0
    m.NVMLError = FakeNVMLError
    m.calls = {"init": 0, "handle": 0}
    queue = list(readings)
    current = {}

    def init():
        m.calls["init"] += 1
        if init_error:
            raise FakeNVMLError("Driver Not Loaded")

    def handle(index):
        m.calls["handle"] += 1
        return f"h{index}"

    def clock(h, kind):
        if kind == 1:
            current["sm"], current["reasons"] = queue.pop(0)
            return current["sm"]
        return 2619

    def power_usage(h):
        if not power:
            raise FakeNVMLError("Not Supported")
        return 350_500  # mW

    m.nvmlInit = init
    m.nvmlDeviceGetHandleByIndex = handle
    m.nvmlDeviceGetClockInfo = clock
    m.nvmlDeviceGetDefaultApplicationsClock = lambda h, kind: DEFAULT_SM
    m.nvmlDeviceGetTemperature = lambda h, kind: 61
    m.nvmlDeviceGetPowerUsage = power_usage
    reasons = lambda h: current["reasons"]  # noqa: E731
    if event_names:
        m.nvmlDeviceGetCurrentClocksEventReasons = reasons
    else:
        m.nvmlDeviceGetCurrentClocksThrottleReasons = reasons
    return m


@pytest.fixture
def nvml(monkeypatch):
    """Install a fake pynvml (fresh NVML state, simulator off for clocks only)."""
    monkeypatch.setattr(clocks, "_nvml", None)
    monkeypatch.setattr(clocks, "_simulator", lambda: False)

    def install(module):
        monkeypatch.setitem(sys.modules, "pynvml", module)
        return module
    return install


def watch_over(readings: list[tuple[float, int]]) -> clocks.Watch:
    w = clocks.Watch(0)
    for _ in readings:
        w.observe()
    return w


READINGS = [
    (1980, 0x0),    # clean
    (345, 0x1),     # idle between samples: a low clock, but not a slowdown
    (1755, 0x4),    # SW power cap
    (1980, 0x2 | 0x10),  # applications clocks setting + sync boost: normal
    (1200, 0x0),    # busy below 75% of 1980 MHz with no reason given
    (1600, 0x40),   # HW thermal
    (1500, 0x1 | 0x8),  # HW slowdown counts even while idle is also set
]


def test_flagging_rules_and_summary(nvml) -> None:
    nvml(fake_pynvml(list(READINGS)))
    w = watch_over(READINGS)
    assert w.recorded
    assert w.sm_clock_samples() == [r[0] for r in READINGS]
    assert w.flagged() == 4  # power cap, low busy clock, HW thermal, HW slowdown
    s = w.summary()
    assert s["readings"] == 7 and s["flagged"] == 4
    assert (s["sm_mhz_min"], s["sm_mhz_max"]) == (345, 1980)
    assert (s["mem_mhz_min"], s["mem_mhz_max"]) == (2619, 2619)
    assert s["temp_c_max"] == 61 and s["power_w_max"] == pytest.approx(350.5)
    assert s["reasons"] == ["gpu_idle", "applications_clocks_setting", "sw_power_cap", "hw_slowdown",
                            "sync_boost", "hw_thermal_slowdown"]
    assert "7 readings" in repr(w)


@pytest.mark.parametrize("bit", [0x4, 0x8, 0x20, 0x40, 0x80])
def test_each_slowdown_reason_flags(nvml, bit: int) -> None:
    nvml(fake_pynvml([(1980, bit)]))
    assert watch_over([0]).flagged() == 1


@pytest.mark.parametrize("bit", [0x1, 0x2, 0x10, 0x100])
def test_normal_reasons_do_not_flag(nvml, bit: int) -> None:
    nvml(fake_pynvml([(1980, bit)]))
    assert watch_over([0]).flagged() == 0


def test_older_throttle_reason_name_and_unsupported_power(nvml) -> None:
    nvml(fake_pynvml([(1980, 0x20)], event_names=False, power=False))
    w = watch_over([0])
    assert w.flagged() == 1 and w.summary()["power_w_max"] is None


def test_nvml_is_initialised_once_and_the_handle_reused(nvml) -> None:
    lib = nvml(fake_pynvml([(1980, 0)] * 6))
    for _ in range(2):
        w = watch_over([0, 0, 0])
        assert w.recorded
    assert lib.calls["init"] == 1
    assert lib.calls["handle"] == 2  # one per Watch, none per reading


def test_without_pynvml_nothing_is_recorded(nvml, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    w = watch_over([0, 0])
    assert not w.recorded and w.sm_clock_samples() == [] and w.flagged() == 0
    assert w.summary()["recorded"] is False and w.summary()["readings"] == 0
    assert clocks.default_sm_clock_mhz(0) is None
    assert "not recorded" in repr(w)


def test_nvml_init_error_degrades(nvml) -> None:
    nvml(fake_pynvml([], init_error=True))
    assert not watch_over([0]).recorded


def test_a_failing_reading_is_dropped_not_raised(nvml) -> None:
    lib = nvml(fake_pynvml([(1980, 0)]))

    def broken(h, kind):
        raise FakeNVMLError("GPU is lost")
    w = clocks.Watch(0)
    lib.nvmlDeviceGetClockInfo = broken
    w.observe()
    assert not w.recorded and w.flagged() == 0


def test_simulator_is_not_recorded(monkeypatch) -> None:
    monkeypatch.setattr(clocks, "_nvml", None)
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([(1980, 0)]))
    assert clocks._simulator()  # conftest sets NUMBA_ENABLE_CUDASIM=1
    w = watch_over([0])
    assert not w.recorded
    assert sys.modules["pynvml"].calls["init"] == 0  # NVML not even touched


def test_default_clock_from_nvml(nvml) -> None:
    nvml(fake_pynvml([]))
    assert clocks.default_sm_clock_mhz(0) == DEFAULT_SM
