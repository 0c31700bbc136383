"""CI smoke of the whole asv suite on the CUDA simulator: every benchmark runs, nothing is saved.

`asv run --quick --dry-run --python=same` with a config whose outputs (and HOME, where asv keeps
its machine file) lie in a temporary directory, so the repository's results/ stay untouched.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from asv_offline import REPO, write_conf


def test_every_benchmark_runs_on_the_simulator_and_nothing_is_saved(tmp_path: Path) -> None:
    conf_path = write_conf(tmp_path)
    conf = json.loads(conf_path.read_text())
    conf["results_dir"] = str(tmp_path / "results")
    conf_path.write_text(json.dumps(conf))
    env = {**os.environ, "HOME": str(tmp_path), "NUMBA_ENABLE_CUDASIM": "1", "ASV_PYTHONPATH": str(REPO)}
    before = sorted(p.relative_to(REPO) for p in (REPO / "results").rglob("*"))

    machine = subprocess.run([sys.executable, str(REPO / "scripts" / "machine.py")], env=env,
                             capture_output=True, text=True, timeout=120)
    assert machine.returncode == 0, machine.stderr
    assert re.search(r"machine\s+cuda-simulator", machine.stdout)

    run = subprocess.run([sys.executable, "-m", "asv", "run", "--config", str(conf_path), "--quick", "--dry-run",
                          "--python=same", "--machine", "cuda-simulator", "--show-stderr"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    benchmarks = json.loads((REPO / "results" / "benchmarks.json").read_text())
    ran = set(re.findall(r"··· ([\w.]+)\s+(?:ok|[\d.]+±)", run.stdout))
    expected = {name for name in benchmarks if name != "version"}
    assert ran == expected, f"did not run: {sorted(expected - ran)}"
    assert "failed" not in run.stdout
    assert not list((tmp_path / "results").glob("cuda-simulator/*-*.json"))  # --dry-run saved nothing
    assert sorted(p.relative_to(REPO) for p in (REPO / "results").rglob("*")) == before
