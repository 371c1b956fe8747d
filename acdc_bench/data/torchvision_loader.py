"""torchvision's per-sample pipeline (``torch.utils.data.DataLoader`` with workers).

For users without FFCV and to compare loaders: the same order, the same kinds of
augmentation as :class:`TensorLoader`, applied image by image in worker processes.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from acdc_bench.data.loader import epoch_generator
from acdc_bench.data.tensor_loader import TensorLoader


class _Images(Dataset):
    def __init__(self, images: Tensor, labels: Tensor, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        x = self.images[i]
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x
        return self.transform(x), self.labels[i]


class TorchvisionLoader(TensorLoader):
    def __init__(self, images: Tensor, labels: Tensor, batch_size: int, *, num_workers: int = 0, **kw):
        super().__init__(images, labels, batch_size, **kw)
        self.num_workers = num_workers

    def _transform(self):
        from torchvision.transforms import v2

        ops = [v2.Resize(self.resolution, antialias=True)] if self.resolution != self.images.shape[-1] else []
        if self.train and self.augment.pad_crop:
            ops.append(v2.RandomCrop(self.images.shape[-1], padding=self.augment.pad_crop))
        if self.train and self.augment.hflip:
            ops.append(v2.RandomHorizontalFlip())
        norm = self.normalise
        ops.append(v2.Normalize(norm.mean.flatten().tolist(), norm.std.flatten().tolist()))
        return v2.Compose(ops)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        idx = self.indices()
        n = len(self) * self.batch_size if self.train else len(idx)
        start = self._take_skip()
        idx = idx[start * self.batch_size : n]
        loader = DataLoader(
            _Images(self.images, self.labels, self._transform()),
            batch_size=self.batch_size,
            sampler=idx.tolist(),
            num_workers=self.num_workers,
            generator=epoch_generator(self.share.seed, self.epoch, salt=1 + self.share.rank + 1000 * start),
            persistent_workers=False,
            pin_memory=self.device.type == "cuda",  # asynchronous copies to the GPU
        )
        for x, y in loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
