"""What a report shows: its layout (row and column keys, panels, metrics, plots) read from the
experiment config's ``report`` node, the entries of a sweep laid out on it, and which published
cell sits beside which of our entries.

Every output (``markdown``, ``csv_table``, ``figures``) reads a ``Report`` built here, so the
three agree on the rows, the columns and the paper's numbers by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acdc_bench.artefacts import PUBLISHED, Artefact, Cell, by_experiment
from acdc_bench.errors import ConfigError
from acdc_bench.reports.sweep import Group, Run, comparable, group_runs, master_config, read_sweep
from acdc_bench.reports.tables import Entry, derived_coordinates, entries, matches, sort_key


@dataclass
class Layout:
    """How to lay a sweep out: from the experiment config's ``report`` node."""

    name: str
    published: str | None = None
    rows: list[str] = field(default_factory=list)
    column: str | None = None
    metric: str = "val_top1"
    metrics: list[str] = field(default_factory=lambda: ["val_top1", "train_loss", "val_entropy"])
    panel: str | None = None
    subnets: bool = False
    twin: bool = False  # a CPU twin: same sweep structure, other dataset and scale than the paper
    # a twin's stand-ins for metrics its data cannot give (CelebA's attribute accuracy -> top-1)
    metric_aliases: dict[str, str] = field(default_factory=dict)
    # every figure is drawn only when the sweep has its data (figures.FIGURES)
    plots: list[str] = field(default_factory=lambda: ["budget", "curves", "iou", "flops", "decompression",
                                                      "sharpness", "interpolation", "memorization",
                                                      "task_bars", "subnet_layers"])

    @property
    def keys(self) -> list[str]:
        return self.rows + ([self.column] if self.column else [])

    def ours(self, paper_metric: str) -> str:
        """Our metric for one the paper reports."""
        return self.metric_aliases.get(paper_metric, paper_metric)


@dataclass
class Report:
    layout: Layout
    runs: list[Run]
    groups: list[Group]
    entries: list[Entry]
    published: Artefact | None
    sweep_dir: Path
    master: dict[str, Any]


def read_layout(master: dict[str, Any], runs: list[Run], sweep_dir: Path, name: str | None) -> Layout:
    """The sweep's ``report`` node as a ``Layout``; with no rows or column, the keys that vary."""

    def get(key: str, default: Any = None) -> Any:
        """``report.<key>`` from the sweep's config, else from any run's (flattened: a mapping
        such as ``metric_aliases`` is gathered back from its dotted keys)."""
        for cfg in [master, *(r.config for r in runs)]:
            full = f"report.{key}"
            if cfg.get(full) is not None:
                return cfg[full]
            sub = {k[len(full) + 1:]: v for k, v in cfg.items() if k.startswith(full + ".")}
            if sub:
                return sub
        return default

    exp = name or get("name") or sweep_dir.resolve().name
    spec = by_experiment(exp)  # an artefact's experiment or its twin: the spec it is judged against
    layout = Layout(name=exp, published=get("published", exp if exp in PUBLISHED else spec and spec.name),
                    rows=list(get("rows", []) or []), column=get("column"), metric=get("metric", "val_top1"),
                    panel=get("panel"), subnets=bool(get("subnets", False)), twin=bool(get("twin", False)))
    mets = get("metrics")
    if mets:
        layout.metrics = list(mets)
    if layout.metric not in layout.metrics:
        layout.metrics.insert(0, layout.metric)
    layout.metric_aliases = {str(k): str(v) for k, v in (get("metric_aliases") or {}).items()}
    plot_list = get("plots")
    if plot_list is not None:
        layout.plots = list(plot_list)
    if not layout.rows and not layout.column:  # no layout: the keys that vary across the sweep
        layout.rows = varying_keys(runs)
    return layout


def varying_keys(runs: list[Run]) -> list[str]:
    keys: dict[str, set[str]] = {}
    for r in runs:
        for k, v in comparable(r.config).items():
            keys.setdefault(k, set()).add(repr(v))
    return sorted(k for k, vals in keys.items() if len(vals) > 1)


def published_metrics(layout: Layout) -> list[str]:
    """Our metrics the paper's cells and statements need (beyond the layout's own)."""
    pub = PUBLISHED.get(layout.published or "")
    if pub is None:
        return []
    names = [n for c in pub.cells for n in c.values] + [str(c.check.metric) for c in pub.claims
                                                        if getattr(c.check, "metric", None) is not None]
    return list(dict.fromkeys(layout.ours(n) for n in names))


def load_report(sweep_dir: str | Path, name: str | None = None) -> Report:
    """Read a sweep and build its entries (no files written)."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ConfigError("sweep_dir", str(sweep_dir), "an existing multirun directory")
    runs = read_sweep(sweep_dir)
    if not runs:
        raise ConfigError("sweep_dir", str(sweep_dir),
                          "a multirun directory (multirun.yaml or job directories)")
    master = master_config(sweep_dir)
    layout = read_layout(master, runs, sweep_dir, name)
    groups = group_runs(runs)
    names = list(dict.fromkeys(layout.metrics + published_metrics(layout)))
    es = entries(groups, layout.keys, names, layout.subnets)
    published = PUBLISHED.get(layout.published) if layout.published else None
    return Report(layout, runs, groups, es, published, sweep_dir, master)


# ----------------------------------------------------------------------------- the grid and the paper
def entry_where(e: Entry) -> dict[str, Any]:
    """The coordinates a published cell is matched against: the whole config, then the entry's."""
    return {**derived_coordinates(e.group.config), **e.coords}


def paper_rows(rep: Report) -> list[tuple[Cell, Entry | None, str]]:
    """(published cell, matching entry or None, metric) for every number the paper prints."""
    out: list[tuple[Cell, Entry | None, str]] = []
    for cell in rep.published.cells if rep.published else ():
        found = [e for e in rep.entries if matches(entry_where(e), cell.where)]
        for name in cell.values:
            if not found:
                out.append((cell, None, name))
            for e in found:
                out.append((cell, e, name))  # the paper's metric name; ours is layout.ours(name)
    return out


def grid_rows(rep: Report) -> tuple[list[str], list[tuple], list[Any]]:
    """The grid's row keys, its rows (value tuples, sorted) and its columns (``[None]`` without)."""
    lay = rep.layout
    row_keys = [k for k in rep.entries[0].coords if k != lay.column] if rep.entries else lay.rows
    rows = sorted({tuple(repr(e.coords.get(k)) for k in row_keys): tuple(e.coords.get(k) for k in row_keys)
                   for e in rep.entries}.values(), key=lambda t: tuple(sort_key(v) for v in t))
    cols: list[Any] = [None]
    if lay.column:
        by_repr = {repr(e.coords.get(lay.column)): e.coords.get(lay.column) for e in rep.entries}
        cols = sorted(by_repr.values(), key=sort_key)
    return row_keys, rows, cols


def find_entry(rep: Report, row_keys: list[str], row: tuple, col_key: str | None, col: Any) -> Entry | None:
    for e in rep.entries:
        if all(repr(e.coords.get(k)) == repr(v) for k, v in zip(row_keys, row, strict=True)) and (
                col_key is None or repr(e.coords.get(col_key)) == repr(col)):
            return e
    return None


def published_for(rep: Report, e: Entry, name: str) -> tuple[Cell | None, str | None]:
    """The published cell at ``e``'s coordinates with a number for our metric ``name``, and the
    paper's metric it compares with: ``(cell, paper_metric)`` or ``(None, None)``."""
    for cell in rep.published.cells if rep.published else ():
        for paper_metric in cell.values:
            if rep.layout.ours(paper_metric) == name and matches(entry_where(e), cell.where):
                return cell, paper_metric
    return None, None
