"""The base of every mask-based method: masks, distribution, per-step masking, metrics, state.

A method built on :class:`MaskedMethod` decides *when* and *with which scores* masks change
(its schedule); this class owns *how*: ``prune`` (top-k of scores with the configured
distribution, then weights and their momentum zeroed where masked), ``decompress`` (masks
lifted, momentum of returning weights reset), masking of gradients after backward and of
weights after the optimizer step while ``active``, the sparse metrics of every epoch and
of ``summary.json``, and the checkpoint state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from acdc_bench.config import ConfigError
from acdc_bench.metrics.sparse import channel_sparsity, layer_densities, mask_iou, sparse_report, support
from acdc_bench.sparsity.base import SparsityMethod
from acdc_bench.sparsity.distributions import build_distribution
from acdc_bench.sparsity.masks import MOMENTUM_RESETS, MaskSet, PrunableLayer, prunable_layers


# ---------------------------------------------------------------------- config helpers
def method_int(cfg: Any, key: str, low: int = 0, default: Any = None, nullable: bool = False) -> int | None:
    """``cfg.method.<key>`` as an int >= ``low`` (ConfigError naming the field otherwise)."""
    value = cfg.method.get(key, default)
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"method.{key}", value, f"an integer >= {low}" + (" or null" if nullable else ""))
    return value


def method_float(cfg: Any, key: str, low: float, high: float, default: Any = None, nullable: bool = False,
                 high_open: bool = True, low_open: bool = False) -> float | None:
    """``cfg.method.<key>`` as a number in the given range (ConfigError naming the field otherwise)."""
    value = cfg.method.get(key, default)
    if value is None and nullable:
        return None
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ConfigError(f"method.{key}", value,
                          f"a number in {lo}{low}, {high}{hi}" + (" or null" if nullable else ""))
    return float(value)


def method_choice(cfg: Any, key: str, options: Sequence[str], default: str) -> str:
    value = cfg.method.get(key, default)
    if value not in options:
        raise ConfigError(f"method.{key}", value, f"one of {list(options)}")
    return value


def _pack(bits: Tensor) -> Tensor:
    return torch.from_numpy(np.packbits(bits.cpu().numpy()))


def _unpack(packed: Tensor, n: int, device: torch.device) -> Tensor:
    return torch.from_numpy(np.unpackbits(packed.numpy())[:n].astype(bool)).to(device)


def reset_optimizer_buffers(optimizer: torch.optim.Optimizer | None) -> None:
    """Zero every per-parameter buffer of the optimizer (the AC/DC authors' momentum reset
    when a decompression phase begins)."""
    if optimizer is None:
        return
    with torch.no_grad():
        for p, state in optimizer.state.items():
            for value in state.values():
                if isinstance(value, Tensor) and value.shape == p.shape:
                    value.zero_()


class WeightStats:
    """The sparse metrics of a model's prunable weights: each epoch's ``sparsity``,
    ``mask_iou`` (against the previous epoch's end, null at first), ``channel_sparsity``,
    ``zero_fraction_decompressed``, and at the end the FLOPs / parameters / per-layer
    density report. Every method reports them, the dense baseline included."""

    def __init__(self, model: nn.Module, layers: Sequence[PrunableLayer], in_chans: int, eval_res: int,
                 iou_every: int = 1, iou_start: int = 0):
        self.model, self.layers = model, list(layers)
        # paper 001 Fig. 7 compares masks 10 epochs apart, at the ends of AC/DC's compression
        # phases: method.mask_iou_every=10, method.mask_iou_start=104 for its 1000-epoch plan
        self.iou_every, self.iou_start = iou_every, iou_start
        self.weights = [layer.weight for layer in self.layers]
        self.total = sum(w.numel() for w in self.weights)
        self.in_chans, self.eval_res = in_chans, eval_res
        self.prev_support: Tensor | None = None  # nonzero weights at the end of the previous epoch

    def epoch_row(self, decompression: bool = False, epoch: int | None = None) -> dict[str, Any]:
        """``mask_iou`` compares the support at the end of epochs ``iou_start``, ``iou_start + k``,
        ``iou_start + 2k``, ... (k = ``iou_every``) with the previous such epoch (null elsewhere)."""
        current = support(self.weights)
        sparsity = 1.0 - float(torch.count_nonzero(current)) / self.total
        iou = None
        if epoch is None or epoch >= self.iou_start and (epoch - self.iou_start) % self.iou_every == 0:
            iou = None if self.prev_support is None else mask_iou(current, self.prev_support)
            self.prev_support = current
        return {
            "sparsity": sparsity,
            "mask_iou": iou,
            "zero_fraction_decompressed": sparsity if decompression else None,
            "channel_sparsity": channel_sparsity([layer.weight for layer in self.layers if layer.is_conv]),
        }

    def report(self) -> dict[str, Any]:
        densities = layer_densities(self.weights)
        return sparse_report(self.model, self.layers, densities, self.in_chans, self.eval_res)

    def state_dict(self) -> dict[str, Any]:
        return {"prev_support": None if self.prev_support is None else _pack(self.prev_support)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        prev = state.get("prev_support")
        device = self.weights[0].device
        self.prev_support = None if prev is None else _unpack(prev, self.total, device)


class MaskedMethod(SparsityMethod):
    """Mask-based sparse training over :mod:`acdc_bench.sparsity.masks`.

    Subclasses set ``active`` through :meth:`prune` / :meth:`decompress` from their hooks
    and extend ``schedule``, ``state_dict`` and ``load_state_dict``.
    """

    default_momentum_reset = "returning"

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int, **context: Any):
        super().__init__(cfg, model, epochs, steps_per_epoch, **context)
        self.layers = prunable_layers(model)
        self.masks = MaskSet(self.layers)
        self.distribution = build_distribution(cfg, self.layers)
        self.target_sparsity = self.distribution.target(float(cfg.sparsity))
        self.momentum_reset = method_choice(cfg, "momentum_reset", MOMENTUM_RESETS,
                                            self.default_momentum_reset)
        self.active = False  # masks imposed on gradients and weights at every step
        eval_res = int(context.get("eval_res") or cfg.dataset.eval_res)
        self.stats = WeightStats(model, self.layers, int(cfg.dataset.in_chans), eval_res,
                                 method_int(cfg, "mask_iou_every", low=1, default=1),
                                 method_int(cfg, "mask_iou_start", low=0, default=0))

    # ------------------------------------------------------------------ masks
    @property
    def mask_version(self) -> int:  # type: ignore[override]
        return self.masks.version

    def mask_checksum(self) -> int | None:
        return self.masks.checksum()

    def prune(self, sparsity: float, scores: Sequence[Tensor] | None = None) -> None:
        """Impose masks at ``sparsity``: top-k of ``scores`` (magnitudes by default) with the
        distribution; masked weights and their optimizer buffers become zero."""
        if scores is None:
            self.distribution.select_magnitude(self.masks.weights, sparsity, self.masks.masks)
        else:
            self.distribution.select(scores, sparsity, self.masks.masks)
        self.masks.changed()
        self.masks.apply_to_weights()
        self.masks.mask_momentum(self.optimizer)
        self.active = True

    def decompress(self) -> None:
        """Lift the masks; the weights that come back (zero) get their momentum reset as
        ``method.momentum_reset`` says (returning: theirs; all: every buffer; none)."""
        if self.momentum_reset == "all":
            reset_optimizer_buffers(self.optimizer)
        elif self.momentum_reset == "returning":
            self.masks.zero_momentum(self.optimizer, self.masks.inverted())
        self.masks.fill_(True)
        self.active = False

    def preview_masks(self) -> list[Tensor] | None:
        masks = [torch.empty(w.shape, dtype=torch.bool, device=w.device) for w in self.masks.weights]
        self.distribution.select_magnitude(self.masks.weights, self.target_sparsity, masks)
        return masks

    # ------------------------------------------------------------------ hooks
    def on_train_start(self, optimizer: torch.optim.Optimizer) -> None:
        super().on_train_start(optimizer)
        if self.active:  # masks set before training (RigL) or restored from a checkpoint
            self.masks.apply_to_weights()
            self.masks.mask_momentum(optimizer)

    def after_backward(self, step: int) -> None:
        if self.active:
            self.masks.apply_to_grads()

    def after_optimizer_step(self, step: int) -> None:
        if self.active:
            self.masks.apply_to_weights()

    def is_decompression(self, epoch: int) -> bool:
        """Whether ``epoch`` is in a decompression phase (``zero_fraction_decompressed``)."""
        return False

    def on_epoch_end(self, epoch: int, evaluate: Callable[[], dict[str, float]]) -> dict[str, Any]:
        return self.stats.epoch_row(self.is_decompression(epoch), epoch)

    def on_train_end(self) -> dict[str, Any]:
        return self.stats.report()

    def describe(self) -> dict[str, Any]:
        return {"distribution": self.distribution.describe(), "target_sparsity": self.target_sparsity}

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {"masks": self.masks.state_dict(), "active": self.active, "stats": self.stats.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.masks.load_state_dict(state["masks"])
        self.active = bool(state["active"])
        self.stats.load_state_dict(state["stats"])
