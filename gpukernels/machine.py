"""The asv machine entry: asv's own fields plus the GPU's, and the guard against stray results.

``register`` writes the entry into ``~/.asv-machine.json`` (asv's MachineCollection; ``~`` is
``$HOME``), and asv copies every key of it into ``results/<machine>/machine.json``. asv publish
turns every such key into a graph parameter, so only stable facts of a machine belong here: no
card UUID (that split the history into one series per physical card; the card is the benchmark
``probes.Card.track_card_id`` now).

Stray results guard
-------------------
asv 0.6.6 ``run``, ``continuous`` and ``find`` write ``results/<machine>/machine.json``
(``Machine.load(...).save(results_dir)``, the first thing ``Run.run`` does, ``--dry-run`` too)
*before* the benchmark suite is imported, naming the machine after the host (``results/vm``)
when nothing was registered. Two guards, one rule (``asv_refusal``):

- ``setup()`` is an asv plugin hook: with ``"plugins": [".gpukernels.machine"]`` in
  asv.conf.json, asv calls it when it loads its config, before any command writes, and the
  refusal is one line (``asv.util.UserError``) with nothing written.
- ``import_guard()`` runs when asv imports ``benchmarks`` (discovery, before benchmarks.json
  and any result file are written). Without the plugin it stops the run there; asv has then
  already written the stray machine.json, which only the plugin prevents.

Both let through ``asv check``, publish and the other commands that write no results, runs for a
registered GPU machine, and ``--dry-run`` runs of the simulator's entry (``cuda-simulator``,
registered by ``python scripts/machine.py`` under NUMBA_ENABLE_CUDASIM=1); a simulator run
without --dry-run is refused (its timings are never saved). asv writes results/<machine>/
machine.json and results/benchmarks.json on a --dry-run too, so the CI smoke points
``results_dir`` at a temporary directory (tests/test_asv_smoke.py). ``gpukernels-machine
--check [--name NAME]`` says whether asv may save results here.

Importing this module touches neither numba nor CUDA (asv's own process imports it).
"""
from __future__ import annotations

import os
from pathlib import Path

GPU_KEY = "gpu"  # the key scripts/machine.py adds; an entry without it is not a registered GPU machine
SIMULATOR_GPU = "CUDA simulator"
HINT = "run `python scripts/machine.py` first to register this GPU machine"
# asv commands that write results/<machine>/machine.json and results (asv 0.6.6).
WRITING_COMMANDS = ("Run", "Continuous", "Find")


class UnregisteredMachine(RuntimeError):
    """asv would write results for a machine without GPU fields; the message is one line."""


def gpu_fields() -> dict[str, str]:
    """GPU identity for machine.json (strings, as asv stores every machine field)."""
    from . import clocks, devices

    devices.require()
    first = devices.info(0)
    default_sm = clocks.default_sm_clock_mhz(0)  # None under the simulator and without NVML
    if default_sm is None:  # then the device attribute CLOCK_RATE (0 under the simulator)
        default_sm = first.sm_clock_mhz
    return {"gpu": first.name, "gpu_count": str(devices.count()),
            "compute_capability": first.compute_capability,
            "memory_bandwidth_gbs": f"{first.memory_bandwidth_gbs:.1f}", "l2_bytes": str(first.l2_bytes),
            "sm_clock_default_mhz": f"{default_sm:.0f}",
            "sm_count": str(first.sm_count),
            "fp32_peak_gflops": f"{fp32_peak_gflops(first.compute_capability, first.sm_count, default_sm):.0f}",
            **devices.versions()}


# FP32 lanes per SM (CUDA C Programming Guide, "Arithmetic Instructions"): two flops per lane per
# clock (fused multiply-add).
FP32_LANES = {"7.0": 64, "7.5": 64, "8.0": 64}
FP32_LANES_DEFAULT = 128  # 8.6, 8.9, 9.0 and later


def fp32_peak_gflops(compute_capability: str, sm_count: int, sm_clock_mhz: float) -> float:
    """Theoretical FP32 peak: SMs x FP32 lanes x 2 flops x the default SM clock, in GFLOP/s."""
    lanes = FP32_LANES.get(compute_capability, FP32_LANES_DEFAULT)
    return sm_count * lanes * 2 * sm_clock_mhz / 1e3


def register(name: str | None = None) -> dict[str, str]:
    """Write the entry into ~/.asv-machine.json (asv's MachineCollection) and return it."""
    from asv.machine import Machine, MachineCollection

    from . import devices

    entry = {**Machine.get_defaults(), **gpu_fields()}
    entry["machine"] = name or devices.machine_name()
    MachineCollection.save(entry["machine"], entry)
    return entry


# --- the guard ----------------------------------------------------------------------------------

def machine_file() -> Path:
    """asv's machine file: ``~/.asv-machine.json`` with ``~`` from $HOME, as asv resolves it."""
    from asv.machine import MachineCollection

    return Path(MachineCollection.get_machine_file_path())


def _entries(path: Path | None = None) -> dict[str, dict]:
    import json

    path = path or machine_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def asv_entry(name: str | None = None, path: Path | None = None) -> dict | None:
    """The entry asv will use for ``--machine name`` (asv's rule: that name, else the host's
    name, else the file's only entry); None where asv would fall back to its defaults."""
    import platform

    entries = _entries(path)
    if name is not None:
        return entries.get(name)
    host = platform.uname().node
    if host in entries:
        return entries[host]
    return next(iter(entries.values())) if len(entries) == 1 else None


def refusal(name: str | None = None, dry_run: bool = False, path: Path | None = None) -> str | None:
    """Why asv must not write results for this machine (one line), or None when it may."""
    entry = asv_entry(name, path)
    label = name or (entry or {}).get("machine") or "this machine"
    if entry is None or not entry.get(GPU_KEY):
        return f"asv machine '{label}' has no GPU fields in {machine_file() if path is None else path}: {HINT}"
    scratch = bool(os.environ.get("GPUKERNELS_SCRATCH_RESULTS"))  # gpukernels-continuous's own results dir
    if entry.get(GPU_KEY) == SIMULATOR_GPU and not dry_run and not scratch:
        return f"asv machine '{label}' is the CUDA simulator: its timings are never saved (add --dry-run)"
    return None


def asv_refusal(asv_argv: list[str]) -> str | None:
    """The guard's rule for an asv command line (arguments after ``asv``): None to let it run."""
    from asv import commands

    try:
        parser, _ = commands.make_argparser()
        args, _ = parser.parse_known_args(asv_argv)
        command = args.func.__self__.__name__
    except (SystemExit, Exception):  # not a command line we understand: asv will say what is wrong
        return None
    if command not in WRITING_COMMANDS:
        return None  # check, publish, preview, machine, ...: nothing lands in results/
    return refusal(getattr(args, "machine", None), bool(getattr(args, "dry_run", False)))


def setup() -> None:
    """asv plugin hook (asv.conf.json ``"plugins": [".gpukernels.machine"]``): runs in asv's own
    process when it loads the config, before any command writes into results/."""
    import sys

    from asv.util import UserError

    reason = asv_refusal(sys.argv[1:])
    if reason:
        raise UserError(reason)


def _parent_asv_argv(max_depth: int = 4) -> list[str] | None:
    """The asv command line of the asv process above this one (Linux /proc), else None."""
    pid = os.getppid()
    for _ in range(max_depth):
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        for i, arg in enumerate(args):
            if os.path.basename(arg) == "asv" and (i == 0 or args[i - 1] == "-m" or arg != "asv"):
                return args[i + 1:]
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # field 4, ppid (the name may hold spaces)
        if pid <= 1:
            return None
    return None


def asv_quick() -> bool:
    """Whether this process serves an ``asv run --quick`` (or ``-q``): asv tells its benchmark
    processes nothing of it, so the command line of the asv process above is read."""
    argv = _parent_asv_argv(max_depth=6)
    return bool(argv) and ("--quick" in argv or "-q" in argv)


def _asv_runner_process() -> bool:
    """asv starts its benchmark processes as ``python .../asv/benchmark.py <command> ...``."""
    import sys

    return bool(sys.argv) and Path(sys.argv[0]).as_posix().endswith("asv/benchmark.py")


def import_guard() -> None:
    """Raise UnregisteredMachine (one line) when asv imports the suite for a command that would
    save results for a machine without GPU fields. Outside asv (pytest, an import by hand) it
    does nothing; asv's own `check` and simulator dry runs with a registered machine pass."""
    argv = _parent_asv_argv()
    if argv is not None:
        reason = asv_refusal(argv)
    elif not _asv_runner_process():
        return
    elif os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return  # no /proc, command line unknown: the simulator smoke goes through (saves nothing)
    else:  # no /proc, command line unknown: any registered GPU machine will do
        reason = None if any(e.get(GPU_KEY) for e in _entries().values()) else \
            f"no asv machine with GPU fields in {machine_file()}: {HINT}"
    if reason:
        raise UnregisteredMachine(reason)
