"""Training FLOPs of a run, counted as RigL counts them (Evci et al. 2020, App. H), from the
method's schedule alone: no data is read and nothing is trained.

Only convolution and linear layers count, one multiply-add being 2 FLOPs
(:mod:`acdc_bench.metrics.flops`). One image through a training step costs its forward
f_S (each layer's multiply-adds times its current density) plus a backward of 2 f_S (the
gradient of the layer's input and of its weights, both as sparse as the forward). A step
that needs the dense gradient of the weights (RigL's and AST's mask updates grow by
|grad|) pays f_S + f_D for its backward instead, and a dense step (warm-up, AC/DC's
decompression, GMP before its first pruning) is 3 f_D. Mask selection and the optimizer are
left out, as RigL leaves them out.

A method describes its steps (:meth:`acdc_bench.sparsity.base.SparsityMethod.training_steps`,
a pure function of its schedule) as :class:`Steps`; :func:`training_flops` integrates them
over the epochs at each epoch's training resolution. The fraction is over dense training of
the same model on the same steps, images and resolutions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from acdc_bench.metrics.flops import Layer, layer_macs


@dataclass(frozen=True)
class Steps:
    """``count`` training steps that cost the same: a forward at ``densities`` (one per
    prunable layer, in ``prunable_layers`` order; None: dense) and a backward that computes
    the dense weight gradient when ``dense_gradient``. ``part`` names whom the steps train
    when a run trains several models (AST: the sub-net's key), so each gets its share."""

    count: int
    densities: tuple[float, ...] | None = None
    dense_gradient: bool = False
    part: str | None = None


def step_flops(macs: Sequence[int], steps: Steps) -> float:
    """FLOPs of one image through one of ``steps``, given each layer's dense multiply-adds."""
    dense = float(sum(macs))
    if steps.densities is None:
        sparse = dense
    else:
        sparse = float(sum(m * d for m, d in zip(macs, steps.densities, strict=True)))
    backward = sparse + (dense if steps.dense_gradient else sparse)
    return 2.0 * (sparse + backward)


@dataclass(frozen=True)
class TrainingFlops:
    """A run's training FLOPs per epoch, the dense run's beside them, and each part's."""

    flops: tuple[float, ...]  # per epoch
    dense: tuple[float, ...]  # per epoch: the same steps, all dense
    parts: tuple[dict[str, float], ...]  # per epoch: FLOPs of each named part (empty: none)

    def row(self, epoch: int) -> dict[str, Any]:
        """The cumulative count through ``epoch`` (0-based), as every epoch row and
        ``summary.json`` carry it: ``training_flops`` and ``training_flops_fraction`` (over
        dense training of the same epochs)."""
        spent, dense = sum(self.flops[: epoch + 1]), sum(self.dense[: epoch + 1])
        return {"training_flops": spent, "training_flops_fraction": spent / dense if dense else None}

    def summary(self, epoch: int) -> dict[str, Any]:
        """:meth:`row` plus, when parts are named, ``training_flops_parts`` {part: FLOPs}."""
        out = self.row(epoch)
        totals: dict[str, float] = {}
        for per_epoch in self.parts[: epoch + 1]:
            for part, value in per_epoch.items():
                totals[part] = totals.get(part, 0.0) + value
        if totals:
            out["training_flops_parts"] = totals
        return out


def training_flops(plan: Sequence[Sequence[Steps]], macs: Sequence[Sequence[int]],
                   images_per_step: int) -> TrainingFlops:
    """Integrate ``plan`` (epoch e's steps, grouped) with ``macs[e]`` (each layer's dense
    multiply-adds per image at epoch e's training resolution), ``images_per_step`` images each
    (the global batch)."""
    flops, dense, parts = [], [], []
    for steps_of_epoch, epoch_macs in zip(plan, macs, strict=True):
        full = step_flops(epoch_macs, Steps(1))
        spent, by_part = 0.0, {}
        for steps in steps_of_epoch:
            cost = steps.count * images_per_step * step_flops(epoch_macs, steps)
            spent += cost
            if steps.part is not None:
                by_part[steps.part] = by_part.get(steps.part, 0.0) + cost
        flops.append(spent)
        dense.append(sum(s.count for s in steps_of_epoch) * images_per_step * full)
        parts.append(by_part)
    return TrainingFlops(tuple(flops), tuple(dense), tuple(parts))


def run_training_flops(model: nn.Module, layers: Sequence[Layer], epochs: int,
                       training_steps: Callable[[int], Sequence[Steps]], resolution: Callable[[int], int],
                       in_chans: int, images_per_step: int) -> TrainingFlops:
    """:func:`training_flops` of a model: epoch e's steps from ``training_steps(e)``, its
    layers' multiply-adds measured at ``resolution(e)`` (once per distinct resolution).
    Called before training, so that magnitude-based densities are the initial weights'."""
    by_res: dict[int, list[int]] = {}
    macs = []
    for e in range(epochs):
        res = int(resolution(e))
        if res not in by_res:
            by_res[res] = layer_macs(model, layers, in_chans, res)
        macs.append(by_res[res])
    return training_flops([list(training_steps(e)) for e in range(epochs)], macs, images_per_step)
