"""Corrupted training labels (``dataset.corrupt_labels``) and the probe that watches them.

Paper 000 (Sec. 1, Fig. 2b) trains AC/DC with a small share of training samples carrying a
wrong label and asks how each phase classifies them: a dense phase "memorizes" the wrong
label, a sparse phase tends to predict the true class. Here a seeded subset of
``round(fraction * N)`` training samples gets, each, a label drawn uniformly from the
*other* classes (``(true + k) mod C`` with ``k`` uniform in ``1 .. C-1``: never the true
one). The subset and the labels are a pure function of (``seed``, N, C): the same seed
corrupts the same samples the same way in every run, whatever the method.

The data layer hands the trainer two generic things it writes without knowing what they are
(``DataBundle.probes`` and ``DataBundle.artefacts``): the probe measures, at the end of every
epoch, the share of corrupted samples (read without augmentation) predicted as their
corrupted label (``mem_corrupted``), as their true label (``mem_true``) and as anything else
(``mem_other``); the artefact ``corrupted_labels.json`` records which samples were corrupted.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from torch import Tensor, nn

ARTEFACT = "corrupted_labels.json"
_SALT = 0x6C61626C  # keeps the corruption's random stream apart from every other seeded stream


def corrupt(labels: Tensor, fraction: float, num_classes: int, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """``(new labels, corrupted indices (ascending), the indices' true labels)``; ``labels``
    itself is not changed. Every corrupted label differs from the true one."""
    n = len(labels)
    count = round(fraction * n)
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + _SALT)
    idx = torch.randperm(n, generator=gen)[:count].sort().values
    shift = torch.randint(1, num_classes, (count,), generator=gen)
    true = labels[idx].clone()
    new = labels.clone()
    new[idx] = (true + shift.to(true.dtype)) % num_classes
    return new, idx, true


class CorruptedLabelProbe:
    """What an epoch does with the corrupted samples (predictions without augmentation)."""

    name = "memorization"

    def __init__(self, loader: Any, true: Tensor, corrupted: Tensor):
        self.loader = loader  # yields (images, corrupted labels) of the corrupted samples, in order
        self.true, self.corrupted = true, corrupted

    @torch.no_grad()
    def measure(self, model: nn.Module) -> dict[str, float]:
        model.eval()
        preds = torch.cat([model(x).argmax(dim=1).cpu() for x, _ in self.loader])
        n = max(len(preds), 1)
        as_corrupted = int((preds == self.corrupted).sum())
        as_true = int((preds == self.true).sum())
        return {"mem_corrupted": as_corrupted / n, "mem_true": as_true / n,
                "mem_other": (len(preds) - as_corrupted - as_true) / n}


def corrupt_split(images: Tensor, labels: Tensor, fraction: float, num_classes: int, seed: int,
                  probe_loader: Any) -> tuple[Tensor, CorruptedLabelProbe, dict[str, str]]:
    """The training labels with a corrupted subset, its probe and the record of what was
    corrupted. ``probe_loader(images, labels)`` builds an evaluation loader (no augmentation)."""
    new, idx, true = corrupt(labels, fraction, num_classes, seed)
    probe = CorruptedLabelProbe(probe_loader(images[idx], new[idx]), true.cpu(), new[idx].cpu())
    record = {"fraction": fraction, "seed": int(seed), "num_classes": num_classes, "train_size": len(labels),
              "indices": idx.tolist(), "true": true.tolist(), "corrupted": new[idx].tolist()}
    return new, probe, {ARTEFACT: json.dumps(record) + "\n"}
