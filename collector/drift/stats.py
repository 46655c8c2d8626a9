"""The statistics of drift: PSI and KS on shared histograms, two proportions, category mixes, grading.

Everything here works on counts that ClickHouse has already aggregated, so a report over millions of
spans moves only a few thousand numbers into Python.

KS from histograms: the empirical CDFs of both windows only change at observed values, so on a
histogram whose bins are single quantised values (see `numeric.KEY_SCALE`) the largest CDF gap over
the bins *is* the two-sample KS statistic of the quantised data. Quantising merges values within
0.2% of each other, which can only lower the statistic, so the test stays valid (conservative). The
p-value is scipy's asymptotic one for two samples (`kstwo.sf(D, round(n·m/(n+m)))`, as in
`scipy.stats.ks_2samp(method="asymp")`), accurate at the sample sizes drift needs anyway.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon
from spanscope.schemas.drift import DriftStatus, DriftThresholds

# Floor of a bin's proportion in PSI, so an empty bin adds a large but finite term.
PSI_EPSILON = 1e-4


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float


def psi(base_counts: Sequence[float], cur_counts: Sequence[float]) -> float:
    """Population stability index Σ (c − b)·ln(c / b) over bins, proportions floored at PSI_EPSILON."""
    b = np.asarray(base_counts, dtype=float)
    c = np.asarray(cur_counts, dtype=float)
    bp = np.maximum(b / b.sum(), PSI_EPSILON)
    cp = np.maximum(c / c.sum(), PSI_EPSILON)
    return float(np.sum((cp - bp) * np.log(cp / bp)))


def ks_from_histograms(base_counts: Sequence[float], cur_counts: Sequence[float]) -> TestResult:
    """Two-sample KS on counts over the same ordered bins (see the module docstring)."""
    b = np.asarray(base_counts, dtype=float)
    c = np.asarray(cur_counts, dtype=float)
    n1, n2 = b.sum(), c.sum()
    d = float(np.max(np.abs(np.cumsum(b) / n1 - np.cumsum(c) / n2))) if len(b) else 0.0
    en = round(n1 * n2 / (n1 + n2))
    p = float(stats.kstwo.sf(d, max(en, 1))) if d > 0 else 1.0
    return TestResult(d, min(max(p, 0.0), 1.0))


def two_proportions(k1: int, n1: int, k2: int, n2: int) -> TestResult:
    """Pooled two-proportion z-test, two-sided. Equal rates of 0 or 1 are no evidence (p = 1)."""
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return TestResult(0.0, 1.0)
    z = (k2 / n2 - k1 / n1) / se
    return TestResult(z, float(2 * stats.norm.sf(abs(z))))


def mix_test(base_counts: Sequence[int], cur_counts: Sequence[int]) -> tuple[float, TestResult]:
    """(Jensen–Shannon distance in base 2, chi-square test of homogeneity) of two category mixes."""
    b = np.asarray(base_counts, dtype=float)
    c = np.asarray(cur_counts, dtype=float)
    js = float(jensenshannon(b / b.sum(), c / c.sum(), base=2))
    keep = (b + c) > 0
    if keep.sum() < 2:
        return js, TestResult(0.0, 1.0)
    chi2, p, _, _ = stats.chi2_contingency(np.vstack([b[keep], c[keep]]), correction=False)
    return (0.0 if math.isnan(js) else js), TestResult(float(chi2), float(p))


def grade(
    effect: float | None,
    p_value: float | None,
    n_base: int,
    n_cur: int,
    moderate: float,
    significant: float,
    th: DriftThresholds,
    what: str,
) -> tuple[DriftStatus, str]:
    """Status and its reason: the effect must reach a threshold *and* the test must reject."""
    if min(n_base, n_cur) < th.min_samples:
        return "insufficient_data", f"{min(n_base, n_cur)} values in a window, {th.min_samples} needed"
    if effect is None or p_value is None:
        return "insufficient_data", "no value to compare"
    size = abs(effect)
    if p_value >= th.p_value:
        return "stable", f"p = {p_value:.3g} ≥ {th.p_value:g}: no evidence of change"
    if size >= significant:
        return "significant", f"{what} {size:.3g} ≥ {significant:g} and p = {p_value:.3g}"
    if size >= moderate:
        return "moderate", f"{what} {size:.3g} ≥ {moderate:g} and p = {p_value:.3g}"
    return "stable", f"{what} {size:.3g} < {moderate:g} (change too small to matter)"
