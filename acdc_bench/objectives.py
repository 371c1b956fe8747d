"""What a dataset's labels ask of the model: the training loss and the evaluation metrics.

The trainer is independent of the head: single-label classification (softmax) here;
other objectives (multi-label attributes) plug in with the same three methods.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from acdc_bench.metrics import prediction_entropy, smoothed_cross_entropy, topk_correct


class Classification:
    """Softmax classification: label-smoothed CE to train; top-1/5, CE and entropy to evaluate."""

    sum_names = ("val_top1", "val_top5", "val_loss", "val_entropy")

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = float(label_smoothing)

    def loss(self, logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """(objective to minimise, plain cross-entropy), means over the batch."""
        return smoothed_cross_entropy(logits, labels, self.label_smoothing)

    def eval_sums(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Per-batch sums of the evaluation metrics (kept on the device: no host sync)."""
        logits = logits.float()
        top1, top5 = topk_correct(logits, labels, (1, 5))
        loss = F.cross_entropy(logits, labels, reduction="sum")
        ent = prediction_entropy(logits).sum()
        return torch.stack([top1.double(), top5.double(), loss.double(), ent.double()])

    def finalize(self, sums: list[float], count: float) -> dict[str, Any]:
        return {name: s / count for name, s in zip(self.sum_names, sums, strict=True)}


def build_objective(cfg: Any) -> Classification:
    return Classification(float(cfg.optim.label_smoothing))
