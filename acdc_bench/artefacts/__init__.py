"""Every paper artefact, one declarative spec each (``spec.Artefact``), grouped by paper:
``paper000`` (AC/DC), ``paper001_vision`` / ``paper001_analyses`` / ``paper001_language``
(AC/DC++ by the paper's sections), ``paper002`` (AST), and ``suites`` (the claims suite's parts).

The make targets (``make/artefacts.mk``, from :mod:`acdc_bench.artefacts.makefile`), the tests'
artefact list, the reports' published numbers and statements, and the catalogue
(``acdc-bench task=artefacts``, ``make list``) all read :data:`ARTEFACTS`. Adding an artefact is
one spec here plus its experiment YAML (and its ``_cpu`` twin): docs/architecture.md.
"""

from __future__ import annotations

from acdc_bench.artefacts import (
    paper000,
    paper001_analyses,
    paper001_language,
    paper001_vision,
    paper002,
    suites,
)
from acdc_bench.artefacts.spec import SUITE, Artefact, Cell, Claim

__all__ = ["ARTEFACTS", "PUBLISHED", "Artefact", "Cell", "Claim", "by_experiment", "by_target",
           "paper_artefacts"]

ARTEFACTS: tuple[Artefact, ...] = (
    *paper000.ARTEFACTS, *paper001_vision.ARTEFACTS, *paper001_analyses.ARTEFACTS,
    *paper001_language.ARTEFACTS, *paper002.ARTEFACTS, *suites.ARTEFACTS)

# by the name an experiment config's ``report.published`` gives (a paper artefact's experiment)
PUBLISHED: dict[str, Artefact] = {a.name: a for a in ARTEFACTS}
_TARGETS: dict[str, Artefact] = {a.target: a for a in ARTEFACTS if a.target}
if len(PUBLISHED) != len(ARTEFACTS) or len(_TARGETS) != sum(a.target is not None for a in ARTEFACTS):
    raise ValueError("two artefact specs share a name or a make target")


def by_target(target: str) -> Artefact:
    """The artefact ``make <target>`` produces."""
    return _TARGETS[target]


def by_experiment(experiment: str) -> Artefact | None:
    """The artefact an experiment config (or its ``_cpu`` twin) belongs to, or None."""
    for a in ARTEFACTS:
        if experiment in a.configs:
            return a
    return None


def paper_artefacts() -> tuple[Artefact, ...]:
    """The artefacts with a make target of their own (every kind but the suites' parts)."""
    return tuple(a for a in ARTEFACTS if a.kind != SUITE)
