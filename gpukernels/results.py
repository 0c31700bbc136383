"""The one reader of asv's results directory: a tidy pandas frame plus the probe JSON. It walks the
tree and ties the file layer (gpukernels.result_files) to the row building (gpukernels.result_rows).

Layout read (asv 0.6, result file format version 2)::

    results/benchmarks.json                     benchmark name -> params, param_names, type, unit, version
    results/<machine>/machine.json              asv machine fields + the extra keys of gpukernels.machine
    results/<machine>/<commit8>-<env>.json      one asv run of one commit in one environment
    probes/<machine>.json  (beside results/)    gpukernels-probe output (optional; see probes_dir)

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
l2_bytes, sm_clock_default_mhz, sm_count, fp32_peak_gflops, cpu, os
                              machine.json fields (NaN when absent); the NUMERIC_MACHINE_FIELDS
                              of gpukernels.result_rows as numbers
============================  ===============================================================

Whatever cannot be read is named in ``Results.unread`` as (path relative to the results
directory, reason), and everything else is still loaded: a corrupt or truncated file, a bad
machine.json, a missing or malformed benchmarks.json (units and parameter names then come from
the suite), one malformed benchmark inside a result file (its rows are left out), a suite's
id stored with other parameter names than the suite's or values of another type (its rows are
left out: the report and the gate read a suite's ids by those parameters), a
result file repeating another's machine, commit and environment. Nothing is ever written.

Only regular files are opened (gpukernels.result_files): a FIFO, socket or device named like a
result file is named in ``unread`` with its kind, and so are a dangling link, a symlink loop, a
folder that cannot be listed or that asv would not write, and a JSON file outside a machine
folder (regular files not named ``*.json``, e.g. README.txt, are documentation and passed over).
What is read but not as stored is named too, while the data asv reads is kept: duplicate keys
in a JSON object (asv keeps the last), repeated parameter values (one value per parameter set,
the one asv reads), a result list shorter than its parameter sets (the missing sets are "no
result stored", left out rather than shown as failed). ``Results.notes`` says what the report
shows where one machine ran one commit in several environments.
"""
from __future__ import annotations

import collections
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .result_files import (BAD_FILE, PROBES_DIR, duplicate_keys, duplicates_reason, listing, load_benchmarks,
                           load_machine, load_probes, not_regular, probes_dir, reason)
from .result_rows import MACHINE_FIELDS, STATS_FIELDS, result_rows
from .suite import Suite

COLUMNS = (
    "machine", "commit", "commit_short", "date", "env_name", "benchmark", "module", "cls",
    "method", "family", "metric", "bound", "params", "value", "status", "reason", "type", "unit",
    "samples", "n_samples", "median", *STATS_FIELDS, "version", "version_current", "started_at",
    "duration", *MACHINE_FIELDS,
)


class NoResultsError(Exception):
    """The results directory is missing or holds no readable asv result."""


@dataclass
class Results:
    frame: pd.DataFrame
    unread: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): every file or folder not read
    probes: dict[str, dict] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (where, note): read, but worth knowing


def load_results(results_dir: str | os.PathLike = "results", suite: Suite | None = None) -> Results:
    """Read every asv result under ``results_dir`` into a tidy frame (see the module docstring).

    ``suite`` (the project's ``gpukernels.suite.Suite``) names each id's family, metric kind and
    bound; without it those columns are NaN and every id is read as asv stored it."""
    suite = suite or Suite("none")
    root = Path(results_dir)
    if not root.is_dir():
        raise NoResultsError(f"no results directory at {root}")
    unread: list[tuple[str, str]] = []

    def skip(path: Path, why: str) -> None:
        # asv's messages carry absolute paths; the relative path already names the file
        where = path.relative_to(root) if path.is_relative_to(root) else path.relative_to(root.parent)
        unread.append((where.as_posix(),
                       why.replace(f"{root.resolve()}{os.sep}", "").replace(str(root.resolve()), ".")))

    try:
        entries = listing(root)
    except OSError as err:
        raise NoResultsError(f"cannot list {root}: {err.strerror or err}") from None
    benchmarks = load_benchmarks(root / "benchmarks.json", skip)
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
            inside = listing(machine_dir)
        except OSError as err:
            skip(machine_dir, f"a machine folder that cannot be listed: {err.strerror or err}; nothing in it read")
            continue
        files = []
        for f in inside:
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
            machine = load_machine(machine_dir / "machine.json")
        except BAD_FILE as err:
            skip(machine_dir / "machine.json", reason(err))
            for f in files:
                skip(f, f"machine.json unreadable: {reason(err)}")
            continue
        dups = duplicate_keys(machine_dir / "machine.json")
        if dups:
            skip(machine_dir / "machine.json", duplicates_reason(dups))
        for f in files:
            try:
                file_rows, problems = result_rows(f, machine, benchmarks, suite)
            except BAD_FILE as err:
                skip(f, reason(err))
                continue
            dups = duplicate_keys(f)
            if dups:
                skip(f, duplicates_reason(dups))
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
    probes = load_probes(probes_dir(root), skip)
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
