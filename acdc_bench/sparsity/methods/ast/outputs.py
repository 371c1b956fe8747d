"""What AST reports: per-sub-net metrics rows, ``summary.json`` entries with inference and
training FLOPs (counted as paper 002 and RigL count them), the plain sub-net checkpoints it
hands to the trainer, and the ``task=summary`` previews of the masks training would end with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from acdc_bench.metrics.flops import inference_flops
from acdc_bench.sparsity import scores as S
from acdc_bench.sparsity.distributions import Distribution
from acdc_bench.sparsity.nm import nm_select
from acdc_bench.sparsity.subnets import Subnet


@torch.no_grad()
def subnet_nonzeros(weights: Sequence[Tensor], factors: Sequence[Tensor]) -> list[int]:
    """Nonzero weights per layer of a sub-net (the weights times its mask ``factors``)."""
    return torch.stack([torch.count_nonzero(w.detach() * f) for w, f in
                        zip(weights, factors, strict=True)]).tolist()


def forward_fraction(macs: Sequence[int], counts: Sequence[int], numels: Sequence[int]) -> float:
    """A sub-net's forward FLOPs relative to the dense model's, from its kept weights per layer."""
    return inference_flops(macs, [c / n for c, n in zip(counts, numels, strict=True)])[1]


def summary_entry(spec: Subnet, nonzeros: Sequence[int], numels: Sequence[int], last_row: dict[str, Any],
                  macs: Sequence[int], run_fraction: float, own_flops: float, iterations: int,
                  own_iterations: int) -> dict[str, Any]:
    """One sub-net in ``summary.json``: its sparsity and last evaluation, inference FLOPs, and
    training FLOPs in dense-training units (3 dense forwards per iteration): the whole run's
    (what every sub-net together costs) and the share of its own iterations (Table 3)."""
    densities = [c / n for c, n in zip(nonzeros, numels, strict=True)]
    return {
        "target_sparsity": spec.target,
        "pattern": spec.pattern,
        "sparsity": 1.0 - sum(nonzeros) / sum(numels),
        **{key: value for key, value in last_row.items() if key.startswith("val_")},
        "inference_flops_fraction": inference_flops(macs, densities)[1],
        "training_flops_fraction": run_fraction,
        "training_flops_fraction_own": own_flops / (3.0 * iterations),
        "iterations": own_iterations,
        "nonzero_weights": int(sum(nonzeros)),
        "layer_densities": densities,
    }


@torch.no_grad()
def final_masks(weights: Sequence[Tensor], spec: Subnet, distribution: Distribution,
                nm_layers: Sequence[bool]) -> list[Tensor]:
    """The masks sub-net ``spec`` would end with, judged from the current weights: its target
    under the distribution, or its N:M pattern on every layer that can be grouped."""
    masks = [torch.empty(w.shape, dtype=torch.bool, device=w.device) for w in weights]
    if spec.nm is None:
        distribution.select(S.magnitude(weights), spec.target, masks)
        return masks
    n, group = spec.nm
    for w, mask, grouped_layer in zip(weights, masks, nm_layers, strict=True):
        if not grouped_layer:
            mask.fill_(True)
            continue
        nm_select(w.detach().abs(), n, group, mask)
    return masks


def preview(spec: Subnet, masks: Sequence[Tensor], macs: Sequence[int], ramp: int,
            first_update_step: int) -> dict[str, Any]:
    """One sub-net in ``task=summary``: target, pattern, final inference FLOPs, its ramp."""
    densities = [float(m.sum()) / m.numel() for m in masks]
    return {"target_sparsity": spec.target, "pattern": spec.pattern,
            "inference_flops_fraction": inference_flops(macs, densities)[1],
            "ramp_updates": ramp, "first_update_step": first_update_step}
