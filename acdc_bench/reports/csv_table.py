"""``table.csv``: one line per (config, metric) with mean, std, the 95% t interval of the mean
(empty for one seed), seeds finished/asked, the published value, the difference and its source.

(Named ``csv_table`` rather than ``csv`` so that it never shadows the standard library's
``csv``, which it uses.)
"""

from __future__ import annotations

import csv
import io

from acdc_bench.reports.layout import Report, published_for, published_metrics
from acdc_bench.reports.tables import sort_key


def coordinate_columns(header: list[str]) -> list[str]:
    """A ``table.csv``'s coordinate columns, read back: those before ``metric``, as written below."""
    return header[:header.index("metric")]


def render_csv(rep: Report) -> str:
    keys = list(dict.fromkeys(k for e in rep.entries for k in e.coords))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(keys + ["metric", "ours_mean", "ours_std", "ours_ci95_low", "ours_ci95_high", "seeds_finished",
                       "seeds_asked", "not_finished", "paper", "paper_std", "diff", "source"])
    names = list(dict.fromkeys(rep.layout.metrics + published_metrics(rep.layout)))
    for e in sorted(rep.entries, key=lambda e: tuple(sort_key(e.coords.get(k)) for k in keys)):
        for name in names:
            mean, std, n = e.stat(name)
            cell, paper_metric = published_for(rep, e, name)
            if n == 0 and cell is None and name not in rep.layout.metrics:
                continue
            paper = cell.values[paper_metric] if cell is not None and paper_metric is not None else None
            ci = e.interval(name)  # unbounded for one seed: left empty
            w.writerow([e.coords.get(k) for k in keys] + [
                name, f"{mean:.6g}" if n else "", f"{std:.6g}" if n else "",
                f"{ci.low:.6g}" if ci.bounded else "", f"{ci.high:.6g}" if ci.bounded else "",
                n, e.n_asked, e.missing_note(),
                "" if paper is None else f"{paper:g}",
                "" if cell is None or paper_metric not in cell.std else f"{cell.std[paper_metric]:g}",
                f"{mean - paper:.6g}" if n and paper is not None else "", cell.source if cell else ""])
    return buf.getvalue()
