"""Data by name: ``build_data(cfg)`` returns the train and evaluation loaders of a dataset.

Loaders share one small protocol: ``set_epoch(epoch, resolution)``, ``skip(batches)``,
``len()`` and iteration over ``(images, labels)`` already on the training device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from acdc_bench.config import ConfigError

IN_MEMORY = ("fashion_mnist", "digits", "synthetic")


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
    raise ConfigError("dataset.name", name, f"one of {list(IN_MEMORY)}")


def build_data(cfg: Any, device: torch.device, rank: int = 0, world_size: int = 1) -> DataBundle:
    ds = cfg.dataset
    if ds.loader not in ("memory", "torchvision"):
        raise ConfigError("dataset.loader", ds.loader, "one of ['memory', 'torchvision'] for this dataset")
    splits = _load_tensors(cfg, cfg.seed)
    from acdc_bench.data.tensor_loader import Augment, TensorLoader

    if int(ds.batch_size) % world_size:
        raise ConfigError("dataset.batch_size", ds.batch_size, f"a multiple of the world size {world_size}")
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
