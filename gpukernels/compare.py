"""The regression gate: two commits' asv results on one machine, each metric judged on its own evidence.

For every benchmark x parameter set with status ok at both commits::

    ratio = head median / base median     (base / head for rates, units containing '/s')

so ``ratio > 1`` always means HEAD is worse. Rules, in the order they apply (docs/validation.md
derives the numbers from the committed H100/H200 runs):

1. **Not a speed, not judged.** Only times (unit ``seconds``) and rates (``.../s``) can be slower;
   ids, flags, error counts, limits, ``ok`` and clocks (``MHz``) get ``unjudged``. The unit is
   benchmarks.json's; for ids it no longer lists, the suite's unit of the same method name
   (``track_device_time``: seconds), seconds for asv's ``time_``, else unknown (unjudged).
2. **Throttling.** A device-bound family records ``track_throttle`` (NVML readings with a slowdown
   reason or the SM clock below 75% of default; 0 = clean). Where either side of a parameter set
   has throttle > 0, every metric of that family at that parameter set is ``throttled``, never slower.
3. **Bound.** Each parameter set is ``device`` or ``host`` bound: host where the timing method of
   its family and parameters includes host time (``Family.bound``, read by the loader; ids not in
   the suite by ``bound_of`` below). The two are decided apart, with their own factor and their
   own multiple-testing family:

   - device-bound: ``factor`` (default 1.05; same-GPU A/A spread is under 0.2%);
   - host-bound: ``host_factor`` (default 1.5, from the cross-host A/A spread), reported but
     failing the gate only with ``fail_on_host``.
4. **Cards.** The suite's identity family (``Family.identity``) names the physical GPU. When base and head differ in
   it, or either lacks it, the device-bound factor becomes at least ``CARD_FACTOR`` (1.10: the
   A/A pair across two H100s differs by up to 9.4%), and the output says so in its first line.
5. **Evidence.** Both sides with >= MIN_SAMPLES stored samples: two-sided Mann-Whitney U test
   (``scipy.stats.mannwhitneyu``; exact null distribution without ties and at most EXACT_MAX
   samples a side, else the normal approximation with tie correction and continuity correction).
   The p-values of one bound are adjusted together by Benjamini-Hochberg
   (``scipy.stats.false_discovery_control``) and a change is significant when q < ``alpha``.
   Otherwise asv's rule: the stored 99% confidence intervals must not overlap. Neither: no evidence.

=========  ==========================================================
slower     significant and ratio > factor
faster     significant and ratio < 1 / factor
uncertain  ratio beyond the factor, but not significant
same       ratio within the factor (significant or not)
throttled  the GPU throttled at base or head for this parameter set
unjudged   the unit is not a speed
=========  ==========================================================

Parameter sets on one side only are counted as added/removed; failed, skipped or
benchmark-version-changed ones as not compared. A comparison in which no time or rate was judged
(a typo'd benchmark filter, every version changed) is an error, never a pass. Reads results only
through gpukernels.results.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from scipy import stats

from .commits import CompareError, choose_machine, known_commits, resolve_commit
from .evidence import decide, evidence, ratio
from .results import Results
from .suite import THROTTLE as THROTTLE_METRIC, UNIT_SECONDS, Suite, param_label

DEFAULT_FACTOR = 1.05
# Device-bound factor when the two runs may be on different physical GPUs: the committed A/A pair
# on two H100s (b13c3b7f vs 5da442f3) differs by up to +9.4% (n=2^10) with identical code.
CARD_FACTOR = 1.10
# Host-bound factor: the 90th percentile of max(ratio, 1/ratio) over the 70 host-bound parameter
# sets of the one same-commit pair on two hosts (5da442f3, H100 host vs H200 host) is 1.55; within
# one run a host-bound metric's IQR is 10% of its median (median over sets), 45% at the 90th pct.
HOST_FACTOR = 1.5
# Device-bound work shorter than this per operation is judged with SHORT_FACTOR: the same-session
# A/A on the H100 (1120d299 vs ae01e77a, identical code, docs/validation.md) moved 1.1-1.3 us
# kernels by up to 9.2% between two processes (peer libraries and a one-element-per-thread kernel
# at 2^12-2^16 elements), while every parameter set of 2^20 and more stayed within 1.5% (one at 4.5%, faster).
SHORT_KERNEL_S = 2e-6
SHORT_FACTOR = 1.10
DEFAULT_ALPHA = 0.01
THROTTLE = THROTTLE_METRIC.method
DECISIONS = ("slower", "faster", "uncertain", "same", "throttled", "unjudged")
BOUNDS = ("device", "host")
_KEY = ["env_name", "benchmark", "pkey"]
_ROW_COLUMNS = ["benchmark", "params", "env_name", "unit", "bound", "base", "head", "ratio", "inverted", "decision",
                "test", "p", "q"]
INVALID = "invalid value (not finite, negative, or a time or rate of zero)"
_SIDE_COLUMNS = ["status", "value", "median", "samples", "ci_99_a", "ci_99_b", "unit", "version", "params", "bound"]


@dataclass(frozen=True)
class Naming:
    """What the gate knows of ids from the suite: the card id, and for ids the suite no longer
    lists (older results) the bound and unit their area or method name implies."""

    card_id: str | None
    host_areas: frozenset[str]
    host_methods: frozenset[str]
    units: dict[str, str]

    @classmethod
    def of(cls, suite: Suite | None) -> "Naming":
        suite = suite or Suite("none")
        identity = suite.identity_family()
        bounds: dict[str, set[str]] = {}
        methods: dict[str, list[int]] = {}  # method -> [host-bound parameter sets, parameter sets]
        units: dict[str, set[str]] = {}
        for f in suite.families:
            kinds = {"host" if m.host_bound else "device" for m in f.methods()}
            bounds.setdefault(f.area, set()).update(kinds)
            sets = [dict(zip(f.param_names, c)) for c in itertools.product(*f.param_values)]
            host = sum(f.bound(p) == "host" for p in sets)
            for m in f.metrics:
                counts = methods.setdefault(m.method, [0, 0])
                counts[0] += host
                counts[1] += len(sets)
                units.setdefault(m.method, set()).add(m.unit)
        return cls(
            card_id=identity.ids[0] if identity else None,
            host_areas=frozenset(a for a, k in bounds.items() if k == {"host"}),
            # a method is host-bound by name where most of the suite's parameter sets recording it
            # are: a wall-clock method one family also uses for a device-bound row stays host-bound,
            # and a device metric that one implementation times in batches stays device-bound
            host_methods=frozenset(m for m, (host, total) in methods.items() if 2 * host > total),
            units={m: found.pop() for m, found in units.items() if len(found) == 1},
        )


@dataclass(frozen=True)
class Cards:
    """Which physical GPU each side ran on (the suite's identity family; None when not recorded)."""

    base: float | None
    head: float | None
    known_same: bool = False  # the caller ran both sides on one GPU in one session
    card_id: str | None = None  # the suite's id that records the card

    @property
    def same(self) -> bool:
        if self.base is not None and self.head is not None:
            return self.base == self.head
        return self.known_same

    def describe(self) -> str:
        def name(v: float | None) -> str:
            return "not recorded" if v is None else f"{int(v):012x}"

        if self.base is not None and self.head is not None:
            return f"same GPU ({name(self.base)})" if self.same else (
                f"different GPUs: base card {name(self.base)}, head card {name(self.head)}")
        if self.known_same:
            return "same GPU (one session, one device)"
        return f"GPU card unknown (base {name(self.base)}, head {name(self.head)}: no {self.card_id or 'card id'})"


@dataclass
class Comparison:
    machine: str
    base: str
    head: str
    factor: float  # device-bound factor asked for
    alpha: float
    # benchmark, params, env_name, unit, bound, base, head, ratio, inverted, decision, test, p, q;
    # worst first
    rows: pd.DataFrame
    host_factor: float = HOST_FACTOR
    fail_on_host: bool = False
    cards: Cards = field(default_factory=lambda: Cards(None, None))
    added: dict[str, int] = field(default_factory=dict)  # benchmark -> parameter sets at head only
    removed: dict[str, int] = field(default_factory=dict)  # benchmark -> parameter sets at base only
    not_compared: dict[str, int] = field(default_factory=dict)  # reason -> parameter sets
    unread: list[tuple[str, str]] = field(default_factory=list)

    @property
    def device_factor(self) -> float:
        """The factor device-bound metrics were judged with (the card-to-card rule applied)."""
        return self.factor if self.cards.same else max(self.factor, CARD_FACTOR)

    def counts(self, bound: str | None = "device") -> dict[str, int]:
        rows = self.rows if bound is None else self.rows[self.rows.bound == bound]
        return {d: int((rows.decision == d).sum()) for d in DECISIONS}

    @property
    def exit_code(self) -> int:
        failing = self.counts("device")["slower"] + (self.counts("host")["slower"] if self.fail_on_host else 0)
        return 1 if failing else 0


def bound_of(benchmark: str, stored: object, naming: Naming) -> str:
    """'device' or 'host': the loader's bound for the parameter set, else the rule for ids the
    suite does not list (module docstring)."""
    if stored in ("device", "host"):
        return str(stored)
    area, method = benchmark.partition(".")[0], benchmark.rpartition(".")[2]
    if method.startswith("time_") or area in naming.host_areas or method in naming.host_methods:
        return "host"
    return "device"


def unit_of(benchmark: str, stored: object, naming: Naming) -> str:
    """benchmarks.json's unit; for an id it no longer lists (results from an older suite), the
    suite's unit for the same method name, seconds for asv's ``time_``, else '' (unjudged)."""
    if isinstance(stored, str) and stored:
        return stored
    method = benchmark.rpartition(".")[2]
    return naming.units.get(method, UNIT_SECONDS if method.startswith("time_") else "")


def is_speed(unit: str) -> bool:
    """Times and rates can be slower; ids, flags, counts, limits and clocks cannot."""
    return unit == UNIT_SECONDS or "/s" in unit


def compare(
    results: Results,
    base: str,
    head: str,
    machine: str | None = None,
    factor: float = DEFAULT_FACTOR,
    alpha: float = DEFAULT_ALPHA,
    repo_dir: str | Path | None = None,
    host_factor: float = HOST_FACTOR,
    fail_on_host: bool = False,
    same_card: bool = False,
    suite: Suite | None = None,
) -> Comparison:
    """Compare ``head`` against ``base`` (hashes, unique prefixes or git refs) on one machine.

    ``repo_dir`` is where git resolves refs that match no results commit (default: the cwd).
    ``same_card``: the caller knows both ran on one GPU (gpukernels.continuous); recorded card
    ids still win where both sides have one. ``suite``: the project's suite (its card id, and
    the bound and unit of ids it no longer lists).
    """
    naming = Naming.of(suite)
    for name, value in (("--factor", factor), ("--host-factor", host_factor)):
        if not value >= 1:
            raise CompareError(f"{name} must be >= 1, got {value}")
    if not 0 < alpha < 1:
        raise CompareError(f"--alpha must be between 0 and 1, got {alpha}")
    frame = results.frame
    if machine is not None and machine not in set(frame.machine):
        raise CompareError(f"no results for machine {machine!r}; have {', '.join(sorted(set(frame.machine)))}")
    known = known_commits(frame if machine is None else frame[frame.machine == machine])
    base_hash = resolve_commit(base, set(frame.commit), repo_dir, known)
    head_hash = resolve_commit(head, set(frame.commit), repo_dir, known)
    machine = choose_machine(frame, base_hash, head_hash, machine)

    on = frame[frame.machine == machine]
    old, new = _side(on, base_hash), _side(on, head_hash)
    merged = old.merge(new, on=_KEY, how="outer", suffixes=("_base", "_head"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    ok = (both.status_base == "ok") & (both.status_head == "ok")
    invalid = (both.status_base == "invalid") | (both.status_head == "invalid")  # the loader's verdict
    # pandas never finds None == None, so two missing versions are matched explicitly
    same_version = (both.version_base == both.version_head) | (both.version_base.isna() & both.version_head.isna())
    compared = both[ok & same_version]
    if compared.empty:
        raise CompareError(
            f"nothing to compare: no benchmark ran ok at both {base_hash[:8]} and {head_hash[:8]} on {machine}"
        )
    cards = Cards(_card(old, naming), _card(new, naming), known_same=same_card, card_id=naming.card_id)
    result = Comparison(
        machine=machine, base=base_hash, head=head_hash, factor=factor, alpha=alpha, rows=pd.DataFrame(),
        host_factor=host_factor, fail_on_host=fail_on_host, cards=cards,
        added=_per_benchmark(merged[merged["_merge"] == "right_only"]),
        removed=_per_benchmark(merged[merged["_merge"] == "left_only"]),
        not_compared={k: v for k, v in {
            "skipped or failed": int((~ok & ~invalid).sum()),
            INVALID: int(invalid.sum()),
            "benchmark version changed": int((ok & ~same_version).sum()),
        }.items() if v},
        unread=list(results.unread),
    )
    rows, n_invalid = _compared_rows(compared, _throttled(merged),
                                     {"device": result.device_factor, "host": host_factor}, alpha, naming)
    if n_invalid:
        result.not_compared[INVALID] = result.not_compared.get(INVALID, 0) + n_invalid
    if rows.empty:
        raise CompareError(f"nothing to compare: no valid value at both {base_hash[:8]} and {head_hash[:8]} "
                           f"on {machine} ({n_invalid} parameter sets with an {INVALID})")
    if not (rows.decision.isin(("slower", "faster", "uncertain", "same", "throttled"))).any():
        raise CompareError(f"nothing to judge: no time or rate was compared between {base_hash[:8]} and "
                           f"{head_hash[:8]} on {machine} (only ids, flags or values; "
                           + ", ".join(f"{v} {k}" for k, v in result.not_compared.items()) + ")")
    result.rows = rows
    return result


def _side(frame: pd.DataFrame, commit: str) -> pd.DataFrame:
    rows = frame[frame.commit == commit]
    # dict params are unhashable: key on their repr (param_names order is fixed per benchmark)
    keyed = rows.assign(pkey=rows.params.map(lambda p: repr(tuple(p.items()))))
    return keyed[[*_KEY, *_SIDE_COLUMNS]]


def _card(side: pd.DataFrame, naming: Naming) -> float | None:
    values = [v for v in side.value[(side.benchmark == naming.card_id) & (side.status == "ok")] if _reading(v)]
    return float(values[0]) if values else None


def _reading(value: object) -> bool:
    """A finite, non-negative number: what a count, an id, a clock or a time can be."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _valid(unit: str, base: object, head: object, samples: tuple) -> bool:
    """Whether a parameter set's values can be compared: times and rates finite and > 0 (samples
    too), other units finite and >= 0. Anything else is a damaged or impossible result."""
    if not (_reading(base) and _reading(head)):
        return False
    if not is_speed(unit):
        return True
    values = [base, head, *(x for side in samples if side for x in side)]
    return all(_reading(x) and x > 0 for x in values) and math.isfinite(
        ratio(float(base), float(head), "/s" in unit))


def _throttled(merged: pd.DataFrame) -> dict[tuple[str, str, str], tuple[float, float]]:
    """(env, family, params) -> (base, head) throttle flags, where either side is > 0."""
    rows = merged[merged.benchmark.str.endswith("." + THROTTLE)]
    out = {}
    for r in rows.itertuples(index=False):
        flags = (r.value_base, r.value_head)
        if any(_reading(v) and v > 0 for v in flags):
            out[(r.env_name, r.benchmark.rpartition(".")[0], r.pkey)] = flags
    return out


def _per_benchmark(rows: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in rows.groupby("benchmark").size().items()}


def _compared_rows(both: pd.DataFrame, throttled: dict, factors: dict[str, float],
                   alpha: float, naming: Naming) -> tuple[pd.DataFrame, int]:
    """The decided rows, worst first, and how many parameter sets had invalid values."""
    out, invalid = [], 0
    # each parameter set's device time at base: a short kernel's rows (its GB/s too) get SHORT_FACTOR
    base_seconds = {(r.env_name, r.benchmark.rpartition(".")[0], r.pkey): r.median_base
                    for r in both.itertuples(index=False) if r.benchmark.endswith(".track_device_time")}
    for row in both.itertuples(index=False):
        unit = unit_of(row.benchmark, row.unit_head, naming)
        if not _valid(unit, row.median_base, row.median_head, (row.samples_base, row.samples_head)):
            invalid += 1
            continue
        bound = bound_of(row.benchmark, row.bound_head, naming)
        inverted = "/s" in unit  # a rate: larger is better
        flags = throttled.get((row.env_name, row.benchmark.rpartition(".")[0], row.pkey))
        seconds = base_seconds.get((row.env_name, row.benchmark.rpartition(".")[0], row.pkey), math.nan)
        entry = {
            "short": bound == "device" and seconds < SHORT_KERNEL_S,
            "benchmark": row.benchmark, "params": params_label(row.params_head), "env_name": row.env_name,
            "unit": unit, "bound": bound, "base": row.median_base, "head": row.median_head,
            "ratio": math.nan, "inverted": inverted, "decision": "", "test": "", "p": math.nan, "q": math.nan,
        }
        if flags is not None:
            entry.update(decision="throttled", test=f"throttle flags base {_flag(flags[0])}, head {_flag(flags[1])}")
        elif not is_speed(unit):
            entry.update(decision="unjudged", test=f"unit {unit!r} is not a speed")
        else:
            p, disjoint, test = evidence(row.samples_base, row.samples_head,
                                         (row.ci_99_a_base, row.ci_99_b_base), (row.ci_99_a_head, row.ci_99_b_head))
            entry.update(ratio=ratio(row.median_base, row.median_head, inverted), p=p, test=test,
                         disjoint=disjoint)
        out.append(entry)
    table = pd.DataFrame(out, columns=[*_ROW_COLUMNS, "disjoint", "short"])
    for bound in BOUNDS:  # one Benjamini-Hochberg family per bound: the two are decided apart
        tested = (table.bound == bound) & table.p.notna()
        if tested.any():
            table.loc[tested, "q"] = stats.false_discovery_control(table.p[tested].to_numpy(float), method="bh")
    judged = table.decision == ""
    for i in table.index[judged]:
        r = table.loc[i]
        if not math.isnan(r["p"]):
            significant = r["q"] < alpha
            table.loc[i, "test"] = f"{r['test']} q={r['q']:.2g}"
        else:
            significant = bool(r["disjoint"])
        factor = max(factors[r["bound"]], SHORT_FACTOR) if r["short"] else factors[r["bound"]]
        if r["short"]:
            table.loc[i, "test"] = f"{table.loc[i, 'test']}; under {SHORT_KERNEL_S * 1e6:.0f} us: factor {factor:.2f}"
        table.loc[i, "decision"] = decide(r["ratio"], factor, significant)
    table = table.drop(columns=["disjoint", "short"])
    table["_speed"] = table.decision != "unjudged"
    return table.sort_values(
        ["_speed", "ratio", "benchmark", "params"], ascending=[False, False, True, True], kind="stable",
        na_position="last",
    ).drop(columns="_speed").reset_index(drop=True), invalid


def _flag(value: object) -> str:
    return f"{value:g}" if _reading(value) else "-"


def params_label(params: dict) -> str:
    return ", ".join(f"{k}={param_label(v)}" for k, v in params.items()) or "-"
