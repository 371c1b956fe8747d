"""Verdicts with uncertainty: one comparison of two configs, and how a statement's comparisons
combine into its verdict.

A comparison is the 95% interval of a difference between two configs (``stats.welch_interval``)
against what the paper claims about it:

- an ordering (``sign`` +1: the difference is positive; -1: negative) *holds* when the interval
  lies on the claimed side of zero, *fails* when it lies on the other side, and is
  *inconclusive* otherwise (zero inside it, a tie, or a config with one seed: no interval);
- an upper bound (``at_most``: "adds at most 0.2 points") holds when the interval's top is at
  most the bound, fails when its bottom is above it;
- a band (``within``: "all within 0.75 points") holds when the interval lies inside
  ``[-tolerance, tolerance]``, fails when it lies outside.

A statement needs several comparisons (every context, every step of a trend, the expected best
against each other config). It **holds** when every comparison it needs holds, **fails** when
any comparison fails (the statement is universal: "at every sparsity", "keeps improving"), and is
**inconclusive** otherwise. It is **not checked** when no comparison has numbers (missing runs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from acdc_bench.reports.stats import Interval

HOLDS, FAILS, INCONCLUSIVE, UNCHECKED = "holds", "fails", "inconclusive", "not checked"
ORDER, AT_MOST, WITHIN = "order", "at_most", "within"


@dataclass(frozen=True)
class Comparison:
    """One needed comparison: ``diff`` = (one config) - (the other), in the paper's units."""

    label: str  # which two configs, e.g. "acdc − gmp at 90%, 1x"
    diff: Interval
    seeds: tuple[int, int]  # finished seeds behind each side
    kind: str = ORDER
    sign: int = 1  # ORDER: the claimed sign of the difference
    tolerance: float = 0.0  # AT_MOST / WITHIN: the bound the paper states
    fmt: str = ".2f"

    @property
    def verdict(self) -> str:
        low, high = self.diff.low, self.diff.high
        if math.isnan(low) or math.isnan(high):
            return INCONCLUSIVE
        if self.kind == AT_MOST:
            return HOLDS if high <= self.tolerance else FAILS if low > self.tolerance else INCONCLUSIVE
        if self.kind == WITHIN:
            tol = self.tolerance
            if -tol <= low and high <= tol:
                return HOLDS
            return FAILS if low > tol or high < -tol else INCONCLUSIVE
        low, high = sorted((self.sign * low, self.sign * high))
        return HOLDS if low > 0 else FAILS if high < 0 else INCONCLUSIVE

    @property
    def margin(self) -> float:
        """How far the interval is on the claimed side (negative: against it). The statement shows
        the comparison with the smallest margin among those that decide its verdict."""
        low, high = self.diff.low, self.diff.high
        if self.kind == AT_MOST:
            return self.tolerance - high
        if self.kind == WITHIN:
            return self.tolerance - max(abs(low), abs(high))
        return min(self.sign * low, self.sign * high)

    def text(self) -> str:
        """``label: +1.23 [+0.45, +2.01]``, or the estimate and why there is no interval."""
        est = format(self.diff.estimate, "+" + self.fmt)
        if self.diff.bounded:
            rng = f"[{format(self.diff.low, '+' + self.fmt)}, {format(self.diff.high, '+' + self.fmt)}]"
        else:
            rng = "(no interval: 1 seed)" if min(self.seeds) < 2 else "(no interval)"
        return f"{self.label}: {est} {rng}"


@dataclass
class Verdict:
    verdict: str
    detail: str
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def shown(self) -> Comparison | None:
        """The comparison that decides the verdict: the weakest that holds, the clearest that fails,
        the one furthest from the claim among the inconclusive."""
        deciding = [c for c in self.comparisons if c.verdict == self.verdict]
        return min(deciding, key=lambda c: c.margin) if deciding else None

    @property
    def difference(self) -> str:
        shown = self.shown
        return shown.text() if shown else "-"

    @property
    def seeds(self) -> str:
        """Finished seeds per config behind the verdict: ``3`` or a range ``1-3``."""
        ns = sorted({n for c in self.comparisons for n in c.seeds})
        if not ns:
            return "-"
        return str(ns[0]) if ns[0] == ns[-1] else f"{ns[0]}-{ns[-1]}"


def combine(verdicts: list[str]) -> str:
    """Every needed comparison holds -> holds; any fails -> fails; else inconclusive."""
    if not verdicts:
        return UNCHECKED
    if FAILS in verdicts:
        return FAILS
    return HOLDS if all(v == HOLDS for v in verdicts) else INCONCLUSIVE


def judge(comparisons: list[Comparison], what: str) -> Verdict:
    """A statement's verdict from the comparisons it needs; ``what`` names them in the detail."""
    if not comparisons:
        return Verdict(UNCHECKED, f"no {what} with finished runs")
    verdicts = [c.verdict for c in comparisons]
    counts = {v: verdicts.count(v) for v in (HOLDS, FAILS, INCONCLUSIVE)}
    detail = f"{counts[HOLDS]} of {len(comparisons)} {what} hold"
    for kind in (FAILS, INCONCLUSIVE):
        named = [c.text() for c in comparisons if c.verdict == kind]
        if named:
            detail += f"; {kind}: " + "; ".join(named[:6]) + (" ..." if len(named) > 6 else "")
    return Verdict(combine(verdicts), detail, comparisons)
