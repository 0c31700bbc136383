"""The gate's evidence for one parameter set: the Mann-Whitney U test on the stored samples (scipy),
asv's confidence-interval rule where samples are few, and the decision from ratio and factor.
Benjamini-Hochberg across parameter sets is applied by gpukernels.compare."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

# Smallest sample count whose exact two-sided U test can reach p < 0.01: 2 / C(10, 5) = 0.0079.
MIN_SAMPLES = 5
# Exact U null distribution up to this many samples a side (no ties); beyond, the normal
# approximation is accurate and cheap (this matches the numbers validated in docs/validation.md).
EXACT_MAX = 20


def ratio(base: float, head: float, inverted: bool) -> float:
    worse, better = (base, head) if inverted else (head, base)
    if worse == better:
        return 1.0
    return math.inf if better == 0 else worse / better


def u_test(x: list[float], y: list[float]) -> float:
    """Two-sided Mann-Whitney U p-value: exact without ties up to EXACT_MAX a side, else asymptotic.

    scipy's asymptotic method corrects the variance for ties and applies the continuity correction.
    """
    x_, y_ = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    pooled = np.concatenate([x_, y_])
    if np.all(pooled == pooled[0]):  # every value equal: no evidence of any difference
        return 1.0
    ties = len(np.unique(pooled)) < len(pooled)
    method = "exact" if not ties and max(len(x_), len(y_)) <= EXACT_MAX else "asymptotic"
    return float(stats.mannwhitneyu(x_, y_, alternative="two-sided", method=method).pvalue)


def evidence(
    base_samples: list[float] | None,
    head_samples: list[float] | None,
    base_ci: tuple[float, float],
    head_ci: tuple[float, float],
) -> tuple[float, bool | None, str]:
    """(U test p-value or NaN, CIs disjoint or None, what the evidence is) for one parameter set."""
    if min(len(base_samples or ()), len(head_samples or ())) >= MIN_SAMPLES:
        p = u_test(base_samples, head_samples)
        return p, None, f"U test p={p:.2g}"
    if not any(math.isnan(x) for x in (*base_ci, *head_ci)):
        disjoint = base_ci[1] < head_ci[0] or head_ci[1] < base_ci[0]
        return math.nan, disjoint, f"99% CIs {'disjoint' if disjoint else 'overlap'}"
    return math.nan, False, "no spread stored"


def decide(ratio: float, factor: float, significant: bool) -> str:
    """slower / faster / uncertain / same from the ratio, the factor and the evidence."""
    if 1 / factor <= ratio <= factor:
        return "same"
    if not significant:
        return "uncertain"
    return "slower" if ratio > 1 else "faster"
