"""Reports: a multirun directory in, ``results/<experiment>/`` out.

``make_report(sweep_dir)`` reads every sweep point of a Hydra multirun (finished, failed,
unfinished or never started), averages the seeds of each config, lays the numbers out the
way the paper's table or figure does, puts the published numbers and the difference next to
ours, checks the paper's statements on our numbers, and draws the figures:

- ``table.md``: the paper's rows next to ours, the whole sweep as a grid, the statements
  checked, and every missing or failed run by name;
- ``table.csv``: one line per (config, metric) with mean, std, seeds finished/asked, the
  published value, the difference and its source;
- ``budget.png`` (final metrics vs training budget), ``curves.png`` (accuracy, train loss,
  entropy vs epoch), ``mask_iou.png``, ``acc_vs_flops.png``, ``decompression.png`` when the
  runs have the data for them.

The experiment config says how: its ``report`` node names the published table (an artefact's
spec in ``acdc_bench/artefacts``), the row and column keys (config paths), the metrics and whether
rows are AST sub-nets.

One module per concern: ``sweep`` (runs on disk and their grouping by config), ``tables``
(entries, metrics, formatting), ``layout`` (what a report shows), ``claims`` (the checkers of the
papers' statements; ``dispatch`` maps a spec's typed check to its checker), ``catalogue`` (every
artefact and its committed verdicts), and one per output: ``markdown``, ``csv_table``,
``figures`` (the table of plots; the drawing is in ``plots``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from acdc_bench.errors import ReportedError
from acdc_bench.reports.csv_table import render_csv
from acdc_bench.reports.figures import FIGURES, draw
from acdc_bench.reports.layout import Layout, Report, load_report
from acdc_bench.reports.markdown import render_markdown

__all__ = ["Layout", "Report", "exit_status", "make_report", "load_report"]


def make_report(sweep_dir: str | Path, results_dir: str | Path = "results", name: str | None = None) -> Path:
    """Write ``<results_dir>/<experiment>/table.md``, ``table.csv`` and the PNGs; return the folder."""
    rep = load_report(sweep_dir, name)
    out_dir = Path(results_dir) / rep.layout.name
    out_dir.mkdir(parents=True, exist_ok=True)
    for fig in FIGURES.values():  # a figure the sweep no longer has data for must not linger
        (out_dir / fig.file).unlink(missing_ok=True)
    files = draw(rep, out_dir)
    (out_dir / "table.md").write_text(render_markdown(rep, files))
    (out_dir / "table.csv").write_text(render_csv(rep))
    return out_dir


def exit_status(action: Callable[[], int], *also: type[Exception]) -> int:
    """A report script's exit status (``python -m acdc_bench.reports ...``): ``action()``'s own, or,
    for a :class:`~acdc_bench.errors.ReportedError` (or one of ``also``), the error as one line on
    stderr and its status (2)."""
    try:
        return action()
    except (ReportedError, *also) as err:
        print(f"acdc-bench: error: {err}", file=sys.stderr)
        return getattr(err, "exit_code", 2)
