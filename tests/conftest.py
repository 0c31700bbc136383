"""Shared test set-up: the CUDA simulator by default, and the repository root importable.

CI runs ``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests``; the default below makes a bare
``pytest`` do the same (numba reads the variable when it is first imported, which is after
this file). The repository root goes on sys.path so ``benchmarks`` (the asv suite) imports.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
