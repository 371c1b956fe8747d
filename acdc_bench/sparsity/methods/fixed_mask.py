"""Fixed-mask sparse transfer (paper 001 Sec. 4): the encoder's sparsity pattern is decided
once, before the first step, and never changes.

The mask covers every linear weight of the transformer encoder (the layers pruned upstream,
as in the sparse BERT checkpoints of the paper); the pooler and the task head stay dense.
``method.mask_from``:

- ``upstream``: the zeros of the loaded (sparse pre-trained) weights are the mask;
- ``magnitude``: prune the loaded (dense) encoder to ``sparsity`` by magnitude with the
  configured ``distribution`` (``global`` or ``uniform``) over the encoder's linear weights;
- ``auto``: ``upstream`` when the encoder already has at least ``sparsity`` zeros, else
  ``magnitude``.

From then on the one gradient mask pass of :class:`MaskedMethod` keeps the pruned weights
exactly zero, under SGD (``acdc_bench.sparsity.masks``) and under AdamW with weight decay:
for a pruned weight w = 0 with moments m = v = 0 and masked gradient g = 0, torch's AdamW
computes ``w *= 1 - lr * wd`` (0), ``m = b1 * m + (1 - b1) * g`` (0), ``v = b2 * v + (1 - b2) * g * g``
(0), and steps by ``lr * m_hat / (sqrt(v_hat) + eps)`` = 0 / (0 + eps) = 0 (AMSGrad's running
maximum of v stays 0 too): zeros in, zeros out, at every step, by induction
(``tests/test_text_sparse_transfer.py`` checks it bit for bit). Frozen weights (gradual
unfreezing) get no gradient and are skipped by the optimizer altogether.

``summary.json`` records the encoder's sparsity before transfer (as loaded) and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError
from acdc_bench.metrics.training_flops import Steps
from acdc_bench.sparsity.masked import MaskedMethod, MaskedSettings

MASK_FROM = ("auto", "upstream", "magnitude")


@dataclass(frozen=True)
class FixedMaskSettings(MaskedSettings):
    mask_from: str

    @classmethod
    def fields(cls, cfg: Any, epochs: int) -> dict[str, Any]:
        out = super().fields(cfg, epochs)
        if out["distribution"].name not in ("global", "uniform"):
            raise ConfigError("distribution.name", out["distribution"].name,
                              "global or uniform for method=fixed_mask (over the encoder's linear weights)")
        return {**out, "mask_from": V.choice(cfg, "method.mask_from", list(MASK_FROM))}


def encoder_names(model: nn.Module) -> list[str]:
    groups = getattr(model, "transfer_groups", None)
    if groups is None:
        raise ConfigError("method.name", "fixed_mask", "a method for transformer models (bert_base, "
                          f"bert_tiny); {type(model).__name__} has no encoder blocks")
    return groups().encoder_linear_names


class FixedMask(MaskedMethod):
    name = "fixed_mask"
    settings_class = FixedMaskSettings

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int, **context: Any):
        super().__init__(cfg, model, epochs, steps_per_epoch, **context)
        encoder = set(encoder_names(model))
        self.encoder = [i for i, layer in enumerate(self.layers) if layer.name in encoder]
        others = tuple(layer.name for layer in self.layers if layer.name not in encoder)
        dist = self.settings.distribution
        self.distribution = replace(dist, keep_dense=dist.keep_dense + others).build(self.layers)
        self.sparsity_before = self.encoder_sparsity()
        self.fixed_densities: tuple[float, ...] | None = None  # training_steps, judged once
        self.mask_from = self.settings.mask_from
        if self.mask_from == "auto":
            upstream = self.sparsity_before >= self.target_sparsity - 0.5 / self.encoder_numel()
            self.mask_from = "upstream" if upstream else "magnitude"

    def encoder_numel(self) -> int:
        return sum(self.layers[i].numel for i in self.encoder)

    @torch.no_grad()
    def encoder_sparsity(self) -> float:
        """The fraction of exact zeros among the encoder's linear weights."""
        zeros = sum(int((self.layers[i].weight == 0).sum()) for i in self.encoder)
        return zeros / self.encoder_numel()

    def _masks(self) -> list[Tensor]:
        """The masks the run keeps: the upstream zeros, or a magnitude selection at ``sparsity``."""
        if self.mask_from == "upstream":
            return [(w != 0) if i in self.encoder else torch.ones_like(w, dtype=torch.bool)
                    for i, w in enumerate(self.masks.weights)]
        masks = [torch.empty(w.shape, dtype=torch.bool, device=w.device) for w in self.masks.weights]
        self.distribution.select_magnitude(self.masks.weights, self.target_sparsity, masks)
        return masks

    def on_train_start(self, optimizer: torch.optim.Optimizer) -> None:
        super().on_train_start(optimizer)  # a resumed run: its masks are back and applied
        if not self.active:
            self.masks.copy_(self._masks())
            self.masks.apply_to_weights()
            self.masks.mask_momentum(optimizer)
            self.active = True

    def preview_masks(self) -> list[Tensor] | None:
        return self._masks()

    def schedule(self, epoch: int) -> dict[str, Any]:
        return {"phase": "sparse", "target_sparsity": self.target_sparsity}

    def training_steps(self, epoch: int) -> list[Steps]:
        """Sparse at the fixed mask's densities from the first step (judged once, from the
        loaded weights)."""
        if self.fixed_densities is None:
            self.fixed_densities = tuple(float(m.sum()) / m.numel() for m in self._masks())
        return [Steps(self.steps_per_epoch, self.fixed_densities)]

    def on_epoch_end(self, epoch: int, evaluate: Callable[[], dict[str, float]]) -> dict[str, Any]:
        return {**super().on_epoch_end(epoch, evaluate), "encoder_sparsity": self.encoder_sparsity()}

    def on_train_end(self) -> dict[str, Any]:
        return {**super().on_train_end(), "mask_from": self.mask_from,
                "encoder_sparsity_before": self.sparsity_before,
                "encoder_sparsity_after": self.encoder_sparsity()}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "mask_from": self.mask_from,
                "encoder_sparsity_before": self.sparsity_before}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "sparsity_before": self.sparsity_before, "mask_from": self.mask_from}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.sparsity_before = float(state["sparsity_before"])
        self.mask_from = str(state["mask_from"])
