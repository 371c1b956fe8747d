"""Each scale-study part's own verdict, at the top of its ``table.md``.

The study asks one statement of the papers at every value of every factor: paper 001 Fig. 3's
"AC/DC reaches the highest validation accuracy of the three methods" (the ordering paper 000
Table 1 reports at ResNet-50 scale), here at 95% sparsity. A part's verdict needs the comparisons
of its own AC/DC configs (``Point.parts`` names the AC/DC config's part first): AC/DC − GMP and
AC/DC − RigL, each baseline as the papers configure it (``scale_points.baseline_coords``), with
the Welch intervals the README shows. The study's base configuration is judged in the part that
ran it (the length sweep's 8 epochs), so no comparison is counted twice.

A part read from its committed ``table.csv`` (its runs are on another machine) is judged on the
same moments (its setup line and realized sparsity: ``planned``).
"""

from __future__ import annotations

from pathlib import Path

from acdc_bench.artefacts.suites import SCALE_STUDY
from acdc_bench.reports.markdown import VERDICTS_NOTE, md_table
from acdc_bench.reports.scale_points import FACTORS, Point
from acdc_bench.reports.verdicts import Comparison, Verdict, judge

CLAIM = SCALE_STUDY.claims[0]  # paper 001 Fig. 3: AC/DC reaches the highest top-1 of the three methods
EXPERIMENT = "\nExperiment `"  # the line after a report's verdicts (markdown.render)


def part_comparisons(points: list[Point], part: str) -> list[Comparison]:
    """AC/DC − GMP and AC/DC − RigL at each of the part's own AC/DC configs, in the panel of the
    factor the part varies (the base configuration is a point of every panel: counted once)."""
    own = {f.name for f in FACTORS if part in f.parts}
    return [Comparison(f"AC/DC − {p.vs.upper()} at {p.factor_label}={p.label}", p.diff, p.seeds)
            for p in points if p.factor in own and p.parts.split(" + ")[0] == part]


def part_verdict(points: list[Point], part: str) -> Verdict:
    return judge(part_comparisons(points, part), "comparisons")


def verdict_lines(verdict: Verdict, suite: str) -> list[str]:
    statement = (f'"{CLAIM.text}" ({CLAIM.source}): checked at 95% sparsity at each value this part varies, '
                 "AC/DC against GMP and RigL as the papers configure them (RigL with ERK)")
    return [VERDICTS_NOTE.split(" Every comparison is listed")[0], "",
            md_table(["statement", "verdict", "difference [95% CI]", "seeds"],
                     [[statement, verdict.verdict, verdict.difference, verdict.seeds]]), "",
            f"Every comparison: {verdict.detail}. The suite's README (`results/{suite}/README.md`) reads "
            "this part with the others: every factor with the study's base point, and the width trend."]


def splice_verdicts(table_md: Path, lines: list[str]) -> None:
    """Put ``lines`` as the body of the report's ``## Verdicts`` section (whatever was there)."""
    text = table_md.read_text()
    head, sep, rest = text.partition("## Verdicts\n")
    if not sep or EXPERIMENT not in rest:
        raise ValueError(f"{table_md}: no '## Verdicts' section followed by the experiment line")
    body_end = rest.index(EXPERIMENT)
    table_md.write_text(head + sep + "\n" + "\n".join(lines) + "\n" + rest[body_end:])
