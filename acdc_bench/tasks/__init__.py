"""Task dispatch: ``task=train`` trains and evaluates, ``task=summary`` describes without data,
``task=report`` turns a multirun directory into tables and figures.

A task is one module with one function ``fn(cfg) -> Any``, registered in :data:`TASKS` as
``"module:function"`` and imported only when chosen. ``needs_method``: the method's
``check_config`` runs first (tasks that read finished runs build no method).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from acdc_bench.config import validate


@dataclass(frozen=True)
class Task:
    target: str  # "module:function"
    needs_method: bool = True


TASKS: dict[str, Task] = {
    "train": Task("acdc_bench.tasks.train:train"),
    "summary": Task("acdc_bench.tasks.summary:summary"),
    "report": Task("acdc_bench.tasks.report:report", needs_method=False),
    "analyze": Task("acdc_bench.tasks.analyze:analyze", needs_method=False),
    "transfer": Task("acdc_bench.tasks.transfer:transfer", needs_method=False),
    "speedup": Task("acdc_bench.tasks.speedup:speedup", needs_method=False),
    "artefacts": Task("acdc_bench.tasks.artefacts:artefacts", needs_method=False),
}


def check_task(cfg: DictConfig) -> Task:
    """The checks every task gets before any work (a user error is one line, nothing written);
    the tests call it in-process to see the CLI's messages without starting it."""
    validate(cfg, tasks=sorted(TASKS))
    task = TASKS[cfg.task]
    if task.needs_method:
        from acdc_bench.sparsity.methods import method_class

        method_class(cfg.method.name).check_config(cfg, int(cfg.epochs))
    return task


def run_task(cfg: DictConfig) -> Any:
    task = check_task(cfg)
    module, fn = task.target.split(":")
    return getattr(importlib.import_module(module), fn)(cfg)
