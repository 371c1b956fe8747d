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

from acdc_bench.data.loader import IndexedLoader, Normalise, RankShare


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


class ImageFileLoader(IndexedLoader):
    """Yields ``(images, labels)`` like the other loaders: float, normalised, on ``device``.

    ``source`` yields ``(PIL RGB image, label)``; labels are class indices or, for
    attribute vectors (CelebA), float ``N x K``. ``batch_size`` is per rank; with
    ``world_size > 1`` each rank takes its :class:`~acdc_bench.data.loader.RankShare`.
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
        self.share = RankShare(int(batch_size), train, int(seed), rank, world_size)
        self.device, self.num_workers = torch.device(device), int(num_workers)
        self.resolution, self.hflip = int(resolution), bool(hflip)
        self.rrc_scale, self.crop_ratio = tuple(rrc_scale), float(crop_ratio)
        self.multilabel = bool(getattr(source, "multilabel", False))
        self.normalise = Normalise(mean, std, self.device, pixel_max=255.0)

    @property
    def num_samples(self) -> int:
        return len(self.source)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        start = self._take_skip()
        idx = self.indices()[start * self.batch_size : len(self) * self.batch_size if self.train else None]
        data = _Transformed(
            self.source, self.train, self.resolution, self.share.seed, self.hflip, self.rrc_scale,
            self.crop_ratio,
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
            yield self.normalise(x), (y.float() if self.multilabel else y.long())
