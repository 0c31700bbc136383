"""Kernel anatomy without a GPU: PTX width counting (hand-written and compiled PTX), the occupancy
arithmetic, finding the kernels a problem launches, the report table, and the probe's simulator
answer. Registers and shared memory come from the driver: they are read on a GPU only."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gpukernels import anatomy
from gpukernels.anatomy import HOPPER, KernelAnatomy, SMLimits, occupancy, ptx_widths, width_summary
from gpukernels.ours import probes
from gpukernels.ours import probe_tables as ours_report

PTX = """
\tld.param.u64 \t%rd1, [kernel_param_0];
\tld.global.v4.f32 \t{%f1, %f2, %f3, %f4}, [%rd5];
\tld.global.nc.v4.f32 \t{%f5, %f6, %f7, %f8}, [%rd6];
\t@%p1 ld.global.f32 \t%f9, [%rd7];
\t@!%p2 ld.global.cg.f64 \t%fd1, [%rd8];
\tld.global.v2.f32 \t{%f10, %f11}, [%rd9];
\tst.global.v4.f32 \t[%rd5], {%f1, %f2, %f3, %f4};
\tst.global.f32 \t[%rd7], %f9;
\tld.shared.f64 \t%fd2, [%r1];
\tst.shared.f64 \t[%r1], %fd2;
\tst.local.u32 \t[%rd10], %r2;
\tld.local.u32 \t%r3, [%rd10];
// ld.global.v4.f32 in a comment is no instruction
"""


def test_ptx_widths_counts_each_instruction_by_space_and_width() -> None:
    widths = ptx_widths(PTX)
    assert widths == {"ld.global.v4": 2, "ld.global.v2": 1, "ld.global": 2, "ld.global.nc": 1, "st.global.v4": 1,
                      "st.global.v2": 0, "st.global": 1, "ld.shared": 1, "st.shared": 1, "ld.local": 1, "st.local": 1}
    assert width_summary(widths, "ld") == "2 x v4, 1 x v2, 2 x scalar (1 nc)"
    assert width_summary(widths, "st") == "1 x v4, 1 x scalar"
    assert width_summary(ptx_widths(""), "st") == "none"


def test_compiled_ptx_of_the_quads_kernel_has_16_byte_loads_and_stores() -> None:
    """compile_ptx needs NVVM, not a GPU; the simulator has neither, so this runs without it."""
    code = ("from numba import cuda, types\n"
            "from gpukernels.ours import kernels\n"
            "from gpukernels.anatomy import ptx_widths\n"
            "f32 = types.float32[::1]\n"
            "for name, sig in (('vector_add_quads', (types.int64,) * 3), ('vector_add', (f32, f32))):\n"
            "    ptx, _ = cuda.compile_ptx(getattr(kernels, name).py_func, sig, cc=(9, 0))\n"
            "    w = ptx_widths(ptx)\n"
            "    print(name, w['ld.global.v4'], w['st.global.v4'], w['ld.global'], w['st.global'], w['st.local'])\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    counts = {line.split()[0]: tuple(map(int, line.split()[1:])) for line in done.stdout.splitlines()}
    # quads: b and a as one 16-byte load each, one 16-byte store; the tutorial's kernel: 4-byte ones
    assert counts == {"vector_add_quads": (2, 1, 0, 0, 0), "vector_add": (0, 0, 2, 1, 0)}


@pytest.mark.parametrize("regs, shared, block, blocks, pct, limit", [
    (32, 0, 256, 8, 100, "threads"),  # 1024 registers a warp: 64 warps fit, as many as the SM holds
    (128, 0, 256, 2, 25, "registers"),  # 4096 a warp: 4 warps per quarter of the register file
    (40, 0, 256, 6, 75, "registers"),  # 1280 a warp (rounded to 256): 12 per quarter, 48 warps, 6 blocks
    (255, 0, 256, 1, 12.5, "registers"),
    (129, 0, 512, 0, 0, "registers"),  # 136 x 512 registers exceed the SM's 65536: cannot launch
    (30, 40000, 256, 5, 62.5, "shared memory"),  # 40000 + 1 KiB reserved, rounded to 128: 5 in 228 KiB
    (16, 0, 32, 32, 50, "blocks"),  # one warp a block: the 32-block limit binds at 32 warps
    (32, 0, 1024, 2, 100, "threads"),
    (32, 0, 2048, 0, 0, "block too large"),
])
def test_occupancy_on_hopper_limits(regs, shared, block, blocks, pct, limit) -> None:
    occ = occupancy(regs, shared, block, HOPPER)
    assert (occ.blocks_per_sm, occ.limited_by) == (blocks, limit)
    assert occ.fraction * 100 == pytest.approx(pct)
    assert occ.warps_per_sm == blocks * -(-block // 32)


def test_occupancy_follows_the_limits_it_is_given() -> None:
    small = SMLimits(registers=32768, threads=1024, blocks=16)
    assert occupancy(32, 0, 256, small).blocks_per_sm == 4
    assert occupancy(32, 0, 256, HOPPER, max_threads_per_block=128).limited_by == "block too large"


def _row() -> dict:
    occ = occupancy(64, 8448, 256)
    k = KernelAnatomy("sgemm", "(array(float32, 2d, C), ...)", 64, 8448, 0, 1024, occ,
                      {"ld.global": 8, "st.global": 1, "ld.shared": 16})
    assert "sgemm" in repr(k) and "64 regs" in repr(k) and "limited by" in repr(k)
    return {"op": "matmul", "impl": "numba", **k.as_row()}


def test_report_table_from_a_synthetic_probe() -> None:
    probe = {"probes": {"kernel_anatomy": {"data": {"rows": [_row()]}, "measured": True, "note": ""}}}
    table = ours_report.kernel_anatomy(probe)
    row = table.frame.iloc[0]
    assert row["kernel"] == "sgemm" and row["registers (per thread)"] == 64
    assert row["occupancy (%)"] == 50.0 and row["limited by"] == "registers"
    assert row["global loads (PTX)"] == "8 x scalar" and row["global stores (PTX)"] == "1 x scalar"
    assert "theoretical" in table.caption and "PTX" in table.caption
    assert ours_report.kernel_anatomy({"probes": {}}) is None


class NoResults:
    """A machine view without asv results: probe_section shows the probe JSON's tables alone."""

    def wide(self, fam):
        return None

    def pick(self, fam):
        return None


def test_probe_section_shows_the_anatomy_table() -> None:
    probe = {"probes": {"kernel_anatomy": {"data": {"rows": [_row()]}, "measured": True, "note": ""}}}
    (section,) = ours_report.probe_section(NoResults(), probe)
    assert any(getattr(p, "caption", "").startswith("Kernels our implementations launch") for p in section.parts)


def test_used_kernels_reads_prepared_launches_and_launch_code() -> None:
    """Without the simulator (its dispatchers are other classes) and without a GPU: a problem-like
    object with a PreparedLaunch (not bound: that would compile) and a kernel named in launch()."""
    code = ("from gpukernels.anatomy import used_kernels\n"
            "from gpukernels.launch import PreparedLaunch, validate\n"
            "from gpukernels.ours import kernels\n"
            "class Problem:\n"
            "    def launch(self, stream=0):\n"
            "        self._launch(stream)\n"
            "        kernels.vector_add[self.config.grid, self.config.block, stream]()\n"
            "p = Problem()\n"
            "p.config = validate(4, (8, 8))\n"
            "p._launch = PreparedLaunch.__new__(PreparedLaunch)\n"
            "p._launch.dispatcher, p._launch.config = kernels.vector_add_quads, validate(1, 128)\n"
            "print([(d.py_func.__name__, b) for d, b in used_kernels(p)])\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[('vector_add_quads', 128), ('vector_add_py', 64)]"


def test_probe_under_the_simulator_is_not_measured() -> None:
    found = probes.kernel_anatomy()
    assert found == {"data": {"rows": []}, "measured": False, "note": "simulator: no PTX or registers"}
    assert probes.PROBES["kernel_anatomy"] is probes.kernel_anatomy
    with pytest.raises(RuntimeError, match="simulator"):
        anatomy.anatomy(object(), 256, HOPPER)


def test_probe_sizes() -> None:
    from gpukernels.ours.suite import SUITE

    assert probes._anatomy_axes(SUITE.ops["vector_add"]) == {"n": 2**24}
    assert probes._anatomy_axes(SUITE.ops["matmul"]) == {"m": 1024, "n": 1024, "k": 1024}
