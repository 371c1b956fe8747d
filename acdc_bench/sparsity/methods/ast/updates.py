"""One sub-net's mask update, as functions of weights, masks and scores: prune by magnitude
inside a mask (the ramp, and CS's nesting), and the N:M sub-nets' update on groups. The
method decides which sub-net updates when (:mod:`.plan`); these only write masks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from acdc_bench.sparsity import scores as S
from acdc_bench.sparsity.distributions import Distribution, topk_select
from acdc_bench.sparsity.drop_grow import drop_and_grow
from acdc_bench.sparsity.masks import MaskSet
from acdc_bench.sparsity.nm import grouped, keep_top_n, ungrouped


@torch.no_grad()
def random_start(weights: Sequence[Tensor], distribution: Distribution, masks: Sequence[MaskSet],
                 sparsity: float, seed: int) -> None:
    """The shared random sparse model every sub-net starts from at s_i = ``sparsity`` (RigL's
    random masks with the distribution's per-layer budgets), drawn from ``seed`` alone so
    that every DDP rank draws the same."""
    counts = distribution.keep_counts(S.magnitude(weights), sparsity)
    generator = torch.Generator().manual_seed(seed + 0xA57)
    for score, count, mask in zip(S.random(weights, generator), counts, masks[0].masks, strict=True):
        topk_select(score, count, mask)
    for other in masks[1:]:
        other.flat.copy_(masks[0].flat)


def kept_counts(masks: MaskSet) -> list[int]:
    """Kept weights per layer (one host sync)."""
    return [int(c) for c in torch.stack([m.sum() for m in masks.masks]).tolist()]


def pruned_sparsity(masks: MaskSet, pruned: Sequence[bool]) -> float:
    """The sparsity of ``masks`` over the layers the distribution prunes."""
    chosen = [m for m, p in zip(masks.masks, pruned, strict=True) if p]
    kept = int(torch.stack([m.sum() for m in chosen]).sum())
    return 1.0 - kept / sum(m.numel() for m in chosen)


@torch.no_grad()
def prune_within(weights: Sequence[Tensor], distribution: Distribution, out: MaskSet, sparsity: float,
                 within: MaskSet, keep: Sequence[Tensor] | None = None) -> None:
    """``out``: the largest |w| inside ``within`` at ``sparsity`` (under the distribution),
    ``keep`` chosen first."""
    scores = S.lowered(S.magnitude(weights), within.inverted())
    if keep is not None:
        scores = S.raised(scores, keep)
    distribution.select(scores, sparsity, out.masks)


@torch.no_grad()
def update_nm(weights: Sequence[Tensor], masks: MaskSet, grow_scores: Sequence[Tensor], nm: tuple[int, int],
              grouped_layers: Sequence[bool], share: float, fraction: float) -> None:
    """An N:M sub-net's update on groups of m input-dimension weights: ``share`` of the groups
    N:M (a dense group with small summed |w| becomes N:M), then drop/grow whole groups by
    ``fraction`` (an N:M group with large summed |grad| becomes dense again), then the N:M
    pattern by |w| inside every N:M group. Layers that cannot be grouped stay dense."""
    n, group = nm
    for w, mask, g, ok in zip(weights, masks.masks, grow_scores, grouped_layers, strict=True):
        if not ok:
            mask.fill_(True)
            continue
        rows = grouped(w.detach().abs(), group)
        dense = grouped(mask, group).all(1)  # groups still dense (not N:M)
        keep = rows.shape[0] - round(share * rows.shape[0])
        magnitude = rows.sum(1)
        topk_select(S.lowered([magnitude], [~dense])[0], keep, dense)  # the ramp: more groups N:M
        drop_and_grow([magnitude], [dense], [grouped(g, group).sum(1)], [keep], fraction,
                      [0 < keep < rows.shape[0]])
        mask.copy_(ungrouped(keep_top_n(rows, n) | dense.unsqueeze(1), mask))
