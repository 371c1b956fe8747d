"""What AST reports: per-sub-net metrics rows, ``summary.json`` entries with inference FLOPs
(training FLOPs come from the schedule, :meth:`AST.training_steps`), the plain sub-net checkpoints it
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


def summary_entry(spec: Subnet, nonzeros: Sequence[int], numels: Sequence[int], last_row: dict[str, Any],
                  macs: Sequence[int], own_iterations: int) -> dict[str, Any]:
    """One sub-net in ``summary.json``: its sparsity and last evaluation, inference FLOPs and
    its iterations (its training FLOPs are the run's ``training_flops_parts``, from the
    schedule: :meth:`AST.training_steps`)."""
    densities = [c / n for c, n in zip(nonzeros, numels, strict=True)]
    return {
        "target_sparsity": spec.target,
        "pattern": spec.pattern,
        "sparsity": 1.0 - sum(nonzeros) / sum(numels),
        **{key: value for key, value in last_row.items() if key.startswith("val_")},
        "inference_flops_fraction": inference_flops(macs, densities)[1],
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
