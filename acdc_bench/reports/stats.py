"""Confidence intervals over seeds: of one config's mean, and of the difference of two configs.

Seeds of one config are independent draws of the same experiment, so a config's mean gets the
t-distribution interval ``mean ± t(0.975, n-1) · s / sqrt(n)``. Two configs are compared with
Welch's t interval, ``(mean_a - mean_b) ± t(0.975, df) · sqrt(s_a²/n_a + s_b²/n_b)`` with the
Welch-Satterthwaite ``df``: it treats the two configs' seeds as independent samples and does not
assume equal variances. (Pairing by seed would be tighter when two configs share their seeds and
a seed fixes the same data order; it was not chosen because it needs identical seed sets, which
a half-finished sweep rarely has, and Welch's interval is valid either way.)

A sample of one seed has no spread estimate, so every interval it enters is unbounded
(``-inf, inf``): a single-seed config can never make a difference significant. Two samples with
zero spread each (runs that are bit-for-bit deterministic across seeds) give the degenerate
interval ``[d, d]``: the formula's own answer, kept rather than invented.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import t as student_t

LEVEL = 0.95  # every interval in the reports is a 95% interval


@dataclass(frozen=True)
class Interval:
    """An estimate and its confidence interval (``low``/``high`` infinite: no interval)."""

    estimate: float
    low: float
    high: float

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)


def t_quantile(df: float, level: float = LEVEL) -> float:
    """The two-sided ``level`` quantile of Student's t with ``df`` degrees of freedom."""
    return float(student_t.ppf(0.5 + level / 2, df))


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else math.nan
    return mean, var


def mean_interval(values: Sequence[float], level: float = LEVEL) -> Interval:
    """The mean of one config's seeds and its t interval (nan without values, unbounded for one)."""
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan)
    mean, var = _mean_var(values)
    if n == 1:
        return Interval(mean, -math.inf, math.inf)
    half = t_quantile(n - 1, level) * math.sqrt(var / n)
    return Interval(mean, mean - half, mean + half)


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Interval:
    """``mean(a) - mean(b)`` with Welch's t interval (unbounded when either side has one seed)."""
    return contrast_interval([(1.0, a), (-1.0, b)], level)


def contrast_interval(terms: Sequence[tuple[float, Sequence[float]]], level: float = LEVEL) -> Interval:
    """``sum(c * mean(x))`` over independent configs ``(c, x)`` with the Welch-Satterthwaite t
    interval: variance ``sum(c² s²/n)``, ``df = var² / sum((c² s²/n)² / (n - 1))``. Two terms
    (1, a), (-1, b) are Welch's interval; four give a difference of differences, e.g. whether
    the gain from a longer budget is larger at 95% than at 90% sparsity. Unbounded when any
    config has one seed; nan when one has none."""
    if not terms or any(not x for _, x in terms):
        return Interval(math.nan, math.nan, math.nan)
    return contrast_moments([(c, *_mean_var(x), len(x)) for c, x in terms], level)


def contrast_moments(terms: Sequence[tuple[float, float, float, int]], level: float = LEVEL) -> Interval:
    """:func:`contrast_interval` from each config's ``(c, mean, variance, n)`` instead of its
    values: what a committed ``table.csv`` keeps (mean, std, seeds) is enough for the interval."""
    if not terms or any(n < 1 for *_, n in terms):
        return Interval(math.nan, math.nan, math.nan)
    estimate = 0.0
    for c, mean, _, _ in terms:
        estimate += c * mean
    if any(n < 2 for *_, n in terms):
        return Interval(estimate, -math.inf, math.inf)
    parts = [(c * c * var / n, n) for c, _, var, n in terms]
    se2 = sum(q for q, _ in parts)
    if se2 == 0.0:
        return Interval(estimate, estimate, estimate)
    df = se2 ** 2 / sum(q ** 2 / (n - 1) for q, n in parts)
    half = t_quantile(df, level) * math.sqrt(se2)
    return Interval(estimate, estimate - half, estimate + half)
