"""Same-session A/B: both commits measured on one GPU, rounds interleaved, then the gate.

    gpukernels-continuous BASE HEAD [--bench REGEX] [--rounds 2] [--machine NAME]
                          [--results DIR] [--markdown FILE] [--factor 1.05] [--fail-on-host] ...

Run in the repository (any commit checked out): each commit is measured from a git worktree of
its own with the current Python environment (``asv run --python=same``; no package registry
needed). Results go to a temporary directory (removed after a comparison, and when a failure
left nothing in it; kept and named when it holds something), or to --results DIR (outside the
repository's results/ and probes/; one missing level is created). Every option is checked
before anything is measured: --rounds 1..20, --factor and --host-factor finite and >= 1, --alpha
in (0, 1), each --bench a regex selecting at least one benchmark of --suite (matched as asv
does). SIGINT and SIGTERM stop the run with the worktrees removed. Exit status: 0 nothing
slower, 1 slower (the gate's rules: gpukernels/compare.py), 2 could not measure or compare (one
line on stderr).
"""
from __future__ import annotations

import argparse
import itertools
import re
import sys
from pathlib import Path

from . import (OutputError, UsageError, add_suite_option, entry, load_suite, output_dir, output_file,
               owned_places, say, write_text)
from .compare import add_gate_options, check_gate_options

MAX_ROUNDS = 20


def parse_rounds(text: str) -> int:
    """--rounds as an int from 1 to MAX_ROUNDS; UsageError otherwise."""
    try:
        rounds = int(text)
    except (TypeError, ValueError):
        raise UsageError(f"--rounds must be an integer from 1 to {MAX_ROUNDS}, got {text!r}") from None
    if not 1 <= rounds <= MAX_ROUNDS:
        raise UsageError(f"--rounds must be an integer from 1 to {MAX_ROUNDS}, got {rounds}")
    return rounds


def selects(pattern: re.Pattern, family) -> bool:
    """Whether asv would select any benchmark of ``family`` by ``pattern``: ``re.search`` against
    the id, or for a parameterised benchmark against ``id(p1, p2)`` with asv's repr strings."""
    for bench_id in family.ids:
        if not family.params:
            if pattern.search(bench_id):
                return True
            continue
        for combo in itertools.product(*family.param_values):
            if pattern.search(f"{bench_id}({', '.join(repr(v) for v in combo)})"):
                return True
    return False


def check_bench(regexes: list[str], suite) -> None:
    """UsageError for a --bench that is no regex, or that selects no benchmark of ``suite``."""
    for regex in regexes:
        try:
            pattern = re.compile(regex)
        except re.error as exc:
            raise UsageError(f"--bench {regex!r} is not a regular expression: {exc}") from None
        if not any(selects(pattern, family) for family in suite.families):
            raise UsageError(f"--bench {regex!r} selects no benchmark of suite {suite.name!r}")


def _kept(results: Path, temporary: bool) -> str:
    """' (results and log kept in DIR)' where DIR holds something; a temporary DIR that holds
    nothing (only empty files or folders) is removed, and '' returned."""
    from gpukernels import continuous

    if not temporary:
        return ""
    if continuous.holds_something(results):
        return f" (results and log kept in {results})"
    continuous.remove(results)
    return ""


@entry("continuous")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpukernels-continuous", description=__doc__.splitlines()[0])
    parser.add_argument("base", help="base commit (hash or git ref)")
    parser.add_argument("head", help="head commit (hash or git ref)")
    parser.add_argument("--bench", "-b", action="append", default=[], metavar="REGEX",
                        help="asv benchmark regex (repeatable; default: the whole suite); each must select "
                             "a benchmark of --suite")
    parser.add_argument("--rounds", default="2",
                        help=f"rounds per commit, interleaved, 1 to {MAX_ROUNDS} (default %(default)s)")
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

    # every option, then the output paths: a bad one must not cost a measurement
    owned = [*owned_places(Path(args.repo) / "results"), *owned_places()]
    try:
        check_gate_options(args)
        rounds = parse_rounds(args.rounds)
        suite = load_suite(args.suite)
        check_bench(args.bench, suite)
        markdown_file = None if args.markdown is None else output_file(
            args.markdown, suffix=".md", what="the Markdown", owned=owned)
        temporary = args.results is None
        results = continuous.temporary_results() if temporary else output_dir(
            args.results, what="the results", owned=owned)
    except UsageError as err:
        print(f"continuous: {err}", file=sys.stderr)
        return 2
    plan = continuous.Plan(repo=Path(args.repo), base=args.base, head=args.head, results=results,
                           bench=args.bench, rounds=rounds, machine=args.machine, factor=args.factor,
                           host_factor=args.host_factor, alpha=args.alpha, fail_on_host=args.fail_on_host,
                           suite=suite)
    try:
        comparison = continuous.run(plan)
    except (continuous.ContinuousError, CompareError, NoResultsError) as err:
        print(f"continuous: {err}{_kept(results, temporary)}", file=sys.stderr)
        return 2
    except continuous.Interrupted as stop:
        print(f"continuous: stopped by {stop}; git worktrees removed{_kept(results, temporary)}", file=sys.stderr)
        return 2
    try:
        say(render(comparison, only_changed=args.only_changed), end="")
        if markdown_file is not None:
            write_text(markdown_file, render(comparison, markdown=True, only_changed=args.only_changed))
    except OutputError as err:
        print(f"continuous: {err}{_kept(results, temporary)}", file=sys.stderr)
        return 2
    if temporary:
        continuous.remove(results)
    return comparison.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
