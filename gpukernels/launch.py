"""Launch configurations and their validation against a device's limits.

The driver answers an oversized launch with CUDA_ERROR_INVALID_VALUE and numba-cuda with an
OverflowError past 2**32; neither says which dimension broke which limit. ``validate`` does,
before anything reaches the driver.
"""
from __future__ import annotations

import ctypes
import functools
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


class PreparedLaunch:
    """A compiled Numba kernel with its launch configuration and arguments bound once.

    ``kernel[grid, block](*args)`` resolves types, flattens every array into its 7 parameters
    and builds a cuda.core launch at each call: 11-43 us per launch measured on an H100. Here
    that work happens in ``bind``; a call is one ``cuLaunchKernel`` with a prebuilt ``void**``
    (5.7 us on an H100, PyTorch's ``x.zero_()`` 8.7 us in the same process). Binding arguments of
    another type or shape than the first is refused: the compiled kernel and the launch
    configuration were chosen for them. ``owners`` are arrays the bound arguments point into
    (device addresses passed as integers): the launch keeps them alive. Under the CUDA
    simulator (no driver) a call goes through the dispatcher with the bound arguments.
    """

    def __init__(self, dispatcher, config: LaunchConfig, *args, owners: tuple = ()) -> None:
        self.dispatcher = dispatcher
        self.config = config
        self.owners = owners
        self._signature: tuple | None = None
        self._shapes: tuple | None = None
        self.bind(*args)

    def bind(self, *args) -> None:
        """Bind new arguments: same types and shapes as the first ones, or TypeError."""
        from numba import config as numba_config, typeof

        sim = numba_config.ENABLE_CUDASIM  # simulator arrays have no numba type: compare dtype and ndim
        types = tuple((getattr(a, "dtype", type(a)), getattr(a, "ndim", 0)) if sim else typeof(a) for a in args)
        shapes = tuple(getattr(a, "shape", None) for a in args)
        if self._signature is not None:
            if len(types) != len(self._signature):
                raise TypeError(f"expected {len(self._signature)} arguments, got {len(types)}")
            for i, (old, new, s_old, s_new) in enumerate(zip(self._signature, types, self._shapes, shapes)):
                if old != new or s_old != s_new:
                    raise TypeError(f"argument {i}: bound as {old} shape {s_old}, got {new} shape {s_new}; "
                                    "make a new PreparedLaunch for other types or shapes")
        self._signature, self._shapes, self._args = types, shapes, args
        self._simulated = sim
        if sim:
            return
        from cuda.bindings import driver as drv

        kernel = self.dispatcher.compile(types)
        self._values = [v for ty, a in zip(types, args) for v in _kernel_params(ty, a)]
        self._params = (ctypes.c_void_p * max(1, len(self._values)))(*(ctypes.addressof(v) for v in self._values))
        # Every argument of cuLaunchKernel but the stream, converted once and bound in C
        # (functools.partial): cuda.bindings turns an int or a CUkernel into a CUfunction and an
        # int stream into a CUstream at every call otherwise. None is the default stream.
        (g, b), params = self.config, ctypes.addressof(self._params)
        head = (drv.CUfunction(int(kernel.library.get_cufunc().handle)), *g, *b, 0)
        self._on_stream = functools.partial(drv.cuLaunchKernel, *head)
        self._on_default = functools.partial(drv.cuLaunchKernel, *head, None, params, 0)
        self._params_addr = params
        self._success = drv.CUresult.CUDA_SUCCESS

    def __call__(self, stream=None) -> None:
        """Enqueue one launch on ``stream`` (a numba stream; None or 0: the default stream)."""
        if self._simulated:
            self.dispatcher[self.config.grid, self.config.block, stream or 0](*self._args)
            return
        if stream:
            (err,) = self._on_stream(int(stream.handle), self._params_addr, 0)
        else:
            (err,) = self._on_default()
        if err != self._success:
            raise LaunchConfigError(f"cuLaunchKernel failed: {err!r}")


def _kernel_params(ty, value) -> list:
    """ctypes values of one argument in numba-cuda's kernel ABI (as its _Kernel._prepare_args)."""
    from numba.core import types as nt

    if isinstance(ty, nt.Array):
        ptr = value.device_ctypes_pointer.value if hasattr(value, "device_ctypes_pointer") else None
        if ptr is None:
            raise TypeError(f"PreparedLaunch needs device arrays, got {type(value).__name__}")
        return [ctypes.c_void_p(0), ctypes.c_void_p(0), ctypes.c_int64(value.size),
                ctypes.c_int64(value.dtype.itemsize), ctypes.c_void_p(ptr),
                *(ctypes.c_int64(s) for s in value.shape), *(ctypes.c_int64(s) for s in value.strides)]
    if isinstance(ty, nt.Integer):
        return [getattr(ctypes, f"c_{ty}")(value)]
    if ty == nt.float32:
        return [ctypes.c_float(value)]
    if ty == nt.float64:
        return [ctypes.c_double(value)]
    raise TypeError(f"PreparedLaunch binds device arrays, integers and floats; got {ty}")
