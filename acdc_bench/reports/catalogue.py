"""The catalogue of paper artefacts (``acdc-bench task=artefacts``, ``make list``): every spec's
make target, paper, table or figure, experiment (and its CPU twin), and the verdicts of its
committed reports as they stand in ``results/<report>/table.md`` (counted from the report's
"Verdicts" table; a report written before that section existed is counted from its statements
table)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from acdc_bench.artefacts import ARTEFACTS, Artefact
from acdc_bench.reports.verdicts import FAILS, HOLDS, INCONCLUSIVE, UNCHECKED

ORDER = (HOLDS, FAILS, INCONCLUSIVE, UNCHECKED)
# (section heading, the column that holds each statement's verdict)
SECTIONS = (("## Verdicts", "verdict"), ("## The paper's statements", "on our runs"))


def cells(row: str) -> list[str]:
    """A markdown table row's cells (``\\|`` is a pipe inside a cell)."""
    parts = row.strip().strip("|").replace("\\|", "\0").split("|")
    return [p.replace("\0", "|").strip() for p in parts]


def _column(lines: list[str], heading: str, column: str) -> list[str] | None:
    """The cells of ``column`` in the first table under ``heading``, or None."""
    start = next((i for i, ln in enumerate(lines) if ln.strip().startswith(heading)), None)
    if start is None:
        return None
    table: list[str] = []
    for ln in lines[start + 1:]:
        if ln.startswith("## "):
            break
        if ln.lstrip().startswith("|"):
            table.append(ln)
        elif table:
            break
    if len(table) < 2:
        return None
    header = [h.lower() for h in cells(table[0])]
    if column not in header:
        return None
    k = header.index(column)
    return [c[k] if k < len(c) else "" for c in map(cells, table[2:])]


def verdict_counts(table_md: Path) -> Counter[str] | None:
    """How many statements of a committed report hold, fail, ... (None: no such report)."""
    if not table_md.is_file():
        return None
    lines = table_md.read_text().splitlines()
    for heading, column in SECTIONS:
        cells = _column(lines, heading, column)
        if cells is not None:
            return Counter(c.strip("*_ ").lower() for c in cells)
    return Counter()


def counts_text(counts: Counter[str]) -> str:
    known = [f"{v} {counts.get(v, 0)}" for v in ORDER]
    other = [f"{v} {n}" for v, n in sorted(counts.items()) if v not in ORDER]
    return ", ".join(known + other)


def row(a: Artefact, results: Path) -> list[str]:
    reports = []
    for name in a.report_dirs:
        counts = verdict_counts(results / name / "table.md")
        if counts is not None:
            reports.append(f"{name}: {counts_text(counts)}")
    twin = f" (twin {a.configs[1]})" if a.twin else ""
    target = a.target or f"({a.kind})"
    return [target, a.paper, a.label, f"{a.config}{twin}", "; ".join(reports) or "no report"]


def catalogue(results: str | Path = "results") -> str:
    """One aligned line per artefact, the header first."""
    rows = [["target", "paper", "artefact", "experiment", "committed report: verdicts"]]
    rows += [row(a, Path(results)) for a in ARTEFACTS]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
                     for r in rows) + "\n"
