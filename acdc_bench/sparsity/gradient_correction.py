"""Gradient correction (paper 002, eq. 5): no conflicting updates inside an inner group.

An inner group is N consecutive iterations, one per sub-net. When the current sub-net's
(masked) gradient g_i has a negative dot product with the gradient g_j its predecessor in
the same group was updated with, g_i is projected onto the normal plane of g_j:
g_i <- g_i - (g_i . g_j / ||g_j||^2) g_j; otherwise it is left as it is. The first iteration
of a group is never corrected (no correction across groups). The dot products also give
the fraction of negative inner products (Fig. 4), counted on the device.

Sub-nets differ in their masks, and iteration i may only move sub-net i's weights. Given
the current mask m_i, the projection is taken inside sub-net i: onto the normal plane of
r = m_i ⊙ g_j, g_i <- g_i - (g_i . g_j / ||r||^2) r. The result stays inside the sub-net and
its dot product with g_j is exactly zero (g_i . g_j = g_i . r, as g_i is zero outside m_i);
without a mask it is eq. 5 as written.

Gradients are flat vectors (all prunable weights, one after the other; ``sizes`` gives the
layers). ``scope="model"`` treats the whole vector at once (eq. 5 as the paper writes it);
``scope="layer"`` corrects each layer's part on its own, as the authors' code does. A
comparison is one fused dot product; a projection three more passes (the masked reference,
its norm, one multiply-add). On an accelerator the projection always runs, with a zero
coefficient when nothing conflicts, so that nothing waits for the device; on the CPU it runs
only when needed. Remembering a gradient keeps a reference to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

SCOPES = ("model", "layer")


class GradientCorrection:
    """The previous gradient of the inner group, and eq. 5 against it.

    ``correct=False`` only measures (plain AST still logs its negative inner products).
    """

    def __init__(self, sizes: Sequence[int], scope: str = "model", correct: bool = True,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        self.sizes, self.scope, self.correct = [int(s) for s in sizes], scope, correct
        total = sum(self.sizes)
        self.prev = torch.zeros(total, device=device, dtype=dtype)  # the remembered gradient
        self.ref = torch.empty(total, device=device, dtype=dtype)  # m_i * prev
        self.lengths = torch.tensor(self.sizes, device=device)
        self.negatives = torch.zeros((), device=device)  # negative inner products since the last take
        self.comparisons = 0  # inner products compared since the last take (known on the host)
        # On the CPU reading a number back stalls nothing: agreeing gradients skip the projection.
        # On an accelerator the projection always runs (with a zero coefficient), so that the
        # step never waits for the device.
        self.skip_agreeing = torch.device(device).type == "cpu"

    def remember(self, grad: Tensor) -> None:
        """Keep ``grad`` (as the optimizer will apply it) for the next sub-net of the group. It
        is kept by reference: the caller does not write to it before the next ``compare``."""
        self.prev = grad

    @torch.no_grad()
    def compare(self, grad: Tensor, mask: Tensor | None = None) -> None:
        """Count the negative inner products of ``grad`` (zero outside ``mask``, numbers 0/1)
        with the remembered gradient and, when correcting, project ``grad`` in place where
        they are negative (eq. 5, inside the mask)."""
        if grad.data_ptr() == self.prev.data_ptr():
            raise RuntimeError("gradient correction compares a gradient with itself: remember() "
                               "keeps a reference, the next gradient must be written elsewhere")
        model = self.scope == "model"
        if model:  # (grad is zero outside the mask: its dot with prev is its dot with m * prev)
            dots = torch.dot(grad, self.prev)
        else:
            dots = torch.stack([torch.dot(g, p) for g, p in zip(grad.split(self.sizes),
                                                                self.prev.split(self.sizes), strict=True)])
        negative = dots < 0
        self.negatives += negative.sum()
        self.comparisons += 1 if model else len(self.sizes)
        if not self.correct or (self.skip_agreeing and not bool(negative.any())):
            return
        ref = torch.mul(self.prev, mask, out=self.ref) if mask is not None else self.prev
        tiny = torch.finfo(ref.dtype).tiny
        if model:
            norm2 = torch.dot(ref, ref)
            grad.addcmul_(ref, torch.where(negative, -dots / norm2.clamp_min(tiny), torch.zeros_like(dots)))
        else:
            norm2 = torch.stack([torch.dot(r, r) for r in ref.split(self.sizes)])
            coefs = torch.where(negative, -dots / norm2.clamp_min(tiny), torch.zeros_like(dots))
            grad.addcmul_(ref, coefs.repeat_interleave(self.lengths, output_size=grad.numel()))

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
        return {"prev": self.prev.cpu(), "negatives": float(self.negatives), "comparisons": self.comparisons}

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.prev = state["prev"].to(device=self.ref.device, dtype=self.ref.dtype).clone()
        self.negatives.fill_(float(state["negatives"]))
        self.comparisons = int(state["comparisons"])
