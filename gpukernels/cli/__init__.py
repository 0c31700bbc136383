"""The command-line tools (console entry points in pyproject.toml; scripts/ wraps them).

Each module has ``main(argv) -> int``: 0 done, 1 a finding (compare: slower), 2 could not do it,
with one line on stderr saying why, never a traceback (``entry`` turns a fault of the output,
e.g. a full disk or a closed pipe, into that line). Output paths are checked before any work
(``output_dir``, ``output_file``) so a bad path never costs a measurement, and an output never
lands on anything we own: the results tree, probes/, a file tracked by git, or an existing file
that is not an output of ours. A missing parent directory is never created silently.
"""
from __future__ import annotations

import functools
import importlib
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

OUR_SUITE = "gpukernels.ours.suite:SUITE"
RESULTS = "results"  # the default results directory (relative to the working directory)
PROBES = "probes"  # beside it (gpukernels.result_files.probes_dir)


class UsageError(Exception):
    """Bad input from the command line: the message is the one line the user sees (exit 2)."""


class OutputError(UsageError):
    """An output could not be written (full disk, closed pipe): one line, exit 2."""


# --- where outputs may go -----------------------------------------------------------------------

def owned_places(results: str | os.PathLike | None = RESULTS) -> list[tuple[str, Path]]:
    """(label, resolved path) of the folders an output must stay out of: the results directory and
    probes/ (inside it, as older trees keep it, and beside it)."""
    if results is None or str(results) == "":
        return []
    root = Path(results).resolve()
    return [("the results directory", root), ("the probes directory", root.parent / PROBES)]


def _refuse_owned(p: Path, what: str, owned: Iterable[tuple[str, Path]]) -> None:
    target = p.resolve()
    for label, place in owned:
        if target == place or place in target.parents:
            raise UsageError(f"refusing to write {what} into {label} {place}")


def git_tracked(path: Path) -> bool:
    """Whether git tracks ``path`` (a file, or any file under a folder) in the repository holding
    it; False where git is absent or the path is in no repository."""
    path = path.resolve()
    where = path if path.is_dir() else path.parent
    while not where.is_dir() and where != where.parent:
        where = where.parent
    try:
        done = subprocess.run(["git", "-C", str(where), "ls-files", "--error-unmatch", "--", str(path)],
                              capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def output_dir(path: str | os.PathLike, *, what: str = "the output", owned: Iterable[tuple[str, Path]] = (),
               create: bool = True) -> Path:
    """A directory we may write into; one missing level is created (``create``), never more.
    UsageError when it is a file, inside ``owned``, holds files tracked by git, or is read-only."""
    if str(path) == "":
        raise UsageError(f"empty path for {what}: give a directory")
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{p} exists and is not a directory")
    _refuse_owned(p, what, owned)
    if p.is_dir():
        if git_tracked(p):
            raise UsageError(f"refusing to write {what} into {p}: it holds files tracked by git")
    else:
        parent = p.parent
        if not parent.is_dir():
            raise UsageError(f"cannot create directory {p}: {parent} is not a directory "
                             "(one missing level is created, not more)")
        if not create:
            raise UsageError(f"directory {p} does not exist")
        try:
            p.mkdir()
        except OSError as exc:
            raise UsageError(f"cannot create directory {p}: {exc.strerror or exc}") from None
    if not os.access(p, os.W_OK):
        raise UsageError(f"directory {p} is not writable")
    return p


def output_file(path: str | os.PathLike, *, suffix: str, what: str = "the output",
                owned: Iterable[tuple[str, Path]] = ()) -> Path:
    """A file path we may write: its directory exists (never created), it is not inside ``owned``,
    and an existing file there is a regular ``*suffix`` file not tracked by git (an earlier
    output of ours); UsageError otherwise."""
    if str(path) == "":
        raise UsageError(f"empty path for {what}: give a file path")
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{p} is a directory; give a file path")
    parent = p.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {p}: directory {parent} does not exist (not created)")
    _refuse_owned(p, what, owned)
    if os.path.lexists(p):
        try:
            mode = os.stat(p).st_mode
        except OSError as exc:
            raise UsageError(f"refusing to write {p}: {exc.strerror or exc} (a dangling link?)") from None
        if not stat.S_ISREG(mode):
            raise UsageError(f"refusing to write {p}: it is {_kind(mode)}, not a file of ours")
        if not p.name.endswith(suffix):
            raise UsageError(f"refusing to overwrite {p}: an existing file not ending in {suffix} "
                             "is not an output of ours")
        if git_tracked(p):
            raise UsageError(f"refusing to overwrite {p}: it is tracked by git")
        if not os.access(p, os.W_OK):
            raise UsageError(f"{p} is not writable")
    elif not os.access(parent, os.W_OK):
        raise UsageError(f"directory {parent} is not writable")
    return p


# kept for callers of the earlier names: the same checks, without the owned places
def writable_dir(path: str | os.PathLike) -> Path:
    return output_dir(path)


def writable_file(path: str | os.PathLike, suffix: str = "") -> Path:
    return output_file(path, suffix=suffix)


# --- writing ------------------------------------------------------------------------------------

def _quiet_stdout() -> None:
    """After a closed or full stdout: point its descriptor at /dev/null so that the interpreter's
    final flush does not print a second error (Python's documented BrokenPipeError recipe)."""
    stream = sys.stdout
    if stream is not sys.__stdout__ or stream is None:
        return  # replaced (tests, redirections): leave it alone
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def say(text: str = "", end: str = "\n") -> None:
    """``print`` to stdout, flushed; OutputError (one line, exit 2) when stdout cannot take it."""
    try:
        sys.stdout.write(text + end)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        raise OutputError("stdout closed (broken pipe)") from None
    except OSError as exc:
        _quiet_stdout()
        raise OutputError(f"cannot write to stdout: {exc.strerror or exc}") from None


def write_text(path: Path, text: str) -> None:
    """``path.write_text`` with OutputError (one line) when it fails."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def entry(prog: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Wrap a ``main``: a fault of the machine (an OSError nobody caught: full disk, closed pipe,
    unreadable folder) or an OutputError ends in one line on stderr and exit 2, never a traceback."""
    def wrap(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> int:
            try:
                return main(argv)
            except UsageError as err:
                message = str(err)
            except BrokenPipeError:
                _quiet_stdout()
                message = "stdout closed (broken pipe)"
            except OSError as exc:
                where = f" ({exc.filename})" if exc.filename else ""
                message = f"{exc.strerror or exc}{where}"
            try:
                print(f"{prog}: {message}", file=sys.stderr)
            except OSError:
                pass
            return 2
        return run
    return wrap


# --- the suite ----------------------------------------------------------------------------------

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
        imported = importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(f"--suite {spec!r}: cannot import {module}: {exc}") from None
    except Exception as exc:  # the user's module failed while importing: say so in one line
        raise UsageError(f"--suite {spec!r}: importing {module} raised {type(exc).__name__}: {exc}") from None
    if not hasattr(imported, attr):
        raise UsageError(f"--suite {spec!r}: {module} has no {attr}")
    found = getattr(imported, attr)
    if not isinstance(found, Suite):
        raise UsageError(f"--suite {spec!r} is a {type(found).__name__}, not a gpukernels Suite")
    return found
