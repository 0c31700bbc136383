"""Same-session A/B: measure two commits on one GPU, rounds interleaved, then apply the gate.

Card-to-card and session-to-session spread (up to 9.4% on two H100s, docs/validation.md) is
larger than the slowdowns worth catching, so the comparison that can use the tight 5% factor is
one where both commits run in one session on one GPU. This does it with asv itself:

1. ``git worktree add --detach`` of BASE and HEAD under a temporary directory;
2. per commit an asv config: that commit's ``asv.conf.json`` with ``benchmark_dir`` = its
   worktree's ``benchmarks/`` and one shared ``results_dir``; ``ASV_PYTHONPATH`` (asv turns it
   into the benchmark processes' ``PYTHONPATH``) = the worktree, so each commit's ``gpukernels``
   is what gets imported and measured, not the installed one;
3. rounds A, B, A, B, ...: ``asv run --python=same --set-commit-hash=<sha> --record-samples
   -a rounds=1`` (``--append-samples`` from the second round), so slow drift of the GPU or
   host (clocks, temperature, other tenants) lands on both sides instead of on one;
4. ``gpukernels.compare`` on that results dir, told both sides ran on one GPU.

Works without a package registry (``--python=same``: the current environment must hold the
dependencies) and under the CUDA simulator, where the timings mean nothing but every step runs.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .commits import git_rev_parse
from .compare import DEFAULT_ALPHA, DEFAULT_FACTOR, HOST_FACTOR, Comparison, compare
from .results import load_results
from .suite import Suite

DEFAULT_ROUNDS = 2
ASV_TIMEOUT_S = 4 * 3600  # one asv run of the whole suite takes ~9 min on an H100 (README)
LOG_NAME = "continuous.log"
# Per-commit config keys pointed at our own places; everything else is the commit's own.
_PATH_KEYS = ("repo", "benchmark_dir", "results_dir", "env_dir", "html_dir")


class ContinuousError(Exception):
    """The A/B run could not be done (bad commit, no GPU, asv failed); the message is one line."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived during ``run`` (the message names it). Raised from the signal
    handler, so every ``finally`` on the way out runs: the git worktrees are removed."""


@contextmanager
def signals_raise(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """While inside: each of ``signals`` raises Interrupted once (a second one during the clean-up
    is ignored, so it cannot cut the removal short); the previous handlers come back afterwards.
    Outside the main thread (where Python cannot set handlers) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = []

    def handler(signum, frame) -> None:
        if raised:
            return
        raised.append(signum)
        raise Interrupted(signal.Signals(signum).name)

    previous = {}
    for sig in signals:
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


@dataclass
class Plan:
    repo: Path  # the git repository holding both commits
    base: str  # commit-ish
    head: str
    results: Path  # asv results dir of this A/B alone
    bench: list[str] = field(default_factory=list)  # asv --bench regexes; empty: the whole suite
    rounds: int = DEFAULT_ROUNDS
    machine: str | None = None
    factor: float = DEFAULT_FACTOR
    host_factor: float = HOST_FACTOR
    alpha: float = DEFAULT_ALPHA
    fail_on_host: bool = False
    suite: Suite | None = None  # the project's suite: its card id, bounds and units for the gate


def run(plan: Plan, say: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> Comparison:
    """Measure both commits (rounds interleaved) into ``plan.results`` and compare them.

    SIGINT and SIGTERM raise Interrupted while it runs, after the worktrees are removed."""
    if plan.rounds < 1:
        raise ContinuousError(f"--rounds must be >= 1, got {plan.rounds}")
    with signals_raise():
        return _run(plan, say)


def _run(plan: Plan, say: Callable[[str], None]) -> Comparison:
    repo = _toplevel(plan.repo)
    base, head = (_resolve(repo, spec) for spec in (plan.base, plan.head))
    if base == head:
        raise ContinuousError(f"BASE and HEAD are the same commit ({base[:8]}): asv keeps one result file "
                              "per commit, so there would be nothing to compare")
    machine = ensure_machine(plan.machine)
    plan.results.mkdir(exist_ok=True)  # one level at most: a missing parent is an error
    log_path = plan.results / LOG_NAME
    # the card benchmark rides along with any selection, so the gate can check the GPU too (asv
    # matches a parameterised benchmark as "name(p1, p2)", so no '$' here)
    identity = plan.suite.identity_family() if plan.suite else None
    bench = [*plan.bench, *(["^" + identity.ids[0].replace(".", r"\.")] if identity else [])] if plan.bench else []
    with tempfile.TemporaryDirectory(prefix="gpukernels-continuous-") as tmp, \
            worktrees(repo, {"base": base, "head": head}, Path(tmp)) as trees, \
            log_path.open("a", encoding="utf-8") as log:
        confs = {side: write_config(trees[side], repo, plan.results, Path(tmp) / side) for side in trees}
        for round_ in range(1, plan.rounds + 1):
            for side, sha in (("base", base), ("head", head)):
                started = time.monotonic()
                asv_run(confs[side], trees[side], sha, machine, bench, append=round_ > 1, log=log)
                say(f"continuous: round {round_}/{plan.rounds} {side} {sha[:8]} measured "
                    f"({time.monotonic() - started:.0f} s)")
    return compare(load_results(plan.results, plan.suite), base, head, machine=machine, factor=plan.factor,
                   alpha=plan.alpha, repo_dir=repo, host_factor=plan.host_factor,
                   fail_on_host=plan.fail_on_host, same_card=True, suite=plan.suite)


def _toplevel(path: Path) -> Path:
    done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=path, capture_output=True, text=True)
    if done.returncode:
        raise ContinuousError(f"{path} is not in a git repository")
    return Path(done.stdout.strip())


def _resolve(repo: Path, spec: str) -> str:
    full = git_rev_parse(spec, repo)
    if full is None:
        raise ContinuousError(f"no commit {spec!r} in {repo}")
    return full


@contextmanager
def worktrees(repo: Path, commits: dict[str, str], where: Path) -> Iterator[dict[str, Path]]:
    """A detached git worktree per commit under ``where``; removed (and pruned) afterwards."""
    made: dict[str, Path] = {}
    try:
        for side, sha in commits.items():
            path = where / f"tree-{side}"
            done = subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(path), sha],
                                  cwd=repo, capture_output=True, text=True)
            if done.returncode:
                raise ContinuousError(f"git worktree add {sha[:8]} failed: {done.stderr.strip()}")
            made[side] = path
        yield made
    finally:
        for path in made.values():
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=repo, capture_output=True)
        subprocess.run(["git", "worktree", "prune"], cwd=repo, capture_output=True)


def write_config(tree: Path, repo: Path, results: Path, scratch: Path) -> Path:
    """The commit's own asv.conf.json with our paths (``//`` comments allowed, as asv allows)."""
    from asv.util import load_json

    source = tree / "asv.conf.json"
    if not source.is_file():
        raise ContinuousError(f"no asv.conf.json at {source.parent.name} (commit without the asv suite?)")
    conf = load_json(str(source), js_comments=True)
    scratch.mkdir(parents=True, exist_ok=True)
    conf.update(repo=str(repo), benchmark_dir=str(tree / conf.get("benchmark_dir", "benchmarks")),
                results_dir=str(results.resolve()), env_dir=str(scratch / "env"), html_dir=str(scratch / "html"))
    path = scratch / "asv.conf.json"
    path.write_text(json.dumps(conf, indent=2))
    return path


def ensure_machine(name: str | None) -> str:
    """The asv machine name, registered with its GPU fields (``gpukernels.machine.register``)
    when ~/.asv-machine.json does not know it yet; asv would otherwise ask questions on stdin."""
    from asv.machine import MachineCollection
    from asv.util import UserError

    from . import devices, machine

    try:
        devices.require()
        name = name or devices.machine_name()
    except devices.NoGPUError as exc:
        raise ContinuousError(str(exc)) from None
    try:
        if MachineCollection.load(name).get("gpu"):
            return name
    except UserError:
        pass
    machine.register(name)
    return name


def asv_run(conf: Path, tree: Path, sha: str, machine: str, bench: list[str], append: bool, log) -> None:
    """One asv round of one commit; ContinuousError with asv's last lines when it fails."""
    cmd = [sys.executable, "-m", "asv", "run", "--config", str(conf), "--python=same", "--no-pull",
           f"--set-commit-hash={sha}", "--record-samples", "--machine", machine, "--show-stderr",
           "-a", "rounds=1", *(["--append-samples"] if append else []),
           *(arg for regex in bench for arg in ("--bench", regex))]
    # GPUKERNELS_SCRATCH_RESULTS names a results dir of our own (never the repository's results/):
    # the stray-results guard (gpukernels.machine) may then let a simulator run save there
    # this commit's tree first; what the caller's path holds (e.g. carried wheels) after it
    path = os.pathsep.join(p for p in (str(tree), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "ASV_PYTHONPATH": path, "PYTHONPATH": path,
           "GPUKERNELS_SCRATCH_RESULTS": str(Path(json.loads(conf.read_text())["results_dir"]))}
    log.write(f"\n$ {' '.join(cmd)}\n")
    log.flush()
    try:
        done = subprocess.run(cmd, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=ASV_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ContinuousError(f"asv run at {sha[:8]} took over {ASV_TIMEOUT_S} s; see {log.name}") from None
    if done.returncode:
        raise ContinuousError(f"asv run at {sha[:8]} failed (exit {done.returncode}): {_tail(Path(log.name))}; "
                              f"full log: {log.name}")


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return " | ".join(line.strip() for line in text[-lines:])


def temporary_results() -> Path:
    """A fresh results dir for one A/B, left on disk so its files can be read afterwards."""
    return Path(tempfile.mkdtemp(prefix="gpukernels-continuous-results-"))


def holds_something(path: Path) -> bool:
    """Whether ``path`` holds anything worth keeping: a file that is not empty, at any depth."""
    try:
        return any(f.is_file() and f.stat().st_size > 0 for f in path.rglob("*"))
    except OSError:
        return path.exists()


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
