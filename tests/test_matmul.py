"""Our SGEMM (gpukernels.ours.matmul) on the CUDA simulator: C = A @ B against NumPy at small,
odd shapes (partial tiles in every dimension), a wrong C caught by ``check``, and the compiled
kernel keeping its micro-tile in registers (PTX, no GPU needed). Small shapes only: the
simulator runs each of a block's 256 threads in Python."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from fixtures.grid import representatives
from gpukernels.ours.matmul import BK, BM, BN, MATMUL, MatmulNumba, MatmulProblem


# -m "not slow": partial tiles everywhere with k past one k step, and a single element; .ci/run all
@pytest.mark.parametrize("m, n, k", representatives([(16, 16, 16), (33, 17, 9), (5, 70, 3), (1, 1, 1)],
                                                    fast=[(33, 17, 9), (1, 1, 1)]))
def test_sgemm_matches_numpy(m, n, k) -> None:
    work = MatmulNumba(m=m, n=n, k=k)
    work.check()
    np.testing.assert_allclose(work.result(), work.a_host @ work.b_host, rtol=MatmulProblem.rtol)


def test_sgemm_crosses_tile_edges() -> None:
    """One row and column past a block tile, k past two k steps: every edge path at once."""
    MatmulNumba(m=BM + 1, n=BN + 1, k=2 * BK + 1).check()


def test_a_wrong_result_is_caught() -> None:
    work = MatmulNumba(m=33, n=17, k=9)
    launch = work.launch

    def corrupt(stream: object = 0) -> None:
        launch(stream)
        c = work.c.copy_to_host()
        c[32, 16] += 0.01  # the last element: an edge tile's last store, off by about 0.3%
        work.c.copy_to_device(c)

    work.launch = corrupt
    with pytest.raises(AssertionError, match="MatmulNumba m=33, n=17, k=9"):
        work.check()


def test_op_declares_compute_bound_matmul_with_cublas_peers() -> None:
    assert MATMUL.compute_bound and MATMUL.ours == "numba" and not MATMUL.host_impls
    assert set(MATMUL.gpu_impls) == {"numba", "cupy", "torch"}
    assert MATMUL.flops(m=2, n=3, k=4) == 48 and MATMUL.elements(m=2, n=3, k=4) == 6


def test_sgemm_compiles_to_registers_not_local_memory() -> None:
    """Outside the simulator: the 8 x 8 accumulators and fragments live in registers (no
    ld/st.local), and the inner k loop is 64 FMAs on 16 shared-memory loads."""
    code = ("from numba import cuda, float32\n"
            "from gpukernels.ours.matmul import sgemm\n"
            "ptx, _ = cuda.compile_ptx(sgemm.py_func, (float32[:, ::1],) * 3, cc=(9, 0))\n"
            "print(ptx.count('ld.local') + ptx.count('st.local'), ptx.count('fma.rn.f32'), ptx.count('ld.shared.f32'))\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    if done.returncode != 0 and "libnvvm" in done.stderr.lower():
        pytest.skip("NVVM is not installed: cannot compile PTX here")
    assert done.returncode == 0, done.stderr[-2000:]
    assert tuple(map(int, done.stdout.split())) == (0, 64, 16)
