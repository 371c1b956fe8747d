"""The scale study's ``differences.png``: per factor, AC/DC − GMP and AC/DC − RigL (top row) and
AC/DC's dead share (bottom row) against the factor's values, the base configuration shaded.

The width axis is drawn on log2(width), where the width factor's trends are fitted, with the
fitted lines dashed over the widths they used; the other factors' values are categories. A
difference far off the scale of its panel (width 0.25's collapse, −66 points) is drawn as an
arrow at the panel's edge with its value written beside it, so it does not flatten the rest.
ERK points of the width factor have open markers.
"""

from __future__ import annotations

import math
from pathlib import Path

from acdc_bench.reports.scale_points import Point
from acdc_bench.reports.scale_width import FACTOR, FIT_FROM, Fit
from acdc_bench.reports.stats import t_quantile

COLORS = {"gmp": "tab:blue", "rigl": "tab:orange"}
MARKERS = {"gmp": "o", "rigl": "s"}
CLIP = 12.0  # points: differences beyond ±CLIP (estimate) are drawn as arrows at the edge


def _x(points: list[Point], factor: str) -> tuple[dict[tuple, float], list[float], list[str]]:
    """Position per factor value, and the ticks: log2 for width, category index elsewhere."""
    values = list(dict.fromkeys(p.value for p in points))
    if factor == FACTOR:
        values.sort(key=lambda v: float(v[0]))
        pos = {v: math.log2(float(v[0])) for v in values}
    else:
        pos = {v: float(i) for i, v in enumerate(values)}
    labels = []
    for v in values:
        p = next(q for q in points if q.value == v)
        base = any(q.base for q in points if q.value == v)
        labels.append(p.label.split(", ERK")[0] + ("\nbase" if base else ""))
    return pos, [pos[v] for v in values], labels


def plot_points(points: list[Point], fits: list[Fit], path: Path) -> Path | None:
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    factors = list(dict.fromkeys(p.factor for p in points))
    widths = [1.6 if f == FACTOR else 1.0 for f in factors]
    fig, axes = plt.subplots(2, len(factors), figsize=(3.3 * sum(widths), 5.6), squeeze=False,
                             gridspec_kw={"width_ratios": widths, "height_ratios": [3, 2]}, sharex="col")
    for col, factor in enumerate(factors):
        top, bottom = axes[0][col], axes[1][col]
        mine = [p for p in points if p.factor == factor]
        pos, ticks, labels = _x(mine, factor)
        step = 0.06 * (max(ticks) - min(ticks) or 1.0)
        for v in {p.value for p in mine if p.base}:
            for ax in (top, bottom):
                ax.axvspan(pos[v] - 2 * step, pos[v] + 2 * step, color="gold", alpha=0.25, lw=0)
        inside = [v for p in mine if abs(p.diff.estimate) <= CLIP
                  for v in ((p.diff.low, p.diff.high) if p.diff.bounded else (p.diff.estimate,))]
        lo, hi = max(-CLIP, min(inside + [0.0])) - 1.0, min(CLIP, max(inside + [0.0])) + 1.0
        for p in mine:
            shift = {"gmp": -step / 2, "rigl": step / 2}[p.vs] + (step if p.series == "erk" else 0.0)
            x, y = pos[p.value] + shift, p.diff.estimate
            face = "white" if p.series == "erk" else COLORS[p.vs]
            if abs(y) > CLIP:  # off the panel's scale: an arrow to the edge, the value beside it
                edge, start = (lo, lo + 0.25 * (hi - lo)) if y < 0 else (hi, hi - 0.25 * (hi - lo))
                top.annotate("", xy=(x, edge), xytext=(x, start),
                             arrowprops={"arrowstyle": "->", "color": COLORS[p.vs]})
                top.text(x, start, f"{y:+.0f}", fontsize=6, color=COLORS[p.vs], ha="center",
                         va="bottom" if y < 0 else "top")
                continue
            err = ([[y - p.diff.low], [p.diff.high - y]] if p.diff.bounded else None)
            top.errorbar([x], [y], yerr=err, marker=MARKERS[p.vs], color=COLORS[p.vs], mfc=face,
                         capsize=2, ms=5, lw=1)
        top.set_ylim(lo, hi)
        seen_dead = set()
        for p in mine:
            key = (p.value, p.series)
            if p.dead is None or key in seen_dead:
                continue
            seen_dead.add(key)
            half = t_quantile(p.dead.n - 1) * math.sqrt(p.dead.var / p.dead.n) if p.dead.n > 1 else 0.0
            x = pos[p.value] + (step if p.series == "erk" else 0.0)
            bottom.errorbar([x], [p.dead.mean], yerr=[[half], [half]], marker="D", color="tab:red",
                            mfc="white" if p.series == "erk" else "tab:red", capsize=2, ms=4, lw=1)
        if factor == FACTOR:
            for f in fits:
                if f.trend is None or f.series != "global":
                    continue
                xs = [math.log2(min(f.xs)), math.log2(max(f.xs))]
                ax = bottom if f.quantity == "dead" else top
                color = "tab:red" if f.quantity == "dead" else COLORS[f.quantity]
                ax.plot(xs, [f.trend.at(x) for x in xs], ls="--", color=color, lw=1, alpha=0.8)
        top.axhline(0, color="grey", lw=0.8)
        top.set_title(factor + (" (10 epochs)" if factor == "phase" else ""), fontsize=9)
        bottom.set_xticks(ticks, labels, rotation=30, fontsize=7)
        bottom.set_ylim(bottom=0)
    axes[0][0].set_ylabel("AC/DC − baseline, top-1 (points)")
    axes[1][0].set_ylabel("AC/DC dead share")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker=MARKERS[v], color=COLORS[v], label=f"AC/DC − {v.upper()}")
               for v in COLORS]
    handles.append(Line2D([], [], marker="D", color="tab:red", label="AC/DC dead share"))
    if any(p.series == "erk" for p in points):
        handles.append(Line2D([], [], marker="o", color="grey", mfc="white", ls="",
                              label="ERK for all (width panel)"))
    if any(f.trend is not None for f in fits):
        handles.append(Line2D([], [], color="grey", ls="--", label=f"fit over widths ≥ {FIT_FROM:g}"))
    handles.append(Line2D([], [], color="gold", lw=6, alpha=0.4, label="base configuration"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
