"""Run the device probes (index table, limits, error strings, device list) and save them as JSON.

    gpukernels-probe                      # every GPU, JSON to probes/<machine>.json
    gpukernels-probe --device 1           # one GPU
    NUMBA_ENABLE_CUDASIM=1 gpukernels-probe --out /tmp/sim.json   # simulator-safe subset

The output path is checked before any probe runs. The JSON is rewritten after every probe, so
what was measured is kept when a later probe fails; failures are listed under ``failed`` in the
JSON and on stderr, and the exit status is then 1. Exit 2 (one line): no GPU, a bad --out (it
must be a new file or an earlier *.json output not tracked by git, in an existing directory
outside results/ and probes/), or a write that failed (a full disk).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tabulate import tabulate

from . import PROBES, RESULTS, UsageError, entry, output_file, owned_places, say, write_text

DEVICE_COLUMNS = ("index", "name", "compute_capability", "sm_count", "memory_bandwidth_gbs", "l2_bytes",
                  "total_memory_bytes", "max_grid", "max_block", "uuid")
SECTIONS = (("launch_limits", "Launch limits: documented vs measured"),
            ("seed_claims", "The tutorial's launches: our check and the driver's answer"),
            ("tuned_choice", "Vector add's tuned: the kernel it chose at each size, median us per candidate"),
            ("device_selection", "Device selection: vector add on each device"))


def _table(rows: list[dict], floatfmt: str = ".2f") -> str:
    return tabulate(rows, headers="keys", floatfmt=floatfmt) if rows else "(none)"


def render(report: dict) -> str:
    """The probe report as plain-text tables, one section per probe (absent probes left out)."""
    versions = report.get("versions") or {}
    out = [f"machine {report.get('machine', '?')} ({report.get('state', '?')}), {report.get('created', '?')}",
           "versions: " + ", ".join(f"{k} {v or '-'}" for k, v in versions.items()), ""]
    out += ["Devices", _table([{k: d.get(k) for k in DEVICE_COLUMNS} for d in report.get("devices", [])]), ""]
    probes = report.get("probes") or {}
    if "index_mapping" in probes:
        im = probes["index_mapping"]["data"]
        out += [f"Index mapping of gpu{im['launch']} (each global id covered once: {im['covered_once']})",
                _table(im["rows"]), ""]
    for name, title in SECTIONS:
        if name not in probes:
            continue
        p = probes[name]
        rows = p["data"]["rows"] if isinstance(p["data"], dict) else p["data"]
        flag = "" if p.get("measured", True) else f"  [not measured: {p.get('note', '')}]"
        out += [title + flag, _table(rows), ""]
    if report.get("failed"):
        out += ["Probes that failed", _table(report["failed"]), ""]
    return "\n".join(out)


def _writer(path: Path | None):
    def write(report: dict) -> None:
        if path is not None:  # OutputError (exit 2, one line) when the disk is full
            write_text(path, json.dumps(report, indent=1, default=str) + "\n")
    return write


@entry("probe")
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gpukernels-probe", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", type=int, action="append", help="device index (repeatable); default: all")
    p.add_argument("--out", help="JSON path (default probes/<machine>.json on a GPU; "
                                 "under the simulator nothing is written unless --out is given)")
    args = p.parse_args(argv)
    # numba loads only past argument parsing: --help and a bad --out stay fast
    from gpukernels import devices
    from gpukernels.ours import probes

    try:
        if args.out is not None:
            # an explicit --out stays out of results/ and probes/, off tracked files and off files not ours
            out = output_file(args.out, suffix=".json", what="the probe JSON", owned=owned_places(RESULTS))
        else:
            state = devices.require()
            default = Path(PROBES) / f"{devices.machine_name()}.json"  # the committed probe file: updated
            if state != "simulator" and not default.parent.is_dir():
                raise UsageError(f"no {PROBES}/ directory here for {default} (not created); run in the "
                                 "repository root or give --out")
            out = None if state == "simulator" else default
        report = probes.run_all(args.device, progress=lambda m: print(f"... {m}", file=sys.stderr, flush=True),
                                checkpoint=_writer(out))
    except (UsageError, devices.NoGPUError) as exc:
        print(f"probe: {exc}", file=sys.stderr)
        return 2
    say(render(report))
    if out is None:
        print("\nsimulator run: not saved (results/ holds real GPUs only; use --out to keep it)", file=sys.stderr)
    else:
        print(f"\nwrote {out}", file=sys.stderr)
    if report["failed"]:
        names = ", ".join(f"{f['probe']} (device {f['device']}): {f['error']}" if f["device"] is not None
                          else f"{f['probe']}: {f['error']}" for f in report["failed"])
        print(f"probe: {len(report['failed'])} probe(s) failed, the rest was kept: {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
