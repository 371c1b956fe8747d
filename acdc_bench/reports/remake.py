"""``make remake-results``: remake the committed CPU twin reports in place, all by one training code.

Issue 25 asks that every committed report come from the training code that is checked in, so that
its own command reproduces it from a fresh clone (``make verify-results`` checks that). Remaking all
twins takes hours of both cores, more than one session has, so this runs resumably, across sessions:

- a report whose provenance names exactly the current training-code version, with no mixed-code
  warning, is done and skipped;
- otherwise its sweep folder (and its upstream's: the BERT twins' pre-trained models, the transfer
  twins' upstream sweep) is started clean: a folder this module started for the current version
  (its marker file) is resumed; any other is moved aside to ``<folder>.before-<version>``, never
  deleted (run folders are shared data), so the resume guard never mixes two versions;
- each remake's command, wall time, exit status and the load average around it are appended to
  ``results/remake_times.tsv`` (wall times are only comparable on an idle machine: the load says).

``python -m acdc_bench.reports.remake --dry-run`` lists what would run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from acdc_bench.provenance import code_version
from acdc_bench.reports.provenance import HEADING, MIXED
from acdc_bench.reports.verify import ROOT, command_of, twin_targets

TIMES = "remake_times.tsv"
# sweeps a twin's target trains first and reads (the Makefile's prerequisites of those targets)
UPSTREAM = {**dict.fromkeys(("table6", "table7", "fig11", "fig12"), "bert_pretrain_cpu"),
            **dict.fromkeys(("tableF5", "figF1"), "figG2_corruptions_cpu")}


def report_versions(report: Path) -> tuple[set[str], bool]:
    """The training-code versions a committed report's provenance names, and its mixed-code flag."""
    md = report / "table.md"
    text = md.read_text() if md.is_file() else ""
    if HEADING not in text:
        return set(), False
    section = text.split(HEADING, 1)[1]
    line = next((ln for ln in section.splitlines() if ln.startswith("- Training code")), "")
    return set(line.split("`")[1::2]), MIXED in text


def is_current(report: Path, version: str) -> bool:
    versions, mixed = report_versions(report)
    return versions == {version} and not mixed


def marker(folder: Path, version: str) -> Path:
    return folder / f".remake-{version}"


def start_clean(folder: Path, version: str, log=print) -> None:
    """Make ``folder`` a sweep of ``version`` only: resume ours, move anything else aside."""
    if folder.exists() and not marker(folder, version).is_file():
        aside = folder.with_name(f"{folder.name}.before-{version}")
        n = 1
        while aside.exists():
            n += 1
            aside = folder.with_name(f"{folder.name}.before-{version}.{n}")
        folder.rename(aside)
        log(f"  moved {folder} aside to {aside.name} (not started by this remake)")
    folder.mkdir(parents=True, exist_ok=True)
    marker(folder, version).write_text("started by acdc_bench.reports.remake for this training code\n")


def remake(targets: list[str], dry_run: bool = False, root: Path = ROOT, log=print) -> int:
    """Remake each target's twin report in ``root``; the number of remakes that failed."""
    known = twin_targets()
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise SystemExit(f"remake: TARGETS={' '.join(unknown)} is not allowed; expected some of: "
                         f"{' '.join(sorted(known))}")
    version, failed = code_version(), 0
    for target in targets or sorted(known):
        report = root / "results" / known[target]
        command = command_of(report, target)
        if is_current(report, version):
            log(f"{target}: made by training code {version} already; skipped")
            continue
        log(f"{target}: {'would run' if dry_run else 'running'} `{command}`")
        if dry_run:
            continue
        for name in filter(None, [UPSTREAM.get(target), known[target]]):
            start_clean(root / "multirun" / name, version, log)
        load0, t0 = os.getloadavg()[0], time.perf_counter()
        done = subprocess.run(command.split(), cwd=root)
        wall, load1 = time.perf_counter() - t0, os.getloadavg()[0]
        failed += done.returncode != 0
        times = root / "results" / TIMES
        if not times.is_file():
            times.write_text("target\tcommand\twall_s\texit\tload_before\tload_after\ttraining_code\tdate\n")
        with times.open("a") as f:
            f.write(f"{target}\t{command}\t{wall:.0f}\t{done.returncode}\t{load0:.2f}\t{load1:.2f}\t{version}\t"
                    f"{time.strftime('%Y-%m-%d %H:%M')}\n")
        log(f"{target}: exit {done.returncode} in {wall:.0f} s")
    return failed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m acdc_bench.reports.remake",
                                description=__doc__.splitlines()[0])
    p.add_argument("targets", nargs="*",
                   help="Makefile targets (default: every twin with a committed report)")
    p.add_argument("--dry-run", action="store_true", help="list what would run")
    args = p.parse_args(argv)
    return 1 if remake(args.targets, args.dry_run) else 0


if __name__ == "__main__":
    sys.exit(main())
