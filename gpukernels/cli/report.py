"""Write the benchmark report (report.md, report.html, results.csv, PNGs) from asv results.

    gpukernels-report [--results results] [--out reports] [--machine NAME] [--commit HASH]
                      [--suite MODULE:NAME]

Files under --results that cannot be read are named on stderr and in the report; the rest is
reported. Exit 2, with one line on stderr, when --out is not a writable directory (checked
before anything is read), when there are no readable results, or when the selection is empty.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import UsageError, add_suite_option, load_suite, writable_dir


def _out_dir(out: str, results: str) -> Path:
    """--out as a writable directory outside the results (results/ is never written)."""
    target, source = Path(out).resolve(), Path(results).resolve()
    if target == source or source in target.parents:
        raise UsageError(f"refusing to write the report into the results directory {source}")
    return writable_dir(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpukernels-report", description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="asv results directory (read only)")
    parser.add_argument("--out", default="reports", help="directory the report is written to")
    parser.add_argument("--machine", help="only this machine (default: every machine)")
    parser.add_argument("--commit", help="commit hash or prefix (default: latest commit per machine)")
    add_suite_option(parser)
    args = parser.parse_args(argv)
    try:
        out = _out_dir(args.out, args.results)
        suite = load_suite(args.suite)
    except UsageError as err:
        print(f"report: {err}", file=sys.stderr)
        return 2
    # pandas, matplotlib and the report load only once the output is known to be writable
    from gpukernels.report.render import ReportError, write_report  # defined in report.data, exported here
    from gpukernels.results import NoResultsError, load_results

    try:
        results = load_results(args.results, suite)  # NoResultsError names the files it could not read
    except NoResultsError as err:
        print(f"report: {err}", file=sys.stderr)
        return 2
    try:
        written = write_report(results, suite, out, results_dir=args.results, machine=args.machine,
                               commit=args.commit)
    except ReportError as err:
        unread = f" ({len(results.unread)} file(s) not read: {', '.join(f for f, _ in results.unread)})" \
            if results.unread else ""
        print(f"report: {err}{unread}", file=sys.stderr)
        return 2
    print(f"report: wrote {len(written)} files to {out.resolve()}")
    if results.unread:
        print(f"report: {len(results.unread)} file(s) under {args.results} not read (also listed in the report):",
              file=sys.stderr)
        for path, reason in results.unread:
            print(f"  {path}: {reason}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
