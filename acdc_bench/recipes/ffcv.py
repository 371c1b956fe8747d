"""``recipe=ffcv``: paper 001 App. A, the FFCV ImageNet recipe, for every image run.

SGD with momentum (optionally Nesterov; :class:`~acdc_bench.sparsity.fused_sgd.MaskedSGD`:
torch's SGD, its step applying the method's gradient masks, one compiled loop for plain SGD
on the CPU), weight decay on weights only, the learning rate a
linear warm-up from ``optim.lr_start_fraction`` x peak to ``optim.lr`` at
``optim.lr_peak_epoch`` and a linear decay to 0 at the end of training, set every step
(:func:`acdc_bench.schedules.lr_at_step`). All parameters train in every epoch. The
settings are the ``optim.*`` keys each dataset recipe sets (``conf/dataset/*.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError
from acdc_bench.recipes.base import Recipe, param_groups
from acdc_bench.schedules import lr_at_step
from acdc_bench.sparsity.fused_sgd import MaskedSGD


@dataclass(frozen=True)
class SGDSettings:
    lr: float
    lr_peak_epoch: float
    lr_start_fraction: float
    momentum: float
    nesterov: bool
    weight_decay: float

    @classmethod
    def read(cls, cfg: Any) -> SGDSettings:
        lr = float(V.number(cfg, "optim.lr", 0, low_open=True))
        lr_peak_epoch = float(V.number(cfg, "optim.lr_peak_epoch", 0))
        lr_start_fraction = float(V.number(cfg, "optim.lr_start_fraction", 0, 1, high_open=False))
        momentum = float(V.number(cfg, "optim.momentum", 0, 1))
        nesterov = bool(V.boolean(cfg, "optim.nesterov"))
        if nesterov and momentum == 0:
            raise ConfigError("optim.nesterov", True,
                              "false when optim.momentum is 0 (Nesterov needs momentum)")
        return cls(lr=lr, lr_peak_epoch=lr_peak_epoch, lr_start_fraction=lr_start_fraction, momentum=momentum,
                   nesterov=nesterov, weight_decay=float(V.number(cfg, "optim.weight_decay", 0)))


class FFCV(Recipe):
    name = "ffcv"

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int):
        super().__init__(cfg, model, epochs, steps_per_epoch)
        self.settings = SGDSettings.read(cfg)

    @classmethod
    def check_config(cls, cfg: Any, epochs: int) -> None:
        super().check_config(cfg, epochs)
        SGDSettings.read(cfg)

    def optimizer(self) -> torch.optim.Optimizer:
        o = self.settings
        # On a GPU torch's fused kernel: it reads the loss scaler's inf flag on the device, where
        # with foreach SGD GradScaler.step reads it back to the host at every step. MaskedSGD
        # takes the masks' own pass before a fused step (its compiled loop is CPU-only).
        fused = all(p.device.type == "cuda" for p in self.model.parameters()) or None
        return MaskedSGD(param_groups(self.model, o.weight_decay), lr=o.lr, momentum=o.momentum,
                         nesterov=o.nesterov, fused=fused)

    def lr(self, step: int) -> float:
        o = self.settings
        return lr_at_step(step, self.steps_per_epoch, self.epochs, o.lr, o.lr_peak_epoch, o.lr_start_fraction)
