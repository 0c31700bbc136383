"""Regression tests, one per defect: the report on a damaged benchmarks.json, output paths checked
before any work, the probe's --out checked before probing, the asv stray-results guard, and
values that cannot be measurements never printed as numbers."""
from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpukernels.cli import probe as probe_cli
from gpukernels.cli import report as report_cli
from gpukernels.ours import probes

REPO = Path(__file__).resolve().parent.parent
ASV_COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
               "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples", "profile"]
NEGATIVE_SENTINEL = -0.0031415926  # a negative time; printed in any unit it would show -...3.14...
NEGATIVE_PRINTED = re.compile(r"(?<![\w.])-\s?(?:0[.,]0*)?3[.,]?14")  # -0.00314, -3.14 (ms), -3,142 (us)
INF_PRINTED = re.compile(r"\binf(inity)?\b|∞", re.IGNORECASE)


@pytest.fixture
def real(tmp_path: Path) -> Path:
    """A copy of the committed results (never the originals), without the same-session A/A and
    A/B machines: two machines' full runs and the older runs are what these checks need."""
    return Path(shutil.copytree(REPO / "results", tmp_path / "results", ignore=shutil.ignore_patterns("*-aa", "*-ab")))


def run_report(capsys, *argv: str) -> tuple[int, str, str]:
    code = report_cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# --- report: benchmarks.json damaged ---------------------------------------------------------

@pytest.mark.slow  # seconds on the simulator: .ci/run runs it
@pytest.mark.parametrize("damage", ["missing", "empty_object", "truncated"])
def test_report_on_damaged_benchmarks_json(real: Path, tmp_path: Path, capsys, damage: str, no_png_encoding) -> None:
    bench = real / "benchmarks.json"
    if damage == "missing":
        bench.unlink()
    elif damage == "empty_object":
        bench.write_text("{}")
    else:
        bench.write_text(bench.read_text()[:500])
    code, out, err = run_report(capsys, "--results", str(real), "--out", str(tmp_path / "rep"))
    assert "Traceback" not in err
    if code == 0:
        assert "benchmarks.json" in err  # named as not read
        assert (tmp_path / "rep" / "report.md").is_file()
    else:
        assert code == 2 and len(err.strip().splitlines()) == 1


# --- report: output paths --------------------------------------------------------------------

def test_report_out_is_an_existing_file(real: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "report.md"
    target.write_text("keep me")
    code, out, err = run_report(capsys, "--results", str(real), "--out", str(target))
    assert code == 2 and err.count("\n") == 1 and "not a directory" in err
    assert target.read_text() == "keep me"


def test_report_out_cannot_be_created(real: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("")
    code, _, err = run_report(capsys, "--results", str(real), "--out", str(tmp_path / "file" / "reports"))
    assert code == 2 and err.count("\n") == 1 and "cannot create directory" in err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only directories")
def test_report_out_is_read_only(real: Path, tmp_path: Path, capsys) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, err = run_report(capsys, "--results", str(real), "--out", str(locked))
    assert code == 2 and "not writable" in err


def test_report_out_inside_results_writes_nothing(real: Path, capsys) -> None:
    before = sorted(real.rglob("*"))
    code, _, err = run_report(capsys, "--results", str(real), "--out", str(real / "reports"))
    assert code == 2 and "results directory" in err
    assert sorted(real.rglob("*")) == before


def test_report_without_results(tmp_path: Path, capsys) -> None:
    code, _, err = run_report(capsys, "--results", str(tmp_path / "none"), "--out", str(tmp_path / "rep"))
    assert code == 2 and err.count("\n") == 1


@pytest.mark.parametrize("spec, why", [
    ("gpukernels.ours.suite", "give MODULE:NAME"),
    (":SUITE", "give MODULE:NAME"),
    ("no_such_module:SUITE", "cannot import no_such_module"),
    ("gpukernels.ours.suite:NOPE", "gpukernels.ours.suite has no NOPE"),
    ("gpukernels.ours.suite:SUITE_MARKDOWN", "gpukernels.ours.suite has no SUITE_MARKDOWN"),
    ("gpukernels.ours.vector_add:VECTOR_ADD", "not a gpukernels Suite"),
])
def test_report_bad_suite_exit_2_before_reading(real: Path, tmp_path: Path, capsys, monkeypatch, spec: str,
                                                why: str) -> None:
    import gpukernels.results

    def must_not_run(*args, **kwargs):
        raise AssertionError("read the results before checking --suite")

    monkeypatch.setattr(gpukernels.results, "load_results", must_not_run)
    code, out, err = run_report(capsys, "--results", str(real), "--out", str(tmp_path / "rep"), "--suite", spec)
    assert (code, out) == (2, "")
    assert err.startswith(f"report: --suite {spec!r}") and why in err and err.count("\n") == 1
    assert not list((tmp_path / "rep").glob("*"))


def test_report_with_the_suite_named_explicitly(real: Path, tmp_path: Path, capsys, no_png_encoding) -> None:
    code, out, err = run_report(capsys, "--results", str(real), "--out", str(tmp_path / "rep"),
                                "--machine", "h200", "--suite", "gpukernels.ours.suite:SUITE")
    assert code == 0, err
    assert "## h200 (" in (tmp_path / "rep" / "report.md").read_text()


@pytest.mark.slow  # five interpreter starts; .ci/run runs it
def test_scripts_are_thin_wrappers(real: Path, tmp_path: Path) -> None:
    for name in ("report", "probe", "machine"):
        text = (REPO / "scripts" / f"{name}.py").read_text()
        assert f"from gpukernels.cli.{name} import main" in text and "sys.path" not in text
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "report.py"), "--results", str(real),
                           "--out", str(tmp_path / "rep")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "rep" / "report.html").is_file()


# --- probe: --out checked before probing -----------------------------------------------------

@pytest.mark.parametrize("kind", ["directory", "under_a_file"])
def test_probe_out_checked_before_probing(tmp_path: Path, monkeypatch, capsys, kind: str) -> None:
    def must_not_run(*args, **kwargs):
        raise AssertionError("probed before checking --out")

    monkeypatch.setattr(probes, "run_all", must_not_run)
    if kind == "directory":
        out = tmp_path
    else:
        (tmp_path / "f").write_text("")
        out = tmp_path / "f" / "probe.json"
    assert probe_cli.main(["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("probe: ")


# --- the asv stray-results guard -------------------------------------------------------------

def asv_project(tmp: Path, plugin: bool) -> Path:
    """A one-benchmark asv project whose benchmarks/__init__.py is the suite's own (the guard)."""
    proj = tmp / "proj"
    (proj / "benchmarks").mkdir(parents=True)
    shutil.copy(REPO / "benchmarks" / "__init__.py", proj / "benchmarks" / "__init__.py")
    (proj / "benchmarks" / "bench_trivial.py").write_text("def time_nothing():\n    pass\n")
    conf = {"version": 1, "project": "p", "repo": ".", "branches": ["main"], "environment_type": "virtualenv",
            "benchmark_dir": "benchmarks", "env_dir": ".asv/env", "results_dir": "results", "html_dir": "html"}
    if plugin:
        conf["plugins"] = [".gpukernels.machine"]
    (proj / "asv.conf.json").write_text(json.dumps(conf))
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=proj, check=True)
    subprocess.run([*git, "add", "-A"], cwd=proj, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=proj, check=True)
    return proj


def asv(proj: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "asv", *args], cwd=proj, env=env, capture_output=True,
                          text=True, timeout=300)


def machines(home: Path, **entries: dict) -> None:
    host = platform.uname().node
    data = {"version": 1, host: {"machine": host, "os": "Linux", "arch": "x86_64", "cpu": "c", "num_cpu": "2",
                                 "ram": "1"}}
    data.update({name: {**data[host], "machine": name, **fields} for name, fields in entries.items()})
    home.mkdir(exist_ok=True)
    (home / ".asv-machine.json").write_text(json.dumps(data))


def saved(proj: Path) -> list[str]:
    root = proj / "results"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_asv_guard_refuses_an_unregistered_machine(tmp_path: Path) -> None:
    """The host's asv entry (asv machine --yes) has no GPU fields: no result lands in results/."""
    home = tmp_path / "home"
    machines(home)
    host = platform.uname().node
    # plugin in asv.conf.json: refused in asv's own process, before it writes anything
    proj = asv_project(tmp_path / "a", plugin=True)
    run = asv(proj, home, "run", "--python=same", "--quick", "--set-commit-hash=HEAD")
    lines = [line for line in (run.stdout + run.stderr).splitlines() if "scripts/machine.py" in line]
    assert run.returncode != 0 and len(lines) == 1 and "Traceback" not in run.stdout + run.stderr
    assert saved(proj) == []
    # without the plugin, benchmarks/__init__.py stops discovery: no benchmarks.json, no result.
    # asv 0.6.6 has written results/<host>/machine.json before it imports the suite (Run.run:
    # Machine.load(...).save(results_dir)); only the plugin prevents that file.
    proj = asv_project(tmp_path / "b", plugin=False)
    run = asv(proj, home, "run", "--python=same", "--quick", "--set-commit-hash=HEAD")
    assert "benchmarks: asv machine" in run.stdout + run.stderr and "scripts/machine.py" in run.stdout
    assert saved(proj) == [f"{host}/machine.json"]


def test_asv_guard_lets_check_registered_gpus_and_simulator_dry_runs_through(tmp_path: Path) -> None:
    home = tmp_path / "home"
    machines(home, **{"h100-test": {"gpu": "NVIDIA H100 80GB HBM3"}, "cuda-simulator": {"gpu": "CUDA simulator"}})
    proj = asv_project(tmp_path, plugin=True)
    check = asv(proj, home, "check", "--python=same")
    assert check.returncode == 0, check.stdout + check.stderr
    sim = asv(proj, home, "run", "--python=same", "--quick", "--dry-run", "--machine", "cuda-simulator")
    assert sim.returncode == 0 and "time_nothing" in sim.stdout, sim.stdout + sim.stderr
    assert not [f for f in saved(proj) if f.startswith("cuda-simulator/") and f != "cuda-simulator/machine.json"]
    wet = asv(proj, home, "run", "--python=same", "--quick", "--machine", "cuda-simulator")
    assert wet.returncode != 0 and "never saved" in wet.stdout + wet.stderr
    gpu = asv(proj, home, "run", "--python=same", "--quick", "--set-commit-hash=HEAD", "--machine", "h100-test")
    assert gpu.returncode == 0, gpu.stdout + gpu.stderr
    assert [f for f in saved(proj) if f.startswith("h100-test/")][0].endswith(".json")
    assert len([f for f in saved(proj) if f.startswith("h100-test/")]) == 2  # machine.json + the result


# --- values that cannot be measurements ------------------------------------------------------

def write_run(root: Path, machine: str, commit: str, date: int, results: dict) -> None:
    (root / machine).mkdir(exist_ok=True)
    (root / machine / f"{commit[:8]}-env.json").write_text(json.dumps({
        "commit_hash": commit, "env_name": "env", "date": date, "params": {"machine": machine}, "python": "3.11",
        "requirements": {}, "env_vars": {}, "result_columns": ASV_COLUMNS, "results": results, "durations": {},
        "version": 2}, allow_nan=True))


@pytest.mark.slow  # seconds on the simulator: .ci/run runs it
def test_inf_zero_and_negative_times_are_not_printed(real: Path, tmp_path: Path, capsys, no_png_encoding) -> None:
    """Two runs of the catalogue's vector add: HEAD's times are inf, 0 and negative. Neither the
    report nor the gate prints them, nor a speedup or ratio made from them. (The figures are not
    rasterised: the HTML's base64 PNGs are no printed text, and can spell "/Inf+".)"""
    from gpukernels.cli import compare as compare_cli

    shutil.copy(real / "h100-80gb-hbm3" / "machine.json", tmp_path / "machine.json")
    machine = "h100-80gb-hbm3"
    sizes = ["1024", "4096", "16384", "65536"]
    good = [1e-5, 2e-5, 3e-5, 4e-5]
    bad = [float("inf"), 0.0, NEGATIVE_SENTINEL, -float("inf")]
    base, head = "b" * 40, "c" * 40
    for commit, date, values in ((base, 1_900_000_000_000, good), (head, 1_900_000_100_000, bad)):
        samples = [[v] * 5 for v in values]
        write_run(real, machine, commit, date, {
            "kernels.VectorAdd.track_device_time": [values, [["'pairs'"], sizes], "v1", None, None, None, None,
                                                    None, None, [1] * 4, [5] * 4, samples],
            "kernels.VectorAdd.track_bandwidth": [[12 * int(n) / v / 1e9 if v else float("inf")
                                                   for n, v in zip(sizes, values)], [["'pairs'"], sizes], "v1"],
            "baselines.VectorAdd.track_seconds": [[1e-4] * 4, [["'numpy'"], sizes], "v1"],
        })
    code, out, err = run_report(capsys, "--results", str(real), "--out", str(tmp_path / "rep"))
    assert code == 0, err
    texts = {"stdout": out, "stderr": err, **{p.name: p.read_text() for p in (tmp_path / "rep").glob("*.*")
                                             if p.suffix in (".md", ".html", ".csv")}}
    code = compare_cli.main([base, head, "--results", str(real), "--machine", machine])
    cap = capsys.readouterr()
    assert code in (0, 1, 2) and "Traceback" not in cap.err
    texts.update(compare_out=cap.out, compare_err=cap.err)
    for name, text in texts.items():
        assert not INF_PRINTED.search(text), (name, INF_PRINTED.search(text))
        assert not NEGATIVE_PRINTED.search(text), (name, NEGATIVE_PRINTED.search(text))
    from gpukernels.results import load_results

    frame = load_results(real).frame
    headrows = frame[(frame.commit == head) & (frame.benchmark == "kernels.VectorAdd.track_device_time")]
    assert set(headrows.status) == {"invalid"} and headrows.value.isna().all()
