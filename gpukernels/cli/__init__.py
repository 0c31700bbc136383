"""The command-line tools (console entry points in pyproject.toml; scripts/ wraps them).

Each module has ``main(argv) -> int``: 0 done, 1 a finding (compare: slower), 2 could not do it,
with one line on stderr saying why. Output paths are checked before any work (``writable_dir``,
``writable_file``) so a bad path never costs a measurement.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

OUR_SUITE = "gpukernels.ours.suite:SUITE"


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


def add_suite_option(parser) -> None:
    parser.add_argument("--suite", default=OUR_SUITE, metavar="MODULE:NAME",
                        help="the project's gpukernels Suite, e.g. mykernels.bench:SUITE (default: %(default)s)")


def load_suite(spec: str):
    """The ``gpukernels.suite.Suite`` named ``module:attribute``; UsageError with the reason."""
    from gpukernels.suite import Suite

    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise UsageError(f"--suite {spec!r}: give MODULE:NAME, e.g. mykernels.bench:SUITE")
    try:
        found = getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise UsageError(f"--suite {spec!r}: cannot import {module}: {exc}") from None
    except Exception as exc:  # the user's module failed while importing: say so in one line
        raise UsageError(f"--suite {spec!r}: importing {module} raised {type(exc).__name__}: {exc}") from None
    except AttributeError:
        raise UsageError(f"--suite {spec!r}: {module} has no {attr}") from None
    if not isinstance(found, Suite):
        raise UsageError(f"--suite {spec!r} is a {type(found).__name__}, not a gpukernels Suite")
    return found
