"""``make/artefacts.mk`` from the specs: each target's experiment (``EXP_<target>``) and the lists
the Makefile's rules are written over (``PAPER_TARGETS``, ``ANALYZED``, ``SPEEDUP_TARGETS``,
``BEYOND_TARGETS``, ``BERT_TARGETS``) and a suite's parts
(``SCALE_STUDY_PARTS``). The file is committed so that ``make`` needs no Python to
read it; ``tests/test_artefacts.py`` checks it equals :func:`makefile_text`, and
``python -m acdc_bench.artefacts make > make/artefacts.mk`` writes it again."""

from __future__ import annotations

from collections.abc import Iterable

from acdc_bench.artefacts.spec import ANALYZED, BERT, BEYOND, SPEEDUP, SUITE, SWEEP, Artefact

MK_PATH = "make/artefacts.mk"
REGENERATE = "python -m acdc_bench.artefacts make > make/artefacts.mk"
# the Makefile's list of each kind: PAPER_TARGETS get `make <t>` (sweep, analysis when ANALYZED, report)
LISTS: dict[str, tuple[str, ...]] = {
    "PAPER_TARGETS": (SWEEP, ANALYZED, SPEEDUP),
    "ANALYZED": (ANALYZED,),
    "SPEEDUP_TARGETS": (SPEEDUP,),
    "BEYOND_TARGETS": (BEYOND,),
    "BERT_TARGETS": (BERT,),
}


def _assign(name: str, words: list[str], width: int = 100) -> list[str]:
    """``NAME := a b c`` wrapped into ``NAME += ...`` lines of at most ``width`` characters."""
    out, line = [], f"{name} :="
    for w in words:
        if len(line) + 1 + len(w) > width and not line.endswith(":="):
            out.append(line)
            line = f"{name} +="
        line += f" {w}"
    return out + [line]


def makefile_text(artefacts: Iterable[Artefact]) -> str:
    artefacts = list(artefacts)
    arts = [a for a in artefacts if a.target]
    lines = ["# Generated from acdc_bench/artefacts/ (one spec per paper artefact): do not edit; rewrite it:",
             f"#   {REGENERATE}",
             "# (or `acdc-bench task=artefacts format=make`); tests/test_artefacts.py checks it is current.",
             "# EXP_<target>: the experiment `make <target>` runs (SCALE=cpu: <experiment>_cpu).", ""]
    paper = ""
    for a in arts:
        if a.paper != paper:
            paper = a.paper
            lines.append(f"# paper {paper}")
        lines.append(f"EXP_{a.target} := {a.config}")
    lines.append("")
    for name, kinds in LISTS.items():
        lines += _assign(name, [a.target for a in arts if a.kind in kinds and a.target])
    for a in artefacts_with_parts(artefacts):  # a suite of several parts: the folders its make rule runs
        lines += _assign(f"{a.name.upper()}_PARTS", [r.split("/")[-1] for r in a.reports])
    return "\n".join(lines) + "\n"


def artefacts_with_parts(artefacts: Iterable[Artefact]) -> list[Artefact]:
    """Suites whose one spec names several part reports (the scale study: ``SCALE_STUDY_PARTS``)."""
    return [a for a in artefacts if a.kind == SUITE and len(a.reports) > 1]
