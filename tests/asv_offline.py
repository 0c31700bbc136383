"""Build and view the asv HTML history offline, without writing into the repository.

Used by tests/test_asv_publish.py:

* ``write_conf`` copies asv.conf.json (minus its ``//`` comment lines) into a temp dir
  with absolute paths, so ``asv publish`` reads the committed results/ but writes its
  html (and anything else) only under that temp dir.
* ``fetch_assets`` / ``localize_index_html``: asv's index.html loads jQuery, flot,
  stupidtable, blueimp-md5 and bootstrap from CDNs, which this machine and CI cannot
  reach. The same files come from the npm registry (``npm pack``), are cached in
  ``~/.cache/gpukernels-asv-assets`` (or ``$GPUKERNELS_ASV_ASSETS``), copied into the
  html dir, and index.html is rewritten to point at the copies.
* ``serve`` serves a directory on 127.0.0.1 on a free port; ``chromium`` runs headless
  Chromium against it (``--dump-dom`` / ``--screenshot``).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASV_CONF = REPO / "asv.conf.json"


class AssetsUnavailable(RuntimeError):
    """npm is missing or the registry could not be reached: the browser part skips."""


# ---------------------------------------------------------------------------------------
# asv publish into a temp dir


def load_asv_conf(path: Path = ASV_CONF) -> dict:
    """asv.conf.json as a dict; asv allows ``//`` comment lines, json does not."""
    lines = [
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("//")
    ]
    return json.loads("\n".join(lines))


def write_conf(tmp: Path) -> Path:
    """A copy of asv.conf.json whose outputs all lie under ``tmp``."""
    conf = load_asv_conf()
    conf.update(
        repo=str(REPO),
        benchmark_dir=str(REPO / conf.get("benchmark_dir", "benchmarks")),
        results_dir=str(REPO / conf.get("results_dir", "results")),
        html_dir=str(tmp / "html"),
        env_dir=str(tmp / "env"),
    )
    path = tmp / "asv.conf.json"
    path.write_text(json.dumps(conf, indent=4))
    return path


def publish(conf: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m asv publish --config conf``, run from the repository root as a user would:
    asv imports the config's ``"plugins": [".module"]`` from the current directory."""
    return subprocess.run(
        [sys.executable, "-m", "asv", "publish", "--config", str(conf)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ---------------------------------------------------------------------------------------
# CDN assets from the npm registry


@dataclass(frozen=True)
class Asset:
    url: str  # exactly as in asv 0.6.6's index.html
    package: str  # npm name@version
    file: str  # path inside the npm tarball (under package/)


# flot 0.8.3 on npm ships only the non-minified files; stupidtable 1.0.1 (cdnjs) is not
# on npm: stupid-table-plugin 1.1.3 is the only published version (same $.fn.stupidtable).
# The other files are byte-identical to the CDN ones (their SRI hashes match).
ASSETS = (
    Asset("https://code.jquery.com/jquery-3.3.1.min.js", "jquery@3.3.1", "dist/jquery.min.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js",
          "flot@0.8.3", "jquery.flot.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js",
          "flot@0.8.3", "jquery.flot.time.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js",
          "flot@0.8.3", "jquery.flot.selection.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js",
          "flot@0.8.3", "jquery.flot.categories.js"),
    Asset("https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js",
          "flot-orderbars@1.0.0", "js/jquery.flot.orderBars.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js",
          "stupid-table-plugin@1.1.3", "stupidtable.min.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js",
          "blueimp-md5@2.19.0", "js/md5.min.js"),
    Asset("https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js",
          "bootstrap@3.1.1", "dist/js/bootstrap.min.js"),
    Asset("https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css",
          "bootstrap@3.1.1", "dist/css/bootstrap.min.css"),
)

# Extra files a package's asset refers to relatively (bootstrap.min.css -> ../fonts/).
EXTRA_DIRS = {"bootstrap@3.1.1": ("dist/fonts",)}


def cache_dir() -> Path:
    env = os.environ.get("GPUKERNELS_ASV_ASSETS")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "gpukernels-asv-assets"


def _npm_pack(spec: str, dest: Path) -> Path:
    """The extracted ``package/`` dir of ``npm pack spec``, cached under dest."""
    final = dest / spec.replace("/", "_")
    if (final / "package" / "package.json").is_file():
        return final / "package"
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsUnavailable("npm is not installed (needed to fetch asv's CDN assets)")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".pack-") as work:
        try:
            proc = subprocess.run(
                [npm, "pack", spec, "--json", "--silent", "--fetch-retries=1",
                 "--fetch-retry-maxtimeout=10000", "--fetch-timeout=60000"],
                cwd=work, capture_output=True, text=True, timeout=150,
            )
        except subprocess.TimeoutExpired as exc:
            raise AssetsUnavailable(f"npm pack {spec} timed out") from exc
        tarballs = list(Path(work).glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            try:  # with --json, npm reports {"error": {"code", "summary", ...}} on stdout
                reason = json.loads(proc.stdout)["error"]["summary"]
            except (ValueError, KeyError, TypeError):
                reason = " ".join((proc.stderr + proc.stdout).split())[-500:]
            raise AssetsUnavailable(f"npm pack {spec} failed (rc={proc.returncode}): {reason}")
        out = Path(work) / "x"
        with tarfile.open(tarballs[0]) as tar:
            if hasattr(tarfile, "data_filter"):  # 3.10.12+ / 3.11.4+
                tar.extractall(out, filter="data")
            else:
                tar.extractall(out)
        if not (out / "package" / "package.json").is_file():
            raise AssetsUnavailable(f"npm pack {spec}: no package/package.json in tarball")
        name, _, version = spec.rpartition("@")
        meta = json.loads((out / "package" / "package.json").read_text())
        if (meta.get("name"), meta.get("version")) != (name, version):
            raise AssetsUnavailable(f"npm pack {spec} gave {meta.get('name')}@{meta.get('version')}")
        with contextlib.suppress(OSError):  # a concurrent run may have won the race
            os.rename(out, final)
    return final / "package"


def fetch_assets(dest: Path | None = None) -> dict[str, Path]:
    """{package spec: extracted package dir} for every package in ASSETS."""
    dest = dest or cache_dir()
    return {spec: _npm_pack(spec, dest) for spec in sorted({a.package for a in ASSETS})}


def sri(path: Path, algo: str) -> str:
    digest = hashlib.new(algo, path.read_bytes()).digest()
    return f"{algo}-{base64.b64encode(digest).decode()}"


_TAG = re.compile(r"<(script|link)\b[^>]*>", re.S)
_ATTR = re.compile(r'\s(src|href|integrity|crossorigin|referrerpolicy)="([^"]*)"')


def localize_index_html(html_dir: Path, packages: dict[str, Path]) -> dict[str, dict]:
    """Copy the assets into html_dir/vendor/ and point index.html's tags at them.

    A tag keeps its ``integrity`` attribute when the local file has exactly that hash
    (so the browser checks the copy is the CDN's file), and loses it otherwise.
    Returns {url: {"local": relative path, "sri_match": bool}}; raises if a URL of
    ASSETS is missing from index.html or a CDN URL is left over.
    """
    index = html_dir / "index.html"
    text = index.read_text()
    by_url = {a.url: a for a in ASSETS}
    report: dict[str, dict] = {}

    for spec, pkg in packages.items():
        for extra in EXTRA_DIRS.get(spec, ()):
            target = html_dir / "vendor" / spec / extra
            if not target.exists():
                shutil.copytree(pkg / extra, target)

    def rewrite(match: re.Match) -> str:
        tag = match.group(0)
        attrs = dict(_ATTR.findall(tag))
        url = attrs.get("src") or attrs.get("href")
        if url not in by_url:
            return tag
        asset = by_url[url]
        src = packages[asset.package] / asset.file
        rel = f"vendor/{asset.package}/{asset.file}"
        (html_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, html_dir / rel)
        expected = attrs.get("integrity", "")
        algo = expected.split("-", 1)[0] if expected else ""
        match_ = bool(algo) and sri(src, algo) == expected
        report[url] = {"local": rel, "sri_match": match_}
        attr = "src" if "src" in attrs else "href"
        tag = tag.replace(f'{attr}="{url}"', f'{attr}="{rel}"')
        if not match_:
            tag = re.sub(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"', "", tag)
        return tag

    text = _TAG.sub(rewrite, text)
    missing = sorted(set(by_url) - set(report))
    if missing:
        raise AssertionError(f"asv index.html no longer loads {missing}: update ASSETS")
    leftover = [
        m.group(0) for m in _TAG.finditer(text)
        if re.search(r'\s(src|href)="(https?:)?//', m.group(0)) and 'rel="alternate"' not in m.group(0)
    ]
    if leftover:
        raise AssertionError(f"index.html still loads remote assets: {leftover}")
    index.write_text(text)
    return report


# ---------------------------------------------------------------------------------------
# serving and headless Chromium


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve directory on 127.0.0.1:<free port>; yields the base URL (ending in /)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def chromium_binary() -> str | None:
    return shutil.which("chromium")


def chromium(url: str, profile: Path, *, screenshot: Path | None = None,
             budget_ms: int = 10000, timeout: float = 60) -> str:
    """Load url in headless Chromium; the DOM after budget_ms of virtual time.

    With screenshot, also writes a 1400x1000 PNG there (same run).
    """
    binary = chromium_binary()
    if binary is None:
        raise FileNotFoundError("chromium")
    args = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
        f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
    ]
    if screenshot is not None:
        args += [f"--screenshot={screenshot}", "--window-size=1400,1000"]
    args += ["--dump-dom", url]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"chromium rc={proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout
