"""What every loader is: the :class:`Loader` protocol the trainer relies on, and the pieces
all loaders share so that each is written once: one rank's share of an epoch's order
(:class:`RankShare`), the normalisation on the training device (:class:`Normalise`) and
the epoch / resolution / resume bookkeeping (:class:`EpochCursor`).

The memory loader (:mod:`~acdc_bench.data.tensor_loader`), the torchvision loaders
(:mod:`~acdc_bench.data.torchvision_loader`, :mod:`~acdc_bench.data.image_loader`) and the
FFCV loader (:mod:`~acdc_bench.data.ffcv_loader`) implement it; a new loader implements
these five members and the trainer needs nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor


@runtime_checkable
class Loader(Protocol):
    """Batches ``(images, labels)`` already normalised and on the training device.

    An epoch's batches are chosen by :meth:`set_epoch` before iterating (its order, and the
    training resolution from the progressive-resizing schedule); :meth:`skip` makes the next
    iteration start part-way through the epoch (mid-epoch resume). ``len()`` is the number
    of batches of one epoch on this rank; ``num_samples`` the size of the whole split.
    """

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]: ...

    def set_epoch(self, epoch: int, resolution: int | None = None) -> None: ...

    def skip(self, batches: int) -> None: ...

    @property
    def num_samples(self) -> int: ...


def epoch_generator(seed: int, epoch: int, salt: int = 0) -> torch.Generator:
    """A generator seeded by ``(seed, epoch, salt)``: an epoch's draws are a pure function of
    the epoch, so resume needs nothing but the counters."""
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + int(epoch) * 7919 + salt) % (2**63))


@dataclass(frozen=True)
class RankShare:
    """One rank's share of a split. Training: an equal, disjoint slice of the epoch's
    permutation (seeded by ``(seed, epoch)``), the last partial batch dropped. Evaluation: a
    strided share in the split's order, nothing dropped or padded (the trainer all-reduces
    the sums, so padding would bias the metrics). ``batch_size`` is per rank."""

    batch_size: int
    train: bool
    seed: int = 0
    rank: int = 0
    world_size: int = 1

    def indices(self, n: int, epoch: int) -> Tensor:
        """The sample indices of a split of ``n`` this rank visits in ``epoch``, in order."""
        if not self.train:
            return torch.arange(self.rank, n, self.world_size)
        order = torch.randperm(n, generator=epoch_generator(self.seed, epoch))
        per_rank = n // self.world_size
        return order[self.rank * per_rank : (self.rank + 1) * per_rank]

    def batches(self, n: int) -> int:
        """Batches per epoch on this rank for a split of ``n`` samples."""
        if self.train:
            return (n // self.world_size) // self.batch_size
        return -(-len(range(self.rank, n, self.world_size)) // self.batch_size)


def to_device(t: Tensor, device: torch.device) -> Tensor:
    """``t`` (on the host) on ``device``. To a GPU through pinned memory, so that the copy is
    asynchronous: ``non_blocking=True`` from pageable memory waits for the copy all the same."""
    if device.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device, non_blocking=True)


class Normalise:
    """``(x - mean) / std`` per channel on the training device.

    ``pixel_max`` is the range of the pixels it is given: 1 for images already scaled to
    [0, 1], 255 for uint8 pixels converted to float (the statistics are scaled instead of
    the images, one multiplication fewer per pixel; FFCV's recipe does the same).
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], device: torch.device | str,
                 channels: int = -1, pixel_max: float = 1.0):
        def stat(values: Sequence[float]) -> Tensor:
            stats = torch.tensor(list(values), dtype=torch.float32, device=device)
            return stats.view(1, channels, 1, 1) * pixel_max

        self.mean, self.std = stat(mean), stat(std)

    def __call__(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class EpochCursor:
    """The protocol's bookkeeping: the epoch and resolution of the next iteration, and the
    batches it skips (set by :meth:`skip`, used once by the iteration that follows)."""

    epoch: int = 0
    resolution: int
    skip_batches: int = 0

    def set_epoch(self, epoch: int, resolution: int | None = None) -> None:
        self.epoch = int(epoch)
        if resolution is not None:
            self.resolution = int(resolution)

    def skip(self, batches: int) -> None:
        """Start the next iteration ``batches`` batches into the epoch (mid-epoch resume)."""
        self.skip_batches = int(batches)

    def _take_skip(self) -> int:
        """The batches this iteration skips; later iterations start at the beginning again."""
        start, self.skip_batches = self.skip_batches, 0
        return start


class IndexedLoader(EpochCursor):
    """A loader that indexes its split itself (memory, torchvision): ``share`` picks this
    rank's samples of each epoch and the number of batches."""

    share: RankShare

    @property
    def num_samples(self) -> int:
        raise NotImplementedError

    def indices(self) -> Tensor:
        """The sample indices this rank visits in the current epoch, in order."""
        return self.share.indices(self.num_samples, self.epoch)

    def __len__(self) -> int:
        return self.share.batches(self.num_samples)
