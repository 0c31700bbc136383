"""Prepared, checked problems: device arrays, a launch, a NumPy check, bytes and flops moved.

The protocol every timed problem follows (``Workload``): ``launch(stream)`` enqueues one
operation, ``check()`` runs it once from fresh inputs and compares with NumPy, ``bytes_moved``
and ``flops`` come from the op's line in the catalogue. Benchmarks build one of these outside
any timed region (allocation, launch configuration and the check are never timed).

An op's problem class (``VectorAddProblem``) owns the arrays and the NumPy answer; each
implementation is a few lines on top of it that say how to launch, registered with
``@gpu(op, impl)`` or ``@host(op, impl)`` under the names the catalogue lists.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Callable, ClassVar, Iterator, Protocol

import numpy as np
from numba import config, cuda, njit, prange

from . import kernels, timing
from .catalogue import OPS
from .launch import LaunchConfig, PreparedLaunch, check_size, grid_for, grid_stride_for


class Workload(Protocol):
    n: int
    bytes_moved: int
    flops: int

    def launch(self, stream: object = 0) -> None: ...
    def check(self) -> None: ...


class WontFit(RuntimeError):
    """The problem needs more device memory than is free."""


class PeerMissing(RuntimeError):
    """An optional peer library (CuPy, PyTorch) is not installed or cannot use this GPU."""


@functools.lru_cache(maxsize=1)
def host_inputs(n: int, count: int = 2, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Reproducible float32 inputs in [0, 1), generated in place (2^28 floats in ~1 s).

    Cached for the last n: a benchmark process measures every implementation of a size in turn.
    Callers must not modify them.
    """
    rng = np.random.default_rng(seed)
    out = tuple(rng.random(check_size(n), dtype=np.float32) for _ in range(count))
    for a in out:
        a.flags.writeable = False
    return out


def require_device_bytes(nbytes: int) -> None:
    """Raise WontFit, with the numbers, when ``nbytes`` (plus 10% headroom) is not free."""
    if config.ENABLE_CUDASIM:
        return
    free, _ = cuda.current_context().get_memory_info()
    if nbytes * 1.1 > free:
        raise WontFit(f"needs {nbytes / 2**30:.2f} GiB of device memory, {free / 2**30:.2f} GiB free")


def sm_count() -> int:
    return 1 if config.ENABLE_CUDASIM else cuda.get_current_device().MULTIPROCESSOR_COUNT


def gbs(nbytes: int, seconds: float) -> float:
    """Bandwidth in GB/s (10^9 bytes per second)."""
    return nbytes / seconds / 1e9


class SharedInputs:
    """Device inputs shared by every problem of one op and size: implementations compared on the
    same memory.

    Where arrays land in L2 and DRAM moves a short kernel by 1-3%: PyTorch's add on an
    allocation of its own against on ours differed by -2.9% to +0.9% at 2^20 on an H200, more
    than the difference between the kernels. Each implementation's own timing is as before
    (one allocation, wherever it lands); only the placement is now common. Holds one (op, n) at
    a time: a family is measured size by size, and the last size's arrays are freed first.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._inputs: dict = {}

    def inputs(self, key: tuple, allocate: Callable[[], dict]) -> dict:
        if key != self._key:
            self._key, self._inputs = None, {}  # drop the last size's arrays before allocating
            self._inputs, self._key = allocate(), key
        return self._inputs


_shared: SharedInputs | None = None


@contextlib.contextmanager
def shared_inputs() -> Iterator[SharedInputs]:
    """Within the block, problems of the same op and size share their input arrays."""
    global _shared
    outer, _shared = _shared, SharedInputs()
    try:
        yield _shared
    finally:
        _shared = outer


# --- problems (one per op) ------------------------------------------------------------------

class DeviceProblem:
    """Arrays of one op on the device. Subclasses: ``inputs``, ``expected``, ``result``, ``reset``."""

    op: ClassVar[str]
    exact: ClassVar[bool] = True  # bit-exact against NumPy, else within rtol
    rtol: ClassVar[float] = 0.0

    def __init__(self, n: int) -> None:
        self.n = check_size(n)
        op = OPS[self.op]
        self.bytes_moved = self.n * op.bytes_per_element
        self.flops = self.n * op.flops_per_element
        if _shared is None:
            self._allocated()
        else:
            vars(self).update(_shared.inputs((self.op, self.n), self._allocated))
        self.prepare()

    def allocate(self) -> None:
        """The inputs (host copies and device arrays), the same for every implementation of the
        op: SharedInputs hands them to all. Outputs and scratch belong in ``prepare``."""
        raise NotImplementedError

    def _allocated(self) -> dict:
        """What ``allocate`` set (what SharedInputs shares)."""
        require_device_bytes(self.bytes_moved)
        before = set(vars(self))
        self.allocate()
        return {k: v for k, v in vars(self).items() if k not in before}

    def prepare(self) -> None:
        """Launch configuration and anything else bound once (override per implementation)."""

    def launch(self, stream: object = 0) -> None:
        raise NotImplementedError

    def expected(self) -> np.ndarray:
        raise NotImplementedError

    def result(self) -> np.ndarray:
        raise NotImplementedError

    def reset(self) -> None:
        """Put the inputs back (in-place ops change them at every launch)."""

    def check(self) -> None:
        """Run once from fresh inputs and compare with NumPy; leaves the inputs as they were."""
        self.reset()
        self.launch()
        cuda.synchronize()
        got, want = self.result(), self.expected()
        label = f"{self.op} {type(self).__name__} n={self.n}"
        if self.exact:
            if not np.array_equal(got, want):
                bad = int(np.count_nonzero(got != want))
                raise AssertionError(f"{label}: {bad} of {got.size} elements differ from NumPy")
        else:
            np.testing.assert_allclose(got, want, rtol=self.rtol, err_msg=label)
        self.reset()


class VectorAddProblem(DeviceProblem):
    """``b += a`` on float32 device arrays."""

    op = "vector_add"

    def allocate(self) -> None:
        self.a_host, self.b_host = host_inputs(self.n)
        self.a, self.b = cuda.to_device(self.a_host), cuda.to_device(self.b_host)

    def expected(self) -> np.ndarray:
        return self.b_host + self.a_host

    def result(self) -> np.ndarray:
        return self.b.copy_to_host()

    def reset(self) -> None:
        self.b.copy_to_device(self.b_host)


class SaxpyProblem(DeviceProblem):
    """``y = a * x + y`` with a = 2 on float32 arrays. Within 1e-6: NVVM may fuse to an FMA."""

    op = "saxpy"
    exact = False
    rtol = 1e-6
    A = np.float32(2.0)

    def allocate(self) -> None:
        self.x_host, self.y_host = host_inputs(self.n)
        self.x, self.y = cuda.to_device(self.x_host), cuda.to_device(self.y_host)

    def expected(self) -> np.ndarray:
        return self.A * self.x_host + self.y_host

    def result(self) -> np.ndarray:
        return self.y.copy_to_host()

    def reset(self) -> None:
        self.y.copy_to_device(self.y_host)


class SumProblem(DeviceProblem):
    """``s = sum(x)`` of float32 x, against NumPy's float64 sum within a relative 1e-5.

    float32 accumulation per thread (as the peers do) bounds the error near n * 2^-24 in the
    worst case; for inputs in [0, 1) it stays far below 1e-5 of the sum at every suite size.
    """

    op = "sum"
    exact = False
    rtol = 1e-5

    out_dtype: ClassVar[type] = np.float64

    def allocate(self) -> None:
        (self.x_host,) = host_inputs(self.n, 1)
        self.x = cuda.to_device(self.x_host)

    def prepare(self) -> None:
        # the output is the implementation's own (its dtype differs), never a shared input
        self.out = cuda.device_array(1, dtype=self.out_dtype)

    def expected(self) -> np.ndarray:
        return np.array([self.x_host.sum(dtype=np.float64)])

    def result(self) -> np.ndarray:
        return self.out.copy_to_host().astype(np.float64)


# --- registries ------------------------------------------------------------------------------

GPU: dict[tuple[str, str], type[DeviceProblem]] = {}
HOST: dict[tuple[str, str], type] = {}


def gpu(op: str, impl: str) -> Callable[[type], type]:
    def register(cls: type) -> type:
        GPU[(op, impl)] = cls
        return cls
    return register


def host(op: str, impl: str) -> Callable[[type], type]:
    def register(cls: type) -> type:
        HOST[(op, impl)] = cls
        return cls
    return register


# --- Numba implementations ---------------------------------------------------------------------

@gpu("vector_add", "seed")
class VectorAddSeed(VectorAddProblem):
    """The tutorial's kernel, one thread per element, ``block`` threads per block."""


    def __init__(self, n: int, block: int = 256) -> None:
        self.block = block
        super().__init__(n)

    def prepare(self) -> None:
        self.config: LaunchConfig = grid_for(self.n, self.block)

    def launch(self, stream: object = 0) -> None:
        kernels.vector_add[self.config.grid, self.config.block, stream](self.a, self.b)


def device_address(array) -> int:
    """The address of ``array``'s first element (the simulator's arrays are host memory)."""
    if config.ENABLE_CUDASIM:
        return array.__array_interface__["data"][0]
    return array.__cuda_array_interface__["data"][0]


def _aligned(a, b, nbytes: int) -> bool:
    """Whether the address kernels can take ``a`` and ``b`` with ``nbytes``-wide accesses: they see
    only each first element's address and b's size, so contiguous 1-D float32 of one size whose
    addresses agree modulo ``nbytes``."""
    return (a.size == b.size and all(x.dtype == np.float32 and x.ndim == 1 and x.flags["C_CONTIGUOUS"] for x in (a, b))
            and device_address(a) % nbytes == device_address(b) % nbytes)


def _address_launch(kernel, config: LaunchConfig, a, b, *counts: int) -> PreparedLaunch:
    """``kernel`` on a's and b's device addresses and ``counts``; the launch keeps a and b alive."""
    return PreparedLaunch(kernel, config, device_address(a), device_address(b), *counts, owners=(a, b))


def element_launch(a, b) -> PreparedLaunch:
    """The tutorial's one-element-per-thread kernel: any arrays, any alignment."""
    return PreparedLaunch(kernels.vector_add, grid_for(b.size, 256), a, b)


def pairs_launch(a, b) -> PreparedLaunch | None:
    """kernels.vector_add_pairs*: 8-byte accesses; None when a and b differ modulo 8 bytes.

    4 pairs per thread while the working set fits in an H100's L2 (50 MiB), 1 beyond: the best
    of 1, 2 and 4 pairs per thread and blocks of 128 to 1024 measured on an H100 (block 512).
    """
    if not _aligned(a, b, 8):
        return None
    n = b.size
    head = min(device_address(b) % 8 // 4, n)  # one float before the first 8-byte boundary
    pairs = (n - head) // 2
    per_thread = 4 if 12 * n <= 50 * 2**20 else 1
    kernel = kernels.vector_add_pairs_4 if per_thread == 4 else kernels.vector_add_pairs
    # at least 2 threads: threads 0 and 1 also do the head and tail floats
    return _address_launch(kernel, grid_for(max(2, -(-pairs // per_thread)), 512), a, b, n, head)


def quads_launch(a, b, per_thread: int = 1) -> PreparedLaunch | None:
    """kernels.vector_add_quads*: 16-byte accesses; None when a and b differ modulo 16 bytes.

    1 quad per thread in blocks of 256 or 2 in blocks of 128 (PyTorch's layout): the best of 1, 2
    and 4 quads per thread and blocks of 64 to 512 measured on an H100 and an H200 at 2^12 to 2^28
    elements; which of the two wins depends on the GPU and the size (``tuned`` times both).
    Aligned arrays of a multiple of 4 floats take a kernel without head and tail code.
    """
    if not _aligned(a, b, 16):
        return None
    n = b.size
    head = min((-device_address(b)) % 16 // 4, n)  # floats before the first 16-byte boundary
    quads = (n - head) // 4
    if head or (n - head) % 4:
        return _address_launch(kernels.vector_add_quads_edges, grid_for(max(4, quads), 256), a, b, n, head)
    if per_thread == 2:
        return _address_launch(kernels.vector_add_quads_2, grid_for(max(1, -(-quads // 2)), 128), a, b, quads)
    return _address_launch(kernels.vector_add_quads, grid_for(max(1, quads), 256), a, b, quads)


class _PreparedVectorAdd(VectorAddProblem):
    """A vector add whose ``prepare`` picks a PreparedLaunch (``_launch``) for its arrays."""

    _launch: PreparedLaunch

    def launch(self, stream: object = 0) -> None:
        self._launch(stream)


@gpu("vector_add", "pairs")
class VectorAddPairs(_PreparedVectorAdd):
    """Two float32 per access (kernels.vector_add_pairs*), through a PreparedLaunch; arrays that
    cannot be paired (addresses differ modulo 8 bytes) run the one-element kernel."""

    def prepare(self) -> None:
        self._launch = pairs_launch(self.a, self.b) or element_launch(self.a, self.b)


@gpu("vector_add", "quads")
class VectorAddQuads(_PreparedVectorAdd):
    """Four float32 per access (kernels.vector_add_quads), falling back to pairs, then one element."""

    def prepare(self) -> None:
        a, b = self.a, self.b
        self._launch = quads_launch(a, b) or pairs_launch(a, b) or element_launch(a, b)


@gpu("vector_add", "tuned")
class VectorAddTuned(_PreparedVectorAdd):
    """The fastest of quads (1 or 2 per thread) and pairs on this GPU for these arrays, timed once
    when prepared.

    None wins everywhere (graph replay, median of 30, this session's explorations): at 2^20 on
    an H100 pairs (4 per thread) took 2.50 us against 2.68-2.70 for quads; on an H200 pairs took
    2.46 us against 2.30-2.32, and 2 quads per thread win at 2^18 but lose to 1 at 2^22. Each
    candidate is timed by graph replay (10 samples, the policy's launches per sample) on the
    problem's own arrays, which are then reset; ``choice`` names the winner and ``tuning`` holds
    every candidate's median seconds. The simulator times nothing: it takes quads.
    """

    TUNING_SAMPLES = 10
    tune: ClassVar[bool] = not config.ENABLE_CUDASIM  # simulator timings mean nothing

    def prepare(self) -> None:
        a, b = self.a, self.b
        candidates = (("quads", quads_launch(a, b)), ("quads_2", quads_launch(a, b, 2)), ("pairs", pairs_launch(a, b)))
        found = {name: launch for name, launch in candidates if launch is not None}
        self.tuning: dict[str, float] = {}
        if not found:
            self.choice, self._launch = "element", element_launch(a, b)
            return
        if len(found) > 1 and self.tune:
            launches = timing.policy().launches_for(self.n)
            self.tuning = {name: timing.device_time(launch, "graph", samples=self.TUNING_SAMPLES,
                                                    launches=launches).median_s for name, launch in found.items()}
            self.reset()
            self.choice = min(self.tuning, key=self.tuning.get)
        else:
            self.choice = next(iter(found))
        self._launch = found[self.choice]


@gpu("saxpy", "numba")
class SaxpyNumba(SaxpyProblem):

    def prepare(self) -> None:
        self.config = grid_for(self.n, 256)

    def launch(self, stream: object = 0) -> None:
        kernels.saxpy[self.config.grid, self.config.block, stream](self.A, self.x, self.y)


@gpu("sum", "numba")
class SumNumba(SumProblem):
    """Two passes: per-block float64 partials (grid-stride), then one block sums them."""


    def prepare(self) -> None:
        super().prepare()
        self.config = grid_stride_for(self.n, kernels.SUM_BLOCK, sm_count(), blocks_per_sm=8)
        self.partials = cuda.device_array(self.config.grid[0], dtype=np.float64)

    def launch(self, stream: object = 0) -> None:
        kernels.sum_partials[self.config.grid, self.config.block, stream](self.x, self.partials)
        kernels.sum_final[1, kernels.SUM_BLOCK, stream](self.partials, self.out)


# The fastest-vector-add search (kernels.VectorAddVariants): one-element-per-thread kernels.
@gpu("vector_add", "grid_stride")
class VectorAddGridStride(VectorAddSeed):

    def prepare(self) -> None:
        self.config = grid_stride_for(self.n, self.block, sm_count(), blocks_per_sm=8)

    def launch(self, stream: object = 0) -> None:
        kernels.vector_add_grid_stride[self.config.grid, self.config.block, stream](self.a, self.b)


class _PerThread(VectorAddSeed):
    """``per_thread`` elements per thread, one block-width apart (kernels.vector_add_per_thread_<k>)."""

    per_thread: ClassVar[int]

    def prepare(self) -> None:
        self.config = grid_for(-(-self.n // self.per_thread), self.block)
        self.kernel = getattr(kernels, f"vector_add_per_thread_{self.per_thread}")

    def launch(self, stream: object = 0) -> None:
        self.kernel[self.config.grid, self.config.block, stream](self.a, self.b)


@gpu("vector_add", "per_thread_4")
class VectorAddPerThread4(_PerThread):
    per_thread = 4


@gpu("vector_add", "per_thread_8")
class VectorAddPerThread8(_PerThread):
    per_thread = 8


VARIANT_CLASSES = {"seed_256": VectorAddSeed, "grid_stride": VectorAddGridStride,
                   "per_thread_4": VectorAddPerThread4, "per_thread_8": VectorAddPerThread8,
                   "pairs": VectorAddPairs, "quads": VectorAddQuads}


# --- peers: the same arrays, launched by CuPy or PyTorch on our stream -----------------------

def peer_module(name: str):
    """Import cupy or torch, or raise PeerMissing with the reason (optional extra [peers])."""
    if config.ENABLE_CUDASIM:
        raise PeerMissing(f"simulator: {name} needs a real GPU")
    try:
        module = __import__(name)
        if name == "torch" and not module.cuda.is_available():
            raise PeerMissing("torch is installed without CUDA")
    except ImportError as exc:
        raise PeerMissing(f"{name} is not installed (pip install '.[peers]'): {exc}") from None
    return module


class _Peer:
    """Wraps our numba arrays without copying (__cuda_array_interface__) and launches on our stream."""

    library: ClassVar[str]

    def prepare(self) -> None:
        super().prepare()
        self.lib = peer_module(self.library)
        self._streams: dict[int, object] = {}

    def wrap(self, array):
        if self.library == "torch":
            return self.lib.as_tensor(array, device="cuda")
        return self.lib.asarray(array)

    def on(self, stream):
        """A context manager that makes ``stream`` (numba's, or 0) the peer's current stream."""
        handle = int(stream.handle) if stream else 0
        if handle not in self._streams:
            if self.library == "torch":
                s = self.lib.cuda.ExternalStream(handle) if handle else self.lib.cuda.default_stream()
                self._streams[handle] = self.lib.cuda.stream(s)
            else:
                self._streams[handle] = self.lib.cuda.ExternalStream(handle)
        return self._streams[handle]

    def launch(self, stream: object = 0) -> None:
        with self.on(stream):
            self._op()


@gpu("vector_add", "cupy")
@gpu("vector_add", "torch")
class VectorAddPeer(_Peer, VectorAddProblem):
    """``b += a``: CuPy's ``b += a``, PyTorch's ``b.add_(a)``."""

    def prepare(self) -> None:
        super().prepare()
        pa, pb = self.wrap(self.a), self.wrap(self.b)
        self._op = (lambda: pb.add_(pa)) if self.library == "torch" else (lambda: pb.__iadd__(pa))  # b += a


@gpu("saxpy", "cupy")
@gpu("saxpy", "torch")
class SaxpyPeer(_Peer, SaxpyProblem):
    """PyTorch's ``y.add_(x, alpha=a)``; CuPy: one fused ElementwiseKernel (``y = a * x + y``)."""

    def prepare(self) -> None:
        super().prepare()
        px, py, a = self.wrap(self.x), self.wrap(self.y), self.A
        if self.library == "torch":
            alpha = float(a)
            self._op = lambda: py.add_(px, alpha=alpha)
        else:
            kernel = self.lib.ElementwiseKernel("float32 x, float32 a", "float32 y", "y = a * x + y",
                                                "gpukernels_saxpy")
            self._op = lambda: kernel(px, a, py)


@gpu("sum", "cupy")
@gpu("sum", "torch")
class SumPeer(_Peer, SumProblem):
    """``x.sum(out=...)`` into a float32 scalar, as a user of either library would write it."""

    out_dtype = np.float32

    def prepare(self) -> None:
        super().prepare()
        px, pout = self.wrap(self.x), self.wrap(self.out).reshape(())
        if self.library == "torch":
            self._op = lambda: self.lib.sum(px, dim=0, out=pout)
        else:
            self._op = lambda: px.sum(out=pout)


def _peer_of(cls: type, impl: str) -> type:
    """The registry holds one class per (op, impl); a peer class learns its library from impl."""
    return type(f"{cls.__name__}_{impl}", (cls,), {"library": impl}) if issubclass(cls, _Peer) else cls


GPU.update({key: _peer_of(cls, key[1]) for key, cls in GPU.items()})


def make_gpu(op: str, impl: str, n: int) -> DeviceProblem:
    """A prepared problem of ``op`` by ``impl`` (a name in the catalogue's ``op.gpu``)."""
    try:
        cls = GPU[(op, impl)]
    except KeyError:
        raise KeyError(f"no GPU workload for {op} / {impl}; registered: {sorted(GPU)}") from None
    return cls(n)


# --- host baselines ----------------------------------------------------------------------------

@njit(parallel=True, cache=True)
def _cpu_vector_add(a, b):
    for i in prange(b.size):
        b[i] += a[i]


@njit(parallel=True, cache=True)
def _cpu_saxpy(a, x, y):
    for i in prange(y.size):
        y[i] = a * x[i] + y[i]


@njit(parallel=True, cache=True)
def _cpu_sum(x):
    s = 0.0
    for i in prange(x.size):
        s += x[i]
    return s


class HostProblem:
    """The op on host arrays: ``run()`` is the timed call; ``check()`` compares with NumPy once."""

    op: ClassVar[str]
    impl: ClassVar[str]
    rtol: ClassVar[float] = 1e-6

    def __init__(self, n: int) -> None:
        self.n = check_size(n)
        self.inputs = [a.copy() for a in host_inputs(self.n)]

    def check(self) -> None:
        fresh = [a.copy() for a in host_inputs(self.n)]
        got = np.asarray(self.call(*fresh), dtype=np.float64)
        want = np.asarray(self.numpy(*[a.copy() for a in host_inputs(self.n)]), dtype=np.float64)
        np.testing.assert_allclose(got, want, rtol=self.rtol, err_msg=f"{self.op} {self.impl} n={self.n}")

    def run(self) -> None:
        self.call(*self.inputs)

    def call(self, *arrays):
        return self.numpy(*arrays) if self.impl == "numpy" else self.parallel(*arrays)


@host("vector_add", "numpy")
@host("vector_add", "cpu_parallel")
class VectorAddHost(HostProblem):
    op = "vector_add"

    @staticmethod
    def numpy(a, b):
        np.add(b, a, out=b)
        return b

    @staticmethod
    def parallel(a, b):
        _cpu_vector_add(a, b)
        return b


@host("saxpy", "numpy")
@host("saxpy", "cpu_parallel")
class SaxpyHost(HostProblem):
    op = "saxpy"

    @staticmethod
    def numpy(x, y):
        y += SaxpyProblem.A * x  # NumPy's own way: a temporary, then the in-place add
        return y

    @staticmethod
    def parallel(x, y):
        _cpu_saxpy(SaxpyProblem.A, x, y)
        return y


@host("sum", "numpy")
@host("sum", "cpu_parallel")
class SumHost(HostProblem):
    op = "sum"
    rtol = 1e-5

    @staticmethod
    def numpy(x, _=None):
        return x.sum()

    @staticmethod
    def parallel(x, _=None):
        return _cpu_sum(x)


HOST.update({key: type(f"{cls.__name__}_{key[1]}", (cls,), {"impl": key[1]}) for key, cls in HOST.items()})


def make_host(op: str, impl: str, n: int) -> HostProblem:
    try:
        return HOST[(op, impl)](n)
    except KeyError:
        raise KeyError(f"no host workload for {op} / {impl}; registered: {sorted(HOST)}") from None


# --- copies ------------------------------------------------------------------------------------

class Copy:
    """One copy of ``nbytes`` in the direction and host-memory kind named by ``kind``.

    d2d is the driver's copy (cuMemcpyDtoDAsync); d2d_kernel is kernels.copy over 4-byte words.
    D2D counts bytes read + written (as copy benchmarks usually do).
    """


    def __init__(self, kind: str, nbytes: int) -> None:
        from .catalogue import COPY_KINDS

        if kind not in COPY_KINDS:
            raise ValueError(f"unknown copy kind {kind!r}; choose from {COPY_KINDS}")
        n = check_size(nbytes)
        if kind == "d2d_kernel" and n % 4:
            raise ValueError(f"d2d_kernel copies 4-byte words: nbytes must be a multiple of 4, got {n}")
        self.kind, self.nbytes = kind, n
        on_device = kind.startswith("d2d")
        require_device_bytes(2 * n if on_device else n)
        pinned = kind.endswith("pinned")
        self.host = cuda.pinned_array(n, dtype=np.uint8) if pinned else np.empty(n, dtype=np.uint8)
        self.host[:] = 1
        self.dev = cuda.to_device(self.host)
        self.dev2 = cuda.device_array(n, dtype=np.uint8) if on_device else None
        if kind == "d2d_kernel":
            self.config = grid_stride_for(n // 4, 256, sm_count(), blocks_per_sm=8)
            self.words = self.dev.view(np.uint32), self.dev2.view(np.uint32)
        self.bytes_moved = 2 * n if on_device else n

    def launch(self, stream: object = 0) -> None:
        if self.kind == "d2d_kernel":
            kernels.copy[self.config.grid, self.config.block, stream](*self.words)
        elif self.kind == "d2d":
            self.dev2.copy_to_device(self.dev, stream=stream)
        elif self.kind.startswith("h2d"):
            self.dev.copy_to_device(self.host, stream=stream)
        else:
            self.dev.copy_to_host(self.host, stream=stream)

    def check(self) -> None:
        """The copy lands: destination bytes equal the source's."""
        self.launch()
        cuda.synchronize()
        if self.kind.startswith("d2d"):
            ok = np.array_equal(self.dev2.copy_to_host(), self.dev.copy_to_host())
        else:
            ok = np.array_equal(self.dev.copy_to_host(), self.host)
        if not ok:
            raise AssertionError(f"copy {self.kind} of {self.nbytes} bytes did not land")
