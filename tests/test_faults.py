"""A gate you can run on every commit: faults of the machine end in exit 2 and one line, the loader
never opens special files and names everything it did not read, outputs never land on anything we
own, and gpukernels-continuous checks every option before it measures. One test per defect, named
after it; most are tables over the command-line tools.

Root runs these tests too: read-only places are simulated (a patched ``Path.iterdir`` or writer
raising the OSError the kernel would), never made with chmod.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fixtures.synthetic_tree import COMMITS, write_tree
from gpukernels import continuous
from gpukernels.cli import compare as compare_cli
from gpukernels.cli import continuous as continuous_cli
from gpukernels.cli import machine as machine_cli
from gpukernels.cli import probe as probe_cli
from gpukernels.cli import report as report_cli
from gpukernels.ours import probes
from gpukernels.ours.suite import SUITE
from gpukernels.results import load_results

REPO = Path(__file__).resolve().parent.parent
REAL = REPO / "tests" / "fixtures" / "h100_real_subset"  # committed: read, never written
BASE, HEAD = "b13c3b7f", "92da6ebb"  # HEAD is slower there: compare's verdict is exit 1
ASV_COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
               "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples", "profile"]
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.endswith("\n") and "Traceback" not in err


def call(capsys, main, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "results")


class Refusing:
    """A stdout that cannot take anything: a full device or a closed pipe."""

    def __init__(self, error: OSError) -> None:
        self.error = error

    def write(self, text: str) -> int:
        raise self.error

    def flush(self) -> None:
        raise self.error


def fake_probes(report: dict | None = None):
    """probes.run_all without a GPU: one checkpoint of a small report, as the real one does."""
    def run_all(devices, progress, checkpoint):
        done = report or {"machine": "sim", "state": "simulator", "devices": [], "probes": {}, "failed": []}
        checkpoint(done)
        return done
    return run_all


# --- 1. faults end in exit 2 and one line ------------------------------------------------------

def test_compare_markdown_to_dev_full_is_not_exit_1_with_a_traceback(capsys) -> None:
    code, _, err = call(capsys, compare_cli.main, BASE, HEAD, "--results", str(REAL), "--markdown", "/dev/full")
    assert code == 2 and one_line(err) and err.startswith("compare: ")


def test_compare_markdown_on_a_full_disk_is_exit_2_not_the_verdict(tmp_path: Path, capsys, monkeypatch) -> None:
    def full(self, *args, **kwargs):
        raise ENOSPC

    monkeypatch.setattr(Path, "write_text", full)
    code, out, err = call(capsys, compare_cli.main, BASE, HEAD, "--results", str(REAL),
                          "--markdown", str(tmp_path / "gate.md"))
    assert out.startswith("WARNING cards:")  # the verdict was printed; the Markdown could not be written
    assert (code, err) == (2, f"compare: cannot write {tmp_path / 'gate.md'}: No space left on device\n")


def _continuous_comparison(monkeypatch):
    from gpukernels.compare import compare

    comparison = compare(load_results(REAL), BASE, HEAD)
    monkeypatch.setattr(continuous, "run", lambda plan: comparison)


STDOUT_USERS = {  # cli -> (main, argv builder, set-up)
    "compare": (compare_cli.main, lambda tmp: [BASE, HEAD, "--results", str(REAL)], None),
    "report": (report_cli.main, lambda tmp: ["--results", str(REAL), "--out", str(tmp / "rep")], None),
    "probe": (probe_cli.main, lambda tmp: ["--out", str(tmp / "p.json")],
              lambda mp: mp.setattr(probes, "run_all", fake_probes())),
    "machine": (machine_cli.main, lambda tmp: ["--check"],
                lambda mp: mp.setattr("gpukernels.machine.refusal", lambda name: None)),
    "continuous": (continuous_cli.main, lambda tmp: ["HEAD~1", "HEAD", "--results", str(tmp / "ab")],
                   _continuous_comparison),
}


@pytest.mark.parametrize("error", [ENOSPC, BrokenPipeError(errno.EPIPE, "Broken pipe")], ids=["full", "pipe"])
@pytest.mark.parametrize("cli", list(STDOUT_USERS))
def test_stdout_on_a_full_device_or_closed_pipe_is_exit_2_one_line(cli: str, error: OSError, tmp_path: Path,
                                                                   capsys, monkeypatch) -> None:
    main, argv, setup = STDOUT_USERS[cli]
    if setup is not None:
        setup(monkeypatch)
    monkeypatch.setattr(sys, "stdout", Refusing(error))
    code = main(argv(tmp_path))
    err = capsys.readouterr().err
    assert code == 2 and one_line(err) and err.startswith(f"{cli}: "), err
    assert ("No space left on device" if error is ENOSPC else "broken pipe") in err


def test_stdout_to_dev_full_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    """The interpreter's final flush must not print a second error either (exit 120)."""
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r}); from gpukernels.cli.compare import main; "
            f"raise SystemExit(main([{BASE!r}, {HEAD!r}, '--results', {str(REAL)!r}]))")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-c", code], stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120, env={**os.environ, "NUMBA_ENABLE_CUDASIM": "1"})
    assert done.returncode == 2 and one_line(done.stderr), done.stderr
    assert done.stderr == "compare: cannot write to stdout: No space left on device\n"


def test_report_out_on_a_full_filesystem_is_exit_2_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    def full(self, *args, **kwargs):
        raise ENOSPC

    monkeypatch.setattr(Path, "write_text", full)
    monkeypatch.setattr(Path, "write_bytes", full)
    code, out, err = call(capsys, report_cli.main, "--results", str(REAL), "--out", str(tmp_path / "rep"))
    assert (code, out) == (2, "") and one_line(err)
    assert err == f"report: cannot write the report into {tmp_path / 'rep'}: No space left on device\n"


def test_probe_out_dev_full_and_a_full_disk_are_exit_2_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(probes, "run_all", fake_probes())
    code, _, err = call(capsys, probe_cli.main, "--out", "/dev/full")
    assert code == 2 and one_line(err) and err.startswith("probe: refusing to write /dev/full")

    def full(self, *args, **kwargs):
        raise ENOSPC

    monkeypatch.setattr(Path, "write_text", full)
    code, out, err = call(capsys, probe_cli.main, "--out", str(tmp_path / "p.json"))
    assert (code, out) == (2, "") and one_line(err)
    assert err == f"probe: cannot write {tmp_path / 'p.json'}: No space left on device\n"


@pytest.mark.parametrize("cli", ["report", "compare"])
def test_unreadable_results_root_is_exit_2_one_line(cli: str, tmp_path: Path, capsys, monkeypatch) -> None:
    real_iterdir = Path.iterdir
    root = REAL.resolve()

    def iterdir(self):
        if self.resolve() == root:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    if cli == "report":
        code, out, err = call(capsys, report_cli.main, "--results", str(REAL), "--out", str(tmp_path / "rep"))
    else:
        code, out, err = call(capsys, compare_cli.main, BASE, HEAD, "--results", str(REAL))
    assert (code, out) == (2, "") and one_line(err)
    assert err == f"{cli}: cannot list {REAL}: Permission denied\n"


# --- 2. the loader never opens special files, and names all it did not read ---------------------

def load_within(root: Path, seconds: float = 60.0):
    """load_results in a thread: a loader that opens a FIFO would block forever."""
    box: dict = {}

    def target() -> None:
        try:
            box["results"] = load_results(root, SUITE)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "load_results hangs (it opened a FIFO?)"
    if "error" in box:
        raise box["error"]
    return box["results"]


def reasons(results, path: str) -> list[str]:
    return [r for f, r in results.unread if f == path]


def result_file_of(tree: Path) -> Path:
    return next(tree.glob(f"h100-test/{COMMITS['mid'][:8]}-*.json"))


@pytest.mark.parametrize("which", ["benchmarks.json", "machine.json", "result", "probe"])
def test_loader_hangs_on_a_fifo_named_like_a_results_file(tree: Path, which: str) -> None:
    target = {"benchmarks.json": tree / "benchmarks.json", "machine.json": tree / "h200-test" / "machine.json",
              "result": result_file_of(tree), "probe": tree / "probes" / "h100-test.json"}[which]
    target.unlink()
    os.mkfifo(target)
    results = load_within(tree)
    rel = target.relative_to(tree).as_posix()
    assert any("FIFO" in r and "not opened" in r for r in reasons(results, rel)), results.unread
    if which == "machine.json":  # its results cannot be attributed; the other machine's still load
        assert set(results.frame.machine) == {"h100-test"}
    else:
        assert {"h100-test", "h200-test"} <= set(results.frame.machine)


@pytest.mark.parametrize("kind", ["dangling", "loop"])
@pytest.mark.parametrize("where", ["result", "machine folder", "probe"])
def test_dangling_links_and_symlink_loops_are_named_not_skipped(tree: Path, kind: str, where: str) -> None:
    path = {"result": tree / "h100-test" / "0123abcd-linked.json", "machine folder": tree / "linked-machine",
            "probe": tree / "probes" / "linked.json"}[where]
    if kind == "dangling":
        path.symlink_to(tree / "absent")
    else:
        path.symlink_to(path)
    results = load_within(tree)
    why = reasons(results, path.relative_to(tree).as_posix())
    assert why and ("dangling" if kind == "dangling" else "loop") in why[0]


def test_an_unreadable_machine_folder_is_named(tree: Path, monkeypatch) -> None:
    real_iterdir = Path.iterdir
    locked = (tree / "h200-test").resolve()

    def iterdir(self):
        if self.resolve() == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    results = load_results(tree, SUITE)
    assert reasons(results, "h200-test") == ["a machine folder that cannot be listed: Permission denied; "
                                             "nothing in it read"]
    assert set(results.frame.machine) == {"h100-test"}


def test_stray_json_files_and_folders_in_the_tree_are_named(tree: Path) -> None:
    """JSON files and folders where asv keeps none are named; documentation (README.txt) is passed over."""
    (tree / "README.txt").write_text("notes")
    (tree / "stray.json").write_text("{}")
    (tree / "h100-test" / "sub").mkdir()
    results = load_results(tree, SUITE)
    assert "not part of an asv results tree" in reasons(results, "stray.json")[0]
    assert "a folder" in reasons(results, "h100-test/sub")[0]
    assert reasons(results, "README.txt") == []


def write_raw(tree: Path, name: str, text: str) -> Path:
    path = tree / "h200-test" / name
    path.write_text(text)
    return path


def raw_run(commit: str, results: str, env: str = "env-x") -> str:
    head = json.dumps({"commit_hash": commit, "env_name": env, "date": 1_800_000_000_000,
                       "params": {"machine": "h200-test"}, "python": "3.11", "requirements": {}, "env_vars": {},
                       "result_columns": ASV_COLUMNS, "durations": {}, "version": 2})
    return head[:-1] + f', "results": {{{results}}}}}'


def test_duplicate_keys_in_a_result_json_are_named_and_the_last_is_kept(tree: Path) -> None:
    seconds = '"launches.Roundtrip.track_seconds"'
    path = write_raw(tree, "77777777-env-x.json", raw_run("7" * 40, f'{seconds}: [[1e-5], [["0"]], "v1"], '
                                                                    f'{seconds}: [[3e-5], [["0"]], "v1"]'))
    results = load_results(tree, SUITE)
    why = reasons(results, path.relative_to(tree).as_posix())
    assert why == ["duplicate JSON key 'launches.Roundtrip.track_seconds': the last of each is read, as asv reads it"]
    rows = results.frame[results.frame.commit == "7" * 40]
    assert rows.value.tolist() == [3e-5]  # the data asv reads


def test_repeated_parameter_values_are_named(tree: Path) -> None:
    path = write_raw(tree, "66666666-env-x.json", raw_run(
        "6" * 40, '"launches.Roundtrip.track_seconds": [[1e-5, 2e-5], [["1", "1"]], "v1"]'))
    results = load_results(tree, SUITE)
    why = reasons(results, path.relative_to(tree).as_posix())
    assert len(why) == 1 and "parameter values repeated (nargs=1)" in why[0]
    assert len(results.frame[results.frame.commit == "6" * 40]) == 1


def test_a_result_list_shorter_than_its_params_is_no_result_stored_not_failed(tree: Path) -> None:
    path = write_raw(tree, "55555555-env-x.json", raw_run(
        "5" * 40, '"launches.Roundtrip.track_seconds": [[1e-5], [["0", "1", "3"]], "v1"]'))
    results = load_results(tree, SUITE)
    why = reasons(results, path.relative_to(tree).as_posix())
    assert len(why) == 1 and "no result stored for 2 of 3 parameter set(s)" in why[0] and "not counted as failed" \
        in why[0]
    rows = results.frame[results.frame.commit == "5" * 40]
    assert rows.status.tolist() == ["ok"] and rows.value.tolist() == [1e-5]  # measurements kept


def test_two_environments_for_one_commit_are_noted_and_the_report_says_which(tree: Path, tmp_path: Path,
                                                                           capsys, no_png_encoding) -> None:
    source = result_file_of(tree)
    data = json.loads(source.read_text())
    data["env_name"] = "zz-other-env"
    other = source.with_name(f"{source.name[:8]}-zz-other-env.json")
    other.write_text(json.dumps(data))
    os.mkfifo(tree / "h100-test" / "99999999-fifo.json")
    results = load_within(tree)
    note = next(n for where, n in results.notes if other.name in where)
    assert note.startswith(f"2 environments for commit {COMMITS['mid'][:8]} on h100-test (")
    assert "the report shows" in note
    code, _, err = call(capsys, report_cli.main, "--results", str(tree), "--out", str(tmp_path / "rep"),
                        "--machine", "h100-test")
    assert code == 0, err
    tail = (tmp_path / "rep" / "report.md").read_text().split("## Files not read")[1]
    assert "99999999-fifo.json" in tail and "FIFO" in tail and "2 environments for commit" in tail
    assert "Every file under the results directory was read." not in tail


def test_every_file_read_is_said_only_when_nothing_was_left_unread(tmp_path: Path, capsys) -> None:
    clean = Path(shutil.copytree(REAL, tmp_path / "results"))
    assert load_results(clean, SUITE).unread == []
    code, _, err = call(capsys, report_cli.main, "--results", str(clean), "--out", str(tmp_path / "rep"))
    assert code == 0, err
    assert "Every file under the results directory was read." in (tmp_path / "rep" / "report.md").read_text()


# --- 3. outputs never land on anything we own ---------------------------------------------------

def places(tmp: Path) -> dict[str, str]:
    """Output paths that must be refused (label -> path; {tree} is the results directory)."""
    (tmp / "notes.txt").write_text("keep me")
    return {
        "inside results": "{tree}/h100-test/out.md",
        "inside probes beside results": "{beside}/out.md",
        "tracked by git": str(REPO / "README.md"),
        "an existing file not ours": str(tmp / "notes.txt"),
        "a missing parent": str(tmp / "missing" / "out.md"),
        "empty": "",
    }


@pytest.mark.parametrize("label", ["inside results", "inside probes beside results", "tracked by git",
                                   "an existing file not ours", "a missing parent", "empty"])
@pytest.mark.parametrize("cli", ["compare --markdown", "probe --out", "continuous --markdown"])
def test_output_files_never_land_on_anything_we_own(cli: str, label: str, tmp_path: Path, capsys,
                                                    monkeypatch) -> None:
    tree = Path(shutil.copytree(REAL, tmp_path / "work" / "results"))
    beside = tmp_path / "work" / "probes"
    beside.mkdir()
    monkeypatch.chdir(tmp_path / "work")  # probe and continuous guard ./results and ./probes
    path = places(tmp_path)[label].format(tree=tree, beside=beside)
    if cli.startswith("probe"):
        path = str(REPO / "asv.conf.json") if label == "tracked by git" else path.replace(".md", ".json")
    monkeypatch.setattr(probes, "run_all", lambda *a, **k: pytest.fail("probed before refusing the output"))
    monkeypatch.setattr(continuous, "run", lambda *a, **k: pytest.fail("measured before refusing the output"))
    monkeypatch.setattr(continuous, "temporary_results", lambda: pytest.fail("made a results folder first"))
    before = {p: p.read_bytes() for p in (REPO / "README.md", REPO / "asv.conf.json", tmp_path / "notes.txt")}
    argv = {"compare --markdown": (compare_cli.main, [BASE, HEAD, "--results", str(tree), "--markdown", path]),
            "probe --out": (probe_cli.main, ["--out", path]),
            "continuous --markdown": (continuous_cli.main, ["HEAD~1", "HEAD", "--repo", str(REPO),
                                                            "--markdown", path])}[cli]
    code, out, err = call(capsys, argv[0], *argv[1])
    assert (code, out) == (2, "") and one_line(err), err
    assert not (tmp_path / "missing").exists()
    assert {p: p.read_bytes() for p in before} == before
    assert not list(beside.iterdir()) and not (tree / "h100-test" / "out.md").exists()


@pytest.mark.parametrize("label, path, why", [
    ("inside results", "{tree}/reports", "into the results directory"),
    ("inside probes beside results", "{beside}/reports", "into the probes directory"),
    ("a folder holding tracked files", str(REPO / "gpukernels"), "holds files tracked by git"),
    ("two missing levels", "{tmp}/a/b", "one missing level is created, not more"),
    ("a file", "{tmp}/notes.txt", "exists and is not a directory"),
    ("empty", "", "empty path"),
])
@pytest.mark.parametrize("cli", ["report --out", "continuous --results"])
def test_output_folders_never_land_on_anything_we_own(cli: str, label: str, path: str, why: str, tmp_path: Path,
                                                      capsys, monkeypatch) -> None:
    tree = Path(shutil.copytree(REAL, tmp_path / "work" / "results"))
    beside = tmp_path / "work" / "probes"
    beside.mkdir()
    (tmp_path / "notes.txt").write_text("keep me")
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setattr(continuous, "run", lambda *a, **k: pytest.fail("measured before refusing the output"))
    path = path.format(tree=tree, beside=beside, tmp=tmp_path)
    argv = {"report --out": (report_cli.main, ["--results", str(tree), "--out", path]),
            "continuous --results": (continuous_cli.main, ["HEAD~1", "HEAD", "--repo", str(REPO), "--results",
                                                           path])}[cli]
    code, out, err = call(capsys, argv[0], *argv[1])
    assert (code, out) == (2, "") and one_line(err) and why in err, err
    assert not (tmp_path / "a").exists() and not (tree / "reports").exists() and not list(beside.iterdir())


def test_one_missing_output_folder_level_is_created_and_earlier_outputs_overwritten(tmp_path: Path, capsys,
                                                                                   monkeypatch) -> None:
    monkeypatch.setattr(probes, "run_all", fake_probes())
    out = tmp_path / "p.json"
    assert call(capsys, probe_cli.main, "--out", str(out))[0] == 0
    assert call(capsys, probe_cli.main, "--out", str(out))[0] == 0  # an earlier output of ours: rewritten
    code, _, err = call(capsys, report_cli.main, "--results", str(REAL), "--out", str(tmp_path / "new"))
    assert code == 0 and (tmp_path / "new" / "report.md").is_file(), err


# --- 4. continuous checks every option before measuring ----------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--rounds", "0"], "--rounds must be an integer from 1 to 20, got 0"),
    (["--rounds", "21"], "--rounds must be an integer from 1 to 20, got 21"),
    (["--rounds", "two"], "--rounds must be an integer from 1 to 20, got 'two'"),
    (["--factor", "nan"], "--factor must be >= 1, got nan"),
    (["--factor", "inf"], "--factor must be >= 1, got inf"),
    (["--factor", "0.9"], "--factor must be >= 1, got 0.9"),
    (["--host-factor", "inf"], "--host-factor must be >= 1, got inf"),
    (["--alpha", "0"], "--alpha must be between 0 and 1, got 0.0"),
    (["--alpha", "1"], "--alpha must be between 0 and 1, got 1.0"),
    (["--alpha", "nan"], "--alpha must be between 0 and 1, got nan"),
    (["--bench", "("], "--bench '(' is not a regular expression: missing ), unterminated subpattern at position 0"),
    (["--bench", "no_such_bench"], "--bench 'no_such_bench' selects no benchmark of suite 'gpukernels'"),
    (["--bench", "kernels", "--bench", "^vector_add\\."],
     "--bench '^vector_add\\\\.' selects no benchmark of suite 'gpukernels'"),
])
def test_continuous_measures_before_checking_its_options(args: list[str], message: str, tmp_path: Path, capsys,
                                                         monkeypatch) -> None:
    monkeypatch.setattr(continuous, "run", lambda *a, **k: pytest.fail("measured before checking the options"))
    monkeypatch.setattr(continuous, "temporary_results", lambda: pytest.fail("made a results folder first"))
    code, out, err = call(capsys, continuous_cli.main, "HEAD~1", "HEAD", "--repo", str(REPO), *args)
    assert (code, out, err) == (2, "", f"continuous: {message}\n")


def test_bench_selects_as_asv_does_every_id_and_parameter_set() -> None:
    """Property: each id of the suite, and each of its parameter sets written as asv writes it, is
    selected by its own escaped name; asv matches a parameterised benchmark only as ``id(p1, p2)``."""
    import itertools
    import re

    for family in SUITE.families:
        for bench_id in family.ids:
            continuous_cli.check_bench([re.escape(bench_id)], SUITE)
            if not family.params:
                continue
            for combo in itertools.islice(itertools.product(*family.param_values), 3):
                continuous_cli.check_bench([re.escape(f"{bench_id}({', '.join(map(repr, combo))})")], SUITE)
    parameterised = next(f for f in SUITE.families if f.params)
    with pytest.raises(continuous_cli.UsageError):
        continuous_cli.check_bench([re.escape(parameterised.ids[0]) + "$"], SUITE)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo,
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet")
    for i in (1, 2):
        (repo / "f.txt").write_text(str(i))
        git(repo, "add", "f.txt")
        git(repo, "commit", "--quiet", "-m", str(i))
    return repo


@pytest.fixture
def no_asv(monkeypatch):
    monkeypatch.setattr(continuous, "ensure_machine", lambda name: "sim-box")
    monkeypatch.setattr(continuous, "write_config", lambda tree, repo, results, scratch: scratch / "asv.conf.json")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_worktrees_left_behind_on_sigint_and_sigterm(signum: int, small_repo: Path, tmp_path: Path, no_asv,
                                                     monkeypatch) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    seen = []

    def asv_run(conf, tree, sha, machine, bench, append, log):
        seen.append(tree)
        assert tree.is_dir() and git(small_repo, "worktree", "list").count("\n") == 2
        os.kill(os.getpid(), signum)  # the handler raises here, in the main thread
        pytest.fail("the signal did not stop the run")

    monkeypatch.setattr(continuous, "asv_run", asv_run)
    plan = continuous.Plan(repo=small_repo, base="HEAD~1", head="HEAD", results=tmp_path / "r", rounds=1)
    with pytest.raises(continuous.Interrupted, match=signal.Signals(signum).name):
        continuous.run(plan, say=lambda line: None)
    assert seen and not seen[0].exists()
    assert git(small_repo, "worktree", "list").count("\n") == 0  # the worktrees are gone
    assert {s: signal.getsignal(s) for s in before} == before  # the handlers are back


def test_continuous_cli_says_stopped_and_removes_an_empty_temporary_folder(small_repo: Path, tmp_path: Path, no_asv,
                                                                          capsys, monkeypatch) -> None:
    made = tmp_path / "tmp-results"
    monkeypatch.setattr(continuous, "temporary_results", lambda: made.mkdir(exist_ok=True) or made)
    monkeypatch.setattr(continuous, "asv_run", lambda *a, **k: os.kill(os.getpid(), signal.SIGTERM))
    code, out, err = call(capsys, continuous_cli.main, "HEAD~1", "HEAD", "--repo", str(small_repo))
    assert (code, out, err) == (2, "", "continuous: stopped by SIGTERM; git worktrees removed\n")
    assert not made.exists()  # only an empty log was in it


@pytest.mark.parametrize("holds", [False, True], ids=["empty", "holds_a_log"])
def test_results_kept_message_only_when_the_temporary_folder_holds_something(holds: bool, small_repo: Path,
                                                                             tmp_path: Path, no_asv, capsys,
                                                                             monkeypatch) -> None:
    made = tmp_path / "tmp-results"
    monkeypatch.setattr(continuous, "temporary_results", lambda: made.mkdir(exist_ok=True) or made)

    def asv_run(conf, tree, sha, machine, bench, append, log):
        if holds:
            log.write("asv said something\n")
        raise continuous.ContinuousError("asv run failed")

    monkeypatch.setattr(continuous, "asv_run", asv_run)
    code, _, err = call(capsys, continuous_cli.main, "HEAD~1", "HEAD", "--repo", str(small_repo))
    kept = f" (results and log kept in {made})" if holds else ""
    assert (code, err) == (2, f"continuous: asv run failed{kept}\n")
    assert made.exists() == holds
    made = tmp_path / "another"
    code, _, err = call(capsys, continuous_cli.main, "HEAD", "HEAD", "--repo", str(small_repo))
    assert code == 2 and "are the same commit" in err and "kept in" not in err  # refused before measuring


def test_sigterm_to_a_real_process_removes_the_worktrees(small_repo: Path, tmp_path: Path) -> None:
    script = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from gpukernels import continuous
continuous.ensure_machine = lambda name: "sim-box"
continuous.write_config = lambda tree, repo, results, scratch: scratch / "asv.conf.json"
def asv_run(*args, **kwargs):
    print("measuring", flush=True)
    time.sleep(60)
continuous.asv_run = asv_run
try:
    continuous.run(continuous.Plan(repo=Path({str(small_repo)!r}), base="HEAD~1", head="HEAD",
                                   results=Path({str(tmp_path / 'r')!r}), rounds=1), say=lambda s: None)
except continuous.Interrupted as stop:
    print("stopped by", stop, flush=True)
    raise SystemExit(2)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "NUMBA_ENABLE_CUDASIM": "1"})
    try:
        assert proc.stdout.readline() == "measuring\n"
        assert git(small_repo, "worktree", "list").count("\n") == 2
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2 and out == "stopped by SIGTERM\n" and "Traceback" not in err, err
    assert git(small_repo, "worktree", "list").count("\n") == 0
