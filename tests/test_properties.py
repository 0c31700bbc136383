"""Property-based: the report and the regression gate on damaged copies of the real results.

Each example copies the committed results/ into a temporary directory and damages it: parameter
values of any type, missing and extra keys, truncated and empty files, NaN/inf/negative/zero
results and samples, unknown benchmark ids, ids renamed into our suite's, mixed benchmark
versions, stray files, a missing or corrupt benchmarks.json, machine.json without GPU fields,
a run of our suite (gpukernels.ours.suite) with odd values. Then, in-process:

- ``gpukernels.cli.report.main`` returns 0 or 2 and ``gpukernels.cli.compare.main`` 0, 1 or 2;
  neither raises;
- every file that is not even JSON, and that the loader reads, is named by the report (stdout,
  stderr or report.md);
- nothing prints an infinity or the negative time planted by the damage.

Hypothesis profiles: ``dev`` (8 examples, the default) and ``ci`` (1000), chosen by the
environment variable ``HYPOTHESIS_PROFILE``. The many examples render the report without
rasterising its figures (``render._png`` stubbed: matplotlib's PNG encoder is most of a
report's time); a few examples run the whole CLI with PNGs. Under ci the many examples are the
longest test of .ci/run (about 0.55 s each on a 2-core machine, nearly all of it the report):
marked ``longest``, it starts first on one xdist worker while the other runs everything else.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpukernels.cli import report as report_cli
from gpukernels.ours.suite import SUITE

try:  # the compare CLI moves from scripts/ to gpukernels.cli; take whichever exists
    from gpukernels.cli.compare import main as compare_main
except ImportError:  # pragma: no cover - only while scripts/compare.py still holds it
    import importlib.util

    _script = Path(__file__).parents[1] / "scripts" / "compare.py"
    _spec = importlib.util.spec_from_file_location("_compare_script", _script)
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    compare_main = _module.main

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "results"
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
settings.register_profile("dev", max_examples=8, deadline=None, suppress_health_check=_SUPPRESS)
settings.register_profile("ci", max_examples=1000, deadline=None, suppress_health_check=_SUPPRESS)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
settings.load_profile(PROFILE)
FULL_EXAMPLES = max(3, settings.get_profile(PROFILE).max_examples // 100)

ASV_COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
               "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples", "profile"]
NEGATIVE_TIME = -0.0031415926  # planted; printed in any unit it would show as -0.00314, -3.14 or -3,142
NEGATIVE_PRINTED = re.compile(r"(?<![\w.])-\s?(?:0[.,]0*)?3[.,]?14")
INF_PRINTED = re.compile(r"\binf(inity)?\b|∞", re.IGNORECASE)
PNG_DATA = re.compile(r'src="data:image/png;base64,[A-Za-z0-9+/=]*"')
BAD_NUMBERS = [math.nan, math.inf, -math.inf, NEGATIVE_TIME, 0.0, -0.0, 1e300, "12", None, [1.0], True, {}]
MACHINE = "h100-80gb-hbm3"
COMMITS = sorted({p.stem.split("-")[0] for p in (RESULTS / MACHINE).glob("*-*.json")})
SUITE_COMMIT = "c0ffee00" + "1" * 32

# JSON values of any type that cannot print as an infinity or the planted negative time
_TEXT = st.text(alphabet="abcdghjkmnopqrstuvwxyz0123456789_+./:<>&' \"[]{}", max_size=12)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 2**62), _TEXT,
                    st.floats(allow_nan=False, allow_infinity=False, width=32))
ANY_VALUE = st.recursive(_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(_TEXT, inner, max_size=3)), max_leaves=6
                         ).filter(lambda v: not re.search(r"3\D?1\D?4|inf|e\d{3}", json.dumps(v), re.IGNORECASE))


# --- the damage ------------------------------------------------------------------------------

def machine_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name != "probes" and not p.name.startswith("."))


def result_files(root: Path) -> list[Path]:
    return [f for d in machine_dirs(root) for f in sorted(d.glob("*.json")) if f.name != "machine.json"]


def read(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write(path: Path, data) -> None:
    path.write_text(json.dumps(data, allow_nan=True), encoding="utf-8")


def pick(data, items: list):
    return items[data.draw(st.integers(0, len(items) - 1))] if items else None


def a_result(root: Path, data) -> tuple[Path, dict, str, list] | None:
    """(file, its JSON, a benchmark id in it, that benchmark's row) of a readable result file."""
    path = pick(data, result_files(root))
    doc = read(path) if path else None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict) or not doc["results"]:
        return None
    name = pick(data, sorted(doc["results"]))
    row = doc["results"][name]
    return (path, doc, name, row) if isinstance(row, list) else None


def damage_param(root: Path, data) -> None:
    found = a_result(root, data)
    if found and len(found[3]) > 1 and isinstance(found[3][1], list) and found[3][1]:
        path, doc, name, row = found
        values = row[1]
        i = data.draw(st.integers(0, len(values) - 1))
        if isinstance(values[i], list) and values[i] and data.draw(st.booleans()):
            values[i][data.draw(st.integers(0, len(values[i]) - 1))] = data.draw(ANY_VALUE)
        else:
            values[i] = data.draw(ANY_VALUE)
        write(path, doc)


def damage_keys(root: Path, data) -> None:
    """A key missing or an extra one: top level, a row cut short, an extra result column."""
    found = a_result(root, data)
    if not found:
        return
    path, doc, name, row = found
    how = data.draw(st.sampled_from(["drop_top", "extra_top", "short_row", "extra_column"]))
    if how == "drop_top":
        doc.pop(data.draw(st.sampled_from(sorted(doc))), None)
    elif how == "extra_top":
        doc[data.draw(_TEXT)] = data.draw(ANY_VALUE)
    elif how == "short_row":
        doc["results"][name] = row[: data.draw(st.integers(0, len(row)))]
    elif isinstance(doc.get("result_columns"), list):
        doc["result_columns"].append("stats_extra" if data.draw(st.booleans()) else "unknown_column")
        row.append(data.draw(ANY_VALUE))
    write(path, doc)


def loader_files(root: Path) -> list[Path]:
    files = result_files(root) + [d / "machine.json" for d in machine_dirs(root) if (d / "machine.json").exists()]
    files += sorted((root / "probes").glob("*.json")) if (root / "probes").is_dir() else []
    return files + ([root / "benchmarks.json"] if (root / "benchmarks.json").exists() else [])


def damage_truncate(root: Path, data) -> None:
    path = pick(data, loader_files(root))
    if path:
        text = path.read_text(encoding="utf-8", errors="replace").rstrip()
        path.write_text(text[: data.draw(st.integers(0, max(0, len(text) - 1)))], encoding="utf-8")


def damage_empty(root: Path, data) -> None:
    path = pick(data, loader_files(root))
    if path:
        path.write_text(data.draw(st.sampled_from(["", "{}", "[]", "null", '{"version": 2}', "\x00\xff"])),
                        encoding="utf-8", errors="replace")


def damage_value(root: Path, data) -> None:
    """A result (column 0) or a sample (column 11) becomes NaN, inf, negative, zero, not a number."""
    found = a_result(root, data)
    if not found or not found[3] or not isinstance(found[3][0], list) or not found[3][0]:
        return
    path, doc, name, row = found
    i = data.draw(st.integers(0, len(row[0]) - 1))
    bad = data.draw(st.sampled_from(BAD_NUMBERS))
    if data.draw(st.booleans()):
        row[0][i] = bad
    else:
        while len(row) < 12:
            row.append(None)
        if not isinstance(row[11], list):
            row[11] = [None] * len(row[0])
        if i < len(row[11]):
            row[11][i] = [1e-5, bad, 2e-5] if data.draw(st.booleans()) else bad
    write(path, doc)


def damage_id(root: Path, data) -> None:
    """A benchmark renamed: to an id nobody knows, or into the suite with the old shape."""
    found = a_result(root, data)
    if found:
        path, doc, name, row = found
        new = data.draw(st.one_of(st.sampled_from(SUITE.ids()), st.just("unknown.Thing.time_it"),
                                  _TEXT.filter(bool)))
        doc["results"][new] = doc["results"].pop(name)
        write(path, doc)


def damage_version(root: Path, data) -> None:
    found = a_result(root, data)
    if found and len(found[3]) > 2:
        path, doc, name, row = found
        row[2] = data.draw(st.one_of(st.just("another-version"), ANY_VALUE))
        write(path, doc)


def damage_stray(root: Path, data) -> None:
    m = pick(data, machine_dirs(root)) or root
    where = data.draw(st.sampled_from(["notes", "garbage", "lost_dir", "hidden", "nested", "probe"]))
    if where == "notes":
        (m / "README.txt").write_text("not a result")
    elif where == "garbage":
        (m / "zz-garbage.json").write_text("{ this is not json")
    elif where == "lost_dir":  # a directory with a result but no machine.json
        (root / "stray").mkdir(exist_ok=True)
        shutil.copy(result_files(root)[0] if result_files(root) else RESULTS / "benchmarks.json",
                    root / "stray" / "abcd1234-env.json")
    elif where == "hidden":
        (root / ".cache").mkdir(exist_ok=True)
        (root / ".cache" / "x.json").write_text("{")
    elif where == "nested":
        (m / "sub").mkdir(exist_ok=True)
        (m / "sub" / "x.json").write_text("[")
    else:
        (root / "probes").mkdir(exist_ok=True)
        write(root / "probes" / "odd.json", data.draw(st.one_of(ANY_VALUE, st.just({"probes": {"x": {"data": 1}}}))))


def damage_benchmarks_json(root: Path, data) -> None:
    path = root / "benchmarks.json"
    doc = read(path)
    how = data.draw(st.sampled_from(["delete", "entry", "names", "version"]))
    if how == "delete" or not isinstance(doc, dict):
        path.unlink(missing_ok=True)
        return
    name = pick(data, sorted(k for k in doc if k != "version"))
    if name is None:
        return
    if how == "entry":
        doc[name] = data.draw(ANY_VALUE)
    elif how == "names" and isinstance(doc[name], dict):
        doc[name]["param_names"] = data.draw(ANY_VALUE)
    elif isinstance(doc[name], dict):
        doc[name]["version"] = data.draw(ANY_VALUE)
    write(path, doc)


def damage_machine_json(root: Path, data) -> None:
    m = pick(data, machine_dirs(root))
    doc = read(m / "machine.json") if m else None
    if not isinstance(doc, dict):
        return
    how = data.draw(st.sampled_from(["no_gpu_fields", "odd_fields", "no_name", "delete"]))
    if how == "no_gpu_fields":
        for key in ("gpu", "gpu_count", "compute_capability", "memory_bandwidth_gbs", "l2_bytes", "driver",
                    "cuda_runtime", "numba_cuda", "gpu_uuid"):
            doc.pop(key, None)
    elif how == "odd_fields":
        for key in ("gpu", "l2_bytes", "gpu_count", "memory_bandwidth_gbs"):
            doc[key] = data.draw(ANY_VALUE)
    elif how == "no_name":
        doc["machine"] = data.draw(ANY_VALUE.filter(lambda v: not isinstance(v, str)))
    else:
        (m / "machine.json").unlink()
        return
    write(m / "machine.json", doc)


def damage_probe(root: Path, data) -> None:
    path = pick(data, sorted((root / "probes").glob("*.json"))) if (root / "probes").is_dir() else None
    doc = read(path) if path else None
    if not isinstance(doc, dict):
        return
    how = data.draw(st.sampled_from(["drop", "probes", "devices"]))
    if how == "drop":
        doc.pop(data.draw(st.sampled_from(sorted(doc))), None)
    else:
        doc[how] = data.draw(ANY_VALUE)
    write(path, doc)


def add_suite_run(root: Path, data) -> None:
    """A run of our suite on the H100 (ids the report renders), values mostly sane."""
    good = st.floats(1e-6, 1.0)
    value = st.one_of(good, good, good, st.sampled_from(BAD_NUMBERS))
    results = {}
    for fam in (SUITE.family(c) for c in ("kernels.VectorAdd", "baselines.VectorAdd", "seed.SeedAudit",
                                          "transfers.Copy", "probes.Card", "launches.Roundtrip", "kernels.Matmul",
                                          "modes.VectorAdd")):
        params = [[repr(v) for v in values[:3]] for _, values in fam.params]
        count = math.prod(len(p) for p in params)
        for metric in fam.metrics:
            values = [data.draw(value) for _ in range(count)]
            samples = [[v, v] if isinstance(v, float) else None for v in values]
            results[f"{fam.cls_id}.{metric.method}"] = [values, params, "v1", None, 1.0, None, None, None, None,
                                                        [1] * count, [2] * count, samples]
    (root / MACHINE).mkdir(exist_ok=True)
    write(root / MACHINE / f"{SUITE_COMMIT[:8]}-env.json", {
        "commit_hash": SUITE_COMMIT, "env_name": "env", "date": 1_900_000_000_000, "params": {"machine": MACHINE},
        "python": "3.11", "requirements": {}, "env_vars": {}, "result_columns": ASV_COLUMNS, "results": results,
        "durations": {}, "version": 2})


DAMAGE = {f.__name__: f for f in (damage_param, damage_keys, damage_truncate, damage_empty, damage_value,
                                   damage_id, damage_version, damage_stray, damage_benchmarks_json,
                                   damage_machine_json, damage_probe)}


# The real tree minus the full-suite result files (over 100 KB each: a second or more of parsing
# and reporting per example, and every full-suite run adds two) and the A/A and A/B machines: the
# older, smaller real runs stay, and our suite's ids come from add_suite_run (and from the
# undamaged check below, which keeps everything).
FULL_SUITE_BYTES = 100_000


def _smaller(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name.endswith(("-aa", "-ab"))
            or (name.endswith(".json") and name not in ("machine.json", "benchmarks.json")
                and Path(folder, name).stat().st_size > FULL_SUITE_BYTES)}


def _copy_results(dest: Path, everything: bool = False) -> Path:
    return Path(shutil.copytree(RESULTS, dest, ignore=None if everything else _smaller))


def damaged_tree(data, base: Path) -> Path:
    root = _copy_results(base / "results")
    if data.draw(st.booleans(), label="suite run"):
        add_suite_run(root, data)
    for name in data.draw(st.lists(st.sampled_from(sorted(DAMAGE)), min_size=1, max_size=4), label="damage"):
        DAMAGE[name](root, data)
    return root


def must_be_named(root: Path) -> set[str]:
    """Files the loader reads that are not even JSON: the report must name each."""
    with_results = {d for d in machine_dirs(root) if any(f.name != "machine.json" for f in d.glob("*.json"))}
    candidates = [f for d in with_results for f in d.glob("*.json")]
    candidates += sorted((root / "probes").glob("*.json")) if (root / "probes").is_dir() else []
    candidates += [root / "benchmarks.json"] if (root / "benchmarks.json").exists() else []
    return {f.relative_to(root).as_posix() for f in candidates if read(f) is None}


# --- the properties --------------------------------------------------------------------------

def check_clis(root: Path, out: Path, data, capsys) -> None:
    code = report_cli.main(["--results", str(root), "--out", str(out)])
    printed = capsys.readouterr()
    assert code in (0, 2), printed.err
    texts = {"report stdout": printed.out, "report stderr": printed.err}
    if code == 0:  # the HTML's embedded PNGs are bytes, not text: base64 can spell "Inf" between a / and a +
        texts.update({p.name: PNG_DATA.sub('src="data:image/png;base64,"', p.read_text(encoding="utf-8"))
                      for p in out.glob("report.*")})
    else:
        assert len(printed.err.strip().splitlines()) == 1, printed.err
    named = "\n".join(texts.values())
    for path in must_be_named(root):
        assert path in named, f"{path} not named"

    base, head = data.draw(st.sampled_from([*COMMITS, SUITE_COMMIT[:8]]), label="base"), \
        data.draw(st.sampled_from([*COMMITS, SUITE_COMMIT[:8]]), label="head")
    code = compare_main([base, head, "--results", str(root), "--machine", MACHINE])
    printed = capsys.readouterr()
    assert code in (0, 1, 2), printed.err
    texts.update({"compare stdout": printed.out, "compare stderr": printed.err})
    for name, text in texts.items():
        assert not INF_PRINTED.search(text), (name, INF_PRINTED.search(text))
        assert not NEGATIVE_PRINTED.search(text), (name, NEGATIVE_PRINTED.search(text))


# .ci/run's workers share the examples (1000 under HYPOTHESIS_PROFILE=ci): each part draws its own,
# in parallel. One test of 1000 took 830 s of a clean 911 s .ci/run on the 2-core machine at
# bc27165; two parts 384 and 369 s side by side, 816 s in all.
PARTS = 2


@pytest.mark.longest
@pytest.mark.parametrize("part", range(PARTS))
@settings(max_examples=-(-settings.get_profile(PROFILE).max_examples // PARTS))
@given(data=st.data())
def test_report_and_compare_survive_damaged_results(part, data, capsys, monkeypatch) -> None:
    from gpukernels.ours import report as ours_report
    from gpukernels.report import plots, render

    monkeypatch.setattr(render, "_png", lambda figure: render.plt.close(figure) or b"")
    # Figures in one example in ten, which hypothesis picks (and in every example of the test below):
    # drawing them was a sixth of an example's time (cProfile, 60 examples)
    if data.draw(st.integers(0, 9), label="draw the figures if 0") != 0:
        monkeypatch.setattr(plots, "op_rates", lambda view, op: None)
        monkeypatch.setattr(ours_report, "launch_costs", lambda table, machine: None)
    with tempfile.TemporaryDirectory() as tmp:
        root = damaged_tree(data, Path(tmp))
        check_clis(root, Path(tmp) / "report", data, capsys)


@settings(max_examples=FULL_EXAMPLES)
@given(data=st.data())
def test_the_whole_report_cli_with_figures(data, capsys) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = damaged_tree(data, Path(tmp))
        check_clis(root, Path(tmp) / "report", data, capsys)


@pytest.mark.slow  # seconds on the simulator: .ci/run runs it
def test_the_undamaged_tree_passes_the_same_checks(tmp_path: Path, capsys, no_png_encoding) -> None:
    """The oracle itself: the committed results print no infinity and no planted negative."""
    root = _copy_results(tmp_path / "results", everything=True)
    assert must_be_named(root) == set()
    code = report_cli.main(["--results", str(root), "--out", str(tmp_path / "rep")])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    text = printed.out + printed.err + (tmp_path / "rep" / "report.md").read_text()
    assert not INF_PRINTED.search(text) and not NEGATIVE_PRINTED.search(text)


@pytest.mark.parametrize("profile", ["dev", "ci"])
def test_profiles(profile: str) -> None:
    p = settings.get_profile(profile)
    assert p.deadline is None and p.max_examples == {"dev": 8, "ci": 1000}[profile]
    assert PARTS * -(-p.max_examples // PARTS) >= p.max_examples  # the parts draw the profile's examples
