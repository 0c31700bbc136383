"""Register this machine with asv under a name that says the GPU, with the GPU's fields.

    gpukernels-machine                 # e.g. registers 'h100-80gb-hbm3' in ~/.asv-machine.json
    gpukernels-machine --check         # exit 0 if asv may save results here, else 2 and why
    asv run --machine h100-80gb-hbm3 ...

asv copies every key of the machine entry into results/<machine>/machine.json, so the GPU
name, count, compute capability, default SM clock, driver, runtime and numba-cuda version
travel with results. asv runs that would save results for a machine without these fields are
refused (gpukernels.machine, "Stray results guard").
"""
from __future__ import annotations

import argparse
import sys

from . import entry, say


@entry("machine")
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gpukernels-machine", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", help="machine name (default: from the GPU, e.g. h100-80gb-hbm3)")
    p.add_argument("--check", action="store_true",
                   help="register nothing; say whether `asv run [--machine NAME]` may save results here")
    args = p.parse_args(argv)
    from gpukernels import machine

    if args.check:
        reason = machine.refusal(args.name)
        if reason:
            print(f"machine: {reason}", file=sys.stderr)
            return 2
        say(f"machine: asv may save results for {args.name or 'this machine'}")
        return 0
    from gpukernels import devices

    try:
        entry = machine.register(args.name)
    except devices.NoGPUError as exc:
        print(f"machine: {exc}", file=sys.stderr)
        return 2
    width = max(map(len, entry))
    for key, value in entry.items():
        say(f"{key:>{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
