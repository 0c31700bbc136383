"""The nvbench cross-check without a GPU: cases, nvbench's JSON read back, rows and ratios, the
whole flow against a fake ``cuda.bench`` on the simulator, and the probe's simulator answer."""
from __future__ import annotations

import json
import math
import sys
from types import SimpleNamespace

import pytest

from gpukernels import crosscheck as cc
from gpukernels.ours import probes
from gpukernels.ours import probe_tables as ours_report
from gpukernels.ours.suite import SUITE


def nvbench_json(entries: dict[str, dict[str, float] | None]) -> dict:
    """nvbench's JSON shape: a benchmark per name, one state, summaries of typed values (None: skipped)."""
    benches = []
    for name, tags in entries.items():
        summaries = [{"tag": tag, "name": tag, "data": [{"name": "value", "type": "float64", "value": str(v)},
                                                         {"name": "hint", "type": "string", "value": "duration"}]}
                     for tag, v in (tags or {}).items()]
        summaries.append({"tag": "nv/cold/sample_size", "data": [{"name": "value", "type": "int64", "value": "17"}]})
        benches.append({"name": name, "devices": [0], "axes": [],
                        "states": [{"name": "Device=0", "is_skipped": tags is None, "summaries": summaries}]})
    return {"meta": {}, "devices": [], "benchmarks": benches}


def test_cases_cover_ops_sizes_and_implementations() -> None:
    found = cc.cases(SUITE, ["vector_add", "matmul"], [2**10, {"m": 64, "n": 64, "k": 64}],
                     {"vector_add": ["tuned"], "matmul": ["numba"]})
    names = [c.name for c in found]
    assert "vector_add/tuned/n=1024" in names and "matmul/numba/m=64,n=64,k=64" in names
    everything = cc.cases(SUITE, ["saxpy"], [2**10], {})
    assert [c.impl for c in everything] == list(SUITE.ops["saxpy"].gpu_impls)


def test_summaries_and_rows() -> None:
    doc = nvbench_json({"a": {cc.COLD_TAG: 2e-6, cc.BATCH_TAG: 1e-6}, "b": None})
    found = cc.summaries(doc)
    assert found["a"] == {cc.COLD_TAG: 2e-6, cc.BATCH_TAG: 1e-6, "nv/cold/sample_size": 17.0}
    assert found["b"] == {}
    case = cc.Case("sum", "numba", (("n", 2**24),))
    row = cc.row(case, found["a"], 1.01e-6, 1.9e-6)
    assert row["axes"] == {"n": "2^24"} and row["ratio"] == pytest.approx(1.01)
    assert row["cold_ratio"] == pytest.approx(0.95)
    assert row["graph_vs_batch_pct"] == pytest.approx(1.0) and row["cold_vs_cold_pct"] == pytest.approx(-5.0)
    missing = cc.row(case, {}, 1e-6, 1e-6)
    assert math.isnan(missing["ratio"]) and math.isnan(missing["nvbench_batch_s"])


class FakeBench:
    """Just enough of cuda.bench: register, set_name, State.exec calling the launcher, JSON out."""

    def __init__(self) -> None:
        self.registered: list = []
        self.argv: list[str] = []

    def register(self, fn):
        bench = SimpleNamespace(fn=fn, name=fn.__name__)
        bench.set_name = lambda name: setattr(bench, "name", name) or bench
        self.registered.append(bench)
        return bench

    def run_all_benchmarks(self, argv: list[str]) -> None:
        self.argv = list(argv)
        entries = {}
        for bench in self.registered:
            state = FakeState()
            bench.fn(state)
            entries[bench.name] = None if state.skipped else {cc.COLD_TAG: 4e-6, cc.BATCH_TAG: 2e-6}
        with open(argv[argv.index("--json") + 1], "w") as f:
            json.dump(nvbench_json(entries), f)


class FakeState:
    def __init__(self) -> None:
        self.skipped = ""
        self.reads = 0

    def skip(self, reason: str) -> None:
        self.skipped = reason

    def add_global_memory_reads(self, nbytes: int, column_name: str = "") -> None:
        self.reads = nbytes

    def exec(self, launcher) -> None:
        stream = SimpleNamespace(addressof=lambda: 1234)
        launch = SimpleNamespace(get_stream=lambda: stream)
        for _ in range(3):
            launcher(launch)


@pytest.mark.slow  # seconds on the simulator: .ci/run runs it
def test_crosscheck_against_a_fake_nvbench(monkeypatch) -> None:
    fake = FakeBench()
    monkeypatch.setitem(sys.modules, "cuda.bench", fake)
    wrapped = []
    # the simulator has no external streams: nvbench's handle becomes the default stream
    monkeypatch.setattr(cc.cuda, "external_stream", lambda handle: wrapped.append(handle) or 0, raising=False)
    rows = cc.crosscheck(SUITE, ["vector_add", "sum"], [2**10], {"vector_add": ["tuned", "torch"], "sum": ["numba"]},
                         samples=2)
    assert [(r["op"], r["impl"]) for r in rows] == [("vector_add", "tuned"), ("sum", "numba")]  # torch: skipped
    assert wrapped == [1234, 1234]  # one wrapper per stream per case, not one per launch
    assert fake.argv[:1] == ["gpukernels-crosscheck"] and "--devices" in fake.argv and "--json" in fake.argv
    for r in rows:
        assert r["nvbench_batch_s"] == 2e-6 and r["nvbench_cold_s"] == 4e-6
        assert r["ratio"] == pytest.approx(r["ours_graph_s"] / 2e-6) and r["ours_cold_s"] > 0


def test_missing_nvbench_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cuda.bench", None)  # import fails as if not installed
    with pytest.raises(cc.NvbenchMissing, match=r"gpukernels\[crosscheck\]"):
        cc.crosscheck(SUITE, ["sum"], [2**10], {"sum": ["numba"]})


def test_probe_under_the_simulator_is_not_measured() -> None:
    assert probes.nvbench_crosscheck() == {"data": {"rows": []}, "measured": False,
                                           "note": "simulator: nvbench needs a real GPU"}
    assert list(probes.PROBES)[-2:] == ["kernel_anatomy", "nvbench_crosscheck"]


def test_report_table() -> None:
    row = cc.row(cc.Case("sum", "cupy", (("n", 2**28),)), {cc.COLD_TAG: 260e-6, cc.BATCH_TAG: 250e-6}, 252.5e-6, 262.6e-6)
    probe = {"probes": {"nvbench_crosscheck": {"data": {"rows": [row]}, "measured": True, "note": ""}}}
    table = ours_report.crosscheck(probe)
    r = table.frame.iloc[0]
    assert r["size"] == "n = 2^28" and r["ours graph (us)"] == pytest.approx(252.5)
    assert r["nvbench batch (us)"] == pytest.approx(250) and r["graph vs batch (%)"] == pytest.approx(1.0)
    assert r["graph_cold vs cold (%)"] == pytest.approx(1.0)
    assert "within 2%" in table.caption and "nvbench" in table.caption
    assert ours_report.crosscheck(None) is None
