"""The report (gpukernels.report + scripts/report.py) against the synthetic asv tree of our suite.

The tree's values follow the models in tests/fixtures/synthetic_tree.py, so every number checked
here is computed from the model, not read back from the report's own code.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from fixtures import synthetic_tree as st
from fixtures.grid import representatives
from gpukernels.ours import probe_tables as ours_report
from gpukernels.ours.experiments import END_TO_END_FAMILY, MODES, SEED_BLOCK, SEED_METHODS, SEED_N
from gpukernels.ours.launches import LAUNCH_PATHS
from gpukernels.ours.suite import SUITE
from gpukernels.report import sections, summary, tables
from gpukernels.report.data import select
from gpukernels.report.plots import BABELSTREAM_ADD_FP64_GBS, babelstream_reference
from gpukernels.report.render import format_value, numeric_columns, write_report
from gpukernels.results import Results, load_results
from gpukernels.suite import BANDWIDTH

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "scripts" / "report.py"
PACKAGE = ROOT / "gpukernels" / "report"
VA, SAXPY, SUM, MATMUL = (SUITE.ops[name] for name in ("vector_add", "saxpy", "sum", "matmul"))
# ops whose report leads with GB/s (their tables have a ceiling column and an L2 column)
STREAMING_OPS = [op for op in SUITE.ops.values() if not op.compute_bound]
KERNEL_FAMILIES = st.families("kernel")  # what the h100's newest (partial) run measured
NEW, MID, OLD = (st.COMMITS[k][:8] for k in ("new", "mid", "old"))
L2_H100 = 50 * 2**20


# One tree and one report for the module: the tests only read them (and check they stay unchanged).
@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return st.write_tree(tmp_path_factory.mktemp("tree") / "results")


@pytest.fixture(scope="module")
def results(tree: Path) -> Results:
    return load_results(tree, SUITE)


@pytest.fixture(scope="module")
def rendered(tree: Path, results: Results, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, list[sections.Section]]:
    """The report written once, and the sections it was rendered from (built once, not again for the
    tests that check them: sections.build(results, select(results.frame, SUITE)) inside write_report)."""
    out = tmp_path_factory.mktemp("reports")
    built, build = [], sections.build
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sections, "build", lambda *args, **kwargs: built.append(build(*args, **kwargs)) or built[-1])
        write_report(results, SUITE, out, tree)
    assert len(built) == 1
    return out, built[0]


@pytest.fixture(scope="module")
def report(rendered: tuple[Path, list[sections.Section]]) -> Path:
    return rendered[0]


@pytest.fixture(scope="module")
def markdown(report: Path) -> str:
    return (report / "report.md").read_text()


@pytest.fixture(scope="module")
def content(rendered: tuple[Path, list[sections.Section]]) -> list[sections.Section]:
    return rendered[1]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLI), *args], capture_output=True, text=True, timeout=120, env=env)


# --- Markdown helpers (also used by test_report_real) ------------------------------------------

def md_section(markdown: str, heading: str) -> str:
    """Text from the first heading line starting with ``heading`` to the next heading of the same
    or a higher level."""
    match = re.search(rf"^{re.escape(heading)}.*$", markdown, re.M)
    assert match, f"no heading {heading!r}"
    level = heading.split()[0]
    rest = markdown[match.end():]
    following = re.search(rf"^#{{1,{len(level)}}} ", rest, re.M)
    return markdown[match.start(): match.end() + (following.start() if following else len(rest))]


def md_tables(section: str) -> list[tuple[str, list[dict[str, str]]]]:
    """(caption, rows as header -> cell) of every table in ``section``."""
    out, caption, lines = [], "", section.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("Table: "):
            caption = line.removeprefix("Table: ")
        if line.startswith("|"):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            header, body = block[0], block[2:]
            out.append((caption, [dict(zip(header, row)) for row in body]))
            caption = ""
            continue
        i += 1
    return out


def md_table(section: str, caption_start: str) -> list[dict[str, str]]:
    found = [rows for caption, rows in md_tables(section) if caption.startswith(caption_start)]
    assert found, f"no table captioned {caption_start!r}"
    return found[0]


def md_row(rows: list[dict[str, str]], **cells: str) -> dict[str, str]:
    found = [r for r in rows if all(r.get(k) == v for k, v in cells.items())]
    assert len(found) == 1, f"{len(found)} rows match {cells}"
    return found[0]


def machine_md(markdown: str, machine: str) -> str:
    return md_section(markdown, f"## {machine} (")


# --- per op: device time, GB/s, GFLOP/s, ceiling, speedups, L2, throttling -------------------

def test_op_table_numbers_come_from_the_models(markdown: str) -> None:
    op_md = md_section(machine_md(markdown, "h100-test"), f"### {VA.name}:")
    rows = md_table(op_md, f"{VA.name} ({VA.what})")
    ceiling = 12 * 2**28 / st.kernel_seconds("vector_add", "torch", 2**28, "h100-test") / 1e9
    for n in (2**20, 2**28):
        seconds = st.kernel_seconds("vector_add", VA.ours, n, "h100-test")
        row = md_row(rows, **{"n (elements)": tables.size_label(n), "impl": f"{VA.ours} (ours)"})
        gbs = 12 * n / seconds / 1e9  # b += a on float32: read a and b, write b
        assert row["device time (us)"] == format_value(seconds * 1e6)
        assert row["bandwidth (GB/s)"] == format_value(gbs)
        assert row["compute (GFLOP/s)"] == format_value(n / seconds / 1e9)
        assert row["of ceiling (%)"] == format_value(100 * gbs / ceiling)
        # kernel from the newest (partial) run, host baselines from the commit before it
        assert row["speedup vs numpy (x)"] == format_value(st.host_seconds("vector_add", "numpy", n) / seconds)
        assert row["speedup vs cpu_parallel (x)"] == format_value(
            st.host_seconds("vector_add", "cpu_parallel", n) / seconds)
        assert row["fits in L2"] == ("yes" if 12 * n <= L2_H100 else "no")
        assert row["throttled (NVML flags)"] == "no"
    assert md_row(rows, **{"n (elements)": "2^28", "impl": "seed"})["device time (us)"] == "-"  # failed
    assert "Parameter sets without a value: seed: failed at n=2^28" in op_md
    # the sum op moves 4 bytes per element, saxpy does 2 flops per element (the ops' declared counts)
    sum_rows = md_table(md_section(machine_md(markdown, "h100-test"), f"### {SUM.name}:"), f"{SUM.name} (")
    seconds = st.kernel_seconds("sum", "numba", 2**24, "h100-test")
    row = md_row(sum_rows, **{"n (elements)": "2^24", "impl": "numba (ours)"})
    assert row["bandwidth (GB/s)"] == format_value(4 * 2**24 / seconds / 1e9)
    saxpy_md = md_section(machine_md(markdown, "h100-test"), f"### {SAXPY.name}:")
    saxpy_rows = md_table(saxpy_md, f"{SAXPY.name} (")
    seconds = st.kernel_seconds("saxpy", "numba", 2**28, "h100-test")
    row = md_row(saxpy_rows, **{"n (elements)": "2^28", "impl": "numba (ours)"})
    assert row["compute (GFLOP/s)"] == format_value(2 * 2**28 / seconds / 1e9)
    assert row["throttled (NVML flags)"] == "yes (2)"  # the throttled parameter set is marked
    assert not [r for r in saxpy_rows if r["impl"] == "torch"]  # skipped at every size: one sentence instead
    assert "torch: skipped at every size" in saxpy_md


def test_compute_bound_op_leads_with_gflops_against_the_fp32_peak(markdown: str) -> None:
    """matmul (m x n x k): GFLOP/s = 2 m n k / time, % of the machine's FP32 peak where machine.json
    records one (h200-test), no ceiling or L2 column; its peers compared by GFLOP/s."""
    axes = {"m": 2**13, "n": 2**13, "k": 2**13}
    for machine, peak in (("h100-test", None), ("h200-test", 66900.0)):
        section = md_section(machine_md(markdown, machine), f"### {MATMUL.name}:")
        rows = md_table(section, f"{MATMUL.name} (")
        assert len(rows) == 8 * len(MATMUL.gpu_impls)  # every m x n x k
        largest = {f"{axis} (count)": "2^13" for axis in axes}  # multi-axis headers: counts
        row = md_row(rows, **largest, impl=f"{MATMUL.ours} (ours)")
        seconds = st.kernel_seconds("matmul", MATMUL.ours, axes, machine)
        gflops = 2 * 2**39 / seconds / 1e9
        assert row["device time (us)"] == format_value(seconds * 1e6)
        assert row["compute (GFLOP/s)"] == format_value(gflops)
        assert row["bandwidth (GB/s)"] == format_value(4 * 3 * 2**26 / seconds / 1e9)  # A, B read, C written
        assert row["of FP32 peak (%)"] == ("-" if peak is None else format_value(100 * gflops / peak))
        assert "of ceiling (%)" not in row and "fits in L2" not in row
        assert "% of the machine's FP32 peak" in section
        peers = md_table(section, f"{MATMUL.name}: our best Numba kernel")
        torch = st.kernel_seconds("matmul", "torch", axes, machine)
        assert md_row(peers, **largest)["ours vs torch (x)"] == format_value(torch / seconds)
        assert {r["fastest"] for r in peers} == {"torch"}
        assert "ratio = our compute (GFLOP/s) / the peer's" in section
    headline = md_section(machine_md(markdown, "h100-test"), "### Numba or a library?")
    assert f"{MATMUL.name}, {MATMUL.ours} vs torch: " in headline and "torch's speed" in headline


def test_ceilings_best_stream_and_nothing_beyond_l2_above_it(markdown: str, results: Results) -> None:
    head = md_section(markdown, "## Machines and GPUs")
    rows = md_table(head, "The report's bandwidth ceiling")
    h100 = md_row(rows, machine="h100-test")
    torch = 12 * 2**28 / st.kernel_seconds("vector_add", "torch", 2**28, "h100-test") / 1e9
    assert h100["measured by"] == "kernels.VectorAdd impl=torch, n=2^28"  # a peer beats the copies here
    assert h100["bandwidth ceiling (GB/s)"] == format_value(torch)
    assert h100["of theoretical peak (%)"] == format_value(100 * torch / 3352.3)
    h200 = md_row(rows, machine="h200-test")
    copy = 2 * 2**30 / st.copy_seconds("d2d_kernel", 2**30, "h200-test") / 1e9
    assert h200["measured by"] == "transfers.Copy kind=d2d_kernel, nbytes=2^30"
    assert h200["bandwidth ceiling (GB/s)"] == format_value(copy)
    assert h200["of theoretical peak (%)"] == format_value(100 * copy / 4800.0)
    # by construction: no bandwidth beyond L2, in any op table, above 100 % of the ceiling
    selection = select(results.frame, SUITE)
    checked = 0
    for view in selection.machines.values():
        for op in STREAMING_OPS:
            frame = tables.op_table(view, op).frame
            beyond = frame[frame["fits in L2"] == False]  # noqa: E712  (a column of bools)
            assert (beyond["of ceiling (%)"].dropna() <= 100 + 1e-9).all()
            checked += len(beyond)
    assert checked > 20


def test_peers_table_says_who_wins(markdown: str) -> None:
    machine = machine_md(markdown, "h100-test")
    rows = md_table(md_section(machine, f"### {VA.name}:"), f"{VA.name}: our best Numba kernel")
    row = md_row(rows, **{"n (elements)": "2^28"})
    ours = st.kernel_seconds("vector_add", VA.ours, 2**28, "h100-test")
    assert row["ours vs cupy (x)"] == format_value(st.kernel_seconds("vector_add", "cupy", 2**28, "h100-test") / ours)
    assert row["ours vs torch (x)"] == format_value(
        st.kernel_seconds("vector_add", "torch", 2**28, "h100-test") / ours)
    assert {r["fastest"] for r in rows if r["n (elements)"] != "2^10"} == {"torch"}
    saxpy = md_table(md_section(machine, f"### {SAXPY.name}:"), f"{SAXPY.name}: our best Numba kernel")
    assert {r["fastest"] for r in saxpy} == {"cupy"} and {r["ours vs torch (x)"] for r in saxpy} == {"-"}
    sums = md_table(md_section(machine, f"### {SUM.name}:"), f"{SUM.name}: our best Numba kernel")
    assert md_row(sums, **{"n (elements)": "2^28"})["fastest"] == "numba (ours)"
    headline = md_section(machine, "### Numba or a library?")
    assert f"vector_add, {VA.ours} vs cupy: beyond L2 (n = 2^24 to 2^28) ours runs at 1.03x cupy's speed and " \
           "is faster at 3 of 3 sizes" in headline
    assert "faster at 0 of 3 sizes" in headline.split(f"{VA.ours} vs torch")[1]
    assert "saxpy: torch was not measured on this machine (skipped)." in headline


def test_baselines_shown_once(markdown: str) -> None:
    op_md = md_section(machine_md(markdown, "h100-test"), f"### {VA.name}:")
    rows = md_table(op_md, f"{VA.name} host baselines")
    assert md_row(rows, **{"n (elements)": "2^20"})["numpy (us)"] == format_value(
        st.host_seconds("vector_add", "numpy", 2**20) * 1e6)


# --- partial runs and --commit --------------------------------------------------------------

def test_each_family_from_the_newest_commit_that_ran_it(markdown: str) -> None:
    machine = machine_md(markdown, "h100-test")
    assert f"{NEW}: {len(KERNEL_FAMILIES)} families; {MID}: " in machine
    op_md = md_section(machine, f"### {VA.name}:")
    (caption,) = [c for c, _ in md_tables(op_md) if c.startswith(f"{VA.name} (")]
    assert f"kernels.VectorAdd at commit {NEW} (2023-11-15 22:13:20 UTC)" in caption
    assert f"baselines.VectorAdd at commit {MID} (2023-11-14 22:13:41 UTC)" in caption
    variants = md_section(machine, f"### {VA.name} variants")
    assert f"kernels.VectorAddVariants at commit {MID}" in variants
    assert "Not measured" not in machine.split("###")[0]  # the newest run lacks families; older runs have them


def test_commit_selection_names_only_absent_families(results: Results, tmp_path: Path, no_png_encoding) -> None:
    write_report(results, SUITE, tmp_path / "partial", machine="h100-test", commit=NEW[:4])
    markdown = (tmp_path / "partial" / "report.md").read_text()
    assert "No results for" not in markdown
    machine = machine_md(markdown, "h100-test")
    absent = re.search(r"Not measured in the runs shown on h100-test: (.*)\. Their", machine).group(1).split(", ")
    shown = {f.cls_id for f in KERNEL_FAMILIES}
    assert shown.isdisjoint(absent) and set(absent) == {f.cls_id for f in SUITE.families} - shown
    for op in SUITE.ops.values():
        rows = md_table(md_section(machine, f"### {op.name}:"), f"{op.name} (")
        if op.host_impls:
            assert rows and {r["speedup vs numpy (x)"] for r in rows} == {"-"}  # no baselines at this commit
        else:
            assert rows and not [c for c in rows[0] if c.startswith("speedup")]  # no host baseline at all
    full = tmp_path / "full"
    write_report(results, SUITE, full, machine="h100-test", commit=MID)
    markdown = (full / "report.md").read_text()
    assert "Not measured" not in markdown and "No results for" not in markdown
    assert f"kernels.VectorAdd at commit {MID}" in markdown and f"commit {NEW}" not in markdown.split("### History")[0]


# --- vector-add specifics (our suite's own sections, gpukernels/ours/report.py) -------------

def test_variants_block_modes(markdown: str) -> None:
    machine = machine_md(markdown, "h100-test")
    variants = md_section(machine, f"### {VA.name} variants")
    rows = md_table(variants, "vector add variants")
    pairs = md_row(rows, variant="pairs")
    assert pairs["what it does"] == VA.impl_notes["pairs"]
    assert pairs["n = 2^28 (GB/s)"] == format_value(12 * 2**28 / st.variant_seconds("pairs", 2**28, "h100-test") / 1e9)
    assert "At n = 2^20 the fastest variant is per_thread_4" in variants
    assert f"At n = 2^28 the fastest variant is pairs: {VA.impl_notes['pairs']}." in variants
    block = md_table(md_section(machine, f"### {VA.name} block size"), "the tutorial's kernel from 4")
    assert md_row(block, **{"n (elements)": "2^24"})["block 4 (us)"] == format_value(
        st.block_seconds(2**24, 4, "h100-test") * 1e6)
    modes = md_section(machine, f"### {VA.name} timing modes")
    rows = md_table(modes, "one kernel")
    for mode, method in MODES.items():
        row = md_row(rows, **{"timing method": mode})
        # each row's method and its bound: only graph replay leaves the host's time out
        bound = "device" if mode == "graph" else "host"
        assert row["what it measures"] == f"{method.name} ({bound}-bound): {method.what}"
        assert row["n = 2^24 (us)"] == format_value(st.mode_seconds(2**24, mode, "h100-test") * 1e6)
    assert "produced by that row's timing method" in modes


def test_seed_audit_and_end_to_end(markdown: str) -> None:
    machine = machine_md(markdown, "h100-test")
    seed = md_section(machine, f"### {VA.name} seed audit")
    rows = md_table(seed, "the tutorial's experiment")
    numpy = st.host_seconds("vector_add", "numpy", SEED_N)
    for method, seconds in st.SEED_SECONDS.items():
        row = md_row(rows, method=method)
        assert row["time (us)"] == format_value(seconds * 1e6)
        assert row["claimed speedup vs numpy (x)"] == format_value(numpy / seconds)
        assert row["timing"] == SEED_METHODS[method].name
        assert row["what it measures"] == SEED_METHODS[method].what
    # why the seed's round trip can beat the end-to-end table: different kernels, said in words
    assert f"runs the tutorial's kernel at block {SEED_BLOCK}" in seed
    assert f"the end-to-end table below runs {END_TO_END_FAMILY.what}" in seed
    ratio = st.SEED_SECONDS["end_to_end"] / st.roundtrip_seconds("pageable", SEED_N)
    assert f"takes {ratio:.3g}x the table's pageable one" in seed
    e2e = md_section(machine, f"### {VA.name} end to end")
    rows = md_table(e2e, "host a, b in")
    row = md_row(rows, **{"n (elements)": "2^24"})
    assert row["pinned vs numpy (x)"] == format_value(
        st.host_seconds("vector_add", "numpy", 2**24) / st.roundtrip_seconds("pinned", 2**24))
    crossings = md_table(e2e, "Crossover")
    column = "GPU at least as fast from n (elements)"
    assert md_row(crossings, comparison="pinned round trip vs numpy")[column] == "2^18"
    assert md_row(crossings, comparison="pageable round trip vs numpy")[column] == "never"


# --- launches, copies, probes, clocks ------------------------------------------------------

def test_launch_costs_and_copies_once(markdown: str) -> None:
    machine = machine_md(markdown, "h100-test")
    launches = md_section(machine, "### Launch costs")
    rows = md_table(launches, "Host time per launch")
    for path in LAUNCH_PATHS:
        row = md_row(rows, launch=path)
        assert row["what"] == LAUNCH_PATHS[path]
        assert row["3 args (us)"] == format_value(st.enqueue_seconds(path, 3) * 1e6)
    assert md_row(rows, launch="launch + sync")["8 args (us)"] == format_value(st.launch_sync_seconds(8) * 1e6)
    assert md_row(rows, launch="torch")["0 args (us)"] == "-"
    grids = md_table(launches, "the tutorial's grids")
    assert md_row(grids, grid="[2**30,2**10]")["status"] == "failed"
    copies = md_table(md_section(machine, "### Copies"), "copies host")
    assert md_row(copies, kind="d2d")["2^30 bytes (GB/s)"] == format_value(
        2 * 2**30 / st.copy_seconds("d2d", 2**30, "h100-test") / 1e9)
    # the old probe keys (launch costs, copy bandwidth) are not shown
    assert "987,654" not in markdown and "876,543" not in markdown and "123,456" not in markdown
    assert markdown.count("Table: copies host") == 2  # once per machine


def test_limits_index_table_and_checks(markdown: str) -> None:
    probes = md_section(machine_md(markdown, "h100-test"), "### Limits, indices and checks")
    limits = md_table(probes, "Documented limits")
    grid_y = md_row(limits, limit="grid y (blocks)")
    assert (grid_y["documented (count)"], grid_y["measured (count)"]) == ("65,535", "65,535")
    assert grid_y["past the limit, gpukernels says"] == "grid y = 65536 exceeds the device limit of 65535 blocks"
    assert md_row(limits, limit="block z (threads)")["past the limit, the driver says"].startswith("CUDAError")
    index = md_table(probes, "Thread and block indices")
    assert md_row(index, **{"thread (global id)": "5"}) == {
        "thread (global id)": "5", "threadIdx (id)": "1", "blockIdx (id)": "1", "blockDim (threads)": "4",
        "gridDim (blocks)": "2"}
    selection = md_table(probes, "select_device(i)")
    assert md_row(selection, device="1")["status"] == "skipped"
    assert "1 when the result matches NumPy (1 = correct)" in selection[0]
    assert "CudaSupportError: no device 1" in probes
    failed = md_table(probes, "Probes that failed")
    assert md_row(failed, probe="seed_claims")["error"] == "CudaAPIError: launch timed out"
    assert "Probe device_selection: &lt;script&gt;" in probes  # notes shown, escaped


def test_clocks_table(markdown: str) -> None:
    rows = md_table(md_section(machine_md(markdown, "h100-test"), "### Clocks"), "NVML around the samples")
    saxpy = md_row(rows, family="kernels.Saxpy")
    assert (saxpy["SM clock min (MHz)"], saxpy["SM clock max (MHz)"], saxpy["flagged sets (count)"]) == (
        "1,400", "1,980", "1")
    assert saxpy["measured sets without NVML readings (count)"] == "0"  # torch skipped: not measured
    copy = md_row(rows, family="transfers.Copy")
    assert copy["SM clock min (MHz)"] == copy["flagged sets (count)"] == "not recorded"


# --- history ------------------------------------------------------------------------------

def test_history_in_commit_date_order_with_time_of_day(markdown: str) -> None:
    past = md_section(machine_md(markdown, "h100-test"), "### History: h100-test")
    rows = md_table(past, f"{VA.name}, our best kernel")
    assert [r["commit"] for r in rows] == [OLD, MID, NEW]  # by date; the hashes sort otherwise
    assert [r["commit date"] for r in rows] == [
        "2023-11-14 22:13:20 UTC", "2023-11-14 22:13:41 UTC", "2023-11-15 22:13:20 UTC"]
    assert [r["run started"] for r in rows] == [
        "2025-01-01 10:00:00 UTC", "2025-01-01 10:05:00 UTC", "2025-01-02 09:00:00 UTC"]
    assert [r["benchmark version"] for r in rows] == ["older", "current", "current"]
    # the headline sizes: the largest in L2 (12 x 2^22 bytes < 50 MiB), the first beyond it, the largest
    sizes = [c.removesuffix(" device time (us)") for c in rows[0] if c.endswith(" device time (us)")]
    assert sizes == ["n = 2^22", "n = 2^24", "n = 2^28"]
    for row, key in zip(rows, ("old", "mid", "new")):
        seconds = st.kernel_seconds("vector_add", VA.ours, 2**28, "h100-test", key)
        assert row["n = 2^28 device time (us)"] == format_value(seconds * 1e6)
        assert row["n = 2^28 bandwidth (GB/s, derived: bytes / median device time)"] == format_value(
            12 * 2**28 / seconds / 1e9)
    matmul = md_table(past, f"{MATMUL.name}, our best kernel")  # compute-bound: GFLOP/s
    seconds = st.kernel_seconds("matmul", MATMUL.ours, {"m": 2**13, "n": 2**13, "k": 2**13}, "h100-test", "mid")
    assert md_row(matmul, commit=MID)["m = 2^13, n = 2^13, k = 2^13 compute (GFLOP/s, derived: flops / median "
                                      "device time)"] == format_value(2 * 2**39 / seconds / 1e9)
    assert "History: h200-test" not in markdown  # one commit: nothing to follow


def test_history_derives_bandwidth_where_none_is_stored(results: Results) -> None:
    frame = results.frame[results.frame.method != BANDWIDTH.method]
    selection = select(frame, SUITE, "h100-test")
    view = selection.machines["h100-test"]
    table = summary.history(selection, view, VA).frame
    header = "n = 2^24 bandwidth (GB/s, derived: bytes / median device time)"
    seconds = st.kernel_seconds("vector_add", VA.ours, 2**24, "h100-test", "mid")
    assert table.loc[table.commit == MID, header].item() == pytest.approx(12 * 2**24 / seconds / 1e9, rel=1e-12)
    op = tables.op_table(view, VA).frame
    assert "bandwidth (GB/s, derived: bytes / median device time)" in op.columns


# --- bookkeeping ------------------------------------------------------------------------------

def test_files_not_read_status_and_ids_not_in_the_suite(markdown: str) -> None:
    tail = md_section(markdown, "## Files not read and result status")
    unread = md_table(tail, "Files the loader could not read")
    assert {"h100-test/deadbeef-corrupt.json", "broken-machine/12345678-env.json"} <= {r["file"] for r in unread}
    counts = md_table(tail, "Parameter sets per status")
    for commit, want in ((NEW, st.status_counts("h100-test", "new", st.PARTIAL_ROLES)),
                         (MID, st.status_counts("h100-test", "mid", exclude=st.PARTIAL_ROLES))):
        row = md_row(counts, machine="h100-test", commit=commit)
        assert {k: row[f"{k} (count)"] for k in want} == {k: format_value(v) for k, v in want.items()}
        assert row["invalid (count)"] == "0"
    skipped = md_table(tail, f"Rows whose benchmark ids are not in the suite '{SUITE.name}'")
    assert md_row(skipped, machine="h100-test", commit=OLD)["rows skipped (count)"] == "4"
    assert md_row(skipped, machine="h200-test", commit=NEW)["rows skipped (count)"] == "4"


def test_units_in_every_numeric_header_and_no_unit_column(content: list[sections.Section]) -> None:
    count = 0
    for section in content:
        for part in section.parts:
            if isinstance(part, tables.Table):
                count += 1
                for column, numeric in zip(part.frame.columns, numeric_columns(part.frame)):
                    assert not numeric or re.search(r"\(.+\)", column), (section.title, column)
                    assert column.lower() != "unit"
    assert count > 40


def test_no_op_name_or_benchmark_id_in_the_report_package() -> None:
    source = "\n".join(p.read_text() for p in sorted(PACKAGE.glob("*.py")))
    for op in SUITE.ops.values():
        for word in (op.name, op.family_name):
            assert not re.search(rf"{re.escape(word)}\b", source, re.I), word
    assert not re.search(r"reduc", source, re.I)
    assert "track_" not in source and "time_" not in source
    for benchmark in SUITE.ids():
        assert benchmark not in source
    # BabelStream's published figures live in one dict, nowhere else
    assert source.count("2970") == 1 and source.count("4150") == 1


def test_babelstream_reference_matches_the_gpu_model() -> None:
    assert babelstream_reference("NVIDIA H100 80GB HBM3") == BABELSTREAM_ADD_FP64_GBS["H100"] == ("H100 SXM", 2970.0)
    assert babelstream_reference("NVIDIA H200") == ("H200", 4150.0)
    assert babelstream_reference("NVIDIA A100-SXM4-80GB") is None


def test_bandwidth_plot_lines(results: Results) -> None:
    import matplotlib.pyplot as plt

    from gpukernels.report import plots

    selection = select(results.frame, SUITE)
    for machine, mine, other in (("h100-test", "H100 SXM: 2,970 GB/s", "4,150"),
                                 ("h200-test", "H200: 4,150 GB/s", "2,970")):
        view = selection.machines[machine]
        figure = plots.op_rates(view, VA)
        left, right = figure.axes
        labels = [text.get_text() for text in left.get_legend().get_texts()]
        assert [label for label in labels if "BabelStream" in label and "fp64" in label and mine in label]
        assert not [label for label in labels if other in label]
        assert any(label.startswith(f"ceiling {view.ceiling.gbs:,.0f} GB/s") for label in labels)
        assert any(label.startswith("theoretical peak") for label in labels)
        assert {f"{VA.ours} (ours)", *[i for i in VA.gpu_impls if i != VA.ours]} <= set(labels)  # every impl
        assert {t.get_text() for t in right.get_legend().get_texts()} >= {f"vs {p}" for p in VA.peers}
        assert left.get_ylabel() == "bandwidth (GB/s)"
        plt.close(figure)
        # a compute-bound op: GFLOP/s against the FP32 peak (where machine.json has one), no bandwidth lines
        figure = plots.op_rates(view, MATMUL)
        left = figure.axes[0]
        labels = [text.get_text() for text in left.get_legend().get_texts()]
        assert left.get_ylabel() == "compute (GFLOP/s)"
        assert [label for label in labels if label.startswith("FP32 peak")] == (
            ["FP32 peak 66,900 GFLOP/s"] if machine == "h200-test" else [])
        assert not [label for label in labels if "ceiling" in label or "BabelStream" in label]
        assert {f"{MATMUL.ours} (ours)", *MATMUL.peers} <= set(labels)
        plt.close(figure)


# --- output formats -------------------------------------------------------------------------

class _Tables(HTMLParser):
    """Per table: header rows (as lists of header cells) and body cells as (class, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._in: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append({"head": [], "body": []})
        elif tag == "tr" and self.tables:
            part = "head" if "thead" in self._in else "body"
            self.tables[-1][part].append([])
        elif tag in ("th", "td"):
            self._cell = [(dict(attrs).get("class") or "").split(" ")[0], ""]
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            part = "head" if "thead" in self._in else "body"
            self.tables[-1][part][-1].append(tuple(self._cell))
            self._cell = None
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag)]

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1] += data


def test_html_one_header_row_aligned_self_contained_and_escaped(report: Path, markdown: str) -> None:
    page = (report / "report.html").read_text()
    parser = _Tables()
    parser.feed(page)
    assert len(parser.tables) > 40
    number_like_text: set[str] = set()
    for table in parser.tables:
        assert len(table["head"]) == 1  # no empty extra header row (index names)
        assert all(text.strip() for _, text in table["head"][0])
        head = [text for _, text in table["head"][0]]
        for row in table["body"]:
            for (klass, text), column in zip(row, head):
                if klass == "txt" and re.fullmatch(r"-?[\d,]+(\.\d+)?|2\^\d+", text):
                    number_like_text.add(column)
        classes = dict(zip(head, (k for k, _ in table["head"][0])))
        if "device time (us)" in classes:  # an op table: its axes (n; or m, n, k) are numbers
            axes = [c for c in head if c.endswith(("(elements)", "(count)"))]
            assert axes and {classes[c] for c in ["device time (us)", *axes]} == {"num"} and classes["impl"] == "txt"
    # number-like text: versions, commit hashes, device indices as labels; never a measurement
    assert number_like_text == {"compute capability", "driver (version)", "CUDA runtime (version)", "device", "commit"}
    assert "th.num,td.num{text-align:right" in page and "text-align:left" in page
    assert "<script" not in page.lower()
    # the odd variant name, once per machine, and the h100 probe note
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3
    pngs = sorted(report.glob("*.png"))
    assert len(pngs) == 2 * (len(KERNEL_FAMILIES) + 1)  # per machine: one figure per op and the launch costs
    assert page.count('src="data:image/png;base64,') == len(pngs)
    assert "http://" not in page and "https://" not in page
    assert st.SCRIPT not in markdown


def test_markdown_aligns_numbers_right(markdown: str) -> None:
    op_md = md_section(machine_md(markdown, "h100-test"), f"### {VA.name}:")
    rule = next(line for line in op_md.splitlines() if line.startswith("|--") or line.startswith("|:-"))
    cells = rule.strip("|").split("|")
    assert cells[0].endswith(":") and not cells[0].startswith(":")  # n: right
    assert cells[1].startswith(":") and not cells[1].endswith(":")  # impl: left


def test_csv_is_the_tidy_frame(results: Results, report: Path) -> None:
    frame = results.frame
    csv = pd.read_csv(report / "results.csv")
    assert list(csv.columns) == list(frame.columns)
    assert len(csv) == len(frame)
    ok = frame[frame.samples.notna()].index[0]
    assert json.loads(csv.samples[ok]) == frame.samples[ok]
    assert json.loads(csv.params[ok]) == frame.params[ok]


def test_only_baselines_left_says_what_is_missing_in_one_line(results: Results, tmp_path: Path) -> None:
    baselines = {f.cls_id for f in st.families("baseline")}
    frame = results.frame[results.frame.benchmark.map(lambda b: b.rpartition(".")[0] in baselines)]
    write_report(Results(frame=frame, unread=[], probes={}), SUITE, tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    machine = machine_md(markdown, "h100-test")
    # the head, and each op with host baselines (an op without them has no section at all)
    assert machine.count("Not measured in the runs shown on h100-test") == 1 + len(baselines)
    assert f"### {MATMUL.name}:" not in machine
    assert md_table(md_section(machine, f"### {VA.name}:"), f"{VA.name} host baselines")
    assert "Every file under the results directory was read." in markdown
    assert not list((tmp_path / "out").glob("*.png"))


def test_old_results_only_are_counted_not_shown(tmp_path: Path) -> None:
    real = ROOT / "tests" / "fixtures" / "h100_real_subset"
    if not real.is_dir():
        pytest.skip("tests/fixtures/h100_real_subset is absent")
    loaded = load_results(real, SUITE)
    write_report(loaded, SUITE, tmp_path / "out", machine="h100-80gb-hbm3", commit="617e")
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "No results for" not in markdown
    assert f"No results with ids of the suite '{SUITE.name}' for h100-80gb-hbm3 in this selection" in markdown
    skipped = md_table(md_section(markdown, "## Files not read"), "Rows whose benchmark ids")
    assert md_row(skipped, commit="617e61aa")["rows skipped (count)"] == format_value(
        int((loaded.frame.commit_short == "617e61aa").sum()))


# --- the CLI (owned elsewhere; it calls write_report) ---------------------------------------

needs_cli = pytest.mark.skipif(importlib.util.find_spec("gpukernels.cli.report") is None,
                               reason="gpukernels.cli.report (the report CLI) is not in this checkout yet")


@needs_cli
def test_cli_writes_report_and_leaves_results_untouched(tree: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    done = cli("--results", str(tree), "--out", str(tmp_path / "out"), "--machine", "h100-test",
               "--commit", OLD[:4])
    assert done.returncode == 0, done.stderr
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "## h100-test (" in markdown and "## h200-test" not in markdown
    assert f"commit {OLD}" in markdown and "No results for" not in markdown
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before


@needs_cli
def test_cli_reads_the_suite_it_is_given(tree: Path, tmp_path: Path) -> None:
    """--suite MODULE:NAME: another project's suite (here one family of ours, the copies) decides what
    the report shows; every other id of the tree is counted as not in that suite."""
    (tmp_path / "copies_only.py").write_text(
        "from gpukernels.suite import Suite\n"
        "from gpukernels.ours.transfers import COPY_FAMILY\n"
        "SUITE = Suite('copies only')\n"
        "SUITE.add(COPY_FAMILY)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = cli("--results", str(tree), "--out", str(tmp_path / "out"), "--machine", "h100-test",
               "--suite", "copies_only:SUITE", env=env)
    assert done.returncode == 0, done.stderr
    markdown = (tmp_path / "out" / "report.md").read_text()
    ceiling = md_row(md_table(md_section(markdown, "## Machines and GPUs"), "The report's bandwidth ceiling"),
                     machine="h100-test")
    assert ceiling["measured by"] == "transfers.Copy kind=d2d, nbytes=2^30"  # the only streaming family
    assert "(transfers.Copy: ours and the peers)" in markdown
    assert "### vector_add" not in markdown and "kernels.VectorAdd" not in markdown
    skipped = md_table(md_section(markdown, "## Files not read"), "Rows whose benchmark ids are not in the suite "
                                                                  "'copies only'")
    assert {r["commit"] for r in skipped} == {OLD, MID, NEW}


CLI_REFUSALS = [
    (["--results", "{tmp}/absent"], "report: no results directory at"),
    (["--results", "{tree}", "--out", "{tree}/reports"], "report: refusing to write the report into the results"),
    (["--results", "{tree}", "--commit", "ffff"], "report: no results for commit 'ffff'"),
    (["--results", "{tree}", "--machine", "a100"], "report: no results for machine 'a100'"),
    # --suite names the project's Suite as MODULE:NAME; anything else is refused before reading
    (["--results", "{tree}", "--suite", "gpukernels.ours.suite"], "report: --suite 'gpukernels.ours.suite': give "
                                                                  "MODULE:NAME"),
    (["--results", "{tree}", "--suite", "no_such_module:SUITE"], "report: --suite 'no_such_module:SUITE': cannot "
                                                                 "import no_such_module"),
    (["--results", "{tree}", "--suite", "gpukernels.ours.suite:NOPE"], "report: --suite "
                                                                       "'gpukernels.ours.suite:NOPE': "
                                                                       "gpukernels.ours.suite has no NOPE"),
    (["--results", "{tree}", "--suite", "gpukernels.ours.suite:Suite"], "report: --suite "
                                                                        "'gpukernels.ours.suite:Suite' is a type, "
                                                                        "not a gpukernels Suite"),
]


def refusal_argv(args: list[str], tree: Path, tmp_path: Path) -> list[str]:
    argv = [a.format(tmp=tmp_path, tree=tree) for a in args]
    return argv if "--out" in argv else [*argv, "--out", str(tmp_path / "out")]


@needs_cli
@pytest.mark.parametrize("args, message", CLI_REFUSALS)
def test_cli_refusals_exit_2_with_one_line_in_process(tree: Path, tmp_path: Path, capsys, args: list[str],
                                                      message: str) -> None:
    from gpukernels.cli import report as report_cli

    before = sorted(p.relative_to(tree) for p in tree.rglob("*"))
    code = report_cli.main(refusal_argv(args, tree, tmp_path))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1
    assert sorted(p.relative_to(tree) for p in tree.rglob("*")) == before


# The same refusals through scripts/report.py in a process of its own (the exit status, no traceback):
# an interpreter start each, about a second. -m "not slow" runs the first, refused before reading (the
# quick runs of scripts/report.py that read results: the two tests of --results and --suite above);
# .ci/run every case
@needs_cli
@pytest.mark.parametrize("args, message", representatives(CLI_REFUSALS, fast=[CLI_REFUSALS[0]]))
def test_cli_exit_2_with_one_line(tree: Path, tmp_path: Path, args: list[str], message: str) -> None:
    before = sorted(p.relative_to(tree) for p in tree.rglob("*"))
    done = cli(*refusal_argv(args, tree, tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert sorted(p.relative_to(tree) for p in tree.rglob("*")) == before


def test_no_numba_import() -> None:
    # compared with a bare interpreter: site .pth hooks may preload a 'cuda' namespace package
    code = ("import sys; before = set(sys.modules); sys.path.insert(0, sys.argv[1]); "
            "import gpukernels.results, gpukernels.report.render; "
            "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in ('numba', 'numba_cuda', 'cuda')))")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow  # headless Chromium: .ci/run runs it
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_html_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium'}", f"--screenshot={shot}", "--window-size=1200,3000",
         (report / "report.html").as_uri()],
        capture_output=True, timeout=120, check=True,
    )
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1200, 3000)
        colours = image.convert("L").getcolors(maxcolors=256 * 256)
    assert colours is not None and len(colours) > 50  # text, tables and plots, not a blank page


def test_tuned_choices_table_from_the_probe() -> None:
    probe = {"probes": {"tuned_choice": {"measured": True, "note": "", "data": [
        {"n": 2**20, "choice": "quads_2", "quads us": 2.31, "quads_2 us": 2.29, "pairs us": 2.46},
        {"n": 1000, "choice": "pairs", "quads us": 1.1, "quads_2 us": 1.2, "pairs us": 1.0}]}}}
    table = ours_report.tuned_choices(probe)
    assert list(table.frame.columns) == ["n", "tuned chose", "quads us", "quads_2 us", "pairs us"]
    assert table.frame["n"].tolist() == ["2^20", "1,000"]
    assert table.frame["tuned chose"].tolist() == ["quads_2", "pairs"]
    probe["probes"]["tuned_choice"]["measured"] = False  # the simulator's: nothing was timed
    assert ours_report.tuned_choices(probe) is None
    assert ours_report.tuned_choices(None) is None and ours_report.tuned_choices({"probes": {}}) is None
