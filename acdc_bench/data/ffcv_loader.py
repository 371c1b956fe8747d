"""FFCV loaders over ``.beton`` files: JIT-compiled decoding and augmentation in threads.

Training (images of varying size: ImageNet, CelebA): random-resized-crop decoding at the
epoch's resolution, then a horizontal flip. Evaluation: a centre crop of ``crop_ratio``
times the shorter side, resized to ``eval_res`` (0.875: the 224-of-256 protocol). Sets
of fixed-size images (CIFAR, Fashion-MNIST) are decoded whole and augmented by random
translation (``pad_crop``) and flip, like the in-memory loader. Batches leave FFCV as
uint8; the conversion to float and the normalisation run on the training device.

Progressive resizing: :meth:`FFCVLoader.set_epoch` sets the decoder's output size; FFCV
sizes its buffers when an epoch's iteration starts, so the new resolution applies from
the next epoch, with no recompilation.

Determinism: the sample order of an epoch is a pure function of ``(seed, epoch)``
(FFCV's random order seeded with ``seed + epoch``; with DDP, torch's
``DistributedSampler`` with that seed and epoch), so resuming reproduces it. The random
crop, flip and translation draws happen in FFCV's numba worker threads, whose random
streams cannot be seeded per epoch: they are not reproduced on resume. ``skip(n)``
(mid-epoch resume) decodes and discards the first ``n`` batches: FFCV has no way to
start an epoch part-way through its order.

Threads: importing FFCV, building a loader and starting each epoch's iteration set
torch's thread count to FFCV's worker count; every one of these is undone here, so the
model trains with the threads the process had before.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from acdc_bench.data.loader import EpochCursor, Normalise, RankShare
from acdc_bench.errors import ConfigError

ORDERS = ("random", "quasi_random")


@contextmanager
def keep_torch_threads():
    """Restore torch's thread count after FFCV code that changes it (import, loader, epoch start)."""
    threads = torch.get_num_threads()
    try:
        yield threads
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def import_ffcv() -> None:
    """Import FFCV without letting it lower torch's thread count; a clear error without it."""
    with keep_torch_threads():
        try:
            import ffcv  # noqa: F401
            import ffcv.loader  # noqa: F401
        except ImportError as err:
            raise ConfigError(
                "dataset.loader",
                "ffcv",
                f"torchvision, or FFCV installed (pip install 'acdc-bench[ffcv]'): {err}",
            ) from err


def open_reader(path: str | None, field: str, how_to_create: str):
    """FFCV's reader of ``path``; a missing or unreadable file is a ConfigError quoting ``how_to_create``."""
    if not path:
        raise ConfigError(field, path, f"a .beton file; create it with: {how_to_create}")
    p = Path(str(path)).expanduser()
    if not p.is_file():
        raise ConfigError(field, str(p), f"an existing .beton file; create it with: {how_to_create}")
    import_ffcv()
    from ffcv.reader import Reader

    try:
        reader = Reader(str(p))
        if reader.num_samples == 0:
            raise ValueError("no samples")
    except Exception as err:  # FFCV raises assorted numpy/assertion errors on a damaged file
        raise ConfigError(
            field,
            str(p),
            f"a readable .beton file ({type(err).__name__}: {err}); "
            f"re-create it with: {how_to_create} --force",
        ) from err
    if not {"image", "label"} <= set(reader.handlers):
        raise ConfigError(
            field,
            str(p),
            f"a .beton with 'image' and 'label' fields (found {list(reader.handlers)}); "
            f"create it with: {how_to_create}",
        )
    return reader


def beton_labels(reader: Any) -> np.ndarray | None:
    """Integer labels straight from the file's metadata (no decoding); None for vector labels."""
    from ffcv.fields import IntField

    if not isinstance(reader.handlers["label"], IntField):
        return None
    ix = reader.field_names.index("label")
    return np.asarray(reader.metadata[f"f{ix}"], dtype=np.int64)


@dataclass(frozen=True)
class FFCVOptions:
    """Everything an :class:`FFCVLoader` needs besides its file, in one object (the train and
    evaluation loaders of a run differ in a few fields: ``dataclasses.replace``).

    ``crop``: ``"rrc"`` (training, random resized crop at the epoch's resolution, area share
    ``rrc_scale``), ``"centre"`` (evaluation, centre crop of ``crop_ratio`` times the shorter
    side resized to the resolution) or ``"native"`` (whole fixed-size images, translated by
    up to ``pad_crop`` pixels when training, resized on the device when the resolution
    differs). ``share``: the batch per rank, training or not, the seed of FFCV's orders and
    the rank's place (FFCV shares an epoch between ranks itself, as ``share`` would).
    ``resolution`` None is the file's native size. ``num_workers`` are FFCV's threads;
    ``os_cache`` memory-maps the file; ``order`` is one of :data:`ORDERS`. ``field`` and
    ``how_to_create`` only word the errors about the file.
    """

    share: RankShare
    crop: str
    resolution: int | None
    mean: tuple[float, ...]
    std: tuple[float, ...]
    in_chans: int
    hflip: bool
    pad_crop: int
    rrc_scale: tuple[float, float] | None
    crop_ratio: float | None
    num_workers: int
    os_cache: bool
    order: str
    device: torch.device = torch.device("cpu")
    batches_ahead: int = 3
    field: str = "dataset.ffcv_train"
    how_to_create: str = "python scripts/write_ffcv.py"


class FFCVLoader(EpochCursor):
    """Yields ``(images, labels)``: float ``N x C x H x W`` normalised, labels on the options'
    device: int64 class indices, or float ``N x K`` attribute vectors when the file stores
    vectors. FFCV shares an epoch between DDP ranks itself (see :meth:`_ffcv_loader`)."""

    def __init__(self, path: str, options: FFCVOptions):
        self.options = o = options
        self.device, self.train, self.batch_size = torch.device(o.device), o.share.train, o.share.batch_size
        self.in_chans, self.crop = int(o.in_chans), o.crop
        with keep_torch_threads() as threads:
            self.torch_threads = threads
            self.reader = open_reader(path, o.field, o.how_to_create)
            self.loader = self._ffcv_loader(str(Path(path).expanduser()))
        self.normalise = Normalise(o.mean, o.std, self.device, channels=self.in_chans, pixel_max=255.0)

    def _ffcv_loader(self, path: str) -> Any:
        """FFCV's loader: the decoder for ``crop``, the augmentations, and the sample order.

        Training takes FFCV's random order seeded with ``seed`` (per epoch: ``seed + epoch``;
        with DDP, torch's ``DistributedSampler``); evaluation a strided share per rank without
        padding (FFCV's distributed sequential order repeats samples to even out the ranks,
        which would bias the metrics), as :class:`~acdc_bench.data.loader.RankShare` does.
        """
        from ffcv.fields import IntField
        from ffcv.fields.basics import IntDecoder
        from ffcv.fields.ndarray import NDArrayDecoder
        from ffcv.fields.rgb_image import (
            CenterCropRGBImageDecoder,
            RandomResizedCropRGBImageDecoder,
            SimpleRGBImageDecoder,
        )
        from ffcv.loader import Loader, OrderOption
        from ffcv.transforms import RandomHorizontalFlip, RandomTranslate, ToDevice, ToTensor

        o, crop, train = self.options, self.crop, self.train
        meta = self.reader.metadata[f"f{self.reader.field_names.index('image')}"]
        sizes = set(zip(meta["height"].tolist(), meta["width"].tolist(), strict=True))
        if crop == "native" and len(sizes) > 1:
            raise ConfigError(
                o.field,
                path,
                "a .beton of equally sized images for this dataset's whole-image "
                f"pipeline (found {len(sizes)} sizes)",
            )
        self.native_res = max(max(s) for s in sizes)
        self.resolution = int(o.resolution or self.native_res)
        if crop == "rrc":
            self.decoder = RandomResizedCropRGBImageDecoder((self.resolution,) * 2, scale=tuple(o.rrc_scale))
        elif crop == "centre":
            self.decoder = CenterCropRGBImageDecoder((self.resolution,) * 2, ratio=float(o.crop_ratio))
        elif crop == "native":
            self.decoder = SimpleRGBImageDecoder()
        else:
            raise ValueError(crop)
        image = [self.decoder]
        if train and crop == "native" and o.pad_crop:
            image.append(RandomTranslate(padding=int(o.pad_crop)))
        if train and o.hflip:
            image.append(RandomHorizontalFlip())
        image.append(ToTensor())
        self.multilabel = not isinstance(self.reader.handlers["label"], IntField)
        label = [NDArrayDecoder() if self.multilabel else IntDecoder(), ToTensor()]
        if self.device.type == "cuda":
            image.append(ToDevice(self.device, non_blocking=True))
            label.append(ToDevice(self.device, non_blocking=True))
        if o.order not in ORDERS:
            raise ConfigError("dataset.ffcv_order", o.order, f"one of {list(ORDERS)}")
        if train and o.order == "quasi_random" and o.share.world_size > 1:
            raise ConfigError(
                "dataset.ffcv_order", o.order, "random with DDP (FFCV has no distributed quasi-random order)"
            )
        common: dict[str, Any] = dict(
            batch_size=self.batch_size,
            num_workers=_ffcv_threads(o.num_workers),
            os_cache=bool(o.os_cache),
            pipelines={"image": image, "label": label},
            batches_ahead=int(o.batches_ahead),
            seed=int(o.share.seed),
        )
        if train:
            order = OrderOption.RANDOM if o.order == "random" else OrderOption.QUASI_RANDOM
            return Loader(path, order=order, distributed=o.share.world_size > 1, drop_last=True, **common)
        # FFCV's type: uint64
        indices = np.asarray(o.share.indices(self.reader.num_samples, 0), dtype=np.uint64)
        return Loader(path, order=OrderOption.SEQUENTIAL, indices=indices, drop_last=False, **common)

    # ------------------------------------------------------------------ protocol
    def set_epoch(self, epoch: int, resolution: int | None = None) -> None:
        """Choose the epoch (its sample order) and its resolution; both apply at the next iteration."""
        super().set_epoch(epoch, resolution)
        if resolution is not None and self.crop != "native":
            self.decoder.output_size = (self.resolution, self.resolution)

    def __len__(self) -> int:
        return len(self.loader)

    @property
    def num_samples(self) -> int:
        return int(self.reader.num_samples)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        start = self._take_skip()  # decoded, then discarded: FFCV cannot start part-way
        with keep_torch_threads():
            self.loader.next_epoch = self.epoch  # FFCV's orders are functions of this counter
            epoch_iter = iter(self.loader)
        try:
            b = 0
            while (batch := _next_batch(epoch_iter)) is not None:
                if b >= start:
                    yield self._finish(*batch)
                b += 1
        finally:
            epoch_iter.close()

    def _finish(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        # FFCV reuses its batch buffers: copy out of them. The copy makes NCHW on the CPU; on a
        # GPU it keeps FFCV's NHWC bytes as a channels-last NCHW tensor, the layout the trainer
        # wants there (no second conversion per batch).
        x = x.to(self.device, non_blocking=True)
        layout = torch.channels_last if self.device.type == "cuda" else torch.contiguous_format
        x = x.permute(0, 3, 1, 2)[:, : self.in_chans].to(torch.float32, memory_format=layout)
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", antialias=True)
        x = self.normalise(x)
        y = y.to(self.device, non_blocking=True)
        y = y.float() if self.multilabel else y.reshape(-1).clone()
        return x, y


def _ffcv_threads(num_workers: int) -> int:
    """FFCV's worker threads: ``num_workers``, at most numba's thread limit (the machine's
    cores; numba refuses more), at least 1. Recipes written for 12-core nodes still run here."""
    import numba

    return max(1, min(int(num_workers), int(numba.config.NUMBA_NUM_THREADS)))


def _next_batch(epoch_iter: Any) -> tuple[Tensor, Tensor] | None:
    """The next batch of FFCV's epoch iterator, or None at the end of the epoch.

    FFCV's own ``__next__`` waits on its queue forever, so an exception in its pipeline
    thread (a damaged image, a decoding error) would hang training; this waits in short
    slices and raises once the thread has died. Mirrors ``EpochIterator.__next__`` of the
    pinned ffcv 1.0.2, including the wait on the batch's CUDA stream.
    """
    from ffcv.loader.epoch_iterator import IS_CUDA

    while True:
        try:
            item = epoch_iter.output_queue.get(timeout=1.0)
            break
        except queue.Empty:
            if not epoch_iter.is_alive() and epoch_iter.output_queue.empty():
                raise RuntimeError("FFCV's loading thread stopped with an error (traceback above)") from None
    if item is None:
        return None
    slot, batch = item
    if IS_CUDA:
        epoch_iter.current_stream.wait_stream(epoch_iter.cuda_streams[slot])
    return batch


def order_of(loader: FFCVLoader, epoch: int) -> np.ndarray:
    """The sample indices this rank's loader visits in ``epoch`` (for tests and resume checks)."""
    order = np.asarray(loader.loader.traversal_order.sample_order(int(epoch)))
    return order[: len(loader) * loader.batch_size] if loader.train else order
