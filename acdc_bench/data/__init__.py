"""Data by name: ``build_data(cfg)`` returns the train and evaluation loaders of a dataset.

Loaders share one small protocol: ``set_epoch(epoch, resolution)``, ``skip(batches)``,
``len()`` and iteration over ``(images, labels)`` already on the training device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from acdc_bench.config import ConfigError

IN_MEMORY = ("fashion_mnist", "digits", "synthetic", "cifar10", "cifar100")
IMAGE_FILES = ("imagenet", "celeba")  # images of any size read from files: random-resized crops
# dataset name -> scripts/write_ffcv.py --format for its .beton files
FFCV_FORMATS = {"imagenet": "imagefolder", "cifar10": "cifar", "cifar100": "cifar", "celeba": "celeba",
                "fashion_mnist": "fashion_mnist"}


def loaders_for(name: str) -> list[str]:
    """The ``dataset.loader`` values a dataset supports."""
    ffcv = ["ffcv"] if name in FFCV_FORMATS else []
    return [*(["memory"] if name in IN_MEMORY else []), "torchvision", *ffcv]


@dataclass
class DataBundle:
    train: Any
    val: Any
    num_classes: int
    in_chans: int
    train_size: int
    val_size: int


def _load_tensors(cfg: Any, seed: int):
    name = cfg.dataset.name
    from acdc_bench.data import sources

    if name == "fashion_mnist":
        return sources.fashion_mnist(cfg.dataset.root)
    if name == "digits":
        return sources.digits(cfg.dataset.split_seed, cfg.dataset.val_fraction)
    if name == "synthetic":
        return sources.synthetic(cfg.dataset, seed)
    if name in ("cifar10", "cifar100"):
        from acdc_bench.data.image_sources import cifar_arrays

        if cfg.dataset.root is None:
            raise ConfigError("dataset.root", None, "a folder with torchvision's CIFAR python files")
        out = {}
        for split in ("train", "val"):
            x, y, classes = cifar_arrays(cfg.dataset.root, split)
            if classes != int(name[5:]):
                raise ConfigError("dataset.root", cfg.dataset.root, f"{name}'s files (found CIFAR-{classes})")
            out[split] = (torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y))
        return out
    raise ConfigError("dataset.name", name, f"one of {list(IN_MEMORY)}")


def build_data(cfg: Any, device: torch.device, rank: int = 0, world_size: int = 1) -> DataBundle:
    ds = cfg.dataset
    if ds.loader not in loaders_for(ds.name):
        raise ConfigError("dataset.loader", ds.loader, f"one of {loaders_for(ds.name)} for {ds.name}")
    if int(ds.batch_size) % world_size:
        raise ConfigError("dataset.batch_size", ds.batch_size, f"a multiple of the world size {world_size}")
    if ds.loader == "ffcv" or ds.name in IMAGE_FILES:
        return _build_image_data(cfg, device, rank, world_size)
    from acdc_bench.data.sources import subset

    splits = subset(_load_tensors(cfg, cfg.seed), ds.get("train_subset"), ds.get("val_subset"),
                    int(ds.get("split_seed") or 0))
    from acdc_bench.data.tensor_loader import Augment, TensorLoader

    per_rank = int(ds.batch_size) // world_size
    aug = Augment(hflip=bool(ds.augment.hflip), pad_crop=int(ds.augment.pad_crop))
    common = dict(mean=list(ds.mean), std=list(ds.std), device=device, seed=cfg.seed, rank=rank,
                  world_size=world_size)
    if ds.loader == "torchvision":
        from acdc_bench.data.torchvision_loader import TorchvisionLoader as Loader
        common["num_workers"] = int(ds.num_workers)
    else:
        Loader = TensorLoader
    train = Loader(*splits["train"], per_rank, train=True, augment=aug, **common)
    val = Loader(*splits["val"], int(ds.eval_batch_size) // world_size or 1, train=False, **common)
    if len(train) == 0:
        raise ConfigError("dataset.batch_size", ds.batch_size,
                          f"at most the training set size {len(splits['train'][1])}")
    x = splits["train"][0]
    return DataBundle(train, val, int(ds.num_classes), int(x.shape[1]), len(splits["train"][1]),
                      len(splits["val"][1]))


def _build_image_data(cfg: Any, device: torch.device, rank: int, world_size: int) -> DataBundle:
    """FFCV (any dataset with a writer format) or torchvision over image files (ImageNet, CelebA)."""
    ds = cfg.dataset
    r = ds.resolution
    if ds.loader == "ffcv":
        from acdc_bench.data.ffcv_loader import build_ffcv_pair
        from acdc_bench.data.ffcv_writer import write_command

        src = ds.root or "<dataset folder>"
        train, val = build_ffcv_pair(ds, device, int(cfg.seed), rank, world_size, int(r.min_res),
                                     lambda split, out: write_command(FFCV_FORMATS[ds.name], src, split, out))
    else:
        from acdc_bench.data.image_loader import build_file_pair

        train, val = build_file_pair(ds, device, int(cfg.seed), rank, world_size, int(r.min_res))
    _check_labels(ds, train, val)
    if len(train) == 0:
        raise ConfigError("dataset.batch_size", ds.batch_size,
                          f"at most the training set size {train.num_samples}")
    return DataBundle(train, val, int(ds.num_classes), int(ds.in_chans), train.num_samples, val.num_samples)


def _check_labels(ds: Any, train: Any, val: Any) -> None:
    """The model's outputs must match the labels: a class count, or one output per attribute."""
    objective = ds.get("objective", "classification")
    multilabel = objective == "multilabel"
    for loader, field in ((train, "dataset.ffcv_train"), (val, "dataset.ffcv_val")):
        if bool(getattr(loader, "multilabel", False)) != multilabel:
            want, kind = ("attribute vectors", "class indices")[:: 1 if multilabel else -1]
            raise ConfigError(field if ds.loader == "ffcv" else "dataset.root", ds.get(field, ds.root),
                              f"data labelled with {want} for dataset.objective={objective} (found {kind})")
    from acdc_bench.data.ffcv_loader import beton_labels

    for loader, field in ((train, "dataset.ffcv_train"), (val, "dataset.ffcv_val")):
        reader = getattr(loader, "reader", None)
        labels = beton_labels(reader) if reader is not None else getattr(loader.source, "labels", None)
        if labels is not None and not multilabel and labels.size and int(labels.max()) >= int(ds.num_classes):
            where = field if reader is not None else "dataset.root"
            raise ConfigError("dataset.num_classes", ds.num_classes,
                              f"more than the largest label {int(labels.max())} in {where}")

