"""Downstream datasets by name: the twelve of paper 001's Table F.6, read from a user's folder
(never downloaded), and small offline tasks for tests and CPU twins.

Each entry of :data:`DOWNSTREAM` builds ``(train, test)`` sequences of ``(image, label)``:
PIL images for the folders (torchvision's own dataset class where it has one with the
benchmark's split, else ``ImageFolder`` over ``<root>/train`` and ``<root>/test``), uint8
``C x H x W`` tensors for the offline tasks. The facts of each dataset (classes, metric,
layout) are in ``conf/downstream/<name>.yaml``. A missing or unreadable root is one
:class:`ConfigError` line naming the dataset and the layout expected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from acdc_bench.errors import ConfigError

Splits = tuple[Sequence[tuple[Any, int]], Sequence[tuple[Any, int]]]


@dataclass(frozen=True)
class DownstreamSpec:
    """``downstream`` facts as read from ``conf/downstream/<name>.yaml`` (see
    :meth:`acdc_bench.transfer.settings.read_downstream`)."""

    name: str
    root: str | None
    num_classes: int
    metric: str  # top1 | mean_class (Table F.6)
    layout: str  # what the root must hold, for the one-line error
    full_lr: float | None  # full fine-tuning LR of this dataset ([33]: 0.01 for Aircraft and Cars)
    augment: bool  # random resized crop + flip for full fine-tuning (natural images)
    train_size: int | None  # offline tasks: images kept per split (None: all)
    test_size: int | None
    split_seed: int


class TensorPairs:
    """``(uint8 C x H x W image, label)`` pairs from two tensors (offline tasks)."""

    def __init__(self, images: Tensor, labels: Tensor):
        self.images, self.labels = images, labels.long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return self.images[i], int(self.labels[i])


def _missing(spec: DownstreamSpec, detail: str = "") -> ConfigError:
    extra = f" ({detail})" if detail else ""
    return ConfigError(
        f"transfer.roots.{spec.name}", spec.root, f"{spec.name}'s folder: {spec.layout}{extra}"
    )


def _root(spec: DownstreamSpec) -> str:
    if not spec.root or not Path(spec.root).expanduser().is_dir():
        raise _missing(spec)
    return str(Path(spec.root).expanduser())


def check_root(spec: DownstreamSpec) -> None:
    """A task that reads a folder has one (before any work): the one-line error otherwise."""
    if spec.name not in NO_ROOT:
        _root(spec)


def _torchvision(
    cls_name: str, train: dict[str, Any], test: dict[str, Any]
) -> Callable[[DownstreamSpec], Splits]:
    """A torchvision dataset class with the benchmark's splits (``download=False`` always)."""

    def build(spec: DownstreamSpec) -> Splits:
        import torchvision.datasets as tvd

        root, cls = _root(spec), getattr(tvd, cls_name)

        def make(kw: dict[str, Any]) -> Any:
            parts = kw.get("splits")
            if parts:  # e.g. DTD and Flowers-102 train on train + val
                base = {k: v for k, v in kw.items() if k != "splits"}
                return torch.utils.data.ConcatDataset(
                    [cls(root, split=p, download=False, **base) for p in parts]
                )
            return cls(root, download=False, **kw)

        try:
            return make(train), make(test)
        except (RuntimeError, OSError, FileNotFoundError, ValueError) as err:
            raise _missing(spec, str(err).splitlines()[0] if str(err) else type(err).__name__) from None

    return build


def _image_folders(spec: DownstreamSpec) -> Splits:
    """``<root>/train/<class>/*`` and ``<root>/test/<class>/*`` (torchvision's ImageFolder order)."""
    from torchvision.datasets import ImageFolder

    root = _root(spec)
    try:
        return ImageFolder(f"{root}/train"), ImageFolder(f"{root}/test")
    except (FileNotFoundError, OSError) as err:
        raise _missing(spec, str(err).splitlines()[0]) from None


def _split(x: Tensor, y: Tensor, spec: DownstreamSpec, test_fraction: float = 0.5) -> Splits:
    """A fixed random train/test split (``split_seed``), each cut to ``train_size``/``test_size``."""
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(spec.split_seed))
    n_test = int(round(len(y) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    train = train[: spec.train_size] if spec.train_size else train
    test = test[: spec.test_size] if spec.test_size else test
    return TensorPairs(x[train], y[train]), TensorPairs(x[test], y[test])


def _digits(spec: DownstreamSpec) -> Splits:
    """scikit-learn's 8x8 digits (it ships them): 10 classes, half train, half test."""
    from acdc_bench.data.sources import digits_arrays

    images, labels = digits_arrays()
    x = (torch.tensor(images, dtype=torch.float32) * (255.0 / 16.0)).round().to(torch.uint8).unsqueeze(1)
    return _split(x, torch.tensor(labels), spec)


# Fashion-MNIST's classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
# 7 Sneaker, 8 Bag, 9 Ankle boot. Coarse: upper-body garments, trousers and dresses, footwear, bags.
FASHION_COARSE = (0, 1, 0, 1, 0, 2, 0, 2, 3, 2)


def _fashion_test(spec: DownstreamSpec) -> tuple[Tensor, Tensor]:
    """Fashion-MNIST's test split (the upstream twins train on a slice of the train split)."""
    from acdc_bench.data.sources import fashion_mnist

    try:
        return fashion_mnist(_root(spec))["val"]
    except ConfigError:
        raise _missing(spec) from None


def _fashion_coarse(spec: DownstreamSpec) -> Splits:
    x, y = _fashion_test(spec)
    return _split(x, torch.tensor(FASHION_COARSE)[y], spec)


def _fashion_rot90(spec: DownstreamSpec) -> Splits:
    """The ten classes, every image turned by 90 degrees: the same labels in a shifted domain."""
    x, y = _fashion_test(spec)
    return _split(torch.rot90(x, 1, dims=(-2, -1)).contiguous(), y, spec)


NO_ROOT = ("digits",)  # shipped by a package
DOWNSTREAM: dict[str, Callable[[DownstreamSpec], Splits]] = {
    # Table F.6 (paper 001): torchvision's class where it has the benchmark's split
    "aircraft": _torchvision(
        "FGVCAircraft",
        {"split": "trainval", "annotation_level": "variant"},
        {"split": "test", "annotation_level": "variant"},
    ),
    "cars": _torchvision("StanfordCars", {"split": "train"}, {"split": "test"}),
    "cifar10": _torchvision("CIFAR10", {"train": True}, {"train": False}),
    "cifar100": _torchvision("CIFAR100", {"train": True}, {"train": False}),
    "dtd": _torchvision(
        "DTD", {"splits": ["train", "val"], "partition": 1}, {"split": "test", "partition": 1}
    ),
    "flowers": _torchvision("Flowers102", {"splits": ["train", "val"]}, {"split": "test"}),
    "food101": _torchvision("Food101", {"split": "train"}, {"split": "test"}),
    "pets": _torchvision("OxfordIIITPet", {"split": "trainval"}, {"split": "test"}),
    # no torchvision class with the benchmark's split: class folders
    "birdsnap": _image_folders,
    "caltech101": _image_folders,
    "caltech256": _image_folders,
    "sun397": _image_folders,
    # offline tasks (tests, CPU twins)
    "digits": _digits,
    "fashion_coarse": _fashion_coarse,
    "fashion_rot90": _fashion_rot90,
}
