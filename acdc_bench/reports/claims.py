"""Checking the papers' statements against our numbers.

Each checker compares seed means of table entries within a *context*: entries that agree on
every coordinate except the one the statement is about (the method, the budget, ...). A
statement holds when it holds in every context we have numbers for, holds partly when it
holds in some, and is not checked when no context has the numbers (missing runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from acdc_bench.reports.published import Claim
from acdc_bench.reports.tables import Entry, _close, fmt_coord, matches, metric, sort_key

HOLDS, PARTLY, FAILS, UNCHECKED = "holds", "partly", "does not hold", "not checked"


@dataclass
class Verdict:
    verdict: str
    detail: str


def _value(e: Entry, name: str) -> float | None:
    mean, _, n = e.stat(name)
    return mean if n else None


def _context(e: Entry, drop: set[str]) -> tuple:
    """The coordinates other than ``drop``, as printable ``(key, value)`` pairs."""
    return tuple(sorted((k, fmt_coord(k, v)) for k, v in e.coords.items() if k not in drop))


def _describe(e: Entry, drop: set[str]) -> str:
    return ", ".join(fmt_coord(k, v) for k, v in sorted(e.coords.items()) if k not in drop and k != "variant")


def _select(es: list[Entry], where: dict[str, Any] | None, exclude: list[dict[str, Any]] | None = None):
    out = [e for e in es if not where or matches(e.coords, where)]
    return [e for e in out if not any(matches(e.coords, x) for x in exclude or [])]


def _verdict(ok: int, total: int, failures: list[str], what: str) -> Verdict:
    if total == 0:
        return Verdict(UNCHECKED, f"no {what} with finished runs")
    verdict = HOLDS if ok == total else FAILS if ok == 0 else PARTLY
    detail = f"{ok} of {total} {what}"
    if failures:
        detail += "; not in: " + "; ".join(failures[:6]) + (" ..." if len(failures) > 6 else "")
    return Verdict(verdict, detail)


def best_among(es: list[Entry], metric: str, by: str, expect: Any, lower: bool = False,
               where: dict[str, Any] | None = None, **_: Any) -> Verdict:
    contexts: dict[tuple, list[Entry]] = {}
    for e in _select(es, where):
        if _value(e, metric) is not None:
            contexts.setdefault(_context(e, {by}), []).append(e)
    ok, total, failures = 0, 0, []
    for members in contexts.values():
        if len(members) < 2 or not any(_close(m.coords.get(by), expect) for m in members):
            continue
        total += 1
        pick = min if lower else max
        best = pick(members, key=lambda m: _value(m, metric))
        if _close(best.coords.get(by), expect):
            ok += 1
        else:
            failures.append(f"{_describe(best, {by})} (best: {fmt_coord(by, best.coords.get(by))})")
    return _verdict(ok, total, failures, "comparisons")


def pairwise(es: list[Entry], metric: str, by: str, a: Any, b: Any, where: dict[str, Any] | None = None,
             best_over: str | None = None, **_: Any) -> Verdict:
    """``a`` better than ``b`` (higher, or lower for losses) in every context."""
    higher = metric_is_higher(metric)
    drop = {by} | ({best_over} if best_over else set())
    contexts: dict[tuple, dict[str, list[float]]] = {}
    for e in _select(es, where):
        v = _value(e, metric)
        side = "a" if _close(e.coords.get(by), a) else "b" if _close(e.coords.get(by), b) else None
        if v is None or side is None:
            continue
        contexts.setdefault(_context(e, drop), {"a": [], "b": []})[side].append(v)
    ok, total, failures = 0, 0, []
    for ctx, sides in contexts.items():
        if not sides["a"] or not sides["b"]:
            continue
        va = max(sides["a"]) if higher else min(sides["a"])
        vb = max(sides["b"]) if higher else min(sides["b"])
        total += 1
        if (va > vb) if higher else (va < vb):
            ok += 1
        else:
            where_txt = ", ".join(f"{k}={v}" for k, v in ctx if k != "variant") or "all"
            failures.append(f"{where_txt} ({va:.3g} vs {vb:.3g})")
    return _verdict(ok, total, failures, "comparisons")


def _series(es: list[Entry], metric: str, along: str, where, exclude) -> dict[tuple, list[tuple[Any, float]]]:
    out: dict[tuple, list[tuple[Any, float]]] = {}
    for e in _select(es, where, exclude):
        v = _value(e, metric)
        if v is not None and along in e.coords:
            out.setdefault(_context(e, {along}), []).append((e.coords[along], v))
    return {k: sorted(v, key=lambda p: sort_key(p[0])) for k, v in out.items()}


def monotone(es: list[Entry], metric: str, along: str, direction: int, where: dict[str, Any] | None = None,
             exclude: list[dict[str, Any]] | None = None, **_: Any) -> Verdict:
    ok, total, failures = 0, 0, []
    for ctx, seq in _series(es, metric, along, where, exclude).items():
        for (x0, v0), (x1, v1) in zip(seq, seq[1:], strict=False):
            total += 1
            if (v1 - v0) * direction > 0:
                ok += 1
            else:
                where_txt = ", ".join(f"{k}={v}" for k, v in ctx if k != "variant")
                failures.append(f"{where_txt}: {fmt_coord(along, x0)}->{fmt_coord(along, x1)} "
                                f"({v0:.3g}->{v1:.3g})")
    return _verdict(ok, total, failures, "steps")


def saturates(es: list[Entry], metric: str, along: str, tolerance: float, where: dict[str, Any] | None = None,
              **_: Any) -> Verdict:
    ok, total, failures = 0, 0, []
    for ctx, seq in _series(es, metric, along, where, None).items():
        if len(seq) < 2:
            continue
        total += 1
        gain = seq[-1][1] - seq[-2][1]
        if gain <= tolerance:
            ok += 1
        else:
            failures.append(f"{', '.join(f'{k}={v}' for k, v in ctx)}: +{gain:.2f}")
    return _verdict(ok, total, failures, "series")


def best_column(es: list[Entry], metric: str, expected: list, column: str | None = None,
                budgets: list[Any] | None = None, **_: Any) -> Verdict:
    """The budget (the report's column) with the best value, per row, against the paper's.

    ``"max"`` means the longest budget tried. A number the sweep does not contain (a CPU twin's
    budgets are scaled) is compared by position when ``budgets`` lists the paper's budgets."""
    if column is None:
        return Verdict(UNCHECKED, "the report has no budget column")
    higher = metric_is_higher(metric)
    ok, total, failures = 0, 0, []
    for where, want in expected:
        seq = [(e.coords[column], _value(e, metric)) for e in _select(es, where)]
        seq = sorted(((x, v) for x, v in seq if v is not None), key=lambda p: sort_key(p[0]))
        if len(seq) < 2:
            continue
        best = (max if higher else min)(seq, key=lambda p: p[1])[0]
        xs = [x for x, _ in seq]
        if want == "max":
            target = xs[-1]
        elif any(_close(want, x) for x in xs):
            target = want
        elif budgets and len(budgets) == len(xs) and any(_close(want, b) for b in budgets):
            target = xs[[i for i, b in enumerate(budgets) if _close(want, b)][0]]
        else:
            continue
        total += 1
        label = ", ".join(fmt_coord(k, v) for k, v in where.items())
        if _close(best, target):
            ok += 1
        else:
            failures.append(f"{label}: best at {fmt_coord(column, best)}, paper {fmt_coord(column, target)}")
    return _verdict(ok, total, failures, "rows")


def spread(es: list[Entry], metric: str, tolerance: float, **_: Any) -> Verdict:
    vals = [v for v in (_value(e, metric) for e in es) if v is not None]
    if len(vals) < 2:
        return Verdict(UNCHECKED, "fewer than two finished configs")
    width = max(vals) - min(vals)
    return Verdict(HOLDS if width <= tolerance else FAILS, f"range {width:.2f} (tolerance {tolerance})")


def metric_is_higher(name: str) -> bool:
    return metric(name).higher_is_better


CHECKS: dict[str, Callable[..., Verdict]] = {
    "best_among": best_among, "pairwise": pairwise, "monotone": monotone, "saturates": saturates,
    "best_column": best_column, "spread": spread,
}


def check(claim: Claim, es: list[Entry], column: str | None,
          aliases: dict[str, str] | None = None) -> Verdict:
    """``aliases`` maps the paper's metric to the one our runs report in its place (twins)."""
    fn = CHECKS.get(claim.check)
    if fn is None:
        return Verdict(UNCHECKED, "a statement without a numeric check")
    args = dict(claim.args)
    if "metric" in args and aliases:
        args["metric"] = aliases.get(args["metric"], args["metric"])
    return fn(es, column=column, **args)
