"""Interleaved timing rounds and their statistics (standard library only: the DeepSparse runner,
which lives in an environment without torch, imports this module too).

One round times the dense model once and the sparse model once, back to back, in alternating
order, so slow drifts of the machine (another process, a frequency change) fall on both. The
speed-up of a round is dense time over sparse time; its median over rounds comes with a
distribution-free 95% interval (order statistics of the per-round ratios: the binomial interval
of a median), so "faster than dense" is judged on an interval, not a point.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def interleaved(dense: Callable[[], Any], sparse: Callable[[], Any], warmup: int, repeats: int,
                sync: Callable[[], None] | None = None) -> tuple[list[float], list[float]]:
    """Seconds per call of ``dense`` and ``sparse``: ``warmup`` untimed rounds, then ``repeats``
    timed ones; even rounds run dense first, odd rounds sparse first. ``sync`` waits for an
    asynchronous device (CUDA) before each clock read."""
    fns = {"dense": dense, "sparse": sparse}
    out: dict[str, list[float]] = {"dense": [], "sparse": []}
    for r in range(warmup + repeats):
        for name in ("dense", "sparse") if r % 2 == 0 else ("sparse", "dense"):
            if sync:
                sync()
            t0 = time.perf_counter()
            fns[name]()
            if sync:
                sync()
            if r >= warmup:
                out[name].append(time.perf_counter() - t0)
    return out["dense"], out["sparse"]


def quantile(values: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default) of a non-empty list."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _binom_cdf(k: int, n: int) -> float:
    """P(Binomial(n, 1/2) <= k)."""
    return sum(math.comb(n, i) for i in range(0, k + 1)) / 2 ** n


def median_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval of the median: the order statistics (k, n-1-k) with the largest
    k whose coverage is still >= ``level``; (-inf, inf) when there are too few values (n < 6)."""
    n = len(values)
    s = sorted(values)
    best = None
    for k in range(0, n // 2):
        if 1 - 2 * _binom_cdf(k, n) >= level:  # P(s[k] <= median <= s[n-1-k])
            best = k
    if best is None:
        return -math.inf, math.inf
    return s[best], s[n - 1 - best]


def summarize(seconds: list[float], batch: int) -> dict[str, float]:
    """Latency (ms) median, quartiles, min and max; throughput (items/s) at the median."""
    med = quantile(seconds, 0.5)
    return {"median_ms": 1e3 * med, "q1_ms": 1e3 * quantile(seconds, 0.25),
            "q3_ms": 1e3 * quantile(seconds, 0.75),
            "min_ms": 1e3 * min(seconds), "max_ms": 1e3 * max(seconds), "throughput": batch / med,
            "repeats": len(seconds)}


def speedup(dense: list[float], sparse: list[float]) -> dict[str, float]:
    """Per-round dense/sparse ratios: their median with its 95% interval (``median_interval``)."""
    ratios = [d / s for d, s in zip(dense, sparse, strict=True)]
    low, high = median_interval(ratios)
    return {"speedup": quantile(ratios, 0.5), "speedup_low": low, "speedup_high": high}


def flat_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    """``speedup_<engine>_b<batch>`` (with ``_low``/``_high``), ``flops_bound_<engine>`` and the
    latencies in ms: what reports read from ``summary.json``."""
    out: dict[str, float] = {}
    for r in rows:
        key = f"{r['engine']}_b{r['batch']}"
        for k in ("speedup", "speedup_low", "speedup_high"):
            out[k.replace("speedup", f"speedup_{key}")] = r[k]
        out[f"latency_ms_dense_{key}"] = r["dense"]["median_ms"]
        out[f"latency_ms_sparse_{key}"] = r["sparse"]["median_ms"]
        out[f"flops_bound_{r['engine']}"] = r["flops_bound"]
    return out


def read_metrics(run_dir: Path) -> dict[str, float]:
    """``flat_metrics`` of ``RUN/speedup.json`` ({} without one): how reports see ``task=speedup``
    on a trained run (paper 001 Fig. 5's speed-up column)."""
    import json

    path = Path(run_dir) / "speedup.json"
    try:
        return flat_metrics(json.loads(path.read_text()).get("results") or [])
    except (OSError, ValueError, KeyError, TypeError):
        return {}
