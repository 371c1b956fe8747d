"""Realized sparsity for a suite part whose runs are not on this machine (issue 24.4).

A part of the scale study or the claims suite may have been run on another machine: its committed
``table.csv`` keeps top-1, loss and dead-unit shares, not the final sparsity, so the report's
"Realized sparsity" section cannot be read from runs. What can be known here:

- the **planned** sparsity of each config: the masks its method and distribution give the model
  at the start (``task=summary``'s ``prunable_sparsity``, no data read). AC/DC, GMP and RigL end
  with a mask of exactly that many weights (top-k by magnitude), so the plan is what a run ends
  at, and it says why a config misses its target (layers the distribution keeps dense);
- the **measured** sparsity, where the table does keep it (AST's sub-nets: the ``sparsity``
  metric per sub-net, the seeds' mean).

``python -m acdc_bench.reports.planned RESULTS_DIR EXPERIMENT`` rewrites such a report's
``Our setup`` line (from its table's swept coordinates) and its ``## Realized sparsity`` section;
``make report-scale-study`` does both for every scale-study part read from its table.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import itertools
import re
import sys
from pathlib import Path
from typing import Any

from acdc_bench.errors import ConfigError
from acdc_bench.reports import exit_status
from acdc_bench.reports.csv_table import coordinate_columns
from acdc_bench.reports.markdown import SETUP_KEYS
from acdc_bench.reports.realized import TARGETED, TOLERANCE
from acdc_bench.reports.sample import SampleError, experiment_yaml, sweep_params
from acdc_bench.reports.scale_data import scalar
from acdc_bench.reports.tables import metric, sort_key

MISSING = "\n## Missing and failed runs"


def points(experiment: str) -> list[tuple[str, ...]]:
    """The part's configs (its sweep without the seed), as override lists."""
    params = {k: v for k, v in sweep_params(experiment_yaml(experiment, [])).items() if k != "seed"}
    keys = list(params)
    return [tuple(f"{k}={v}" for k, v in zip(keys, values, strict=True))
            for values in itertools.product(*(params[k] for k in keys))]


def plan(experiment: str, overrides: tuple[str, ...]) -> dict[str, Any]:
    """``task=summary`` of one config, in this process."""
    from hydra import compose, initialize_config_dir

    from acdc_bench.config import CONF_DIR, register_resolvers
    from acdc_bench.tasks.summary import summary

    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"experiment={experiment}", *overrides])
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return summary(cfg)  # the task's own printing (its JSON, its heading) is not this report's


def _label(overrides: tuple[str, ...]) -> str:
    return ", ".join(o.lstrip("+").split("/")[-1] for o in overrides)


def planned_rows(experiment: str) -> tuple[int, list[list[str]]]:
    """(configs with a target, the rows of those planned more than half a point off it)."""
    checked, rows = 0, []
    for point in points(experiment):
        out = plan(experiment, point)
        if out.get("method") not in TARGETED:
            continue
        checked += 1
        target, got = float(out["sparsity"]), float(out["prunable_sparsity"])
        if abs(got - target) > TOLERANCE:
            dense = (out.get("distribution") or {}).get("keep_dense") or []
            why = (f"the {out['distribution'].get('name')} distribution keeps {', '.join(dense)} dense"
                   if dense else "the distribution's per-layer rounding")
            rows.append([_label(point), f"{100 * target:g}%", f"{100 * got:.1f}%", why])
    return checked, rows


def measured_rows(table_csv: Path) -> tuple[int, list[list[str]]]:
    """From a table that keeps AST's per-sub-net ``sparsity`` (seed means): the sub-nets off target."""
    with table_csv.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("metric") == "sparsity" and r.get("subnet")]
    off = []
    for r in rows:
        target, got = float(r["subnet"]), float(r["ours_mean"]) / metric("sparsity").scale  # table: in %
        if abs(got - target) > TOLERANCE:
            keys = [k for k in coordinate_columns(list(r)) if k != "subnet" and r[k]]
            off.append([", ".join(f"{k}={r[k]}" for k in keys) + f", sub-net {100 * target:g}%",
                        f"{100 * target:g}%", f"{100 * got:.1f}%", "not known (the runs are elsewhere)"])
    return len(rows), off


def section(experiment: str, table_csv: Path) -> list[str]:
    measured, off = measured_rows(table_csv) if table_csv.is_file() else (0, [])
    out = ["", "## Realized sparsity", ""]
    if measured:
        what = ("measured: the seeds' mean final sparsity of each sub-net, from this table (the runs are "
                "not on the machine that wrote this section)")
    else:
        measured, off = planned_rows(experiment)
        what = ("planned: the runs are not on the machine that wrote this section and the table keeps no "
                "final sparsity, so each config's sparsity is the one its masks start with (`acdc-bench "
                "task=summary`, no data read); AC/DC, GMP and RigL end with a mask of exactly that size")
    if not measured:
        return out + ["No config of this sweep has a sparsity target to check (dense or fixed-mask runs)."]
    if not off:
        return out + [f"All {measured} configs with a sparsity target are within {TOLERANCE * 100:g} "
                      f"points of it ({what})."]
    return out + [f"{len(off)} of {measured} configs are more than {TOLERANCE * 100:g} points from their "
                  f"target ({what}):", "", "| config | target | sparsity | why |", "|---|---|---|---|",
                  *(f"| {' | '.join(r)} |" for r in off)]


def splice_realized(table_md: Path, lines: list[str]) -> None:
    """Put ``lines`` as the report's ``## Realized sparsity`` section (replacing one that is there),
    before its missing-runs section."""
    text = table_md.read_text()
    if MISSING not in text:
        raise ValueError(f"{table_md}: no '## Missing and failed runs' section")
    head, tail = text.split(MISSING, 1)
    head = head.split("\n\n## Realized sparsity", 1)[0].rstrip("\n")
    table_md.write_text(head + "\n" + "\n".join(lines) + "\n" + MISSING + tail)


def table_coordinates(table_csv: Path) -> dict[str, list[str]]:
    """The coordinate columns of a committed ``table.csv`` and the values each takes."""
    with table_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    keys = coordinate_columns(list(rows[0]))
    out: dict[str, list[str]] = {}
    for key in keys:
        vals = list(dict.fromkeys(r[key] for r in rows if r[key] != ""))
        out[key] = sorted(vals, key=lambda text: sort_key(scalar(text)))  # numbers first, by value
    return out


def restate_setup(table_md: Path, table_csv: Path) -> None:
    """Rewrite the ``Our setup`` line of a report whose runs are gone: a setting its table sweeps is
    shown with all its values (as ``markdown.setup_line`` shows it from runs)."""
    coords = table_coordinates(table_csv)
    labels = dict([("epochs", "epochs"), *SETUP_KEYS])
    lines = table_md.read_text().split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("Our setup: "):
            continue
        parts = re.split(r", (?![^{]*\})", line[len("Our setup: "):].rstrip("."))  # not inside {..}
        for key, vals in coords.items():
            if key not in labels or len(vals) < 2:
                continue
            swept = f"{labels[key]} {{{', '.join(vals)}}} (swept)"
            own = [j for j, p in enumerate(parts) if _names(p, key, labels[key])]
            if own:
                parts[own[0]] = swept
        lines[i] = "Our setup: " + ", ".join(parts) + "."
    table_md.write_text("\n".join(lines))


def _names(part: str, key: str, label: str) -> bool:
    """Whether one item of a setup line states ``key`` ("8 epochs", "width 0.5", "width {..} (swept)")."""
    if key == "epochs":
        return part.endswith(" epochs") and not part.startswith("1x") or part.startswith("epochs {")
    return part.startswith(label + " ")


def restate(folder: Path, experiment: str) -> None:
    """A committed part report whose runs are gone: setup line and realized sparsity."""
    restate_setup(folder / "table.md", folder / "table.csv")
    splice_realized(folder / "table.md", section(experiment, folder / "table.csv"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m acdc_bench.reports.planned",
                                description=__doc__.splitlines()[0])
    p.add_argument("folder", help="the part's committed report folder, e.g. results/claims_cpu_full/methods")
    p.add_argument("experiment", help="its experiment, e.g. claims/cpu_full_methods")
    args = p.parse_args(argv)
    folder = Path(args.folder)

    def write() -> int:
        if not (folder / "table.md").is_file():
            raise ConfigError("folder", args.folder, "a committed report folder (with its table.md)")
        restate(folder, args.experiment)
        print(folder / "table.md")
        return 0

    return exit_status(write, SampleError)


if __name__ == "__main__":
    sys.exit(main())
