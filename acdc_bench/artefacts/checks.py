"""The papers' statements as typed checks: one frozen record per checker of
``reports/claims.py`` and ``reports/claims_measured.py``, holding exactly that checker's
parameters (a misspelt field fails at import; ``tests/test_artefacts.py`` compares each record
with its checker's signature). ``reports/dispatch.py`` maps a record to its checker.

Metric names are ours (``val_top1``, ``@<analysis>:<path>``: a value of ``RUN/analysis/<analysis>.json``);
``where`` / ``exclude`` / ``rows`` are coordinate filters as ``reports.tables.matches`` reads them
(a list value: any of them). What each check needs from the runs is said in ``reports/claims.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Where = dict[str, Any]


@dataclass(frozen=True)
class Check:
    """A statement's numeric check; ``metric_fields``: the fields naming our metrics (a CPU twin's
    ``metric_aliases`` replace them)."""

    metric_fields = ("metric",)


@dataclass(frozen=True)
class BestAmong(Check):
    """``expect`` is the best value of ``by`` in every context (lowest with ``lower``)."""

    metric: str
    by: str
    expect: Any
    lower: bool = False
    where: Where | None = None
    ignore: list[str] | None = None


@dataclass(frozen=True)
class Pairwise(Check):
    """``by`` = ``a`` better than ``by`` = ``b`` in every context."""

    metric: str
    by: str
    a: Any
    b: Any
    where: Where | None = None
    best_over: str | None = None
    ignore: list[str] | None = None


@dataclass(frozen=True)
class Monotone(Check):
    """Every step along ``along`` in ``direction`` (+1 rising, -1 falling)."""

    metric: str
    along: str
    direction: int
    where: Where | None = None
    exclude: list[Where] | None = None


@dataclass(frozen=True)
class Saturates(Check):
    """The last step along ``along`` adds at most ``tolerance``."""

    metric: str
    along: str
    tolerance: float
    where: Where | None = None


@dataclass(frozen=True)
class GainGrows(Check):
    """The gain along ``along`` is larger at ``by`` = ``high`` than at ``by`` = ``low``."""

    metric: str
    along: str
    by: str
    low: Any
    high: Any
    where: Where | None = None
    direction: int = 1


@dataclass(frozen=True)
class LosesAtMost(Check):
    """``by`` = ``a`` trails ``by`` = ``b`` by at most ``tolerance``."""

    metric: str
    by: str
    a: Any
    b: Any
    tolerance: float
    where: Where | None = None


@dataclass(frozen=True)
class CostRatio(Check):
    """The ``by`` = ``b`` runs together cost ``expect`` (± ``tolerance``) times the ``by`` = ``a`` run."""

    metric: str
    by: str
    a: Any
    b: Any
    expect: float
    tolerance: float


@dataclass(frozen=True)
class BestColumn(Check):
    """The best budget (the report's column) per row, ``expected``: ``[(where, budget or "max")]``."""

    metric: str
    expected: list
    budgets: list[Any] | None = None


@dataclass(frozen=True)
class Spread(Check):
    """Every pair of configs within ``tolerance``."""

    metric: str
    tolerance: float


@dataclass(frozen=True)
class Above(Check):
    """Every config's value beyond ``threshold`` (per analysis entry with ``per_entry``)."""

    metric: str
    threshold: float = 0.0
    direction: int = 1
    where: Where | None = None
    per_entry: bool = False
    rows: Where | None = None
    reduce: str = "mean"


@dataclass(frozen=True)
class Exceeds(Check):
    """Metric ``a`` above metric ``b`` (or each of ``pairs``: ``{a, b, rows}``)."""

    metric_fields = ("a", "b")
    a: str | None = None
    b: str | None = None
    pairs: list[dict[str, Any]] | None = None
    by: str | None = None
    a_at: Any = None
    b_at: Any = None
    where: Where | None = None
    rows: Where | None = None
    reduce: str = "mean"


@dataclass(frozen=True)
class EntryTrend(Check):
    """An analysis value rising (falling) over the entries of one run."""

    metric: str
    direction: int = 1
    where: Where | None = None


@dataclass(frozen=True)
class Band(Check):
    """Each config's value inside ``[low, high]`` (a number without spread)."""

    metric: str
    low: float
    high: float
    where: Where | None = None


@dataclass(frozen=True)
class IntervalAbove(Check):
    """Each run's own 95% interval of ``metric`` above ``threshold``."""

    metric: str
    threshold: float
    where: Where | None = None
