"""Compare two commits' benchmark results on one machine: the noise-aware regression gate.

    gpukernels-compare BASE HEAD [--results results] [--machine NAME] [--factor 1.05]
                       [--host-factor 1.5] [--alpha 0.01] [--fail-on-host] [--only-changed]
                       [--markdown [FILE]]

BASE and HEAD are commit hashes or unique prefixes as in the results, or git refs (HEAD~1),
resolved by git in the repository that holds --results. Rules: gpukernels/compare.py.
Exit status: 1 when a device-bound metric is slower (host-bound too with --fail-on-host),
2 (one line on stderr) when the commits cannot be compared or an output cannot be written (a
full disk, a closed stdout: never the verdict's 1), 0 otherwise. --markdown FILE must be a new
file, or an earlier *.md output not tracked by git, in an existing directory outside --results
and probes/.
"""
from __future__ import annotations

import argparse
import math
import sys

from . import UsageError, add_suite_option, entry, load_suite, output_file, owned_places, say, write_text


def add_gate_options(parser: argparse.ArgumentParser) -> None:
    """The gate's options, shared with gpukernels-continuous."""
    from gpukernels.compare import DEFAULT_ALPHA, DEFAULT_FACTOR, HOST_FACTOR

    parser.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                        help="device-bound: ratio beyond which a significant change counts (default %(default)s; "
                             "at least 1.10 when the GPU cards differ or are unknown)")
    parser.add_argument("--host-factor", type=float, default=HOST_FACTOR,
                        help="host-bound: the same, from the measured cross-host spread (default %(default)s)")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                        help="false discovery rate of the Benjamini-Hochberg adjusted U tests (default %(default)s)")
    parser.add_argument("--fail-on-host", action="store_true",
                        help="exit 1 on host-bound slowdowns too (default: reported only)")
    parser.add_argument("--only-changed", action="store_true",
                        help="leave out parameter sets decided 'same' or 'unjudged'")


def check_gate_options(args: argparse.Namespace) -> None:
    """UsageError unless --factor and --host-factor are finite and >= 1 and --alpha is in (0, 1)."""
    for option in ("factor", "host_factor"):
        value = getattr(args, option)
        if not (math.isfinite(value) and value >= 1):
            raise UsageError(f"--{option.replace('_', '-')} must be >= 1, got {value}")
    if not (math.isfinite(args.alpha) and 0 < args.alpha < 1):
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")


@entry("compare")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpukernels-compare", description=__doc__.splitlines()[0])
    parser.add_argument("base", help="base commit (hash, prefix or git ref)")
    parser.add_argument("head", help="head commit (hash, prefix or git ref)")
    parser.add_argument("--results", default="results", help="asv results directory (read only)")
    parser.add_argument("--machine", help="machine to compare on (needed when several ran both commits)")
    add_gate_options(parser)
    add_suite_option(parser)
    parser.add_argument("--markdown", nargs="?", const="-", metavar="FILE",
                        help="Markdown (for a PR comment) on stdout, or into FILE (the text still on stdout)")
    args = parser.parse_args(argv)

    from gpukernels.compare import CompareError, compare
    from gpukernels.compare_render import render
    from gpukernels.results import NoResultsError, load_results

    try:
        check_gate_options(args)
        markdown_file = output_file(args.markdown, suffix=".md", what="the Markdown",
                                    owned=owned_places(args.results)) if args.markdown != "-" and \
            args.markdown is not None else None
        suite = load_suite(args.suite)
        comparison = compare(load_results(args.results, suite), args.base, args.head, args.machine,
                             args.factor, args.alpha, repo_dir=args.results, host_factor=args.host_factor,
                             fail_on_host=args.fail_on_host, suite=suite)
    except (UsageError, NoResultsError, CompareError) as err:
        print(f"compare: {err}", file=sys.stderr)
        return 2
    # a fault of an output (full disk, closed pipe) is exit 2 (``entry``), never the verdict's 0 or 1
    say(render(comparison, markdown=args.markdown == "-", only_changed=args.only_changed), end="")
    if markdown_file is not None:
        write_text(markdown_file, render(comparison, markdown=True, only_changed=args.only_changed))
    return comparison.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
