"""A loader over a dataset held in memory as one tensor, augmenting whole batches at once.

Small datasets (Fashion-MNIST, digits, synthetic) fit in memory; batching them from one
tensor avoids per-image Python and PIL work, which on a 2-core CPU costs more than the
model. Order and augmentation come from a generator seeded by (seed, epoch), so an epoch's
batches are a pure function of the epoch: resume needs nothing but the counters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from acdc_bench.data.loader import IndexedLoader, Normalise, RankShare, epoch_generator, to_device


@dataclass
class Augment:
    hflip: bool = False
    pad_crop: int = 0  # random crop of the original size after zero-padding by this many pixels


class TensorLoader(IndexedLoader):
    """Yields ``(images, labels)`` batches: float, normalised, on ``device``.

    ``images`` is ``N x C x H x W`` (uint8 scaled by 1/255, or float as is). With
    ``world_size > 1`` every rank takes its :class:`~acdc_bench.data.loader.RankShare` of
    each epoch. ``batch_size`` is the per-rank batch.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        batch_size: int,
        *,
        train: bool,
        mean: list[float],
        std: list[float],
        augment: Augment | None = None,
        device: torch.device | str = "cpu",
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        self.images, self.labels = images, labels
        self.share = RankShare(int(batch_size), train, seed, rank, world_size)
        self.batch_size, self.train = int(batch_size), train
        self.augment = augment or Augment()
        self.device = torch.device(device)
        self.normalise = Normalise(mean, std, self.device, channels=images.shape[1])
        self.scale = 1.0 / 255.0 if images.dtype == torch.uint8 else 1.0
        self.resolution = int(images.shape[-1])

    @property
    def num_samples(self) -> int:
        return len(self.labels)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        idx = self.indices()
        gen = epoch_generator(self.share.seed, self.epoch, salt=1 + self.share.rank)
        nb = len(self)
        start = self._take_skip()
        for b in range(nb):
            sel = idx[b * self.batch_size : (b + 1) * self.batch_size]
            # Draw this batch's augmentation even when skipping it, so that a resumed
            # epoch continues with exactly the random numbers it would have used.
            aug = self._draw(len(sel), gen) if self.train else None
            if b < start:
                continue
            x = to_device(self.images[sel], self.device)
            y = to_device(self.labels[sel], self.device)
            x = x.float() * self.scale
            if aug is not None:
                x = self._apply(x, aug)
            if x.shape[-1] != self.resolution:
                x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", antialias=True)
            yield self.normalise(x), y

    def _draw(self, n: int, gen: torch.Generator) -> dict[str, Tensor]:
        out = {}
        if self.augment.hflip:
            out["flip"] = torch.rand(n, generator=gen) < 0.5
        if self.augment.pad_crop:
            p = self.augment.pad_crop
            out["offsets"] = torch.randint(0, 2 * p + 1, (n, 2), generator=gen)
        return out

    def _apply(self, x: Tensor, aug: dict[str, Tensor]) -> Tensor:
        if "flip" in aug:
            flip = aug["flip"].to(x.device).view(-1, 1, 1, 1)
            x = torch.where(flip, x.flip(-1), x)
        if "offsets" in aug:
            p = self.augment.pad_crop
            n, c, h, w = x.shape
            padded = F.pad(x, (p, p, p, p))
            off = aug["offsets"].to(x.device)
            rows = (off[:, 0:1] + torch.arange(h, device=x.device)).view(n, 1, h, 1)
            cols = (off[:, 1:2] + torch.arange(w, device=x.device)).view(n, 1, 1, w)
            x = padded.gather(2, rows.expand(n, c, h, w + 2 * p)).gather(3, cols.expand(n, c, h, w))
        return x

