"""Float32 loads and stores at raw device addresses, 4, 8 or 16 bytes at a time, for Numba kernels.

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

from numba import config


def _host_floats(address: int, index: int, width: int):
    return (ctypes.c_float * width).from_address(address + 4 * width * index)


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
