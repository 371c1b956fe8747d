"""The model and the sparsity method of a run, built one way for the trainer, ``task=summary``,
``task=speedup`` and the analyses that rebuild a finished run.

Why one place: what a run's model is (its name, classes and channels, the method's
``prepare_model``, the device, channels-last) and what its method is told (epochs, steps per
epoch, the evaluation resolution and input channels its FLOPs are counted at) must not drift
between the run that trained and the tools that describe or reload it. The order of the steps
is the trainer's, RNG draws included (seed, model, recipe, optimizer, method), so every caller
gets the numbers training got. Settings come in read (:class:`~acdc_bench.settings.RunSettings`,
or a finished run's :class:`~acdc_bench.data.datasets.DataSettings` and
:class:`~acdc_bench.models.ModelSettings`); nothing here reads ``cfg.dataset`` or ``cfg.model``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from acdc_bench.data.datasets import DataSettings
from acdc_bench.models import ModelSettings
from acdc_bench.settings import RunSettings
from acdc_bench.trainer.run_state import seed_everything

CPU = torch.device("cpu")


def build_model(cfg: Any, data: DataSettings, model: ModelSettings, *, device: torch.device = CPU,
                seed: int | None = None, num_classes: int | None = None, in_chans: int | None = None,
                channels_last: bool = False) -> nn.Module:
    """The run's model on ``device``: seeded first when ``seed`` is given (a fresh model, as
    training initialises it; a model about to receive a checkpoint's weights needs none),
    passed through the method's ``prepare_model``, channels-last when asked. ``num_classes``
    and ``in_chans``: the loaders' when the trainer has them, else the data settings'."""
    from acdc_bench.models import create_model
    from acdc_bench.sparsity.methods import method_class

    if seed is not None:
        seed_everything(seed)
    net = create_model(model, data.num_classes if num_classes is None else num_classes,
                       data.in_chans if in_chans is None else in_chans).to(device)
    net = method_class(cfg.method.name).prepare_model(cfg, net)  # before any optimizer sees it
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net


def build_method(cfg: Any, data: DataSettings, model: nn.Module, epochs: int, steps_per_epoch: int, *,
                 device: torch.device = CPU, run_dir: Path | None = None, is_main: bool = False,
                 cls: type | None = None) -> Any:
    """The run's sparsity method over ``model`` (``cls``: another method class than the config's,
    e.g. the plain mask toolkit an analysis prunes with), its FLOPs counted at the data
    settings' evaluation resolution and input channels."""
    from acdc_bench.sparsity.methods import method_class

    cls = method_class(cfg.method.name) if cls is None else cls
    return cls(cfg, model, int(epochs), int(steps_per_epoch), run_dir=run_dir, is_main=is_main, device=device,
               eval_res=data.eval_res, in_chans=data.in_chans)


@dataclass
class Built:
    """A run's parts before its first step: the model, the recipe (with the optimizer when one
    was asked for) and the method."""

    model: nn.Module
    recipe: Any
    optimizer: torch.optim.Optimizer | None
    method: Any


def build(cfg: Any, settings: RunSettings, steps_per_epoch: int, *, device: torch.device = CPU,
          num_classes: int | None = None, in_chans: int | None = None, channels_last: bool = False,
          optimizer: bool = False, run_dir: Path | None = None, is_main: bool = True) -> Built:
    """Seed, model, recipe, the recipe's optimizer (``optimizer``: the trainer's; a summary
    needs none), method: the trainer's order, so a summary's masks are the run's."""
    from acdc_bench.recipes import build_recipe

    epochs = settings.trainer.epochs
    model = build_model(cfg, settings.data, settings.model, device=device, seed=settings.trainer.seed,
                        num_classes=num_classes, in_chans=in_chans, channels_last=channels_last)
    recipe = build_recipe(cfg, model, epochs, steps_per_epoch)
    opt = recipe.optimizer() if optimizer else None
    method = build_method(cfg, settings.data, model, epochs, steps_per_epoch, device=device, run_dir=run_dir,
                          is_main=is_main)
    return Built(model, recipe, opt, method)
