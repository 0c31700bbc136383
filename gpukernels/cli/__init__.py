"""The command-line tools (console entry points in pyproject.toml; scripts/ wraps them).

Each module has ``main(argv) -> int``: 0 done, 1 a finding (compare: slower), 2 could not do it,
with one line on stderr saying why. Output paths are checked before any work (``writable_dir``,
``writable_file``) so a bad path never costs a measurement.
"""
from __future__ import annotations

import os
from pathlib import Path


class UsageError(Exception):
    """Bad input from the command line: the message is the one line the user sees (exit 2)."""


def writable_dir(path: str | os.PathLike) -> Path:
    """A directory we may write into (created if missing); UsageError if it is a file or read-only."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{p} exists and is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create directory {p}: {exc.strerror or exc}") from None
    if not os.access(p, os.W_OK):
        raise UsageError(f"directory {p} is not writable")
    return p


def writable_file(path: str | os.PathLike) -> Path:
    """A file path we may write (its directory is created); UsageError for a directory or read-only place."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{p} is a directory; give a file path")
    writable_dir(p.parent if str(p.parent) else ".")
    if p.exists() and not os.access(p, os.W_OK):
        raise UsageError(f"{p} is not writable")
    return p
