"""A statement's typed check (``artefacts/checks.py``) to its checker (``claims.py``,
``claims_measured.py``), on the type of the record: the record's fields are the checker's
keyword arguments, so what a spec states is exactly what the checker receives."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from acdc_bench.artefacts import checks as C
from acdc_bench.artefacts.spec import Claim
from acdc_bench.reports import claims, claims_measured
from acdc_bench.reports.tables import Entry
from acdc_bench.reports.verdicts import UNCHECKED, Verdict

CHECKERS: dict[type[C.Check], Callable[..., Verdict]] = {
    C.BestAmong: claims.best_among, C.Pairwise: claims.pairwise, C.Monotone: claims.monotone,
    C.Saturates: claims.saturates, C.GainGrows: claims.gain_grows, C.LosesAtMost: claims.loses_at_most,
    C.CostRatio: claims.cost_ratio, C.BestColumn: claims.best_column, C.Spread: claims.spread,
    C.Above: claims.above, C.Exceeds: claims.exceeds, C.EntryTrend: claims.entry_trend,
    C.Band: claims_measured.band, C.IntervalAbove: claims_measured.interval_above,
}
# by the checker's name (``pairwise``, ...): what a claim's ``check`` string said before it was typed
BY_NAME: dict[str, type[C.Check]] = {fn.__name__: cls for cls, fn in CHECKERS.items()}


def checker(record: C.Check) -> Callable[..., Verdict]:
    return CHECKERS[type(record)]


def check_name(record: C.Check) -> str:
    """The checker's name (``pairwise``, ``best_among``, ...)."""
    return checker(record).__name__


def arguments(record: C.Check, aliases: dict[str, str] | None = None) -> dict[str, Any]:
    """The record's fields as the checker's keyword arguments, our metric names put for the
    paper's where ``aliases`` (a twin's ``metric_aliases``) say so."""
    args = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    if aliases:
        for key in record.metric_fields:
            if args.get(key) is not None:
                args[key] = aliases.get(args[key], args[key])
        if args.get("pairs"):
            args["pairs"] = [{**p, "a": aliases.get(p["a"], p["a"]), "b": aliases.get(p["b"], p["b"])}
                             for p in args["pairs"]]
    return args


def check(claim: Claim, es: list[Entry], column: str | None,
          aliases: dict[str, str] | None = None) -> Verdict:
    """The statement's verdict on the entries; ``column``: the report's budget column (``BestColumn``)."""
    if claim.check is None:
        return Verdict(UNCHECKED, "a statement without a numeric check")
    return checker(claim.check)(es, column=column, **arguments(claim.check, aliases))
