"""Float32 loads and stores at raw device addresses, 4, 8 or 16 bytes at a time, for Numba kernels.

A building block for your own streaming kernels: the device side is ``load_f32x4`` and friends
(below), the host side ``address``, ``vector_width`` and ``vector_span``, which say whether and
how a kernel may use them on given arrays, so a launcher checks once and falls back. Example, a
scaled copy ``y = 2 * x``::

    from numba import cuda
    from gpukernels.vectors import address, load_f32, load_f32x4, store_f32, store_f32x4, vector_span, vector_width

    @cuda.jit
    def twice_quads(x, y, n, head):        # x, y: device addresses; n floats; head: 0-3
        qx, qy = x + 4 * head, y + 4 * head  # both 16-byte aligned from here
        k = cuda.grid(1)
        if k < (n - head) // 4:
            v = load_f32x4(qx, k)            # one 16-byte load: floats 4k .. 4k+3 after qx
            store_f32x4(qy, k, (v[0] + v[0], v[1] + v[1], v[2] + v[2], v[3] + v[3]))
        if k < 4:                            # the 0-3 floats before the first boundary and after the last quad
            if k < head:
                store_f32(y, k, load_f32(x, k) * 2)
            if k < (n - head) % 4:
                store_f32(y, n - 1 - k, load_f32(x, n - 1 - k) * 2)

    def twice(x, y):                         # contiguous 1-D float32 device arrays
        if vector_width(x, y) != 16:         # strided, another dtype, sizes or offsets that differ
            return plain_twice[...](x, y)    # (mod 16 bytes): the array kernel you had
        head, quads, tail = vector_span(x, 16)
        twice_quads[max(1, -(-quads // 256)), 256](address(x), address(y), x.size, head)

    # x and y must outlive the launch: an address keeps nothing alive (PreparedLaunch's owners=)

``gpukernels.ours.saxpy`` and ``gpukernels.ours.reduce_sum`` are complete examples (with
``PreparedLaunch``, fallbacks and tests).

Why addresses: Numba passes every array argument as 7 kernel parameters (meminfo, parent,
nitems, itemsize, data, shape, stride: 56 bytes). A kernel of two arrays has 112 bytes of
parameters; PyTorch's add has a few pointers. While the arrays sit in L2 the kernel is short
enough for that to show: the same kernel taking two addresses and a count (24 bytes) measured
3.5% faster at 2^18 elements on an H100 (1.45 against 1.50 us, graph replay). The workloads
check dtype, contiguity and alignment before they pass an address (gpukernels.workloads).

Why vectors: Numba has no vector type for array elements: ``b[i] += a[i]`` on float32 issues
4-byte loads, and a complex64 view still compiles to two 4-byte loads (ptxas does not fuse
them). ``load_f32x4`` / ``store_f32x4`` load and store ``<4 x float>`` with 16-byte alignment:
one ``ld.global.v4.f32`` / ``st.global.v4.f32`` (``LDG.E.128`` / ``STG.E.128`` in SASS) per four
floats, as PyTorch's vectorised elementwise kernels do; ``_f32x2`` does 8 bytes. They are
written with numba-cuda's public extension API (``numba.cuda.extending.intrinsic``).

``load_f32xW(address, k)`` reads floats ``W*k`` to ``W*k + W - 1`` after ``address``; the
caller guarantees the address is ``4*W``-byte aligned and the floats exist (a bad address is a
device fault). The CUDA simulator has no LLVM and its arrays are host memory: there the same
names read and write through ctypes.
"""
from __future__ import annotations

import ctypes

import numpy as np
from numba import config

from .problems import device_address

__all__ = ["address", "vector_width", "vector_span", "load_f32", "store_f32", "load_f32x2", "store_f32x2",
           "load_f32x4", "store_f32x4"]


def address(array) -> int:
    """The device address of ``array``'s first element, for an address kernel (an int64 argument).

    Under the CUDA simulator, whose arrays are host memory, the host address: the simulator's
    ``load_f32*`` read and write there. The address keeps nothing alive: hold the array for as long
    as a launch may use it (``gpukernels.launch.PreparedLaunch(..., owners=(array, ...))``).
    """
    return device_address(array)


def _streamable(array) -> bool:
    return (getattr(array, "dtype", None) == np.float32 and getattr(array, "ndim", 0) == 1
            and bool(array.flags["C_CONTIGUOUS"]))


def vector_width(*arrays) -> int:
    """The widest access, in bytes, that an address kernel may use on all ``arrays`` together.

    16 (``load_f32x4``), 8 (``load_f32x2``) or 4 (``load_f32``) where every array is a contiguous
    1-D float32 array, all have one size and their addresses agree modulo that many bytes: after
    the same ``head`` floats (``vector_span``) every array sits on a boundary of that width, so one
    index serves them all. 0 where an address kernel cannot take them at all (strided, another
    dtype or shape, sizes that differ): launch a kernel on the arrays themselves instead. Any
    one contiguous float32 array alone is 16.
    """
    if not arrays or not all(_streamable(a) for a in arrays) or len({a.size for a in arrays}) != 1:
        return 0
    addresses = [address(a) for a in arrays]
    for width in (16, 8):
        if len({p % width for p in addresses}) == 1:
            return width
    return 4


def vector_span(array, width: int) -> tuple[int, int, int]:
    """``(head, vectors, tail)`` of a contiguous float32 ``array`` for ``width``-byte accesses (4, 8, 16).

    ``head`` floats (fewer than ``width / 4``) come before the first ``width``-byte boundary, then
    ``vectors`` whole vectors of ``width / 4`` floats, then ``tail`` floats: head + vectors *
    width / 4 + tail == array.size. An array shorter than its head is all head.
    """
    if width not in (4, 8, 16):
        raise ValueError(f"width is 4, 8 or 16 bytes, got {width}")
    n, per = array.size, width // 4
    head = min((-address(array)) % width // 4, n)
    vectors = (n - head) // per
    return head, vectors, n - head - vectors * per


def _host_floats(address: int, index: int, width: int):
    # int(): kernels may compute indices as NumPy integers (numba.int64(...) in the simulator),
    # which ctypes does not take as an address
    return (ctypes.c_float * width).from_address(int(address) + 4 * width * int(index))


if config.ENABLE_CUDASIM:
    # Python floats: float32 + float32 computed in float64 and rounded back on store is the
    # correctly rounded float32 sum, so results stay bit-exact against NumPy.
    def load_f32(address: int, i: int) -> float:
        return _host_floats(address, i, 1)[0]

    def store_f32(address: int, i: int, value: float) -> None:
        _host_floats(address, i, 1)[0] = value

    def load_f32x2(address: int, k: int) -> tuple:
        return tuple(_host_floats(address, k, 2))

    def store_f32x2(address: int, k: int, values: tuple) -> None:
        _host_floats(address, k, 2)[:] = values

    def load_f32x4(address: int, k: int) -> tuple:
        return tuple(_host_floats(address, k, 4))

    def store_f32x4(address: int, k: int, values: tuple) -> None:
        _host_floats(address, k, 4)[:] = values

else:
    from llvmlite import ir
    from numba import types
    from numba.core.errors import TypingError
    from numba.cuda.extending import intrinsic

    def _check_address(address) -> None:
        if not isinstance(address, types.Integer):
            raise TypingError(f"float32 access at an address needs an integer device address, got {address}")

    def _element(builder, address, index, width: int):
        """Pointer to element ``index`` of ``<width x float>`` (``float`` for width 1) at ``address``."""
        ty = ir.FloatType() if width == 1 else ir.VectorType(ir.FloatType(), width)
        # address space 1 (global): a generic pointer would compile to ld.v4.f32, not ld.global.v4.f32
        base = builder.inttoptr(address, ty.as_pointer(1))
        return builder.gep(base, [index], inbounds=True)

    def _accessors(width: int):
        """The load and store intrinsics of ``width`` floats (a scalar for width 1, else a tuple)."""
        value_type = types.float32 if width == 1 else types.UniTuple(types.float32, width)
        lane = [ir.Constant(ir.IntType(32), k) for k in range(width)]

        def load(typingctx, address, index):
            _check_address(address)
            sig = value_type(types.int64, types.intp)

            def codegen(context, builder, sig, args):
                loaded = builder.load(_element(builder, *args, width), align=4 * width)
                if width == 1:
                    return loaded
                return context.make_tuple(builder, value_type, [builder.extract_element(loaded, k) for k in lane])

            return sig, codegen

        def store(typingctx, address, index, values):
            _check_address(address)
            sig = types.void(types.int64, types.intp, value_type)

            def codegen(context, builder, sig, args):
                address, index, values = args
                if width == 1:
                    vec = values
                else:
                    vec = ir.Constant(ir.VectorType(ir.FloatType(), width), ir.Undefined)
                    for k in lane:
                        vec = builder.insert_element(vec, builder.extract_value(values, k.constant), k)
                builder.store(vec, _element(builder, address, index, width), align=4 * width)
                return context.get_dummy_value()

            return sig, codegen

        suffix = "" if width == 1 else f"x{width}"
        load.__name__, store.__name__ = f"load_f32{suffix}", f"store_f32{suffix}"  # distinct names in the IR
        return intrinsic(load), intrinsic(store)

    load_f32, store_f32 = _accessors(1)
    load_f32x2, store_f32x2 = _accessors(2)
    load_f32x4, store_f32x4 = _accessors(4)
