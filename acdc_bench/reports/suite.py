"""Reports that gather several sweeps: the claims suite and the scale study (issue 16).

``python -m acdc_bench.reports.suite claims OUT SWEEP...`` writes each sweep's own report
(``OUT/<part>/table.md`` etc., through :func:`acdc_bench.reports.make_report`) and then
``OUT/README.md``: every statement of every part with its verdict, the deciding difference and
its 95% interval, the seeds behind it, and each part's wall time (first start to last finish of
its runs) and compute time (the runs' own ``elapsed_s`` summed).

``python -m acdc_bench.reports.suite scale OUT SWEEP...`` writes ``OUT/README.md`` and
``OUT/differences.png`` for the scale study: for every sweep (one factor each) and every value
of its factor, the top-1 differences AC/DC − GMP and AC/DC − RigL with their intervals, where
the sign flips, and the dead-unit share at the end (what drives a collapse). The prose a
researcher reads first is the suite folder's ``conclusions.md``, written by whoever ran the study
from these numbers and kept when the report is written again (without it, a placeholder says
what is missing). The claims suite's README carries its ``conclusions.md`` the same way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from acdc_bench.artefacts import ARTEFACTS
from acdc_bench.reports import exit_status, make_report, planned, provenance
from acdc_bench.reports.catalogue import cells
from acdc_bench.reports.layout import Report, load_report
from acdc_bench.reports.markdown import md_table, verdicts
from acdc_bench.reports.plots_scale import plot_points
from acdc_bench.reports.sample import section as sample_reruns
from acdc_bench.reports.scale_data import Part, committed_times, part_from_report, part_from_table
from acdc_bench.reports.scale_points import Point, flips, sign, study_points
from acdc_bench.reports.scale_verdicts import (
    CLAIM,
    part_verdict,
    splice_verdicts,
    verdict_lines,
)
from acdc_bench.reports.scale_width import Fit, width_fits, width_paragraph, width_table


def wall_times(rep: Report) -> tuple[float, float, int]:
    """(wall seconds from the first run's start to the last run's end, summed run seconds,
    finished runs). A run's end is its ``summary.json``'s modification time."""
    spans, total = [], 0.0
    for run in rep.runs:
        if not run.ok or run.job_dir is None:
            continue
        elapsed = float((run.summary or {}).get("elapsed_s") or 0.0)
        end = (run.job_dir / "summary.json").stat().st_mtime
        spans.append((end - elapsed, end))
        total += elapsed
    if not spans:
        return 0.0, 0.0, 0
    return max(e for _, e in spans) - min(s for s, _ in spans), total, len(spans)


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


CONCLUSIONS = "conclusions.md"  # the hand-written reading of a suite's numbers, in its results folder


def conclusions(out: Path) -> str | None:
    """The suite's hand-written conclusions (``OUT/conclusions.md``), or None."""
    path = out / CONCLUSIONS
    return path.read_text().strip() if path.is_file() else None


def committed_verdicts(out: Path, part: str) -> list[list[str]] | None:
    """A part's rows (statement, source, part, verdict, difference, seeds) from its committed
    ``table.md`` (its runs are on another machine), the source from its artefact spec; None when
    there is no such report."""
    table_md = out / part / "table.md"
    if not table_md.is_file():
        return None
    spec = next((a for a in ARTEFACTS if f"{out.name}/{part}" in a.report_dirs), None)
    sources = {c.text: c.source for c in spec.claims} if spec else {}
    lines = table_md.read_text().split("## Verdicts", 1)[-1].split("\n## ", 1)[0].splitlines()
    rows = [cells(ln) for ln in lines if ln.startswith("| ") and not ln.startswith("| statement |")]
    return [[r[0], sources.get(r[0], "-"), part, f"**{r[1]}**", r[2], r[3]] for r in rows if len(r) >= 4]


def claims_readme(out: Path, sweeps: list[Path]) -> str:
    """The claims suite's README: one verdict row per statement, one time row per part. A part whose
    runs are not here keeps its committed report's verdicts and the committed README's times."""
    rows, times, elsewhere = [], [], []
    for sweep in sweeps:
        if not sweep.is_dir():
            kept = committed_verdicts(out, sweep.name)
            if kept is not None:
                rows += kept
                link = f"[{sweep.name}]({sweep.name}/table.md)"
                times.append([link, *(committed_times(out / "README.md", link) or ["-", "-", "-"])])
                elsewhere.append(sweep.name)
            continue
        make_report(sweep, out.parent)  # each part's report.name is <suite>/<part>
        rep = load_report(sweep)
        part = rep.layout.name.split("/")[-1]
        wall, compute, n = wall_times(rep)
        times.append([f"[{part}]({part}/table.md)", str(n), _minutes(wall), _minutes(compute)])
        for claim, v in verdicts(rep):
            rows.append([claim.text, claim.source, part, f"**{v.verdict}**", v.difference, v.seeds])
    text = ["# Claims suite at the largest CPU scale", "",
            "Each statement of the papers, checked on the sweeps of `make claims SCALE=cpu-full` "
            "(conf/experiment/claims/). A statement *holds* when the 95% interval (Welch, seeds of one "
            "config averaged) of every difference it needs is on the claimed side of zero, *fails* when "
            "one is on the other side, and is *inconclusive* otherwise; each part's `table.md` lists "
            "every comparison.", "",
            md_table(["statement", "source", "part", "verdict", "deciding difference [95% CI]", "seeds"],
                     rows), ""]
    reading = conclusions(out)
    if reading:
        text += ["## What the verdicts say", "", reading, ""]
    text += sample_reruns(out)
    text += ["## Wall time", "",
             md_table(["part", "runs finished", "wall time", "compute (sum of runs)"], times), ""]
    if elsewhere:
        text += [f"Parts whose runs are not on the machine that wrote this README: {', '.join(elsewhere)} "
                 "(their rows are their committed reports' verdicts, their times the committed README's).",
                 ""]
    return "\n".join(text)


# ----------------------------------------------------------------------------- scale study
def scale_parts(out: Path, sweeps: list[Path], tables: Path) -> tuple[list[Part], list[str]]:
    """Each part from its runs when its multirun directory is here (its own report written as
    always), else from ``tables/<part>/table.csv`` as committed; and the parts found nowhere."""
    parts, missing = [], []
    for sweep in sweeps:
        if sweep.is_dir():
            make_report(sweep, out.parent)
            rep = load_report(sweep)
            part = part_from_report(rep)
            wall, compute, n = wall_times(rep)
            part.times = [str(n), _minutes(wall), _minutes(compute)]
        elif (tables / sweep.name / "table.csv").is_file():
            part = part_from_table(tables / sweep.name / "table.csv", sweep.name)
            part.times = committed_times(tables / "README.md", sweep.name)
        else:
            missing.append(sweep.name)
            continue
        parts.append(part)
    return parts, missing


def sources_section(parts: list[Part], missing: list[str], sweeps: dict[str, Path]) -> list[str]:
    """Which part was read from its runs and which from a committed table (and which commit)."""
    lines = ["## Where the numbers come from", ""]
    for part in parts:
        if part.source == "runs":
            lines.append(f"- `{part.name}`: its runs (`{sweeps[part.name]}`)")
        else:
            lines.append(f"- `{part.name}`: its runs are not on the machine that wrote this README; read "
                         f"from {part.source} (per config: mean, std and seeds of each metric; Welch "
                         f"intervals from these, to the table's six significant digits)")
    lines += [f"- `{name}`: neither runs nor a committed table: left out" for name in missing]
    return lines + [""]


def scale_readme(points: list[Point], times: list[list[str]], plot: Path | None,
                 reading: str | None = None, width: list[str] | None = None,
                 sources: list[str] | None = None, samples: list[str] = ()) -> str:
    rows = [[p.factor, f"{p.factor_label}: {p.label}" + (" (base)" if p.base else ""),
             f"AC/DC − {p.vs.upper()}",
             f"{p.diff.estimate:+.2f}"
             + (f" [{p.diff.low:+.2f}, {p.diff.high:+.2f}]" if p.diff.bounded else ""),
             sign(p.diff), f"{p.seeds[0]}/{p.seeds[1]}", "-" if p.dead is None else f"{p.dead.mean:.2f}",
             p.parts] for p in points]
    text = ["# Scale study: where does AC/DC overtake GMP and RigL?", "",
            "Top-1 differences at 95% sparsity (points; 95% Welch interval over 3 seeds per config) as each "
            "factor varies, from `make scale-study` (conf/experiment/scale_study/). Every factor includes "
            "the study's base configuration (8 epochs, width 0.5, weight decay 5e-4, one global threshold "
            "for AC/DC and GMP and ERK for RigL, 1-epoch phases, momentum reset of all weights, a 2-epoch "
            "final compression: the length sweep's 8-epoch configs; the phase sweep's base is its own "
            "1-epoch phases at 10 epochs), marked *(base)*. `sign`: + (AC/DC better, interval above 0), − "
            "(worse), 0 (interval contains 0), ? (too few seeds). `dead`: AC/DC's share of zero weights "
            "whose dense gradient is exactly zero at the end (dead units). `from`: the part(s) whose "
            "configs give the difference.",
            "", "## The five-minute read", "",
            reading or f"*(not written yet: {CONCLUSIONS} in this folder says where the ordering flips, "
                       f"if it does, and what drives it)*", "",
            "Sign changes found:", "",
            *(flips(points) or ["- none: no factor flips the ordering in this grid"]), ""]
    if width:
        text += width
    text += ["## Differences", "",
             md_table(["factor", "value", "difference", "points [95% CI]", "sign", "seeds", "dead", "from"],
                      rows), ""]
    if plot is not None:
        text += [f"![differences]({plot.name})", ""]
    text += sources or []
    text += samples
    text += ["## Wall time", "", md_table(["sweep", "runs finished", "wall time", "compute"], times), ""]
    return "\n".join(text)


def width_section(points: list[Point], fits: list[Fit]) -> list[str]:
    if not fits:
        return []
    return ["## Width: the trend", "", width_table(fits), "", width_paragraph(fits, points), ""]


def part_reports(out: Path, parts: list[Part], points: list[Point]) -> list[str]:
    """Each part's ``table.md`` opens with its own verdict (``scale_verdicts``); a part read from its
    committed table gets its setup line restated from the table's swept coordinates and its
    realized-sparsity section from its configs' plan (``planned``). Returns the
    README's section listing the parts' verdicts."""
    rows = []
    for part in parts:
        verdict = part_verdict(points, part.name)
        link = f"[{part.name}]({part.name}/table.md)"
        rows.append([link, f"**{verdict.verdict}**", verdict.difference])
        table_md = out / part.name / "table.md"
        if not table_md.is_file():
            continue
        if part.source != "runs":  # its setup line from its table, its realized sparsity as planned
            planned.restate(out / part.name, f"{out.name}/{part.name}")
        splice_verdicts(table_md, verdict_lines(verdict, out.name))
    return ["## Each part's verdict", "",
            f'Paper 001 Fig. 3\'s "{CLAIM.text}", asked at 95% at every value each part varies (AC/DC − GMP '
            "and AC/DC − RigL at the part's own AC/DC configs; the base configuration in the length part). "
            "The deciding difference is the clearest failure, else the comparison furthest from the claim, "
            "else the weakest that holds.", "",
            md_table(["part", "verdict", "deciding difference [95% CI]"], rows), ""]


def scale_study(out: Path, sweeps: list[Path], tables: Path | None = None) -> str:
    parts, missing = scale_parts(out, sweeps, tables or out)
    pool = [c for part in parts for c in part.configs]
    points = study_points(pool, [p.name for p in parts])
    fits = width_fits(points)
    times = [[p.name, *(p.times or ["-", "-", "-"])] for p in parts]
    plot = plot_points(points, fits, out / "differences.png")
    verdict_section = part_reports(out, parts, points)
    return scale_readme(points, times, plot, conclusions(out), width_section(points, fits) + verdict_section,
                        sources_section(parts, missing, {s.name: s for s in sweeps}), sample_reruns(out))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m acdc_bench.reports.suite",
                                description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=["claims", "scale"])
    p.add_argument("out", help="the suite's results folder, e.g. results/claims_cpu_full")
    p.add_argument("sweeps", nargs="+", help="the parts' multirun directories (missing ones are skipped; "
                   "for `scale`, read from TABLES/<part>/table.csv where that is committed)")
    p.add_argument("--tables", default=None,
                   help="`scale` only: where the committed part tables (<part>/table.csv) and README.md "
                        "are, for parts whose runs are not here (default: OUT)")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sweeps = [Path(s) for s in args.sweeps if Path(s).is_dir()]  # the runs on disk, for the provenance
    parts = [Path(s.rstrip("/")) for s in args.sweeps]

    def write() -> int:
        if args.kind == "claims":
            text = claims_readme(out, parts)
        else:
            text = scale_study(out, parts, Path(args.tables) if args.tables else None)
        (out / "README.md").write_text(provenance.suite_readme(text, out, sweeps))
        print(out / "README.md")
        return 0

    return exit_status(write)


if __name__ == "__main__":
    sys.exit(main())
