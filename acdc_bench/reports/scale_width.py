"""The width factor's answer: how AC/DC − GMP, AC/DC − RigL and AC/DC's dead share move with width.

Each quantity is fitted against ``log2(width)`` (one unit = a doubling of the channels) by
weighted least squares (``trend.weighted_trend``), per series (the papers' distributions; ERK for
all), over the widths from ``FIT_FROM`` up. Width 0.25 is left out of the fits: there all three
AC/DC seeds collapsed (top-1 near chance, nine tenths of the pruned weights dead), a failure of
training rather than a point on a smooth trend, and its −66 points would set the slope on their
own; the fit with it is printed beside, so the choice can be checked. What this writes is numbers
only (a table and one paragraph of facts); what they mean is ``conclusions.md``'s business.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from acdc_bench.reports.markdown import md_table
from acdc_bench.reports.scale_points import SERIES_LABEL, Point, sign
from acdc_bench.reports.trend import Trend, weighted_trend

FACTOR = "width"
FIT_FROM = 0.5  # the smallest width in the fits (see the module docstring)
QUANTITIES = ("gmp", "rigl", "dead")


@dataclass
class Fit:
    series: str
    quantity: str  # gmp | rigl | dead
    xs: list[float]  # widths in the fit
    ys: list[float]
    ses: list[float]
    trend: Trend | None
    with_all: Trend | None  # the same fit with the widths below FIT_FROM
    signs: list[tuple[float, str]]  # (width, sign of the difference's interval), every width

    @property
    def name(self) -> str:
        return "AC/DC dead share" if self.quantity == "dead" else f"AC/DC − {self.quantity.upper()}"


def _series_data(points: list[Point], series: str, quantity: str) -> list[tuple[float, float, float, str]]:
    """(width, y, se, sign) per width of one series, in width order."""
    out = []
    vs = "gmp" if quantity == "dead" else quantity
    for p in sorted((p for p in points if p.factor == FACTOR and p.series == series and p.vs == vs),
                    key=lambda p: float(p.value[0])):
        w = float(p.value[0])
        if quantity == "dead":
            if p.dead is None or p.dead.n == 0:
                continue
            se = math.sqrt(p.dead.var / p.dead.n) if p.dead.n > 1 else math.inf
            out.append((w, p.dead.mean, se, ""))
        else:
            out.append((w, p.diff.estimate, p.se, sign(p.diff)))
    return out


def width_fits(points: list[Point]) -> list[Fit]:
    fits = []
    for series in dict.fromkeys(p.series for p in points if p.factor == FACTOR):
        for q in QUANTITIES:
            data = _series_data(points, series, q)
            if not data:
                continue
            use = [d for d in data if d[0] >= FIT_FROM - 1e-9]
            fit = weighted_trend([math.log2(w) for w, *_ in use], [y for _, y, _, _ in use],
                                 [s for _, _, s, _ in use])
            every = weighted_trend([math.log2(w) for w, *_ in data], [y for _, y, _, _ in data],
                                   [s for _, _, s, _ in data]) if len(use) < len(data) else None
            fits.append(Fit(str(series), q, [w for w, *_ in use], [y for _, y, _, _ in use],
                            [s for _, _, s, _ in use], fit, every, [(w, s) for w, _, _, s in data]))
    return fits


def _num(v: float, q: str) -> str:
    return f"{v:.2f}" if q == "dead" else f"{v:+.2f}"


def _slope(t: Trend | None, q: str) -> str:
    if t is None:
        return "-"
    s = t.slope
    digits = 3 if q == "dead" else 2
    text = f"{s.estimate:+.{digits}f}"
    return text + (f" [{s.low:+.{digits}f}, {s.high:+.{digits}f}]" if s.bounded
                   else " [no interval: two widths]")


def _widths(ws: list[float]) -> str:
    return ", ".join(f"{w:g}" for w in ws)


def width_table(fits: list[Fit]) -> str:
    rows = [[SERIES_LABEL.get(f.series, f.series), f.name, _widths(f.xs),
             " → ".join(_num(y, f.quantity) for y in f.ys), _slope(f.trend, f.quantity),
             "-" if f.trend is None or math.isnan(f.trend.dispersion) else f"{f.trend.dispersion:.2f}",
             _slope(f.with_all, f.quantity)] for f in fits]
    return md_table(["series", "quantity", "widths in the fit", "mean at each width",
                     "slope per doubling [95% CI]", "s²", f"slope with widths < {FIT_FROM:g}"], rows)


def _interval_side(t: Trend) -> str:
    s = t.slope
    return "lies above 0" if s.low > 0 else "lies below 0" if s.high < 0 else "contains 0"


def width_paragraph(fits: list[Fit], points: list[Point]) -> str:
    """One paragraph of facts: values at the ends, slopes with intervals, sign changes."""
    if not fits:
        return "No width points yet."
    low = [p for p in points if p.factor == FACTOR and float(p.value[0]) < FIT_FROM and p.vs == "gmp"
           and p.series == "global"]
    text = [f"Fits over log2(width) from width {FIT_FROM:g} up (weighted least squares, weights 1/se², "
            "95% t interval of the slope with k − 2 degrees of freedom, widened by the residual "
            "scatter s² where s² > 1)."]
    if low:
        text.append("Left out: " + "; ".join(
            f"width {float(p.value[0]):g}, where AC/DC − GMP is {p.diff.estimate:+.1f} points"
            + (f" and AC/DC's dead share {p.dead.mean:.2f}" if p.dead is not None else "")
            for p in low) + ".")
    for f in fits:
        where = SERIES_LABEL.get(f.series, f.series)
        if f.trend is None:
            text.append(f"{f.name} ({where}): fewer than two widths with an interval, no fit.")
            continue
        ends = (f"{_num(f.ys[0], f.quantity)} at width {f.xs[0]:g}, "
                f"{_num(f.ys[-1], f.quantity)} at {f.xs[-1]:g}")
        line = (f"{f.name} ({where}): {ends}; slope {_slope(f.trend, f.quantity)} per doubling over "
                f"{f.trend.points} widths" + (f", its interval {_interval_side(f.trend)}"
                                              if f.trend.slope.bounded else ""))
        if f.quantity != "dead":
            signs = [s for _, s in f.signs]
            changes = "+" in signs and "−" in signs
            line += (f"; interval signs by width {', '.join(f'{w:g} {s}' for w, s in f.signs)}: the sign "
                     + ("changes" if changes else "does not change"))
        text.append(line + ".")
    return " ".join(text)
