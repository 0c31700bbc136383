"""Launch configurations and their validation against a device's limits.

The driver answers an oversized launch with CUDA_ERROR_INVALID_VALUE and numba-cuda with an
OverflowError past 2**32; neither says which dimension broke which limit. ``validate`` does,
before anything reaches the driver.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

Dims = tuple[int, int, int]


@dataclass(frozen=True)
class Limits:
    """A device's launch limits (CUDA device attributes MAX_GRID_DIM_* / MAX_BLOCK_DIM_*)."""

    max_grid: Dims
    max_block: Dims
    max_threads_per_block: int


# CUDA's documented limits for compute capability >= 3.0 (CUDA C Programming Guide, Table
# "Technical Specifications per Compute Capability"); used where no device can be asked.
DOCUMENTED_LIMITS = Limits(
    max_grid=(2**31 - 1, 65535, 65535), max_block=(1024, 1024, 64), max_threads_per_block=1024
)


class LaunchConfigError(ValueError):
    """A grid or block that the device cannot launch; the message names the limit."""


@dataclass(frozen=True)
class LaunchConfig:
    """A validated (grid, block) pair, each padded to three dimensions."""

    grid: Dims
    block: Dims

    @property
    def threads(self) -> int:
        g, b = self.grid, self.block
        return g[0] * g[1] * g[2] * b[0] * b[1] * b[2]

    def __iter__(self):
        # Lets a kernel be launched as kernel[*config](...) or kernel[config.grid, config.block].
        return iter((self.grid, self.block))


def _dims(name: str, value: int | tuple[int, ...]) -> Dims:
    dims = value if isinstance(value, tuple) else (value,)
    if not 1 <= len(dims) <= 3:
        raise LaunchConfigError(f"{name} must have 1 to 3 dimensions, got {len(dims)}: {value!r}")
    for axis, d in zip("xyz", dims):
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise LaunchConfigError(f"{name} {axis} must be a whole number, got {d!r}")
        if d < 1:
            raise LaunchConfigError(f"{name} {axis} must be at least 1, got {d}")
    return tuple(int(d) for d in dims) + (1,) * (3 - len(dims))  # type: ignore[return-value]


def validate(
    grid: int | tuple[int, ...], block: int | tuple[int, ...], limits: Limits = DOCUMENTED_LIMITS
) -> LaunchConfig:
    """Check a launch against ``limits``; raise LaunchConfigError naming dimension, value, limit."""
    g, b = _dims("grid", grid), _dims("block", block)
    for axis, value, limit in zip("xyz", g, limits.max_grid):
        if value > limit:
            raise LaunchConfigError(
                f"grid {axis} = {value} exceeds the device limit of {limit} blocks (MAX_GRID_DIM_{axis.upper()})"
            )
    for axis, value, limit in zip("xyz", b, limits.max_block):
        if value > limit:
            raise LaunchConfigError(
                f"block {axis} = {value} exceeds the device limit of {limit} threads (MAX_BLOCK_DIM_{axis.upper()})"
            )
    threads = b[0] * b[1] * b[2]
    if threads > limits.max_threads_per_block:
        raise LaunchConfigError(
            f"block of {threads} threads {b} exceeds the device limit of "
            f"{limits.max_threads_per_block} threads per block (MAX_THREADS_PER_BLOCK)"
        )
    return LaunchConfig(g, b)


def check_size(n: object) -> int:
    """An element count: a whole number >= 0 (0 is a valid, empty problem)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise LaunchConfigError(f"size must be a whole number of elements, got {n!r}")
    if n < 0:
        raise LaunchConfigError(f"size must be >= 0 elements, got {n}")
    return int(n)


def grid_for(n: int, block: int, limits: Limits = DOCUMENTED_LIMITS) -> LaunchConfig:
    """One thread per element: ceil(n / block) blocks of ``block`` threads (at least one block)."""
    n = check_size(n)
    _dims("block", block)
    return validate(max(1, -(-n // block)), block, limits)


def grid_stride_for(n: int, block: int, sm_count: int, blocks_per_sm: int = 4,
                    limits: Limits = DOCUMENTED_LIMITS) -> LaunchConfig:
    """A grid-stride launch: enough blocks to fill the SMs, never more than one per element block."""
    one_per_element = grid_for(n, block, limits).grid[0]
    return validate(max(1, min(one_per_element, sm_count * blocks_per_sm)), block, limits)
