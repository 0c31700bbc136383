"""Building blocks for an op's implementations: checked device problems, host baselines, peers.

An implementation is any factory the engine calls as ``factory(shared=..., **axes)`` that returns
an object with ``launch(stream)`` (enqueue one operation on a numba stream or 0) and ``check()``
(run once from fresh inputs, compare with a reference, leave the inputs as they were). The classes
here give that shape for free:

- ``DeviceProblem``: subclass once per op (``allocate`` the inputs, ``expected`` from NumPy,
  ``result``, ``reset``), then once per implementation (``prepare``, ``launch``). Every
  implementation of one op and size gets the same input arrays (``SharedInputs``): where arrays
  land in L2 and DRAM moves a short kernel by 1-3%, more than the difference between kernels.
- ``HostProblem``: a host baseline (``run`` is the timed call).
- ``Peer``: CuPy or PyTorch launched on our stream, on our arrays, without a copy.
- ``assert_matches``: the comparison both checks use (exact, or within a relative tolerance).

Nothing is allocated or timed at import; nothing here names an op.
"""
from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, ClassVar, Protocol

import numpy as np
from numba import cuda, njit, prange

from . import devices
from .launch import check_size
from .machine import asv_quick


class Workload(Protocol):
    def launch(self, stream: object = 0) -> None: ...
    def check(self) -> None: ...


class WontFit(RuntimeError):
    """The problem needs more device memory than is free."""


class PeerMissing(RuntimeError):
    """An optional peer library (CuPy, PyTorch) is not installed or cannot use this GPU."""


_FILL_CHUNK = 2**20  # floats per random stream: the inputs do not depend on the number of cores


@functools.lru_cache(maxsize=1)
def host_inputs(n: int, count: int = 2, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Reproducible float32 inputs in [0, 1), read-only, the same on every machine.

    Each 2^20-float chunk has a stream of its own (``SeedSequence(seed).spawn``), filled on every
    core (NumPy's multithreaded generation: it releases the GIL while it fills); one stream took
    1.4 s for 2^28 floats on a 2-core host. Cached for the last (n, count): a family measures every
    implementation of a size in turn.
    """
    n = check_size(n)
    out = tuple(np.empty(n, dtype=np.float32) for _ in range(count))
    parts = [a[s:s + _FILL_CHUNK] for a in out for s in range(0, n, _FILL_CHUNK)]
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(parts))]
    if parts:
        with ThreadPoolExecutor(min(len(parts), os.cpu_count() or 1)) as pool:
            list(pool.map(lambda rng, part: rng.random(out=part, dtype=np.float32), streams, parts))
    for a in out:
        a.flags.writeable = False
    return out


def require_device_bytes(nbytes: float) -> None:
    """Raise WontFit, with the numbers, when ``nbytes`` (plus 10% headroom) is not free."""
    if devices.simulated():
        return
    free, _ = cuda.current_context().get_memory_info()
    if nbytes * 1.1 > free:
        raise WontFit(f"needs {nbytes / 2**30:.2f} GiB of device memory, {free / 2**30:.2f} GiB free")


def sm_count() -> int:
    return 1 if devices.simulated() else cuda.get_current_device().MULTIPROCESSOR_COUNT


def device_address(array) -> int:
    """The address of ``array``'s first element (the simulator's arrays are host memory)."""
    if devices.simulated():
        return array.__array_interface__["data"][0]
    return array.__cuda_array_interface__["data"][0]


class SharedInputs:
    """Inputs shared by every problem of one op and size, one (op, size) at a time.

    The family loop (gpukernels.measure) makes one per family and hands it to each
    implementation; the last size's arrays are dropped before the next size allocates.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._inputs: dict = {}

    def inputs(self, key: tuple, allocate: Callable[[], dict]) -> dict:
        if key != self._key:
            self._key, self._inputs = None, {}
            self._inputs, self._key = allocate(), key
        return self._inputs


class DeviceProblem:
    """Arrays of one op on the device, for one implementation.

    The axes become attributes (``self.n``; ``self.m, self.n, self.k``). Subclass per op:
    ``allocate`` (inputs, shared by every implementation of the op: never written by ``prepare``),
    ``expected``, ``result``, ``reset``; per implementation: ``prepare`` (outputs, scratch, the
    launch configuration) and ``launch(stream)``. ``rtol`` None: bit-exact against the reference.
    ``graph_capture`` False: the launch cannot be captured in a CUDA graph (a library that refuses
    it), so it is timed by back-to-back launches between events (the ``batch`` method).
    """

    rtol: ClassVar[float | None] = None
    atol: ClassVar[float] = 0.0
    graph_capture: ClassVar[bool] = True

    def __init__(self, shared: SharedInputs | None = None, **axes: int) -> None:
        self.axes = {name: check_size(value) for name, value in axes.items()}
        vars(self).update(self.axes)
        if shared is None:
            self.allocate()
        else:
            # one key per op: the class that defines allocate, and the axes
            owner = next(c for c in type(self).__mro__ if "allocate" in vars(c))
            vars(self).update(shared.inputs((owner, tuple(self.axes.items())), self._allocated))
        self.prepare()

    def allocate(self) -> None:
        raise NotImplementedError

    def _allocated(self) -> dict:
        before = set(vars(self))
        self.allocate()
        return {k: v for k, v in vars(self).items() if k not in before}

    def prepare(self) -> None:
        """Launch configuration, outputs and anything else bound once (per implementation)."""

    def launch(self, stream: object = 0) -> None:
        raise NotImplementedError

    def expected(self) -> np.ndarray:
        raise NotImplementedError

    def result(self) -> np.ndarray:
        raise NotImplementedError

    def reset(self) -> None:
        """Put the inputs back (in-place ops change them at every launch)."""

    def label(self) -> str:
        return f"{type(self).__name__} " + ", ".join(f"{k}={v}" for k, v in self.axes.items())

    def check(self) -> None:
        """Run once from fresh inputs and compare with the reference; leaves the inputs as they were."""
        self.reset()
        self.launch()
        cuda.synchronize()
        assert_matches(self.result(), self.expected(), self.rtol, self.atol, self.label())
        self.reset()


class HostProblem:
    """A host baseline: ``call(*arrays)`` computes the op and returns its result; ``run()`` is the
    timed call on inputs made once; ``check()`` compares one call with ``reference`` on fresh
    copies. Subclasses give ``inputs()`` (fresh arrays), ``call`` and ``reference``."""

    rtol: ClassVar[float] = 1e-6

    def __init__(self, **axes: int) -> None:
        self.axes = {name: check_size(value) for name, value in axes.items()}
        vars(self).update(self.axes)
        self._arrays = self.inputs()

    def inputs(self) -> list[np.ndarray]:
        raise NotImplementedError

    def call(self, *arrays: np.ndarray) -> Any:
        raise NotImplementedError

    def reference(self, *arrays: np.ndarray) -> Any:
        raise NotImplementedError

    def check(self) -> None:
        if self.call is self.reference:  # NumPy's baseline is the reference itself: nothing to compare
            return
        got, want = self.call(*self.inputs()), self.reference(*self.inputs())
        assert_matches(got, want, self.rtol, 0.0, f"{type(self).__name__} {self.axes}")

    def run(self) -> None:
        self.call(*self._arrays)


# --- checks ----------------------------------------------------------------------------------

def assert_matches(got: Any, want: Any, rtol: float | None, atol: float = 0.0, label: str = "") -> None:
    """AssertionError, with the count and the first element off, unless ``got`` equals ``want``
    (``rtol`` None: bit for bit) or is within ``atol + rtol * |want|`` elementwise, in float64.

    The tolerance test is one parallel pass (``_misses``): NumPy's ``assert_allclose`` makes a
    temporary per step and took 6.3 s on 2^28 float32 on a 2-core host, this pass 0.17 s; the
    suite checks every implementation at every size. NaN is never within tolerance."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise AssertionError(f"{label}: result of shape {got.shape}, the reference's {want.shape}")
    if rtol is None:
        if not np.array_equal(got, want):
            bad = int(np.count_nonzero(got != want))
            raise AssertionError(f"{label}: {bad} of {got.size} elements differ from the reference")
        return
    if got.dtype.kind not in "fiu" or want.dtype.kind not in "fiu":  # complex, objects: NumPy's test
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=label)
        return
    g, w = got.reshape(-1), want.reshape(-1)
    bad = _misses(g, w, float(rtol), float(atol))
    if bad:
        g, w = g.astype(np.float64), w.astype(np.float64)
        with np.errstate(invalid="ignore"):
            first = int(np.argmax(~(np.abs(g - w) <= atol + rtol * np.abs(w))))
        raise AssertionError(f"{label}: {bad} of {g.size} elements off the reference by more than rtol {rtol:g}"
                             f" (atol {atol:g}); the first at [{first}]: {float(g[first])!r}, expected {float(w[first])!r}")


@njit(parallel=True, cache=True)
def _misses(got, want, rtol, atol):
    """How many ``got[i]`` are not within ``atol + rtol * |want[i]|`` of ``want[i]`` (in float64)."""
    count = 0
    for i in prange(got.size):
        g, w = np.float64(got[i]), np.float64(want[i])
        if not abs(g - w) <= atol + rtol * abs(w):
            count += 1
    return count


# --- peers: libraries a user would pick instead of writing a kernel ---------------------------

class PeerLibrary:
    """How the engine reaches one peer library: import it, wrap a numba array, use a stream."""

    def __init__(self, module: str, wrap: Callable[[Any, Any], Any], stream: Callable[[Any, int], Any]) -> None:
        self.module, self._wrap, self._stream = module, wrap, stream

    def load(self):
        """The module, or PeerMissing with the reason (optional extra [peers])."""
        if devices.simulated():
            raise PeerMissing(f"simulator: {self.module} needs a real GPU")
        if asv_quick():  # a smoke run of our kernels: importing PyTorch alone took 4.5 s per family
            raise PeerMissing(f"asv run --quick: {self.module} is timed in the full run")
        try:
            lib = __import__(self.module)
        except ImportError as exc:
            raise PeerMissing(f"{self.module} is not installed (pip install 'gpukernels[peers]'): {exc}") from None
        if hasattr(lib, "cuda") and hasattr(lib.cuda, "is_available") and not lib.cuda.is_available():
            raise PeerMissing(f"{self.module} is installed without CUDA")
        return lib

    def wrap(self, lib, array):
        return self._wrap(lib, array)

    def stream(self, lib, handle: int):
        """A context manager that makes the numba stream ``handle`` (0: default) current."""
        return self._stream(lib, handle)


def _torch_stream(torch, handle: int):
    return torch.cuda.stream(torch.cuda.ExternalStream(handle) if handle else torch.cuda.default_stream())


CUPY = PeerLibrary("cupy", lambda cp, a: cp.asarray(a), lambda cp, handle: cp.cuda.ExternalStream(handle))
TORCH = PeerLibrary("torch", lambda torch, a: torch.as_tensor(a, device="cuda"), _torch_stream)


class Peer:
    """Mixin for a DeviceProblem run by a peer library on the problem's own arrays.

    Set ``library`` (CUPY or TORCH) and, in ``prepare``, ``self.work`` to a no-argument callable
    that does the op (using ``self.wrap(array)``); ``launch`` runs it on the given stream.
    """

    library: ClassVar[PeerLibrary]

    def prepare(self) -> None:
        super().prepare()
        self.lib = self.library.load()
        self._streams: dict[int, Any] = {}

    def wrap(self, array):
        return self.library.wrap(self.lib, array)

    def launch(self, stream: object = 0) -> None:
        handle = int(stream.handle) if stream else 0
        if handle not in self._streams:
            self._streams[handle] = self.library.stream(self.lib, handle)
        with self._streams[handle]:
            self.work()
