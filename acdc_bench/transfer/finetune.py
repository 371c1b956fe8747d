"""Linear and full fine-tuning of an upstream model on a downstream task (paper 001 App. F).

- *Linear*: the upstream network up to its classifier is a fixed feature extractor (eval mode,
  no gradients): features of every image are extracted once, then a new linear classifier is
  trained on them. The backbone's weights and buffers do not change (bit for bit: tested).
- *Full*: the classifier is replaced and every layer trained. A sparse upstream model keeps
  its mask: the upstream masks go into a :class:`~acdc_bench.sparsity.masks.MaskSet` and the
  step is the sparse step of training, one gradient mask pass after backward; with masked
  weights and fresh momentum at zero, SGD (weight decay included) leaves them exactly zero
  (the argument in :mod:`acdc_bench.sparsity.masks`). The new classifier is dense.

Images go in as the upstream model saw them: the upstream's input channels (grey <-> RGB by
repetition or ITU-R 601 luma), its evaluation resolution, its normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from acdc_bench.sparsity.masks import MaskSet, prunable_layers
from acdc_bench.transfer.settings import TransferSettings

LUMA = torch.tensor([0.299, 0.587, 0.114])


# ----------------------------------------------------------------------------- the classifier
def head_name(model: nn.Module) -> str:
    """The classifier: the last linear layer in module order."""
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ValueError(f"{type(model).__name__} has no linear classifier to replace")
    return names[-1]


def replace_head(model: nn.Module, name: str, new: nn.Module) -> nn.Module:
    """Put ``new`` where module ``name`` was; returns the old module."""
    parent_name, _, leaf = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, leaf)
    setattr(parent, leaf, new)
    return old


# ----------------------------------------------------------------------------- images
def _channels(x: Tensor, in_chans: int) -> Tensor:
    if x.shape[0] == in_chans:
        return x
    if x.shape[0] == 1:
        return x.expand(in_chans, -1, -1)
    if in_chans == 1:
        return (x * LUMA.view(3, 1, 1)).sum(0, keepdim=True)
    raise ValueError(f"cannot map {x.shape[0]} image channels to the model's {in_chans}")


class Prepared(Dataset):
    """Downstream pairs as float ``C x H x W`` in [0, 1] at the upstream's resolution and channels.

    ``augment`` (natural images, full fine-tuning): random resized crop and horizontal flip;
    otherwise PIL images are resized to ``res / 0.875`` and centre-cropped (the evaluation
    crop), tensors resized whole."""

    def __init__(self, pairs: Sequence[tuple[Any, int]], res: int, in_chans: int, augment: bool = False):
        self.pairs, self.res, self.in_chans, self.augment = pairs, int(res), int(in_chans), augment

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        import torchvision.transforms as T
        import torchvision.transforms.functional as TF

        img, label = self.pairs[i]
        if isinstance(img, Tensor):
            x = img.float() / 255.0 if img.dtype == torch.uint8 else img.float()
            if x.shape[-1] != self.res or x.shape[-2] != self.res:
                x = F.interpolate(x[None], size=(self.res, self.res), mode="bilinear", antialias=True)[0]
        else:
            img = img.convert("RGB")
            if self.augment:
                img = T.RandomHorizontalFlip()(T.RandomResizedCrop(self.res, antialias=True)(img))
            else:
                img = TF.center_crop(
                    TF.resize(img, int(round(self.res / 0.875)), antialias=True), [self.res] * 2
                )
            x = TF.pil_to_tensor(img).float() / 255.0
        return _channels(x, self.in_chans), int(label)


def loader(data: Dataset, batch_size: int, shuffle: bool, workers: int, seed: int) -> DataLoader:
    gen = torch.Generator().manual_seed(int(seed))
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, num_workers=workers, generator=gen)


# ----------------------------------------------------------------------------- metrics
def scores(pred: Tensor, target: Tensor, num_classes: int) -> dict[str, float]:
    """Top-1 and mean per-class accuracy (the two metrics of Table F.6): the mean over the
    classes present in ``target`` of each class's share of correct predictions."""
    correct = (pred == target).float()
    counts = torch.bincount(target, minlength=num_classes).float()
    hits = torch.bincount(target, weights=correct, minlength=num_classes)
    present = counts > 0
    return {"top1": float(correct.mean()), "mean_class": float((hits[present] / counts[present]).mean())}


@torch.no_grad()
def _outputs(net: nn.Module, data: DataLoader, norm: Any, device: torch.device,
             head: Any) -> tuple[Tensor, Tensor]:
    """``head(net(x))`` for every image, in eval mode (batch-norm statistics stay), and the labels."""
    net.eval()
    outs, labels = [], []
    for x, y in data:
        outs.append(head(net(norm(x.to(device)))).cpu())
        labels.append(y)
    return torch.cat(outs), torch.cat(labels)


def predict(model: nn.Module, data: DataLoader, norm: Any, device: torch.device) -> tuple[Tensor, Tensor]:
    """The predicted class of every image, and the labels."""
    return _outputs(model, data, norm, device, lambda logits: logits.argmax(1))


def extract(backbone: nn.Module, data: DataLoader, norm: Any, device: torch.device) -> tuple[Tensor, Tensor]:
    """Features of every image (the backbone in eval mode: batch-norm statistics stay)."""
    return _outputs(backbone, data, norm, device, lambda feats: feats.flatten(1))


# ----------------------------------------------------------------------------- training
def _sgd(params: Any, s: TransferSettings, lr: float) -> tuple[torch.optim.Optimizer, Any]:
    opt = torch.optim.SGD(params, lr=lr, momentum=s.momentum, weight_decay=s.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=s.lr_step_epochs, gamma=s.lr_gamma)
    return opt, sched


def train_linear(
    feats: Tensor, labels: Tensor, num_classes: int, s: TransferSettings, lr: float, seed: int
) -> nn.Linear:
    """A linear classifier on pre-extracted features (mini-batch SGD with the recipe's schedule)."""
    torch.manual_seed(seed)
    head = nn.Linear(feats.shape[1], num_classes)
    opt, sched = _sgd(head.parameters(), s, lr)
    gen = torch.Generator().manual_seed(int(seed))
    for _ in range(s.epochs):
        order = torch.randperm(len(labels), generator=gen)
        for b in range(0, len(order), s.batch_size):
            idx = order[b : b + s.batch_size]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(head(feats[idx]), labels[idx]).backward()
            opt.step()
        sched.step()
    return head


def fixed_masks(model: nn.Module, masks: dict[str, Tensor], skip: str) -> MaskSet | None:
    """The upstream masks over the model's prunable weights (the new classifier ``skip`` left
    dense); None when no weight is masked (a dense upstream model)."""
    layers = [layer for layer in prunable_layers(model) if layer.name != skip]
    found = [masks.get(f"{layer.name}.weight") for layer in layers]
    if all(m is None or bool(m.all()) for m in found):
        return None
    ms = MaskSet(layers)
    ms.copy_(
        [
            m.to(ms.flat.device) if m is not None else torch.ones(layer.shape, dtype=torch.bool)
            for m, layer in zip(found, layers, strict=True)
        ]
    )
    ms.apply_to_weights()
    return ms


def train_full(
    model: nn.Module,
    masks: MaskSet | None,
    data: DataLoader,
    norm: Any,
    s: TransferSettings,
    lr: float,
    device: torch.device,
) -> None:
    """Every layer trained (batch norm in train mode); the mask, if any, stays as it is."""
    opt, sched = _sgd(model.parameters(), s, lr)
    for _ in range(s.epochs):
        model.train()
        for x, y in data:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(norm(x.to(device))), y.to(device)).backward()
            if masks is not None:
                masks.apply_to_grads()  # the one gradient mask pass of a sparse step
            opt.step()
        sched.step()
