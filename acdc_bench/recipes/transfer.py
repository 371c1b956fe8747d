"""The language-model transfer recipes of paper 001 Sec. 4, with AdamW.

- ``dense_transfer`` (Sec. 4.1): all weights trainable, the learning rate decaying linearly
  to 0 over the whole run (after an optional linear warm-up), for the 2-3 epochs of the
  common dense recipe; ``epochs=N`` rescales it (Sec. 4.2, Table 6: the extended 8-epoch
  recipe and the sweep over 1..7 epochs).
- ``gradual_unfreezing`` (Sec. 4.3): embeddings and the encoder's (sparse) linear weights
  frozen; biases, LayerNorms, the pooler and the task head trainable throughout. Epoch 0
  trains just those; each next epoch unfreezes the linear weights of one more transformer
  block, from back to front; once all blocks are unfrozen, ``final_epochs`` more epochs
  train everything (embeddings too unless ``embeddings: frozen``). Within every epoch the
  learning rate decays linearly to 0 and is rewound to its initial value at the next
  epoch's start; no warm-up.

Frozen parameters get no gradient (``requires_grad`` off), so AdamW skips them entirely:
neither their values nor their moments change, bit for bit, while frozen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError
from acdc_bench.recipes.base import Recipe, param_groups

EMBEDDINGS = ("final", "frozen")


@dataclass(frozen=True)
class AdamWSettings:
    lr: float  # the initial (peak) learning rate: optim.lr
    weight_decay: float  # decoupled, on weights only (not biases, LayerNorms)
    betas: tuple[float, float]
    eps: float

    @classmethod
    def read(cls, cfg: Any) -> AdamWSettings:
        betas = V.get(cfg, "recipe.betas")
        pair = list(betas) if V.get(cfg, "recipe.betas") is not V.ABSENT and hasattr(betas, "__len__") else []
        if len(pair) != 2 or not all(V.is_number(b) and 0 <= b < 1 for b in pair):
            raise ConfigError("recipe.betas", pair or None, "[beta1, beta2], each in [0, 1)")
        return cls(lr=float(V.number(cfg, "optim.lr", 0, low_open=True)),
                   weight_decay=float(V.number(cfg, "optim.weight_decay", 0)),
                   betas=(float(pair[0]), float(pair[1])),
                   eps=float(V.number(cfg, "recipe.eps", 0, low_open=True)))


class AdamWRecipe(Recipe):
    """AdamW over every parameter (those frozen in an epoch simply get no gradient then)."""

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int):
        super().__init__(cfg, model, epochs, steps_per_epoch)
        self.adamw = AdamWSettings.read(cfg)

    @classmethod
    def check_config(cls, cfg: Any, epochs: int) -> None:
        super().check_config(cfg, epochs)
        AdamWSettings.read(cfg)

    def optimizer(self) -> torch.optim.Optimizer:
        a = self.adamw
        fused = all(p.device.type == "cuda" for p in self.model.parameters()) or None  # (as SGD's, ffcv.py)
        return torch.optim.AdamW(param_groups(self.model, a.weight_decay), lr=a.lr, betas=a.betas, eps=a.eps,
                                 fused=fused)


class DenseTransfer(AdamWRecipe):
    name = "dense_transfer"

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int):
        super().__init__(cfg, model, epochs, steps_per_epoch)
        self.warmup_steps = round(float(V.number(cfg, "recipe.warmup_epochs", 0)) * self.steps_per_epoch)

    def lr(self, step: int) -> float:
        """Linear warm-up over ``warmup_epochs``, then linear decay to 0 at the end of training
        (``transformers.get_linear_schedule_with_warmup``)."""
        total, warm = self.epochs * self.steps_per_epoch, self.warmup_steps
        if step < warm:
            return self.adamw.lr * step / warm
        return self.adamw.lr * max(0.0, (total - step) / max(1, total - warm))


def unfreezing_plan(epoch: int, blocks: int) -> int:
    """Transformer blocks whose linear weights train in ``epoch`` (0-based): 0 in the first
    epoch (head, biases, LayerNorms only), then one more per epoch, back to front."""
    return min(max(epoch, 0), blocks)


class GradualUnfreezing(AdamWRecipe):
    name = "gradual_unfreezing"
    ddp_find_unused_parameters = True

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int):
        super().__init__(cfg, model, epochs, steps_per_epoch)
        groups = getattr(model, "transfer_groups", None)
        if groups is None:
            raise ConfigError("recipe.name", self.name, f"a recipe for models with transformer blocks "
                              f"({type(model).__name__} has none): ffcv or dense_transfer")
        self.groups = groups()
        self.blocks = len(self.groups.blocks)
        self.embeddings = V.choice(cfg, "recipe.embeddings", list(EMBEDDINGS))
        self.final_epochs = V.integer(cfg, "recipe.final_epochs", low=0)

    @classmethod
    def check_config(cls, cfg: Any, epochs: int) -> None:
        super().check_config(cfg, epochs)
        V.choice(cfg, "recipe.embeddings", list(EMBEDDINGS))
        V.integer(cfg, "recipe.final_epochs", low=0)

    def lr(self, step: int) -> float:
        """Linear decay to 0 within each epoch, rewound at every epoch start (Sec. 4.3)."""
        within = step % self.steps_per_epoch
        return self.adamw.lr * (self.steps_per_epoch - within) / self.steps_per_epoch

    def lr_end(self, epoch: int) -> float:
        """0: every epoch decays to zero (the next one starts again at ``optim.lr``)."""
        return 0.0

    def unfrozen_blocks(self, epoch: int) -> int:
        return unfreezing_plan(epoch, self.blocks)

    def embeddings_trainable(self, epoch: int) -> bool:
        return self.embeddings == "final" and epoch > self.blocks

    @torch.no_grad()
    def on_epoch_start(self, epoch: int) -> None:
        k = self.unfrozen_blocks(epoch)
        for i, weights in enumerate(self.groups.blocks):
            for w in weights:
                w.requires_grad_(i >= self.blocks - k)
        for p in self.groups.embeddings:
            p.requires_grad_(self.embeddings_trainable(epoch))

    def epoch_row(self, epoch: int) -> dict[str, Any]:
        return {"unfrozen_blocks": self.unfrozen_blocks(epoch),
                "embeddings_trainable": self.embeddings_trainable(epoch)}

    def plan(self, epoch: int) -> dict[str, Any]:
        row = super().plan(epoch)
        self.on_epoch_start(epoch)
        row["trainable_params"] = self.trainable_parameters()
        return row
