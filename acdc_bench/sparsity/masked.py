"""The base of every mask-based method: settings, masks, distribution, per-step masking,
metrics, state.

A method built on :class:`MaskedMethod` decides *when* and *with which scores* masks change
(its schedule); this class owns *how*: ``prune`` (top-k of scores with the configured
distribution, then weights and their momentum zeroed where masked), ``decompress`` (masks
lifted, momentum of returning weights reset), the masks the optimizer step applies to the
gradients while ``active`` (:meth:`MaskedMethod.gradient_masks`; one pass per step, inside the
recipe's SGD: :class:`~acdc_bench.sparsity.masks.MaskSet` says why the weights need none),
the sparse metrics of every epoch and of ``summary.json``, and the checkpoint state.

Settings: each method reads its config once into a frozen dataclass (``settings_class``,
extending :class:`MaskedSettings`), used by ``check_config`` before any work and by
``__init__``; defaults live in ``conf/method/*.yaml`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor, nn

from acdc_bench import validation as V
from acdc_bench.metrics.sparse import (
    channel_sparsity,
    dead_channel_share,
    layer_densities,
    mask_iou,
    sparse_report,
    support,
    zero_gradient_counts,
    zero_gradient_shares,
)
from acdc_bench.sparsity import scores as S
from acdc_bench.sparsity.base import SparsityMethod
from acdc_bench.sparsity.distributions import DistributionSettings
from acdc_bench.sparsity.masks import MOMENTUM_RESETS, MaskSet, PrunableLayer, prunable_layers
from acdc_bench.sparsity.packing import pack_bits, unpack_bits

# ---------------------------------------------------------------------- settings
SettingsT = TypeVar("SettingsT", bound="StatsSettings")


@dataclass(frozen=True)
class StatsSettings:
    """When ``mask_iou`` compares supports: at the end of epochs ``mask_iou_start``,
    ``mask_iou_start + mask_iou_every``, ... (paper 001 Fig. 7 compares masks 10 epochs apart,
    at the ends of AC/DC's compression phases). Every method reports it, dense included."""

    mask_iou_every: int
    mask_iou_start: int

    @classmethod
    def read(cls: type[SettingsT], cfg: Any, epochs: int) -> SettingsT:
        """The settings of ``cfg`` for a run of ``epochs`` (ConfigError naming the field)."""
        return cls(**cls.fields(cfg, epochs))

    @classmethod
    def fields(cls, cfg: Any, epochs: int) -> dict[str, Any]:
        """This class's fields, checked; a subclass adds its own to its parent's."""
        return {"mask_iou_every": V.integer(cfg, "method.mask_iou_every", low=1),
                "mask_iou_start": V.integer(cfg, "method.mask_iou_start", low=0)}


@dataclass(frozen=True)
class MaskedSettings(StatsSettings):
    """The fields every mask-based method reads."""

    sparsity: float  # the target (N:M distributions fix their own)
    distribution: DistributionSettings
    momentum_reset: str  # returning | all | none: the optimizer buffers reset at decompression

    @classmethod
    def fields(cls, cfg: Any, epochs: int) -> dict[str, Any]:
        return {**super().fields(cfg, epochs),
                "sparsity": float(V.number(cfg, "sparsity", 0, 1)),
                "distribution": DistributionSettings.read(cfg),
                "momentum_reset": V.choice(cfg, "method.momentum_reset", MOMENTUM_RESETS)}


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


def following_batchnorm(model: nn.Module, layers: Sequence[PrunableLayer]) -> list[Tensor | None]:
    """For each prunable layer, the scale (gamma) of the BatchNorm that follows it in module
    order when it normalises the layer's outputs (conv -> BN, as every model here is built),
    else None: what ``dead_channel_share`` needs to tell a channel scaled to nothing."""
    by_module = {id(layer.module): i for i, layer in enumerate(layers)}
    scales: list[Tensor | None] = [None] * len(layers)
    last: int | None = None
    for module in model.modules():
        if id(module) in by_module:
            last = by_module[id(module)]
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and last is not None:
            w = layers[last].weight
            if module.weight is not None and module.num_features == w.shape[0] and layers[last].is_conv:
                scales[last] = module.weight
            last = None
    return scales


class WeightStats:
    """The sparse metrics of a model's prunable weights: each epoch's ``sparsity``,
    ``mask_iou`` (against the previous epoch's end, null at first), ``channel_sparsity``,
    ``zero_fraction_decompressed``, the dead-unit metrics (``dead_channel_share``, and when
    ``steps_per_epoch`` is given, ``zero_grad_share`` / ``zero_grad_channel_share`` of the
    epoch's last step: :mod:`acdc_bench.metrics.sparse` defines them), and at the end the
    FLOPs / parameters / per-layer density report. Every method reports them, the dense
    baseline included (without the gradient sample)."""

    def __init__(self, model: nn.Module, layers: Sequence[PrunableLayer], in_chans: int, eval_res: int,
                 iou_every: int, iou_start: int, steps_per_epoch: int | None = None):
        self.model, self.layers = model, list(layers)
        # paper 001 Fig. 7 compares masks 10 epochs apart, at the ends of AC/DC's compression
        # phases: method.mask_iou_every=10, method.mask_iou_start=104 for its 1000-epoch plan
        self.iou_every, self.iou_start = iou_every, iou_start
        self.weights = [layer.weight for layer in self.layers]
        self.total = sum(w.numel() for w in self.weights)
        self.in_chans, self.eval_res = in_chans, eval_res
        self.prev_support: Tensor | None = None  # nonzero weights at the end of the previous epoch
        self.conv = [layer.is_conv for layer in self.layers]
        self.conv_channels = sum(w.shape[0] for w, c in zip(self.weights, self.conv, strict=True) if c)
        self.bn_scales = following_batchnorm(model, self.layers)
        self.steps_per_epoch = steps_per_epoch
        self.grad_sample: Tensor | None = None  # zero_gradient_counts of this epoch's last step (device)

    def sample_gradients(self, step: int) -> None:
        """At the last step of an epoch, count the zero weights whose dense gradient is zero
        (before any mask touches the gradients). Device-side counts only: the host reads them
        in ``epoch_row``, so no step waits for the device."""
        spe = self.steps_per_epoch
        if spe is None or (step + 1) % spe:
            return
        grads = [w.grad for w in self.weights]
        if any(g is None for g in grads):
            return
        self.grad_sample = zero_gradient_counts(self.weights, grads, self.conv)  # type: ignore[arg-type]

    def epoch_row(self, decompression: bool = False, epoch: int | None = None) -> dict[str, Any]:
        """``mask_iou`` compares the support at the end of epochs ``iou_start``, ``iou_start + k``,
        ``iou_start + 2k``, ... (k = ``iou_every``) with the previous such epoch (null elsewhere)."""
        current = support(self.weights)
        sparsity = 1.0 - float(torch.count_nonzero(current)) / self.total
        iou = None
        if epoch is None or epoch >= self.iou_start and (epoch - self.iou_start) % self.iou_every == 0:
            iou = None if self.prev_support is None else mask_iou(current, self.prev_support)
            self.prev_support = current
        convs = [w for w, c in zip(self.weights, self.conv, strict=True) if c]
        scales = [g for g, c in zip(self.bn_scales, self.conv, strict=True) if c]
        row = {
            "sparsity": sparsity,
            "mask_iou": iou,
            "zero_fraction_decompressed": sparsity if decompression else None,
            "channel_sparsity": channel_sparsity(convs),
            "dead_channel_share": dead_channel_share(convs, scales),
        }
        if self.steps_per_epoch is not None:
            row.update(zero_gradient_shares(self.grad_sample, self.conv_channels))
            self.grad_sample = None
        return row

    def report(self) -> dict[str, Any]:
        densities = layer_densities(self.weights)
        return sparse_report(self.model, self.layers, densities, self.in_chans, self.eval_res)

    def state_dict(self) -> dict[str, Any]:
        # the gradient sample rides along (a checkpoint taken after the epoch's last step but
        # before its end, mid-epoch, must not lose it)
        sample = None if self.grad_sample is None else [int(c) for c in self.grad_sample.tolist()]
        return {"prev_support": None if self.prev_support is None else pack_bits(self.prev_support),
                "grad_sample": sample}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        prev = state.get("prev_support")
        device = self.weights[0].device
        self.prev_support = None if prev is None else unpack_bits(prev, self.total, device)
        sample = state.get("grad_sample")
        self.grad_sample = None if sample is None else torch.tensor(sample, dtype=torch.int64, device=device)


class MaskedMethod(SparsityMethod):
    """Mask-based sparse training over :mod:`acdc_bench.sparsity.masks`.

    Subclasses set ``active`` through :meth:`prune` / :meth:`decompress` from their hooks,
    name their ``settings_class`` and extend ``schedule``, ``state_dict`` and ``load_state_dict``.
    """

    settings_class: ClassVar[type[MaskedSettings]] = MaskedSettings

    @classmethod
    def check_config(cls, cfg: Any, epochs: int) -> None:
        cls.settings_class.read(cfg, epochs)

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int, **context: Any):
        super().__init__(cfg, model, epochs, steps_per_epoch, **context)
        self.settings = s = self.settings_class.read(cfg, epochs)
        self.layers = prunable_layers(model)
        self.masks = MaskSet(self.layers)
        self.distribution = s.distribution.build(self.layers)
        self.target_sparsity = self.distribution.target(s.sparsity)
        self.momentum_reset = s.momentum_reset
        self.active = False  # masks imposed on the gradients at every step
        self._densities: dict[float, tuple[float, ...] | None] = {}  # densities_at, by sparsity
        in_chans, eval_res = self.input_size()
        self.stats = WeightStats(model, self.layers, in_chans, eval_res,
                                 s.mask_iou_every, s.mask_iou_start, steps_per_epoch)

    # ------------------------------------------------------------------ masks
    @property
    def mask_version(self) -> int:  # type: ignore[override]
        return self.masks.version

    def mask_checksum(self) -> int | None:
        return self.masks.checksum()

    def prune(self, sparsity: float, scores: Sequence[Tensor] | None = None) -> None:
        """Impose masks at ``sparsity``: top-k of ``scores`` (magnitudes by default) with the
        distribution; masked weights and their optimizer buffers become zero, once, here:
        from then on masking the gradients keeps them zero (``MaskSet``)."""
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

    def densities_at(self, sparsity: float) -> tuple[float, ...] | None:
        """Per-layer densities the distribution gives at ``sparsity`` (None: dense), for the
        training FLOPs (:meth:`training_steps`). Magnitude-based distributions (global, FLD)
        judge the weights at the first call for each sparsity, which the callers make before
        training: with no trained weights, the initial weights' densities stand for them."""
        cache = self._densities
        if sparsity not in cache:
            counts = self.distribution.keep_counts(S.magnitude(self.masks.weights), sparsity)
            cache[sparsity] = None if sparsity <= 0 else tuple(
                c / w.numel() for c, w in zip(counts, self.masks.weights, strict=True))
        return cache[sparsity]

    def preview_masks(self) -> list[Tensor] | None:
        masks = [torch.empty(w.shape, dtype=torch.bool, device=w.device) for w in self.masks.weights]
        self.distribution.select_magnitude(self.masks.weights, self.target_sparsity, masks)
        return masks

    # ------------------------------------------------------------------ hooks
    def on_train_start(self, optimizer: torch.optim.Optimizer) -> None:
        super().on_train_start(optimizer)
        if self.active:  # masks set before training (RigL) or restored from a checkpoint:
            self.masks.apply_to_weights()  # zero what they mask, once (the steps keep it zero)
            self.masks.mask_momentum(optimizer)

    def gradient_masks(self) -> MaskSet | None:
        """The masks while ``active``: the optimizer step masks the gradients with them (one
        pass; :mod:`acdc_bench.sparsity.masks` proves masked weights and momentum stay zero)."""
        return self.masks if self.active else None

    def after_backward(self, step: int) -> None:
        """At an epoch's last step, a sample of the dense gradient (dead units). The masks
        come in at the optimizer step (:meth:`gradient_masks`)."""
        self.stats.sample_gradients(step)

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
