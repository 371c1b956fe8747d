"""Task dispatch: ``task=train`` trains and evaluates, ``task=summary`` describes without data,
``task=report`` turns a multirun directory into tables and figures.

A task is one module with one function ``fn(cfg) -> Any``, registered in :data:`TASKS` as
``"module:function"`` and imported only when chosen. ``needs_method``: the method's
``check_config`` runs first (tasks that read finished runs build no method). The run's
settings are read once here (``config.validate``); ``takes_settings``: the task is handed them
(``fn(cfg, settings)``) instead of reading ``cfg`` again.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from acdc_bench.config import validate

if TYPE_CHECKING:
    from acdc_bench.settings import RunSettings


@dataclass(frozen=True)
class Task:
    target: str  # "module:function"
    needs_method: bool = True
    takes_settings: bool = False


TASKS: dict[str, Task] = {
    "train": Task("acdc_bench.tasks.train:train", takes_settings=True),
    "summary": Task("acdc_bench.tasks.summary:summary", takes_settings=True),
    "report": Task("acdc_bench.tasks.report:report", needs_method=False),
    "analyze": Task("acdc_bench.tasks.analyze:analyze", needs_method=False),
    "transfer": Task("acdc_bench.tasks.transfer:transfer", needs_method=False),
    "speedup": Task("acdc_bench.tasks.speedup:speedup", needs_method=False, takes_settings=True),
    "artefacts": Task("acdc_bench.tasks.artefacts:artefacts", needs_method=False),
}


def check_task(cfg: DictConfig) -> tuple[Task, RunSettings]:
    """The checks every task gets before any work (a user error is one line, nothing written),
    and the run's settings they read; the tests call it in-process to see the CLI's messages
    without starting it."""
    settings = validate(cfg, tasks=sorted(TASKS))
    task = TASKS[cfg.task]
    if task.needs_method:
        from acdc_bench.sparsity.methods import method_class

        method_class(cfg.method.name).check_config(cfg, settings.trainer.epochs)
    return task, settings


def run_task(cfg: DictConfig) -> Any:
    task, settings = check_task(cfg)
    module, name = task.target.split(":")
    fn = getattr(importlib.import_module(module), name)
    return fn(cfg, settings) if task.takes_settings else fn(cfg)
