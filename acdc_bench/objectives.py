"""What a dataset's labels ask of the model: the training loss and the evaluation metrics.

The trainer is independent of the head: single-label classification (softmax) here;
other objectives (multi-label attributes, text tasks whose metrics need every prediction of
the split, masked language modelling) plug in with the same three methods.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError
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


class TextTask:
    """Sequence classification (softmax CE) or, with one output, regression (MSE): GLUE and
    the offline twin tasks. Their metrics (F1, Matthews, Pearson, Spearman) are not sums over
    batches, so :meth:`eval_sums` also keeps each batch's predictions and :meth:`finalize`
    computes the metrics over all of them (gathered from every rank) and forgets them: one
    evaluation is the ``eval_sums`` calls of a pass over the split followed by one
    ``finalize``, which is how the trainer (and a method evaluating variants) calls them.

    Evaluation labels may carry a group in a second column (MNLI: 0 matched, 1 mismatched):
    the metrics are then computed per group, group ``g > 0`` with the suffix ``_mm``
    (``val_accuracy`` matched, ``val_accuracy_mm`` mismatched). Classification also reports
    ``val_top1`` (the accuracy over the whole split) for the console and the sweep reports.
    """

    sum_names = ("val_loss",)
    group_suffixes = ("", "_mm")

    def __init__(self, metrics: list[str], regression: bool, label_smoothing: float = 0.0):
        from acdc_bench.metrics.glue import METRICS

        self.metrics = {m: METRICS[m] for m in metrics}
        self.regression, self.label_smoothing = regression, float(label_smoothing)
        self._kept: list[Tensor] = []  # rows (prediction, label, group) of this evaluation

    @staticmethod
    def _split(labels: Tensor) -> tuple[Tensor, Tensor]:
        if labels.dim() == 2:
            return labels[:, 0], labels[:, 1]
        return labels, torch.zeros_like(labels)

    def loss(self, logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        labels = self._split(labels)[0]
        if self.regression:
            mse = F.mse_loss(logits.float().squeeze(-1), labels.float())
            return mse, mse
        return smoothed_cross_entropy(logits, labels.long(), self.label_smoothing)

    def eval_sums(self, logits: Tensor, labels: Tensor) -> Tensor:
        y, group = self._split(labels)
        logits = logits.float()
        if self.regression:
            pred = logits.squeeze(-1)
            loss = F.mse_loss(pred, y.float(), reduction="sum")
        else:
            pred = logits.argmax(-1).float()
            loss = F.cross_entropy(logits, y.long(), reduction="sum")
        self._kept.append(torch.stack([pred.detach(), y.float(), group.float()], 1).cpu())
        return loss.double().view(1)

    def finalize(self, sums: list[float], count: float) -> dict[str, Any]:
        from acdc_bench.distributed import all_gather_object

        mine = torch.cat(self._kept) if self._kept else torch.zeros(0, 3)
        self._kept = []
        rows = torch.cat(all_gather_object(mine)).double().numpy()
        out: dict[str, Any] = {"val_loss": sums[0] / count}
        pred, y, group = rows[:, 0], rows[:, 1], rows[:, 2].astype(int)
        if not self.regression:
            out["val_top1"] = float((pred == y).mean()) if len(y) else float("nan")
        for g in sorted(set(group.tolist())) or [0]:
            sel = group == g
            suffix = self.group_suffixes[min(g, len(self.group_suffixes) - 1)] if g else ""
            for name, fn in self.metrics.items():
                out[f"val_{name}{suffix}"] = fn(pred[sel], y[sel])
        return out


class MaskedLM:
    """Masked-language-model pre-training: CE over the masked tokens (labels -100 elsewhere);
    evaluated by the masked tokens' CE and top-1 accuracy, averaged over masked tokens."""

    sum_names = ("val_loss", "val_top1", "val_masked_tokens")
    ignore_index = -100

    def loss(self, logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        ce = F.cross_entropy(logits.float().flatten(0, -2), labels.reshape(-1),
                             ignore_index=self.ignore_index)
        return ce, ce

    def eval_sums(self, logits: Tensor, labels: Tensor) -> Tensor:
        logits, labels = logits.float().flatten(0, -2), labels.reshape(-1)
        keep = labels != self.ignore_index
        loss = F.cross_entropy(logits[keep], labels[keep], reduction="sum")
        correct = (logits[keep].argmax(-1) == labels[keep]).sum()
        return torch.stack([loss.double(), correct.double(), keep.sum().double()])

    def finalize(self, sums: list[float], count: float) -> dict[str, Any]:
        tokens = max(sums[2], 1.0)
        return {"val_loss": sums[0] / tokens, "val_top1": sums[1] / tokens, "val_accuracy": sums[1] / tokens,
                "val_masked_tokens": sums[2]}


OBJECTIVES = ("classification", "multilabel", "text", "mlm")


def build_objective(cfg: Any) -> Classification | MultiLabel | TextTask | MaskedLM:
    """The dataset's objective (``dataset.objective``, set by every dataset config)."""
    objective = V.choice(cfg, "dataset.objective", OBJECTIVES)
    if objective == "multilabel":
        return MultiLabel()
    if objective == "mlm":
        return MaskedLM()
    smoothing = float(V.number(cfg, "optim.label_smoothing", 0, 1))
    if objective == "text":
        from acdc_bench.metrics.glue import METRICS, REGRESSION_METRICS

        metrics = V.string_list(cfg, "dataset.metrics", f"metric names from {sorted(METRICS)}")
        if not metrics or any(m not in METRICS for m in metrics):
            raise ConfigError("dataset.metrics", metrics, f"a non-empty list from {sorted(METRICS)}")
        regression = V.integer(cfg, "dataset.num_classes") == 1
        if regression != all(m in REGRESSION_METRICS for m in metrics):
            raise ConfigError("dataset.metrics", metrics, f"{list(REGRESSION_METRICS)} exactly when "
                              "dataset.num_classes is 1 (regression)")
        return TextTask(metrics, regression, smoothing)
    return Classification(smoothing)
