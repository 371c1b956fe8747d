"""``make verify-sample``: rerun one configuration of a suite part, all its seeds, and compare.

The suites (``make claims``, ``make scale-study``) take one to two hours of both cores, so their
committed reports are not remade at every change of the training code. Instead a sample of them
is rerun at the current code and shown identical: one configuration of one part (every seed of
it), run in a scratch checkout exactly as the suite runs it (``hydra/launcher=cores``, one thread
per run), reported by the same code, and its rows of ``table.csv`` compared cell by cell with the
committed ones (mean, std, interval and seed counts to the table's six significant digits; time
metrics aside). The part's other configurations are left out of the rerun by command-line
overrides of its sweep parameters (a value given on the command line replaces the sweep's list).

The configuration: ``--point key=value`` for any sweep parameter, the first value of the sweep's
list for the others, every seed. Differences are printed one per line; the exit status is 1 when
a row differs, is not in the committed table, or the rerun failed. Every sample is recorded in the
suite's folder (``results/<suite>/sample_reruns.tsv``: part, point, rows compared, result, the
training code and commit that reran it, wall time), and the suite's README shows that log in its
section "Sample reruns" (rewritten in place here, and by the suite's report).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from acdc_bench import provenance
from acdc_bench.reports.verify import ROOT, TIME_METRIC, VALUE_COLUMNS, _csv_rows, scratch_checkout

LOG = "sample_reruns.tsv"  # in the suite's results folder
HEADING = "## Sample reruns"
FIELDS = ("date", "part", "point", "rows_compared", "result", "training_code", "commit", "wall_s")


class SampleError(ValueError):
    """A part or point that cannot be sampled (one line: the field, the value, what is allowed)."""


def experiment_yaml(part: str, config_dirs: list[Path]) -> dict:
    """The part's experiment YAML (``<conf>/experiment/<part>.yaml``), read with the safe loader."""
    for conf in [*config_dirs, ROOT / "conf"]:
        path = conf / "experiment" / f"{part}.yaml"
        if path.is_file():
            return yaml.safe_load(path.read_text()) or {}
    raise SampleError(f"PART={part!r}: no conf/experiment/{part}.yaml; expected a suite part such as "
                      "scale_study/width or claims/cpu_full_weight_decay")


def sweep_params(doc: dict) -> dict[str, list[str]]:
    """The part's own sweep parameters, each as its list of values (as written)."""
    params = ((doc.get("hydra") or {}).get("sweeper") or {}).get("params") or {}
    return {str(k): [v.strip() for v in str(v).split(",")] for k, v in params.items()}


def choose_point(params: dict[str, list[str]], chosen: dict[str, str]) -> dict[str, str]:
    """One value per sweep parameter (``chosen``'s, else the first); ``seed`` keeps all its values."""
    for key, value in chosen.items():
        if key not in params:
            raise SampleError(f"POINT {key}={value}: {key} is not a sweep parameter of this part; "
                              f"allowed: {', '.join(k for k in params if k != 'seed')}")
        if value not in params[key]:
            raise SampleError(f"POINT {key}={value}: not among the part's values {','.join(params[key])}")
        if key == "seed":
            raise SampleError("POINT seed=...: the sample always reruns every seed of its configuration")
    return {key: ",".join(values) if key == "seed" else chosen.get(key, values[0])
            for key, values in params.items()}


def _key(row: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in row.items() if not k.startswith(VALUE_COLUMNS))


def compare_rows(committed: Path, remade: Path) -> tuple[int, list[str]]:
    """Rows of ``remade`` (a subset of the configurations) against the committed rows with the same
    key: the number of rows compared and every cell that differs (time metrics left out)."""
    rows = {_key(r): r for r in _csv_rows(committed) if not TIME_METRIC.search(r.get("metric", ""))}
    out, n = [], 0
    for row in _csv_rows(remade):
        if TIME_METRIC.search(row.get("metric", "")):
            continue
        where = ",".join(v for _, v in _key(row))[:80]
        if _key(row) not in rows:
            out.append(f"table.csv ({where}): not in the committed table")
            continue
        n += 1
        old = rows[_key(row)]
        out += [f"table.csv ({where}) {k}: {old.get(k)!r} committed, {row.get(k)!r} remade"
                for k in dict.fromkeys([*old, *row]) if old.get(k) != row.get(k)]
    if n == 0 and not out:
        out.append("table.csv: the rerun made no row to compare")
    return n, out


def record(suite: Path, row: dict[str, str]) -> None:
    """Append one sample's outcome to ``suite/sample_reruns.tsv`` and rewrite the README's section."""
    log = suite / LOG
    new = not log.is_file()
    with log.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, delimiter="\t", lineterminator="\n")
        if new:
            w.writeheader()
        w.writerow(row)
    readme = suite / "README.md"
    if readme.is_file():
        readme.write_text(with_section(readme.read_text(), section(suite)))


def section(suite: Path) -> list[str]:
    """The README section listing every sample rerun of the suite (none: empty)."""
    log = suite / LOG
    rows = list(csv.DictReader(io.StringIO(log.read_text()), delimiter="\t")) if log.is_file() else []
    if not rows:
        return []
    lines = [HEADING, "",
             "The suite's runs are not remade at every change of the training code; instead one "
             "configuration of a part (every seed of it) is rerun in a scratch checkout at the current code "
             "and its rows of the part's `table.csv` compared cell by cell with the committed ones "
             f"(`make verify-sample`; log: `{LOG}`). *same*: every cell equal, so the current code makes "
             "those numbers.", "",
             "| date | part | configuration | rows compared | result | training code | commit | wall |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['date']} | `{r['part']}` | `{r['point']}` | {r['rows_compared']} | **{r['result']}** | "
              f"`{r['training_code']}` | `{(r['commit'] or '-')[:12]}` | {r['wall_s']} s |" for r in rows]
    return lines + [""]


def with_section(text: str, lines: list[str]) -> str:
    """``text`` with its "Sample reruns" section replaced by ``lines`` (or put before "## Wall time",
    else at the end)."""
    if not lines:
        return text
    block = "\n".join(lines) + "\n"
    start = text.find(HEADING + "\n")
    if start >= 0:
        end = text.find("\n## ", start + len(HEADING))
        return text[:start] + block + (text[end + 1:] if end >= 0 else "")
    at = text.find("## Wall time\n")
    if at >= 0:
        return text[:at] + block + text[at:]
    return text.rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n"


def sample(part: str, chosen: dict[str, str], scratch: Path | None = None, jobs: int = 2,
           config_dirs: list[Path] = (), committed: Path | None = None, log=print) -> int:
    """Rerun the point of ``part`` in a scratch checkout and compare; 0 when identical, else 1."""
    doc = experiment_yaml(part, list(config_dirs))
    name = ((doc.get("report") or {}).get("name"))
    if not name:
        raise SampleError(f"PART={part!r}: its YAML names no report.name, so it has no committed table")
    point = choose_point(sweep_params(doc), chosen)
    committed = committed or ROOT / "results" / name / "table.csv"
    if not committed.is_file():
        raise SampleError(f"PART={part!r}: no committed table {committed}")
    folder = scratch_checkout(scratch)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "ACDC_JOBS": str(jobs)}
    dirs = [f"hydra.searchpath=[{','.join('file://' + str(d.resolve()) for d in config_dirs)}]"] \
        if config_dirs else []
    overrides = [f"{k}={v}" for k, v in point.items()]
    log(f"{part}: {' '.join(overrides)} in {folder}")
    t0 = time.perf_counter()
    cli = [sys.executable, "-m", "acdc_bench"]
    done = subprocess.run([*cli, "-m", f"experiment={part}", "hydra/launcher=cores", *dirs, *overrides],
                          cwd=folder, env=env, capture_output=True, text=True)
    if done.returncode == 0:
        done = subprocess.run([*cli, "task=report", f"sweep_dir=multirun/{name}", *dirs,
                               f"hydra.run.dir=runs/report/{name}"], cwd=folder, env=env,
                              capture_output=True, text=True)
    wall = time.perf_counter() - t0
    n, diffs = compare_rows(committed, folder / "results" / name / "table.csv")
    if done.returncode != 0:
        diffs.insert(0, f"the rerun failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
    log(f"{part}: {'DIFFERS' if diffs else 'same numbers'} ({n} rows of {committed} compared; {wall:.0f} s)")
    record(committed.parent.parent, {
        "date": time.strftime("%Y-%m-%d %H:%M"), "part": part,
        "point": " ".join(overrides), "rows_compared": str(n),
        "result": "failed" if done.returncode != 0 else "differs" if diffs else "same",
        "training_code": provenance.code_version(), "commit": provenance.git_commit() or "",
        "wall_s": f"{wall:.0f}"})
    for d in diffs:
        log(f"  {d}")
    return int(bool(diffs))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m acdc_bench.reports.sample",
                                description=__doc__.splitlines()[0])
    p.add_argument("part", help="a suite part: its experiment, e.g. scale_study/width")
    p.add_argument("--point", action="append", default=[], metavar="KEY=VALUE",
                   help="the value of a sweep parameter (default: the first of its list)")
    p.add_argument("--scratch", type=Path, help="scratch folder (default: a new temporary one)")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (one thread each)")
    args = p.parse_args(argv)
    chosen = {}
    for item in args.point:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"sample: POINT {item!r} is not KEY=VALUE", file=sys.stderr)
            return 2
        chosen[key] = value
    try:
        return sample(args.part, chosen, args.scratch, args.jobs)
    except SampleError as e:
        print(f"sample: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
