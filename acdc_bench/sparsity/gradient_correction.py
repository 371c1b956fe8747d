"""Gradient correction (paper 002, eq. 5): no conflicting updates inside an inner group.

An inner group is N consecutive iterations, one per sub-net. When the current sub-net's
(masked) gradient g_i has a negative dot product with the gradient g_j its predecessor in
the same group was updated with, g_i is projected onto the normal plane of g_j:
g_i <- g_i - (g_i . g_j / ||g_j||^2) g_j; otherwise it is left as it is. The first iteration
of a group is never corrected (no correction across groups). The dot products also give
the fraction of negative inner products (Fig. 4), counted on the device.

``scope="model"`` treats the gradients of all prunable weights as one vector (eq. 5 as the
paper writes it); ``scope="layer"`` corrects each layer's gradient on its own, as the
authors' code does. Everything is O(parameters) and needs no host sync: remembering a
gradient keeps a reference to it (the trainer's ``zero_grad(set_to_none=True)`` gives every
step new gradient tensors, and SGD does not change them) and computes its norm; comparing
is one dot product and one multiply-add per layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

SCOPES = ("model", "layer")


def _dot(a: Tensor, b: Tensor) -> Tensor:
    """a . b over all entries (same shapes and strides)."""
    if a.is_contiguous() and b.is_contiguous():
        return torch.dot(a.view(-1), b.view(-1))
    return (a * b).sum()


class GradientCorrection:
    """The previous gradient of the inner group, and eq. 5 against it.

    ``correct=False`` only measures (plain AST still logs its negative inner products).
    """

    def __init__(self, like: Sequence[Tensor], scope: str = "model", correct: bool = True):
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        self.scope, self.correct = scope, correct
        self.prev = [torch.zeros_like(t, memory_format=torch.preserve_format) for t in like]
        device = like[0].device
        self.prev_norm2 = torch.zeros(len(self.prev), device=device)
        self.negatives = torch.zeros((), device=device)  # negative inner products since the last take
        self.comparisons = 0  # inner products compared since the last take (known on the host)

    @torch.no_grad()
    def remember(self, grads: Sequence[Tensor]) -> None:
        """Keep ``grads`` (as the optimizer will apply them) for the next sub-net of the group."""
        self.prev = list(grads)
        self.prev_norm2 = torch.stack(torch._foreach_norm(self.prev)).square_()

    @torch.no_grad()
    def compare(self, grads: Sequence[Tensor]) -> None:
        """Count the negative inner products with the remembered gradient and, when
        correcting, project ``grads`` in place where they are negative (eq. 5)."""
        if any(g.data_ptr() == p.data_ptr() for g, p in zip(grads, self.prev, strict=True)):
            raise RuntimeError("gradient correction needs new gradient tensors at every step "
                               "(optimizer.zero_grad(set_to_none=True) before backward)")
        dots = torch.stack([_dot(g, p) for g, p in zip(grads, self.prev, strict=True)])
        tiny = torch.finfo(self.prev_norm2.dtype).tiny
        if self.scope == "model":
            dot, norm2 = dots.sum(), self.prev_norm2.sum()
            negative = dot < 0
            self.negatives += negative
            self.comparisons += 1
            if self.correct:
                coef = torch.where(negative, -dot / norm2.clamp_min(tiny), torch.zeros_like(dot))
                for g, p in zip(grads, self.prev, strict=True):
                    g.addcmul_(p, coef)
        else:
            negative = dots < 0
            self.negatives += negative.sum()
            self.comparisons += len(self.prev)
            if self.correct:
                coefs = torch.where(negative, -dots / self.prev_norm2.clamp_min(tiny), torch.zeros_like(dots))
                for g, p, c in zip(grads, self.prev, coefs.unbind(0), strict=True):
                    g.addcmul_(p, c)

    def take_fraction(self) -> float | None:
        """The fraction of negative inner products since the last call (one host sync), or
        None when nothing was compared; the counts start again."""
        if self.comparisons == 0:
            return None
        fraction = float(self.negatives) / self.comparisons
        self.negatives.zero_()
        self.comparisons = 0
        return fraction

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {"prev": [p.cpu() for p in self.prev], "prev_norm2": self.prev_norm2.cpu(),
                "negatives": float(self.negatives), "comparisons": self.comparisons}

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.prev = [saved.to(p.device) for p, saved in zip(self.prev, state["prev"], strict=True)]
        self.prev_norm2 = state["prev_norm2"].to(self.negatives.device)
        self.negatives.fill_(float(state["negatives"]))
        self.comparisons = int(state["comparisons"])
