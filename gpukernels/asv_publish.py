"""asv plugin (asv.conf.json ``"plugins": [".gpukernels.asv_publish"]``): the graph legend below the plot.

asv 0.6.6 draws the graph page's legend inside the plot (flot ``position: "nw"``), one line per
series x parameter value with every differing machine field in it; with two GPU machines and ten
sizes that is 20 to 40 long lines over the data. After ``asv publish`` has copied its page
template, this moves the legend into a scrolling box under the overview plot (flot's
``legend.container``). asv is pinned, so the patched lines are known; a template that no longer
holds them stops publish with one line instead of silently leaving the legend where it was.
Imports only asv (asv's own process loads it).
"""
from __future__ import annotations

import math
from pathlib import Path

from asv.publishing import OutputPublisher
from asv.util import UserError

LEGEND_HEIGHT_PX = 150
# (file, old, new): the main plot and the overview move up by the legend box's height
PATCHES = (
    ("graphdisplay.js",
     'legend: {\n                show: show_legend,\n                position: "nw",',
     'legend: {\n                show: show_legend,\n                position: "nw",\n'
     '                container: $("#graph-legend"),'),
    ("index.html",
     '<div style="position: absolute; top: 48px; left: 0; right: 0; bottom: 100px;">',
     f'<div style="position: absolute; top: 48px; left: 0; right: 0; bottom: {100 + LEGEND_HEIGHT_PX}px;">'),
    ("index.html",
     '<div style="position: absolute; height: 100px; left: 0; right: 0; bottom: 0; padding-top: 24px">',
     f'<div style="position: absolute; height: 100px; left: 0; right: 0; bottom: {LEGEND_HEIGHT_PX}px; '
     'padding-top: 24px">'),
    ("index.html",
     '<div id="overview" style="min-height: 100px; width: 100%; height: 100%"></div>\n          </div>',
     '<div id="overview" style="min-height: 100px; width: 100%; height: 100%"></div>\n          </div>\n'
     f'          <div id="graph-legend" style="position: absolute; height: {LEGEND_HEIGHT_PX - 28}px; left: 0; '
     'right: 0; bottom: 0; overflow-y: auto; font-size: 11px"></div>'),
)


class LegendBelowGraph(OutputPublisher):
    """Runs after asv's own publishers; adds no page."""

    order = math.inf

    @classmethod
    def publish(cls, conf, repo, benchmarks, graphs, revisions) -> None:
        html = Path(conf.html_dir)
        for name, old, new in PATCHES:
            path = html / name
            text = path.read_text(encoding="utf-8")
            if old not in text:
                raise UserError(f"gpukernels.asv_publish: {name} of this asv has changed; update PATCHES")
            path.write_text(text.replace(old, new, 1), encoding="utf-8")
