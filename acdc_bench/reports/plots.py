"""The report's figures (matplotlib, written as PNG without a display).

Each function draws one kind of the papers' figures from our runs and returns the path it
wrote, or ``None`` when the runs have nothing to draw (say, no IoU in a dense sweep).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from acdc_bench.artefacts import Artefact  # noqa: E402
from acdc_bench.reports.sweep import Group, mean_std  # noqa: E402
from acdc_bench.reports.tables import Entry, fmt_coord, metric, run_value, same_value, sort_key  # noqa: E402

CURVE_METRICS = ("val_top1", "train_loss", "val_entropy")


def _label(coords: dict[str, Any], drop: set[str]) -> str:
    return " ".join(fmt_coord(k, v) for k, v in coords.items() if k not in drop and k != "variant") or "run"


def _panels(items: list[Any], panel: str | None, coords_of) -> list[Any]:
    if not panel:
        return [None]
    vals = {repr(coords_of(i).get(panel)): coords_of(i).get(panel) for i in items}
    return sorted(vals.values(), key=sort_key)


def _grid(n_rows: int, n_cols: int, title: str):
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.2 * n_cols, 3.2 * n_rows), squeeze=False)
    fig.suptitle(title, fontsize=10)
    return fig, axes


def _legend(axes) -> None:
    """One legend, in the first panel of the top row that has lines."""
    for ax in axes[0]:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
            return


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_budget(es: list[Entry], column: str, panel: str | None, names: list[str],
                published: Artefact | None, title: str, path: Path) -> Path | None:
    """Final metrics vs training budget, one line per config (paper 001 Figs. 1-4)."""
    names = [n for n in names if any(e.values.get(n) for e in es)]
    if not names or column is None:
        return None
    xs = sorted({repr(e.coords.get(column)): e.coords.get(column) for e in es}.values(), key=sort_key)
    pos = {repr(x): i for i, x in enumerate(xs)}
    panels = _panels(es, panel, lambda e: e.coords)
    fig, axes = _grid(len(names), len(panels), title)
    drop = {column} | ({panel} if panel else set())
    for r, name in enumerate(names):
        m = metric(name)
        for c, pv in enumerate(panels):
            ax = axes[r][c]
            sel = [e for e in es if panel is None or repr(e.coords.get(panel)) == repr(pv)]
            lines: dict[str, list[Entry]] = {}
            for e in sel:
                lines.setdefault(_label(e.coords, drop), []).append(e)
            for label, members in sorted(lines.items()):
                pts = sorted(((pos[repr(e.coords.get(column))], *e.stat(name)) for e in members),
                             key=lambda p: p[0])
                pts = [p for p in pts if p[3] > 0]
                if pts:
                    ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts],
                                marker="o", capsize=3, label=label)
            for cell in published.cells if published is not None else ():
                if name not in cell.values or (panel and panel in cell.where
                                               and not same_value(cell.where[panel], pv)):
                    continue
                i = next((j for j, x in enumerate(xs) if same_value(x, cell.where.get(column))), None)
                if i is not None:
                    ax.plot([i], [cell.values[name]], "kx", markersize=9)
            ax.set_xticks(range(len(xs)), [fmt_coord(column, x) for x in xs])
            ax.set_xlabel(column)
            ax.set_ylabel(m.label)
            if panel is not None:
                ax.set_title(f"{panel} = {fmt_coord(panel, pv)}", fontsize=9)
            ax.grid(alpha=0.3)
    _legend(axes)
    if published is not None and published.cells:
        fig.text(0.01, 0.005, "x: the paper's number (its setup; see table.md)", fontsize=7)
    return _save(fig, path)


def _epoch_curve(group: Group, key: str) -> tuple[list[int], list[float]]:
    per_epoch: dict[int, list[float]] = {}
    for run in group.finished or group.runs:
        for row in run.rows:
            v = row.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                per_epoch.setdefault(int(row["epoch"]), []).append(float(v))
    epochs = sorted(per_epoch)
    return epochs, [mean_std(per_epoch[e])[0] for e in epochs]


def _longest(es: list[Entry], column: str | None) -> list[Entry]:
    """The entries at the longest budget: one curve per config, not one per budget."""
    if column is None or column == "subnet":
        return es
    top = max((e.coords.get(column) for e in es), key=sort_key, default=None)
    return [e for e in es if repr(e.coords.get(column)) == repr(top)]


def plot_curves(es: list[Entry], column: str | None, panel: str | None, title: str, path: Path,
                keys: tuple[str, ...] = CURVE_METRICS) -> Path | None:
    """Per-epoch curves of the longest-budget runs: accuracy, train loss, entropy vs epoch."""
    chosen = {id(e.group): e for e in _longest(es, column)}
    entries = list(chosen.values())
    keys = tuple(k for k in keys if any(_epoch_curve(e.group, k)[0] for e in entries))
    if not keys:
        return None
    panels = _panels(entries, panel, lambda e: e.coords)
    fig, axes = _grid(len(keys), len(panels), title)
    drop = {"subnet"} | ({panel} if panel else set())
    for r, key in enumerate(keys):
        m = metric(key)
        for c, pv in enumerate(panels):
            ax = axes[r][c]
            for e in entries:
                if panel is not None and repr(e.coords.get(panel)) != repr(pv):
                    continue
                xs, ys = _epoch_curve(e.group, key)
                if xs:
                    ax.plot(xs, [y * m.scale for y in ys], label=_label(e.coords, drop), lw=1.2)
            ax.set_xlabel("epoch")
            ax.set_ylabel(m.label)
            if panel is not None:
                ax.set_title(f"{panel} = {fmt_coord(panel, pv)}", fontsize=9)
            ax.grid(alpha=0.3)
    _legend(axes)
    return _save(fig, path)


def plot_iou(es: list[Entry], column: str | None, panel: str | None, title: str, path: Path) -> Path | None:
    """Mask IoU between consecutive mask snapshots vs epoch (paper 001 Fig. 7)."""
    return plot_curves(es, column, panel, title, path, keys=("mask_iou",))


def plot_flops(es: list[Entry], name: str, lines: str | None, title: str, path: Path,
               column: str | None = None) -> Path | None:
    """Accuracy (change from the sweep's best dense run when it has one) vs inference FLOPs
    (paper 001 Fig. 5), at the longest training budget of the sweep."""
    pts = []
    for e in _longest(es, column):
        flops = [run_value(r, "inference_flops_fraction") for r in e.group.finished]
        flops = [f for f in flops if f is not None]
        mean, std, n = e.stat(name)
        if flops and n:
            pts.append((e, sum(flops) / len(flops), mean, std))
    if not pts:
        return None
    dense = [mean for e, _, mean, _ in pts if e.coords.get("method.name") == "dense"]
    base = max(dense) if dense else None
    fig, axes = _grid(1, 1, title)
    ax = axes[0][0]
    series: dict[str, list[tuple[float, float, float]]] = {}
    for e, f, mean, std in pts:
        key = fmt_coord(lines, e.coords.get(lines)) if lines else "runs"
        series.setdefault(key, []).append((f, mean - (base or 0.0), std))
    for key, p in sorted(series.items()):
        p.sort()
        ax.errorbar([q[0] for q in p], [q[1] for q in p], yerr=[q[2] for q in p], marker="o", ls="",
                    capsize=3, label=key)
    ax.set_xlabel("inference FLOPs (fraction of dense)")
    ax.set_ylabel(f"{metric(name).label} change from dense" if base is not None else metric(name).label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def decompression_phases(rows: list[dict[str, Any]]) -> list[float]:
    """The share of zero weights at the end of each decompression phase (paper 001 Fig. 8)."""
    out, current = [], None
    for row in rows:
        v = row.get("zero_fraction_decompressed")
        if isinstance(v, (int, float)):
            current = float(v)
        elif current is not None:
            out.append(current)
            current = None
    if current is not None:
        out.append(current)
    return out


def plot_decompression(es: list[Entry], title: str, path: Path) -> Path | None:
    seen: dict[int, Entry] = {id(e.group): e for e in es}
    fig = None
    colors = plt.get_cmap("tab20").colors
    for k, e in enumerate(seen.values()):
        phases = [decompression_phases(r.rows) for r in e.group.finished]
        phases = [p for p in phases if p]
        if not phases:
            continue
        if fig is None:
            fig, axes = _grid(1, 1, title)
            ax = axes[0][0]
        n = min(len(p) for p in phases)
        ys = [mean_std([p[i] for p in phases])[0] * 100 for i in range(n)]
        ax.plot(range(n), ys, marker="o", color=colors[k % len(colors)], label=_label(e.coords, {"subnet"}))
    if fig is None:
        return None
    ax.set_xlabel("decompression phase")
    ax.set_ylabel("zero weights (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)
