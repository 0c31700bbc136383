"""Which commits and machine a comparison is about: hash prefixes and git refs resolved against the
results, and the one machine that ran both (gpukernels.compare)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd


class CompareError(Exception):
    """The two commits cannot be compared (unknown commit, ambiguous machine, nothing shared)."""


def resolve_commit(spec: str, commits: set[str], repo_dir: str | Path | None, known: str) -> str:
    """A results commit from a hash prefix, else from ``git rev-parse``; ``known`` ends the error."""
    matches = sorted(c for c in commits if c.startswith(spec.lower()))
    if len(matches) > 1:
        raise CompareError(f"commit {spec!r} is ambiguous: {', '.join(m[:8] for m in matches)}")
    if matches:
        return matches[0]
    full = git_rev_parse(spec, repo_dir)
    if full in commits:
        return full
    via = f" (git: {full[:8]})" if full else ""
    raise CompareError(f"no results for commit {spec!r}{via}; {known}")


def git_rev_parse(spec: str, repo_dir: str | Path | None) -> str | None:
    """The full hash of a commit-ish in ``repo_dir``, or None."""
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


def known_commits(frame: pd.DataFrame) -> str:
    per_machine = frame.groupby("machine").commit_short.unique()
    return "known commits: " + "; ".join(
        f"{m}: {', '.join(sorted(c))}" for m, c in per_machine.items()
    )


def choose_machine(frame: pd.DataFrame, base: str, head: str, machine: str | None) -> str:
    def machines_with(commit: str) -> set[str]:
        return set(frame.machine[frame.commit == commit])

    shared = machines_with(base) & machines_with(head)
    if machine is not None:
        for commit in (base, head):
            if machine not in machines_with(commit):
                raise CompareError(
                    f"no results for commit {commit[:8]} on {machine}; {known_commits(frame[frame.machine == machine])}"
                )
        return machine
    if not shared:
        raise CompareError(f"no machine has results for both {base[:8]} and {head[:8]}; {known_commits(frame)}")
    if len(shared) > 1:
        raise CompareError(
            f"{base[:8]} and {head[:8]} were both run on several machines ({', '.join(sorted(shared))}): "
            "choose one with --machine"
        )
    return shared.pop()
