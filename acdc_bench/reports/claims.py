"""Checking the papers' statements against our numbers, with the seeds' uncertainty.

Each checker lists the comparisons a statement needs, within *contexts*: entries that agree on
every coordinate except the one the statement is about (the method, the budget, ...). Every
comparison is the 95% interval of the difference of two configs' seed means (Welch's t interval,
``stats.welch_interval``; the seeds of one config are averaged, two configs never are), judged
against the paper's claim; ``verdicts.judge`` combines them: a statement holds when every
comparison it needs holds, fails when any fails, and is inconclusive otherwise.

A statement's check is a typed record (``acdc_bench/artefacts/checks.py``: ``Pairwise``,
``Monotone``, ... one per checker below, holding exactly its parameters); ``dispatch.check``
calls the checker of the record's type. What each statement needs:

- ``pairwise`` (a better than b): a − b in every context (each side's best config when
  ``best_over`` lets a coordinate vary);
- ``best_among`` (``expect`` is the best): the expected config against every other in a context;
- ``monotone`` (a trend): every consecutive step along the coordinate, in the stated direction;
- ``saturates`` (the last step adds at most ``tolerance``): the last step's gain, per series;
- ``loses_at_most`` (a loses little against b): b − a at most ``tolerance``, per context;
- ``cost_ratio`` (b's runs cost ``expect`` times a's): the ratio per seed, within ``tolerance``;
- ``gain_grows`` (a longer budget helps more at higher sparsity): per context, the gain from the
  first to the last value of ``along`` at ``by`` = ``high`` minus the same gain at ``by`` = ``low``
  (a difference of differences of four configs' seed means, ``stats.contrast_interval``);
- ``best_column`` (the best budget is the paper's): that budget against every other, per row;
- ``spread`` (all within ``tolerance``): every pair of configs;
- ``above`` (a value beyond a threshold, e.g. a loss barrier > 0): per config (per analysis entry
  with ``per_entry``), the one-sample t interval of its seeds' values minus the threshold;
- ``exceeds`` (metric A above metric B): within one config the per-seed difference A − B (paired
  by seed: both come from the same run) with a one-sample t interval; with ``by``/``a_at``/``b_at``
  A of one config against B of another in each context (Welch, as every two-config comparison);
- ``entry_trend`` (a trend over an analysis' entries of one run, e.g. a barrier per segment):
  every consecutive pair of entries, paired by seed.

``rows`` (``above``/``exceeds``) reads a value from the run's per-epoch rows instead of its final
one: the rows matching the filter (``{"stage": "compression"}``: AC/DC's sparse phases; ``{}``:
every row), reduced by ``reduce`` (mean, min, max, last) -- per-phase statements of one run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from acdc_bench.reports.stats import contrast_interval, mean_interval, welch_interval
from acdc_bench.reports.sweep import Run
from acdc_bench.reports.tables import (
    Entry,
    analysis_entries,
    coord_label,
    fmt_coord,
    matches,
    metric,
    path_value,
    run_value,
    same_value,
    sort_key,
)
from acdc_bench.reports.verdicts import (
    AT_MOST,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    ORDER,
    UNCHECKED,
    WITHIN,
    Comparison,
    Verdict,
    judge,
)

_metric = metric  # the checkers' argument ``metric`` shadows the function

__all__ = ["FAILS", "HOLDS", "INCONCLUSIVE", "UNCHECKED", "Verdict"]


def _sample(e: Entry, name: str) -> list[float]:
    """The finished seeds' values of ``name`` in the paper's units."""
    k = metric(name).scale
    return [v * k for v in e.values.get(name, [])]


def _value(e: Entry, name: str) -> float | None:
    mean, _, n = e.stat(name)
    return mean if n else None


def _context(e: Entry, drop: set[str]) -> tuple:
    """The coordinates other than ``drop``, as printable ``(key, value)`` pairs."""
    return tuple(sorted((k, fmt_coord(k, v)) for k, v in e.coords.items() if k not in drop))


def _where(ctx: tuple) -> str:
    text = ", ".join(f"{coord_label(k)}={v}" for k, v in ctx if k != "variant")
    return f" at {text}" if text else ""


def _select(es: list[Entry], where: dict[str, Any] | None, exclude: list[dict[str, Any]] | None = None):
    out = [e for e in es if not where or matches(e.coords, where)]
    return [e for e in out if not any(matches(e.coords, x) for x in exclude or [])]


def _compare(name: str, a: Entry, b: Entry, label: str, sign: int = 1, kind: str = ORDER,
             tolerance: float = 0.0) -> Comparison:
    """``a - b`` of ``name`` with its interval, and the claim about it."""
    sa, sb = _sample(a, name), _sample(b, name)
    return Comparison(label, welch_interval(sa, sb), (len(sa), len(sb)), kind, sign, tolerance,
                      metric(name).fmt)


def _better(name: str) -> int:
    """+1 when higher is better for ``name``, -1 for losses."""
    return 1 if metric(name).higher_is_better else -1


def best_among(es: list[Entry], metric: str, by: str, expect: Any, lower: bool = False,
               where: dict[str, Any] | None = None, ignore: list[str] | None = None, **_: Any) -> Verdict:
    """``expect`` best along ``by`` in every context; ``ignore``: coordinates that change with
    ``by`` by design (Table C.2: the decompression length with the compression length)."""
    contexts: dict[tuple, list[Entry]] = {}
    for e in _select(es, where):
        if _value(e, metric) is not None:
            contexts.setdefault(_context(e, {by, *(ignore or ())}), []).append(e)
    out: list[Comparison] = []
    sign = -1 if lower else 1
    for ctx, members in contexts.items():
        mine = [m for m in members if same_value(m.coords.get(by), expect)]
        if len(members) < 2 or not mine:
            continue
        star = (min if lower else max)(mine, key=lambda m: _value(m, metric))
        for other in members:
            if not same_value(other.coords.get(by), expect):
                label = f"{fmt_coord(by, expect)} − {fmt_coord(by, other.coords.get(by))}{_where(ctx)}"
                out.append(_compare(metric, star, other, label, sign))
    return judge(out, "comparisons")


def pairwise(es: list[Entry], metric: str, by: str, a: Any, b: Any, where: dict[str, Any] | None = None,
             best_over: str | None = None, ignore: list[str] | None = None, **_: Any) -> Verdict:
    """``a`` better than ``b`` (higher, or lower for losses) in every context. ``ignore``: the
    coordinates the two sides differ in by design (a half-width dense model against a sparse
    full-width one differs in width and sparsity too), left out of the context."""
    sign = _better(metric)
    drop = {by} | ({best_over} if best_over else set()) | set(ignore or ())
    contexts: dict[tuple, dict[str, list[Entry]]] = {}
    for e in _select(es, where):
        side = "a" if same_value(e.coords.get(by), a) else "b" if same_value(e.coords.get(by), b) else None
        if _value(e, metric) is None or side is None:
            continue
        contexts.setdefault(_context(e, drop), {"a": [], "b": []})[side].append(e)
    out: list[Comparison] = []
    for ctx, sides in contexts.items():
        if not sides["a"] or not sides["b"]:
            continue
        pick = max if sign > 0 else min  # each side's best config (best_over lets one coordinate vary)
        ea, eb = (pick(sides[s], key=lambda m: _value(m, metric)) for s in ("a", "b"))
        label = f"{fmt_coord(by, a)} − {fmt_coord(by, b)}{_where(ctx)}"
        out.append(_compare(metric, ea, eb, label, sign))
    absent = [v for v in (a, b) if not any(same_value(e.coords.get(by), v) for e in es)]
    if not out and absent and es:  # an arm the sweep lacks, not runs that failed
        return Verdict(UNCHECKED, f"the sweep has no {coord_label(by)}={fmt_coord(by, absent[-1])} config")
    return judge(out, "comparisons")


def _series(es: list[Entry], metric: str, along: str, where, exclude) -> dict[tuple, list[Entry]]:
    out: dict[tuple, list[Entry]] = {}
    for e in _select(es, where, exclude):
        if _value(e, metric) is not None and along in e.coords:
            out.setdefault(_context(e, {along}), []).append(e)
    return {k: sorted(v, key=lambda e: sort_key(e.coords[along])) for k, v in out.items()}


def _step_label(along: str, e0: Entry, e1: Entry, ctx: tuple) -> str:
    return f"{fmt_coord(along, e1.coords[along])} − {fmt_coord(along, e0.coords[along])}{_where(ctx)}"


def monotone(es: list[Entry], metric: str, along: str, direction: int, where: dict[str, Any] | None = None,
             exclude: list[dict[str, Any]] | None = None, **_: Any) -> Verdict:
    out: list[Comparison] = []
    for ctx, seq in _series(es, metric, along, where, exclude).items():
        for e0, e1 in zip(seq, seq[1:], strict=False):
            out.append(_compare(metric, e1, e0, _step_label(along, e0, e1, ctx), direction))
    return judge(out, "steps")


def gain_grows(es: list[Entry], metric: str, along: str, by: str, low: Any, high: Any,
               where: dict[str, Any] | None = None, direction: int = 1, **_: Any) -> Verdict:
    """(last − first along ``along`` at ``by``=high) − (the same at ``by``=low) > 0 in every
    context (the other coordinates), over the values of ``along`` both series have; ``direction``
    -1: < 0 (a loss along ``along`` that is larger at ``high``)."""
    grouped: dict[tuple, dict[str, list[Entry]]] = {}
    for ctx, seq in _series(es, metric, along, where, None).items():
        side = "high" if same_value(seq[0].coords.get(by), high) else \
            "low" if same_value(seq[0].coords.get(by), low) else None
        if side is not None:
            grouped.setdefault(tuple(kv for kv in ctx if kv[0] != by), {})[side] = seq
    out: list[Comparison] = []
    for ctx, sides in grouped.items():
        if len(sides) < 2:
            continue
        common = [v for v in (e.coords[along] for e in sides["high"])
                  if any(same_value(e.coords[along], v) for e in sides["low"])]
        if len(common) < 2:
            continue
        first, last = common[0], common[-1]
        terms = [(c, _sample(next(e for e in sides[side] if same_value(e.coords[along], v)), metric))
                 for c, side, v in ((1.0, "high", last), (-1.0, "high", first), (-1.0, "low", last),
                                    (1.0, "low", first))]
        ns = [len(x) for _, x in terms]
        label = (f"({coord_label(along)} {fmt_coord(along, last)} − {fmt_coord(along, first)}) at "
                 f"{fmt_coord(by, high)} − at {fmt_coord(by, low)}{_where(ctx)}")
        out.append(Comparison(label, contrast_interval(terms), (min(ns), max(ns)), sign=direction,
                              fmt=_metric(metric).fmt))
    return judge(out, "comparisons")


def loses_at_most(es: list[Entry], metric: str, by: str, a: Any, b: Any, tolerance: float,
                  where: dict[str, Any] | None = None, **_: Any) -> Verdict:
    """``a`` trails ``b`` by at most ``tolerance`` in every context ("little accuracy lost"): the
    interval of b − a (a − b for losses) lies below the bound."""
    sign = _better(metric)
    contexts: dict[tuple, dict[str, Entry]] = {}
    for e in _select(es, where):
        side = "a" if same_value(e.coords.get(by), a) else "b" if same_value(e.coords.get(by), b) else None
        if _value(e, metric) is not None and side is not None:
            contexts.setdefault(_context(e, {by}), {})[side] = e
    out = [_compare(metric, *((sides["b"], sides["a"]) if sign > 0 else (sides["a"], sides["b"])),
                    f"{fmt_coord(by, b)} − {fmt_coord(by, a)}{_where(ctx)}", kind=AT_MOST,
                    tolerance=tolerance)
           for ctx, sides in contexts.items() if len(sides) == 2]
    return judge(out, f"comparisons within {tolerance:g}")


def cost_ratio(es: list[Entry], metric: str, by: str, a: Any, b: Any, expect: float, tolerance: float,
               **_: Any) -> Verdict:
    """The runs at ``by``=b together cost ``expect`` (± ``tolerance``) times the run at ``by``=a: per
    seed, the sum of the b configs' ``metric`` (one value per run, e.g. training FLOPs as a fraction of
    dense at equal iterations) over a's, with the one-sample t interval over seeds. AST's sub-nets of
    one run count once."""
    def per_seed(side: Any) -> list[dict[Any, float]]:
        groups = {id(e.group): e for e in es if same_value(e.coords.get(by), side)}
        return [{r.seed: v for r in e.group.finished
                 if (v := run_value(r, metric, e.subnet)) is not None} for e in groups.values()]

    ga, gb = per_seed(a), per_seed(b)
    if len(ga) != 1 or not gb:
        return Verdict(UNCHECKED, f"needs one {coord_label(by)}={a} config and the {b} ones with {metric}")
    seeds = [s for s in ga[0] if all(s in g for g in gb)]
    ratios = [sum(g[s] for g in gb) / ga[0][s] - expect for s in seeds if ga[0][s] > 0]
    label = f"{metric} of the {len(gb)} {coord_label(by)}={b} runs / the {by}={a} run − {expect:g}"
    return judge([Comparison(label, mean_interval(ratios), (len(ratios), len(ratios)), WITHIN,
                             tolerance=tolerance)] if ratios else [], "comparisons")


def saturates(es: list[Entry], metric: str, along: str, tolerance: float, where: dict[str, Any] | None = None,
              **_: Any) -> Verdict:
    out: list[Comparison] = []
    for ctx, seq in _series(es, metric, along, where, None).items():
        if len(seq) >= 2:
            out.append(_compare(metric, seq[-1], seq[-2], _step_label(along, seq[-2], seq[-1], ctx),
                                kind=AT_MOST, tolerance=tolerance))
    return judge(out, "series")


def best_column(es: list[Entry], metric: str, expected: list, column: str | None = None,
                budgets: list[Any] | None = None, **_: Any) -> Verdict:
    """The budget (the report's column) with the best value, per row, against the paper's.

    ``"max"`` means the longest budget tried. A number the sweep does not contain (a CPU twin's
    budgets are scaled) is compared by position when ``budgets`` lists the paper's budgets."""
    if column is None:
        return Verdict(UNCHECKED, "the report has no budget column")
    out: list[Comparison] = []
    for where, want in expected:
        seq = sorted((e for e in _select(es, where) if _value(e, metric) is not None),
                     key=lambda e: sort_key(e.coords[column]))
        if len(seq) < 2:
            continue
        xs = [e.coords[column] for e in seq]
        if want == "max":
            target = xs[-1]
        elif any(same_value(want, x) for x in xs):
            target = want
        elif budgets and len(budgets) == len(xs) and any(same_value(want, b) for b in budgets):
            target = xs[[i for i, b in enumerate(budgets) if same_value(want, b)][0]]
        else:
            continue
        star = next(e for e in seq if same_value(e.coords[column], target))
        row = ", ".join(fmt_coord(k, v) for k, v in where.items())
        for other in seq:
            if other is not star:
                label = f"{fmt_coord(column, target)} − {fmt_coord(column, other.coords[column])} ({row})"
                out.append(_compare(metric, star, other, label, _better(metric)))
    return judge(out, "comparisons")


def spread(es: list[Entry], metric: str, tolerance: float, **_: Any) -> Verdict:
    have = sorted((e for e in es if _value(e, metric) is not None), key=lambda e: -(_value(e, metric) or 0.0))
    if len(have) < 2:
        return Verdict(UNCHECKED, "fewer than two finished configs")
    out: list[Comparison] = []
    for i, hi in enumerate(have):
        for lo in have[i + 1:]:
            label = f"{_describe(hi)} − {_describe(lo)}"
            out.append(_compare(metric, hi, lo, label, kind=WITHIN, tolerance=tolerance))
    return judge(out, f"pairs within ±{tolerance:g}")


def _describe(e: Entry) -> str:
    return ", ".join(fmt_coord(k, v) for k, v in sorted(e.coords.items()) if k != "variant") or "run"


# ----------------------------------------------------------------------------- one config's own values
REDUCE: dict[str, Callable[[list[float]], float]] = {
    "mean": lambda v: sum(v) / len(v), "min": min, "max": max, "last": lambda v: v[-1]}


def _run_value(run: Run, name: str, subnet: float | None, rows: dict[str, Any] | None,
               reduce: str) -> float | None:
    """One run's value of ``name`` in our units: its final one, or ``reduce`` over the per-epoch
    rows matching ``rows`` (rows without a number for ``name`` are skipped)."""
    if rows is None:
        return run_value(run, name, subnet)
    vals = [float(r[name]) for r in run.rows if matches(r, rows) and isinstance(r.get(name), (int, float))
            and not isinstance(r.get(name), bool) and math.isfinite(r[name])]
    return REDUCE[reduce](vals) if vals else None


def _entry_order(key: str) -> tuple[list[int], str]:
    """Analysis entries by the numbers in their names (``segment_9_19`` before ``segment_19_29``)."""
    return [int(x) for x in re.findall(r"\d+", key)], key


def _analysis_entries(run: Run, name: str) -> dict[str, float]:
    """``@<analysis>:<path>`` per entry of the run's analysis result, in the entries' order."""
    found, path = analysis_entries(run, name)
    out: dict[str, float] = {}
    for key in sorted(found, key=_entry_order):
        v = path_value(found[key], path)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out[key] = float(v)
    return out


def _one_sample(label: str, diffs: list[float], sign: int, fmt: str) -> Comparison:
    """The mean of per-seed values (or paired differences) and its one-sample t interval."""
    return Comparison(label, mean_interval(diffs), (len(diffs), len(diffs)), ORDER, sign, fmt=fmt)


def _paired(label: str, a: dict[int, float], b: dict[int, float], sign: int, fmt: str) -> Comparison:
    """A − B paired by run (one run = one seed of the config): only runs with both values."""
    return _one_sample(label, [a[i] - b[i] for i in a if i in b], sign, fmt)


def above(es: list[Entry], metric: str, threshold: float = 0.0, direction: int = 1,
          where: dict[str, Any] | None = None, per_entry: bool = False, rows: dict[str, Any] | None = None,
          reduce: str = "mean", **_: Any) -> Verdict:
    """Every config's value above ``threshold`` (below with ``direction`` -1), in the paper's units."""
    k, fmt, out = _metric(metric).scale, _metric(metric).fmt, []
    for e in _select(es, where):
        runs = e.group.finished
        if per_entry and metric.startswith("@"):
            per_run = [_analysis_entries(r, metric) for r in runs]
            keys = list(dict.fromkeys(key for d in per_run for key in d))
            series = {key: [d[key] for d in per_run if key in d] for key in keys}
        else:
            vals = [_run_value(r, metric, e.subnet, rows, reduce) for r in runs]
            series = {"": [v for v in vals if v is not None]}
        for key, vals in series.items():
            if vals:
                label = f"{_describe(e)}{', ' + key if key else ''} − {threshold:g}"
                out.append(_one_sample(label, [v * k - threshold for v in vals], direction, fmt))
    return judge(out, "configs" if not per_entry else "entries")


def exceeds(es: list[Entry], a: str | None = None, b: str | None = None, pairs: list[dict] | None = None,
            by: str | None = None, a_at: Any = None, b_at: Any = None, where: dict[str, Any] | None = None,
            rows: dict[str, Any] | None = None, reduce: str = "mean", **_: Any) -> Verdict:
    """Metric ``a`` above metric ``b`` (each of ``pairs``: ``{a, b, rows}`` -- all needed)."""
    out: list[Comparison] = []
    for p in pairs or [{"a": a, "b": b, "rows": rows}]:
        ma, mb, prow = p["a"], p["b"], p.get("rows")
        k, fmt = _metric(ma).scale, _metric(ma).fmt
        tag = f"{ma} − {mb}" + (f" ({', '.join(f'{x}={y}' for x, y in prow.items())})" if prow else "")

        def vals(e: Entry, name: str, prow: dict[str, Any] | None = prow, k: float = k) -> dict[int, float]:
            got = {i: _run_value(r, name, e.subnet, prow, reduce) for i, r in enumerate(e.group.finished)}
            return {i: v * k for i, v in got.items() if v is not None}

        if by is None:
            for e in _select(es, where):
                va, vb = vals(e, ma), vals(e, mb)
                if va and vb:
                    out.append(_paired(f"{tag} at {_describe(e)}", va, vb, 1, fmt))
            continue
        contexts: dict[tuple, dict[str, list[Entry]]] = {}
        for e in _select(es, where):
            at = e.coords.get(by)
            side = "a" if same_value(at, a_at) else "b" if same_value(at, b_at) else None
            if side:
                contexts.setdefault(_context(e, {by}), {"a": [], "b": []})[side].append(e)
        for ctx, sides in contexts.items():
            for ea in sides["a"]:
                for eb in sides["b"]:
                    sa, sb = list(vals(ea, ma).values()), list(vals(eb, mb).values())
                    if sa and sb:
                        label = f"{ma} ({fmt_coord(by, a_at)}) − {mb} ({fmt_coord(by, b_at)}){_where(ctx)}"
                        out.append(Comparison(label, welch_interval(sa, sb), (len(sa), len(sb)), fmt=fmt))
    return judge(out, "comparisons")


def entry_trend(es: list[Entry], metric: str, direction: int = 1, where: dict[str, Any] | None = None,
                **_: Any) -> Verdict:
    """An analysis value rising (``direction`` 1) or falling over its entries within one run
    (interpolation's segments in time order): each consecutive pair, paired by seed."""
    k, fmt, out = _metric(metric).scale, _metric(metric).fmt, []
    for e in _select(es, where):
        per_run = [_analysis_entries(r, metric) for r in e.group.finished]
        keys = sorted({key for d in per_run for key in d}, key=_entry_order)
        for k0, k1 in zip(keys, keys[1:], strict=False):
            va = {i: d[k1] * k for i, d in enumerate(per_run) if k1 in d}
            vb = {i: d[k0] * k for i, d in enumerate(per_run) if k0 in d}
            out.append(_paired(f"{k1} − {k0} at {_describe(e)}", va, vb, direction, fmt))
    return judge(out, "steps")
