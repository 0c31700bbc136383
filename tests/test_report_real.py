"""The report on real GPU results with our suite's ids (tests/fixtures/real_new): its figures are asv's.

The fixture is an asv results tree (benchmarks.json, <machine>/machine.json, result files) copied
from a GPU run of the current suite. Until it exists these tests skip: the older real fixtures
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
from gpukernels.report.render import format_value, write_report
from gpukernels.results import load_results
from gpukernels.suite import DEVICE_TIME as DEVICE_TIME_METRIC
from test_report import md_row, md_section, md_table

REAL = Path(__file__).resolve().parent / "fixtures" / "real_new"
OP = SUITE.ops["vector_add"]
KERNELS = OP.kernel_family
DEVICE_TIME = f"{KERNELS.cls_id}.{DEVICE_TIME_METRIC.method}"
N = 2**28

pytestmark = pytest.mark.skipif(
    not (REAL / "benchmarks.json").is_file(),
    reason="tests/fixtures/real_new (asv results of the current suite from a GPU run) is not in the checkout yet",
)


def h100_machine() -> str:
    for machine_json in sorted(REAL.glob("*/machine.json")):
        info = json.loads(machine_json.read_text())
        if "H100" in str(info.get("gpu", "")):
            return info["machine"]
    pytest.skip("tests/fixtures/real_new has no H100 machine")


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
    write_report(load_results(REAL, SUITE), SUITE, out, REAL)
    return (out / "report.md").read_text()


def test_h100_vector_add_device_time_at_2_28_is_asvs_median(markdown: str) -> None:
    machine = h100_machine()
    # pairs: the fastest Numba kernel when this fixture was measured (ae01e77a had no quads or tuned)
    seconds, commit = stored_median(machine, DEVICE_TIME, impl="pairs", n=N)
    section = md_section(md_section(markdown, f"## {machine} ("), f"### {OP.name}:")
    rows = md_table(section, f"{OP.name} (")
    row = md_row(rows, **{"n (elements)": "2^28", "impl": "pairs"})
    assert row["device time (us)"] == format_value(seconds * 1e6)
    assert f"{KERNELS.cls_id} at commit {commit[:8]}" in section
