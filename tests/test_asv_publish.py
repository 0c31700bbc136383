"""`asv publish` builds the HTML history from the committed results/, and it renders.

Part 1 (always runs): publish with a temp copy of asv.conf.json whose html_dir/env_dir lie
in tmp_path, then check index.json (benchmarks, both machines, the GPU machine fields)
and the graph JSON, and that nothing was written into the repository.

Part 2 (marked slow; skips without chromium, or when npm cannot fetch asv's CDN assets): serve the
html dir on 127.0.0.1 with the CDN scripts replaced by npm copies (tests/asv_offline.py)
and check, in headless Chromium's DOM and screenshot, the benchmark grid, the graph of
kernels.Saxpy.track_device_time and the machine filters.

Set ASV_PUBLISH_SCREENSHOT_DIR to keep the screenshots.

What asv does with the committed results that these tests pin down (docs/validation.md, "asv
publish"): the result files made before the uuid fix carry ``gpu_uuid`` in their ``params``, and
asv keys graph series by those params, so their history is drawn as one series per physical
card (results are never edited; newer results carry no uuid). asv.conf.json's
``regressions_first_commits`` starts regression detection after the A/B validation's revert,
which the per-card split would otherwise hide, and its thresholds are the gate's factors.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import asv_offline

REPO = asv_offline.REPO
RESULTS = REPO / "results"
# asv publish draws only results at a benchmark's current version. kernels.VectorAdd's version
# changed at 75e02160 (the quads and tuned implementations joined its parameters) and at 3a1e4591
# (the version stopped hashing implementation prose), so its graph starts there; saxpy's runs
# through every full-suite commit on both GPUs and the A/A machine.
# f5c7d527 changed how every version is computed (it covers every measuring helper): from there on
# only its results are at the current version, on the H200.
BENCH = "kernels.Saxpy.track_device_time"
FULL_SUITE = "ae01e77a"  # the full suite on both GPUs; also where the last A/B was reverted
CURRENT_SUITE = "f5c7d527"  # the first full suite at the current versions (h200)
GPU_FIELDS = ("gpu", "gpu_count", "compute_capability", "driver", "cuda_runtime", "numba_cuda")


def _machines() -> dict[str, dict]:
    """{name: machine.json} for every machine dir under results/ (probes/ has none)."""
    out = {}
    for path in sorted(RESULTS.glob("*/machine.json")):
        out[path.parent.name] = json.loads(path.read_text())
    return out


MACHINES = _machines()


def _tree_state(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------------------------------
# part 1: asv publish


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("asv_publish")
    conf = asv_offline.write_conf(tmp)
    repo_top = sorted(p.name for p in REPO.iterdir())
    results_before = _tree_state(RESULTS)
    proc = asv_offline.publish(conf)
    return {
        "tmp": tmp,
        "conf": conf,
        "html": tmp / "html",
        "proc": proc,
        "repo_top_before": repo_top,
        "repo_top_after": sorted(p.name for p in REPO.iterdir()),
        "results_before": results_before,
        "results_after": _tree_state(RESULTS),
    }


@pytest.fixture(scope="module")
def index(published):
    return json.loads((published["html"] / "index.json").read_text())


def test_expected_machines_committed():
    assert {"h100-80gb-hbm3", "h200"} <= set(MACHINES)


def test_temp_conf_points_outside_repo(published):
    conf = json.loads(published["conf"].read_text())
    source = asv_offline.load_asv_conf()
    assert conf["project"] == source["project"] == "gpukernels"
    assert conf["repo"] == str(REPO)
    assert conf["results_dir"] == str(RESULTS)
    assert conf["benchmark_dir"] == str(REPO / "benchmarks")
    for key in ("html_dir", "env_dir"):
        assert Path(conf[key]).is_relative_to(published["tmp"]), key
    # everything else is the committed config, unchanged
    for key, value in source.items():
        if key not in {"repo", "results_dir", "benchmark_dir", "html_dir", "env_dir"}:
            assert conf[key] == value, key


def test_publish_succeeds_without_writing_into_repo(published):
    proc = published["proc"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Writing index" in proc.stdout
    assert (published["html"] / "index.html").is_file()
    assert published["repo_top_after"] == published["repo_top_before"]
    assert published["results_after"] == published["results_before"]


def test_index_lists_benchmarks(index):
    benchmarks = index["benchmarks"]
    committed = json.loads((RESULTS / "benchmarks.json").read_text())
    committed.pop("version", None)
    assert set(benchmarks) == set(committed)
    assert BENCH in benchmarks
    assert benchmarks[BENCH]["param_names"] == ["impl", "n"]
    assert benchmarks[BENCH]["unit"] == "seconds"
    assert index["project"] == "gpukernels"


def test_index_lists_both_machines_with_gpu_fields(index):
    assert set(index["machines"]) == set(MACHINES)
    for name, machine in MACHINES.items():
        shown = index["machines"][name]
        for field in GPU_FIELDS:
            assert field in machine, (name, field)
            assert shown[field] == machine[field], (name, field)
    assert index["machines"]["h100-80gb-hbm3"]["gpu"] == "NVIDIA H100 80GB HBM3"
    assert index["machines"]["h200"]["gpu"] == "NVIDIA H200"


def test_index_params_carry_gpu_fields(index):
    # index.json's "params" maps each machine/env param name to the list of its values
    # over all results: the graph page's filters are built from it.
    params = index["params"]
    assert sorted(params["machine"]) == sorted(MACHINES)
    for field in GPU_FIELDS:
        assert sorted(params[field]) == sorted({m[field] for m in MACHINES.values()}), field
    # each graph series is keyed by one combination of these params
    for combo in index["graph_param_list"]:
        assert combo["machine"] in MACHINES
        machine = MACHINES[combo["machine"]]
        for field in GPU_FIELDS:
            assert combo[field] == machine[field], (combo["machine"], field)


def test_index_revisions_cover_result_commits(index):
    hashes = set(index["revision_to_hash"].values())
    for name in MACHINES:
        runs = [p for p in (RESULTS / name).glob("*.json") if p.name != "machine.json"]
        assert runs, name
        for path in runs:
            assert json.loads(path.read_text())["commit_hash"] in hashes, path


def _at_current_version() -> set[str]:
    """Machines with a result of BENCH at benchmarks.json's version: the ones asv publish draws."""
    version = json.loads((RESULTS / "benchmarks.json").read_text())[BENCH]["version"]
    def stored(path: Path) -> str | None:
        data = json.loads(path.read_text())
        row = data["results"].get(BENCH)
        return row[data["result_columns"].index("version")] if row else None
    return {name for name in MACHINES for p in (RESULTS / name).glob("*.json")
            if p.name != "machine.json" and stored(p) == version}


def test_graph_json_for_each_machine(published, index):
    graphs = published["html"] / "graphs"
    summary = json.loads((graphs / "summary" / f"{BENCH}.json").read_text())
    assert summary and all(len(point) == 2 and point[1] > 0 for point in summary)

    files = sorted(graphs.rglob(f"{BENCH}.json"))
    per_machine = {}
    for path in files:
        m = re.search(r"/machine-([^/]+)/", str(path.relative_to(graphs.parent)))
        if m:
            per_machine.setdefault(m.group(1), []).append(path)
    assert set(per_machine) == _at_current_version() and per_machine  # older versions are not drawn

    impls = index["benchmarks"][BENCH]["params"][0]
    n_values = index["benchmarks"][BENCH]["params"][1]
    for machine, paths in per_machine.items():
        points = [pt for p in paths for pt in json.loads(p.read_text())]
        assert points, machine
        for revision, values in points:
            assert str(revision) in index["revision_to_hash"]
            assert len(values) == len(n_values) * len(impls)
        finite = [v for _, values in points for v in values if v is not None]
        # device times: positive, below a second
        assert finite and all(0 < v < 1 for v in finite), machine
        # every machine drawn has the first full suite at the current versions
        full_suite = {r for r, h in index["revision_to_hash"].items() if h.startswith(CURRENT_SUITE)}
        assert {str(r) for r, _ in points} & full_suite, machine


# the A/B validations' planted slowdowns and their reverts (2026-11-24 morning; this session)
PLANTED, REVERT = ("92da6ebb", "666d9230"), ("6c9baf00", "ae01e77a")


def _regressions(html: Path) -> list[list]:
    return json.loads((html / "regressions.json").read_text())["regressions"]


def test_regressions_list_no_reverted_regression(published, index):
    r2h = index["revision_to_hash"]
    for name, _path, _params, _j, _last, _best, jumps in _regressions(published["html"]):
        for _a, b, _before, _after in jumps:
            assert not r2h[str(b)].startswith(PLANTED), (name, "reverted at " + ", ".join(REVERT))


def test_publish_prints_no_skipping_for_our_files(published):
    # asv walks every directory under results_dir and warns for one without a machine.json;
    # no asv option excludes a directory, so the probe JSON lives in probes/, beside results/.
    skipped = [line for line in published["proc"].stdout.splitlines() if "Skipping" in line]
    assert skipped == []


@pytest.fixture(scope="module")
def derived_regression(tmp_path_factory):
    """results/ plus a derived h200 result at a commit after the revert, device times x 1.5."""
    later = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    if not later or later.startswith(CURRENT_SUITE):
        pytest.skip("needs a commit after the full-suite commit")
    tmp = tmp_path_factory.mktemp("derived_regression")
    tree = tmp / "derived_results_h200_slower_at_head"
    shutil.copytree(RESULTS, tree)
    # asv publish draws only ids in benchmarks.json, which every asv run of the new suite rewrites:
    # keep the old ids' entries (the fixture holds the benchmarks.json these results came with)
    old_ids = json.loads((REPO / "tests" / "fixtures" / "h100_real_subset" / "benchmarks.json").read_text())
    current = json.loads((tree / "benchmarks.json").read_text())
    (tree / "benchmarks.json").write_text(json.dumps({**old_ids, **current}))
    (source,) = (tree / "h200").glob(f"{CURRENT_SUITE}-*.json")
    data = json.loads(source.read_text())
    data["commit_hash"], data["date"] = later, data["date"] + 86_400_000
    row = data["results"][BENCH]
    row[0] = [v * 1.5 if isinstance(v, float) and v == v else v for v in row[0]]
    (tree / "h200" / source.name.replace(CURRENT_SUITE, later[:8])).write_text(json.dumps(data))
    conf_path = asv_offline.write_conf(tmp)
    conf = json.loads(conf_path.read_text())
    conf["results_dir"] = str(tree)
    conf_path.write_text(json.dumps(conf))
    proc = asv_offline.publish(conf_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"later": later, "html": tmp / "html"}


def test_a_regression_after_the_revert_is_still_listed(derived_regression):
    index = json.loads((derived_regression["html"] / "index.json").read_text())
    r2h = index["revision_to_hash"]
    listed = {(name.split("(")[0], params.get("machine"), r2h[str(jumps[-1][1])])
              for name, _p, params, _j, _l, _b, jumps in _regressions(derived_regression["html"])}
    assert (BENCH, "h200", derived_regression["later"]) in listed


# ---------------------------------------------------------------------------------------
# part 2: the page in headless Chromium


@pytest.fixture(scope="module")
def site(published, tmp_path_factory):
    if asv_offline.chromium_binary() is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    if published["proc"].returncode != 0:
        pytest.skip("asv publish failed (see test_publish_succeeds_without_writing_into_repo)")
    try:
        packages = asv_offline.fetch_assets()
    except asv_offline.AssetsUnavailable as exc:
        pytest.skip(f"asv's CDN assets could not be fetched from npm: {exc}")
    tmp = tmp_path_factory.mktemp("asv_site")
    html = tmp / "html"
    shutil.copytree(published["html"], html)
    assets = asv_offline.localize_index_html(html, packages)
    keep = os.environ.get("ASV_PUBLISH_SCREENSHOT_DIR")
    shots = Path(keep) if keep else tmp / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    pages = {
        "index": "",
        "graph": f"#{BENCH}",
        "graph_nolegend": f"#{BENCH}?show-legend=false",
        "regressions": "#regressions",
    }
    doms = {}
    with asv_offline.serve(html) as base:
        for name, fragment in pages.items():
            doms[name] = asv_offline.chromium(
                base + "index.html" + fragment, tmp / f"profile-{name}",
                screenshot=shots / f"asv_{name}.png",
            )
    return {"html": html, "assets": assets, "dom": doms, "shots": shots}


def _section(dom: str, element_id: str, length: int = 200_000) -> str:
    start = dom.find(f'id="{element_id}"')
    assert start >= 0, f"#{element_id} not in the DOM"
    return dom[start:start + length]


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))


@pytest.mark.slow  # headless Chromium: .ci/run runs it
def test_assets_are_the_cdn_files(site):
    # Where npm ships the very file the CDN serves, index.html keeps its SRI hash (and
    # Chromium enforces it); flot (minified only on cdnjs) and stupidtable (1.0.1 not on
    # npm) are the closest npm files, loaded without integrity.
    assets = site["assets"]
    assert set(assets) == {a.url for a in asv_offline.ASSETS}
    identical = {u for u, info in assets.items() if info["sri_match"]}
    assert identical == {
        "https://code.jquery.com/jquery-3.3.1.min.js",
        "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js",
        "https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js",
        "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js",
        "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css",
    }
    text = (site["html"] / "index.html").read_text()
    assert "cdnjs.cloudflare.com" not in text and "cdn.jsdelivr.net" not in text
    for info in assets.values():
        assert (site["html"] / info["local"]).is_file()


@pytest.mark.slow  # headless Chromium: .ci/run runs it
def test_pages_loaded_their_scripts(site):
    for name, dom in site["dom"].items():
        # js_load_failure() sends the browser to error.html
        assert "continental origin of swallow" not in dom, name
        assert "airspeed velocity" in dom and "gpukernels" in dom, name


@pytest.mark.slow  # headless Chromium: .ci/run runs it
def test_index_page_shows_benchmark_grid(site):
    dom = site["dom"]["index"]
    grid = _text(_section(dom, "summarygrid-display"))
    for module in ("kernels", "launches", "transfers", "probes", "baselines"):
        assert module in grid
    assert "VectorAdd.track_device_time" in grid
    assert dom.count('class="flot-base"') >= 1  # thumbnails are flot plots


@pytest.mark.slow  # headless Chromium: .ci/run runs it
def test_graph_page_plots_the_machines_at_the_current_version(site):
    dom = site["dom"]["graph"]
    main = _section(dom, "main-graph", 400_000)
    assert '<canvas class="flot-base"' in main[:2000]
    ticks = re.findall(r'class="flot-tick-label tickLabel"[^>]*>([^<]*)<', main)
    assert len(ticks) >= 3
    labels = re.findall(r'class="legendLabel"[^>]*>([^<]*)<', dom)
    # one machine at the current versions (h200): the legend names the series by parameters, and
    # "plain" (saxpy's one-element kernel) exists only in runs at the current version
    assert _at_current_version() == {"h200"}
    assert any("impl-plain" in label for label in labels) and any("impl-numba" in label for label in labels)
    assert BENCH in _text(dom)


@pytest.mark.slow  # headless Chromium: .ci/run runs it
def test_graph_page_filters_by_gpu_fields(site, index):
    panel = _text(_section(site["dom"]["graph"], "graphdisplay-state-params", 60_000))
    # asv shows a filter for each machine param with more than one value (one-valued
    # ones, e.g. compute_capability 9.0 on both, stay in index.json only)
    shown = [k for k, v in index["params"].items() if len(v) > 1 and k != "branch"]
    assert {"machine", "gpu"} <= set(shown)
    for key in shown:
        assert f" {key} " in panel, key
        for value in index["params"][key]:
            if value is not None:  # a field older results lack (e.g. sm_clock_default_mhz)
                assert str(value) in panel, (key, value)
    assert "h100-80gb-hbm3" in panel and "NVIDIA H200" in panel


@pytest.mark.slow  # headless Chromium: .ci/run runs it
def test_graph_screenshot_shows_lines(site):
    np = pytest.importorskip("numpy")
    image = pytest.importorskip("PIL.Image")

    def pixels(name):
        with image.open(site["shots"] / name) as img:
            return np.asarray(img.convert("RGB"), dtype=np.int16)

    shot = pixels("asv_graph_nolegend.png")
    assert shot.shape == (1000, 1400, 3)
    # the plot area right of the 220 px filter panel, below the navbar; with the legend
    # off, strongly coloured pixels there are series lines and points
    plot = shot[120:900, 240:1380]
    colored = int(((plot.max(axis=2) - plot.min(axis=2)) > 60).sum())
    # one run at the current versions so far: its points, not yet lines (a blank plot has none)
    assert colored > 100, colored
    grid = pixels("asv_index.png")[120:900, 240:1380].reshape(-1, 3)
    assert len(np.unique(grid, axis=0)) > 2  # the grid page is not blank either


@pytest.mark.slow  # headless Chromium: .ci/run runs it
def test_regressions_page_shows_no_reverted_slowdown(site):
    dom = site["dom"]["regressions"]
    body = _text(_section(dom, "regressions-body", 100_000))
    assert not any(p in body for p in PLANTED) and "regressions" in body.lower()


@pytest.mark.slow  # headless Chromium: .ci/run runs it
def test_graph_legend_does_not_cover_the_plot(site):
    # asv 0.6.6 draws the legend inside the plot (flot position "nw"): with 2 machines x 10
    # sizes its lines cover the data. Moving it needs an asv publish plugin (a module asv
    # imports, listed in asv.conf.json's "plugins"); until the lead adds it this fails visibly.
    conf = asv_offline.load_asv_conf()
    if ".gpukernels.asv_publish" not in conf.get("plugins", []):
        pytest.xfail("the legend is inside the plot until gpukernels/asv_publish.py is added (lead)")
    dom = site["dom"]["graph"]
    main = _section(dom, "main-graph", 400_000)
    legend_at = dom.find('id="graph-legend"')
    assert legend_at >= 0
    main_end = dom.find('id="overview"')
    assert 'class="legendLabel"' not in dom[dom.find('id="main-graph"'):main_end]
    assert 'class="legendLabel"' in dom[legend_at:]
    assert '<canvas class="flot-base"' in main[:2000]
