"""The report (gpukernels.report + scripts/report.py) against the synthetic asv tree."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fixtures.synthetic_tree import COMMITS, SCRIPT, write_tree
from gpukernels.report import tables
from gpukernels.report.render import format_value, write_report
from gpukernels.results import Results, load_results

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "scripts" / "report.py"


# One tree and one report for the module: the tests only read them (and check they stay unchanged).
@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("tree") / "results")


@pytest.fixture(scope="module")
def report(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    write_report(load_results(tree), out, tree)
    return out


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLI), *args], capture_output=True, text=True, timeout=120)


def md_section(markdown: str, heading: str) -> str:
    """Text from a heading line to the next heading of the same or a higher level."""
    start = markdown.index(heading + "\n")
    level = heading.split()[0]
    following = re.search(rf"^#{{1,{len(level)}}} ", markdown[start + len(heading):], re.M)
    return markdown[start: start + len(heading) + (following.start() if following else len(markdown))]


def md_row(section: str, first_cell: str) -> list[str]:
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r}")


def md_header(section: str) -> list[str]:
    line = next(line for line in section.splitlines() if line.startswith("|"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_speedup_equals_the_loaders_medians(tree: Path, report: Path) -> None:
    frame = load_results(tree).frame
    run = frame[(frame.machine == "h100-test") & (frame.commit == COMMITS["new"])]

    def median(benchmark: str, **params) -> float:
        rows = run[run.benchmark == benchmark]
        for k, v in params.items():
            rows = rows[rows[f"p_{k}"] == v]
        (value,) = rows["median"]
        return value

    machine = md_section((report / "report.md").read_text(), "## h100-test at aaaaaaaa (2023-11-15)")
    speed = md_section(machine, "### Speedup vs NumPy and CPU parallel")
    header = md_header(speed)
    for n in (2**10, 2**20, 2**28):
        row = dict(zip(header, md_row(speed, tables.size_label(n))))
        gpu = median(tables.DEVICE_TIME, n=n, device=0)
        numpy = median(tables.NUMPY, n=n)
        pinned = median(tables.END_TO_END, n=n, memory="pinned")
        assert row["GPU kernel vs NumPy (x)"] == format_value(numpy / gpu)
        assert row["end-to-end pinned vs NumPy (x)"] == format_value(numpy / pinned)
        assert row["NumPy (us)"] == format_value(numpy * 1e6)
    assert md_row(speed, "GPU kernel vs NumPy")[1] == "2^20"
    assert md_row(speed, "end-to-end pageable vs NumPy")[1] == "never"
    assert md_row(speed, "end-to-end pinned vs NumPy")[1] == "2^20"


def test_seed_audit_and_vector_add_numbers(tree: Path, report: Path) -> None:
    markdown = (report / "report.md").read_text()
    machine = md_section(markdown, "## h100-test at aaaaaaaa (2023-11-15)")
    audit = md_section(machine, "### Seed audit: N=2^20, block 4, measured four ways")
    # synthetic model: numpy(2^20) = 5e-7 + 2^20 * 4e-10 s; seed_async_wall 1e-4 s; graph_device 1e-5 s
    numpy = 5e-7 + 2**20 * 4e-10
    assert md_row(audit, "seed_async_wall")[2:] == ["100", format_value(numpy / 1e-4)]
    assert md_row(audit, "graph_device")[2:] == ["10", format_value(numpy / 1e-5)]
    sizes = md_section(machine, "### Vector add per size")
    header = md_header(sizes)
    big = dict(zip(header, md_row(sizes, "2^28")))
    small = dict(zip(header, md_row(sizes, "2^20")))
    bandwidth = 12 * 2**28 / (2e-6 + 2**28 * 4e-12) / 1e9
    assert big["bandwidth (GB/s)"] == format_value(bandwidth)
    assert big["of copy ceiling (%)"] == format_value(100 * bandwidth / 2600)  # d2d max at 2^30
    assert big["of theoretical peak (%)"] == format_value(100 * bandwidth / 3352.3)
    assert (small["fits in L2"], big["fits in L2"]) == ("yes", "no")  # 12 * 2^20 < 50 MiB < 12 * 2^24
    assert "Best variant: n=2^24: per_thread_4; n=2^28: per_thread_4" in sizes
    assert "No results for" not in markdown


def test_side_by_side_history_and_files_not_read(report: Path) -> None:
    markdown = (report / "report.md").read_text()
    side = md_section(markdown, "## Machines side by side")
    row = dict(zip(md_header(side), md_row(side, "2^28")))
    assert row["h100-test device time (us)"] == format_value((2e-6 + 2**28 * 4e-12) * 1e6)
    assert row["h200-test device time (us)"] == format_value((2e-6 + 2**28 * 4e-12) / 1.4 * 1e6)
    past = md_section(markdown, "## History: h100-test")
    assert [md_row(past, d)[1] for d in ("2023-11-14 22:13", "2023-11-15 22:13")] == ["11111111", "aaaaaaaa"]
    assert md_row(past, "2023-11-14 22:13")[-1] == "no"  # older device-time benchmark version
    unread = md_section(markdown, "## Files not read")
    assert "h100-test/deadbeef-corrupt.json" in unread and "broken-machine/12345678-env.json" in unread
    assert md_row(unread, "h100-test")[2:5] == ["61", "3", "11"]


def test_probe_tables(report: Path) -> None:
    machine = md_section((report / "report.md").read_text(), "## h100-test at aaaaaaaa (2023-11-15)")
    limits = md_section(machine, "### Probes: documented vs measured")
    assert md_row(limits, "grid y")[1:] == ["65,535", "65,535"]
    mapping = md_section(machine, "#### Probe: index_mapping")
    assert md_header(mapping) == ["thread", "threadIdx", "blockIdx", "blockDim", "gridDim"]
    assert md_row(mapping, "5") == ["5", "1", "1", "4", "2"]


def test_html_is_self_contained_and_escaped(report: Path) -> None:
    page = (report / "report.html").read_text()
    assert "<script" not in page.lower()
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # two variant tables, one probe note
    pngs = sorted(report.glob("*.png"))
    assert len(pngs) == 8  # four figures per machine
    assert page.count('src="data:image/png;base64,') == len(pngs)
    assert "http://" not in page and "https://" not in page
    assert SCRIPT not in (report / "report.md").read_text()


def test_csv_is_the_tidy_frame(tree: Path, report: Path) -> None:
    frame = load_results(tree).frame
    csv = pd.read_csv(report / "results.csv")
    assert list(csv.columns) == list(frame.columns)
    assert len(csv) == len(frame)
    ok = frame[frame.samples.notna()].index[0]
    assert json.loads(csv.samples[ok]) == frame.samples[ok]
    assert json.loads(csv.params[ok]) == frame.params[ok]
    assert csv.value[ok] == frame.value[ok]


def test_missing_benchmarks_are_said_in_one_line(tree: Path, tmp_path: Path) -> None:
    results = load_results(tree)
    only_numpy = results.frame[results.frame.benchmark == tables.NUMPY]
    write_report(Results(frame=only_numpy, unread=[], probes={}), tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert f"No results for {tables.SEED_AUDIT} in this run." in markdown
    assert f"No results for {tables.DEVICE_TIME} in this run." in markdown
    assert "Every file under the results directory was read." in markdown
    assert not list((tmp_path / "out").glob("*.png"))


def test_cli_writes_report_and_leaves_results_untouched(tree: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    done = cli("--results", str(tree), "--out", str(tmp_path / "out"), "--machine", "h100-test",
               "--commit", COMMITS["old"][:4])
    assert done.returncode == 0, done.stderr
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "## h100-test at 11111111" in markdown and "h200-test at" not in markdown
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("args, message", [
    (["--results", "{tmp}/absent"], "report: no results directory at"),
    (["--results", "{tree}", "--out", "{tree}/reports"], "report: refusing to write the report into the results"),
    (["--results", "{tree}", "--commit", "ffff"], "report: no results for commit 'ffff'"),
    (["--results", "{tree}", "--machine", "a100"], "report: no results for machine 'a100'"),
])
def test_cli_exit_2_with_one_line(tree: Path, tmp_path: Path, args: list[str], message: str) -> None:
    before = sorted(p.relative_to(tree) for p in tree.rglob("*"))
    argv = [a.format(tmp=tmp_path, tree=tree) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    done = cli(*argv)
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
