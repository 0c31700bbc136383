"""Run the device probes (limits, index mapping, launch cost, copy ceilings) and save them as JSON.

    python scripts/probe.py                 # every GPU, JSON to results/probes/<machine>.json
    python scripts/probe.py --device 1      # one GPU
    NUMBA_ENABLE_CUDASIM=1 python scripts/probe.py --out /tmp/sim.json   # simulator-safe subset
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpukernels import devices, probes  # noqa: E402
from gpukernels.probe_tables import render  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", type=int, action="append", help="device index (repeatable); default: all")
    p.add_argument("--out", help="JSON path (default results/probes/<machine>.json on a GPU; "
                                 "under the simulator nothing is written unless --out is given)")
    args = p.parse_args(argv)
    try:
        report = probes.run_all(args.device, progress=lambda m: print(f"... {m}", file=sys.stderr, flush=True))
    except devices.NoGPUError as exc:
        print(f"probe.py: {exc}", file=sys.stderr)
        return 2
    print(render(report))
    if args.out is None and report["state"] == "simulator":
        print("\nsimulator run: not saved (results/ holds real GPUs only; use --out to keep it)", file=sys.stderr)
        return 0
    out = Path(args.out or f"results/probes/{report['machine']}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(f"\nwrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
