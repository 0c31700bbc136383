"""Compare two commits' benchmark results on one machine: the noise-aware regression gate.

    python scripts/compare.py BASE HEAD [--results results] [--machine NAME] [--factor 1.05]
                              [--alpha 0.01] [--only-changed] [--markdown]

BASE and HEAD are commit hashes or unique prefixes as in the results, or git refs (HEAD~1),
resolved by git in the repository that holds --results.
Exit status: 1 when anything is slower, 2 (one line on stderr) when the commits cannot be
compared, 0 otherwise.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from gpukernels.compare import DEFAULT_ALPHA, DEFAULT_FACTOR, CompareError, compare  # noqa: E402
from gpukernels.compare_render import render  # noqa: E402
from gpukernels.results import NoResultsError, load_results  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="base commit (hash, prefix or git ref)")
    parser.add_argument("head", help="head commit (hash, prefix or git ref)")
    parser.add_argument("--results", default="results", help="asv results directory (read only)")
    parser.add_argument("--machine", help="machine to compare on (needed when several ran both commits)")
    parser.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                        help="ratio beyond which a significant change counts (default %(default)s)")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                        help="significance level of the Mann-Whitney U test (default %(default)s)")
    parser.add_argument("--only-changed", action="store_true", help="leave out parameter sets decided 'same'")
    parser.add_argument("--markdown", action="store_true", help="print Markdown (for a PR comment)")
    args = parser.parse_args(argv)
    try:
        comparison = compare(load_results(args.results), args.base, args.head, args.machine,
                             args.factor, args.alpha, repo_dir=args.results)
    except (NoResultsError, CompareError) as err:
        print(f"compare: {err}", file=sys.stderr)
        return 2
    print(render(comparison, markdown=args.markdown, only_changed=args.only_changed), end="")
    return comparison.exit_code


if __name__ == "__main__":
    sys.exit(main())
