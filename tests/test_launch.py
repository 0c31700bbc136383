"""gpukernels.launch: validation against the limits, with messages that name the limit."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpukernels.launch import (
    DOCUMENTED_LIMITS,
    LaunchConfig,
    LaunchConfigError,
    Limits,
    check_size,
    grid_for,
    grid_stride_for,
    validate,
)

MAX_X = 2**31 - 1  # 2147483647


def test_documented_limits_are_cudas() -> None:
    assert DOCUMENTED_LIMITS.max_grid == (2147483647, 65535, 65535)
    assert DOCUMENTED_LIMITS.max_block == (1024, 1024, 64)
    assert DOCUMENTED_LIMITS.max_threads_per_block == 1024


def test_seed_2_pow_50_blocks_names_grid_x_value_and_limit() -> None:
    with pytest.raises(LaunchConfigError) as err:
        validate(2**50, 1)
    msg = str(err.value)
    assert "grid x" in msg
    assert "1125899906842624" in msg
    assert "2147483647" in msg
    assert "MAX_GRID_DIM_X" in msg


def test_launch_config_error_is_a_value_error() -> None:
    assert issubclass(LaunchConfigError, ValueError)


@pytest.mark.parametrize(
    "grid, block, names",
    [
        ((1, 65536), 1, ("grid y", "65536", "65535", "MAX_GRID_DIM_Y")),
        ((1, 1, 65536), 1, ("grid z", "65536", "65535", "MAX_GRID_DIM_Z")),
        (2**31, 1, ("grid x", "2147483648", "2147483647")),
        (1, 1025, ("block x", "1025", "1024", "MAX_BLOCK_DIM_X")),
        (1, (1, 1025), ("block y", "1025", "1024", "MAX_BLOCK_DIM_Y")),
        (1, (1, 1, 65), ("block z", "65", "64", "MAX_BLOCK_DIM_Z")),
        (1, (32, 33), ("1056 threads", "1024", "MAX_THREADS_PER_BLOCK")),
        (1, (16, 16, 8), ("2048 threads", "1024", "MAX_THREADS_PER_BLOCK")),
    ],
)
def test_past_a_limit_names_it(grid, block, names) -> None:
    with pytest.raises(LaunchConfigError) as err:
        validate(grid, block)
    for part in names:
        assert part in str(err.value)


@pytest.mark.parametrize(
    "grid, block, expect_grid, expect_block",
    [
        (MAX_X, 1, (MAX_X, 1, 1), (1, 1, 1)),
        ((MAX_X, 65535, 65535), 1, (MAX_X, 65535, 65535), (1, 1, 1)),
        (1, 1024, (1, 1, 1), (1024, 1, 1)),
        (1, (1, 1024), (1, 1, 1), (1, 1024, 1)),
        (1, (1, 1, 64), (1, 1, 1), (1, 1, 64)),
        (1, (32, 32), (1, 1, 1), (32, 32, 1)),
        (1, (16, 1, 64), (1, 1, 1), (16, 1, 64)),
        (2, 4, (2, 1, 1), (4, 1, 1)),
    ],
)
def test_exactly_at_the_limits_is_accepted(grid, block, expect_grid, expect_block) -> None:
    cfg = validate(grid, block)
    assert cfg == LaunchConfig(expect_grid, expect_block)
    assert cfg.grid == expect_grid and cfg.block == expect_block


def test_config_threads_and_unpacking() -> None:
    cfg = validate((3, 2), (4, 2, 2))
    assert cfg.threads == 3 * 2 * 4 * 2 * 2
    grid, block = cfg
    assert grid == (3, 2, 1) and block == (4, 2, 2)


@pytest.mark.parametrize("bad", [0, -1, -(2**40)])
@pytest.mark.parametrize("where", ["grid", "block"])
def test_sizes_below_one_are_refused(bad, where) -> None:
    args = (bad, 1) if where == "grid" else (1, bad)
    with pytest.raises(LaunchConfigError, match=rf"{where} x must be at least 1, got {bad}"):
        validate(*args)


def test_a_zero_in_a_later_dimension_names_that_axis() -> None:
    with pytest.raises(LaunchConfigError, match="grid y must be at least 1, got 0"):
        validate((4, 0), 1)
    with pytest.raises(LaunchConfigError, match="block z must be at least 1, got 0"):
        validate(1, (4, 1, 0))


@pytest.mark.parametrize("bad", [1.5, "3", True, False, None, 4.0, [2, 4]])
@pytest.mark.parametrize("where", ["grid", "block"])
def test_non_integers_are_refused(bad, where) -> None:
    args = (bad, 1) if where == "grid" else (1, bad)
    with pytest.raises(LaunchConfigError, match=rf"{where} x must be a whole number"):
        validate(*args)


def test_non_integer_inside_a_tuple_is_refused() -> None:
    with pytest.raises(LaunchConfigError, match="block y must be a whole number, got 2.0"):
        validate(1, (4, 2.0))


def test_numpy_integers_are_accepted_as_plain_ints() -> None:
    cfg = validate(np.int64(3), (np.int32(4), np.uint16(2)))
    assert cfg.grid == (3, 1, 1) and cfg.block == (4, 2, 1)
    assert all(type(d) is int for d in cfg.grid + cfg.block)


@pytest.mark.parametrize("dims, count", [((), 0), ((1, 1, 1, 1), 4), ((2, 2, 2, 2, 2), 5)])
@pytest.mark.parametrize("where", ["grid", "block"])
def test_dimension_count_must_be_one_to_three(dims, count, where) -> None:
    args = (dims, 1) if where == "grid" else (1, dims)
    with pytest.raises(LaunchConfigError, match=rf"{where} must have 1 to 3 dimensions, got {count}"):
        validate(*args)


@pytest.mark.parametrize("n", [0, 1, 2**40, np.int64(7)])
def test_check_size_accepts_whole_numbers_from_zero(n) -> None:
    assert check_size(n) == int(n)
    assert type(check_size(n)) is int


@pytest.mark.parametrize("bad, message", [(-1, "size must be >= 0 elements, got -1"),
                                          (1.5, "whole number"), ("3", "whole number"),
                                          (True, "whole number"), (None, "whole number")])
def test_check_size_refuses(bad, message) -> None:
    with pytest.raises(LaunchConfigError, match=message):
        check_size(bad)


@pytest.mark.parametrize(
    "n, block, blocks",
    [(0, 256, 1), (1, 256, 1), (256, 256, 1), (257, 256, 2), (1000, 128, 8), (1024, 128, 8),
     (2**20, 4, 2**18), (2**31 - 1, 1, 2**31 - 1)],
)
def test_grid_for_known_cases(n, block, blocks) -> None:
    cfg = grid_for(n, block)
    assert cfg.grid == (blocks, 1, 1)
    assert cfg.block == (block, 1, 1)


@settings(max_examples=60, deadline=None, database=None)
@given(n=st.integers(1, 2**31 - 1), block=st.integers(1, 1024))
def test_grid_for_covers_n_with_no_spare_block(n, block) -> None:
    blocks = grid_for(n, block).grid[0]
    assert blocks * block >= n
    assert (blocks - 1) * block < n


def test_grid_for_past_the_grid_limit_names_it() -> None:
    with pytest.raises(LaunchConfigError, match="grid x = 2147483648 exceeds the device limit of 2147483647"):
        grid_for(2**31, 1)


@pytest.mark.parametrize("n, block, message", [(-1, 4, "size must be >= 0"), (1.5, 4, "whole number"),
                                               (10, 0, "block x must be at least 1"),
                                               (10, 1025, "block x = 1025 exceeds"),
                                               (10, 2.0, "block x must be a whole number")])
def test_grid_for_refuses(n, block, message) -> None:
    with pytest.raises(LaunchConfigError, match=message):
        grid_for(n, block)


@pytest.mark.parametrize(
    "n, block, sms, per_sm, blocks",
    [(10**6, 256, 132, 4, 528),     # SM-bound: 132 x 4
     (1000, 256, 132, 4, 4),        # element-bound: ceil(1000 / 256)
     (0, 256, 132, 4, 1),           # always at least one block
     (10**6, 256, 0, 4, 1),
     (2**28, 256, 132, 8, 1056)],
)
def test_grid_stride_for(n, block, sms, per_sm, blocks) -> None:
    cfg = grid_stride_for(n, block, sms, blocks_per_sm=per_sm)
    assert cfg == LaunchConfig((blocks, 1, 1), (block, 1, 1))


CUSTOM = Limits(max_grid=(10, 2, 2), max_block=(8, 4, 2), max_threads_per_block=16)


def test_custom_limits_accept_their_maxima() -> None:
    assert validate((10, 2, 2), (8, 2), CUSTOM).threads == 10 * 2 * 2 * 16
    assert validate(1, (2, 4, 2), CUSTOM).block == (2, 4, 2)
    assert grid_for(80, 8, CUSTOM).grid == (10, 1, 1)


@pytest.mark.parametrize(
    "call, message",
    [(lambda: validate(11, 1, CUSTOM), "grid x = 11 exceeds the device limit of 10 blocks"),
     (lambda: validate((1, 3), 1, CUSTOM), "grid y = 3 exceeds the device limit of 2 blocks"),
     (lambda: validate(1, (1, 1, 3), CUSTOM), "block z = 3 exceeds the device limit of 2 threads"),
     (lambda: validate(1, (8, 4), CUSTOM), r"block of 32 threads \(8, 4, 1\) exceeds the device limit of 16"),
     (lambda: grid_for(81, 8, CUSTOM), "grid x = 11 exceeds the device limit of 10"),
     (lambda: grid_for(8, 9, CUSTOM), "block x = 9 exceeds the device limit of 8"),
     (lambda: grid_stride_for(81, 8, 100, limits=CUSTOM), "grid x = 11 exceeds")],
)
def test_custom_limits_refuse_past_them(call, message) -> None:
    with pytest.raises(LaunchConfigError, match=message):
        call()


def test_documented_limits_would_accept_what_custom_refuse() -> None:
    assert validate(11, (8, 4)).grid == (11, 1, 1)


# --- PreparedLaunch ------------------------------------------------------------------------

def _arrays(n: int = 300):
    import numpy as np
    from numba import cuda

    a_host = np.arange(n, dtype=np.float32) / 7
    b_host = np.arange(n, dtype=np.float32) * 3
    return a_host, b_host, cuda.to_device(a_host), cuda.to_device(b_host)


def test_prepared_launch_is_bit_exact_with_the_dispatcher() -> None:
    import numpy as np

    from gpukernels.ours import kernels
    from gpukernels.launch import PreparedLaunch, grid_for

    a_host, b_host, a, b = _arrays()
    cfg = grid_for(300, 64)
    go = PreparedLaunch(kernels.vector_add, cfg, a, b)
    go()
    go()
    _, _, a2, b2 = _arrays()
    kernels.vector_add[cfg.grid, cfg.block](a2, b2)
    kernels.vector_add[cfg.grid, cfg.block](a2, b2)
    np.testing.assert_array_equal(b.copy_to_host(), b2.copy_to_host())
    np.testing.assert_array_equal(b.copy_to_host(), (b_host + a_host) + a_host)


def test_prepared_launch_rebinds_and_refuses_other_types_or_shapes() -> None:
    import numpy as np
    from numba import cuda

    from gpukernels.ours import kernels
    from gpukernels.launch import PreparedLaunch, grid_for

    a_host, b_host, a, b = _arrays()
    go = PreparedLaunch(kernels.vector_add, grid_for(300, 64), a, b)
    _, _, a2, b2 = _arrays()
    go.bind(a2, b2)  # same types and shapes: the next call uses the new arrays
    go()
    np.testing.assert_array_equal(b.copy_to_host(), b_host)  # untouched
    np.testing.assert_array_equal(b2.copy_to_host(), b_host + a_host)
    with pytest.raises(TypeError, match="argument 1"):
        go.bind(a, cuda.to_device(np.zeros(300, dtype=np.float64)))
    with pytest.raises(TypeError, match="shape"):
        go.bind(a, cuda.to_device(np.zeros(301, dtype=np.float32)))
    with pytest.raises(TypeError, match="expected 2 arguments"):
        go.bind(a)


def test_prepared_launch_on_a_stream() -> None:
    import numpy as np
    from numba import cuda

    from gpukernels.ours import kernels
    from gpukernels.launch import PreparedLaunch, grid_for

    a_host, b_host, a, b = _arrays(64)
    s = cuda.stream()
    PreparedLaunch(kernels.vector_add, grid_for(64, 32), a, b)(s)
    s.synchronize()
    np.testing.assert_array_equal(b.copy_to_host(), b_host + a_host)
