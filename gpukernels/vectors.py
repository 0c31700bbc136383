"""16-byte loads and stores of four float32 for Numba CUDA kernels.

Numba has no vector type for array elements: ``b[i] += a[i]`` on float32 issues 4-byte loads,
and a complex64 view still compiles to two 4-byte loads (ptxas does not fuse them). These two
intrinsics, written with numba-cuda's public extension API (``numba.cuda.extending.intrinsic``),
load and store ``<4 x float>`` with 16-byte alignment: one ``ld.global.v4.f32`` /
``st.global.v4.f32`` (``LDG.E.128`` / ``STG.E.128`` in SASS) per four floats, as PyTorch's
vectorised elementwise kernels do.

The caller guarantees that ``&arr[i]`` is 16-byte aligned and ``i + 3 < arr.size`` (a
misaligned vector access is a device fault). The CUDA simulator runs kernels as Python and has
no LLVM: there the same names are plain element-wise Python functions.
"""
from __future__ import annotations

from numba import config

if config.ENABLE_CUDASIM:
    def load_f32x4(arr, i):
        return arr[i], arr[i + 1], arr[i + 2], arr[i + 3]

    def store_f32x4(arr, i, values):
        arr[i], arr[i + 1], arr[i + 2], arr[i + 3] = values

else:
    from llvmlite import ir
    from numba import types
    from numba.core.errors import TypingError
    from numba.cuda.extending import intrinsic

    _F4 = ir.VectorType(ir.FloatType(), 4)
    _QUAD = types.UniTuple(types.float32, 4)

    def _check(arr) -> None:
        if not (isinstance(arr, types.Array) and arr.dtype == types.float32 and arr.ndim == 1
                and arr.layout == "C"):
            raise TypingError(f"16-byte access needs a contiguous 1-D float32 array, got {arr}")

    def _quad_pointer(context, builder, arrty, arr, i):
        data = context.make_array(arrty)(context, builder, arr).data
        return builder.bitcast(builder.gep(data, [i], inbounds=True), _F4.as_pointer())

    @intrinsic
    def load_f32x4(typingctx, arr, i):
        """``(arr[i], arr[i+1], arr[i+2], arr[i+3])`` in one 16-byte load."""
        _check(arr)
        sig = _QUAD(arr, types.intp)

        def codegen(context, builder, sig, args):
            vec = builder.load(_quad_pointer(context, builder, sig.args[0], *args), align=16)
            lanes = [builder.extract_element(vec, ir.Constant(ir.IntType(32), k)) for k in range(4)]
            return context.make_tuple(builder, _QUAD, lanes)

        return sig, codegen

    @intrinsic
    def store_f32x4(typingctx, arr, i, values):
        """``arr[i:i+4] = values`` (four float32) in one 16-byte store."""
        _check(arr)
        sig = types.void(arr, types.intp, _QUAD)

        def codegen(context, builder, sig, args):
            arr, i, values = args
            vec = ir.Constant(_F4, ir.Undefined)
            for k in range(4):
                vec = builder.insert_element(vec, builder.extract_value(values, k), ir.Constant(ir.IntType(32), k))
            builder.store(vec, _quad_pointer(context, builder, sig.args[0], arr, i), align=16)
            return context.get_dummy_value()

        return sig, codegen
