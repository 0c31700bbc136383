"""Two-sided Mann-Whitney U test in numpy (scipy is not a dependency of the suite).

Exact null distribution when there are no ties and both samples are small; otherwise the normal
approximation with the tie-corrected variance and a continuity correction (as
``scipy.stats.mannwhitneyu(method="asymptotic", use_continuity=True)``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

EXACT_MAX = 20  # per side; the exact table for 20 x 20 has 401 entries


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """U statistic of ``x`` (pairs x > y, ties counting one half) and the two-sided p-value."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        raise ValueError("both samples need at least one value")
    pooled = np.concatenate([x, y])
    ranks = _average_ranks(pooled)
    u = float(ranks[:m].sum() - m * (m + 1) / 2)
    _, tie_sizes = np.unique(pooled, return_counts=True)
    if len(tie_sizes) == m + n and max(m, n) <= EXACT_MAX:
        counts = _exact_counts(m, n)
        tail = counts[: int(min(u, m * n - u)) + 1].sum() / counts.sum()
        return u, float(min(1.0, 2 * tail))
    big_n = m + n
    variance = m * n / 12 * ((big_n + 1) - (tie_sizes**3 - tie_sizes).sum() / (big_n * (big_n - 1)))
    if variance <= 0:  # every value equal: no evidence of any difference
        return u, 1.0
    z = max(0.0, abs(u - m * n / 2) - 0.5) / math.sqrt(variance)
    return u, min(1.0, math.erfc(z / math.sqrt(2)))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they span."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def _exact_counts(m: int, n: int) -> np.ndarray:
    """Number of orderings of m x's and n y's giving U = 0..m*n (no ties).

    The largest value is either an x (beating all j y's: U shifts by j) or a y (U unchanged),
    so counts(i, j) = shift(counts(i-1, j), j) + counts(i, j-1).
    """
    table = [[np.ones(1)] * (n + 1)] + [[np.ones(1)] + [None] * n for _ in range(m)]
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            row = np.zeros(i * j + 1)
            row[j: j + len(table[i - 1][j])] += table[i - 1][j]
            row[: len(table[i][j - 1])] += table[i][j - 1]
            table[i][j] = row
    return table[m][n]
