"""Shared test set-up: the CUDA simulator by default, and the repository root importable.

CI runs ``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests``; the default below makes a bare
``pytest`` do the same (numba reads the variable when it is first imported, which is after
this file). The repository root goes on sys.path so ``benchmarks`` (the asv suite) imports.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# The simulator runs each thread of a block as a Python thread, and they meet at every
# syncthreads(): at the default 5 ms GIL switch interval a block of 256 threads spends most of its
# time waiting for its turn. 1 ms made the kernel tests about 1.5x (the sum's 2.5x) faster here;
# scheduling only, the kernels compute the same.
sys.setswitchinterval(0.001)

# Under pytest-xdist (-n 2): each worker on a core of its own. The simulator's threads hand the GIL
# to each other at every syncthreads(); with both workers' threads free to run on both cores, every
# hand-off also waits for the other worker, and the kernel tests ran 2-5x slower than alone.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw") and hasattr(os, "sched_setaffinity"):
    _CPUS = sorted(os.sched_getaffinity(0))
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0")) <= len(_CPUS):
        os.sched_setaffinity(0, {_CPUS[int(_WORKER[2:]) % len(_CPUS)]})


@pytest.fixture
def no_png_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report draws its figures but does not rasterise them (matplotlib's PNG encoder is most of a
    report's time): for tests that read the report's text only. The PNGs themselves are checked by
    tests/test_report.py's module report and the whole-CLI runs."""
    from gpukernels.report import render

    monkeypatch.setattr(render, "_png", lambda figure: render.plt.close(figure) or b"")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``longest`` first (a stable sort: the rest keep their order). Under xdist the
    worker that gets it runs it while the others share everything else; last, it would run alone."""
    items.sort(key=lambda item: item.get_closest_marker("longest") is None)
