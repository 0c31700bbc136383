"""The report on real GPU results with our suite's ids (tests/fixtures/real_new): its figures are asv's.

The fixture is an asv results tree (benchmarks.json, h200/machine.json, the f5c7d527 result file)
copied byte for byte from the committed H200 run (README.txt there). The older real fixtures
(h100_real_subset, h200_real_5da442f3) carry ids of the previous suite, which the report counts
and does not show.
"""
from __future__ import annotations

import itertools
import json
import statistics
from pathlib import Path

import pytest

from gpukernels.ours.suite import SUITE
from gpukernels.report import render
from gpukernels.report.render import format_value, write_report
from gpukernels.results import load_results
from gpukernels.suite import DEVICE_TIME as DEVICE_TIME_METRIC
from test_report import md_row, md_section, md_table

REAL = Path(__file__).resolve().parent / "fixtures" / "real_new"
OP = SUITE.ops["vector_add"]
KERNELS = OP.kernel_family
DEVICE_TIME = f"{KERNELS.cls_id}.{DEVICE_TIME_METRIC.method}"
N = 2**28

MACHINE = "h200"


def stored_median(machine: str, benchmark: str, **params: object) -> tuple[float, str]:
    """asv's stored median (of the samples where kept, else the result) in the newest result file of
    ``machine`` holding ``benchmark``, read from the JSON itself; and that file's commit."""
    newest = None
    for path in (REAL / machine).glob("*.json"):
        if path.name == "machine.json":
            continue
        data = json.loads(path.read_text())
        if benchmark in data.get("results", {}) and (newest is None or data["date"] > newest["date"]):
            newest = data
    assert newest is not None, f"no result file of {machine} holds {benchmark}"
    names = json.loads((REAL / "benchmarks.json").read_text())[benchmark]["param_names"]
    row = dict(zip(newest["result_columns"], newest["results"][benchmark]))
    samples = row.get("samples") or [None] * len(row["result"])
    for combo, value, sample in zip(itertools.product(*row["params"]), row["result"], samples):
        if dict(zip(names, combo)) == {k: repr(v) for k, v in params.items()}:
            assert value is not None and value == value, f"{benchmark} {params} has no value"
            return (statistics.median(sample) if sample else value), newest["commit_hash"]
    raise AssertionError(f"no {benchmark} at {params}")


@pytest.fixture(scope="module")
def markdown(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:  # the Markdown only: figures drawn, not rasterised
        patch.setattr(render, "_png", lambda figure: render.plt.close(figure) or b"")
        write_report(load_results(REAL, SUITE), SUITE, out, REAL)
    return (out / "report.md").read_text()


def test_h200_vector_add_device_time_at_2_28_is_asvs_median(markdown: str) -> None:
    seconds, commit = stored_median(MACHINE, DEVICE_TIME, impl="tuned", n=N)
    section = md_section(md_section(markdown, f"## {MACHINE} ("), f"### {OP.name}:")
    rows = md_table(section, f"{OP.name} (")
    row = md_row(rows, **{"n (elements)": "2^28", "impl": "tuned (ours)"})
    assert row["device time (us)"] == format_value(seconds * 1e6)
    assert f"{KERNELS.cls_id} at commit {commit[:8]}" in section


def test_the_vector_add_limit_section_puts_asvs_bandwidths_beside_the_copy_and_the_sum(markdown: str) -> None:
    section = md_section(md_section(markdown, f"## {MACHINE} ("), "### How far a vector add can go")
    rows = md_table(section, "The largest sizes of the run")
    sum_id = f"{SUITE.ops['sum'].kernel_family.cls_id}.track_bandwidth"
    copy_id = "transfers.Copy.track_bandwidth"
    want = {("vector add, ours (tuned)", "n = 2^28"): stored_median(MACHINE, f"{KERNELS.cls_id}.track_bandwidth",
                                                                   impl="tuned", n=N)[0],
            ("vector add, PyTorch", "n = 2^28"): stored_median(MACHINE, f"{KERNELS.cls_id}.track_bandwidth",
                                                              impl="torch", n=N)[0],
            ("sum, CuPy (cub)", "n = 2^28"): stored_median(MACHINE, sum_id, impl="cupy", n=N)[0],
            ("copy, cudaMemcpy device to device", "2^30 bytes"): stored_median(MACHINE, copy_id, kind="d2d",
                                                                             nbytes=2**30)[0]}
    for (what, size), gbs in want.items():
        assert md_row(rows, what=what, size=size)["bandwidth (GB/s)"] == format_value(gbs)
    add, copy = want[("vector add, ours (tuned)", "n = 2^28")], want[("copy, cudaMemcpy device to device", "2^30 bytes")]
    assert f"{add / copy:.1%} of cudaMemcpy device to device" in section
    assert "Against PyTorch's add: 1.002x, a tie" in section  # 4,378 against 4,367 GB/s


def stored_stats(machine: str, benchmark: str, **params: object) -> dict:
    """asv's stored stats (result, stats_q_25, stats_q_75, ...) of one parameter set, from the JSON."""
    (path,) = [p for p in (REAL / machine).glob("*.json") if p.name != "machine.json"]
    data = json.loads(path.read_text())
    names = json.loads((REAL / "benchmarks.json").read_text())[benchmark]["param_names"]
    row = dict(zip(data["result_columns"], data["results"][benchmark]))
    for i, combo in enumerate(itertools.product(*row["params"])):
        if dict(zip(names, combo)) == {k: repr(v) for k, v in params.items()}:
            return {k: v[i] for k, v in row.items() if k.startswith("stats_") or k == "result"}
    raise AssertionError(f"no {benchmark} at {params}")


def test_host_baselines_show_asvs_spread_and_where_they_are_latency_bound(markdown: str) -> None:
    section = md_section(md_section(markdown, f"## {MACHINE} ("), f"### {OP.name}:")
    rows = md_table(section, f"{OP.name} host baselines")
    benchmark = f"{OP.baseline_family.cls_id}.track_seconds"
    for impl, n in (("numpy", 2**20), ("cpu_parallel", 2**22)):
        stats = stored_stats(MACHINE, benchmark, impl=impl, n=n)
        iqr = 100 * (stats["stats_q_75"] - stats["stats_q_25"]) / stats["result"]
        row = md_row(rows, **{"n (elements)": f"2^{n.bit_length() - 1}"})
        assert row[f"{impl} IQR (%)"] == format_value(iqr)
    # cpu_parallel: 7.9-11.5 us from 2^10 to 2^18 (a thread pool waking), 20 us at 2^20
    assert "cpu_parallel: latency-bound up to n = 2^18 (within 2x of its fastest, 7.94 us" in section


def test_copies_name_their_host_bound_sizes_by_the_gates_rule(markdown: str) -> None:
    section = md_section(md_section(markdown, f"## {MACHINE} ("), "### Copies")
    rows = md_table(section, "copies host")
    assert md_row(rows, kind="d2d")["host-bound sizes"] == "2^20, 2^24"  # events below 2^28 bytes
    assert md_row(rows, kind="h2d_pinned")["host-bound sizes"] == "2^20, 2^24, 2^28, 2^30"
