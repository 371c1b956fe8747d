"""The record of one paper artefact: what ``make <target>`` runs, where its report goes, and the
paper's numbers and statements it is judged against.

A ``Cell`` locates a published number by config coordinates (the dotted keys of the run configs:
``method.name``, ``sparsity``, ``epoch_multiplier``, ...; ``subnet`` is an AST sub-net's target
sparsity) in the paper's units (top-1 in %, parameters in millions). Figures whose values are only
plotted give no cells -- reading numbers off a plot would be inventing them -- but their statements
in the text become ``Claim``s with a typed check (``checks.py``).

Every spec's ``name`` is the key an experiment config's ``report.published`` names (for a paper
artefact: its experiment, whose CPU twin is ``<experiment>_cpu``); the Makefile's targets
(``make/artefacts.mk``, generated), the tests' list and ``acdc-bench task=artefacts`` all come from
the specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from acdc_bench.artefacts.checks import Check

# how ``make <target>`` produces the report (make/artefacts.mk, the Makefile's rules per list)
SWEEP = "sweep"  # the experiment's sweep, then task=report
ANALYZED = "analyzed"  # the sweep, task=analyze (the experiment's analysis=), then task=report
BEYOND = "beyond"  # the upstream sweep (``upstream``), its analysis or fine-tuning, then task=report
SPEEDUP = "speedup"  # task=speedup sweep (no training), then task=report
BERT = "bert"  # BERT on GLUE; SCALE=cpu first trains the upstream models (bert_pretrain_cpu)
SUITE = "suite"  # a part of `make claims` / an upstream sweep: no target of its own
KINDS = (SWEEP, ANALYZED, BEYOND, SPEEDUP, BERT, SUITE)

# a metric read from a run's analysis result: ``@<analysis>:<key>/<key>...``
SHARPNESS = "@sharpness:eigenvalue"  # analysis=sharpness: the top Hessian eigenvalue of the final model


def analysis_metric(name: str) -> tuple[str, list[str]] | None:
    """``@<analysis>:<path>`` as (analysis, path keys); None for any other metric name."""
    if not name.startswith("@"):
        return None
    analysis, _, path = name[1:].partition(":")
    return analysis, path.split("/")


@dataclass(frozen=True)
class Cell:
    where: dict[str, Any]
    values: dict[str, float]
    source: str
    std: dict[str, float] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class Claim:
    """One statement of the paper, its source, and how our runs test it (None: no numeric check,
    the report lists it as not checked)."""

    text: str
    source: str
    check: Check | None = None


@dataclass(frozen=True)
class Artefact:
    """One table or figure of a paper (or a claims-suite part: ``kind`` SUITE, no target)."""

    name: str  # the key report.published names; a paper artefact's experiment config
    target: str | None  # make target (fig3, table1, ast-table1, ...)
    paper: str  # "000", "001", "002" (shared/papers/README.md)
    label: str  # the paper's table or figure: "Table 1", "Fig. 3", "Sec. 1"
    kind: str
    title: str  # the report's heading
    setup: str
    cells: tuple[Cell, ...] = ()
    claims: tuple[Claim, ...] = ()
    notes: tuple[str, ...] = ()
    experiment: str | None = None  # conf/experiment/<experiment>.yaml; None: ``name``
    twin: bool = True  # conf/experiment/<experiment>_cpu.yaml exists (SCALE=cpu)
    upstream: str | None = None  # BEYOND: the target whose sweep is trained first
    reports: tuple[str, ...] = ()  # results/<report>/table.md; () : the experiment's and its twin's

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"artefact {self.name}: kind={self.kind!r} is not one of {KINDS}")
        if (self.target is None) != (self.kind == SUITE):
            raise ValueError(f"artefact {self.name}: a make target exactly when kind is not {SUITE!r}")

    @property
    def config(self) -> str:
        """The experiment config (``conf/experiment/<config>.yaml``)."""
        return self.experiment or self.name

    @property
    def configs(self) -> tuple[str, ...]:
        """The experiment config and its CPU twin."""
        return (self.config, f"{self.config}_cpu") if self.twin else (self.config,)

    @property
    def report_dirs(self) -> tuple[str, ...]:
        """Where its reports are written, under ``results/`` (the twin's first)."""
        return self.reports or tuple(reversed(self.configs))


def acc(where: dict[str, Any], top1: float, source: str, label: str = "", std: float | None = None,
        **more: float) -> Cell:
    """A top-1 cell (and more values at the same point)."""
    return Cell(where=where, values={"val_top1": top1, **more}, source=source, label=label,
                std={"val_top1": std} if std is not None else {})
