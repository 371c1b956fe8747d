"""The report's figures: one table from a plot's name (as the ``report.plots`` list of an
experiment config names it) to its file and the function that draws it from a ``Report``.

A new figure is one function here and one line in ``FIGURES``; the drawing itself lives in
``plots.py``. Figures are drawn in the table's order, whatever the order of ``report.plots``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from acdc_bench.reports import plots
from acdc_bench.reports.layout import Layout, Report
from acdc_bench.reports.tables import fmt_coord, sort_key


@dataclass(frozen=True)
class Figure:
    file: str  # written to the report's folder; removed before every report, so none goes stale
    draw: Callable[[Report, Path], Path | None]  # returns the path written, or None: nothing to draw


def _budget_column(lay: Layout) -> str | None:
    """The report's column when it is a training budget (AST's sub-net column is not)."""
    return lay.column if lay.column and lay.column != "subnet" else None


def _budget(rep: Report, path: Path) -> Path | None:
    lay, col = rep.layout, _budget_column(rep.layout)
    if not col:
        return None
    return plots.plot_budget(rep.entries, col, lay.panel, lay.metrics[:3], rep.published,
                             f"{lay.name}: final metrics vs budget", path)


def _curves(rep: Report, path: Path) -> Path | None:
    lay = rep.layout
    return plots.plot_curves(rep.entries, _budget_column(lay), lay.panel,
                             f"{lay.name}: per-epoch curves (longest budget)", path)


def _iou(rep: Report, path: Path) -> Path | None:
    lay = rep.layout
    return plots.plot_iou(rep.entries, _budget_column(lay), lay.panel,
                          f"{lay.name}: mask IoU with the previous sampled epoch", path)


def _flops(rep: Report, path: Path) -> Path | None:
    lay, col = rep.layout, _budget_column(rep.layout)
    lines = next((k for k in lay.rows if k not in ("sparsity", lay.panel)), None)
    title = f"{lay.name}: accuracy vs inference FLOPs" + (
        f" ({fmt_coord(col, max((e.coords.get(col) for e in rep.entries), key=sort_key))})"
        if col and rep.entries else "")
    return plots.plot_flops(rep.entries, lay.metric, lines, title, path, col)


def _decompression(rep: Report, path: Path) -> Path | None:
    title = f"{rep.layout.name}: zeros during decompression phases"
    return plots.plot_decompression(rep.entries, title, path)


FIGURES: dict[str, Figure] = {
    "budget": Figure("budget.png", _budget),  # final metrics vs budget (001 Figs. 1-4)
    "curves": Figure("curves.png", _curves),  # accuracy, train loss, entropy vs epoch
    "iou": Figure("mask_iou.png", _iou),  # mask IoU between sampled epochs (001 Fig. 7)
    "flops": Figure("acc_vs_flops.png", _flops),  # accuracy vs inference FLOPs
    "decompression": Figure("decompression.png", _decompression),  # zeros in decompression (001 Table 5)
}


def draw(rep: Report, out_dir: Path) -> list[Path]:
    """Draw every figure the layout asks for and has data for; the paths written, in table order."""
    written = [fig.draw(rep, out_dir / fig.file) for name, fig in FIGURES.items() if name in rep.layout.plots]
    return [p for p in written if p is not None]
