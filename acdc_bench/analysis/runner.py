"""Running an analysis over one run or a sweep: ``RUN/analysis/<name>.json``, resumable.

The file is rewritten atomically after every entry. An entry already there, computed with
the same settings, is kept: rerunning after an interruption (or after more runs of a
sweep finished) computes only what is missing. Changed settings start the file over.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from acdc_bench.analysis.base import Analysis
from acdc_bench.checkpoint import atomic_write_text


def result_path(run_dir: Path, name: str) -> Path:
    return Path(run_dir) / "analysis" / f"{name}.json"


def read_result(run_dir: Path, name: str) -> dict[str, Any] | None:
    """A run's stored result of analysis ``name`` (None: none yet, or unreadable)."""
    path = result_path(run_dir, name)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _progress(total: int, enabled: bool | str):
    if not (enabled is True or (enabled == "auto" and sys.stderr.isatty())):
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="analyze", leave=False, dynamic_ncols=True)


def run_analysis(analysis: Analysis, run_dirs: list[Path], progress: bool | str = "auto",
                 log=print) -> dict[Path, dict[str, Any]]:
    """Compute every missing entry of ``analysis`` on ``run_dirs``. Every run's entries are
    listed first, so that a run lacking checkpoints fails in one line before any work."""
    settings = analysis.settings.as_dict()
    plan: list[tuple[Path, list[str], dict[str, Any]]] = []
    for run in run_dirs:
        entries = analysis.entries(run)
        old = read_result(run, analysis.name)
        kept = old["entries"] if old and old.get("settings") == settings else {}
        doc = {"analysis": analysis.name, "settings": settings,
               "entries": {k: v for k, v in kept.items() if k in entries}}
        plan.append((run, [e for e in entries if e not in doc["entries"]], doc))
    todo = sum(len(t) for _, t, _ in plan)
    bar = _progress(todo, progress)
    done_before = sum(len(d["entries"]) for _, _, d in plan)
    if done_before:
        log(f"[analyze] {done_before} entries already computed, {todo} to go")
    out: dict[Path, dict[str, Any]] = {}
    for run, missing, doc in plan:
        path = result_path(run, analysis.name)
        for entry in missing:
            if bar is not None:
                bar.set_postfix_str(f"{run.name} {entry}")
            doc["entries"][entry] = analysis.compute(run, entry)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", path)
            if bar is not None:
                bar.update(1)
        if not missing and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", path)
        out[run] = doc
    if bar is not None:
        bar.close()
    return out
