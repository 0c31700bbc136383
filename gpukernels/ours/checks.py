"""The tutorial's device questions as benchmarks: launch limits, index mapping, device selection,
and the physical card of the run. Values, not times."""
from __future__ import annotations

from .. import devices
from ..devices import simulated
from ..measure import Context, Measured, Skip
from ..suite import VALUE, Family, value_metric
from . import probes
from .vector_add import VectorAddSeed

INDEX_LAUNCHES = {"1d": (2, 4), "2d": ((3, 2), (4, 2)), "3d": ((2, 2, 2), (2, 3, 4))}


def _real_gpu_only() -> None:
    if simulated():
        raise Skip("simulator: launches at the device limits would take hours")


def grid_limit(ctx: Context, dim: str) -> Measured:
    _real_gpu_only()
    return Measured(value=probes.measure_limit(f"grid {dim}")["measured"])


def block_limit(ctx: Context, dim: str) -> Measured:
    _real_gpu_only()
    return Measured(value=probes.measure_limit(f"block {dim}")["measured"])


def index_mapping(ctx: Context, launch: str) -> Measured:
    return Measured(value=probes.coverage_errors(*INDEX_LAUNCHES[launch]))


def device_selection(ctx: Context, device: int) -> Measured:
    work = VectorAddSeed(1000, 128)
    try:
        work.check()
    except AssertionError:
        return Measured(value=0)
    return Measured(value=1)


def card(ctx: Context) -> Measured:
    uuid = devices.info(0).uuid
    digits = "".join(c for c in uuid.lower() if c in "0123456789abcdef")
    return Measured(value=int(digits[:12] or "0", 16))


DIMS = (("dim", ("x", "y", "z")),)
GRID_LIMITS = Family("probes", "GridLimits", "largest grid launched per dimension (a launch there ran, one past failed)",
                     DIMS, grid_limit, VALUE, (value_metric("track_max_grid", "blocks", "largest grid launched"),))
BLOCK_LIMITS = Family("probes", "BlockLimits", "largest block launched per dimension",
                      DIMS, block_limit, VALUE, (value_metric("track_max_block", "threads", "largest block launched"),))
INDEX_FAMILY = Family("probes", "IndexMapping", "global ids not covered exactly once by a 1-, 2- and 3-D launch (0 is right)",
                      (("launch", tuple(INDEX_LAUNCHES)),), index_mapping, VALUE,
                      (value_metric("track_coverage_errors", "errors", "ids not hit exactly once"),))
SELECTION_FAMILY = Family("probes", "DeviceSelection", "select_device(i) then vector add there: 1 when it matches NumPy",
                          (("device", (0, 1)),), device_selection, VALUE,
                          (value_metric("track_vector_add_correct", "ok (1 = correct)", "1 when the result matches NumPy"),))
# The physical card, as a number asv can store (its UUID must stay out of machine.json, where
# asv publish would draw one series per card): the gate says so when two runs differ in it.
CARD_FAMILY = Family("probes", "Card", "the physical GPU of this run: the first 48 bits of its UUID as a number",
                     (), card, VALUE, (value_metric("track_card_id", "id", "card identity, not a speed"),), identity=True)
FAMILIES = (GRID_LIMITS, BLOCK_LIMITS, INDEX_FAMILY, SELECTION_FAMILY, CARD_FAMILY)
