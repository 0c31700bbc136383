"""The one reader of asv's results directory: a tidy pandas frame plus the probe JSON.

Layout read (asv 0.6, result file format version 2)::

    results/benchmarks.json                     benchmark name -> params, param_names, type, unit, version
    results/<machine>/machine.json              asv machine fields + the extra keys of gpukernels.machine
    results/<machine>/<commit8>-<env>.json      one asv run of one commit in one environment
    probes/<machine>.json  (beside results/)    gpukernels-probe output (optional; see probes_dir)

Result files are parsed with asv's own ``asv.results.Results.load`` so that the column layout
(``result_columns``, rows shorter than the columns, stats lists, samples) is asv's, not a copy.

``Results.frame`` has one row per machine x commit x environment x benchmark x parameter set:

============================  ===============================================================
machine                       machine name (machine.json ``machine``)
commit, commit_short          full commit hash, its first 8 characters
date                          commit date, ``pandas.Timestamp`` in UTC
env_name                      asv environment name
benchmark                     full id ``module.Class.method``
module, cls, method           the id split in three (``cls`` empty for a module-level function)
family, metric                the suite's family (``area.Class``) and the metric's kind
                              (``time``, ``bandwidth``, ``compute``, ``value``, ``clock``,
                              ``throttle``); NaN for ids not in the suite given to the loader
bound                         ``device`` or ``host``: the family's bound for that parameter set
                              (from its timing method), NaN where unknown
params                        dict parameter name -> value
p_<name>                      one column per parameter name: always every parameter name of
                              the suite, plus any other found. The value parsed from asv's
                              repr string: int, float, str or bool (anything else stays the
                              string), NaN where the benchmark has no such parameter
value                         float; NaN unless status is 'ok'
status                        'ok' | 'failed' (asv null) | 'skipped' (asv NaN) | 'invalid'
                              (a value or sample that cannot be a measurement: not a number,
                              infinite, <= 0 for a time or a rate, < 0 in a unit of the suite)
reason                        why a row is 'invalid' ('' otherwise)
type, unit                    from benchmarks.json, else from the suite, else NaN
samples, n_samples            list[float] or None; len(samples), else asv's stats ``repeat``, else 0
median                        median of samples when recorded, else value
ci_99_a, ci_99_b, q_25, q_75  asv's statistics (NaN when absent or not finite)
number                        asv's stats ``number`` (calls per sample)
version, version_current      benchmark version of the run; whether it equals benchmarks.json's
                              (mismatching rows are kept and labelled, never dropped)
started_at                    when asv ran the benchmark (``pandas.Timestamp`` UTC, else NaT)
duration                      seconds asv spent on the whole benchmark (all parameter sets)
gpu, gpu_count, compute_capability, driver, cuda_runtime, numba_cuda, memory_bandwidth_gbs,
l2_bytes, sm_clock_default_mhz, cpu, os
                              machine.json fields (NaN when absent); gpu_count,
                              memory_bandwidth_gbs, l2_bytes and sm_clock_default_mhz as numbers
============================  ===============================================================

Whatever cannot be read is named in ``Results.unread`` as (path relative to the results
directory, reason), and everything else is still loaded: a corrupt or truncated file, a bad
machine.json, a missing or malformed benchmarks.json (units and parameter names then come from
the suite), one malformed benchmark inside a result file (its rows are left out), a suite's
id stored with other parameter names than the suite's or values of another type (its rows are
left out: the report and the gate read a suite's ids by those parameters), a
result file repeating another's machine, commit and environment. Nothing is ever written.

Only regular files are opened (``os.stat``, links followed): a FIFO, socket or device named like
a result file would block or never end, so it is named in ``unread`` with its kind, and so are a
dangling link, a symlink loop, a folder that cannot be listed or that asv would not write, and a
JSON file outside a machine folder (regular files not named ``*.json``, e.g. README.txt, are
documentation and passed over). What is read but not as stored is named too, while the data asv reads is kept:
duplicate keys in a JSON object (asv keeps the last), repeated parameter values (one value per
parameter set, the one asv reads), a result list shorter than its parameter sets (the missing
sets are "no result stored", left out rather than shown as failed). ``Results.notes`` says what
the report shows where one machine ran one commit in several environments.
"""
from __future__ import annotations

import ast
import collections
import errno
import itertools
import json
import math
import os
import stat
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from asv.machine import Machine
from asv.results import Results as AsvResults
from asv.util import UserError, load_json

from .suite import Suite

MACHINE_FIELDS = (
    "gpu", "gpu_count", "compute_capability", "driver", "cuda_runtime", "numba_cuda",
    "memory_bandwidth_gbs", "l2_bytes", "sm_clock_default_mhz", "sm_count", "fp32_peak_gflops", "cpu", "os",
)
# machine.json values are often strings (asv writes its own fields so); these are numbers to us
NUMERIC_MACHINE_FIELDS = ("gpu_count", "memory_bandwidth_gbs", "l2_bytes", "sm_clock_default_mhz", "sm_count",
                          "fp32_peak_gflops")
STATS_FIELDS = ("ci_99_a", "ci_99_b", "q_25", "q_75", "number")
COLUMNS = (
    "machine", "commit", "commit_short", "date", "env_name", "benchmark", "module", "cls",
    "method", "family", "metric", "bound", "params", "value", "status", "reason", "type", "unit",
    "samples", "n_samples", "median", *STATS_FIELDS, "version", "version_current", "started_at",
    "duration", *MACHINE_FIELDS,
)
PROBES_DIR = "probes"
# Anything a malformed but parseable JSON file can raise while we walk it.
_BAD_FILE = (UserError, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError,
             RecursionError, OverflowError)


class NoResultsError(Exception):
    """The results directory is missing or holds no readable asv result."""


@dataclass
class Results:
    frame: pd.DataFrame
    unread: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): every file or folder not read
    probes: dict[str, dict] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (where, note): read, but worth knowing


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


def _duplicates_reason(keys: list[str]) -> str:
    shown = ", ".join(map(repr, keys[:5])) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
    return f"duplicate JSON key{'s' if len(keys) > 1 else ''} {shown}: the last of each is read, as asv reads it"


def _listing(folder: Path) -> list[Path]:
    """The entries of ``folder``, sorted; OSError when it cannot be listed."""
    return sorted(folder.iterdir())


def load_results(results_dir: str | os.PathLike = "results", suite: Suite | None = None) -> Results:
    """Read every asv result under ``results_dir`` into a tidy frame (see the module docstring).

    ``suite`` (the project's ``gpukernels.suite.Suite``) names each id's family, metric kind and
    bound; without it those columns are NaN and every id is read as asv stored it."""
    suite = suite or Suite("none")
    root = Path(results_dir)
    if not root.is_dir():
        raise NoResultsError(f"no results directory at {root}")
    unread: list[tuple[str, str]] = []

    def skip(path: Path, reason: str) -> None:
        # asv's messages carry absolute paths; the relative path already names the file
        where = path.relative_to(root) if path.is_relative_to(root) else path.relative_to(root.parent)
        unread.append((where.as_posix(),
                       reason.replace(f"{root.resolve()}{os.sep}", "").replace(str(root.resolve()), ".")))

    try:
        entries = _listing(root)
    except OSError as err:
        raise NoResultsError(f"cannot list {root}: {err.strerror or err}") from None
    benchmarks = _load_benchmarks(root / "benchmarks.json", skip)
    machine_dirs = []
    for entry in entries:
        if entry.name.startswith(".") or entry.name == "benchmarks.json" or \
                (entry.name == PROBES_DIR and entry.is_dir()):
            continue  # hidden (asv ignores them too), read above, read below
        why = not_regular(entry)
        if why is None and entry.suffix != ".json":
            continue  # documentation (README.txt): asv keeps only JSON here
        if why is None:
            skip(entry, "not part of an asv results tree (benchmarks.json or a machine folder); not read")
        elif why.startswith("a folder"):
            machine_dirs.append(entry)
        else:
            skip(entry, why)

    rows: list[dict] = []
    seen: dict[tuple, str] = {}  # (machine, commit, env) -> the file that gave it
    for machine_dir in machine_dirs:
        try:
            listing = _listing(machine_dir)
        except OSError as err:
            skip(machine_dir, f"a machine folder that cannot be listed: {err.strerror or err}; nothing in it read")
            continue
        files = []
        for f in listing:
            if f.name.startswith(".") or f.name == "machine.json":
                continue
            why = not_regular(f)
            if why is not None:
                skip(f, why)
            elif f.suffix == ".json":
                files.append(f)  # other regular files (notes) are no results: passed over
        if not files:
            continue
        try:
            machine = _load_machine(machine_dir / "machine.json")
        except _BAD_FILE as err:
            skip(machine_dir / "machine.json", _reason(err))
            for f in files:
                skip(f, f"machine.json unreadable: {_reason(err)}")
            continue
        dups = duplicate_keys(machine_dir / "machine.json")
        if dups:
            skip(machine_dir / "machine.json", _duplicates_reason(dups))
        for f in files:
            try:
                file_rows, problems = _result_rows(f, machine, benchmarks, suite)
            except _BAD_FILE as err:
                skip(f, _reason(err))
                continue
            dups = duplicate_keys(f)
            if dups:
                skip(f, _duplicates_reason(dups))
            for problem in problems:
                skip(f, problem)
            if file_rows:
                key = (file_rows[0]["machine"], file_rows[0]["commit"], file_rows[0]["env_name"])
                if key in seen:  # two files for one run would give every parameter set twice
                    skip(f, f"repeats the machine, commit and environment of {seen[key]}; left out")
                    continue
                seen[key] = f.relative_to(root).as_posix()
            rows.extend(file_rows)

    if rows and benchmarks is None:
        skip(root / "benchmarks.json", "missing: units and parameter names taken from the suite where it "
                                       "knows the benchmark")
    probes = _load_probes(probes_dir(root), skip)
    if not rows:  # one line that still names every file it could not read
        detail = f" ({len(unread)} file(s) could not be read: {', '.join(f for f, _ in unread)})" if unread else ""
        raise NoResultsError(f"no readable asv results in {root}{detail}")
    return Results(frame=_frame(rows, suite), unread=unread, probes=probes, notes=_environment_notes(seen))


def _environment_notes(seen: dict[tuple, str]) -> list[tuple[str, str]]:
    """One note per machine and commit run in several environments: the report shows one of them."""
    envs: dict[tuple[str, str], dict[str, str]] = collections.defaultdict(dict)
    for (machine, commit, env), path in seen.items():
        envs[(machine, commit)][env] = path
    notes = []
    for (machine, commit), by_env in sorted(envs.items()):
        if len(by_env) < 2:
            continue
        names = sorted(by_env)
        notes.append((", ".join(by_env[e] for e in names),
                      f"{len(names)} environments for commit {commit[:8]} on {machine} ({', '.join(names)}): "
                      f"the report shows {names[0]} (the first by name) where several ran a family; "
                      "the gate compares each environment on its own"))
    return notes


def probes_dir(results_dir: str | os.PathLike) -> Path:
    """Where the probe JSON of a results tree lives: ``probes/`` beside ``results/``.

    It stays out of results/ because asv publish warns about every folder there that is not a
    machine. A tree that keeps a ``probes/`` inside (older checkouts, test trees) still loads.
    """
    root = Path(results_dir)
    inside = root / PROBES_DIR
    return inside if inside.is_dir() else root.parent / PROBES_DIR


def _reason(err: BaseException) -> str:
    if isinstance(err, KeyError):
        return f"missing key {err}"
    return (f"{type(err).__name__}: {err}".splitlines() or [type(err).__name__])[0]


def _load_benchmarks(path: Path, skip: Callable[[Path, str], None]) -> dict[str, dict] | None:
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
        skip(path, _duplicates_reason(dups))
    try:
        data = load_json(str(path), api_version=2)
        if not isinstance(data, dict):
            raise ValueError("benchmarks.json is not a JSON object")
    except _BAD_FILE as err:
        skip(path, _reason(err))
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


def _load_machine(path: Path) -> dict:
    why = not_regular(path)
    if why is not None:
        raise ValueError(f"machine.json is {why}" if not why.startswith("cannot") else f"machine.json {why}")
    data = load_json(str(path), api_version=Machine.api_version)
    if not isinstance(data, dict) or not isinstance(data.get("machine"), str) or not data["machine"]:
        raise ValueError(f"{path.name} has no machine name")
    return data


def _load_probes(probe_dir: Path, skip: Callable[[Path, str], None]) -> dict[str, dict]:
    """Probe files whose top level has the shape the report reads (dict probes, list devices)."""
    probes: dict[str, dict] = {}
    try:
        listing = _listing(probe_dir) if probe_dir.is_dir() else []
    except OSError as err:
        skip(probe_dir, f"the probes folder cannot be listed: {err.strerror or err}; no probe read")
        listing = []
    for f in listing:
        if f.name.startswith(".") or f.suffix != ".json":
            continue
        why = not_regular(f)
        if why is not None:
            skip(f, why)
            continue
        dups = duplicate_keys(f)
        if dups:
            skip(f, _duplicates_reason(dups))
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("probe file is not a JSON object")
            if not isinstance(data.get("probes", {}), dict) or not all(
                    isinstance(p, dict) and "data" in p for p in data.get("probes", {}).values()):
                raise ValueError("'probes' is not an object of probes with data")
            if not isinstance(data.get("devices", []), list):
                raise ValueError("'devices' is not a list")
        except _BAD_FILE as err:
            skip(f, _reason(err))
            continue
        name = data.get("machine") if isinstance(data.get("machine"), str) and data.get("machine") else f.stem
        probes[name] = data
    return probes


def parse_param(value_repr: Any) -> Any:
    """asv stores parameter values as repr strings: the Python value where it is an int, float,
    str or bool literal, else the string itself (so that every value is a hashable scalar)."""
    if isinstance(value_repr, (bool, int, float)):
        return value_repr
    text = value_repr if isinstance(value_repr, str) else repr(value_repr)
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return value if isinstance(value, (bool, int, float, str)) else text


def _num(x: Any) -> float:
    """A float, NaN for None and for anything that is not a number."""
    if x is None or isinstance(x, (str, list, dict)):
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _positive_unit(unit: Any) -> bool:
    """Times and rates: a value <= 0 cannot be measured."""
    return isinstance(unit, str) and (unit == "seconds" or unit.endswith("/s") or unit == "MHz")


def _least(unit: Any, suite: Suite) -> tuple[float, bool]:
    """(bound, strict): a value must be > bound (strict) or >= bound; -inf where anything goes.
    Every unit of a suite counts or measures something: none of its values can be negative."""
    if _positive_unit(unit):
        return 0.0, True
    return (0.0, False) if unit in suite.units else (-math.inf, False)


def _param_names(name: str, info: dict, n: int, suite: Suite) -> list[str]:
    """benchmarks.json's names where they fit the stored values, else the suite's, else asv's
    own fallback names param1, param2, ..."""
    names = info.get("param_names")
    if names is not None and len(names) == n:
        return names
    found = suite.lookup(name)
    if found and len(found[0].param_names) == n:
        return list(found[0].param_names)
    return [f"param{i + 1}" for i in range(n)]


def _type_error(name: str, params: dict, suite: Suite) -> str | None:
    """A suite's id whose parameters are not the suite's (names, or the type of a value):
    the report and the gate read a suite's ids by the suite's parameters."""
    found = suite.lookup(name)
    if not found:
        return None
    if tuple(params) != found[0].param_names:
        return f"parameters ({', '.join(params)}) are not the suite's ({', '.join(found[0].param_names)})"
    for pname, values in found[0].params:
        if pname in params and values:
            want = type(values[0])
            got = params[pname]
            if type(got) is not want and not (want is float and type(got) is int):
                return f"parameter {pname}={got!r} is not {want.__name__} as the suite declares"
    return None


def _result_rows(path: Path, machine: dict, benchmarks: dict[str, dict] | None,
                 suite: Suite) -> tuple[list[dict], list[str]]:
    """Rows of one result file, and a problem line per benchmark in it that could not be read."""
    run = AsvResults.load(str(path), machine_name=machine["machine"])
    if not isinstance(run.commit_hash, str) or not run.commit_hash \
            or isinstance(run.date, bool) or not isinstance(run.date, (int, float)) or not math.isfinite(run.date):
        raise ValueError("commit_hash or date malformed")
    started = run.started_at if isinstance(run.started_at, dict) else {}
    durations = run.duration if isinstance(run.duration, dict) else {}
    versions = run.benchmark_version if isinstance(run.benchmark_version, dict) else {}
    common = {
        "machine": machine["machine"],
        "commit": run.commit_hash,
        "commit_short": run.commit_hash[:8],
        "date": pd.Timestamp(run.date, unit="ms", tz="UTC"),
        "env_name": str(run.env_name),
        **{k: _machine_value(machine.get(k)) for k in MACHINE_FIELDS},
        **{k: _machine_number(machine.get(k)) for k in NUMERIC_MACHINE_FIELDS},
    }
    rows, problems = [], []
    for name in run.get_all_result_keys():
        notes: list[str] = []
        try:
            rows.extend(_benchmark_rows(run, name, (benchmarks or {}).get(name, {}), common,
                                        started, durations, versions, suite, notes))
        except _BAD_FILE as err:
            problems.append(f"{name}: {_reason(err)}; its rows left out")
            continue
        problems.extend(notes)
    return rows, problems


def _benchmark_rows(run: AsvResults, name: str, info: dict, common: dict, started: dict, durations: dict,
                    versions: dict, suite: Suite, notes: list[str] | None = None) -> list[dict]:
    """The rows of one benchmark; what is read other than as stored is appended to ``notes``."""
    notes = [] if notes is None else notes
    param_values = run.get_result_params(name)
    if param_values is None:
        param_values = []
    if not isinstance(param_values, list) or not all(isinstance(p, list) for p in param_values):
        raise ValueError("params is not a list of lists")
    names = _param_names(name, info, len(param_values), suite)
    values = run.get_result_value(name, param_values)
    stats = run.get_result_stats(name, param_values)
    samples = run.get_result_samples(name, param_values)
    version = versions.get(name)
    version = version if version is None or isinstance(version, str) else str(version)
    module, _, rest = name.partition(".")
    cls, _, method = rest.rpartition(".")
    found = suite.lookup(name)
    fam, met = found if found else (None, None)
    unit = info.get("unit") or (met.unit if met else "seconds" if method.startswith("time_") else math.nan)
    type_ = info.get("type") or (met.asv_type if met else "time" if method.startswith("time_") else math.nan)
    start = _num(started.get(name))
    base = {
        **common, "benchmark": name, "module": module, "cls": cls, "method": method,
        "family": fam.cls_id if fam else math.nan, "metric": met.kind if met else math.nan,
        "type": type_, "unit": unit, "version": version,
        "version_current": version is not None and version == info.get("version"),
        "started_at": _timestamp(start),
        "duration": _finite(_num(durations.get(name))),
    }
    combos = list(itertools.product(*param_values))
    repeated = [f"{n}={v}" for n, axis in zip(names, param_values)
                for v, count in collections.Counter(map(str, axis)).items() if count > 1]
    if repeated:
        notes.append(f"{name}: parameter values repeated ({', '.join(repeated)}); each parameter set is read "
                     "once, with the value asv reads for it (the last stored)")
    stored = getattr(run, "_results", {}).get(name)  # asv's raw list: one value per parameter set
    missing: set[tuple] = set()
    if isinstance(stored, list) and len(stored) != len(combos):
        if len(stored) < len(combos):
            have = set(combos[:len(stored)])
            missing = {c for c in combos if c not in have}
        if missing:  # (a list shorter only by repeated parameter sets misses nothing)
            shown = ", ".join(f"({', '.join(f'{n}={v}' for n, v in zip(names, c))})"
                              for c in [c for c in combos if c in missing][:3])
            notes.append(f"{name}: no result stored for {len(missing)} of {len(set(combos))} parameter set(s) "
                         f"({shown}{', ...' if len(missing) > 3 else ''}): left out, not counted as failed")
        elif len(stored) > len(combos):
            notes.append(f"{name}: {len(stored)} results stored for {len(combos)} parameter set(s); the extra "
                         "ones are not read (asv ignores them too)")
    rows, seen = [], set()
    for combo, value, stat, sample in zip(combos, values, stats, samples):
        if combo in missing:
            continue  # asv would give None, which reads as 'failed'; nothing was stored
        params = {n: parse_param(v) for n, v in zip(names, combo)}
        key = tuple(params.values())
        if key in seen:
            continue  # one row per parameter set (asv reads one value for it)
        seen.add(key)
        wrong = _type_error(name, params, suite)
        if wrong:
            raise ValueError(wrong)
        rows.append({**base, "params": params, "bound": fam.bound(params) if fam else math.nan,
                     **_value_fields(value, stat if isinstance(stat, dict) else {}, sample, unit, suite)})
    return rows


def _timestamp(ms: float) -> pd.Timestamp:
    try:
        return pd.Timestamp(ms, unit="ms", tz="UTC") if math.isfinite(ms) else pd.NaT
    except (ValueError, OverflowError):  # out of pandas' range
        return pd.NaT


def _machine_value(x: Any) -> Any:
    """machine.json fields as printed: strings and numbers kept, anything else (lists, objects) NaN."""
    return x if isinstance(x, (str, int, float)) and not isinstance(x, bool) else math.nan


def _machine_number(x: Any) -> float:
    """asv writes machine fields as strings ("52428800"): their number, NaN if not one."""
    x = _machine_value(x)
    try:
        return _finite(float(x))
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.nan


def _value_fields(value: Any, stat: dict, sample: Any, unit: Any, suite: Suite) -> dict:
    """value, status, reason, samples and statistics of one parameter set.

    A value that cannot be a measurement (not a number, infinite, <= 0 for a time or a rate)
    is 'invalid' with the reason, and nothing of it is kept as a number, so that no table or
    ratio is computed from it.
    """
    least, strict = _least(unit, suite)
    nan = math.nan

    def possible(x: float) -> bool:
        return math.isfinite(x) and (x > least if strict else x >= least)

    stats = {k: _finite(_num(stat.get(k))) for k in STATS_FIELDS}
    stats = {k: (v if v != v or possible(v) else nan) for k, v in stats.items()}
    repeat = _num(stat.get("repeat"))
    n_repeat = int(repeat) if math.isfinite(repeat) and repeat > 0 else 0
    invalid = {"value": nan, "median": nan, "samples": None, "n_samples": 0, **dict.fromkeys(STATS_FIELDS, nan)}
    if value is None:
        return {**invalid, "status": "failed", "reason": "", "n_samples": n_repeat}
    number = _num(value)
    # The reasons never quote the number: a report printing them must not print it either.
    if isinstance(value, bool) or (number != number and not isinstance(value, float)):
        return {**invalid, "status": "invalid", "reason": "value is not a number"}
    if number != number:
        return {**invalid, "status": "skipped", "reason": "", "n_samples": n_repeat}
    if not math.isfinite(number):
        return {**invalid, "status": "invalid", "reason": "value is infinite"}
    if not possible(number):
        return {**invalid, "status": "invalid",
                "reason": f"value is {'zero or ' if strict else ''}negative, for a {unit} measurement"}
    kept = None
    if sample is not None:
        kept = [_num(x) for x in sample] if isinstance(sample, list) else [nan]
        if not all(possible(x) for x in kept):
            return {**invalid, "status": "invalid",
                    "reason": f"samples hold values that cannot be {unit} measurements (not finite, or below range)"}
        kept = kept or None
    return {
        "value": number, "status": "ok", "reason": "", "samples": kept,
        "n_samples": len(kept) if kept else n_repeat,
        "median": statistics.median(kept) if kept else number,
        **stats,
    }


def _frame(rows: list[dict], suite: Suite) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    names = dict.fromkeys([*suite.param_names, *(n for r in rows for n in r["params"])])
    # object dtype keeps ints as ints next to NaN for benchmarks without that parameter
    p_cols = {
        f"p_{n}": pd.Series([r["params"].get(n, math.nan) for r in rows], dtype=object)
        for n in names
    }
    frame = pd.concat([frame, pd.DataFrame(p_cols, index=frame.index)], axis=1)
    at = frame.columns.get_loc("params") + 1
    order = [*frame.columns[:at], *p_cols, *[c for c in frame.columns[at:] if c not in p_cols]]
    return frame[order].sort_values(
        ["machine", "date", "commit", "env_name", "benchmark"], kind="stable"
    ).reset_index(drop=True)
