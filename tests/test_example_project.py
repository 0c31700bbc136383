"""examples/userproj, a user's project that benchmarks its own kernels with gpukernels.

Fast (simulator): its suite imports, its kernels match NumPy, asv classes come out for both
areas. Slow: the project as a user runs it, against gpukernels installed from this checkout
into a temporary site directory (not the checkout): asv run for two commits on the simulator,
then the report and the gate with ``--suite userkernels.bench:SUITE``.
"""
from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.grid import representatives

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "examples" / "userproj"
SUITE_SPEC = "userkernels.bench:SUITE"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(PROJECT))
    try:
        from userkernels import bench
        yield bench
    finally:
        sys.path.remove(str(PROJECT))


def test_suite_declares_relu_and_matmul(bench) -> None:
    suite = bench.SUITE
    assert suite.name == "userkernels" and list(suite.ops) == ["relu", "matmul"]
    assert [f.cls_id for f in suite.families] == ["kernels.Relu", "baselines.Relu", "kernels.Matmul"]
    assert suite.ops["matmul"].compute_bound and not suite.ops["relu"].compute_bound
    assert set(suite.ops["matmul"].gpu_impls) == {"numba", "cupy", "torch"}


@pytest.mark.parametrize("n", [1, 1000, 1025])
def test_relu_matches_numpy(bench, n) -> None:
    work = bench.ReluNumba(n=n)
    work.check()  # bit-exact against np.maximum
    assert n == 1 or (work.x_host < 0).any()  # so some elements were clamped
    bench.ReluNumpy(n=n).check()


# -m "not slow": whole tiles, and partial tiles in every dimension; .ci/run also 33 x 17 x 9
@pytest.mark.parametrize("m, n, k", representatives([(16, 16, 16), (33, 17, 9), (5, 40, 3)],
                                                    fast=[(16, 16, 16), (5, 40, 3)]))
def test_matmul_matches_numpy(bench, m, n, k) -> None:
    bench.MatmulNumba(m=m, n=n, k=k).check()


def test_only_the_smallest_sizes_run_on_the_simulator(bench) -> None:
    """The simulator policy skips problems above 2^10 elements: relu 2^10 and matmul 16^3 run."""
    relu, matmul = bench.SUITE.ops["relu"], bench.SUITE.ops["matmul"]
    assert [n for n in (2**10, 2**20, 2**24) if relu.elements(n=n) <= 2**10] == [2**10]
    runs = [s for s in itertools.product(bench.SIZES, repeat=3)
            if matmul.elements(**dict(zip("mnk", s))) <= 2**10]
    assert runs == [(16, 16, 16)]


def test_asv_classes_for_both_areas(bench) -> None:
    from gpukernels.asv_classes import classes

    kernels, baselines = classes(bench.SUITE, "kernels"), classes(bench.SUITE, "baselines")
    assert set(kernels) == {"Relu", "Matmul"} and set(baselines) == {"Relu"}
    assert kernels["Matmul"].param_names == ["impl", "m", "n", "k"]
    assert hasattr(kernels["Matmul"], "track_compute") and hasattr(baselines["Relu"], "track_seconds")


# --- end to end ---------------------------------------------------------------------------

def run(args: list[str], cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def install_gpukernels(tmp: Path) -> Path:
    """gpukernels built from this checkout's working tree and installed into ``tmp/site`` (no
    dependencies: they are this environment's; the build backend comes from the package index,
    as pyproject's build-system asks). Built from a copy: an in-tree build would write build/
    and egg-info into the checkout."""
    src, site = tmp / "gpukernels-src", tmp / "site"
    shutil.copytree(REPO / "gpukernels", src / "gpukernels", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    done = run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(src)], tmp, dict(os.environ))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return site


def git_commit(proj: Path, message: str) -> str:
    git = ["git", "-c", "user.email=user@example.com", "-c", "user.name=user"]
    subprocess.run([*git, "add", "-A"], cwd=proj, check=True)
    subprocess.run([*git, "commit", "-qm", message], cwd=proj, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=proj, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.mark.slow
def test_user_project_runs_asv_report_and_gate_on_an_installed_gpukernels(tmp_path: Path) -> None:
    proj, home = tmp_path / "proj", tmp_path / "home"
    shutil.copytree(PROJECT, proj, ignore=shutil.ignore_patterns("__pycache__", "results", "html", ".asv"))
    home.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=proj, check=True)
    first = git_commit(proj, "kernels")
    (proj / "README.md").write_text((proj / "README.md").read_text() + "\nA second commit.\n")
    second = git_commit(proj, "readme")

    site = install_gpukernels(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ASV_PYTHONPATH")}
    # PYTHONPATH: asv's process (its plugin) and the CLIs; ASV_PYTHONPATH: asv's benchmark
    # processes. The project itself stands in for `pip install -e .`. The simulator's timings
    # are saved only where the results dir is scratch (gpukernels.machine, the guard).
    env.update(HOME=str(home), NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=f"{site}{os.pathsep}{proj}",
               ASV_PYTHONPATH=f"{site}{os.pathsep}{proj}", GPUKERNELS_SCRATCH_RESULTS="1")
    where = run([sys.executable, "-c", "import gpukernels; print(gpukernels.__file__)"], proj, env)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr

    machine = run([str(site / "bin" / "gpukernels-machine"), "--name", "cuda-simulator"], proj, env)
    assert machine.returncode == 0, machine.stdout + machine.stderr
    for commit in (first, second):
        asv = run([sys.executable, "-m", "asv", "run", "--python=same", "--record-samples",
                   "--machine", "cuda-simulator", f"--set-commit-hash={commit}", "--show-stderr"], proj, env)
        assert asv.returncode == 0 and "failed" not in asv.stdout, asv.stdout[-4000:] + asv.stderr[-2000:]
    saved = sorted(p.name for p in (proj / "results" / "cuda-simulator").glob("*.json"))
    assert len(saved) == 3 and "machine.json" in saved  # one result file per commit

    report = run([str(site / "bin" / "gpukernels-report"), "--suite", SUITE_SPEC, "--results", "results",
                  "--out", str(tmp_path / "report")], proj, env)
    assert report.returncode == 0, report.stdout + report.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    for op in ("relu", "matmul"):  # a section per op, with our kernel's measured row
        section = re.search(rf"^### {op}: .*?(?=^#)", text, re.M | re.S)
        assert section, f"no {op} section in the report:\n{text[:3000]}"
        assert re.search(r"^\|[^\n]*\| numba \(ours\) +\| +[\d,.]+ \|", section.group(0), re.M), section.group(0)

    gate = run([str(site / "bin" / "gpukernels-compare"), first, second, "--suite", SUITE_SPEC,
                "--results", "results", "--machine", "cuda-simulator"], proj, env)
    # a verdict either way (0 same, 1 slower): the simulator's timings are noise; 2 would mean
    # it could not compare at all
    assert gate.returncode in (0, 1), gate.stdout + gate.stderr
    assert "kernels.Relu" in gate.stdout and "kernels.Matmul" in gate.stdout, gate.stdout + gate.stderr
