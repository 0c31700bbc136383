"""Same-session A/B: both commits measured on one GPU, rounds interleaved, then the gate.

    gpukernels-continuous BASE HEAD [--bench REGEX] [--rounds 2] [--machine NAME]
                          [--results DIR] [--markdown FILE] [--factor 1.05] [--fail-on-host] ...

Run in the repository (any commit checked out): each commit is measured from a git worktree of
its own with the current Python environment (``asv run --python=same``; no package registry
needed). Results go to a temporary directory (removed after a comparison; kept and named when
something fails), or to --results DIR. Exit status: 0 nothing slower, 1 slower (the gate's
rules: gpukernels/compare.py), 2 could not measure or compare (one line on stderr).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import UsageError, add_suite_option, load_suite, writable_dir, writable_file
from .compare import add_gate_options


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpukernels-continuous", description=__doc__.splitlines()[0])
    parser.add_argument("base", help="base commit (hash or git ref)")
    parser.add_argument("head", help="head commit (hash or git ref)")
    parser.add_argument("--bench", "-b", action="append", default=[], metavar="REGEX",
                        help="asv benchmark regex (repeatable; default: the whole suite)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per commit, interleaved (default %(default)s)")
    parser.add_argument("--machine", help="asv machine name (default: from the GPU; registered if new)")
    parser.add_argument("--repo", default=".", help="git repository holding both commits (default: cwd)")
    parser.add_argument("--results", help="asv results directory to keep (default: a temporary one)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the comparison as Markdown to FILE")
    add_gate_options(parser)
    add_suite_option(parser)
    args = parser.parse_args(argv)

    from gpukernels import continuous
    from gpukernels.compare import CompareError
    from gpukernels.compare_render import render
    from gpukernels.results import NoResultsError

    try:  # output paths first: a bad path must not cost a measurement
        markdown_file = writable_file(args.markdown) if args.markdown else None
        suite = load_suite(args.suite)
        results = writable_dir(args.results) if args.results else continuous.temporary_results()
    except UsageError as err:
        print(f"continuous: {err}", file=sys.stderr)
        return 2
    plan = continuous.Plan(repo=Path(args.repo), base=args.base, head=args.head, results=results,
                           bench=args.bench, rounds=args.rounds, machine=args.machine, factor=args.factor,
                           host_factor=args.host_factor, alpha=args.alpha, fail_on_host=args.fail_on_host,
                           suite=suite)
    try:
        comparison = continuous.run(plan)
    except (continuous.ContinuousError, CompareError, NoResultsError) as err:
        kept = "" if args.results else f" (results and log kept in {results})"
        print(f"continuous: {err}{kept}", file=sys.stderr)
        return 2
    print(render(comparison, only_changed=args.only_changed), end="")
    if markdown_file is not None:
        markdown_file.write_text(render(comparison, markdown=True, only_changed=args.only_changed), encoding="utf-8")
    if not args.results:
        continuous.remove(results)
    return comparison.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
