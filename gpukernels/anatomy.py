"""What a compiled Numba CUDA kernel is made of: registers, shared and local memory, access widths,
and the occupancy they allow.

``anatomy(dispatcher, block)`` reads, for every signature the dispatcher has compiled, numba's
kernel attributes (``cuFuncGetAttribute``: registers per thread, static shared memory, local
memory, the kernel's thread limit) and counts memory instructions in its PTX (``ptx_widths``):
a kernel meant to move 16 bytes per access shows ``ld.global.v4``. ``occupancy`` is the
theoretical one (the CUDA occupancy calculator's arithmetic, not a measurement): resident blocks
per SM limited by registers, shared memory, threads and the block limit. The PTX counting and the
occupancy arithmetic are pure (tested without a GPU); ``anatomy`` and ``device_limits`` need one.
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Mapping

from .suite import Op, Suite

WARP = 32


@dataclass(frozen=True)
class SMLimits:
    """Per-SM resources that bound residency (device attributes ``MAX_*_PER_MULTIPROCESSOR``)."""

    registers: int = 65536
    shared_bytes: int = 233472  # 228 KiB
    threads: int = 2048
    blocks: int = 32
    reserved_shared_per_block: int = 1024  # the CUDA runtime's own, per block (cc >= 8.0)
    register_unit: int = 256  # registers are allocated per warp in units of 256
    shared_unit: int = 128  # shared memory per block is rounded up to 128 bytes
    sub_partitions: int = 4  # the register file is split between 4 schedulers; a warp lives in one


# Hopper (H100/H200, cc 9.0): CUDA C Programming Guide, "Compute Capabilities" table.
HOPPER = SMLimits()


def device_limits() -> SMLimits:
    """The current device's per-SM limits; documented Hopper values for any attribute it lacks."""
    from numba import cuda

    dev = cuda.get_current_device()

    def attr(name: str, default: int) -> int:
        try:
            return int(getattr(dev, name))
        except Exception:  # an attribute this driver does not know: the documented value
            return default

    return SMLimits(
        registers=attr("MAX_REGISTERS_PER_MULTIPROCESSOR", HOPPER.registers),
        shared_bytes=attr("MAX_SHARED_MEMORY_PER_MULTIPROCESSOR", HOPPER.shared_bytes),
        threads=attr("MAX_THREADS_PER_MULTIPROCESSOR", HOPPER.threads),
        blocks=attr("MAX_BLOCKS_PER_MULTIPROCESSOR", HOPPER.blocks),
        reserved_shared_per_block=attr("RESERVED_SHARED_MEMORY_PER_BLOCK", HOPPER.reserved_shared_per_block))


@dataclass(frozen=True)
class Occupancy:
    """Resident blocks and warps per SM at one block size, and what limits them."""

    block: int
    blocks_per_sm: int
    warps_per_sm: int
    fraction: float  # resident warps / the SM's maximum warps
    limited_by: str  # "registers", "shared memory", "threads", "blocks" or "block too large"

    def __repr__(self) -> str:
        return (f"Occupancy(block {self.block}: {self.blocks_per_sm} blocks, {self.warps_per_sm} warps per SM, "
                f"{self.fraction:.0%}, limited by {self.limited_by})")


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def occupancy(registers: int, shared_bytes: int, block: int, limits: SMLimits = HOPPER,
              max_threads_per_block: int = 1024) -> Occupancy:
    """Theoretical occupancy of a kernel using ``registers`` per thread and ``shared_bytes`` of
    shared memory per block, launched with ``block`` threads (cuda_occupancy.h's arithmetic)."""
    warps = -(-block // WARP)
    max_warps = limits.threads // WARP
    if block > max_threads_per_block or warps > max_warps:
        return Occupancy(block, 0, 0, 0.0, "block too large")
    bounds = {"threads": max_warps // warps, "blocks": limits.blocks}
    if registers > 0:
        per_warp = _round_up(registers * WARP, limits.register_unit)
        per_partition = limits.registers // limits.sub_partitions // per_warp
        bounds["registers"] = per_partition * limits.sub_partitions // warps
    if shared_bytes > 0:  # without shared memory of its own a block's reserved 1 KiB never binds first
        per_block = _round_up(shared_bytes + limits.reserved_shared_per_block, limits.shared_unit)
        bounds["shared memory"] = limits.shared_bytes // per_block
    # ties name the SM's fixed limits first: fewer registers or less shared memory would not help there
    order = ("threads", "blocks", "registers", "shared memory")
    limited_by = min(order, key=lambda k: (bounds.get(k, 1 << 30), order.index(k)))
    blocks = bounds[limited_by]
    return Occupancy(block, blocks, blocks * warps, blocks * warps / max_warps, limited_by)


# One PTX memory instruction: ld/st, the state space, then qualifiers (.nc, .cg, .v4, .f32, ...).
_MEMORY_OP = re.compile(r"^\s*(?:@!?%\w+\s+)?(ld|st)\.(global|shared|local)((?:\.[\w:]+)*)\s", re.MULTILINE)


def ptx_widths(ptx: str) -> dict[str, int]:
    """Static counts of memory instructions in ``ptx`` (each occurrence once, loops not unrolled).

    Global loads and stores by vector width: ``ld.global.v4``, ``ld.global.v2``, ``ld.global``
    (scalar), the same for ``st.global``; ``ld.global.nc`` counts the read-only-path loads among
    them (any width). Shared and local accesses are counted whatever their width (``ld.local``
    and ``st.local``: spills or local arrays).
    """
    counts: Counter[str] = Counter()
    for op, space, quals in _MEMORY_OP.findall(ptx):
        parts = quals.split(".")
        if space == "global":
            vector = next((p for p in parts if p in ("v2", "v4", "v8")), "")
            counts[f"{op}.global" + (f".{vector}" if vector else "")] += 1
            if op == "ld" and "nc" in parts:
                counts["ld.global.nc"] += 1
        else:
            counts[f"{op}.{space}"] += 1
    keys = ("ld.global.v4", "ld.global.v2", "ld.global", "ld.global.nc", "st.global.v4", "st.global.v2",
            "st.global", "ld.shared", "st.shared", "ld.local", "st.local")
    return {k: counts.get(k, 0) for k in keys} | {k: v for k, v in counts.items() if k not in keys}


def width_summary(widths: dict[str, int], op: str) -> str:
    """Global ``op`` ("ld" or "st") counts as one cell: '2 x v4, 1 x scalar (2 nc)'."""
    parts = [f"{widths.get(f'{op}.global.{v}', 0)} x {v}" for v in ("v4", "v2")
             if widths.get(f"{op}.global.{v}", 0)]
    if widths.get(f"{op}.global", 0):
        parts.append(f"{widths[f'{op}.global']} x scalar")
    text = ", ".join(parts) or "none"
    if op == "ld" and widths.get("ld.global.nc", 0):
        text += f" ({widths['ld.global.nc']} nc)"
    return text


@dataclass(frozen=True)
class KernelAnatomy:
    """One compiled signature of a kernel: its resources, PTX access widths and occupancy."""

    kernel: str
    signature: str
    registers: int
    shared_bytes: int
    local_bytes: int
    max_threads_per_block: int
    occupancy: Occupancy
    widths: dict[str, int] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        """A flat dict for the probe JSON."""
        return {"kernel": self.kernel, "signature": self.signature, "registers": self.registers,
                "shared_bytes": self.shared_bytes, "local_bytes": self.local_bytes,
                "max_threads_per_block": self.max_threads_per_block, "block": self.occupancy.block,
                "blocks_per_sm": self.occupancy.blocks_per_sm,
                "occupancy_pct": round(100 * self.occupancy.fraction, 1), "limited_by": self.occupancy.limited_by,
                "loads": width_summary(self.widths, "ld"), "stores": width_summary(self.widths, "st"),
                "ptx": dict(self.widths)}

    def __repr__(self) -> str:
        return (f"KernelAnatomy({self.kernel}{self.signature}: {self.registers} regs, {self.shared_bytes} B shared, "
                f"{self.local_bytes} B local; loads {width_summary(self.widths, 'ld')}, stores "
                f"{width_summary(self.widths, 'st')}; {self.occupancy!r})")


def anatomy(dispatcher: Any, block: int, limits: SMLimits | None = None) -> list[KernelAnatomy]:
    """Every compiled signature of a numba ``CUDADispatcher`` (real GPU only: the simulator
    compiles nothing), with the theoretical occupancy at ``block`` threads per block."""
    from numba import config

    if config.ENABLE_CUDASIM:
        raise RuntimeError("the CUDA simulator compiles no kernels: no registers or PTX to read")
    limits = limits or device_limits()
    name = getattr(dispatcher.py_func, "__name__", str(dispatcher))
    out = []
    for args, kernel in dispatcher.overloads.items():
        regs, shared = int(kernel.regs_per_thread), int(kernel.shared_mem_per_block)
        max_threads = int(kernel.max_threads_per_block)
        out.append(KernelAnatomy(
            name, "(" + ", ".join(str(a) for a in args) + ")", regs, shared, int(kernel.local_mem_per_thread),
            max_threads, occupancy(regs, shared, block, limits, max_threads),
            ptx_widths(dispatcher.inspect_asm(args))))
    return out


def _threads(config: Any, default: int = 256) -> int:
    """Threads per block of a LaunchConfig (all three dimensions), else ``default``."""
    block = getattr(config, "block", None)
    return block[0] * block[1] * block[2] if isinstance(block, tuple) and len(block) == 3 else default


def used_kernels(problem: Any) -> list[tuple[Any, int]]:
    """The numba dispatchers a prepared problem launches, each with its threads per block.

    Read from the problem itself, not from a module scan (a module of kernels holds many that
    this problem never runs): its ``PreparedLaunch`` attributes (dispatcher and configuration),
    dispatchers it holds, and those named in its class's ``launch`` code, as module globals or
    attributes of a module (``kernels.my_kernel``), at the problem's ``config`` (else 256).
    """
    from numba.cuda.dispatcher import CUDADispatcher

    from .launch import PreparedLaunch

    block = _threads(getattr(problem, "config", None))
    found: dict[int, tuple[Any, int]] = {}
    for value in vars(problem).values():
        if isinstance(value, PreparedLaunch):
            found.setdefault(id(value.dispatcher), (value.dispatcher, _threads(value.config)))
        elif isinstance(value, CUDADispatcher):
            found.setdefault(id(value), (value, block))
    launch = type(problem).launch
    names = set(launch.__code__.co_names)
    scope = vars(sys.modules[launch.__module__])
    for name in names & set(scope):
        value = scope[name]
        inside = [getattr(value, n, None) for n in sorted(names)] if isinstance(value, ModuleType) else []
        for candidate in (value, *inside):
            if isinstance(candidate, CUDADispatcher):
                found.setdefault(id(candidate), (candidate, block))
    return list(found.values())


def suite_anatomy(suite: Suite, axes_of: Callable[[Op], Mapping[str, int]], limits: SMLimits | None = None) -> list[dict[str, Any]]:
    """One row per compiled kernel signature of every GPU implementation of every op of ``suite``
    that is not a peer library, at ``axes_of(op)``: each problem is built and launched once (so
    its kernels are compiled), then read (``used_kernels``, ``anatomy``)."""
    from numba import cuda

    limits = limits or device_limits()
    rows = []
    for op in suite.ops.values():
        axes = axes_of(op)
        for impl in op.gpu_impls:
            if impl in op.peers:
                continue
            work = op.make_gpu(impl, **axes)
            work.launch(0)
            cuda.synchronize()
            for dispatcher, block in used_kernels(work):
                rows += [{"op": op.name, "impl": impl, **k.as_row()} for k in anatomy(dispatcher, block, limits)]
            del work  # free the arrays before the next implementation allocates its own
    return rows
