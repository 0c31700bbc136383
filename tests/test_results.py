"""gpukernels.results against a synthetic asv tree written by asv's own writers."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from fixtures.synthetic_tree import COMMITS, DATES, SCRIPT, write_tree
from gpukernels.results import COLUMNS, NoResultsError, load_results


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "results")


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def raw_result_files(tree: Path) -> list[Path]:
    return [p for p in tree.glob("h*-test/*.json") if p.name != "machine.json" and p.stem[:8] in
            {c[:8] for c in COMMITS.values()}]


def test_frame_equals_the_json(tree: Path) -> None:
    frame = load_results(tree).frame
    files = raw_result_files(tree)
    assert len(files) == 3
    total = 0
    for path in files:
        data = json.loads(path.read_text())
        columns = data["result_columns"]
        for name, row in data["results"].items():
            entry = dict(zip(columns, row))
            rows = frame[(frame.commit == data["commit_hash"]) & (frame.machine == data["params"]["machine"])
                         & (frame.benchmark == name)]
            assert len(rows) == len(entry["result"])
            total += len(rows)
            for got, want in zip(rows.itertuples(), entry["result"]):
                if want is None:
                    assert got.status == "failed" and math.isnan(got.value)
                elif math.isnan(want):
                    assert got.status == "skipped" and math.isnan(got.value)
                else:
                    assert got.status == "ok" and got.value == want
            stats_q25 = entry.get("stats_q_25") or [None] * len(rows)
            for got, want in zip(rows.q_25, stats_q25):
                assert (math.isnan(got) and want is None) or got == want
            samples = entry.get("samples") or [None] * len(rows)
            assert [s for s in rows.samples] == samples
            assert set(rows.version) == {entry["version"]}
            assert set(rows.duration) == {entry["duration"]}
    assert total == len(frame)


def test_columns_params_and_machine_fields(tree: Path) -> None:
    frame = load_results(tree).frame
    assert list(frame.columns[: frame.columns.get_loc("params") + 1]) == list(COLUMNS[: COLUMNS.index("params") + 1])
    assert set(COLUMNS) <= set(frame.columns)
    rows = frame[(frame.benchmark == "vector_add.VectorAdd.track_device_time") & (frame.machine == "h200-test")]
    assert sorted(rows.p_n.unique()) == [2**10, 2**20, 2**24, 2**28]
    assert all(type(n) is int for n in rows.p_n)
    assert rows.params.iloc[0] == {"n": 1024, "device": 0}
    assert (rows.module + "." + rows.cls + "." + rows.method == rows.benchmark).all()
    assert set(rows.commit_short) == {COMMITS["new"][:8]}
    assert set(rows.date) == {pd.Timestamp(DATES["new"], unit="ms", tz="UTC")}
    assert set(rows.unit) == {"seconds"} and set(rows.type) == {"time"}
    assert set(rows.gpu) == {"NVIDIA H200"} and set(rows.l2_bytes) == {60 * 2**20}
    ok = rows[rows.status == "ok"].iloc[0]
    assert ok.n_samples == 5 and ok["median"] == sorted(ok.samples)[2] == ok.value
    h100 = frame[frame.machine == "h100-test"]  # its machine.json holds these numbers as strings
    assert set(h100.l2_bytes) == {50 * 2**20} and set(h100.memory_bandwidth_gbs) == {3352.3}
    assert SCRIPT in set(frame.p_variant.dropna())
    assert math.isnan(frame[frame.benchmark == "compile.Compile.track_first_call"].p_n.iloc[0])


def test_failed_and_skipped_are_counted_apart(tree: Path) -> None:
    frame = load_results(tree).frame
    latest = frame[(frame.machine == "h100-test") & (frame.commit == COMMITS["new"])]
    # VectorAdd x3 benchmarks skip device 1 at 4 sizes, except time_call at 2^28 which failed on both;
    # SeedGrids '[2**30,1]' failed.
    assert latest.status.value_counts().to_dict() == {"ok": 61, "skipped": 11, "failed": 3}
    failed = latest[latest.status == "failed"]
    assert set(failed.benchmark) == {"vector_add.VectorAdd.time_call", "launches.SeedGrids.track_launch_and_sync"}


def test_version_mismatch_is_kept_and_labelled(tree: Path) -> None:
    frame = load_results(tree).frame
    device = frame[(frame.benchmark == "vector_add.VectorAdd.track_device_time") & (frame.machine == "h100-test")]
    old = device[device.commit == COMMITS["old"]]
    assert len(old) == 8 and set(old.version) == {"v0"} and not old.version_current.any()
    assert device[device.commit == COMMITS["new"]].version_current.all()
    assert frame[frame.benchmark != "vector_add.VectorAdd.track_device_time"].version_current.all()


def test_unreadable_files_are_named_and_the_rest_loaded(tree: Path) -> None:
    results = load_results(tree)
    reasons = dict(results.unread)
    assert set(reasons) == {"h100-test/deadbeef-corrupt.json", "h200-test/feedface-nokeys.json",
                            "broken-machine/12345678-env.json"}
    assert "Error parsing JSON" in reasons["h100-test/deadbeef-corrupt.json"]
    assert "missing key 'params'" in reasons["h200-test/feedface-nokeys.json"]
    assert reasons["broken-machine/12345678-env.json"].startswith("machine.json unreadable")
    assert str(tree) not in " ".join(reasons.values())
    assert set(results.frame.machine) == {"h100-test", "h200-test"}
    assert results.probes["h100-test"]["probes"]["index_mapping"]["data"]["launch"] == "[2,4]"


def test_a_corrupt_probe_file_is_named(tree: Path) -> None:
    (tree / "probes" / "h200-test.json").write_text("[1, 2", encoding="utf-8")
    results = load_results(tree)
    assert "probes/h200-test.json" in dict(results.unread)
    assert list(results.probes) == ["h100-test"]


def test_loading_writes_nothing(tree: Path) -> None:
    before = snapshot(tree)
    load_results(tree)
    assert snapshot(tree) == before


def test_no_results(tmp_path: Path) -> None:
    with pytest.raises(NoResultsError, match="no results directory"):
        load_results(tmp_path / "absent")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "machine.json").write_text(json.dumps({"machine": "m", "version": 1}))
    (tmp_path / "m" / "abcdefgh-env.json").write_text("{oops")
    with pytest.raises(NoResultsError, match=r"1 file\(s\) could not be read"):
        load_results(tmp_path)
