"""Inference FLOPs of a sparse model, counted the way RigL counts them.

Only convolution and linear layers are counted: each layer's multiply-adds for one image
at the evaluation resolution, times its density (a sparse kernel skips the zeros), over the
same sum for the dense model. One multiply-add is 2 FLOPs, so a dense ResNet-50 at 224 px
is about 8.2 GFLOPs, as in RigL's tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor, nn


class Layer(Protocol):
    """What the metrics need of a prunable layer: its name, the module to hook, its weight.
    ``acdc_bench.sparsity.masks.PrunableLayer`` is one; metrics never import sparsity (the
    dependency goes one way: sparsity -> metrics)."""

    @property
    def name(self) -> str: ...

    @property
    def module(self) -> nn.Module: ...

    @property
    def weight(self) -> Tensor: ...

    @property
    def shape(self) -> tuple[int, ...]: ...


@torch.no_grad()
def layer_macs(model: nn.Module, layers: Sequence[Layer], in_chans: int,
               resolution: int) -> list[int]:
    """Multiply-adds of each layer for one ``in_chans`` x ``resolution``² image.

    Measured with forward hooks on one zero image (in eval mode, restored afterwards), so any
    architecture's strides, pooling and padding are accounted for.
    """
    sizes: dict[int, int] = {}

    def hook(module: nn.Module, inputs, output) -> None:
        sizes[id(module)] = output[0].numel() if output.dim() > 1 else output.numel()

    handles = [layer.module.register_forward_hook(hook) for layer in layers]
    was_training = model.training
    p = layers[0].weight
    try:
        model.eval()
        model(torch.zeros(1, in_chans, resolution, resolution, device=p.device, dtype=p.dtype))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    macs = []
    for layer in layers:
        out_numel = sizes.get(id(layer.module), 0)  # 0: the layer did not run
        per_output = math.prod(layer.shape[1:])  # (in / groups) x kernel for conv, in for linear
        macs.append(out_numel * per_output)
    return macs


def inference_flops(macs: Sequence[int], densities: Sequence[float]) -> tuple[int, float]:
    """(dense FLOPs, fraction of them a model with these layer densities needs)."""
    dense = sum(macs)
    if dense == 0:
        return 0, 1.0
    sparse = sum(m * d for m, d in zip(macs, densities, strict=True))
    return 2 * dense, sparse / dense
