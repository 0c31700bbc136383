"""The report on real H100 results (tests/fixtures/h100_real_subset): its figures are asv's."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from gpukernels.report import tables
from gpukernels.report.render import format_value, write_report
from gpukernels.results import load_results
from test_report import md_header, md_row, md_section

REAL = Path(__file__).resolve().parent / "fixtures" / "h100_real_subset"


def stored(benchmark: str, **params: str) -> float:
    """The result asv stored at 5da442f3 (its median over the samples), read from the JSON itself."""
    (path,) = (REAL / "h100-80gb-hbm3").glob("5da442f3-*.json")
    data = json.loads(path.read_text())
    names = json.loads((REAL / "benchmarks.json").read_text())[benchmark]["param_names"]
    row = dict(zip(data["result_columns"], data["results"][benchmark]))
    for combo, value in zip(itertools.product(*row["params"]), row["result"]):
        if dict(zip(names, combo)) == params:
            return value
    raise AssertionError(f"no {benchmark} at {params}")


@pytest.fixture(scope="module")
def machine_section(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report")
    write_report(load_results(REAL), out, REAL)
    return md_section((out / "report.md").read_text(), "## h100-80gb-hbm3 at 5da442f3 (2026-11-24)")


def test_device_time_at_2_28_is_asvs_median(machine_section: str) -> None:
    sizes = md_section(machine_section, "### Vector add per size")
    row = dict(zip(md_header(sizes), md_row(sizes, "2^28")))
    gpu = stored(tables.DEVICE_TIME, n="268435456", device="0")
    assert gpu == pytest.approx(1.171632e-3, rel=1e-6)
    assert row["device time (us)"] == format_value(gpu * 1e6) == "1,172"


def test_speedup_vs_numpy_at_2_24(machine_section: str) -> None:
    speed = md_section(machine_section, "### Speedup vs NumPy and CPU parallel")
    row = dict(zip(md_header(speed), md_row(speed, "2^24")))
    gpu = stored(tables.DEVICE_TIME, n="16777216", device="0")
    numpy = stored(tables.NUMPY, n="16777216")
    assert row["GPU kernel (us)"] == format_value(gpu * 1e6)
    assert row["NumPy (us)"] == format_value(numpy * 1e6)
    assert row["GPU kernel vs NumPy (x)"] == format_value(numpy / gpu) == "128"
