"""Scores: how much each prunable weight deserves to stay (higher = keep).

Scores are separate from selection (``distributions``): a method computes scores, a
distribution turns scores into masks by top-k. Drop-and-grow is written with two helpers,
:func:`lowered` and :func:`raised`: lower the scores of what must go, raise the scores of
what must stay, then top-k.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


@torch.no_grad()
def magnitude(weights: Sequence[Tensor]) -> list[Tensor]:
    """|w| (the score of AC/DC compression, GMP and RigL's drop step)."""
    return torch._foreach_abs([w.detach() for w in weights])


@torch.no_grad()
def gradient_magnitude(weights: Sequence[Tensor]) -> list[Tensor]:
    """|dL/dw| of the dense gradient (RigL's grow step)."""
    return torch._foreach_abs([w.grad if w.grad is not None else torch.zeros_like(w) for w in weights])


@torch.no_grad()
def random(weights: Sequence[Tensor], generator: torch.Generator) -> list[Tensor]:
    """Uniform random scores (drawn on the CPU generator, so every device draws the same)."""
    return [torch.rand(w.shape, generator=generator).to(w.device) for w in weights]


@torch.no_grad()
def lowered(scores: Sequence[Tensor], where: Sequence[Tensor]) -> list[Tensor]:
    """``-inf`` where ``where`` is True: those positions are chosen last."""
    return [s.masked_fill(w, float("-inf")) for s, w in zip(scores, where, strict=True)]


@torch.no_grad()
def raised(scores: Sequence[Tensor], where: Sequence[Tensor]) -> list[Tensor]:
    """``+inf`` where ``where`` is True: those positions are chosen first."""
    return [s.masked_fill(w, float("inf")) for s, w in zip(scores, where, strict=True)]
