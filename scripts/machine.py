"""Register this machine with asv under a name that says the GPU, with the GPU's fields.

    python scripts/machine.py            # e.g. registers 'h100-80gb-hbm3' in ~/.asv-machine.json
    asv run --machine h100-80gb-hbm3 ...

asv copies every key of the machine entry into results/<machine>/machine.json, so the GPU
name, count, compute capability, driver, runtime and numba-cuda version travel with results.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpukernels import devices  # noqa: E402
from gpukernels.machine import register  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", help="machine name (default: from the GPU, e.g. h100-80gb-hbm3)")
    args = p.parse_args(argv)
    try:
        entry = register(args.name)
    except devices.NoGPUError as exc:
        print(f"machine.py: {exc}", file=sys.stderr)
        return 2
    width = max(map(len, entry))
    for key, value in entry.items():
        print(f"{key:>{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
