"""Our suite: the ops (vector add, saxpy, sum, matmul) and the tutorial's experiments.

Adding an op: its module (kernel, problem, implementations, the ``Op``) and one ``add_op`` line
here; then ``python -m gpukernels.ours.suite > docs/suite.md``.
"""
from __future__ import annotations

from ..suite import Suite, suite_markdown
from . import checks, experiments, launches, transfers
from .matmul import MATMUL
from .reduce_sum import SUM
from .saxpy import SAXPY
from .vector_add import VECTOR_ADD

SUITE = Suite("gpukernels")
for op in (VECTOR_ADD, SAXPY, SUM, MATMUL):
    SUITE.add_op(op)
for family in (*experiments.FAMILIES, *launches.FAMILIES, *transfers.FAMILIES, *checks.FAMILIES):
    SUITE.add(family)


@SUITE.section
def our_sections(view, probe):
    """Our report sections (gpukernels.ours.report), imported only when a report is drawn: pandas
    and matplotlib stay out of the benchmark processes, where asv imports this module once per
    family (0.65 of 1.4 s of import)."""
    from .report import sections

    return sections(view, probe)


if __name__ == "__main__":
    paths = "\n".join(["## Launch paths (launches.Enqueue)", "", "| path | what |", "| --- | --- |",
                       *(f"| {k} | {v} |" for k, v in launches.LAUNCH_PATHS.items())])
    print(suite_markdown(SUITE, paths), end="")
