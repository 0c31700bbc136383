"""NVML readings around a measurement: clocks, temperature, power and slowdown reasons.

A GPU that throttles (power cap, thermal, HW slowdown) gives slower, honest-looking numbers;
``Watch`` records what the card did while a parameter set was measured so that the suite can
store it next to the time (``track_sm_clock``, ``track_throttle``) and the gate can discount it.

``pynvml`` (package nvidia-ml-py) is imported lazily, NVML is initialised once per process and
the device handle is reused, so a reading costs a handful of NVML calls (tens of microseconds).
No NVML (library absent, no driver, the simulator) or any NVML error degrades to "not
recorded": nothing here raises.
"""
from __future__ import annotations

import os
import sys
from typing import Any

# nvmlClocksEventReason* bits (nvml.h; the same values under the older ...ThrottleReason* names).
REASONS: dict[int, str] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
# The reasons that mean the card ran slower than asked; idle, an applications-clocks setting
# and sync boost are normal operation, not a slowdown of the measured work.
SLOWDOWN_MASK = 0x4 | 0x8 | 0x20 | 0x40 | 0x80
GPU_IDLE = 0x1
LOW_CLOCK_FRACTION = 0.75  # SM clock below this share of the default applications clock is flagged

_nvml: Any = None  # the pynvml module once nvmlInit succeeded; False once it failed


def _const(lib: Any, name: str, default: int) -> int:
    """An NVML enum value (nvml.h: NVML_CLOCK_SM 1, NVML_CLOCK_MEM 2, NVML_TEMPERATURE_GPU 0)."""
    return getattr(lib, name, default)


def nvml() -> Any | None:
    """pynvml after one nvmlInit per process, or None where NVML cannot be used."""
    global _nvml
    if _nvml is None:
        try:
            import pynvml

            pynvml.nvmlInit()
            _nvml = pynvml
        except Exception:  # ImportError, NVMLError_LibraryNotFound, driver errors: not recorded
            _nvml = False
    return _nvml or None


def _simulator() -> bool:
    """The CUDA simulator has no card to read (numba's config wins where numba is loaded)."""
    numba = sys.modules.get("numba")
    if numba is not None and getattr(getattr(numba, "config", None), "ENABLE_CUDASIM", 0):
        return True
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def _handle(lib: Any, device_index: int) -> Any:
    """NVML's handle of CUDA device ``device_index``; NVML counts in PCI order and ignores
    CUDA_VISIBLE_DEVICES, so match by UUID where numba can tell it, else by index."""
    try:
        from numba import cuda

        uuid = cuda.list_devices()[device_index].uuid
        return lib.nvmlDeviceGetHandleByUUID(uuid)
    except Exception:
        return lib.nvmlDeviceGetHandleByIndex(device_index)


def _reasons(lib: Any, handle: Any) -> int:
    getter = getattr(lib, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
        lib.nvmlDeviceGetCurrentClocksThrottleReasons  # drivers/bindings before the rename
    return int(getter(handle))


def default_sm_clock_mhz(device_index: int = 0) -> float | None:
    """The default applications SM clock from NVML (MHz), or None without NVML."""
    lib = None if _simulator() else nvml()
    if lib is None:
        return None
    try:
        handle = _handle(lib, device_index)
        return float(lib.nvmlDeviceGetDefaultApplicationsClock(handle, _const(lib, "NVML_CLOCK_SM", 1)))
    except Exception:
        return None


def _try(fn, *args) -> float | None:
    try:
        return float(fn(*args))
    except Exception:  # a field the card does not report (power on some boards): not recorded
        return None


class Watch:
    """NVML readings of one device while one parameter set is measured (one Watch per set)."""

    def __init__(self, device_index: int = 0) -> None:
        self.device_index = device_index
        self.readings: list[dict] = []
        self.default_sm_mhz: float | None = None
        self._lib: Any = None
        self._handle: Any = None
        if _simulator():
            return
        lib = nvml()
        if lib is None:
            return
        try:
            self._handle = _handle(lib, device_index)
        except Exception:
            return
        self._lib = lib
        self.default_sm_mhz = _try(lib.nvmlDeviceGetDefaultApplicationsClock, self._handle,
                                   _const(lib, "NVML_CLOCK_SM", 1))

    def observe(self) -> None:
        """One reading: SM and memory clock (MHz), temperature (C), power (W), reasons bitmask."""
        if self._lib is None:
            return
        lib, h = self._lib, self._handle
        sm = _try(lib.nvmlDeviceGetClockInfo, h, _const(lib, "NVML_CLOCK_SM", 1))
        if sm is None:
            return  # without the SM clock the reading says nothing; keep the ones we have
        power_mw = _try(lib.nvmlDeviceGetPowerUsage, h)
        reasons = _try(_reasons, lib, h)
        self.readings.append({
            "sm_mhz": sm,
            "mem_mhz": _try(lib.nvmlDeviceGetClockInfo, h, _const(lib, "NVML_CLOCK_MEM", 2)),
            "temp_c": _try(lib.nvmlDeviceGetTemperature, h, _const(lib, "NVML_TEMPERATURE_GPU", 0)),
            "power_w": None if power_mw is None else power_mw / 1000.0,
            "reasons": 0 if reasons is None else int(reasons),
        })

    @property
    def recorded(self) -> bool:
        """True once NVML gave at least one reading."""
        return bool(self.readings)

    def sm_clock_samples(self) -> list[float]:
        """SM clock (MHz) per reading; [] if not recorded."""
        return [r["sm_mhz"] for r in self.readings]

    def _is_flagged(self, r: dict) -> bool:
        if r["reasons"] & SLOWDOWN_MASK:
            return True
        # An idle card clocks down between samples: that low clock is not a slowdown of the work.
        low = self.default_sm_mhz and r["sm_mhz"] < LOW_CLOCK_FRACTION * self.default_sm_mhz
        return bool(low and not r["reasons"] & GPU_IDLE)

    def flagged(self) -> int:
        """Readings with a slowdown reason (HW slowdown, HW thermal, HW power brake, SW thermal,
        SW power cap), or a busy SM clock below 75% of the default applications clock."""
        return sum(self._is_flagged(r) for r in self.readings)

    def summary(self) -> dict:
        """Ranges over the readings (None where not recorded), reasons seen by name, counts."""
        def pick(key: str, fn) -> float | None:
            vals = [r[key] for r in self.readings if r[key] is not None]
            return fn(vals) if vals else None

        seen = 0
        for r in self.readings:
            seen |= r["reasons"]
        return {
            "recorded": self.recorded, "readings": len(self.readings), "flagged": self.flagged(),
            "sm_mhz_min": pick("sm_mhz", min), "sm_mhz_max": pick("sm_mhz", max),
            "mem_mhz_min": pick("mem_mhz", min), "mem_mhz_max": pick("mem_mhz", max),
            "temp_c_max": pick("temp_c", max), "power_w_max": pick("power_w", max),
            "default_sm_mhz": self.default_sm_mhz,
            "reasons": [name for bit, name in REASONS.items() if seen & bit],
        }

    def __repr__(self) -> str:
        s = self.summary()
        if not s["recorded"]:
            return f"Watch(device={self.device_index}, not recorded)"
        return (f"Watch(device={self.device_index}, {s['readings']} readings, SM {s['sm_mhz_min']:.0f}-"
                f"{s['sm_mhz_max']:.0f} MHz, flagged {s['flagged']})")
