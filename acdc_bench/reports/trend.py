"""A straight-line trend through points that each carry a standard error: weighted least squares.

Why weighted: the scale study's differences have very different uncertainties (a collapsed
config's seeds scatter by tens of points, a healthy one's by tenths), and an unweighted line
would let the noisiest point steer the slope. Each point gets the weight ``1 / se²``.

The slope's interval: ``slope ± t(0.975, k - 2) · sqrt(max(s², 1) / Sxx)`` with
``Sxx = Σ w (x - x̄_w)²`` and the residual dispersion ``s² = Σ w r² / (k - 2)``. With ``s² = 1``
this is the interval the points' own standard errors give; when the points scatter about the
line more than their errors say (``s² > 1``, the line is not the whole story) the interval
widens by that factor, and it never narrows below the errors' own (``s² < 1`` is not credited):
with 3 to 6 points, ``s²`` itself is too noisy to be trusted in that direction. The t quantile
with ``k - 2`` degrees of freedom pays for estimating ``s²``. No extrapolation is offered: the
fit says how the points move between the smallest and largest x it was given, nothing beyond.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from acdc_bench.reports.stats import LEVEL, Interval, t_quantile


@dataclass(frozen=True)
class Trend:
    slope: Interval  # change of y per unit of x, with its interval
    intercept: float  # y at x = 0
    points: int  # how many points the fit used
    dispersion: float  # s²: the weighted residual scatter relative to the points' errors

    def at(self, x: float) -> float:
        return self.intercept + self.slope.estimate * x


def weighted_trend(xs: Sequence[float], ys: Sequence[float], ses: Sequence[float],
                   level: float = LEVEL) -> Trend | None:
    """The weighted least-squares line through ``(x, y ± se)``; points without a finite positive
    ``se`` are left out (one seed: no error to weigh it by). None under two usable points or one
    distinct x; an unbounded slope interval with exactly two (no degrees of freedom left)."""
    use = [(x, y, s) for x, y, s in zip(xs, ys, ses, strict=True)
           if math.isfinite(s) and s > 0 and math.isfinite(y) and math.isfinite(x)]
    k = len(use)
    if k < 2:
        return None
    ws = [1.0 / (s * s) for _, _, s in use]
    total = sum(ws)
    xbar = sum(w * x for w, (x, _, _) in zip(ws, use, strict=True)) / total
    ybar = sum(w * y for w, (_, y, _) in zip(ws, use, strict=True)) / total
    sxx = sum(w * (x - xbar) ** 2 for w, (x, _, _) in zip(ws, use, strict=True))
    if sxx == 0.0:
        return None
    slope = sum(w * (x - xbar) * (y - ybar) for w, (x, y, _) in zip(ws, use, strict=True)) / sxx
    intercept = ybar - slope * xbar
    if k == 2:
        return Trend(Interval(slope, -math.inf, math.inf), intercept, k, math.nan)
    resid = sum(w * (y - intercept - slope * x) ** 2 for w, (x, y, _) in zip(ws, use, strict=True))
    dispersion = resid / (k - 2)
    half = t_quantile(k - 2, level) * math.sqrt(max(dispersion, 1.0) / sxx)
    return Trend(Interval(slope, slope - half, slope + half), intercept, k, dispersion)
