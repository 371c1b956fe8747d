"""What a training recipe is: the optimizer, the learning rate as a pure function of the
step, the trainable parameters as a pure function of the epoch, and early stopping on an
evaluation metric.

The trainer asks its recipe and never its name (as it asks a method for masks), so the
image recipe of paper 001 App. A (``recipe=ffcv``) and the language-model transfer recipes
of Sec. 4 (``dense_transfer``, ``gradual_unfreezing``) run through one loop. Everything a
recipe decides follows from the step, the epoch and the run's history of evaluation rows,
so resuming needs nothing but what the checkpoint already holds; ``task=summary`` prints
:meth:`Recipe.plan` for every epoch.

Settings are read once into frozen dataclasses with :mod:`acdc_bench.validation`; defaults
live in ``conf/recipe/*.yaml`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError

MODES = ("max", "min")


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on weights only: not on biases and normalisation parameters (1-D tensors)."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@dataclass(frozen=True)
class EarlyStopping:
    """``recipe.early_stopping``: the evaluation metric whose best epoch is the run's result
    (``summary.json``'s ``best``), and ``patience``: stop after this many epochs without a new
    best (null: train every epoch, still report the best one). ``metric: null``: none."""

    metric: str | None
    mode: str
    patience: int | None

    @classmethod
    def read(cls, cfg: Any) -> EarlyStopping:
        metric = V.string(cfg, "recipe.early_stopping.metric", "an evaluation metric (val_...)",
                          nullable=True)
        return cls(metric, V.choice(cfg, "recipe.early_stopping.mode", list(MODES)),
                   V.integer(cfg, "recipe.early_stopping.patience", nullable=True))

    def best_index(self, history: list[dict[str, Any]]) -> int | None:
        """The index of the best row of ``history`` (the first among equals)."""
        if self.metric is None or not history:
            return None
        values = []
        for row in history:
            if self.metric not in row:
                shown = sorted(k for k in row if k.startswith("val_"))
                raise ConfigError("recipe.early_stopping.metric", self.metric,
                                  f"one of the evaluation metrics {shown} or null")
            v = row[self.metric]
            values.append(float("nan") if v is None else float(v))
        sign = 1.0 if self.mode == "max" else -1.0
        best = None
        for i, v in enumerate(values):
            if v == v and (best is None or sign * v > sign * values[best]):
                best = i
        return best

    def should_stop(self, history: list[dict[str, Any]]) -> bool:
        if self.patience is None or not history:
            return False
        best = self.best_index(history)
        return best is not None and len(history) - 1 - best >= self.patience


class Recipe:
    """A recipe over ``model`` for ``epochs`` epochs of ``steps_per_epoch`` steps."""

    name: ClassVar[str] = "recipe"
    # True when some parameters get no gradient in some epochs (DDP must look for them).
    ddp_find_unused_parameters: ClassVar[bool] = False

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int):
        self.cfg, self.model = cfg, model
        self.epochs, self.steps_per_epoch = int(epochs), int(steps_per_epoch)
        self.early_stopping = EarlyStopping.read(cfg)

    @classmethod
    def check_config(cls, cfg: Any, epochs: int) -> None:
        """Raise ``ConfigError`` for settings that cannot work, before any work is done."""
        EarlyStopping.read(cfg)

    # ------------------------------------------------------------------ what the trainer asks
    def optimizer(self) -> torch.optim.Optimizer:
        raise NotImplementedError

    def lr(self, step: int) -> float:
        """The learning rate of global step ``step`` (0-based): a pure function."""
        raise NotImplementedError

    def on_epoch_start(self, epoch: int) -> None:
        """Make the parameters of ``epoch`` trainable (idempotent: also called on resume)."""

    def epoch_row(self, epoch: int) -> dict[str, Any]:
        """What the recipe adds to ``epoch``'s row of ``metrics.jsonl`` (nothing by default)."""
        return {}

    def plan(self, epoch: int) -> dict[str, Any]:
        """``task=summary``'s line for ``epoch``: the LR at its start and end and the rest of
        :meth:`epoch_row`."""
        first = epoch * self.steps_per_epoch
        return {"epoch": epoch, **self.epoch_row(epoch), "lr_start": self.lr(first),
                "lr_end": self.lr_end(epoch)}

    def lr_end(self, epoch: int) -> float:
        """The LR the schedule reaches at the end of ``epoch`` (continuous schedules: the next
        epoch's first LR; the last step itself uses a slightly higher one)."""
        return self.lr((epoch + 1) * self.steps_per_epoch)

    def should_stop(self, history: list[dict[str, Any]]) -> bool:
        """Whether training ends before the next epoch (early stopping)."""
        return self.early_stopping.should_stop(history)

    def summary(self, history: list[dict[str, Any]]) -> dict[str, Any]:
        """Entries for ``summary.json``: the best epoch's row under early stopping (none without)."""
        best = self.early_stopping.best_index(history)
        if best is None:
            return {}
        stopped = len(history) < self.epochs
        return {"best": dict(history[best]), "best_metric": history[best][self.early_stopping.metric],
                "early_stopping": {
            "metric": self.early_stopping.metric, "mode": self.early_stopping.mode,
            "patience": self.early_stopping.patience, "best_epoch": history[best]["epoch"],
            "stopped_after_epoch": history[-1]["epoch"] if stopped else None}}

    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)
