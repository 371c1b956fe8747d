"""GMP: gradual magnitude pruning with the cubic schedule of Zhu & Gupta (paper 001, App. B).

Sparsity rises from 0 (dense) to the target along s_j = s_f * (1 - (1 - j/n)^3), raised
every ``prune_every_epochs`` (5) epochs from ``start_epoch``; the target is reached at the
last pruning epoch at or before ``end_fraction`` (75%) of training, and the mask stays
fixed for the rest (the last quarter, as in RigL). A pruned weight never returns: the
masked weights are exactly zero, so the next magnitude threshold passes them over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError
from acdc_bench.metrics.training_flops import Steps
from acdc_bench.sparsity.masked import MaskedMethod, MaskedSettings
from acdc_bench.sparsity.ramps import cubic_sparsity


def pruning_steps(epochs: int, start: int, every: int, end_fraction: float) -> int:
    """n: the number of sparsity increments that fit before ``end_fraction`` of ``epochs``."""
    return math.floor((end_fraction * epochs - start) / every + 1e-9)


@dataclass(frozen=True)
class GMPSettings(MaskedSettings):
    """The GMP fields, checked, and the number of sparsity increments they give for ``epochs``."""

    start_epoch: int
    prune_every_epochs: int
    end_fraction: float
    pruning_steps: int  # n of the cubic schedule

    @classmethod
    def fields(cls, cfg: Any, epochs: int) -> dict[str, Any]:
        out = super().fields(cfg, epochs)
        if out["distribution"].name == "nm":
            raise ConfigError("distribution.name", "nm", "an unstructured or block distribution for GMP "
                              "(N:M fixes the sparsity, there is nothing to ramp)")
        start = V.integer(cfg, "method.start_epoch", low=0)
        every = V.integer(cfg, "method.prune_every_epochs")
        end = float(V.number(cfg, "method.end_fraction", 0, 1, low_open=True, high_open=False))
        n = pruning_steps(epochs, start, every, end)
        if n < 1:
            raise ConfigError("method.prune_every_epochs", every,
                              f"at most {end} x epochs - method.start_epoch = {end * epochs - start:g} "
                              f"epochs "
                              f"(one sparsity increment before the fixed-mask phase; epochs={epochs})")
        return {**out, "start_epoch": start, "prune_every_epochs": every, "end_fraction": end,
                "pruning_steps": n}


class GMP(MaskedMethod):
    name = "gmp"
    settings_class = GMPSettings

    def pruning_index(self, epoch: int) -> int | None:
        """j when ``epoch`` is the j-th pruning epoch (0..n), else None."""
        s = self.settings
        offset = epoch - s.start_epoch
        if offset < 0 or offset % s.prune_every_epochs:
            return None
        j = offset // s.prune_every_epochs
        return j if j <= s.pruning_steps else None

    def sparsity_at(self, epoch: int) -> float:
        """The sparsity imposed during ``epoch`` (a pure function of the epoch)."""
        s = self.settings
        if epoch < s.start_epoch:
            return 0.0
        j = min((epoch - s.start_epoch) // s.prune_every_epochs, s.pruning_steps)
        return cubic_sparsity(j, s.pruning_steps, self.target_sparsity)

    def schedule(self, epoch: int) -> dict[str, Any]:
        s = self.sparsity_at(epoch)
        return {"phase": "sparse" if s > 0 else "dense", "target_sparsity": s,
                "mask_update": self.pruning_index(epoch) is not None and s > 0}

    def training_steps(self, epoch: int) -> list[Steps]:
        """At the epoch's sparsity, forward and backward (the weights are dense tensors with a
        mask, but a masked weight needs no gradient): RigL counts pruning this way, at the
        current sparsity of the schedule. Dense before the first pruning."""
        return [Steps(self.steps_per_epoch, self.densities_at(self.sparsity_at(epoch)))]

    def on_epoch_start(self, epoch: int) -> None:
        j = self.pruning_index(epoch)
        if j is not None and (s := self.sparsity_at(epoch)) > 0:
            self.prune(s)
