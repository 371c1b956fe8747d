"""``make verify-results``: remake committed reports from clean sweeps and compare them number by number.

A committed report is a claim that its own command makes it. This module checks the claim:
for each target it builds a scratch checkout (symlinks to this one's code, conf and Makefile;
its own empty ``multirun/``, ``runs/`` and ``results/``), runs the report's remake command there
(from the report's provenance section, else ``make <target> SCALE=cpu [SEEDS=N]`` with N the
seeds the committed table asks for), and compares the new report with the committed one:

- ``table.csv`` cell by cell (the same rows in the same order; numbers as written, so exact);
- ``table.md`` number by number, line by line, leaving out what is not a result: the provenance
  section and its top warning, and lines with wall or compute times.

Differences are printed one per line; the exit status is 1 when any report differs or could not be
remade. ``python -m acdc_bench.reports.verify --compare A B`` compares two report folders only.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from acdc_bench.reports.provenance import HEADING, MIXED, make_targets

ROOT = Path(__file__).resolve().parent.parent.parent
# what a scratch checkout shares with this one
LINKED = ("Makefile", "make", "acdc_bench", "conf", "scripts", "pyproject.toml", ".venv")
MARKER = ".acdc-verify"  # a scratch folder this module made (and may empty again)
NUMBER = re.compile(r"[-+−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
VALUE_COLUMNS = ("ours_", "seeds_", "not_finished", "paper", "diff", "source")  # the rest: a row's key
TIME_METRIC = re.compile(r"time|elapsed")  # table.csv metrics that are durations
NOT_RESULTS = re.compile(r"wall|elapsed|compute time|\d+ min \d+ s", re.I)  # times, not numbers of a run


# ----------------------------------------------------------------------------- comparison
def _csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text()))) if path.is_file() else []


def compare_csv(committed: Path, remade: Path) -> list[str]:
    """Every cell of ``table.csv`` that differs (rows with a time metric left out)."""
    a, b = _csv_rows(committed), _csv_rows(remade)
    a, b = ([r for r in rows if not TIME_METRIC.search(r.get("metric", ""))] for rows in (a, b))
    out = []
    if len(a) != len(b):
        out.append(f"table.csv: {len(a)} rows committed, {len(b)} remade")
    for i, (ra, rb) in enumerate(zip(a, b, strict=False)):
        where = ",".join(v for k, v in ra.items() if not k.startswith(VALUE_COLUMNS))[:80]
        for key in dict.fromkeys([*ra, *rb]):
            if ra.get(key) != rb.get(key):
                out.append(f"table.csv row {i + 2} ({where}) {key}: {ra.get(key)!r} committed, "
                           f"{rb.get(key)!r} remade")
    return out


def result_lines(text: str) -> list[str]:
    """``table.md``'s lines that carry results: without blank lines, the provenance section, its
    top warning and lines with times."""
    out, skipping = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            skipping = line.strip() == HEADING
        if skipping or not line.strip() or line.startswith(MIXED) or NOT_RESULTS.search(line):
            continue
        out.append(line)
    return out


def compare_markdown(committed: Path, remade: Path) -> list[str]:
    """Lines of ``table.md`` whose numbers differ, and lines only one of them has (aligned by
    their text with the numbers left out, so that one extra line does not shift all others)."""
    if not committed.is_file() or not remade.is_file():
        return [f"{committed.name}: missing {'committed' if not committed.is_file() else 'remade'}"]
    a, b = result_lines(committed.read_text()), result_lines(remade.read_text())
    skeleton = [[NUMBER.sub("#", line) for line in lines] for lines in (a, b)]
    name, out = committed.name, []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, *skeleton, autojunk=False).get_opcodes():
        if op == "equal":
            out += [f"{name}: committed | {a[i][:160]}\n{'':{len(name)}}     remade | {b[j][:160]}"
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                    if NUMBER.findall(a[i]) != NUMBER.findall(b[j])]
            continue
        out += [f"{name}: only committed | {line[:160]}" for line in a[i1:i2]]
        out += [f"{name}: only remade | {line[:160]}" for line in b[j1:j2]]
    return out


def compare_reports(committed: Path, remade: Path) -> list[str]:
    """Every difference between two report folders' numbers (empty: the same)."""
    return compare_csv(committed / "table.csv", remade / "table.csv") + \
        compare_markdown(committed / "table.md", remade / "table.md")


# ----------------------------------------------------------------------------- remaking
def scratch_checkout(folder: Path | None) -> Path:
    """A folder that runs this checkout's code with its own empty multirun/, runs/, results/."""
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="acdc-verify-"))
    folder = folder.resolve()
    if folder.exists() and any(folder.iterdir()) and not (folder / MARKER).is_file():
        raise SystemExit(f"verify: {folder} exists and is not a scratch folder of make verify-results; "
                         "choose another VERIFY_DIR")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by acdc_bench.reports.verify; emptied on every use\n")
    for name in ("multirun", "runs", "results"):
        subprocess.run(["rm", "-rf", str(folder / name)], check=True)
    for name in LINKED:
        link = folder / name
        if not link.is_symlink() and (ROOT / name).exists():
            link.symlink_to(ROOT / name)
    return folder


def command_of(report: Path, target: str) -> str:
    """The committed report's remake command, else ``make <target> SCALE=cpu [SEEDS=N]``."""
    md = report / "table.md"
    found = re.search(r"Remake from a fresh clone: `([^`]+)`", md.read_text()) if md.is_file() else None
    if found:
        return found.group(1)
    rows = _csv_rows(report / "table.csv")
    asked = [int(r["seeds_asked"]) for r in rows if r.get("seeds_asked", "").isdigit()]
    seeds = max(asked, default=1)
    return f"make {target} SCALE=cpu" + (f" SEEDS={seeds}" if seeds > 1 else "")


def twin_targets() -> dict[str, str]:
    """Makefile target -> committed CPU twin report folder, for every twin with one."""
    targets = make_targets().items()
    return {t: f"{exp}_cpu" for exp, t in targets if (ROOT / "results" / f"{exp}_cpu").is_dir()}


def verify(targets: list[str], scratch: Path | None, log=print) -> int:
    """Remake each target's twin in ``scratch`` and compare; the number of reports that differ or failed."""
    known = twin_targets()
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise SystemExit(f"verify: TARGETS={' '.join(unknown)} is not allowed; expected some of: "
                         f"{' '.join(sorted(known))}")
    folder = scratch_checkout(scratch)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    bad = 0
    for target in targets or sorted(known):
        report = ROOT / "results" / known[target]
        command = command_of(report, target)
        argv = command.split()
        if argv[:1] != ["make"]:
            log(f"{target}: cannot remake with `{command}`")
            bad += 1
            continue
        t0 = time.perf_counter()
        log(f"{target}: `{command}` in {folder}")
        done = subprocess.run(["make", "-o", "setup", *argv[1:]], cwd=folder, env=env, capture_output=True,
                              text=True)
        wall = time.perf_counter() - t0
        diffs = compare_reports(report, folder / "results" / known[target])
        if done.returncode != 0:
            diffs.insert(0, f"the command failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
        bad += bool(diffs)
        log(f"{target}: {'DIFFERS' if diffs else 'same numbers'} ({wall:.0f} s)")
        for d in diffs:
            log(f"  {d}")
    return bad


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m acdc_bench.reports.verify",
                                description=__doc__.splitlines()[0])
    p.add_argument("targets", nargs="*",
                   help="Makefile targets (default: every twin with a committed report)")
    p.add_argument("--scratch", type=Path, default=None, help="scratch folder (default: a new temporary one)")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("COMMITTED", "REMADE"),
                   help="only compare two report folders")
    args = p.parse_args(argv)
    if args.compare:
        diffs = compare_reports(*args.compare)
        for d in diffs:
            print(d)
        print("same numbers" if not diffs else f"{len(diffs)} differences")
        return 1 if diffs else 0
    return 1 if verify(args.targets, args.scratch) else 0


if __name__ == "__main__":
    sys.exit(main())
