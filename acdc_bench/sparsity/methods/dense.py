"""Dense training: the baseline every sparse method is compared with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from acdc_bench.sparsity.base import SparsityMethod
from acdc_bench.sparsity.masked import StatsSettings, WeightStats
from acdc_bench.sparsity.masks import prunable_layers


class Dense(SparsityMethod):
    """No masks; the base class's no-op hooks are exactly dense training. It reports the
    same weight metrics as the sparse methods (sparsity from weight decay alone, mask IoU,
    channel sparsity; FLOPs and per-layer densities in ``summary.json``), for comparison."""

    name = "dense"

    @classmethod
    def check_config(cls, cfg: Any, epochs: int) -> None:
        StatsSettings.read(cfg, epochs)

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int, **context: Any):
        super().__init__(cfg, model, epochs, steps_per_epoch, **context)
        self.settings = s = StatsSettings.read(cfg, epochs)
        in_chans, eval_res = self.input_size()
        self.stats = WeightStats(model, prunable_layers(model), in_chans, eval_res,
                                 s.mask_iou_every, s.mask_iou_start)

    def on_epoch_end(self, epoch: int, evaluate: Callable[[], dict[str, float]]) -> dict[str, Any]:
        return self.stats.epoch_row(epoch=epoch)

    def on_train_end(self) -> dict[str, Any]:
        return self.stats.report()

    def state_dict(self) -> dict[str, Any]:
        return {"stats": self.stats.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stats.load_state_dict(state.get("stats", {}))
