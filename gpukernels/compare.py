"""The regression gate: two commits' asv results on one machine, compared with their noise.

For every benchmark x parameter set with status ok at both commits::

    ratio = head median / base median     (base / head for rates, units containing '/s')

so ``ratio > 1`` always means HEAD is worse. The decision uses the noise of both sides:

- both sides with >= MIN_SAMPLES stored samples: two-sided Mann-Whitney U test at ``alpha``;
- otherwise asv's rule: the stored 99% confidence intervals (ci_99_a, ci_99_b) must not overlap;
- neither (e.g. a ``track_`` returning a plain float): no evidence, so never slower or faster.

=========  ==========================================================
slower     significant and ratio > factor
faster     significant and ratio < 1 / factor
uncertain  ratio beyond the factor, but not significant
same       ratio within the factor (significant or not)
=========  ==========================================================

Parameter sets on one side only are counted as added/removed; failed, skipped or
benchmark-version-changed ones as not compared. Reads results only through gpukernels.results.
"""
from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .mannwhitney import mann_whitney_u
from .results import Results

DEFAULT_FACTOR = 1.05
DEFAULT_ALPHA = 0.01
# Smallest sample count whose exact two-sided U test can reach p < 0.01: 2 / C(10, 5) = 0.0079.
MIN_SAMPLES = 5
DECISIONS = ("slower", "faster", "uncertain", "same")
_KEY = ["env_name", "benchmark", "_params"]
_SIDE_COLUMNS = ["status", "median", "samples", "ci_99_a", "ci_99_b", "unit", "version", "params"]


class CompareError(Exception):
    """The two commits cannot be compared (unknown commit, ambiguous machine, nothing shared)."""


@dataclass
class Comparison:
    machine: str
    base: str
    head: str
    factor: float
    alpha: float
    # benchmark, params, env_name, unit, base, head, ratio, inverted, decision, test; worst first
    rows: pd.DataFrame
    added: dict[str, int] = field(default_factory=dict)  # benchmark -> parameter sets at head only
    removed: dict[str, int] = field(default_factory=dict)  # benchmark -> parameter sets at base only
    not_compared: dict[str, int] = field(default_factory=dict)  # reason -> parameter sets
    unread: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {d: int((self.rows.decision == d).sum()) for d in DECISIONS}

    @property
    def exit_code(self) -> int:
        return 1 if self.counts()["slower"] else 0


def compare(
    results: Results,
    base: str,
    head: str,
    machine: str | None = None,
    factor: float = DEFAULT_FACTOR,
    alpha: float = DEFAULT_ALPHA,
    repo_dir: str | Path | None = None,
) -> Comparison:
    """Compare ``head`` against ``base`` (hashes, unique prefixes or git refs) on one machine.

    ``repo_dir`` is where git resolves refs that match no results commit (default: the cwd).
    """
    if not factor >= 1:
        raise CompareError(f"--factor must be >= 1, got {factor}")
    if not 0 < alpha < 1:
        raise CompareError(f"--alpha must be between 0 and 1, got {alpha}")
    frame = results.frame
    if machine is not None and machine not in set(frame.machine):
        raise CompareError(f"no results for machine {machine!r}; have {', '.join(sorted(set(frame.machine)))}")
    known = _known(frame if machine is None else frame[frame.machine == machine])
    base_hash = resolve_commit(base, set(frame.commit), repo_dir, known)
    head_hash = resolve_commit(head, set(frame.commit), repo_dir, known)
    machine = _choose_machine(frame, base_hash, head_hash, machine)

    on = frame[frame.machine == machine]
    old, new = _side(on, base_hash), _side(on, head_hash)
    merged = old.merge(new, on=_KEY, how="outer", suffixes=("_base", "_head"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    ok = (both.status_base == "ok") & (both.status_head == "ok")
    # pandas never finds None == None, so two missing versions are matched explicitly
    same_version = (both.version_base == both.version_head) | (both.version_base.isna() & both.version_head.isna())
    compared = both[ok & same_version]
    if compared.empty:
        raise CompareError(
            f"nothing to compare: no benchmark ran ok at both {base_hash[:8]} and {head_hash[:8]} on {machine}"
        )
    return Comparison(
        machine=machine, base=base_hash, head=head_hash, factor=factor, alpha=alpha,
        rows=_compared_rows(compared, factor, alpha),
        added=_per_benchmark(merged[merged["_merge"] == "right_only"]),
        removed=_per_benchmark(merged[merged["_merge"] == "left_only"]),
        not_compared={k: v for k, v in {
            "skipped or failed": int((~ok).sum()),
            "benchmark version changed": int((ok & ~same_version).sum()),
        }.items() if v},
        unread=list(results.unread),
    )


def resolve_commit(spec: str, commits: set[str], repo_dir: str | Path | None, known: str) -> str:
    """A results commit from a hash prefix, else from ``git rev-parse``; ``known`` ends the error."""
    matches = sorted(c for c in commits if c.startswith(spec.lower()))
    if len(matches) > 1:
        raise CompareError(f"commit {spec!r} is ambiguous: {', '.join(m[:8] for m in matches)}")
    if matches:
        return matches[0]
    full = _git_rev_parse(spec, repo_dir)
    if full in commits:
        return full
    via = f" (git: {full[:8]})" if full else ""
    raise CompareError(f"no results for commit {spec!r}{via}; {known}")


def _git_rev_parse(spec: str, repo_dir: str | Path | None) -> str | None:
    if spec.startswith("-"):  # never let a ref be read as a git option
        return None
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"],
            cwd=repo_dir, capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _known(frame: pd.DataFrame) -> str:
    per_machine = frame.groupby("machine").commit_short.unique()
    return "known commits: " + "; ".join(
        f"{m}: {', '.join(sorted(c))}" for m, c in per_machine.items()
    )


def _choose_machine(frame: pd.DataFrame, base: str, head: str, machine: str | None) -> str:
    def machines_with(commit: str) -> set[str]:
        return set(frame.machine[frame.commit == commit])

    shared = machines_with(base) & machines_with(head)
    if machine is not None:
        for commit in (base, head):
            if machine not in machines_with(commit):
                raise CompareError(
                    f"no results for commit {commit[:8]} on {machine}; {_known(frame[frame.machine == machine])}"
                )
        return machine
    if not shared:
        raise CompareError(f"no machine has results for both {base[:8]} and {head[:8]}; {_known(frame)}")
    if len(shared) > 1:
        raise CompareError(
            f"{base[:8]} and {head[:8]} were both run on several machines ({', '.join(sorted(shared))}): "
            "choose one with --machine"
        )
    return shared.pop()


def _side(frame: pd.DataFrame, commit: str) -> pd.DataFrame:
    rows = frame[frame.commit == commit]
    # dict params are unhashable: key on their repr (param_names order is fixed per benchmark)
    keyed = rows.assign(_params=rows.params.map(lambda p: repr(tuple(p.items()))))
    return keyed[[*_KEY, *_SIDE_COLUMNS]]


def _per_benchmark(rows: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in rows.groupby("benchmark").size().items()}


def _compared_rows(both: pd.DataFrame, factor: float, alpha: float) -> pd.DataFrame:
    out = []
    for row in both.itertuples(index=False):
        unit = row.unit_head if isinstance(row.unit_head, str) else ""
        inverted = "/s" in unit  # a rate: larger is better
        ratio = _ratio(row.median_base, row.median_head, inverted)
        decision, test = decide(
            ratio, factor, alpha, row.samples_base, row.samples_head,
            (row.ci_99_a_base, row.ci_99_b_base), (row.ci_99_a_head, row.ci_99_b_head),
        )
        out.append({
            "benchmark": row.benchmark, "params": params_label(row.params_head), "env_name": row.env_name,
            "unit": unit, "base": row.median_base, "head": row.median_head, "ratio": ratio,
            "inverted": inverted, "decision": decision, "test": test,
        })
    table = pd.DataFrame(out)
    return table.sort_values(
        ["ratio", "benchmark", "params"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)


def _ratio(base: float, head: float, inverted: bool) -> float:
    worse, better = (base, head) if inverted else (head, base)
    if worse == better:
        return 1.0
    return math.inf if better == 0 else worse / better


def decide(
    ratio: float,
    factor: float,
    alpha: float,
    base_samples: list[float] | None,
    head_samples: list[float] | None,
    base_ci: tuple[float, float],
    head_ci: tuple[float, float],
) -> tuple[str, str]:
    """The decision and the evidence it rests on (see the module docstring)."""
    if min(len(base_samples or ()), len(head_samples or ())) >= MIN_SAMPLES:
        _, p = mann_whitney_u(base_samples, head_samples)
        significant, test = p < alpha, f"U test p={p:.2g}"
    elif not any(math.isnan(x) for x in (*base_ci, *head_ci)):
        disjoint = base_ci[1] < head_ci[0] or head_ci[1] < base_ci[0]
        significant, test = disjoint, f"99% CIs {'disjoint' if disjoint else 'overlap'}"
    else:
        significant, test = False, "no spread stored"
    if 1 / factor <= ratio <= factor:
        return "same", test
    if not significant:
        return "uncertain", test
    return ("slower" if ratio > 1 else "faster"), test


def params_label(params: dict) -> str:
    return ", ".join(f"{k}={_param_value(v)}" for k, v in params.items()) or "-"


def _param_value(value: object) -> str:
    # sizes read better as powers of two; small ints (device 0, 8 args) stay as they are
    if isinstance(value, int) and value >= 1024 and value & (value - 1) == 0:
        return f"2^{value.bit_length() - 1}"
    return str(value)
