"""The scale study's parts as configs with their seeds' moments, from runs or from a committed table.

A part whose runs are on this machine is read from them (``load_report``). A part whose runs
are not (the study ran over several sessions and machines) is read from its committed
``table.csv``: mean, std and seeds per config and metric are all that Welch's interval needs
(``stats.contrast_moments``), so its differences are the ones its runs would give, up to the six
significant digits the table keeps. Where such a part's numbers come from is kept with it (the
table's last commit), so the README can say which parts were read from which commit.

Every config carries the study's full coordinates (``STUDY_KEYS``): its own where its runs or
table give them, else the study's base (``conf/experiment/scale_study/base.yaml`` and the arms):
8 epochs, width 0.5, weight decay 5e-4, one global threshold (RigL: ERK, paper 001 App. B),
1-epoch phases, momentum reset of all weights, 2-epoch final compression. That is what lets one
factor's panel take its base point from another part (the length sweep's 8-epoch configs).
"""

from __future__ import annotations

import csv
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acdc_bench.reports.csv_table import coordinate_columns
from acdc_bench.reports.layout import Report
from acdc_bench.reports.tables import metric

STUDY_BASE: dict[str, Any] = {
    "epochs": 8, "model.width": 0.5, "optim.weight_decay": 5e-4, "distribution.name": "global",
    "method.phase_epochs": 1, "method.momentum_reset": "all", "method.final_compression_epochs": 2}
STUDY_KEYS = tuple(STUDY_BASE)
ACDC_ONLY = ("method.phase_epochs", "method.momentum_reset", "method.final_compression_epochs")
METHOD_BASE: dict[str, dict[str, Any]] = {"rigl": {"distribution.name": "erk"}}  # the papers' RigL
# what a part fixes that its committed table does not list (phase.yaml: 10 epochs); parts read
# from runs take every coordinate from the runs' own configs instead
PART_SETTINGS: dict[str, dict[str, Any]] = {"phase": {"epochs": 10}}


@dataclass(frozen=True)
class Moments:
    """One config's seeds of one metric, in the report's units (top-1 in %)."""

    mean: float
    var: float  # sample variance (n - 1); nan for one seed
    n: int


@dataclass
class Config:
    part: str
    coords: dict[str, Any]  # method.name and every STUDY_KEYS coordinate
    stats: dict[str, Moments]

    @property
    def method(self) -> str:
        return str(self.coords["method.name"])


@dataclass
class Part:
    name: str
    configs: list[Config]
    source: str  # "runs" or where the committed table comes from
    times: list[str] | None = None  # its wall-time row: [runs finished, wall, compute]


def study_coords(method: str, given: dict[str, Any], part: str, from_table: bool) -> dict[str, Any]:
    """``given`` completed with the study's base; AC/DC's own settings are None for the others."""
    out: dict[str, Any] = {"method.name": method}
    fixed = PART_SETTINGS.get(part, {}) if from_table else {}
    for key in STUDY_KEYS:
        if method != "acdc" and key in ACDC_ONLY:
            out[key] = None
        elif given.get(key) is not None:
            out[key] = given[key]
        else:
            out[key] = fixed.get(key, METHOD_BASE.get(method, {}).get(key, STUDY_BASE[key]))
    return out


def moments(values: list[float]) -> Moments:
    n = len(values)
    if n == 0:
        return Moments(math.nan, math.nan, 0)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else math.nan
    return Moments(mean, var, n)


def part_from_report(rep: Report) -> Part:
    name = rep.layout.name.split("/")[-1]
    configs = []
    for e in rep.entries:
        stats = {m: moments([v * metric(m).scale for v in vals]) for m, vals in e.values.items()}
        given = {k: e.group.config.get(k) for k in STUDY_KEYS}
        method = str(e.coords.get("method.name"))
        configs.append(Config(name, study_coords(method, given, name, False), stats))
    return Part(name, configs, "runs")


def scalar(text: str) -> Any:
    if text == "":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def part_from_table(path: Path, name: str) -> Part:
    """A part from its ``table.csv`` (one line per config and metric, as ``csv_table`` writes it)."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    configs: dict[tuple, Config] = {}
    for row in rows:
        if not row.get("ours_mean") or not row.get("seeds_finished"):
            continue
        keys = coordinate_columns(list(row))
        given = {k: scalar(row[k]) for k in keys}
        method = str(given.pop("method.name"))
        ident = (method, *(repr(given[k]) for k in keys if k != "method.name"))
        if ident not in configs:
            configs[ident] = Config(name, study_coords(method, given, name, True), {})
        std = float(row["ours_std"] or "nan")
        configs[ident].stats[row["metric"]] = Moments(float(row["ours_mean"]), std * std,
                                                      int(row["seeds_finished"]))
    return Part(name, list(configs.values()), table_provenance(path))


def table_provenance(path: Path) -> str:
    """Where a committed table comes from: its last commit (hash and date), or why none."""
    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(path.parent), *args, "--", path.name],
                              capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    last = git("log", "-1", "--format=%h (%cs)")
    if not last:
        return f"`{path}`, not in a git history"
    dirty = " with uncommitted changes" if git("status", "--porcelain") else ""
    return f"`{path.name}` as committed in {last}{dirty}"


def committed_times(readme: Path, part: str) -> list[str] | None:
    """A part's row of the ``## Wall time`` table of a committed README (runs, wall, compute)."""
    if not readme.is_file():
        return None
    section = readme.read_text().split("## Wall time", 1)
    for line in section[-1].splitlines() if len(section) == 2 else []:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] == part:
            return cells[1:4]
    return None
