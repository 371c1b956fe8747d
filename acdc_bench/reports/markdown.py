"""``table.md``: the verdicts on the paper's statements first, then the paper's rows next to
ours, the whole sweep as a grid (mean ± std [95% interval] per config), the statements' details,
and every missing or failed run by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from acdc_bench.artefacts.spec import Claim
from acdc_bench.reports import best_of, dispatch, provenance, realized
from acdc_bench.reports.layout import Layout, Report, find_entry, grid_rows, paper_rows, published_for
from acdc_bench.reports.sweep import FINISHED, Run
from acdc_bench.reports.tables import Entry, coord_label, fmt_coord, fmt_number, metric, sort_key
from acdc_bench.reports.verdicts import Verdict


def md_table(header: list[str], rows: list[list[str]]) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def ours_text(e: Entry, name: str) -> str:
    """One cell of ours: mean ± std [95% t interval of the mean] and the seeds behind it, or why there
    is no number (one seed: the mean alone, no spread and no interval)."""
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
        ci = e.interval(name)
        text += f" ± {fmt_number(std, m.fmt)} [{fmt_number(ci.low, m.fmt)}, {fmt_number(ci.high, m.fmt)}]"
    if n < e.n_asked:
        text += f" ({n}/{e.n_asked} seeds; {e.missing_note()})"
    elif n > 1:
        text += f" (n={n})"
    return text


def grid_markdown(rep: Report, name: str, with_paper: bool = True) -> str:
    lay = rep.layout
    row_keys, rows, cols = grid_rows(rep)
    header = [coord_label(k) for k in row_keys] + [
        fmt_coord(lay.column, c) if lay.column else metric(name).label for c in cols]
    body = []
    for row in rows:
        cells = [fmt_coord(k, v) for k, v in zip(row_keys, row, strict=True)]
        for c in cols:
            e = find_entry(rep, row_keys, row, lay.column, c)
            if e is None:
                cells.append("")
                continue
            text = ours_text(e, name)
            cell, paper_metric = published_for(rep, e, name) if with_paper else (None, None)
            if cell is not None and paper_metric is not None:
                mean, _, n = e.stat(name)
                paper = cell.values[paper_metric]
                diff = f", Δ {mean - paper:+.2f}" if n else ""
                text += f" · paper {paper:g}{diff}"
            cells.append(text)
        body.append(cells)
    return md_table(header, body)


SETUP_KEYS = (("dataset.name", "dataset"), ("model.name", "model"), ("model.width", "width"),
              ("dataset.train_subset", "train images"), ("dataset.batch_size", "batch"),
              ("optim.lr", "peak LR"), ("optim.weight_decay", "weight decay"),
              ("optim.label_smoothing", "label smoothing"), ("dataset.base_epochs", "1x epochs"))


def _setup_values(key: str, cfg: dict[str, Any], runs: list[Run]) -> list[Any]:
    """The values ``key`` takes: the finished runs' own (a sweep may vary it, or every run may override
    the sweep's base config), else the sweep's config."""
    ran = [r for r in runs if r.ok] or runs  # a missing point's config is only composed, not run
    found = {repr(r.config[key]): r.config[key] for r in ran if r.config.get(key) is not None}
    if not found and cfg.get(key) is not None:
        found = {repr(cfg[key]): cfg[key]}
    return sorted(found.values(), key=sort_key)


def setup_line(master: dict[str, Any], runs: list[Run], layout: Layout) -> str:
    """The setup the runs share; a setting the sweep varies is shown with all its values."""
    cfg = master or (runs[0].config if runs else {})
    keys = list(SETUP_KEYS)
    if layout.column not in ("epochs", "epoch_multiplier"):
        keys.insert(0, ("epochs", "epochs"))
    parts = []
    for key, label in keys:
        vals = _setup_values(key, cfg, runs)
        if len(vals) > 1:
            parts.append(f"{label} {{{', '.join(str(v) for v in vals)}}} (swept)")
        elif vals:
            parts.append(f"{vals[0]} epochs" if key == "epochs" else f"{label} {vals[0]}")
    return ", ".join(parts)


def _paper_section(rep: Report) -> list[str]:
    lay = rep.layout
    prow = paper_rows(rep)
    if not prow:
        return []
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
            ours = ours_text(e, lay.ours(name))
            diff = f"{mean - cell.values[name]:+.2f}" if k else ""
        body.append([fmt_coord(k, cell.where.get(k)) if k in cell.where else "" for k in keys]
                    + [cell.label, label, paper, ours, diff, cell.source])
    return ["", "## The paper's numbers next to ours", "",
            md_table([coord_label(k) for k in keys] + ["paper's row", "metric", "paper", "ours",
                                                       "Δ (ours − paper)", "source"], body)]


def _grid_section(rep: Report) -> list[str]:
    lay, pub = rep.layout, rep.published
    if not rep.entries:
        return []
    out = ["", f"## The whole sweep: {metric(lay.metric).label}", "",
           "Mean ± std [95% confidence interval of the mean, t-distribution] over the seeds of each config "
           "at the final epoch (a config with one seed shows its value alone); `missing` marks configs whose "
           "runs did not finish."
           + (" `paper` is the published number at that point." if pub and pub.cells else ""), ""]
    out.append(grid_markdown(rep, lay.metric))
    for name in lay.metrics:
        if name == lay.metric or not any(e.values.get(name) for e in rep.entries):
            continue
        out += ["", f"### {metric(name).label}", "", grid_markdown(rep, name)]
    return out


VERDICTS_NOTE = (
    "A statement *holds* when the 95% confidence interval of every difference it needs lies on the "
    "claimed side of zero (or of the bound it states), *fails* when one lies on the other side, and is "
    "*inconclusive* otherwise; a config with one seed has no interval, so an ordering resting on it is "
    "inconclusive. Differences are of seed means (the seeds of one config are averaged, two configs "
    "never are), with Welch's t interval; the row shows the comparison that decides the verdict, "
    "`seeds` the finished seeds per config behind it. Every comparison is listed under "
    "\"The paper's statements\" below.")


def verdicts(rep: Report) -> list[tuple[Claim, Verdict]]:
    """Every statement of the paper's artefact with its verdict on our runs."""
    lay, claims = rep.layout, rep.published.claims if rep.published else ()
    return [(c, dispatch.check(c, rep.entries, lay.column, lay.metric_aliases)) for c in claims]


def _verdict_section(checked: list[tuple[Claim, Verdict]], name: str = "") -> list[str]:
    out = ["", "## Verdicts", ""]
    if not checked and "/" in name:  # a part of a suite (scale_study/width): its README reads it
        suite = name.split("/")[0]
        return out + [f"A part of the `{suite}` suite: no statement of the papers is checked on this part "
                      f"alone; the suite's README (`results/{suite}/README.md`) reads its numbers with the "
                      "other parts'."]
    if not checked:
        return out + ["No statement of the paper is attached to this experiment."]
    body = [[c.text, v.verdict, v.difference, v.seeds] for c, v in checked]
    return out + [VERDICTS_NOTE, "", md_table(["statement", "verdict", "difference [95% CI]", "seeds"], body)]


def _claims_section(checked: list[tuple[Claim, Verdict]]) -> list[str]:
    if not checked:
        return []
    body = [[c.text, c.source, v.verdict, v.detail] for c, v in checked]
    return ["", "## The paper's statements, checked on our runs", "",
            md_table(["statement", "source", "on our runs", "detail"], body)]


def render_markdown(rep: Report, plot_files: list[Path]) -> str:
    lay, pub = rep.layout, rep.published
    n = len(rep.runs)
    done = sum(r.status == FINISHED for r in rep.runs)
    bad = [r for r in rep.runs if r.status != FINISHED]
    checked = verdicts(rep)
    out = [f"# {pub.title if pub else lay.name}"]
    out += provenance.warning_lines(provenance.gather(rep.runs))  # runs of several training-code versions
    out += _verdict_section(checked, lay.name)
    out.append("")
    out.append(f"Experiment `{lay.name}`, sweep `{rep.sweep_dir}`: {n} runs asked, {done} finished, "
               f"{n - done} missing or failed.")
    out.append("")
    out.append(f"Our setup: {setup_line(rep.master, rep.runs, lay)}.")
    if pub:
        out.append(f"Paper's setup: {pub.setup}")
    if lay.twin:
        out += ["", "**CPU twin.** Same sweep structure as the paper's experiment, on a small model and "
                "dataset with short schedules. The paper's numbers are shown for orientation: Δ = ours − "
                "paper measures the distance between the two setups, not a reproduction error. What the twin "
                "can test is the paper's statements (orderings and trends) below."]
    for note in pub.notes if pub else ():
        out += ["", f"Note: {note}"]
    out += _paper_section(rep)
    out += _grid_section(rep)
    best = best_of.table(rep)  # only when the experiment's report node asks (report.best_of)
    if best is not None:
        out += ["", f"## {best[0]}", "", best[1], "", md_table(best[2], best[3])]
    out += _claims_section(checked)
    out += realized.section(rep.entries)  # runs ending more than half a point from their target sparsity
    out += ["", "## Missing and failed runs", ""]
    if bad:
        for r in bad:
            where = f" in `{r.job_dir.name}`" if r.job_dir else ""
            out.append(f"- **{r.status}**: `{r.label()}`{where}" + (f" ({r.note})" if r.note else ""))
    else:
        out.append("None: every sweep point finished.")
    out += provenance.section(rep.runs, lay.name, rep.sweep_dir)
    if plot_files:
        out += ["", "## Figures", ""] + [f"![{p.stem}]({p.name})" for p in plot_files]
    return "\n".join(out) + "\n"
