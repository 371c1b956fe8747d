"""Every engine at every batch size on one workload: the rows of ``speedup.json`` and the console
table (``timing.flat_metrics``: the flat metrics a report reads)."""

from __future__ import annotations

import math
import sys
from typing import Any

from acdc_bench.inference.engines.base import Engine
from acdc_bench.inference.timing import flat_metrics, speedup, summarize
from acdc_bench.inference.workload import Workload


def measure(work: Workload, engines: list[Engine], batch_sizes: tuple[int, ...], warmup: int,
            repeats: int, log=lambda m: print(m, file=sys.stderr, flush=True)) -> list[dict[str, Any]]:
    """One row per (engine, batch): latency and throughput of both twins with their spread, the
    speed-up with its interval, the FLOPs bound on the layers the engine runs sparse and the share
    of it reached."""
    rows = []
    for engine in engines:
        bound = work.flops_bound(engine.runs_sparse, engine.floor)
        for batch in batch_sizes:
            log(f"[acdc-bench] speedup: {engine.name} at batch {batch} ({warmup} + {repeats} rounds)")
            dense, sparse = engine.measure(work, batch, warmup, repeats)
            row: dict[str, Any] = {"engine": engine.name, "batch": batch, "threads": engine.threads,
                                   "device": engine.device, "dense": summarize(dense, batch),
                                   "sparse": summarize(sparse, batch), **speedup(dense, sparse),
                                   "flops_bound": bound}
            row["bound_share"] = row["speedup"] / bound if math.isfinite(bound) else None
            version = getattr(engine, "version", None)
            row["engine_info"] = {**engine.describe(), **({"version": version} if version else {})}
            rows.append(row)
    return rows


def _num(v: float, fmt: str) -> str:
    return format(v, fmt) if v is not None and math.isfinite(v) else "-"


def table(rows: list[dict[str, Any]]) -> str:
    """The console table: median latency [min, max], throughput, speed-up [95% interval], bound."""
    head = ("engine", "batch", "thr", "dense ms [min,max]", "sparse ms [min,max]", "dense/s", "sparse/s",
            "speed-up [95%]", "FLOPs bound", "share")
    lines = [head]
    for r in rows:
        d, s = r["dense"], r["sparse"]
        lines.append((r["engine"], str(r["batch"]), str(r["threads"]),
                      f"{d['median_ms']:.2f} [{d['min_ms']:.2f},{d['max_ms']:.2f}]",
                      f"{s['median_ms']:.2f} [{s['min_ms']:.2f},{s['max_ms']:.2f}]",
                      f"{d['throughput']:.1f}", f"{s['throughput']:.1f}",
                      f"{r['speedup']:.2f}x [{_num(r['speedup_low'], '.2f')},"
                      f"{_num(r['speedup_high'], '.2f')}]",
                      f"{_num(r['flops_bound'], '.2f')}x", _num(r["bound_share"], ".0%")))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


__all__ = ["flat_metrics", "measure", "table"]
