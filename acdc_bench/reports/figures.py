"""The report's figures: one table from a plot's name (as the ``report.plots`` list of an
experiment config names it) to its file and the function that draws it from a ``Report``.

A new figure is one function here and one line in ``FIGURES``; the drawing itself lives in
``plots.py`` (``plots_analysis.py``: issues 12-14's figures). Figures are drawn in the table's
order, whatever the order of ``report.plots``; a figure without data writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acdc_bench.reports import plots, plots_analysis
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


def _report_key(rep: Report, key: str) -> Any:
    """``report.<key>`` of the sweep's config, else of any run's (as ``layout.read_layout``)."""
    for cfg in [rep.master, *(r.config for r in rep.runs)]:
        if cfg.get(f"report.{key}") is not None:
            return cfg[f"report.{key}"]
    return None


def _curves(rep: Report, path: Path) -> Path | None:
    """``report.curve_metrics`` (e.g. evaluation loss and the task metric, 001 Figs. 11-12)
    replaces the default curves when an experiment names them."""
    lay = rep.layout
    keys = _report_key(rep, "curve_metrics")
    return plots.plot_curves(rep.entries, _budget_column(lay), lay.panel,
                             f"{lay.name}: per-epoch curves (longest budget)", path,
                             **({"keys": tuple(keys)} if keys else {}))


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


def _sharpness(rep: Report, path: Path) -> Path | None:
    title = f"{rep.layout.name}: sharpness of the final models vs budget (dense dashed)"
    return plots_analysis.plot_sharpness(rep.entries, _budget_column(rep.layout), title, path)


def _interpolation(rep: Report, path: Path) -> Path | None:
    title = f"{rep.layout.name}: loss along the path through the kept checkpoints"
    return plots_analysis.plot_interpolation(rep.entries, title, path)


def _memorization(rep: Report, path: Path) -> Path | None:
    title = f"{rep.layout.name}: predictions on the corrupted-label samples per epoch"
    return plots_analysis.plot_memorization(rep.entries, title, path)


def _subnet_layers(rep: Report, path: Path) -> Path | None:
    title = f"{rep.layout.name}: per-layer sparsity of two sub-nets and their masks' XOR share"
    return plots_analysis.plot_subnet_layers(rep.entries, title, path)


def _task_bars(rep: Report, path: Path) -> Path | None:
    title = f"{rep.layout.name}: downstream accuracy per task"
    return plots_analysis.plot_task_bars(rep.entries, rep.layout.metrics, title, path)


FIGURES: dict[str, Figure] = {
    "budget": Figure("budget.png", _budget),  # final metrics vs budget (001 Figs. 1-4)
    "curves": Figure("curves.png", _curves),  # accuracy, train loss, entropy vs epoch
    "iou": Figure("mask_iou.png", _iou),  # mask IoU between sampled epochs (001 Fig. 7)
    "flops": Figure("acc_vs_flops.png", _flops),  # accuracy vs inference FLOPs
    "decompression": Figure("decompression.png", _decompression),  # zeros in decompression (001 Table 5)
    "sharpness": Figure("sharpness.png", _sharpness),  # top Hessian eigenvalue vs budget (001 Fig. 9)
    "interpolation": Figure("interpolation.png", _interpolation),  # loss along checkpoints (001 Fig. 10)
    "memorization": Figure("memorization.png", _memorization),  # corrupted labels by phase (000 Fig. 2b)
    "task_bars": Figure("task_accuracy.png", _task_bars),  # per-task downstream accuracy (001 Fig. F.1)
    "subnet_layers": Figure("subnet_layers.png", _subnet_layers),  # two AST sub-nets per layer (002 Fig. 6)
}


def draw(rep: Report, out_dir: Path) -> list[Path]:
    """Draw every figure the layout asks for and has data for; the paths written, in table order."""
    written = [fig.draw(rep, out_dir / fig.file) for name, fig in FIGURES.items() if name in rep.layout.plots]
    return [p for p in written if p is not None]
