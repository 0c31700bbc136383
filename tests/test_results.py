"""gpukernels.results against a synthetic asv tree written by asv's own writers, its damaged
variants, and the committed real results (read only)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from fixtures.synthetic_tree import COMMITS, DATES, OLD_IDS, RUNS, SCRIPT, status_counts, write_tree
from gpukernels.ours.suite import SUITE
from gpukernels.ours.vector_add import SIZES
from gpukernels.results import COLUMNS, NoResultsError, Results, load_results
from gpukernels.suite import Suite

REPO = Path(__file__).resolve().parent.parent
ASV_COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
               "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples", "profile"]
BAD_FILES = {"h100-test/deadbeef-corrupt.json", "h200-test/feedface-nokeys.json", "broken-machine/12345678-env.json",
             "broken-machine/machine.json"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "results")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Results]:
    """The undamaged tree and what load_results(tree, SUITE) made of it, once for the tests that only
    read both (loading writes nothing: test_loading_writes_nothing)."""
    root = write_tree(tmp_path_factory.mktemp("pristine") / "results")
    return root, load_results(root, SUITE)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def raw_result_files(tree: Path) -> list[Path]:
    return [p for p in tree.glob("h*-test/*.json") if p.name != "machine.json" and p.stem[:8] in
            {c[:8] for c in COMMITS.values()}]


def write_run(tree: Path, machine: str, commit: str, results: dict[str, list], env: str = "env-x") -> Path:
    """A raw asv v2 result file: ``results`` maps a benchmark id to its row (asv's column order)."""
    path = tree / machine / f"{commit[:8]}-{env}.json"
    path.write_text(json.dumps({
        "commit_hash": commit, "env_name": env, "date": DATES["new"] + 1000, "params": {"machine": machine},
        "python": "3.11", "requirements": {}, "env_vars": {}, "result_columns": ASV_COLUMNS, "results": results,
        "durations": {}, "version": 2}, allow_nan=True))
    return path


def test_frame_equals_the_json(pristine: tuple[Path, Results]) -> None:
    tree, results = pristine
    frame = results.frame
    files = raw_result_files(tree)
    assert len(files) == len(RUNS)
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
                    assert got.status == "ok" and got.value == want and got.reason == ""
            stats_q25 = entry.get("stats_q_25") or [None] * len(rows)
            for got, want in zip(rows.q_25, stats_q25):
                assert (math.isnan(got) and want is None) or got == want
            samples = entry.get("samples") or [None] * len(rows)
            assert [s for s in rows.samples] == samples
            assert set(rows.version) == {entry["version"]}
            assert set(rows.duration) == {entry["duration"]}
    assert total == len(frame)


def test_columns_params_suite_and_machine_fields(pristine: tuple[Path, Results]) -> None:
    frame = pristine[1].frame
    assert list(frame.columns[: frame.columns.get_loc("params") + 1]) == list(COLUMNS[: COLUMNS.index("params") + 1])
    assert set(COLUMNS) <= set(frame.columns)
    assert {f"p_{n}" for n in SUITE.param_names} <= set(frame.columns)  # always, even where nothing uses them
    rows = frame[(frame.benchmark == "kernels.VectorAdd.track_device_time") & (frame.machine == "h200-test")]
    assert sorted(rows.p_n.unique()) == list(SIZES)
    assert all(type(n) is int for n in rows.p_n)
    assert rows.params.iloc[0] == {"impl": "seed", "n": 1024}
    assert (rows.module + "." + rows.cls + "." + rows.method == rows.benchmark).all()
    assert set(rows.family) == {"kernels.VectorAdd"} and set(rows.metric) == {"time"} and set(rows.bound) == {"device"}
    assert set(rows.commit_short) == {COMMITS["new"][:8]}
    assert set(rows.date) == {pd.Timestamp(DATES["new"], unit="ms", tz="UTC")}
    assert rows.started_at.notna().all()
    assert set(rows.unit) == {"seconds"} and set(rows.type) == {"time"}
    assert set(rows.gpu) == {"NVIDIA H200"} and set(rows.l2_bytes) == {60 * 2**20}
    ok = rows[rows.status == "ok"].iloc[0]
    assert ok.n_samples == 5 and ok["median"] == sorted(ok.samples)[2]
    h100 = frame[frame.machine == "h100-test"]  # its machine.json holds these numbers as strings
    assert set(h100.l2_bytes) == {50 * 2**20} and set(h100.memory_bandwidth_gbs) == {3352.3}
    assert SCRIPT in set(frame.p_variant.dropna())
    assert math.isnan(frame[frame.benchmark == "compile.Compile.track_seconds"].p_n.iloc[0])
    old = frame[frame.benchmark.isin(OLD_IDS)]  # ids of the previous suite: loaded, not in the suite
    assert len(old) and old.family.isna().all() and old.bound.isna().all() and old.metric.isna().all()
    host = frame[frame.benchmark == "baselines.VectorAdd.track_seconds"]
    assert set(host.bound) == {"host"}


def test_failed_and_skipped_are_counted_apart(pristine: tuple[Path, Results]) -> None:
    frame = pristine[1].frame
    for machine, key, roles in RUNS:
        run = frame[(frame.machine == machine) & (frame.commit == COMMITS[key]) & frame.family.notna()]
        want = {k: v for k, v in status_counts(machine, key, roles).items() if v}
        assert run.status.value_counts().to_dict() == want, (machine, key)


def test_version_mismatch_is_kept_and_labelled(pristine: tuple[Path, Results]) -> None:
    frame = pristine[1].frame
    device = frame[(frame.benchmark == "kernels.VectorAdd.track_device_time") & (frame.machine == "h100-test")]
    old = device[device.commit == COMMITS["old"]]
    assert len(old) and set(old.version) == {"v0"} and not old.version_current.any()
    assert device[device.commit == COMMITS["new"]].version_current.all()


def test_unreadable_files_are_named_and_the_rest_loaded(pristine: tuple[Path, Results]) -> None:
    tree, results = pristine
    reasons = dict(results.unread)
    assert set(reasons) == BAD_FILES
    assert "Error parsing JSON" in reasons["h100-test/deadbeef-corrupt.json"]
    assert "missing key 'params'" in reasons["h200-test/feedface-nokeys.json"]
    assert reasons["broken-machine/12345678-env.json"].startswith("machine.json unreadable")
    assert str(tree) not in " ".join(reasons.values())
    assert set(results.frame.machine) == {"h100-test", "h200-test"}
    assert results.probes["h100-test"]["probes"]["index_mapping"]["data"]["launch"] == "[2,4]"


@pytest.mark.parametrize("content", ['[1, 2', '{"probes": 5}', '{"devices": {}}', '[]'])
def test_a_bad_probe_file_is_named(tree: Path, content: str) -> None:
    (tree / "probes" / "h200-test.json").write_text(content, encoding="utf-8")
    results = load_results(tree, SUITE)
    assert "probes/h200-test.json" in dict(results.unread)
    assert list(results.probes) == ["h100-test"]


@pytest.mark.parametrize("damage", ["missing", "empty_object", "empty_file", "truncated", "not_object", "bad_entries"])
def test_benchmarks_json_damage_is_named_and_columns_stay(tree: Path, damage: str) -> None:
    path = tree / "benchmarks.json"
    text = path.read_text()
    if damage == "missing":
        path.unlink()
    else:
        path.write_text({"empty_object": "{}", "empty_file": "", "truncated": text[: len(text) // 2],
                         "not_object": '{"version": 2, "a": [1]}', "bad_entries": '{"version": 2, "x": 5}'}[damage])
    results = load_results(tree, SUITE)
    reasons = dict(results.unread)
    assert "benchmarks.json" in reasons, reasons
    frame = results.frame
    assert {f"p_{n}" for n in SUITE.param_names} <= set(frame.columns)
    copy = frame[frame.benchmark == "transfers.Copy.track_device_time"]
    assert set(copy.p_nbytes.dropna()) and set(copy.unit) == {"seconds"}  # names and units from the suite
    assert set(frame[frame.benchmark == "kernels.VectorAdd.track_bandwidth"].unit) == {"GB/s"}
    assert not frame.version_current.any()


def test_values_that_cannot_be_measurements_are_invalid(tree: Path) -> None:
    inf, nan = float("inf"), float("nan")
    rows = {
        # kernels.VectorAdd (impl x n): one impl, five sizes: ok, inf, 0, negative, a string
        "kernels.VectorAdd.track_device_time": [[1e-5, inf, 0.0, -1e-5, "fast"], [["'seed'"], ["1024", "4096",
                                                "16384", "65536", "262144"]], "v1", None, None,
                                                [1e-5, 1, 1, 1, 1], [-1.0, 1, 1, 1, 1]],
        # samples with a negative time; a bandwidth of inf; a count of 0 that is fine
        "kernels.Sum.track_device_time": [[2e-5], [["'numba'"], ["1024"]], "v1", None, None, None, None, None,
                                          None, None, None, [[2e-5, -3e-5, 2e-5]]],
        "kernels.Sum.track_bandwidth": [[inf], [["'numba'"], ["1024"]], "v1"],
        "probes.IndexMapping.track_coverage_errors": [[0.0, nan], [["'1d'", "'2d'"]], "v1"],
    }
    write_run(tree, "h200-test", "9" * 40, rows)
    frame = load_results(tree, SUITE).frame
    run = frame[frame.commit == "9" * 40]
    va = run[run.benchmark == "kernels.VectorAdd.track_device_time"].set_index("p_n")
    assert va.status.to_dict() == {1024: "ok", 4096: "invalid", 16384: "invalid", 65536: "invalid",
                                   262144: "invalid"}
    assert va.loc[1024, "value"] == 1e-5 and va.loc[1024, "ci_99_a"] == 1e-5
    assert math.isnan(va.loc[1024, "ci_99_b"])  # a negative bound of a time is no statistic
    assert "infinite" in va.loc[4096, "reason"] and "zero or negative" in va.loc[16384, "reason"]
    assert "not a number" in va.loc[262144, "reason"]
    bad = run[run.status == "invalid"]
    assert bad.value.isna().all() and bad["median"].isna().all() and bad.samples.isna().all()
    assert run[run.benchmark == "kernels.Sum.track_device_time"].status.tolist() == ["invalid"]
    assert run[run.benchmark == "kernels.Sum.track_bandwidth"].status.tolist() == ["invalid"]
    errors = run[run.benchmark == "probes.IndexMapping.track_coverage_errors"]
    assert errors.status.tolist() == ["ok", "skipped"] and errors.value.iloc[0] == 0.0
    usable = frame[frame.status == "ok"]
    timed = usable[usable.unit == "seconds"]
    assert (timed.value > 0).all() and (timed["median"] > 0).all()
    assert usable.value.map(math.isfinite).all()


def test_wrong_parameter_types_and_repeated_runs_are_named(tree: Path) -> None:
    write_run(tree, "h200-test", "8" * 40, {
        "kernels.VectorAdd.track_device_time": [[1e-5], [["'seed'"], ["'big'"]], "v1"],  # n must be an int
        "kernels.Saxpy.track_device_time": [[1e-5, 2e-5], [["[1, 2]", "{'a': 1}"], ["1024"]], "v1"],  # odd impls
        "launches.Roundtrip.track_seconds": [[1e-5], [["0", "0"]], "v1"],  # a repeated value: kept once
        "unknown.Thing.time_it": [[1e-3], [["None"]], "v1"],
    })
    copy = tree / "h200-test" / f"{COMMITS['new'][:8]}-again.json"
    original = tree / "h200-test" / f"{COMMITS['new'][:8]}-existing-py_tmp_venv_bin_python.json"
    copy.write_text(original.read_text())
    results = load_results(tree, SUITE)
    reasons = dict(results.unread)
    every = [r for f, r in results.unread if f == f"h200-test/{'8' * 8}-env-x.json"]
    assert any("n='big' is not int" in r for r in every)
    assert any(r.startswith("launches.Roundtrip.track_seconds: parameter values repeated") for r in every)
    pair = {copy.relative_to(tree).as_posix(), original.relative_to(tree).as_posix()}
    repeats = {f for f, r in reasons.items() if "repeats the machine, commit and environment" in r}
    assert len(repeats) == 1 and repeats <= pair  # the later file by name is left out, and named
    frame = results.frame
    run = frame[frame.commit == "8" * 40]
    assert "kernels.VectorAdd.track_device_time" not in set(run.benchmark)
    assert set(run[run.benchmark == "kernels.Saxpy.track_device_time"].p_impl) == {"[1, 2]", "{'a': 1}"}
    assert len(run[run.benchmark == "launches.Roundtrip.track_seconds"]) == 1
    unknown = run[run.benchmark == "unknown.Thing.time_it"]
    assert unknown.p_param1.tolist() == ["None"] and unknown.unit.tolist() == ["seconds"]
    keys = frame.benchmark + frame.machine + frame.commit + frame.env_name + frame.params.map(repr)
    assert not keys.duplicated().any()  # no parameter set twice


def test_machine_json_without_gpu_fields(tree: Path) -> None:
    (tree / "h200-test" / "machine.json").write_text(json.dumps({"machine": "h200-test", "version": 1,
                                                                 "l2_bytes": [1], "gpu_count": "two"}))
    frame = load_results(tree, SUITE).frame
    h200 = frame[frame.machine == "h200-test"]
    assert len(h200) and h200.gpu.isna().all() and h200.l2_bytes.isna().all() and h200.gpu_count.isna().all()


def test_loading_writes_nothing(tree: Path) -> None:
    before = snapshot(tree)
    load_results(tree, SUITE)
    assert snapshot(tree) == before


def test_no_results(tmp_path: Path) -> None:
    with pytest.raises(NoResultsError, match="no results directory"):
        load_results(tmp_path / "absent")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "machine.json").write_text(json.dumps({"machine": "m", "version": 1}))
    (tmp_path / "m" / "abcdefgh-env.json").write_text("{oops")
    with pytest.raises(NoResultsError, match=r"1 file\(s\) could not be read: m/abcdefgh-env.json"):
        load_results(tmp_path)


def test_the_committed_results_load_clean() -> None:
    results = load_results(REPO / "results", SUITE)
    assert results.unread == []
    frame = results.frame
    assert set(frame.status) <= {"ok", "failed", "skipped"}  # no value there is invalid
    assert {"h100-80gb-hbm3", "h200"} <= set(results.probes)


def test_suite_ids_with_other_parameters_are_left_out_and_named(tree: Path) -> None:
    """An id of the suite with another parameter list (here the previous suite's [n, device])
    cannot be read by the suite's parameters: the report would pivot on missing columns."""
    write_run(tree, "h200-test", "7" * 40, {
        "kernels.VectorAdd.track_device_time": [[1e-5, 2e-5], [["1024", "4096"]], "v1"],
        "probes.Card.track_card_id": [[-5.0], [], "v1"],  # a unit of the suite ('id') cannot be negative
    })
    results = load_results(tree, SUITE)
    assert "are not the suite's (impl, n)" in dict(results.unread)[f"h200-test/{'7' * 8}-env-x.json"]
    run = results.frame[results.frame.commit == "7" * 40]
    assert run.benchmark.tolist() == ["probes.Card.track_card_id"] and run.status.tolist() == ["invalid"]


def test_bound_is_per_parameter_set_from_the_timing_method(pristine: tuple[Path, Results]) -> None:
    """A family's bound comes from the timing method of each parameter set: the timing modes are
    host-bound except graph replay, the seed audit's graph_device row is device-bound, and copies
    are host-bound except on the device (d2d, d2d_kernel) from 2^28 bytes."""
    frame = pristine[1].frame
    h200 = frame[frame.machine == "h200-test"]

    def bounds(benchmark: str, *names: str) -> dict:
        rows = h200[h200.benchmark == benchmark]
        assert len(rows)
        return {tuple(p[n] for n in names): b for p, b in zip(rows.params, rows.bound)}

    modes = bounds("modes.VectorAdd.track_device_time", "n", "mode")
    assert {k: b for k, b in modes.items() if k[0] == 2**20} == {
        (2**20, "single"): "host", (2**20, "batch"): "host", (2**20, "graph"): "device", (2**20, "graph_cold"): "host"}
    assert {b for (_, mode), b in modes.items() if mode == "graph"} == {"device"}
    seed = bounds("seed.SeedAudit.track_seconds", "method")
    assert seed == {("seed_async_wall",): "host", ("synced_wall",): "host", ("graph_device",): "device",
                    ("end_to_end",): "host"}
    for method in ("track_device_time", "track_bandwidth", "track_sm_clock", "track_throttle"):
        copies = bounds(f"transfers.Copy.{method}", "kind", "nbytes")
        device = {k for k, b in copies.items() if b == "device"}
        assert device == {(kind, nbytes) for kind in ("d2d", "d2d_kernel") for nbytes in (2**28, 2**30)}, method
        assert set(copies.values()) == {"device", "host"}
    assert set(h200[h200.family == "kernels.VectorAdd"].bound) == {"device"}
    assert set(h200[h200.family == "launches.Enqueue"].bound) == {"host"}
    assert set(h200[h200.family == "probes.Card"].bound) == {"device"}  # a value: no host time inside it


def test_metric_kinds_and_the_loader_without_a_suite(pristine: tuple[Path, Results]) -> None:
    """The suite names each id's family and metric kind; without a suite those columns (and the
    bound) are NaN and every id is read as asv stored it, units from benchmarks.json."""
    tree, results = pristine
    frame = results.frame
    kinds = frame.dropna(subset=["family"]).groupby("method").metric.unique().map(set).to_dict()
    assert kinds["track_device_time"] == kinds["track_seconds"] == {"time"}
    assert kinds["track_bandwidth"] == {"bandwidth"} and kinds["track_compute"] == {"compute"}
    assert kinds["track_sm_clock"] == {"clock"} and kinds["track_throttle"] == {"throttle"}
    assert kinds["track_card_id"] == kinds["track_max_grid"] == {"value"}
    matmul = frame[frame.benchmark == "kernels.Matmul.track_compute"]
    assert len(matmul) and set(matmul.unit) == {"GFLOP/s"} and {"p_m", "p_k"} <= set(frame.columns)

    bare = load_results(tree).frame
    assert len(bare) == len(frame)
    assert bare.family.isna().all() and bare.metric.isna().all() and bare.bound.isna().all()
    assert bare.unit.equals(frame.unit)  # benchmarks.json's units either way (NaN where it has none)
    assert bare.status.tolist() == frame.status.tolist()
    other = load_results(tree, Suite("empty")).frame  # a suite that knows none of these ids: the same
    assert other.family.isna().all() and other.status.tolist() == frame.status.tolist()
