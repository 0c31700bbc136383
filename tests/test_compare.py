"""The regression gate (gpukernels.compare, scripts/compare.py) on real H100/H200 results.

tests/fixtures/h100_real_subset holds real asv files (see its README.txt): a same-GPU A/A pair
with raw samples (617e61aa, 6c9baf00), a cross-GPU A/A pair (b13c3b7f, 5da442f3: same kernel
source, two physical H100s) and an A/B pair (b13c3b7f -> 92da6ebb: planted slowdown). Expected values are read from the stored JSON here, independently of the loader.
Trees and frames changed by a test are named ``derived_*``.
"""
from __future__ import annotations

import itertools
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixtures.synthetic_tree import COMMITS, write_tree
from gpukernels.compare import CompareError, compare, decide
from gpukernels.compare_render import format_quantity, render
from gpukernels.mannwhitney import mann_whitney_u
from gpukernels.results import Results, load_results

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "scripts" / "compare.py"
REAL = ROOT / "tests" / "fixtures" / "h100_real_subset"
H200 = ROOT / "tests" / "fixtures" / "h200_real_5da442f3" / "h200"
MACHINE = "h100-80gb-hbm3"
DEVICE_TIME = "vector_add.VectorAdd.track_device_time"
SIZES = [4**k for k in range(5, 15)]  # 2^10 .. 2^28
NO_CI = (math.nan, math.nan)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLI), *args], capture_output=True, text=True, timeout=120)


def stored_medians(results_dir: Path, commit: str) -> dict[int, float]:
    """n -> the result asv stored for the device-time benchmark on device 0 (read from the JSON)."""
    (path,) = (results_dir / MACHINE).glob(f"{commit}-*.json")
    data = json.loads(path.read_text())
    row = dict(zip(data["result_columns"], data["results"][DEVICE_TIME]))
    combos = itertools.product(*row["params"])
    return {int(n): value for (n, device), value in zip(combos, row["result"]) if device == "0"}


def slower_sizes(rows) -> set[int]:
    picked = rows[(rows.benchmark == DEVICE_TIME) & (rows.decision == "slower")]
    return {int(p.split(",")[0].removeprefix("n=2^")) for p in picked.params}


@pytest.fixture(scope="module")
def real() -> Results:
    return load_results(REAL)


# --- Mann-Whitney U against values computed by hand ------------------------------------------

def test_u_exact_when_samples_do_not_overlap() -> None:
    # U = 0; exact two-sided p = 2 / C(10, 5): only 2 of 252 orderings are this extreme
    assert mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == (0.0, pytest.approx(2 / 252))


def test_u_exact_interleaved() -> None:
    # x beats y in 3 pairs (3>2, 5>2, 5>4). For 3 + 3 values the 20 orderings give U = 0..9 with
    # counts 1,1,2,3,3,3,3,2,1,1, so P(U <= 3) = 7/20 and the two-sided p = 0.7.
    assert mann_whitney_u([1, 3, 5], [2, 4, 6]) == (3.0, pytest.approx(0.7))


def test_u_normal_with_ties() -> None:
    # pooled ranks: 1 -> 1, the three 2s -> 3, 3 -> 5, 4 -> 6, the two 5s -> 7.5, 6 -> 9
    # R_x = 1 + 3 + 3 + 6 = 13, U = 13 - 4*5/2 = 3; ties (t=3, t=2) give sum(t^3 - t) = 30
    variance = 4 * 5 / 12 * (10 - 30 / (9 * 8))
    z = (abs(3 - 10) - 0.5) / math.sqrt(variance)
    u, p = mann_whitney_u([1, 2, 2, 4], [2, 3, 5, 5, 6])
    assert u == 3.0
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert p == pytest.approx(0.10386, abs=1e-5)


def test_u_normal_for_large_samples() -> None:
    # 21 + 21 values, no ties, beyond the exact table: variance = m*n*(N+1)/12 = 1580.25
    u, p = mann_whitney_u(list(range(21)), list(range(21, 42)))
    assert u == 0.0
    assert p == pytest.approx(math.erfc((220.5 - 0.5) / math.sqrt(1580.25) / math.sqrt(2)))
    assert p == pytest.approx(3.13e-8, rel=1e-2)


def test_u_identical_samples_give_p_one() -> None:
    assert mann_whitney_u([2.0] * 6, [2.0] * 6) == (18.0, 1.0)


@given(st.lists(st.integers(0, 6), min_size=1, max_size=12), st.lists(st.integers(0, 6), min_size=1, max_size=12))
def test_u_is_symmetric(x: list[int], y: list[int]) -> None:
    u_x, p_x = mann_whitney_u(x, y)
    u_y, p_y = mann_whitney_u(y, x)
    assert u_x + u_y == len(x) * len(y)
    assert p_x == pytest.approx(p_y) and 0 < p_x <= 1


# --- the decision rule --------------------------------------------------------------------

def test_u_test_needs_five_samples_a_side() -> None:
    five_a, five_b = [1.0, 1.01, 1.02, 1.03, 1.04], [1.2, 1.21, 1.22, 1.23, 1.24]
    assert decide(1.2, 1.05, 0.01, five_a, five_b, NO_CI, NO_CI) == ("slower", "U test p=0.0079")
    assert decide(1 / 1.2, 1.05, 0.01, five_b, five_a, NO_CI, NO_CI) == ("faster", "U test p=0.0079")
    # 4 + 4 samples: no U test; no CIs either, so a 20% change is uncertain, never slower
    assert decide(1.2, 1.05, 0.01, five_a[:4], five_b[:4], NO_CI, NO_CI) == ("uncertain", "no spread stored")
    # ... and with CIs, asv's rule decides
    assert decide(1.2, 1.05, 0.01, five_a[:4], five_b[:4], (1.0, 1.05), (1.19, 1.25)) == ("slower", "99% CIs disjoint")
    assert decide(1.2, 1.05, 0.01, None, None, (1.0, 1.2), (1.19, 1.25)) == ("uncertain", "99% CIs overlap")


def test_significant_within_factor_is_same_and_beyond_unproven_is_uncertain() -> None:
    a, b = [1.0, 1.001, 1.002, 1.003, 1.004], [1.03, 1.031, 1.032, 1.033, 1.034]
    assert decide(1.03, 1.05, 0.01, a, b, NO_CI, NO_CI) == ("same", "U test p=0.0079")
    # interleaved samples: p = 0.69, so even a 10% median ratio is uncertain
    assert decide(1.10, 1.05, 0.01, [1, 3, 5, 7, 9], [2, 4, 6, 8, 10], NO_CI, NO_CI) == ("uncertain", "U test p=0.69")


# --- A/A and A/B on the real H100 results ---------------------------------------------------

def test_ab_planted_slowdown_is_flagged_at_every_size(real: Results) -> None:
    base, head = stored_medians(REAL, "b13c3b7f"), stored_medians(REAL, "92da6ebb")
    ratios = {n: head[n] / base[n] for n in SIZES}
    at_least_10_percent = {n.bit_length() - 1 for n, r in ratios.items() if r >= 1.10}
    assert at_least_10_percent == set(range(10, 29, 2))  # the data: 1.21x (2^14) to 1.58x (2^22)

    result = compare(real, "b13c3b7f", "92da6ebb")
    assert (result.machine, result.base[:8], result.head[:8]) == (MACHINE, "b13c3b7f", "92da6ebb")
    assert slower_sizes(result.rows) == at_least_10_percent
    assert result.counts() == {"slower": 10, "faster": 0, "uncertain": 0, "same": 0}
    assert result.not_compared == {"skipped or failed": 10}  # device 1 absent on this host
    assert result.exit_code == 1
    worst = result.rows.iloc[0]
    assert (worst.params, worst.ratio) == ("n=2^22, device=0", pytest.approx(ratios[2**22]))
    assert list(result.rows.ratio) == sorted(ratios.values(), reverse=True)


def test_ab_cli_exit_1_names_the_slowed_sizes() -> None:
    done = cli("b13c3b7f", "92da6ebb", "--results", str(REAL))
    assert done.returncode == 1, done.stderr
    slower = [line for line in done.stdout.splitlines() if "  slower  " in line]
    assert len(slower) == 10
    assert any("n=2^20, device=0" in line and "3.512 us" in line and "5.27 us" in line for line in slower)
    assert "summary: 10 slower, 0 faster, 0 uncertain, 0 same" in done.stdout


def test_same_gpu_aa_passes_at_the_default_factor_on_the_u_test(real: Results) -> None:
    result = compare(real, "617e61aa", "6c9baf00")
    assert result.counts() == {"slower": 0, "faster": 0, "uncertain": 0, "same": 10}
    assert result.exit_code == 0
    assert all(t.startswith("U test") for t in result.rows.test)  # raw samples were recorded
    assert result.rows.ratio.between(0.99, 1.01).all()
    done = cli("617e61aa", "6c9baf00", "--results", str(REAL))
    assert done.returncode == 0, done.stderr
    assert "summary: 0 slower, 0 faster, 0 uncertain, 10 same" in done.stdout


def test_aa_passes_at_factor_1_10(real: Results) -> None:
    result = compare(real, "b13c3b7f", "5da442f3", factor=1.10)
    assert result.counts() == {"slower": 0, "faster": 0, "uncertain": 0, "same": 10}
    assert result.exit_code == 0
    assert sum(result.added.values()) == 174  # the rest of the full suite at 5da442f3
    done = cli("b13c3b7f", "5da442f3", "--results", str(REAL), "--factor", "1.10", "--only-changed")
    assert done.returncode == 0
    assert "no parameter set changed beyond the factor" in done.stdout


def test_aa_at_default_factor_flags_the_two_smallest_sizes(real: Results) -> None:
    # A known false alarm, kept visible: the A/A runs were on two physical H100s (see the fixture
    # README); at ~1 us the device-to-device shift (+9.4% at 2^10, +5.4% at 2^12) exceeds both the
    # 5% factor and the within-run 99% CIs. docs/validation.md discusses it.
    base, head = stored_medians(REAL, "b13c3b7f"), stored_medians(REAL, "5da442f3")
    assert head[2**10] / base[2**10] == pytest.approx(1.0944, abs=1e-4)
    assert head[2**12] / base[2**12] == pytest.approx(1.0539, abs=1e-4)
    result = compare(real, "b13c3b7f", "5da442f3")
    assert slower_sizes(result.rows) == {10, 12}
    assert result.counts() == {"slower": 2, "faster": 0, "uncertain": 0, "same": 8}


def test_derived_tree_without_stored_spread_is_uncertain(tmp_path: Path) -> None:
    tree = tmp_path / "derived_h100_ab_ci_removed"
    shutil.copytree(REAL, tree)
    for commit in ("b13c3b7f", "92da6ebb"):
        (path,) = (tree / MACHINE).glob(f"{commit}-*.json")
        data = json.loads(path.read_text())
        columns = data["result_columns"]
        row = data["results"][DEVICE_TIME]
        for name in ("stats_ci_99_a", "stats_ci_99_b"):
            row[columns.index(name)] = [None] * len(row[columns.index(name)])
        path.write_text(json.dumps(data))
    result = compare(load_results(tree), "b13c3b7f", "92da6ebb")
    assert result.counts() == {"slower": 0, "faster": 0, "uncertain": 10, "same": 0}
    assert set(result.rows.test) == {"no spread stored"}
    assert result.exit_code == 0


# --- rates, the U test end to end, output --------------------------------------------------

def test_rates_are_inverted_and_u_test_decides(tmp_path: Path) -> None:
    synthetic = load_results(write_tree(tmp_path / "results"))
    frame = synthetic.frame.copy()
    # derived: halve the bandwidth of the new commit on h100-test (5 stored samples a side)
    halve = (frame.machine == "h100-test") & (frame.commit == COMMITS["new"]) & (
        frame.benchmark == "vector_add.VectorAdd.track_bandwidth") & (frame.status == "ok")
    frame.loc[halve, "median"] = frame.loc[halve, "median"] / 2
    frame.loc[halve, "samples"] = frame.loc[halve, "samples"].map(lambda s: [x / 2 for x in s])
    derived_half_bandwidth = Results(frame=frame, unread=synthetic.unread)
    result = compare(derived_half_bandwidth, "1111", "aaaa")
    bandwidth = result.rows[result.rows.benchmark == "vector_add.VectorAdd.track_bandwidth"]
    assert len(bandwidth) == 4
    assert set(bandwidth.ratio) == {2.0} and set(bandwidth.decision) == {"slower"}
    assert set(bandwidth.test) == {"U test p=0.0079"}  # 5 + 5 samples, none overlapping
    others = result.rows[result.rows.benchmark != "vector_add.VectorAdd.track_bandwidth"]
    assert set(others.decision) == {"same"} and set(others.test) == {"U test p=1"}
    # device 1 skipped in 3 benchmarks x 4 sizes, time_call(2^28, 0) and one seed grid failed: 14;
    # the old commit ran an older device-time benchmark: its 4 ok sets are not compared either
    assert result.not_compared == {"skipped or failed": 14, "benchmark version changed": 4}
    text = render(result)
    assert "not compared, benchmark version changed: 4 parameter sets" in text
    assert "not read: h100-test/deadbeef-corrupt.json" in text


def test_markdown_table() -> None:
    done = cli("b13c3b7f", "92da6ebb", "--results", str(REAL), "--markdown")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "### Benchmark comparison b13c3b7f -> 92da6ebb on h100-80gb-hbm3: factor 1.05, alpha 0.01"
    assert "| benchmark " in done.stdout and "|-" in done.stdout
    row = next(line for line in lines if "n=2^26, device=0" in line)
    assert [c.strip() for c in row.strip("|").split("|")] == [
        DEVICE_TIME, "n=2^26, device=0", "295.2 us", "376.9 us", "1.277", "slower", "99% CIs disjoint"]


@pytest.mark.parametrize("value, unit, text", [
    (1.0172799974679945e-06, "seconds", "1.017 us"),
    (0.0011724640130996705, "seconds", "1.172 ms"),
    (2.5, "seconds", "2.5 s"),
    (9.4e-07, "seconds", "940 ns"),
    (2749.3, "GB/s", "2749 GB/s"),
])
def test_format_quantity(value: float, unit: str, text: str) -> None:
    assert format_quantity(value, unit) == text


# --- could not compare: exit 2 -------------------------------------------------------------

def test_unknown_commit_exit_2_lists_known_commits() -> None:
    done = cli("b13c3b7f", "deadbeef", "--results", str(REAL))
    assert done.returncode == 2
    assert done.stderr == (
        "compare: no results for commit 'deadbeef'; known commits: "
        "h100-80gb-hbm3: 5da442f3, 617e61aa, 6c9baf00, 92da6ebb, b13c3b7f\n"
    )
    assert done.stdout == ""


def test_git_refs_resolve_to_results_commits(real: Results) -> None:
    if subprocess.run(["git", "rev-parse", "--verify", "--quiet", "6c9baf0~2^{commit}"], cwd=ROOT,
                      capture_output=True).returncode:
        pytest.skip("this checkout lacks the validation commits (shallow clone?)")
    # 6c9baf0 reverted the planted slowdown: its parent is 92da6ebb, grandparent b13c3b7f
    result = compare(real, "6c9baf0~2", "6c9baf0~1", repo_dir=ROOT)
    assert (result.base[:8], result.head[:8]) == ("b13c3b7f", "92da6ebb")
    # e18d17d (the suite's first cut) has no results: git knows it, the results don't
    with pytest.raises(CompareError, match=r"no results for commit 'e18d17d' \(git: e18d17d3\); known commits"):
        compare(real, "b13c3b7f", "e18d17d", repo_dir=ROOT)


def test_two_machines_need_machine(tmp_path: Path) -> None:
    tree = tmp_path / "results"
    shutil.copytree(REAL, tree)
    shutil.copytree(H200, tree / "h200")
    done = cli("5da442f3", "5da442f3", "--results", str(tree))
    assert done.returncode == 2
    assert done.stderr == ("compare: 5da442f3 and 5da442f3 were both run on several machines "
                           "(h100-80gb-hbm3, h200): choose one with --machine\n")

    done = cli("b13c3b7f", "5da442f3", "--results", str(tree), "--machine", "h200")
    assert done.returncode == 2
    assert done.stderr == "compare: no results for commit b13c3b7f on h200; known commits: h200: 5da442f3\n"

    result = compare(load_results(tree), "5da442f3", "5da442f3", machine="h200")
    ok = load_results(tree).frame.query("machine == 'h200' and status == 'ok'")
    assert len(result.rows) == len(ok) == 163
    assert set(result.rows.ratio) == {1.0} and set(result.rows.decision) == {"same"}


@pytest.mark.parametrize("args, message", [
    (["--factor", "0.9"], "compare: --factor must be >= 1, got 0.9\n"),
    (["--alpha", "0"], "compare: --alpha must be between 0 and 1, got 0.0\n"),
    (["--machine", "a100"], "compare: no results for machine 'a100'; have h100-80gb-hbm3\n"),
])
def test_bad_options_exit_2(args: list[str], message: str) -> None:
    done = cli("b13c3b7f", "92da6ebb", "--results", str(REAL), *args)
    assert (done.returncode, done.stderr) == (2, message)


def test_results_are_left_untouched(tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in REAL.rglob("*") if p.is_file()}
    assert cli("b13c3b7f", "92da6ebb", "--results", str(REAL)).returncode == 1
    assert {p: p.read_bytes() for p in REAL.rglob("*") if p.is_file()} == before


def test_nothing_in_common_is_an_error(real: Results) -> None:
    f = real.frame
    derived_no_device_time_at_5da442f3 = Results(frame=f[~((f.commit_short == "5da442f3") & (f.benchmark == DEVICE_TIME))])
    with pytest.raises(CompareError, match="^nothing to compare: no benchmark ran ok at both b13c3b7f and 5da442f3 on "
                                           "h100-80gb-hbm3$"):
        compare(derived_no_device_time_at_5da442f3, "b13c3b7f", "5da442f3")
