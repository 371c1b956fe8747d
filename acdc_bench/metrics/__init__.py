"""Evaluation metrics, computed as paper 001 defines them (Sec. 3.1, eq. 2)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def prediction_entropy(logits: Tensor) -> Tensor:
    """Per-sample Shannon entropy of the softmax, in nats: H(Z) = -sum_i p_i log p_i (eq. 2)."""
    logp = F.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def topk_correct(logits: Tensor, labels: Tensor, ks: tuple[int, ...]) -> list[Tensor]:
    """Number of samples whose label is among the top-k logits, for each k (as tensors: no sync)."""
    kmax = min(max(ks), logits.shape[-1])
    top = logits.topk(kmax, dim=-1).indices
    hit = top == labels.unsqueeze(-1)
    return [hit[:, : min(k, kmax)].any(-1).sum() for k in ks]


def smoothed_cross_entropy(logits: Tensor, labels: Tensor, smoothing: float) -> tuple[Tensor, Tensor]:
    """(training objective, plain cross-entropy), both means over the batch.

    The objective is label-smoothed cross-entropy (torch's definition); the plain
    cross-entropy is paper 001's CE (eq. 2), which ``train_ce`` reports.
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    ce = F.nll_loss(logp, labels)
    if smoothing == 0:
        return ce, ce
    return (1 - smoothing) * ce - smoothing * logp.mean(-1).mean(), ce
