"""Write the benchmark report (report.md, report.html, results.csv, PNGs) from asv results.

    python scripts/report.py [--results results] [--out reports] [--machine NAME] [--commit HASH]

Exit status 2, with one line on stderr, when there are no readable results or the selection is empty.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from gpukernels.report.render import ReportError, write_report  # noqa: E402
from gpukernels.results import NoResultsError, load_results  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="asv results directory (read only)")
    parser.add_argument("--out", default="reports", help="directory the report is written to")
    parser.add_argument("--machine", help="only this machine (default: every machine)")
    parser.add_argument("--commit", help="commit hash or prefix (default: latest commit per machine)")
    args = parser.parse_args(argv)
    try:
        written = write_report(load_results(args.results), args.out, args.results, args.machine, args.commit)
    except (NoResultsError, ReportError) as err:
        print(f"report: {err}", file=sys.stderr)
        return 2
    print(f"report: wrote {len(written)} files to {Path(args.out).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
