"""Paper 001 Table 7's selection rule: per task, the mean of the two best runs of a hyper-parameter
grid (Sec. 4.3: LR {1e-4, 2e-4, 3e-4} x dropout {0.05, 0.1}).

An experiment asks for it in its ``report`` node, ``best_of: {n: 2, per: dataset.task}``: within
each value of ``per``, the ``n`` configs with the best seed mean of the report's metric are
picked, and every metric of the report is shown as the mean of those configs' seed means, beside
the paper's cell for that ``per`` value. A "run" of the paper is one grid point; with several
seeds a config enters with its seed mean (picking single seeds would favour lucky seeds of one
config). The selection is optimistic by construction, as the paper's; the grid table above shows
every config.
"""

from __future__ import annotations

from typing import Any

from acdc_bench.reports.layout import Report, entry_where, published_for
from acdc_bench.reports.tables import Entry, fmt_coord, fmt_number, matches, metric, sort_key


def _setting(rep: Report) -> dict[str, Any] | None:
    for cfg in [rep.master, *(r.config for r in rep.runs)]:
        n, per = cfg.get("report.best_of.n"), cfg.get("report.best_of.per")
        if n is not None and per is not None:
            return {"n": int(n), "per": str(per), "where": parse_where(cfg.get("report.best_of.where"))}
    return None


def parse_where(text: str | None) -> dict[str, str]:
    """``report.best_of.where: "recipe.name=gradual_unfreezing"``: pick among these configs only
    (a sweep with a second arm beside the paper's grid, e.g. Table 7's twin with a dense-transfer arm)."""
    if not text:
        return {}
    key, sep, value = str(text).partition("=")
    if not sep or not key or not value:
        raise ValueError(f"report.best_of.where={text!r} is not allowed; expected 'key=value'")
    return {key.strip(): value.strip()}


def best_configs(es: list[Entry], name: str, per: str, n: int,
                 where: dict[str, Any] | None = None) -> dict[Any, list[Entry]]:
    """Per value of ``per``: the ``n`` configs with the best seed mean of ``name`` (among the
    configs matching ``where``)."""
    sign = 1 if metric(name).higher_is_better else -1
    groups: dict[str, tuple[Any, list[Entry]]] = {}
    for e in {id(x.group): x for x in es}.values():
        if e.stat(name)[2] and matches(entry_where(e), where or {}):
            key = entry_where(e).get(per)
            groups.setdefault(repr(key), (key, []))[1].append(e)
    out: dict[Any, list[Entry]] = {}
    for key, members in sorted(groups.values(), key=lambda kv: sort_key(kv[0])):
        out[key] = sorted(members, key=lambda e: -sign * e.stat(name)[0])[:n]
    return out


def table(rep: Report) -> tuple[str, str, list[str], list[list[str]]] | None:
    """(title, explanation, header, rows) of the report's section, or None when the experiment
    does not ask for it (``markdown.py`` renders it)."""
    setting = _setting(rep)
    if setting is None:
        return None
    lay, n, per = rep.layout, setting["n"], setting["per"]
    picked = best_configs(rep.entries, lay.metric, per, n, setting["where"])
    if not picked:
        return None
    grid = sorted({k for e in rep.entries for k in e.coords if k != per})
    body = []
    for key, chosen in picked.items():
        for name in lay.metrics:
            means = [e.stat(name)[0] for e in chosen if e.stat(name)[2]]
            if not means:
                continue
            cell, paper_metric = published_for(rep, chosen[0], name)
            ours = sum(means) / len(means)
            fmt = metric(name).fmt
            paper = fmt_number(cell.values[paper_metric], fmt) if cell and paper_metric else ""
            delta = fmt_number(ours - cell.values[paper_metric], "+" + fmt) if cell and paper_metric else ""
            runs = "; ".join(", ".join(f"{k}={fmt_coord(k, e.coords.get(k))}" for k in grid) for e in chosen)
            body.append([fmt_coord(per, key), metric(name).label, fmt_number(ours, fmt), str(len(means)),
                         paper, delta, runs])
    title = f"Mean of the {n} best configs per {per} (by {metric(lay.metric).label})"
    among = "".join(f" among the configs with {k}={v}" for k, v in setting["where"].items())
    note = (f"Per {per}, the {n} configs with the best seed mean of {lay.metric} are picked{among}; each "
            "metric is the mean of their seed means (the paper's rule for Table 7, Sec. 4.3).")
    return title, note, [per, "metric", "ours", "configs", "paper", "Δ", "picked"], body
