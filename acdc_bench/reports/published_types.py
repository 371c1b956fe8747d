"""The records of the published-numbers tables: a number located on config coordinates
(``Cell``), a statement checked on our runs (``Claim``), one artefact (``Published``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cell:
    where: dict[str, Any]
    values: dict[str, float]
    source: str
    std: dict[str, float] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class Claim:
    text: str
    source: str
    check: str = "none"  # a checker in acdc_bench.reports.claims
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    artefact: str
    setup: str
    cells: tuple[Cell, ...] = ()
    claims: tuple[Claim, ...] = ()
    notes: tuple[str, ...] = ()


def _acc(where: dict[str, Any], top1: float, source: str, label: str = "", std: float | None = None,
         **more: float) -> Cell:
    return Cell(where=where, values={"val_top1": top1, **more}, source=source, label=label,
                std={"val_top1": std} if std is not None else {})
