"""asv classes from a ``Suite``: one class per family, one method per metric.

A user's ``benchmarks/<area>.py`` is two lines::

    from gpukernels.asv_classes import classes
    from mykernels.bench import SUITE
    globals().update(classes(SUITE, "kernels"))

A family is measured once, in its own process, by asv's ``setup_cache`` (gpukernels.measure):
every parameter set is checked and sampled there, and each ``track_*`` method returns its metric
from that one measurement, so GB/s comes from the same samples as device time and the suite
starts one CUDA context per family rather than one per parameter set. asv keeps the samples
(``{"samples": [...], "number": 1}``), so every number has its statistics. Nothing here touches
CUDA at import time (asv's forkserver forks after importing the benchmarks).
"""
from __future__ import annotations

import sys
import types

from . import measure
from .suite import Family, Metric, Suite


def classes(suite: Suite, area: str) -> dict[str, type]:
    """The asv classes of one benchmarks/<area>.py module, by class name."""
    found = suite.in_area(area)
    if not found:
        raise ValueError(f"suite {suite.name!r} has no family in area {area!r}; areas: {suite.areas}")
    return {f.name: family_class(f) for f in found}


def family_class(family: Family) -> type:
    version = measure.family_version(family)

    def setup_cache(self):
        return measure.measure_family(family)

    # asv keys a setup_cache by its module and source line. Every generated class shares this
    # line, so each gets a module name of its own, or asv would hand one family's cache to all.
    setup_cache.__module__ = _key_module(family)
    setup_cache.timeout = family.timeout

    def setup(self, cache, *params):
        outcome = cache[params]
        if outcome.skip:
            raise NotImplementedError(outcome.skip)  # asv: skipped (NaN), with the reason

    attrs = {
        "__doc__": family.what,
        "__module__": f"benchmarks.{family.area}",
        "params": [list(v) for v in family.param_values],
        "param_names": list(family.param_names),
        "setup_cache": setup_cache,
        "setup": setup,
        "timeout": family.timeout,
    }
    for metric in family.metrics:
        attrs[metric.method] = _track(metric, version)
    return type(family.name, (), attrs)


def _track(metric: Metric, version: str):
    def track(self, cache, *params):
        outcome = cache[params]
        if outcome.error:
            raise RuntimeError(outcome.error)  # asv: failed (null); the traceback is in the log
        return outcome.metrics[metric.method]

    track.__name__ = metric.method
    track.__doc__ = metric.what
    track.type = metric.asv_type
    track.unit = metric.unit
    track.version = version
    return track


def _key_module(family: Family) -> str:
    name = f"benchmarks._cache.{family.area}.{family.name}"
    sys.modules.setdefault(name, types.ModuleType(name))
    return name
