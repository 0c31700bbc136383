"""Write the benchmark report (report.md, report.html, results.csv, PNGs) from asv results.

    gpukernels-report [--results results] [--out reports] [--machine NAME] [--commit HASH]
                      [--suite MODULE:NAME]

Files under --results that cannot be read are named on stderr and in the report; the rest is
reported. Exit 2, with one line on stderr, when --out is not a writable directory of ours
(checked before anything is read: not inside --results or probes/, holding no file tracked by
git, at most one missing level, which is created), when there are no readable results, when
the selection is empty, or when the report cannot be written (a full disk).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import OutputError, UsageError, add_suite_option, entry, load_suite, output_dir, owned_places, say


def _out_dir(out: str, results: str) -> Path:
    """--out as a writable directory outside the results and probes/ (never written), holding no
    file tracked by git; one missing level is created."""
    return output_dir(out, what="the report", owned=owned_places(results))


@entry("report")
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
    except OSError as exc:  # a full disk, a folder that went read-only: one line, exit 2
        raise OutputError(f"cannot write the report into {out}: {exc.strerror or exc}") from None
    except ReportError as err:
        unread = f" ({len(results.unread)} file(s) not read: {', '.join(f for f, _ in results.unread)})" \
            if results.unread else ""
        print(f"report: {err}{unread}", file=sys.stderr)
        return 2
    say(f"report: wrote {len(written)} files to {out.resolve()}")
    if results.unread:
        print(f"report: {len(results.unread)} file(s) under {args.results} not read (also listed in the report):",
              file=sys.stderr)
        for path, reason in results.unread:
            print(f"  {path}: {reason}", file=sys.stderr)
    for where, note in getattr(results, "notes", ()):
        print(f"report: note: {where}: {note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
