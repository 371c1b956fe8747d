"""Sparsity metrics of a model's prunable weights, as paper 001 defines them.

- sparsity: the fraction of exact zeros among prunable weights (whatever made them zero:
  a mask, or weight decay during decompression, Sec. 3.7 / Fig. 8);
- mask IoU (Sec. 3.5): |A ∩ B| / |A ∪ B| of the nonzero supports at two checkpoints;
- channel sparsity (Sec. 3.6, Table 3): the fraction of conv output channels whose
  weights are all zero, over all conv layers;
- per-layer density and the number of parameters a sparse model stores;
- dead units (Sec. 3.6-3.7: weights that no dense phase can revive), two views:
  * ``zero_grad_share``: of the prunable weights that are exactly zero, the share whose
    *dense* gradient (before any mask is applied) is exactly zero on a training batch. Such a
    weight cannot move away from zero in a decompression phase: its unit is dead;
  * ``zero_grad_channel_share``: of all conv output channels, the share whose weights' dense
    gradient is exactly zero everywhere (the channel is cut off from the loss);
  * ``dead_channel_share``: of all conv output channels, the share whose BatchNorm-scaled
    output cannot depend on the input: every weight of the channel is zero (the conv emits 0,
    its BatchNorm the constant beta), or the BatchNorm that follows the conv has scale
    gamma exactly zero (it emits beta whatever the conv computes). A superset of the
    channels ``channel_sparsity`` counts; the gradient views say whether such a channel can
    come back (an all-zero channel whose BatchNorm shift feeds a ReLU below zero cannot).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from acdc_bench.metrics.flops import Layer, inference_flops, layer_macs


@torch.no_grad()
def support(weights: Sequence[Tensor], out: Tensor | None = None) -> Tensor:
    """The nonzero positions of all ``weights`` as one flat bool tensor (in ``out`` if given)."""
    total = sum(w.numel() for w in weights)
    if out is None:
        out = torch.empty(total, dtype=torch.bool, device=weights[0].device)
    offset = 0
    for w in weights:
        n = w.numel()
        torch.ne(w.detach().reshape(-1), 0, out=out[offset: offset + n])
        offset += n
    return out


@torch.no_grad()
def zero_fraction(weights: Sequence[Tensor]) -> float:
    """Fraction of exact zeros among ``weights`` (one host sync)."""
    total = sum(w.numel() for w in weights)
    nonzero = torch.stack([torch.count_nonzero(w.detach()) for w in weights]).sum()
    return 1.0 - float(nonzero) / total


@torch.no_grad()
def mask_iou(a: Tensor, b: Tensor) -> float | None:
    """Intersection over union of two supports (bool tensors); None when both are empty."""
    union = torch.count_nonzero(torch.logical_or(a, b))
    inter = torch.count_nonzero(torch.logical_and(a, b))
    u = int(union)
    return None if u == 0 else int(inter) / u


@torch.no_grad()
def channel_sparsity(weights: Sequence[Tensor]) -> float | None:
    """Fraction of output channels (dim 0) that are entirely zero, over all ``weights``
    (conv weights; None when there are none)."""
    if not weights:
        return None
    zero = torch.stack([torch.count_nonzero((w.detach().reshape(w.shape[0], -1) != 0).any(1).logical_not())
                        for w in weights])
    return float(zero.sum()) / sum(w.shape[0] for w in weights)


@torch.no_grad()
def zero_gradient_counts(weights: Sequence[Tensor], grads: Sequence[Tensor], conv: Sequence[bool]) -> Tensor:
    """``[zero weights, zero weights with a zero gradient, conv channels whose gradient is all
    zero]`` as one int64 tensor on the weights' device: no host sync, so it can be taken inside
    a training step and read at the epoch's end."""
    counts = []
    for w, g, is_conv in zip(weights, grads, conv, strict=True):
        zero_w = w.detach() == 0
        zero_g = g.detach() == 0
        dead = zero_g.reshape(w.shape[0], -1).all(1).sum() if is_conv else torch.zeros_like(zero_w.sum())
        counts.append(torch.stack([zero_w.sum(), (zero_w & zero_g).sum(), dead]))
    return torch.stack(counts).sum(0)


def zero_gradient_shares(counts: Tensor | None, channels: int) -> dict[str, float | None]:
    """``zero_grad_share`` and ``zero_grad_channel_share`` from :func:`zero_gradient_counts`
    over ``channels`` conv output channels (None: not sampled; a share of nothing is None)."""
    if counts is None:
        return {"zero_grad_share": None, "zero_grad_channel_share": None}
    zero_w, both, dead = (int(c) for c in counts.tolist())
    return {"zero_grad_share": both / zero_w if zero_w else None,
            "zero_grad_channel_share": dead / channels if channels else None}


@torch.no_grad()
def dead_channel_share(weights: Sequence[Tensor], bn_scales: Sequence[Tensor | None]) -> float | None:
    """Fraction of conv output channels whose BatchNorm-scaled output is a constant: all their
    weights are zero, or the BatchNorm after the conv (``bn_scales``, None: none) has gamma
    exactly zero there. None when there are no conv weights."""
    if not weights:
        return None
    dead = []
    for w, gamma in zip(weights, bn_scales, strict=True):
        channel_dead = (w.detach().reshape(w.shape[0], -1) != 0).any(1).logical_not()
        if gamma is not None:
            channel_dead = channel_dead | (gamma.detach() == 0)
        dead.append(torch.count_nonzero(channel_dead))
    return float(torch.stack(dead).sum()) / sum(w.shape[0] for w in weights)


@torch.no_grad()
def layer_densities(weights: Sequence[Tensor]) -> list[float]:
    """Fraction of nonzero weights per layer (one host sync)."""
    counts = torch.stack([torch.count_nonzero(w.detach()) for w in weights]).tolist()
    return [c / w.numel() for c, w in zip(counts, weights, strict=True)]


def params_stored(model: nn.Module, prunable: Sequence[Tensor], densities: Sequence[float]) -> int:
    """Parameters a sparse model stores: every non-prunable parameter (biases, norms) plus
    the nonzero prunable weights."""
    total = sum(p.numel() for p in model.parameters())
    pruned = sum(round(w.numel() * (1.0 - d)) for w, d in zip(prunable, densities, strict=True))
    return total - pruned


def sparse_report(model: nn.Module, layers: Sequence[Layer], densities: Sequence[float], in_chans: int,
                  resolution: int) -> dict:
    """What ``summary.json`` and ``task=summary`` say about a (sparse) model: inference FLOPs
    at ``resolution`` (RigL counting), stored parameters and per-layer densities."""
    weights = [layer.weight for layer in layers]
    macs = layer_macs(model, layers, in_chans, resolution)
    dense_flops, fraction = inference_flops(macs, densities)
    return {
        "dense_flops": dense_flops,
        "inference_flops_fraction": fraction,
        "params_total": sum(p.numel() for p in model.parameters()),
        "params_nonzero": params_stored(model, weights, densities),
        "layers": [{"name": layer.name, "shape": list(layer.shape), "density": d, "macs": m}
                   for layer, d, m in zip(layers, densities, macs, strict=True)],
    }
