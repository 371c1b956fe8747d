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

The experiment config says how: its ``report`` node names the published table, the row and
column keys (config paths), the metrics and whether rows are AST sub-nets.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acdc_bench.reports import claims as claims_mod
from acdc_bench.reports import plots
from acdc_bench.reports.published import PUBLISHED, Published
from acdc_bench.reports.sweep import FINISHED, Group, Run, group_runs, master_config, read_sweep
from acdc_bench.reports.tables import (
    Entry,
    coord_label,
    derived_coordinates,
    entries,
    fmt_coord,
    fmt_number,
    matches,
    metric,
    sort_key,
)

__all__ = ["Layout", "Report", "make_report", "load_report"]


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
    plots: list[str] = field(default_factory=lambda: ["budget", "curves", "iou", "flops", "decompression"])

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
    published: Published | None
    sweep_dir: Path
    master: dict[str, Any]


def _layout(master: dict[str, Any], runs: list[Run], sweep_dir: Path, name: str | None) -> Layout:
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
    layout = Layout(name=exp, published=get("published", exp if exp in PUBLISHED else None),
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
        varying = _varying_keys(runs)
        layout.rows = varying
    return layout


def _varying_keys(runs: list[Run]) -> list[str]:
    from acdc_bench.reports.sweep import comparable

    keys: dict[str, set[str]] = {}
    for r in runs:
        for k, v in comparable(r.config).items():
            keys.setdefault(k, set()).add(repr(v))
    return sorted(k for k, vals in keys.items() if len(vals) > 1)


def load_report(sweep_dir: str | Path, name: str | None = None) -> Report:
    """Read a sweep and build its entries (no files written)."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        from acdc_bench.config import ConfigError

        raise ConfigError("sweep_dir", str(sweep_dir), "an existing multirun directory")
    runs = read_sweep(sweep_dir)
    if not runs:
        from acdc_bench.config import ConfigError

        raise ConfigError("sweep_dir", str(sweep_dir),
                          "a multirun directory (multirun.yaml or job directories)")
    master = master_config(sweep_dir)
    layout = _layout(master, runs, sweep_dir, name)
    groups = group_runs(runs)
    names = list(dict.fromkeys(layout.metrics + _published_metrics(layout)))
    es = entries(groups, layout.keys, names, layout.subnets)
    published = PUBLISHED.get(layout.published) if layout.published else None
    return Report(layout, runs, groups, es, published, sweep_dir, master)


def _published_metrics(layout: Layout) -> list[str]:
    pub = PUBLISHED.get(layout.published or "")
    if pub is None:
        return []
    names = [n for c in pub.cells for n in c.values] + [str(c.args["metric"]) for c in pub.claims
                                                        if "metric" in c.args]
    return list(dict.fromkeys(layout.ours(n) for n in names))


# ----------------------------------------------------------------------------- rendering
def _ours(e: Entry, name: str) -> str:
    mean, std, n = e.stat(name)
    if n == 0:
        if not e.group.not_finished:
            return "no value"  # finished runs without this metric
        if e.n_asked == 1:
            return e.group.not_finished[0].status  # missing | failed | incomplete
        return f"missing ({e.missing_note()})"
    m = metric(name)
    text = fmt_number(mean, m.fmt)
    if n > 1:
        text += f" ± {fmt_number(std, m.fmt)}"
    if n < e.n_asked:
        text += f" ({n}/{e.n_asked} seeds; {e.missing_note()})"
    elif n > 1:
        text += f" (n={n})"
    return text


def _entry_where(e: Entry) -> dict[str, Any]:
    return {**derived_coordinates(e.group.config), **e.coords}


def paper_rows(rep: Report) -> list[tuple[Any, Entry | None, str]]:
    """(published cell, matching entry or None, metric) for every number the paper prints."""
    out = []
    for cell in rep.published.cells if rep.published else ():
        found = [e for e in rep.entries if matches(_entry_where(e), cell.where)]
        for name in cell.values:
            if not found:
                out.append((cell, None, name))
            for e in found:
                out.append((cell, e, name))  # the paper's metric name; ours is layout.ours(name)
    return out


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _grid_rows(rep: Report) -> tuple[list[str], list[tuple], list[Any]]:
    lay = rep.layout
    row_keys = [k for k in rep.entries[0].coords if k != lay.column] if rep.entries else lay.rows
    rows = sorted({tuple(repr(e.coords.get(k)) for k in row_keys): tuple(e.coords.get(k) for k in row_keys)
                   for e in rep.entries}.values(), key=lambda t: tuple(sort_key(v) for v in t))
    cols = [None]
    if lay.column:
        by_repr = {repr(e.coords.get(lay.column)): e.coords.get(lay.column) for e in rep.entries}
        cols = sorted(by_repr.values(), key=sort_key)
    return row_keys, rows, cols


def _find(rep: Report, row_keys: list[str], row: tuple, col_key: str | None, col: Any) -> Entry | None:
    for e in rep.entries:
        if all(repr(e.coords.get(k)) == repr(v) for k, v in zip(row_keys, row, strict=True)) and (
                col_key is None or repr(e.coords.get(col_key)) == repr(col)):
            return e
    return None


def _published_for(rep: Report, e: Entry, name: str):
    """The published cell at ``e``'s coordinates with a number for our metric ``name``, and the
    paper's metric it compares with: ``(cell, paper_metric)`` or ``(None, None)``."""
    for cell in rep.published.cells if rep.published else ():
        for paper_metric in cell.values:
            if rep.layout.ours(paper_metric) == name and matches(_entry_where(e), cell.where):
                return cell, paper_metric
    return None, None


def grid_markdown(rep: Report, name: str, with_paper: bool = True) -> str:
    lay = rep.layout
    row_keys, rows, cols = _grid_rows(rep)
    header = [coord_label(k) for k in row_keys] + [
        fmt_coord(lay.column, c) if lay.column else metric(name).label for c in cols]
    body = []
    for row in rows:
        cells = [fmt_coord(k, v) for k, v in zip(row_keys, row, strict=True)]
        for c in cols:
            e = _find(rep, row_keys, row, lay.column, c)
            if e is None:
                cells.append("")
                continue
            text = _ours(e, name)
            cell, paper_metric = _published_for(rep, e, name) if with_paper else (None, None)
            if cell is not None:
                mean, _, n = e.stat(name)
                paper = cell.values[paper_metric]
                diff = f", Δ {mean - paper:+.2f}" if n else ""
                text += f" · paper {paper:g}{diff}"
            cells.append(text)
        body.append(cells)
    return _md_table(header, body)


def _setup_line(master: dict[str, Any], runs: list[Run], layout: Layout) -> str:
    cfg = master or (runs[0].config if runs else {})
    parts = []
    if layout.column not in ("epochs", "epoch_multiplier") and cfg.get("epochs") is not None:
        parts.append(f"{cfg['epochs']} epochs")
    for key, label in (("dataset.name", "dataset"), ("model.name", "model"), ("model.width", "width"),
                       ("dataset.train_subset", "train images"), ("dataset.batch_size", "batch"),
                       ("optim.lr", "peak LR"), ("optim.weight_decay", "weight decay"),
                       ("optim.label_smoothing", "label smoothing"), ("dataset.base_epochs", "1x epochs")):
        if cfg.get(key) is not None:
            parts.append(f"{label} {cfg[key]}")
    return ", ".join(parts)


def render_markdown(rep: Report, plot_files: list[Path]) -> str:
    lay, pub = rep.layout, rep.published
    n = len(rep.runs)
    done = sum(r.status == FINISHED for r in rep.runs)
    bad = [r for r in rep.runs if r.status != FINISHED]
    out = [f"# {pub.artefact if pub else lay.name}", ""]
    out.append(f"Experiment `{lay.name}`, sweep `{rep.sweep_dir}`: {n} runs asked, {done} finished, "
               f"{n - done} missing or failed.")
    out.append("")
    out.append(f"Our setup: {_setup_line(rep.master, rep.runs, lay)}.")
    if pub:
        out.append(f"Paper's setup: {pub.setup}")
    if lay.twin:
        out += ["", "**CPU twin.** Same sweep structure as the paper's experiment, on a small model and "
                "dataset with short schedules. The paper's numbers are shown for orientation: Δ = ours − "
                "paper measures the distance between the two setups, not a reproduction error. What the twin "
                "can test is the paper's statements (orderings and trends) below."]
    for note in pub.notes if pub else ():
        out += ["", f"Note: {note}"]
    prow = paper_rows(rep)
    if prow:
        out += ["", "## The paper's numbers next to ours", ""]
        keys = list(dict.fromkeys(k for cell, _, _ in prow for k in cell.where))
        body = []
        for cell, e, name in prow:
            m = metric(name)
            paper = f"{cell.values[name]:g}" + (f" ± {cell.std[name]:g}" if name in cell.std else "")
            label = m.label if lay.ours(name) == name else f"{m.label} (ours: {metric(lay.ours(name)).label})"
            if e is None:
                ours, diff = "not in this sweep", ""
            else:
                mean, _, k = e.stat(lay.ours(name))
                ours = _ours(e, lay.ours(name))
                diff = f"{mean - cell.values[name]:+.2f}" if k else ""
            body.append([fmt_coord(k, cell.where.get(k)) if k in cell.where else "" for k in keys]
                        + [cell.label, label, paper, ours, diff, cell.source])
        out.append(_md_table([coord_label(k) for k in keys] + ["paper's row", "metric", "paper", "ours",
                                                               "Δ (ours − paper)", "source"], body))
    if rep.entries:
        out += ["", f"## The whole sweep: {metric(lay.metric).label}", "",
                "Mean ± std over seeds of the final epoch; `missing` marks configs whose runs did not finish."
                + (" `paper` is the published number at that point." if pub and pub.cells else ""), ""]
        out.append(grid_markdown(rep, lay.metric))
        for name in lay.metrics:
            if name == lay.metric or not any(e.values.get(name) for e in rep.entries):
                continue
            out += ["", f"### {metric(name).label}", "", grid_markdown(rep, name)]
    if pub and pub.claims:
        out += ["", "## The paper's statements, checked on our runs", ""]
        body = []
        for claim in pub.claims:
            v = claims_mod.check(claim, rep.entries, lay.column, lay.metric_aliases)
            body.append([claim.text, claim.source, v.verdict, v.detail])
        out.append(_md_table(["statement", "source", "on our runs", "detail"], body))
    out += ["", "## Missing and failed runs", ""]
    if bad:
        for r in bad:
            where = f" in `{r.job_dir.name}`" if r.job_dir else ""
            out.append(f"- **{r.status}**: `{r.label()}`{where}" + (f" ({r.note})" if r.note else ""))
    else:
        out.append("None: every sweep point finished.")
    if plot_files:
        out += ["", "## Figures", ""] + [f"![{p.stem}]({p.name})" for p in plot_files]
    return "\n".join(out) + "\n"


def render_csv(rep: Report) -> str:
    keys = list(dict.fromkeys(k for e in rep.entries for k in e.coords))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(keys + ["metric", "ours_mean", "ours_std", "seeds_finished", "seeds_asked", "not_finished",
                       "paper", "paper_std", "diff", "source"])
    names = list(dict.fromkeys(rep.layout.metrics + _published_metrics(rep.layout)))
    for e in sorted(rep.entries, key=lambda e: tuple(sort_key(e.coords.get(k)) for k in keys)):
        for name in names:
            mean, std, n = e.stat(name)
            cell, paper_metric = _published_for(rep, e, name)
            if n == 0 and cell is None and name not in rep.layout.metrics:
                continue
            paper = cell.values[paper_metric] if cell else None
            w.writerow([e.coords.get(k) for k in keys] + [
                name, f"{mean:.6g}" if n else "", f"{std:.6g}" if n else "", n, e.n_asked, e.missing_note(),
                "" if paper is None else f"{paper:g}",
                "" if cell is None or paper_metric not in cell.std else f"{cell.std[paper_metric]:g}",
                f"{mean - paper:.6g}" if n and paper is not None else "", cell.source if cell else ""])
    return buf.getvalue()


def draw(rep: Report, out_dir: Path) -> list[Path]:
    lay = rep.layout
    written: list[Path | None] = []
    budget_col = lay.column if lay.column and lay.column != "subnet" else None
    if "budget" in lay.plots and budget_col:
        written.append(plots.plot_budget(rep.entries, budget_col, lay.panel, lay.metrics[:3], rep.published,
                                         f"{lay.name}: final metrics vs budget", out_dir / "budget.png"))
    if "curves" in lay.plots:
        written.append(plots.plot_curves(rep.entries, budget_col, lay.panel,
                                         f"{lay.name}: per-epoch curves (longest budget)",
                                         out_dir / "curves.png"))
    if "iou" in lay.plots:
        written.append(plots.plot_iou(rep.entries, budget_col, lay.panel, f"{lay.name}: mask IoU with the "
                                      "previous sampled epoch", out_dir / "mask_iou.png"))
    if "flops" in lay.plots:
        lines = next((k for k in lay.rows if k not in ("sparsity", lay.panel)), None)
        title = f"{lay.name}: accuracy vs inference FLOPs" + (
            f" ({fmt_coord(budget_col, max((e.coords.get(budget_col) for e in rep.entries), key=sort_key))})"
            if budget_col and rep.entries else "")
        written.append(plots.plot_flops(rep.entries, lay.metric, lines, title, out_dir / "acc_vs_flops.png",
                                        budget_col))
    if "decompression" in lay.plots:
        written.append(plots.plot_decompression(rep.entries, f"{lay.name}: zeros during decompression phases",
                                                out_dir / "decompression.png"))
    return [p for p in written if p is not None]


def make_report(sweep_dir: str | Path, results_dir: str | Path = "results", name: str | None = None) -> Path:
    """Write ``<results_dir>/<experiment>/table.md``, ``table.csv`` and the PNGs; return the folder."""
    rep = load_report(sweep_dir, name)
    out_dir = Path(results_dir) / rep.layout.name
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("budget.png", "curves.png", "mask_iou.png", "acc_vs_flops.png", "decompression.png"):
        (out_dir / stale).unlink(missing_ok=True)
    files = draw(rep, out_dir)
    (out_dir / "table.md").write_text(render_markdown(rep, files))
    (out_dir / "table.csv").write_text(render_csv(rep))
    return out_dir
