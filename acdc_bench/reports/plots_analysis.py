"""Figures of the analysis and transfer artefacts (issues 12-14): sharpness vs budget (001 Fig. 9),
loss along the checkpoint path (Fig. 10), memorization per epoch by phase (000 Fig. 2b),
per-task accuracy bars (001 Fig. F.1) and two AST sub-nets' layers (002 Fig. 6).

Like ``plots.py``, each function returns the path it wrote, or ``None`` when the sweep has
nothing to draw, so a report of any other artefact is unchanged (no file, no line in table.md).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from acdc_bench.artefacts.spec import SHARPNESS
from acdc_bench.reports.plots import _grid, _label, _legend, _save
from acdc_bench.reports.sweep import Run, mean_std
from acdc_bench.reports.tables import Entry, fmt_coord, metric, sort_key

MEM_KEYS = ("mem_corrupted", "mem_true", "mem_other")
TASK_PREFIX = "transfer_acc/"


def _groups(es: list[Entry]) -> list[Entry]:
    """One entry per config (AST's sub-net entries share their group's runs)."""
    return list({id(e.group): e for e in es}.values())


def plot_sharpness(es: list[Entry], column: str | None, title: str, path: Path) -> Path | None:
    """Top Hessian eigenvalue of the final models vs training budget, one line per config;
    dense dashed, as the paper draws it (001 Fig. 9)."""
    have = [e for e in es if e.values.get(SHARPNESS)]
    if not have or column is None:
        return None
    xs = sorted({repr(e.coords.get(column)): e.coords.get(column) for e in have}.values(), key=sort_key)
    pos = {repr(x): i for i, x in enumerate(xs)}
    lines: dict[str, list[Entry]] = {}
    for e in have:
        lines.setdefault(_label(e.coords, {column}), []).append(e)
    fig, axes = _grid(1, 1, title)
    fig.set_size_inches(6.4, 3.6)  # room for the title and a legend of every config
    ax = axes[0][0]
    for label, members in sorted(lines.items()):
        pts = sorted((pos[repr(e.coords.get(column))], *e.stat(SHARPNESS)[:2]) for e in members)
        dense = members[0].coords.get("method.name") == "dense"
        ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o",
                    capsize=3, ls="--" if dense else "-", label=label)
    ax.set_xticks(range(len(xs)), [fmt_coord(column, x) for x in xs])
    ax.set_xlabel(column)
    ax.set_ylabel("top Hessian eigenvalue")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _segment_order(name: str) -> tuple:
    return tuple(int(t) for t in name.removeprefix("segment_").split("_") if t.isdigit()), name


def interpolation_path(run: Run) -> tuple[list[float], dict[str, list[float]], list[int]]:
    """A run's losses along the piecewise-linear checkpoint path: x (segment index + alpha),
    ``{"train_loss": [...], "val_loss": [...]}``, and the checkpoints' epochs (segment ends)."""
    from acdc_bench.analysis.runner import read_result

    found = ((read_result(run.job_dir, "interpolation") or {}).get("entries") or {}) if run.job_dir else {}
    xs: list[float] = []
    ys: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    epochs: list[int] = []
    for i, name in enumerate(sorted(found, key=_segment_order)):
        seg = found[name] or {}
        points = seg.get("points") or []
        epochs = epochs or [int(seg.get("epochs", [i, i + 1])[0])]
        epochs.append(int(seg.get("epochs", [i, i + 1])[-1]))
        for j, p in enumerate(points):
            if i and j == 0:
                continue  # a segment's start is the previous segment's end
            xs.append(i + float(p.get("alpha", 0.0)))
            for k in ys:
                ys[k].append(float(p.get(k, math.nan)))
    return xs, ys, epochs


def plot_interpolation(es: list[Entry], title: str, path: Path) -> Path | None:
    """Train and validation loss along the path through the kept checkpoints (001 Fig. 10),
    the seeds' mean per config; the checkpoints' epochs label the segment ends."""
    curves = []
    for e in _groups(es):
        paths = [interpolation_path(r) for r in e.group.finished]
        paths = [p for p in paths if p[0]]
        if paths:
            n = min(len(p[0]) for p in paths)
            mean = {k: [mean_std([p[1][k][i] for p in paths])[0] for i in range(n)] for k in paths[0][1]}
            curves.append((e, paths[0][0][:n], mean, paths[0][2]))
    if not curves:
        return None
    fig, axes = _grid(1, 2, title)
    for c, key in enumerate(("train_loss", "val_loss")):
        ax = axes[0][c]
        for e, xs, mean, _ in curves:
            ax.plot(xs, mean[key], marker=".", lw=1.2, label=_label(e.coords, set()))
        epochs = curves[0][3]
        ax.set_xticks(range(len(epochs)), [str(x) for x in epochs])
        ax.set_xlabel("checkpoint (epoch)")
        ax.set_ylabel(metric(key).label)
        ax.grid(alpha=0.3)
    _legend(axes)
    fig.text(0.01, 0.005, "BatchNorm statistics as the analysis settings say (analysis.bn)", fontsize=7)
    return _save(fig, path)


def _per_epoch(runs: list[Run], key: str) -> dict[int, float]:
    per: dict[int, list[float]] = {}
    for run in runs:
        for row in run.rows:
            v = row.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                per.setdefault(int(row["epoch"]), []).append(float(v))
    return {ep: mean_std(v)[0] for ep, v in sorted(per.items())}


def _sparse_epochs(runs: list[Run]) -> list[int]:
    """Epochs trained sparse (AC/DC's compression phases: the rows' ``phase``)."""
    rows = runs[0].rows if runs else []
    return [int(r["epoch"]) for r in rows if r.get("phase") == "sparse"]


def plot_memorization(es: list[Entry], title: str, path: Path) -> Path | None:
    """Shares of the corrupted samples predicted as their corrupted label, their true label and
    anything else, per epoch; sparse phases shaded (000 Sec. 1, Fig. 2b). One panel per config."""
    panels = [(e, {k: _per_epoch(e.group.finished, k) for k in MEM_KEYS}) for e in _groups(es)]
    panels = [(e, curves) for e, curves in panels if any(curves.values())]
    if not panels:
        return None
    fig, axes = _grid(1, len(panels), title)
    fig.set_size_inches(max(6.4, 4.2 * len(panels)), 3.4)
    for c, (e, curves) in enumerate(panels):
        ax = axes[0][c]
        for ep in _sparse_epochs(e.group.finished):
            ax.axvspan(ep - 0.5, ep + 0.5, color="0.85", lw=0)
        for key, per in curves.items():
            if per:
                ax.plot(list(per), [100 * v for v in per.values()], marker=".", lw=1.2,
                        label=key.removeprefix("mem_"))
        ax.set_xlabel("epoch (shaded: sparse phases)")
        ax.set_ylabel("corrupted samples (%)")
        ax.set_title(_label(e.coords, set()), fontsize=9)
        ax.grid(alpha=0.3)
    _legend(axes)
    return _save(fig, path)


def plot_task_bars(es: list[Entry], names: list[str], title: str, path: Path) -> Path | None:
    """Per-task downstream accuracy, one bar per config, the seeds' std as error bars (001 Fig. F.1)."""
    tasks = [n for n in names if n.startswith(TASK_PREFIX) and any(e.values.get(n) for e in es)]
    if not tasks:
        return None
    configs = [e for e in _groups(es) if any(e.values.get(t) for t in tasks)]
    fig, axes = _grid(1, 1, title)
    fig.set_size_inches(max(4.2, 0.5 * len(tasks) * max(1, len(configs)) + 2), 3.6)
    ax = axes[0][0]
    width = 0.8 / len(configs)
    for j, e in enumerate(configs):
        stats: list[Any] = [e.stat(t) for t in tasks]
        xs = [i + (j - (len(configs) - 1) / 2) * width for i in range(len(tasks))]
        ax.bar(xs, [s[0] if s[2] else 0.0 for s in stats], width, yerr=[s[1] for s in stats], capsize=2,
               label=_label(e.coords, set()))
    ax.set_xticks(range(len(tasks)), [t.removeprefix(TASK_PREFIX) for t in tasks], rotation=30, ha="right")
    ax.set_ylabel("downstream accuracy (%)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    return _save(fig, path)


def subnet_layers(run: Run) -> dict[str, Any] | None:
    """A run's ``analysis=subnet_dissimilarity`` result (the final model), or None."""
    from acdc_bench.analysis.runner import read_result

    doc = (read_result(run.job_dir, "subnet_dissimilarity") or {}) if run.job_dir else {}
    return (doc.get("entries") or {}).get("final")


def plot_subnet_layers(es: list[Entry], title: str, path: Path) -> Path | None:
    """Per layer, two AST sub-nets' sparsity (lines) and the XOR share of their masks (bars), the
    seeds' mean, in the model's layer order (002 Fig. 6). One panel per config."""
    panels = []
    for e in _groups(es):
        found = [d for d in (subnet_layers(r) for r in e.group.finished) if d and d.get("order")]
        if found:
            panels.append((e, found))
    if not panels:
        return None
    fig, axes = _grid(1, len(panels), title)
    fig.set_size_inches(max(6.4, 0.28 * len(panels[0][1][0]["order"]) * len(panels) + 2), 3.8)
    for c, (e, found) in enumerate(panels):
        ax, order, pair = axes[0][c], found[0]["order"], found[0].get("subnets", ["a", "b"])
        xs = list(range(len(order)))

        def mean(key: str, found: list[dict[str, Any]] = found, order: list[str] = order) -> list[float]:
            return [100 * mean_std([d["layers"][n][key] for d in found if n in d["layers"]])[0]
                    for n in order]

        ax.bar(xs, mean("xor_share"), 0.7, color="0.75", label="XOR share (non-overlap)")
        for key, target in (("sparsity_a", pair[0]), ("sparsity_b", pair[1])):
            ax.plot(xs, mean(key), marker=".", lw=1.2,
                    label=f"sparsity of the {fmt_coord('subnet', target)} sub-net")
        ax.set_xticks(xs, [n.removesuffix(".weight") for n in order], rotation=90, fontsize=6)
        ax.set_ylabel("% of the layer's weights")
        ax.set_title(f"{_label(e.coords, {'subnet'})} ({len(found)} seeds)", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    _legend(axes)
    return _save(fig, path)
