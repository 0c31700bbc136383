"""The rows of one asv result file: one dict per benchmark x parameter set, with its value checked
as a measurement; kept apart from gpukernels.results, which finds the files and builds the frame.

Result files are parsed with asv's own ``asv.results.Results.load`` so that the column layout
(``result_columns``, rows shorter than the columns, stats lists, samples) is asv's, not a copy.
"""
from __future__ import annotations

import ast
import collections
import itertools
import math
import statistics
from pathlib import Path
from typing import Any

import pandas as pd
from asv.results import Results as AsvResults

from .result_files import BAD_FILE, reason
from .suite import Suite

MACHINE_FIELDS = (
    "gpu", "gpu_count", "compute_capability", "driver", "cuda_runtime", "numba_cuda",
    "memory_bandwidth_gbs", "l2_bytes", "sm_clock_default_mhz", "sm_count", "fp32_peak_gflops", "cpu", "os",
)
# machine.json values are often strings (asv writes its own fields so); these are numbers to us
NUMERIC_MACHINE_FIELDS = ("gpu_count", "memory_bandwidth_gbs", "l2_bytes", "sm_clock_default_mhz", "sm_count",
                          "fp32_peak_gflops")
STATS_FIELDS = ("ci_99_a", "ci_99_b", "q_25", "q_75", "number")


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


def result_rows(path: Path, machine: dict, benchmarks: dict[str, dict] | None,
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
        except BAD_FILE as err:
            problems.append(f"{name}: {reason(err)}; its rows left out")
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
