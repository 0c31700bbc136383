"""The one reader of asv's results directory: a tidy pandas frame plus the probe JSON.

Layout read (asv 0.6, result file format version 2)::

    results/benchmarks.json                     benchmark name -> params, param_names, type, unit, version
    results/<machine>/machine.json              asv machine fields + the extra keys of scripts/machine.py
    results/<machine>/<commit8>-<env>.json      one asv run of one commit in one environment
    results/probes/<machine>.json               scripts/probe.py output (optional)

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
params                        dict parameter name -> Python value
p_<name>                      one column per parameter name; the value parsed from asv's repr
                              string (ints as int, quoted strings unquoted), NaN where the
                              benchmark has no such parameter
value                         float; NaN when skipped or failed
status                        'ok' | 'failed' (asv null) | 'skipped' (asv NaN)
type, unit                    from benchmarks.json (NaN for a benchmark no longer in it)
samples, n_samples            list[float] or None; len(samples), else asv's stats ``repeat``, else 0
median                        median of samples when recorded, else value
ci_99_a, ci_99_b, q_25, q_75  asv's statistics (NaN when absent)
number                        asv's stats ``number`` (calls per sample)
version, version_current      benchmark version of the run; whether it equals benchmarks.json's
                              (mismatching rows are kept and labelled, never dropped)
duration                      seconds asv spent on the whole benchmark (all parameter sets)
gpu, gpu_count, compute_capability, driver, cuda_runtime, numba_cuda, memory_bandwidth_gbs,
l2_bytes, cpu, os             machine.json fields (NaN when absent); gpu_count,
                              memory_bandwidth_gbs and l2_bytes as numbers (NaN if not one)
============================  ===============================================================

Files that cannot be read (corrupt JSON, missing keys, a bad machine.json) are listed in
``Results.unread`` with the reason; everything else is still loaded. Nothing is ever written.
"""
from __future__ import annotations

import ast
import itertools
import json
import math
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from asv.machine import Machine
from asv.results import Results as AsvResults
from asv.util import UserError, load_json

MACHINE_FIELDS = (
    "gpu", "gpu_count", "compute_capability", "driver", "cuda_runtime", "numba_cuda",
    "memory_bandwidth_gbs", "l2_bytes", "cpu", "os",
)
# machine.json values are often strings (asv writes its own fields so); these are numbers to us
NUMERIC_MACHINE_FIELDS = ("gpu_count", "memory_bandwidth_gbs", "l2_bytes")
STATS_FIELDS = ("ci_99_a", "ci_99_b", "q_25", "q_75", "number")
COLUMNS = (
    "machine", "commit", "commit_short", "date", "env_name", "benchmark", "module", "cls",
    "method", "params", "value", "status", "type", "unit", "samples", "n_samples", "median",
    *STATS_FIELDS, "version", "version_current", "duration", *MACHINE_FIELDS,
)
PROBES_DIR = "probes"
# Anything a malformed but parseable JSON file can raise while we walk it.
_BAD_FILE = (UserError, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError)


class NoResultsError(Exception):
    """The results directory is missing or holds no readable asv result."""


@dataclass
class Results:
    frame: pd.DataFrame
    unread: list[tuple[str, str]] = field(default_factory=list)
    probes: dict[str, dict] = field(default_factory=dict)


def load_results(results_dir: str | os.PathLike = "results") -> Results:
    """Read every asv result under ``results_dir`` into a tidy frame (see the module docstring)."""
    root = Path(results_dir)
    if not root.is_dir():
        raise NoResultsError(f"no results directory at {root}")
    unread: list[tuple[str, str]] = []

    def skip(path: Path, reason: str) -> None:
        # asv's messages carry absolute paths; the relative path already names the file
        unread.append((path.relative_to(root).as_posix(), reason.replace(f"{root.resolve()}{os.sep}", "")))

    benchmarks: dict[str, dict] = {}
    bench_file = root / "benchmarks.json"
    if bench_file.exists():
        try:
            benchmarks = load_json(str(bench_file), api_version=2)
        except _BAD_FILE as err:
            skip(bench_file, _reason(err))

    rows: list[dict] = []
    for machine_dir in sorted(p for p in root.iterdir() if p.is_dir() and _is_machine_dir(p)):
        files = sorted(f for f in machine_dir.glob("*.json") if f.name != "machine.json")
        if not files:
            continue
        try:
            machine = _load_machine(machine_dir / "machine.json")
        except _BAD_FILE as err:
            for f in files:
                skip(f, f"machine.json unreadable: {_reason(err)}")
            continue
        for f in files:
            try:
                rows.extend(_result_rows(f, machine, benchmarks))
            except _BAD_FILE as err:
                skip(f, _reason(err))

    probes = _load_probes(root / PROBES_DIR, skip)
    if not rows:
        detail = f" ({len(unread)} file(s) could not be read)" if unread else ""
        raise NoResultsError(f"no readable asv results in {root}{detail}")
    return Results(frame=_frame(rows), unread=unread, probes=probes)


def _is_machine_dir(path: Path) -> bool:
    return path.name != PROBES_DIR and not path.name.startswith(".")


def _reason(err: BaseException) -> str:
    if isinstance(err, KeyError):
        return f"missing key {err}"
    return f"{type(err).__name__}: {err}"


def _load_machine(path: Path) -> dict:
    data = load_json(str(path), api_version=Machine.api_version)
    if not isinstance(data.get("machine"), str):
        raise ValueError(f"{path.name} has no machine name")
    return data


def _load_probes(probe_dir: Path, skip) -> dict[str, dict]:
    probes: dict[str, dict] = {}
    for f in sorted(probe_dir.glob("*.json")) if probe_dir.is_dir() else ():
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("probe file is not a JSON object")
        except _BAD_FILE as err:
            skip(f, _reason(err))
            continue
        probes[str(data.get("machine") or f.stem)] = data
    return probes


def parse_param(value_repr: str) -> Any:
    """asv stores parameter values as repr strings; return the Python value where it is a literal."""
    try:
        return ast.literal_eval(value_repr)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value_repr


def _result_rows(path: Path, machine: dict, benchmarks: dict[str, dict]) -> list[dict]:
    run = AsvResults.load(str(path), machine_name=machine["machine"])
    if not isinstance(run.commit_hash, str) or not isinstance(run.date, (int, float)):
        raise ValueError("commit_hash or date malformed")
    common = {
        "machine": machine["machine"],
        "commit": run.commit_hash,
        "commit_short": run.commit_hash[:8],
        "date": pd.Timestamp(run.date, unit="ms", tz="UTC"),
        "env_name": run.env_name,
        **{k: machine.get(k, math.nan) for k in MACHINE_FIELDS},
        **{k: pd.to_numeric(machine.get(k, math.nan), errors="coerce") for k in NUMERIC_MACHINE_FIELDS},
    }
    rows = []
    for name in run.get_all_result_keys():
        info = benchmarks.get(name, {})
        param_values = run.get_result_params(name)
        names = info.get("param_names") or []
        if len(names) != len(param_values):  # benchmark changed or gone: asv's own fallback names
            names = [f"param{i + 1}" for i in range(len(param_values))]
        values = run.get_result_value(name, param_values)
        stats = run.get_result_stats(name, param_values)
        samples = run.get_result_samples(name, param_values)
        version = run.benchmark_version.get(name)
        module, _, rest = name.partition(".")
        cls, _, method = rest.rpartition(".")
        for combo, value, stat, sample in zip(
            itertools.product(*param_values), values, stats, samples
        ):
            rows.append({
                **common,
                "benchmark": name,
                "module": module,
                "cls": cls,
                "method": method,
                "params": {n: parse_param(v) for n, v in zip(names, combo)},
                **_value_fields(value, stat or {}, sample),
                "type": info.get("type", math.nan),
                "unit": info.get("unit", math.nan),
                "version": version,
                "version_current": version is not None and version == info.get("version"),
                "duration": _float(run.duration.get(name)),
            })
    return rows


def _value_fields(value: Any, stat: dict, sample: list | None) -> dict:
    status = "failed" if value is None else "skipped" if _float(value) != _float(value) else "ok"
    sample = [float(x) for x in sample] if sample else None
    value = _float(value)
    return {
        "value": value,
        "status": status,
        "samples": sample,
        "n_samples": len(sample) if sample else int(stat.get("repeat") or 0),
        "median": statistics.median(sample) if sample else value,
        **{k: _float(stat.get(k)) for k in STATS_FIELDS},
    }


def _float(x: Any) -> float:
    return math.nan if x is None else float(x)


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    names = dict.fromkeys(n for r in rows for n in r["params"])
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
