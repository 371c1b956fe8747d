"""N:M semi-structured selection: keep the N largest of every M consecutive input-dimension
weights (2:4 for sparse tensor cores), written once for the ``nm`` distribution and AST's
N:M sub-nets. Groups run along dim 1 (a linear layer's inputs, a convolution's input
channels), so a layer whose input dimension is not a multiple of M cannot be grouped."""

from __future__ import annotations

import torch
from torch import Tensor


def grouped(t: Tensor, group: int) -> Tensor:
    """``t`` as rows of ``group`` consecutive entries along the input dimension (dim 1)."""
    return t.movedim(1, -1).reshape(-1, group)


def ungrouped(rows: Tensor, like: Tensor) -> Tensor:
    """Inverse of :func:`grouped`: rows back to the shape of ``like``."""
    moved = like.movedim(1, -1).shape
    return rows.reshape(moved).movedim(-1, 1)


@torch.no_grad()
def keep_top_n(rows: Tensor, n: int) -> Tensor:
    """A bool tensor shaped like ``rows`` (groups x M): the ``n`` highest scores of every row
    (ties broken by ``topk``). The one N:M top-k of the package."""
    keep = torch.zeros(rows.shape, dtype=torch.bool, device=rows.device)
    keep.scatter_(1, rows.topk(n, dim=1).indices, True)
    return keep


@torch.no_grad()
def nm_select(scores: Tensor, n: int, group: int, out: Tensor) -> None:
    """Write into ``out`` (a bool mask shaped like ``scores``) the ``n`` highest scores of every
    ``group`` consecutive input-dimension entries."""
    out.copy_(ungrouped(keep_top_n(grouped(scores, group), n), out))
