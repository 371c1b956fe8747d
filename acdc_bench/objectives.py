"""What a dataset's labels ask of the model: the training loss and the evaluation metrics.

The trainer is independent of the head: single-label classification (softmax) here;
other objectives (multi-label attributes) plug in with the same three methods.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from acdc_bench import validation as V
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


class MultiLabel:
    """Independent binary attributes (CelebA's 40): one sigmoid output per attribute.

    Trained with binary cross-entropy averaged over attributes. Evaluated, as in paper
    001 Sec. 3.2.2, by the mean per-attribute accuracy (sigmoid > 0.5 predicts the
    attribute) and the uncertain fraction: the share of all (image, attribute)
    predictions whose sigmoid output lies in (0.1, 0.9).
    """

    sum_names = ("val_loss", "val_mean_attr_acc", "val_uncertain_fraction")
    uncertain = (0.1, 0.9)

    def loss(self, logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """(binary cross-entropy, the same): means over the batch and the attributes."""
        bce = F.binary_cross_entropy_with_logits(logits.float(), labels.float())
        return bce, bce

    def eval_sums(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Per-image means over attributes, summed over the batch (the trainer divides by images)."""
        logits, labels = logits.float(), labels.float()
        bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none").mean(-1).sum()
        acc = ((logits > 0).float() == labels).float().mean(-1).sum()
        p = torch.sigmoid(logits)
        unsure = ((p > self.uncertain[0]) & (p < self.uncertain[1])).float().mean(-1).sum()
        return torch.stack([bce.double(), acc.double(), unsure.double()])

    def finalize(self, sums: list[float], count: float) -> dict[str, Any]:
        return {name: s / count for name, s in zip(self.sum_names, sums, strict=True)}


OBJECTIVES = ("classification", "multilabel")


def build_objective(cfg: Any) -> Classification | MultiLabel:
    """The dataset's objective (``dataset.objective``, set by every dataset config)."""
    if V.choice(cfg, "dataset.objective", OBJECTIVES) == "multilabel":
        return MultiLabel()
    return Classification(float(V.number(cfg, "optim.label_smoothing", 0, 1)))
