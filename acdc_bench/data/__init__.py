"""Data by name: ``build_data(cfg)`` returns the train and evaluation loaders of a dataset.

Every loader implements :class:`~acdc_bench.data.loader.Loader` (``set_epoch(epoch,
resolution)``, ``skip(batches)``, ``len()``, ``num_samples`` and iteration over
``(images, labels)`` already on the training device). Which loader serves a dataset is
decided by its :class:`~acdc_bench.data.datasets.DatasetSpec` (fixed-size sets held in
memory or image files) and ``dataset.loader``; the dataset's settings are read once into
:class:`~acdc_bench.data.datasets.DataSettings`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any

import torch

from acdc_bench.data.datasets import DATASETS, DatasetSpec, DataSettings
from acdc_bench.data.loader import Loader, RankShare
from acdc_bench.data.tensor_loader import Augment, TensorLoader
from acdc_bench.errors import ConfigError

__all__ = ["DATASETS", "DataBundle", "DataSettings", "DatasetSpec", "Loader", "build_data", "loaders_for"]


def loaders_for(name: str) -> list[str]:
    """The ``dataset.loader`` values a dataset supports."""
    return list(DATASETS[name].loaders)


@dataclass
class DataBundle:
    train: Loader
    val: Loader
    num_classes: int
    in_chans: int
    train_size: int
    val_size: int
    # generic per-epoch measurements (``measure(model) -> dict``, e.g. the corrupted-label
    # probe) and files for the run directory (relative path -> text); the trainer logs and
    # writes them without knowing what they are
    probes: tuple[Any, ...] = ()
    artefacts: dict[str, str] = dataclasses.field(default_factory=dict)


def build_data(cfg: Any, device: torch.device, rank: int = 0, world_size: int = 1, *,
               in_order: bool = False, settings: DataSettings | None = None) -> DataBundle:
    """The loaders of ``cfg.dataset`` for this rank (``dataset.batch_size`` is split over ranks).
    ``in_order``: the training split as evaluation reads it (dataset order, no augmentation,
    nothing dropped), for analyses of finished runs (``acdc_bench.analysis``). ``settings``:
    ``cfg.dataset`` as the task read it when it started (read here when not given)."""
    ds = DataSettings.read(cfg) if settings is None else settings
    if ds.batch_size % world_size:
        raise ConfigError("dataset.batch_size", ds.batch_size, f"a multiple of the world size {world_size}")
    if ds.spec.build is not None:  # text data sets build their own loaders (acdc_bench/data/text)
        return ds.spec.build(ds, cfg, device, rank, world_size)
    seed = int(cfg.seed)
    extras: dict[str, Any] = {}
    if ds.loader == "ffcv":
        train, val = _ffcv_pair(ds, device, seed, rank, world_size, in_order)
    elif ds.spec.fixed_size:
        train, val, extras = _tensor_pair(ds, device, seed, rank, world_size, in_order)
    else:
        train, val = _file_pair(ds, device, seed, rank, world_size, in_order)
    if ds.loader == "ffcv" or not ds.spec.fixed_size:
        _check_labels(ds, train, val)
    if len(train) == 0:
        raise ConfigError("dataset.batch_size", ds.batch_size,
                          f"at most the training set size {train.num_samples}")
    # held in memory: the channels of the tensors themselves
    in_chans = int(train.images.shape[1]) if isinstance(train, TensorLoader) else ds.in_chans
    return DataBundle(train, val, ds.num_classes, in_chans, train.num_samples, val.num_samples, **extras)


def _tensor_pair(ds: DataSettings, device: torch.device, seed: int, rank: int, world_size: int,
                 in_order: bool = False):
    """A fixed-size set held in memory: whole-batch augmentation (memory) or per image (torchvision)."""
    from acdc_bench.data.sources import subset
    from acdc_bench.data.torchvision_loader import TorchvisionLoader

    splits = subset(ds.spec.source(ds, seed), ds.train_subset, ds.val_subset, ds.split_seed)
    common: dict[str, Any] = dict(mean=list(ds.mean), std=list(ds.std), device=device, seed=seed, rank=rank,
                                  world_size=world_size)
    cls = TensorLoader
    if ds.loader == "torchvision":
        cls, common["num_workers"] = TorchvisionLoader, ds.num_workers
    extras: dict[str, Any] = {}
    if ds.corrupt_labels:  # dataset.corrupt_labels: a seeded subset of wrong training labels
        from acdc_bench.data.corruption import corrupt_split

        images, labels = splits["train"]
        # every rank probes all corrupted samples (a small set), so rows agree without a reduce
        probe_common = {**common, "rank": 0, "world_size": 1}
        labels, probe, files = corrupt_split(
            images, labels, ds.corrupt_labels, ds.num_classes, seed,
            lambda x, y: cls(x, y, ds.eval_batch_size, train=False, **probe_common))
        splits = {**splits, "train": (images, labels)}
        extras = {"probes": (probe,), "artefacts": files}
    if in_order:
        train = cls(*splits["train"], ds.per_rank(ds.eval_batch_size, world_size), train=False, **common)
    else:
        train = cls(*splits["train"], ds.batch_size // world_size, train=True,
                    augment=Augment(hflip=ds.hflip, pad_crop=ds.pad_crop), **common)
    val = cls(*splits["val"], ds.per_rank(ds.eval_batch_size, world_size), train=False, **common)
    return train, val, extras


def _file_pair(ds: DataSettings, device: torch.device, seed: int, rank: int, world_size: int,
               in_order: bool = False):
    """Image files read by torchvision in worker processes (ImageNet folders, CelebA)."""
    from acdc_bench.data.image_loader import ImageFileLoader

    if ds.root is None:
        raise ConfigError("dataset.root", None, f"the folder holding {ds.name} for the torchvision loader "
                          "(or dataset.loader=ffcv with dataset.ffcv_train/ffcv_val)")
    sources = ds.spec.source(ds, seed)
    common: dict[str, Any] = dict(mean=list(ds.mean), std=list(ds.std), device=device, seed=seed, rank=rank,
                                  world_size=world_size, num_workers=ds.num_workers)
    if in_order:
        train = ImageFileLoader(sources[0], ds.per_rank(ds.eval_batch_size, world_size), train=False,
                                resolution=ds.eval_res, crop_ratio=ds.eval_crop_ratio, **common)
    else:
        train = ImageFileLoader(sources[0], ds.batch_size // world_size, train=True, resolution=ds.min_res,
                                hflip=ds.hflip, rrc_scale=ds.rrc_scale, **common)
    val = ImageFileLoader(sources[1], ds.per_rank(ds.eval_batch_size, world_size), train=False,
                          resolution=ds.eval_res, crop_ratio=ds.eval_crop_ratio, **common)
    return train, val


def _ffcv_pair(ds: DataSettings, device: torch.device, seed: int, rank: int, world_size: int,
               in_order: bool = False):
    """FFCV over the dataset's ``.beton`` files (``dataset.ffcv_train`` / ``ffcv_val``)."""
    from acdc_bench.data.ffcv_loader import FFCVLoader, FFCVOptions
    from acdc_bench.data.ffcv_writer import write_command

    def how_to_create(split: str, path: str | None, default: str) -> str:
        return write_command(ds.spec.ffcv_format, ds.root or "<dataset folder>", split, path or default)

    whole = ds.spec.fixed_size
    share = RankShare(ds.batch_size // world_size, True, seed, rank, world_size)
    train = FFCVOptions(
        share, crop="native" if whole else "rrc", resolution=ds.min_res, mean=ds.mean, std=ds.std,
        in_chans=ds.in_chans, hflip=ds.hflip, pad_crop=ds.pad_crop, rrc_scale=ds.rrc_scale,
        crop_ratio=ds.eval_crop_ratio, num_workers=ds.num_workers, os_cache=ds.os_cache, order=ds.ffcv_order,
        device=device, field="dataset.ffcv_train",
        how_to_create=how_to_create("train", ds.ffcv_train, "TRAIN.beton"),
    )
    val_share = replace(share, batch_size=ds.per_rank(ds.eval_batch_size, world_size), train=False)
    val = replace(train, share=val_share, crop="native" if whole else "centre", resolution=ds.eval_res,
                  field="dataset.ffcv_val", how_to_create=how_to_create("val", ds.ffcv_val, "VAL.beton"))
    if in_order:  # the training file read as the evaluation split is
        train = replace(val, field="dataset.ffcv_train", how_to_create=train.how_to_create)
    return FFCVLoader(ds.ffcv_train, train), FFCVLoader(ds.ffcv_val, val)


def _check_labels(ds: DataSettings, train: Any, val: Any) -> None:
    """The model's outputs must match the labels: a class count, or one output per attribute."""
    multilabel = ds.objective == "multilabel"
    files = {"dataset.ffcv_train": ds.ffcv_train, "dataset.ffcv_val": ds.ffcv_val}
    for loader, field in ((train, "dataset.ffcv_train"), (val, "dataset.ffcv_val")):
        if bool(getattr(loader, "multilabel", False)) != multilabel:
            want, kind = ("attribute vectors", "class indices")[:: 1 if multilabel else -1]
            where, value = (field, files[field]) if ds.loader == "ffcv" else ("dataset.root", ds.root)
            objective = f"dataset.objective={ds.objective}"
            raise ConfigError(where, value, f"data labelled with {want} for {objective} (found {kind})")
    from acdc_bench.data.ffcv_loader import beton_labels

    for loader, field in ((train, "dataset.ffcv_train"), (val, "dataset.ffcv_val")):
        reader = getattr(loader, "reader", None)
        labels = beton_labels(reader) if reader is not None else getattr(loader.source, "labels", None)
        if labels is not None and not multilabel and labels.size and int(labels.max()) >= ds.num_classes:
            where = field if reader is not None else "dataset.root"
            raise ConfigError("dataset.num_classes", ds.num_classes,
                              f"more than the largest label {int(labels.max())} in {where}")
