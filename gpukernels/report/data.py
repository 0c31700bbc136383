"""What the report reads: rows whose ids are in the suite, one commit per family and machine.

``select`` turns the loader's tidy frame (gpukernels.results) into one ``MachineView`` per
machine. Each family of the suite (an asv class) is taken from the newest commit of that machine
that ran it, so a partial run at the newest commit (``asv run --bench ...``) does not hide the
families it did not run; every table says which commit it came from. ``--commit`` takes every
family from that one commit. Rows whose ids are not in the suite (older suites) are counted
per commit and otherwise ignored.

Nothing here names a benchmark: ids come from the ``Suite`` the report is given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from ..suite import BANDWIDTH, DEVICE_TIME, Family, Suite, param_label

US = 1e6  # seconds -> microseconds
GIGA = 1e9
OK = "ok"  # the loader's status of a usable result
MACHINE_FIELDS = ("gpu", "gpu_count", "compute_capability", "driver", "cuda_runtime", "numba_cuda",
                  "memory_bandwidth_gbs", "l2_bytes", "sm_clock_default_mhz", "sm_count", "fp32_peak_gflops",
                  "cpu", "os")
# A run date, where the loader exposes one (asv's per-benchmark ``started_at``); else commit dates only.
RUN_DATE_COLUMNS = ("started_at", "run_date")


class ReportError(Exception):
    """The selection asked for (machine, commit) is not in the results."""


def size_label(n: int) -> str:
    """2^k for powers of two, the plain number otherwise."""
    n = int(n)
    return f"2^{n.bit_length() - 1}" if n > 0 and n & (n - 1) == 0 else f"{n:,}"


class Size:
    """An element or byte count in a table cell: a number (right-aligned), printed as 2^k.

    Not an int subclass, so that pandas keeps it as an object and the label survives."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = int(n)

    def __int__(self) -> int:
        return self.n

    __index__ = __int__

    def __float__(self) -> float:
        return float(self.n)

    def __eq__(self, other: object) -> bool:
        return self.n == (other.n if isinstance(other, Size) else other)

    def __lt__(self, other: object) -> bool:
        return self.n < (other.n if isinstance(other, Size) else other)

    def __hash__(self) -> int:
        return hash(self.n)

    def __str__(self) -> str:
        return size_label(self.n)

    __repr__ = __str__


def when(date: pd.Timestamp) -> str:
    """A timestamp with the time of day, in UTC."""
    return "-" if date is None or pd.isna(date) else date.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Pick:
    """The run a family's numbers come from."""

    commit: str
    date: pd.Timestamp
    env: str

    @property
    def short(self) -> str:
        return self.commit[:8]

    @property
    def label(self) -> str:
        return f"commit {self.short} ({when(self.date)})"


def annotate(frame: pd.DataFrame, suite: Suite) -> pd.DataFrame:
    """The frame with ``_family`` (the suite's class id, or None for ids not in the suite)."""
    families = {}
    for benchmark in frame.benchmark.unique():
        found = suite.lookup(str(benchmark))
        families[benchmark] = found[0].cls_id if found else None
    return frame.assign(_family=frame.benchmark.map(families))


@dataclass
class MachineView:
    """The rows of one machine the report shows: per family, one commit and one environment."""

    name: str
    info: dict
    suite: Suite
    rows: pd.DataFrame  # rows of the suite's ids, one pick per family
    picks: dict[str, Pick]  # family class id -> where its rows come from
    skipped: pd.DataFrame  # rows of this machine whose ids are not in the suite (all commits)
    _wide: dict = field(default_factory=dict, repr=False)

    @property
    def l2_bytes(self) -> float:
        return _number(self.info.get("l2_bytes"))

    @property
    def peak_gbs(self) -> float:
        return _number(self.info.get("memory_bandwidth_gbs"))

    @property
    def fp32_peak_gflops(self) -> float:
        return _number(self.info.get("fp32_peak_gflops"))

    @property
    def gpu(self) -> str:
        value = self.info.get("gpu")
        return value if isinstance(value, str) else ""

    def pick(self, fam: Family | None) -> Pick | None:
        if fam is None:
            return None
        return self.picks.get(fam.cls_id)

    def wide(self, fam: Family | None) -> pd.DataFrame | None:
        """One row per parameter set of ``fam``: its parameters by name, one column per metric method
        (asv's median where the status is ok, else NaN), and ``status`` of the family's first metric.
        None where the family was not run (or is None)."""
        if fam is None:
            return None
        if fam.cls_id not in self._wide:
            self._wide[fam.cls_id] = _wide(self.rows[self.rows._family == fam.cls_id], fam)
        return self._wide[fam.cls_id]

    def bandwidth(self, fam: Family | None) -> tuple[pd.Series, bool] | None:
        """GB/s per parameter set of ``fam`` (aligned with ``wide``) and whether it was derived.

        The stored bandwidth metric where the family has one; else bytes moved / median device
        time (derived from the same samples' median)."""
        wide = self.wide(fam)
        if wide is None:
            return None
        if BANDWIDTH.method in wide:
            return wide[BANDWIDTH.method], False
        if DEVICE_TIME.method not in wide:  # e.g. a partial run holding only the clock metrics
            return pd.Series(math.nan, index=wide.index, dtype=float), False
        moved = wide.apply(lambda row: fam.bytes_moved({p: row[p] for p in fam.param_names}), axis=1)
        return moved / wide[DEVICE_TIME.method] / GIGA, True

    @cached_property
    def ceiling(self) -> Ceiling | None:
        return _ceiling(self)


@dataclass(frozen=True)
class Ceiling:
    gbs: float
    source: str  # "transfers.Copy kind=d2d, nbytes=2^30" / "kernels.X impl=..., n=2^28"
    pick: Pick


@dataclass
class Selection:
    machines: dict[str, MachineView]
    frame: pd.DataFrame  # annotated rows of the machines asked for (every commit)
    commit: str | None  # the commit asked for, if any


def select(frame: pd.DataFrame, suite: Suite, machine: str | None = None, commit: str | None = None) -> Selection:
    """One view per machine. ``commit`` (full hash or prefix) takes every family from that commit;
    without it each family comes from the newest commit that ran it. ReportError when empty."""
    if machine is not None:
        if machine not in set(frame.machine):
            raise ReportError(f"no results for machine {machine!r}; have {sorted(set(frame.machine))}")
        frame = frame[frame.machine == machine]
    frame = annotate(frame, suite)
    chosen = frame
    if commit is not None:
        chosen = frame[frame.commit.str.startswith(commit)]
        if chosen.empty:
            raise ReportError(f"no results for commit {commit!r}")
        if chosen.commit.nunique() > 1:
            raise ReportError(f"commit prefix {commit!r} is ambiguous: {sorted(set(chosen.commit))}")
    views = {}
    for name, rows in chosen.groupby("machine", sort=True):
        all_rows = frame[frame.machine == name]
        views[name] = _view(str(name), suite, rows, all_rows)
    return Selection(machines=views, frame=frame, commit=commit)


def _view(name: str, suite: Suite, rows: pd.DataFrame, all_rows: pd.DataFrame) -> MachineView:
    known = rows[rows._family.notna()]
    picks: dict[str, Pick] = {}
    parts = []
    for cls_id, fam_rows in known.groupby("_family", sort=False):
        runs = fam_rows[["commit", "date", "env_name"]].drop_duplicates()
        runs = runs.sort_values(["date", "commit", "env_name"], ascending=[False, True, True])
        first = runs.iloc[0]
        picks[cls_id] = Pick(first.commit, first.date, first.env_name)
        parts.append(fam_rows[(fam_rows.commit == first.commit) & (fam_rows.env_name == first.env_name)])
    first_row = all_rows.iloc[0]
    info = {k: first_row.get(k, math.nan) for k in MACHINE_FIELDS}
    return MachineView(
        name=name,
        info=info,
        suite=suite,
        rows=pd.concat(parts) if parts else known,
        picks=picks,
        skipped=all_rows[all_rows._family.isna()],
    )


def _number(value: object) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def order_key(fam: Family, name: str):
    """Sort key for values of parameter ``name``: the suite's order, unknown values after."""
    values = dict(fam.params).get(name, ())
    position = {v: i for i, v in enumerate(values)}

    def key(value):
        return (position.get(value, len(position)), str(value))

    return key


def _wide(rows: pd.DataFrame, fam: Family) -> pd.DataFrame | None:
    if rows.empty:
        return None
    # no value: not ok, NaN, +-inf, or a time or rate <= 0 (the loader calls those invalid; kept out here too)
    median = pd.to_numeric(rows["median"], errors="coerce")
    rates = {m.method for m in fam.metrics if m.is_speed or m.unit == "MHz"}
    usable = (rows.status == OK) & (median.abs() < math.inf) & (~rows.method.isin(rates) | (median > 0))
    rows = rows.assign(_v=median.where(usable))
    names = list(fam.param_names)
    keys = [f"p_{n}" for n in names]
    if keys:
        wide = rows.set_index([*keys, "method"])["_v"].unstack("method")
        wide = wide.reset_index().rename(columns=dict(zip(keys, names)))
        first = rows[rows.method == fam.metrics[0].method].set_index(keys).status
        status = [first.get(tuple(r) if len(keys) > 1 else r[0], math.nan)
                  for r in wide[names].itertuples(index=False)]
    else:
        wide = pd.DataFrame([rows.set_index("method")["_v"].to_dict()])
        first = rows[rows.method == fam.metrics[0].method].status
        status = [first.iloc[0] if len(first) else math.nan]
    wide.columns.name = None
    wide["status"] = status
    for name in names:
        key = order_key(fam, name)
        wide[f"_o_{name}"] = wide[name].map(key)
    if names:
        wide = wide.sort_values([f"_o_{n}" for n in names], kind="stable")
    return wide.drop(columns=[f"_o_{n}" for n in names]).reset_index(drop=True)


def _ceiling(view: MachineView) -> Ceiling | None:
    """The best streaming bandwidth of the run beyond L2: every family the suite marks
    ``streaming`` (copies, memory-bound ops, peers included), so no bandwidth beyond L2 exceeds it."""
    best: Ceiling | None = None
    l2 = view.l2_bytes
    for fam in (f for f in view.suite.families if f.streaming):
        found = view.bandwidth(fam)
        if found is None:
            continue
        gbs, _ = found
        wide = view.wide(fam)
        for i, row in wide.iterrows():
            params = {p: row[p] for p in fam.param_names}
            moved = fam.bytes_moved(params)
            if l2 == l2:
                beyond = moved > l2
            else:  # L2 size unknown: only the largest problem counts
                beyond = moved == max(fam.bytes_moved({p: r[p] for p in fam.param_names}) for _, r in wide.iterrows())
            value = gbs.iloc[i]
            if beyond and value == value and (best is None or value > best.gbs):
                where = ", ".join(f"{p}={param_label(v)}" for p, v in params.items())
                best = Ceiling(float(value), f"{fam.cls_id} {where}", view.pick(fam))
    return best


def run_dates(rows: pd.DataFrame) -> pd.Series | None:
    """Earliest run start per commit where the loader exposes one, else None."""
    for column in RUN_DATE_COLUMNS:
        if column in rows and rows[column].notna().any():
            return rows.groupby("commit")[column].min()
    return None
