"""Checks of statements about quantities that carry their own uncertainty, or none.

- ``band`` (a value inside ``[low, high]``): for a number computed from the schedule alone (the
  training FLOPs fraction), which has no sampling spread: the point itself is the interval, so
  the statement holds when it lies in the band and fails when it does not;
- ``interval_above`` (a measured value above ``threshold``): for a measurement whose run reports
  its own 95% interval (``<metric>_low`` / ``<metric>_high``: ``task=speedup``'s median speed-up
  over interleaved rounds), judged per run: holds when the whole interval is above the threshold.
"""

from __future__ import annotations

import math
from typing import Any

from acdc_bench.reports.stats import Interval
from acdc_bench.reports.tables import Entry, fmt_coord, matches, metric, run_value
from acdc_bench.reports.verdicts import ORDER, WITHIN, Comparison, Verdict, judge


def _describe(e: Entry) -> str:
    return ", ".join(fmt_coord(k, v) for k, v in sorted(e.coords.items()) if k != "variant") or "run"


def band(es: list[Entry], metric: str, low: float, high: float, where: dict[str, Any] | None = None,
         **_: Any) -> Verdict:
    """Each config's value (every finished seed) within ``[low, high]`` in the paper's units."""
    mid, half = (low + high) / 2, (high - low) / 2
    scale, fmt = _m(metric)
    out = []
    for e in es:
        if where and not matches(e.coords, where):
            continue
        for run in e.group.finished:
            v = run_value(run, metric)
            if v is not None and math.isfinite(v):
                d = v * scale - mid
                out.append(Comparison(f"{_describe(e)}: {v * scale:{fmt}} in [{low:g}, {high:g}] (− {mid:g})",
                                      Interval(d, d, d), (1, 1), WITHIN, tolerance=half, fmt=fmt))
    return judge(out, "configs")


def interval_above(es: list[Entry], metric: str, threshold: float, where: dict[str, Any] | None = None,
                   **_: Any) -> Verdict:
    """Each run's own interval of ``metric`` (``<metric>_low`` .. ``<metric>_high``) above ``threshold``."""
    scale, fmt = _m(metric)
    out = []
    for e in es:
        if where and not matches(e.coords, where):
            continue
        for run in e.group.finished:
            v, lo, hi = (run_value(run, metric + s) for s in ("", "_low", "_high"))
            if v is None:
                continue
            lo = -math.inf if lo is None else lo
            hi = math.inf if hi is None else hi
            diff = Interval(v * scale - threshold, lo * scale - threshold, hi * scale - threshold)
            out.append(Comparison(f"{_describe(e)} − {threshold:g}", diff, (1, 1), ORDER, 1, fmt=fmt))
    return judge(out, "runs")


def _m(name: str) -> tuple[float, str]:
    m = metric(name)
    return m.scale, m.fmt

