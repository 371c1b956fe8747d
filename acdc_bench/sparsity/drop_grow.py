"""Drop-and-grow: RigL's mask update and AST's prune-and-regrow, written once."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from acdc_bench.sparsity import scores as S


@torch.no_grad()
def drop_and_grow(weights: Sequence[Tensor], masks: Sequence[Tensor], grow_scores: Sequence[Tensor],
                  counts: Sequence[int], fraction: float, updating: Sequence[bool] | None = None) -> None:
    """Drop by magnitude, grow by gradient, in place on ``masks`` (weights are not touched):
    per layer, the ``int(fraction * count)`` active weights of smallest |w| go, then as many
    of the largest grow scores among the rest come in (a weight just dropped may be grown
    again), so each layer keeps ``count`` (its number of active weights). Both choices are
    top-k of the small side (k = the drop count). Layers with ``updating[i]`` False are
    skipped. Also AST's prune-and-regrow, whose grown weights may carry values shared with
    other sub-nets."""
    for i, (w, m, g, count) in enumerate(zip(weights, masks, grow_scores, counts, strict=True)):
        if updating is not None and not updating[i]:
            continue
        n_drop = int(fraction * count)
        if n_drop == 0:
            continue
        direct = m.is_contiguous()
        active = m.view(-1) if direct else m.reshape(-1).clone()  # logical order, like reshape(w)
        on = active.nonzero().squeeze(1)  # drop among the active weights only (a small set)
        magnitudes = w.detach().reshape(-1)[on].abs()
        active[on[magnitudes.topk(n_drop, largest=False, sorted=False).indices]] = False
        grow = S.lowered([g.reshape(-1)], [active])[0]  # kept: never grown
        active[grow.topk(n_drop, sorted=False).indices] = True
        if not direct:
            m.copy_(active.view(m.shape))
