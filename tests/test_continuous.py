"""Same-session A/B (gpukernels.continuous, gpukernels-continuous) on the CUDA simulator.

The slow test makes a commit in a temporary clone that plants a 0.2 s sleep in the vector-add
workload's launch (gpukernels/, not benchmarks/), and runs the real thing: git worktrees, asv
``--python=same --set-commit-hash --record-samples``, rounds A, B, A, B, then the gate. Only
the per-commit ``ASV_PYTHONPATH`` can make HEAD slower, so a 'slower' verdict shows that each
commit's own code was measured. The simulator's timings mean nothing otherwise.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gpukernels import continuous
from gpukernels.cli.continuous import main
from gpukernels.ours.suite import SUITE

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "continuous.py"
# The last commits of the suite before the catalogue (and the Suite after it): their benchmarks run
# on the simulator and carry no results guard (a simulator machine may save into a temporary
# results dir). Their ids are not in today's suite: the gate judges them by the rule for older ids.
OLD_SUITE = "b8b27f4"
BENCH = r"^vector_add\.VectorAdd\.track_device_time\(1024, 0\)"
# --bench must select a benchmark of --suite (today's): the old id, or today's vector add at n=1024
BENCH_CLI = r"^(vector_add\.VectorAdd\.track_device_time\(1024, 0|kernels\.VectorAdd\.track_device_time\('seed', 1024)\)"
SLEEP = "        import time; time.sleep(0.2)  # planted slowdown (tests/test_continuous.py)\n"
ORIGINAL = """    def launch(self, stream=0) -> None:
        self.kernel[self.config.grid, self.config.block, stream](self.a, self.b)"""
PLANTED = ORIGINAL.replace("\n", "\n" + SLEEP, 1)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
                          cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository with a planted-slowdown commit on top of OLD_SUITE."""
    if subprocess.run(["git", "cat-file", "-e", f"{OLD_SUITE}^{{commit}}"], cwd=ROOT).returncode:
        pytest.skip(f"this checkout lacks {OLD_SUITE} (shallow clone?)")
    repo = tmp_path_factory.mktemp("continuous") / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True)
    git(repo, "checkout", "--quiet", "-b", "planted", OLD_SUITE)
    workloads = repo / "gpukernels" / "workloads.py"
    text = workloads.read_text()
    assert ORIGINAL in text
    workloads.write_text(text.replace(ORIGINAL, PLANTED, 1))
    git(repo, "commit", "--quiet", "-am", "planted slowdown")
    return repo


def run_main(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- fast: refused before any measurement -------------------------------------------------

def test_bad_output_paths_exit_2_before_work(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_main(capsys, "HEAD~1", "HEAD", "--markdown", str(tmp_path))
    assert (code, out, err) == (2, "", f"continuous: {tmp_path} is a directory; give a file path\n")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code, _, err = run_main(capsys, "HEAD~1", "HEAD", "--results", str(a_file))
    assert (code, err) == (2, f"continuous: {a_file} exists and is not a directory\n")


def test_unknown_or_identical_commits_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    results = tmp_path / "r"
    code, _, err = run_main(capsys, "no-such-ref", "HEAD", "--repo", str(ROOT), "--results", str(results))
    assert code == 2 and err.startswith(f"continuous: no commit 'no-such-ref' in {ROOT}")
    code, _, err = run_main(capsys, "HEAD", "HEAD", "--repo", str(ROOT), "--results", str(results))
    assert code == 2 and "are the same commit" in err
    code, _, err = run_main(capsys, "HEAD~1", "HEAD", "--rounds", "0", "--results", str(results))
    assert (code, err) == (2, "continuous: --rounds must be an integer from 1 to 20, got 0\n")


def test_bad_suite_exit_2_before_work(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    results = tmp_path / "r"
    for spec, why in (("gpukernels.ours.suite", "give MODULE:NAME"),
                      ("no_such_module:SUITE", "cannot import no_such_module"),
                      ("gpukernels.ours.suite:NOPE", "gpukernels.ours.suite has no NOPE")):
        code, out, err = run_main(capsys, "HEAD~1", "HEAD", "--repo", str(ROOT), "--results", str(results),
                                  "--suite", spec)
        assert (code, out) == (2, "")
        assert err.startswith(f"continuous: --suite {spec!r}") and why in err and err.count("\n") == 1
    assert not results.exists()  # refused before the results directory was made


def test_the_suites_card_id_rides_along_and_the_gate_gets_the_suite(clone: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """asv is not run here: each round's arguments are recorded. A --bench selection gets the suite's
    identity id (probes.Card) added, so the gate can check the GPU; the whole suite needs no regex.
    The gate is told both sides ran on one card and reads the suite it was given."""
    calls, gate = [], {}
    monkeypatch.setattr(continuous, "ensure_machine", lambda name: "sim-box")
    monkeypatch.setattr(continuous, "asv_run", lambda conf, tree, sha, machine, bench, append, log:
                        calls.append((sha[:8], machine, list(bench), append)))
    monkeypatch.setattr(continuous, "load_results", lambda path, suite: ("results of", suite))
    monkeypatch.setattr(continuous, "compare", lambda results, base, head, **kw: gate.update(results=results, **kw))
    base, head = (git(clone, "rev-parse", "--short=8", c) for c in (OLD_SUITE, "planted"))
    plan = continuous.Plan(repo=clone, base=OLD_SUITE, head="planted", results=tmp_path / "r", bench=[BENCH],
                           rounds=2, suite=SUITE)
    continuous.run(plan, say=lambda line: None)
    card = r"^probes\.Card\.track_card_id"
    assert calls == [(base, "sim-box", [BENCH, card], False), (head, "sim-box", [BENCH, card], False),
                     (base, "sim-box", [BENCH, card], True), (head, "sim-box", [BENCH, card], True)]
    assert gate["results"] == ("results of", SUITE) and gate["suite"] is SUITE and gate["same_card"] is True
    assert gate["machine"] == "sim-box"
    calls.clear()
    continuous.run(continuous.Plan(repo=clone, base=OLD_SUITE, head="planted", results=tmp_path / "r2", rounds=1,
                                   suite=SUITE), say=lambda line: None)
    assert [bench for _, _, bench, _ in calls] == [[], []]  # the whole suite: no selection to add to
    assert git(clone, "worktree", "list").count("\n") == 0  # the worktrees are gone


def test_per_commit_config_points_at_its_worktree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "asv.conf.json").write_text('// a comment, as asv allows\n{"version": 1, "project": "p", '
                                        '"launch_method": "forkserver", "benchmark_dir": "benchmarks"}\n')
    path = continuous.write_config(tree, ROOT, tmp_path / "results", tmp_path / "scratch")
    conf = json.loads(path.read_text())
    assert conf["benchmark_dir"] == str(tree / "benchmarks")
    assert conf["repo"] == str(ROOT) and conf["results_dir"] == str((tmp_path / "results").resolve())
    assert conf["launch_method"] == "forkserver"  # the commit's own settings stay
    assert Path(conf["env_dir"]).is_relative_to(tmp_path / "scratch")


# --- slow: the real thing on the simulator ------------------------------------------------

@pytest.mark.slow
def test_planted_slowdown_in_gpukernels_is_caught_same_session(clone: Path, tmp_path: Path) -> None:
    home, results, md = tmp_path / "home", tmp_path / "results", tmp_path / "ab.md"  # no parent is created
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), OLD_SUITE, "planted", "--bench", BENCH_CLI, "--rounds", "2",
         "--results", str(results), "--markdown", str(md)],
        cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("vector_add.VectorAdd.track_device_time"))
    assert "n=2^10, device=0" in row and "  slower  " in row and "U test p=" in row
    assert "WARNING" not in done.stdout  # one session, one GPU: no card rule
    assert done.stdout.rstrip().endswith("exit 1: 1 device-bound slower")
    rounds = [line for line in done.stderr.splitlines() if line.startswith("continuous: round")]
    assert [line.split(" measured")[0] for line in rounds] == [
        f"continuous: round {r}/2 {side} {sha}" for r in (1, 2)
        for side, sha in (("base", git(clone, "rev-parse", "--short=8", OLD_SUITE)),
                          ("head", git(clone, "rev-parse", "--short=8", "planted")))]
    # asv saved both commits' samples, appended over the two rounds (3 samples a round here)
    files = sorted((results / "cuda-simulator").glob("*-*.json"))
    assert len(files) == 2
    for path in files:
        data = json.loads(path.read_text())
        row = dict(zip(data["result_columns"], data["results"]["vector_add.VectorAdd.track_device_time"]))
        assert len(row["samples"][0]) == 6
    assert md.read_text().startswith("### Benchmark comparison")
    assert git(clone, "worktree", "list").count("\n") == 0  # the worktrees are gone
    assert (home / ".asv-machine.json").is_file()  # the machine was registered in this HOME


@pytest.mark.slow
def test_two_real_commits_one_round(clone: Path, tmp_path: Path) -> None:
    """Two commits of this repository as they are (bab11b7 -> b8b27f4, README and probe edits):
    the gate runs on what asv saved; on the simulator its verdict means nothing, so either."""
    home, scratch = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    # a temporary directory of its own: under xdist another test's worktrees may be in the system one
    env = {**os.environ, "HOME": str(home), "NUMBA_ENABLE_CUDASIM": "1", "TMPDIR": str(scratch)}
    done = subprocess.run([sys.executable, str(SCRIPT), "bab11b7", OLD_SUITE, "--bench", BENCH_CLI, "--rounds", "1"],
                          cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert done.stdout.startswith("compare bab11b72 -> b8b27f4e on cuda-simulator\n")
    assert re.search(r"^device-bound: \d+ slower, \d+ faster, \d+ uncertain, \d+ same", done.stdout, re.M)
    assert not list(scratch.glob("gpukernels-continuous-*/tree-*"))  # worktrees removed
