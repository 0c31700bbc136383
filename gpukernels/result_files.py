"""The safe file-reading layer under the results loader: which entries may be opened, and
benchmarks.json, machine.json and probe JSON read without ever blocking, crashing or writing.

Only regular files are opened (``os.stat``, links followed): a FIFO, socket or device named like
a result file would block or never end, so it is named with its kind, and so are a dangling
link, a symlink loop and a folder that cannot be listed. Duplicate keys in a JSON object (asv
keeps the last) are named while the data asv reads is kept. Each reader reports through the
loader's ``skip(path, reason)``; gpukernels.results decides what a results tree may hold.
"""
from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any, Callable

from asv.machine import Machine
from asv.util import UserError, load_json

PROBES_DIR = "probes"
# Anything a malformed but parseable JSON file can raise while we walk it.
BAD_FILE = (UserError, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, OverflowError)


def not_regular(path: Path) -> str | None:
    """Why ``path`` must not be opened (None for a regular file): not there, a dangling link, a
    symlink loop, a FIFO, socket, device or folder. Links are followed (``os.stat``); a FIFO is
    never opened, since opening one blocks until a writer comes."""
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        if os.path.islink(path):
            if err.errno == errno.ELOOP:
                return "a symbolic link loop; not read"
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return f"a dangling symbolic link (to {target}); not read"
        return f"cannot be examined: {err.strerror or err}"
    if stat.S_ISREG(mode):
        return None
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return f"{kind}, not a regular file; not opened"
    return "not a regular file; not opened"


def duplicate_keys(path: Path) -> list[str]:
    """Keys that a JSON object in the file repeats (json, like asv, keeps the last of each)."""
    found: list[str] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict:
        seen = set()
        for key, _ in pairs:
            if key in seen:
                found.append(key)
            seen.add(key)
        return dict(pairs)

    try:
        json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=hook)
    except (OSError, ValueError, RecursionError):
        return []  # the loader proper names what is wrong with it
    return list(dict.fromkeys(found))


def duplicates_reason(keys: list[str]) -> str:
    """The unread line for a file repeating ``keys``: the first five named, and what is read."""
    shown = ", ".join(map(repr, keys[:5])) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
    return f"duplicate JSON key{'s' if len(keys) > 1 else ''} {shown}: the last of each is read, as asv reads it"


def listing(folder: Path) -> list[Path]:
    """The entries of ``folder``, sorted; OSError when it cannot be listed."""
    return sorted(folder.iterdir())


def probes_dir(results_dir: str | os.PathLike) -> Path:
    """Where the probe JSON of a results tree lives: ``probes/`` beside ``results/``.

    It stays out of results/ because asv publish warns about every folder there that is not a
    machine. A tree that keeps a ``probes/`` inside (older checkouts, test trees) still loads.
    """
    root = Path(results_dir)
    inside = root / PROBES_DIR
    return inside if inside.is_dir() else root.parent / PROBES_DIR


def reason(err: BaseException) -> str:
    """One line saying why a file could not be read (asv's errors can run to several lines)."""
    if isinstance(err, KeyError):
        return f"missing key {err}"
    return (f"{type(err).__name__}: {err}".splitlines() or [type(err).__name__])[0]


def load_benchmarks(path: Path, skip: Callable[[Path, str], None]) -> dict[str, dict] | None:
    """benchmarks.json as {name: {param_names, type, unit, version}}; None when the file is absent.

    A file that cannot be read, and entries that are not benchmarks, are named; what is usable
    is kept entry by entry.
    """
    if not os.path.lexists(path):
        return None
    why = not_regular(path)
    if why is not None:
        skip(path, why)
        return {}
    dups = duplicate_keys(path)
    if dups:
        skip(path, duplicates_reason(dups))
    try:
        data = load_json(str(path), api_version=2)
        if not isinstance(data, dict):
            raise ValueError("benchmarks.json is not a JSON object")
    except BAD_FILE as err:
        skip(path, reason(err))
        return {}
    clean, bad = {}, []
    for name, info in data.items():
        if not isinstance(info, dict):
            bad.append(name)
            continue
        names = info.get("param_names")
        ok_names = isinstance(names, list) and all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
        clean[name] = {
            "param_names": names if ok_names else None,
            "type": info.get("type") if isinstance(info.get("type"), str) else None,
            "unit": info.get("unit") if isinstance(info.get("unit"), str) else None,
            "version": info.get("version") if isinstance(info.get("version"), str) else None,
        }
    if bad:
        skip(path, f"{len(bad)} entr{'y is' if len(bad) == 1 else 'ies are'} not a benchmark: "
                   f"{', '.join(map(repr, bad[:3]))}{' ...' if len(bad) > 3 else ''}")
    return clean


def load_machine(path: Path) -> dict:
    """machine.json as asv reads it; raises one of BAD_FILE when it is unusable or names no machine."""
    why = not_regular(path)
    if why is not None:
        raise ValueError(f"machine.json is {why}" if not why.startswith("cannot") else f"machine.json {why}")
    data = load_json(str(path), api_version=Machine.api_version)
    if not isinstance(data, dict) or not isinstance(data.get("machine"), str) or not data["machine"]:
        raise ValueError(f"{path.name} has no machine name")
    return data


def load_probes(probe_dir: Path, skip: Callable[[Path, str], None]) -> dict[str, dict]:
    """Probe files whose top level has the shape the report reads (dict probes, list devices)."""
    probes: dict[str, dict] = {}
    try:
        entries = listing(probe_dir) if probe_dir.is_dir() else []
    except OSError as err:
        skip(probe_dir, f"the probes folder cannot be listed: {err.strerror or err}; no probe read")
        entries = []
    for f in entries:
        if f.name.startswith(".") or f.suffix != ".json":
            continue
        why = not_regular(f)
        if why is not None:
            skip(f, why)
            continue
        dups = duplicate_keys(f)
        if dups:
            skip(f, duplicates_reason(dups))
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("probe file is not a JSON object")
            if not isinstance(data.get("probes", {}), dict) or not all(
                    isinstance(p, dict) and "data" in p for p in data.get("probes", {}).values()):
                raise ValueError("'probes' is not an object of probes with data")
            if not isinstance(data.get("devices", []), list):
                raise ValueError("'devices' is not a list")
        except BAD_FILE as err:
            skip(f, reason(err))
            continue
        name = data.get("machine") if isinstance(data.get("machine"), str) and data.get("machine") else f.stem
        probes[name] = data
    return probes
