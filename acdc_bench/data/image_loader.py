"""torchvision's per-image pipeline over image files (ImageNet folders, CelebA), for users without FFCV.

The same transforms as the FFCV pipeline: training takes a random resized crop at the
epoch's resolution and a horizontal flip; evaluation resizes the shorter side to
``eval_res / crop_ratio`` and takes the centre ``eval_res`` square. Images are decoded
and cropped by PIL in ``DataLoader`` worker processes and leave them as uint8; the
conversion to float and the normalisation run on the training device, as with FFCV.

Determinism: the order of an epoch is a permutation seeded by ``(seed, epoch)`` and every
image's crop and flip come from a generator seeded by ``(seed, epoch, image index)``, so
an epoch's batches do not depend on the number of workers and ``skip(n)`` resumes
mid-epoch exactly, without decoding the skipped images.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.v2 import functional as TF  # imported here: forked workers inherit it

from acdc_bench.data.tensor_loader import epoch_generator


def random_resized_crop_box(
    height: int, width: int, scale: tuple[float, float], ratio: tuple[float, float], rng: np.random.Generator
) -> tuple[int, int, int, int]:
    """``(top, left, h, w)`` of a crop covering a uniform share ``scale`` of the area with a
    log-uniform aspect ratio in ``ratio`` (the Inception / torchvision / FFCV rule: ten
    tries, then the largest centred crop within the aspect-ratio bounds)."""
    area = height * width
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(log_lo, log_hi))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        h, w = height, width
    return (height - h) // 2, (width - w) // 2, h, w


class _Transformed(Dataset):
    """Indexed by ``(sample index, epoch)``: the image transformed as that epoch draws it."""

    def __init__(
        self,
        source: Any,
        train: bool,
        resolution: int,
        seed: int,
        hflip: bool,
        scale: tuple[float, float],
        crop_ratio: float,
    ):
        self.source, self.train, self.resolution, self.seed = source, train, resolution, seed
        self.hflip, self.scale, self.crop_ratio = hflip, scale, crop_ratio

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: tuple[int, int]):
        idx, epoch = key
        img, label = self.source[idx]
        res = self.resolution
        if self.train:
            rng = np.random.default_rng([int(self.seed), int(epoch), int(idx)])
            top, left, h, w = random_resized_crop_box(img.height, img.width, self.scale, (3 / 4, 4 / 3), rng)
            img = TF.resized_crop(img, top, left, h, w, [res, res], antialias=True)
            if self.hflip and rng.random() < 0.5:
                img = TF.horizontal_flip(img)
        else:
            img = TF.center_crop(
                TF.resize(img, int(round(res / self.crop_ratio)), antialias=True), [res, res]
            )
        return TF.pil_to_tensor(img), torch.as_tensor(label)


class ImageFileLoader:
    """Yields ``(images, labels)`` like the other loaders: float, normalised, on ``device``.

    ``source`` yields ``(PIL RGB image, label)``; labels are class indices or, for
    attribute vectors (CelebA), float ``N x K``. ``batch_size`` is per rank; with
    ``world_size > 1`` each rank takes an equal, disjoint share of the epoch's order
    (training) or a strided share (evaluation).
    """

    def __init__(
        self,
        source: Any,
        batch_size: int,
        *,
        train: bool,
        mean: list[float],
        std: list[float],
        device: torch.device | str = "cpu",
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 2,
        resolution: int = 224,
        hflip: bool = True,
        rrc_scale: tuple[float, float] = (0.08, 1.0),
        crop_ratio: float = 0.875,
    ):
        self.source, self.batch_size, self.train = source, int(batch_size), train
        self.device = torch.device(device)
        self.seed, self.rank, self.world_size, self.num_workers = (
            int(seed),
            rank,
            world_size,
            int(num_workers),
        )
        self.resolution, self.hflip = int(resolution), bool(hflip)
        self.rrc_scale, self.crop_ratio = tuple(rrc_scale), float(crop_ratio)
        self.multilabel = bool(getattr(source, "multilabel", False))
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, -1, 1, 1) * 255.0
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, -1, 1, 1) * 255.0
        self.epoch, self.skip_batches = 0, 0

    def set_epoch(self, epoch: int, resolution: int | None = None) -> None:
        self.epoch = int(epoch)
        if resolution is not None:
            self.resolution = int(resolution)

    def skip(self, batches: int) -> None:
        """Start the next iteration ``batches`` batches into the epoch (mid-epoch resume)."""
        self.skip_batches = int(batches)

    @property
    def num_samples(self) -> int:
        return len(self.source)

    def indices(self) -> Tensor:
        """The sample indices this rank visits in the current epoch, in order."""
        n = len(self.source)
        if not self.train:
            return torch.arange(self.rank, n, self.world_size)
        order = torch.randperm(n, generator=epoch_generator(self.seed, self.epoch))
        per_rank = n // self.world_size
        return order[self.rank * per_rank : (self.rank + 1) * per_rank]

    def __len__(self) -> int:
        n = len(self.indices())
        return n // self.batch_size if self.train else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        start, self.skip_batches = self.skip_batches, 0
        idx = self.indices()[start * self.batch_size : len(self) * self.batch_size if self.train else None]
        data = _Transformed(
            self.source, self.train, self.resolution, self.seed, self.hflip, self.rrc_scale, self.crop_ratio
        )
        loader = DataLoader(
            data,
            batch_size=self.batch_size,
            sampler=[(int(i), self.epoch) for i in idx],
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
        )
        for x, y in loader:
            x = x.to(self.device, non_blocking=True).float()
            y = y.to(self.device, non_blocking=True)
            yield (x - self.mean) / self.std, (y.float() if self.multilabel else y.long())


def build_file_pair(
    ds: Any, device: torch.device, seed: int, rank: int, world_size: int, train_res: int
) -> tuple[ImageFileLoader, ImageFileLoader]:
    """The train and evaluation loaders of ``cfg.dataset`` (``ds``) over ``dataset.root``.

    ImageNet: ``root/train`` and ``root/val`` class folders. CelebA: torchvision's layout,
    evaluated on the partition ``dataset.eval_split`` (``val`` or ``test``).
    """
    from acdc_bench.config import ConfigError
    from acdc_bench.data.image_sources import CelebASource, ImageFolderSource

    if ds.root is None:
        raise ConfigError(
            "dataset.root",
            None,
            f"the folder holding {ds.name} for the torchvision loader "
            "(or dataset.loader=ffcv with dataset.ffcv_train/ffcv_val)",
        )
    if ds.name == "celeba":
        eval_split = str(ds.get("eval_split", "val"))
        if eval_split not in ("val", "test"):
            raise ConfigError("dataset.eval_split", eval_split, "one of ['val', 'test']")
        sources = CelebASource(ds.root, "train"), CelebASource(ds.root, eval_split)
    else:
        sources = tuple(ImageFolderSource(f"{ds.root}/{split}") for split in ("train", "val"))
    common = dict(
        mean=list(ds.mean),
        std=list(ds.std),
        device=device,
        seed=seed,
        rank=rank,
        world_size=world_size,
        num_workers=int(ds.num_workers),
    )
    train = ImageFileLoader(
        sources[0],
        int(ds.batch_size) // world_size,
        train=True,
        resolution=train_res,
        hflip=bool(ds.augment.hflip),
        rrc_scale=tuple(ds.augment.get("rrc_scale", (0.08, 1.0))),
        **common,
    )
    val = ImageFileLoader(
        sources[1],
        max(int(ds.eval_batch_size) // world_size, 1),
        train=False,
        resolution=int(ds.eval_res),
        crop_ratio=float(ds.get("eval_crop_ratio", 0.875)),
        **common,
    )
    return train, val
