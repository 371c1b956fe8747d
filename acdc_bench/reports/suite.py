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
from dataclasses import dataclass
from pathlib import Path

from acdc_bench.errors import ConfigError
from acdc_bench.reports import make_report, provenance
from acdc_bench.reports.layout import Report, load_report
from acdc_bench.reports.markdown import md_table, verdicts
from acdc_bench.reports.stats import Interval, welch_interval
from acdc_bench.reports.tables import Entry, fmt_coord, sort_key


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


def claims_readme(out: Path, sweeps: list[Path]) -> str:
    """The claims suite's README: one verdict row per statement, one time row per part."""
    rows, times = [], []
    for sweep in sweeps:
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
    text += ["## Wall time", "",
             md_table(["part", "runs finished", "wall time", "compute (sum of runs)"], times), ""]
    return "\n".join(text)


# ----------------------------------------------------------------------------- scale study
@dataclass
class Point:
    sweep: str  # the factor's name (the sweep's report.name tail)
    factor: str  # the config keys the sweep varies besides the method
    value: str  # their values at this AC/DC config
    vs: str  # gmp | rigl
    diff: Interval
    seeds: tuple[int, int]
    dead: float | None  # AC/DC's zero_grad_share at the end (mean over seeds)


def _factors(rep: Report) -> list[str]:
    """The coordinates the sweep varies besides the method (its report rows and column)."""
    keys = rep.layout.rows + ([rep.layout.column] if rep.layout.column else [])
    return [k for k in keys if k != "method.name"]


def _mean(e: Entry, name: str) -> float | None:
    vals = e.values.get(name, [])
    return sum(vals) / len(vals) if vals else None


def scale_points(rep: Report) -> list[Point]:
    """AC/DC − GMP and AC/DC − RigL (top-1, points) at every AC/DC config of the sweep: against
    the baseline with the same factor values, else against the sweep's only baseline (a factor
    of AC/DC alone, such as its phase length, leaves one GMP and one RigL config)."""
    keys = _factors(rep)
    by_method: dict[str, list[Entry]] = {}
    for e in rep.entries:
        by_method.setdefault(str(e.coords.get("method.name")), []).append(e)

    def label(e: Entry) -> str:
        return ", ".join(fmt_coord(k, e.coords.get(k)) for k in keys) or "-"

    def same(a: Entry, b: Entry) -> bool:
        return all(k in b.coords and b.coords[k] == a.coords.get(k) for k in keys)

    out = []
    name = rep.layout.name.split("/")[-1]
    acdcs = sorted(by_method.get("acdc", []), key=lambda e: tuple(sort_key(e.coords.get(k)) for k in keys))
    for acdc in acdcs:
        for vs in ("gmp", "rigl"):
            base = by_method.get(vs, [])
            match = [b for b in base if same(acdc, b)] or (base if len(base) == 1 else [])
            if not match:
                continue
            a, b = ([100 * v for v in e.values.get("val_top1", [])] for e in (acdc, match[0]))
            out.append(Point(name, "/".join(keys) or "-", label(acdc), vs, welch_interval(a, b),
                             (len(a), len(b)), _mean(acdc, "zero_grad_share")))
    return out


def _sign(d: Interval) -> str:
    if not d.bounded:
        return "?"
    return "+" if d.low > 0 else "−" if d.high < 0 else "0"


def scale_readme(points: list[Point], times: list[list[str]], plot: Path | None,
                 reading: str | None = None) -> str:
    rows = [[p.sweep, f"{p.factor}: {p.value}", f"AC/DC − {p.vs.upper()}",
             f"{p.diff.estimate:+.2f}"
             + (f" [{p.diff.low:+.2f}, {p.diff.high:+.2f}]" if p.diff.bounded else ""),
             _sign(p.diff), f"{p.seeds[0]}/{p.seeds[1]}", "-" if p.dead is None else f"{p.dead:.2f}"]
            for p in points]
    flips = []
    for sweep in dict.fromkeys(p.sweep for p in points):
        for vs in ("gmp", "rigl"):
            seq = [p for p in points if p.sweep == sweep and p.vs == vs]
            signs = [_sign(p.diff) for p in seq]
            if "+" in signs and "−" in signs:
                flips.append(f"- `{sweep}` ({seq[0].factor}): AC/DC − {vs.upper()} changes sign: "
                             + ", ".join(f"{p.value} {s}" for p, s in zip(seq, signs, strict=True)))
    text = ["# Scale study: where does AC/DC overtake GMP and RigL?", "",
            "Top-1 differences at 95% sparsity (points; 95% Welch interval over 3 seeds per config) as each "
            "factor varies, from `make scale-study` (conf/experiment/scale_study/). `sign`: + (AC/DC "
            "better, interval above 0), − (worse), 0 (interval contains 0), ? (too few seeds). `dead`: "
            "AC/DC's share of zero weights whose dense gradient is exactly zero at the end (dead units).",
            "", "## The five-minute read", "",
            reading or f"*(not written yet: {CONCLUSIONS} in this folder says where the ordering flips, "
                       f"if it does, and what drives it)*", "",
            "Sign changes found:", "", *(flips or ["- none: no factor flips the ordering in this grid"]), "",
            "## Differences", "",
            md_table(["factor", "value", "difference", "points [95% CI]", "sign", "seeds", "dead"], rows), ""]
    if plot is not None:
        text += [f"![differences]({plot.name})", ""]
    text += ["## Wall time", "", md_table(["sweep", "runs finished", "wall time", "compute"], times), ""]
    return "\n".join(text)


def plot_points(points: list[Point], path: Path) -> Path | None:
    """One panel per factor: the two differences against the factor's values, with intervals."""
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweeps = list(dict.fromkeys(p.sweep for p in points))
    fig, axes = plt.subplots(1, len(sweeps), figsize=(3.2 * len(sweeps), 3), squeeze=False)
    for ax, sweep in zip(axes[0], sweeps, strict=True):
        for vs, marker in (("gmp", "o"), ("rigl", "s")):
            seq = [p for p in points if p.sweep == sweep and p.vs == vs]
            xs = list(range(len(seq)))
            ys = [p.diff.estimate for p in seq]
            err = [[p.diff.estimate - p.diff.low if p.diff.bounded else 0 for p in seq],
                   [p.diff.high - p.diff.estimate if p.diff.bounded else 0 for p in seq]]
            ax.errorbar(xs, ys, yerr=err, marker=marker, capsize=3, label=f"AC/DC − {vs.upper()}")
            ax.set_xticks(xs, [str(p.value) for p in seq], rotation=30, fontsize=7)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(sweep, fontsize=9)
    axes[0][0].set_ylabel("top-1 difference (points)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def scale_study(out: Path, sweeps: list[Path]) -> str:
    points, times = [], []
    for sweep in sweeps:
        make_report(sweep, out.parent)
        rep = load_report(sweep)
        points += scale_points(rep)
        wall, compute, n = wall_times(rep)
        times.append([rep.layout.name.split("/")[-1], str(n), _minutes(wall), _minutes(compute)])
    return scale_readme(points, times, plot_points(points, out / "differences.png"), conclusions(out))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m acdc_bench.reports.suite",
                                description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=["claims", "scale"])
    p.add_argument("out", help="the suite's results folder, e.g. results/claims_cpu_full")
    p.add_argument("sweeps", nargs="+", help="the parts' multirun directories (missing ones are skipped)")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sweeps = [Path(s) for s in args.sweeps if Path(s).is_dir()]
    try:
        text = (claims_readme if args.kind == "claims" else scale_study)(out, sweeps)
    except ConfigError as err:
        print(f"acdc-bench: error: {err}", file=sys.stderr)
        return 2
    (out / "README.md").write_text(provenance.suite_readme(text, out, sweeps))
    print(out / "README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
