"""RigL: sparse from the start, connections dropped by magnitude and regrown by gradient.

The mask at initialisation draws each layer's kept weights at random, at the layer's
density under the distribution (ERK in paper 001; for global distributions the densities a
magnitude threshold gives the initial weights). Every ``update_interval`` steps (default:
once per epoch, paper 001 App. B) until ``end_fraction`` (75%) of training, each layer drops
the fraction f(t) = alpha/2 * (1 + cos(pi t / T_end)) (alpha = 0.3) of its active weights with
the smallest magnitude and regrows as many inactive ones with the largest dense-gradient
magnitude; the per-layer counts never change. The dense gradient is read only on update
steps (before it is masked). Grown weights start at zero with zero momentum. After T_end
the mask is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError
from acdc_bench.metrics.training_flops import Steps
from acdc_bench.sparsity import scores as S
from acdc_bench.sparsity.distributions import topk_select
from acdc_bench.sparsity.drop_grow import drop_and_grow
from acdc_bench.sparsity.masked import MaskedMethod, MaskedSettings
from acdc_bench.sparsity.ramps import drop_fraction


@dataclass(frozen=True)
class RigLSettings(MaskedSettings):
    """The RigL fields, checked."""

    alpha: float  # the initial drop fraction
    end_fraction: float  # T_end as a fraction of the training steps
    update_interval: int | None  # steps between mask updates; None: once per epoch

    @classmethod
    def fields(cls, cfg: Any, epochs: int) -> dict[str, Any]:
        out = super().fields(cfg, epochs)
        if out["distribution"].name in ("nm", "block4"):
            raise ConfigError("distribution.name", out["distribution"].name,
                              "an unstructured distribution for RigL (global, fld, uniform, erk, gmp_fld)")
        return {**out,
                "alpha": float(V.number(cfg, "method.alpha", 0, 1, low_open=True, high_open=False)),
                "end_fraction": float(V.number(cfg, "method.end_fraction", 0, 1, low_open=True,
                                               high_open=False)),
                "update_interval": V.integer(cfg, "method.update_interval", nullable=True)}


class RigL(MaskedMethod):
    name = "rigl"
    settings_class = RigLSettings

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int, **context: Any):
        super().__init__(cfg, model, epochs, steps_per_epoch, **context)
        # RigL's update period and T_end in steps (paper 001: once per epoch, 75% of training)
        self.alpha = self.settings.alpha
        self.interval = self.settings.update_interval or steps_per_epoch
        self.t_end = max(1, int(self.settings.end_fraction * epochs * steps_per_epoch))
        weights = self.masks.weights
        self.counts = self.distribution.keep_counts(S.magnitude(weights), self.target_sparsity)
        generator = torch.Generator().manual_seed(int(cfg.seed) + 0x5151)
        initial = S.random(weights, generator)
        for score, count, mask in zip(initial, self.counts, self.masks.masks, strict=True):
            topk_select(score, count, mask)
        self.masks.changed()
        # Dense layers (kept dense, or made dense by ERK) never change.
        self.updating = [c < w.numel() for c, w in zip(self.counts, weights, strict=True)]
        self.grow_scores: list[Tensor] | None = None
        self.active = True  # sparse from the first step; weights masked in on_train_start

    def preview_masks(self) -> list[Tensor]:
        return [m.clone() for m in self.masks.masks]

    def is_update_step(self, step: int) -> bool:
        return 0 < step < self.t_end and step % self.interval == 0

    def schedule(self, epoch: int) -> dict[str, Any]:
        step = epoch * self.steps_per_epoch
        return {"phase": "sparse", "target_sparsity": self.target_sparsity,
                "drop_fraction": drop_fraction(step, self.alpha, self.t_end) if step > 0 else 0.0}

    def update_steps(self, start: int, stop: int) -> int:
        """How many of the steps ``start <= step < stop`` are mask updates (``is_update_step``)."""
        lo, hi = max(start, 1), min(stop, self.t_end)
        return max(0, (hi - 1) // self.interval - (lo - 1) // self.interval) if hi > lo else 0

    def training_steps(self, epoch: int) -> list[Steps]:
        """Sparse at the fixed per-layer counts; an update step also computes the dense weight
        gradient (its grow scores): RigL's (3 f_S dT + 2 f_S + f_D) / (dT + 1) per step."""
        spe = self.steps_per_epoch
        updates = self.update_steps(epoch * spe, (epoch + 1) * spe)
        densities = tuple(c / w.numel() for c, w in zip(self.counts, self.masks.weights, strict=True))
        return [s for s in (Steps(spe - updates, densities), Steps(updates, densities, dense_gradient=True))
                if s.count]

    def after_backward(self, step: int) -> None:
        if self.is_update_step(step):
            self.grow_scores = S.gradient_magnitude(self.masks.weights)  # dense gradient, before masking
        super().after_backward(step)

    def after_optimizer_step(self, step: int) -> None:
        super().after_optimizer_step(step)
        if self.grow_scores is not None:
            self.update(step, self.grow_scores)
            self.grow_scores = None

    @torch.no_grad()
    def update(self, step: int, grow_scores: list[Tensor]) -> None:
        """Drop by magnitude, grow by gradient: per layer, keep the largest |w| among active
        weights minus the drop count, then fill back to the layer's count with the largest
        grow scores among the rest (a weight just dropped may be grown again, keeping its value)."""
        f = drop_fraction(step, self.alpha, self.t_end)
        weights, masks = self.masks.weights, self.masks.masks
        old = self.masks.flat.clone()
        drop_and_grow(weights, masks, grow_scores, self.counts, f, self.updating)
        self.masks.changed()
        grown = self.masks.views(self.masks.flat & ~old)
        self.masks.apply_to_weights()  # dropped to zero; grown ones are zero
        self.masks.zero_momentum(self.optimizer, grown)
        self.masks.mask_momentum(self.optimizer)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "counts": list(self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.counts = [int(c) for c in state["counts"]]
        self.updating = [c < w.numel() for c, w in zip(self.counts, self.masks.weights, strict=True)]
