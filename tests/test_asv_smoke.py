"""The whole asv suite on the CUDA simulator, two ways; both slow (asv in subprocesses).

1. ``asv run --quick --dry-run --python=same`` in this environment, with a config whose outputs
   (and HOME, where asv keeps its machine file) lie in a temporary directory: every benchmark
   runs, nothing is saved, the repository's results/ stay untouched.
2. ``asv run --quick --dry-run HEAD^!`` exactly as a user types it in a fresh clone with a
   package registry: asv builds a virtualenv, builds the project's wheel at the last commit
   (asv.conf.json's ``build_command``) and installs it with the pinned dependencies. This tests
   the repository as committed (HEAD^! is the last commit), not the working tree.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asv_offline import REPO, write_conf

pytestmark = pytest.mark.slow
# a benchmark's status line: "··· name   ok" (parameterised), a value, "n/a" (all skipped) or "failed"
STATUS = re.compile(r"^\[[\d. ]+%\] ··· ([\w.]+)\s+(ok|failed|n/a|[\d.]+(?:±[\d.]+)?\S*)\s*$", re.M)
SKIP_REASON = re.compile(r"asv: skipped: \w+\((['\"]).+\1\)")


def register_simulator_machine(env: dict, cwd: Path) -> str:
    """The simulator's asv machine entry, with GPU fields (scripts/machine.py); its name."""
    machine = subprocess.run([sys.executable, "scripts/machine.py"], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=120)
    assert machine.returncode == 0, machine.stdout + machine.stderr
    found = re.search(r"machine\s+(\S+)", machine.stdout)
    assert found, machine.stdout
    return found.group(1)


def check_every_benchmark_ok_or_skipped(stdout: str, benchmarks_json: Path) -> None:
    discovered = {name for name in json.loads(benchmarks_json.read_text()) if name != "version"}
    status = dict(STATUS.findall(stdout))
    assert set(status) == discovered, f"no status line for: {sorted(discovered - set(status))}"
    assert "failed" not in status.values(), sorted(n for n, s in status.items() if s == "failed")
    assert "Traceback" not in stdout and "failed" not in stdout  # a failed cell of a table too
    # a benchmark skipped as a whole says why (asv's skip: NotImplementedError('reason') in setup);
    # n/a cells of a table are skipped parameter sets, or NaN where a value is not recorded
    starts = [(m.start(), m.group(1), m.group(2)) for m in STATUS.finditer(stdout)] + [(len(stdout), "", "")]
    for (at, name, state), (end, _, _) in zip(starts, starts[1:]):
        if state == "n/a":
            assert SKIP_REASON.search(stdout[at:end]), f"{name} skipped without a reason"


def test_every_benchmark_runs_on_the_simulator_and_nothing_is_saved(tmp_path: Path) -> None:
    conf_path = write_conf(tmp_path)
    conf = json.loads(conf_path.read_text())
    conf["results_dir"] = str(tmp_path / "results")
    conf_path.write_text(json.dumps(conf))
    env = {**os.environ, "HOME": str(tmp_path), "NUMBA_ENABLE_CUDASIM": "1", "ASV_PYTHONPATH": str(REPO)}
    before = sorted(p.relative_to(REPO) for p in (REPO / "results").rglob("*"))
    machine = register_simulator_machine(env, REPO)

    run = subprocess.run([sys.executable, "-m", "asv", "run", "--config", str(conf_path), "--quick", "--dry-run",
                          "--python=same", "--machine", machine, "--show-stderr"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    check_every_benchmark_ok_or_skipped(run.stdout, tmp_path / "results" / "benchmarks.json")
    assert not list((tmp_path / "results").glob(f"{machine}/*-*.json"))  # --dry-run saved nothing
    assert sorted(p.relative_to(REPO) for p in (REPO / "results").rglob("*")) == before


def test_asv_run_as_typed_in_a_fresh_clone_builds_a_virtualenv(tmp_path: Path) -> None:
    """Needs PyPI (asv installs pyproject's pins into a new virtualenv): ~1 min of it here."""
    clone, home = tmp_path / "clone", tmp_path / "home"
    home.mkdir()
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=120)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "ASV_PYTHONPATH")}
    env.update(HOME=str(home), NUMBA_ENABLE_CUDASIM="1")
    # the clone's own gpukernels registers the machine (the committed guard accepts its entry)
    machine = register_simulator_machine({**env, "PYTHONPATH": str(clone)}, clone)

    started = time.monotonic()
    discover = subprocess.run([sys.executable, "-m", "asv", "run", "--quick", "--dry-run", "--machine", machine,
                               "--bench", "just-discover", "HEAD^!"],
                              cwd=clone, env=env, capture_output=True, text=True, timeout=1200)
    built_s = time.monotonic() - started
    assert discover.returncode == 0, discover.stdout[-3000:] + discover.stderr[-3000:]
    assert "Cannot decide correct one" not in discover.stdout + discover.stderr
    run = subprocess.run([sys.executable, "-m", "asv", "run", "--quick", "--dry-run", "--machine", machine,
                          "--show-stderr", "HEAD^!"],
                         cwd=clone, env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert re.search(r"Benchmarking virtualenv-py", run.stdout)
    check_every_benchmark_ok_or_skipped(run.stdout, clone / "results" / "benchmarks.json")
    print(f"virtualenv: environment + wheel build + install + discovery took {built_s:.0f} s; "
          f"the quick suite {time.monotonic() - started - built_s:.0f} s")
