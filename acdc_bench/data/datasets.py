"""The datasets acdc-bench knows, and their settings read once from ``cfg.dataset``.

:data:`DATASETS` maps a name (``dataset.name``, one per ``conf/dataset/*.yaml``) to a
:class:`DatasetSpec`: where its samples come from, the loaders it supports, the
``scripts/write_ffcv.py --format`` of its ``.beton`` files and whether its images have one
fixed size (held in memory, whole-image augmentation) or not (image files, random resized
crops). Adding a dataset is one source function, one entry here and one YAML file.

:class:`DataSettings` is the dataset's config as one typed, frozen object, read with
:mod:`acdc_bench.validation`: ``config.validate`` reads it to refuse bad input before any
work, and ``build_data`` reads it again to build the loaders, so both see the same fields
checked the same way. Defaults live in ``conf/dataset/*.yaml`` only; fields that only some
datasets use are required by those (their spec's ``needs``) and None elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from omegaconf import OmegaConf

from acdc_bench import validation as V
from acdc_bench.data.ffcv_loader import ORDERS
from acdc_bench.errors import ConfigError
from acdc_bench.objectives import OBJECTIVES
from acdc_bench.schedules import resolution_at_epoch

FFCV_FIELDS = ("ffcv_train", "ffcv_val", "os_cache", "ffcv_order")
CROP_FIELDS = ("rrc_scale", "eval_crop_ratio")  # random-resized-crop pipelines (images of any size)


# ------------------------------------------------------------------------------ sources
def _fashion_mnist(ds: DataSettings, seed: int) -> dict[str, Any]:
    from acdc_bench.data import sources

    return sources.fashion_mnist(ds.root)


def _digits(ds: DataSettings, seed: int) -> dict[str, Any]:
    from acdc_bench.data import sources

    return sources.digits(ds.split_seed, ds.val_fraction)


def _synthetic(ds: DataSettings, seed: int) -> dict[str, Any]:
    from acdc_bench.data import sources

    return sources.synthetic(ds, seed)


def _cifar(ds: DataSettings, seed: int) -> dict[str, Any]:
    """CIFAR-10/100 from torchvision's python layout as uint8 ``N x 3 x 32 x 32`` tensors."""
    import torch

    from acdc_bench.data.image_sources import cifar_arrays

    if ds.root is None:
        raise ConfigError("dataset.root", None, "a folder with torchvision's CIFAR python files")
    out = {}
    for split in ("train", "val"):
        x, y, classes = cifar_arrays(ds.root, split)
        if classes != int(ds.name[5:]):
            raise ConfigError("dataset.root", ds.root, f"{ds.name}'s files (found CIFAR-{classes})")
        out[split] = (torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y))
    return out


def _imagenet(ds: DataSettings, seed: int) -> tuple[Any, Any]:
    """ImageNet-style class folders ``root/train`` and ``root/val``."""
    from acdc_bench.data.image_sources import ImageFolderSource

    return tuple(ImageFolderSource(f"{ds.root}/{split}") for split in ("train", "val"))


def _celeba(ds: DataSettings, seed: int) -> tuple[Any, Any]:
    """torchvision's CelebA layout, evaluated on the partition ``dataset.eval_split``."""
    from acdc_bench.data.image_sources import CelebASource

    return CelebASource(ds.root, "train"), CelebASource(ds.root, ds.eval_split)


def _text(ds: DataSettings, cfg: Any, device: Any, rank: int, world_size: int) -> Any:
    """GLUE and the offline text tasks (acdc_bench/data/text): tokenised once, dict batches."""
    from acdc_bench.data.text import build_text

    return build_text(ds, cfg, device, rank, world_size)


def _text_examples(ds: DataSettings, seed: int) -> Any:
    raise NotImplementedError("text data sets build their own loaders (DatasetSpec.build)")


# ------------------------------------------------------------------------------ registry
@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset is. ``source(settings, seed)`` returns, for a fixed-size set, its splits
    as ``{"train": (images, labels), "val": (...)}`` tensors (any loader but FFCV); otherwise
    the train and evaluation sources of its image files (``(PIL image, label)`` sequences).
    ``loaders``: the ``dataset.loader`` values it supports, in the order messages list them.
    ``needs``: the fields only this dataset reads (required here, None for the others)."""

    source: Callable[[DataSettings, int], Any]
    loaders: tuple[str, ...]
    ffcv_format: str | None
    fixed_size: bool
    needs: tuple[str, ...] = ()
    # A dataset that builds its own loaders (text): build(settings, cfg, device, rank, world_size)
    # -> DataBundle; None: the image loaders of build_data.
    build: Callable[..., Any] | None = None


_FIXED = ("memory", "torchvision", "ffcv")
_FILES = ("torchvision", "ffcv")
DATASETS: dict[str, DatasetSpec] = {
    "fashion_mnist": DatasetSpec(_fashion_mnist, _FIXED, "fashion_mnist", True, ("split_seed", *FFCV_FIELDS)),
    "digits": DatasetSpec(_digits, ("memory", "torchvision"), None, True, ("split_seed", "val_fraction")),
    "synthetic": DatasetSpec(_synthetic, ("memory", "torchvision"), None, True,
                             ("split_seed", "native_res", "train_size", "val_size")),
    "cifar10": DatasetSpec(_cifar, _FIXED, "cifar", True, ("split_seed", *FFCV_FIELDS)),
    "cifar100": DatasetSpec(_cifar, _FIXED, "cifar", True, ("split_seed", *FFCV_FIELDS)),
    "imagenet": DatasetSpec(_imagenet, _FILES, "imagefolder", False, (*FFCV_FIELDS, *CROP_FIELDS)),
    "celeba": DatasetSpec(_celeba, _FILES, "celeba", False, (*FFCV_FIELDS, *CROP_FIELDS, "eval_split")),
    "glue": DatasetSpec(_text_examples, ("text",), None, True, build=_text),
    "pydoc": DatasetSpec(_text_examples, ("text",), None, True, build=_text),
}


# ------------------------------------------------------------------------------ settings
def _shown(v: Any) -> Any:
    """A config value as a message shows it (a list as a list, an absent key as None)."""
    return OmegaConf.to_container(v) if OmegaConf.is_config(v) else None if v is V.ABSENT else v


def _channel_stats(cfg: Any, key: str, in_chans: int) -> tuple[float, ...]:
    """``dataset.mean`` / ``dataset.std``: one number per input channel (std positive)."""
    v = V.get(cfg, key)
    values = list(v) if OmegaConf.is_list(v) or isinstance(v, (list, tuple)) else None
    ok = values is not None and len(values) == in_chans and all(V.is_number(x) for x in values)
    if ok and key.endswith("std"):
        ok = all(x > 0 for x in values)
    if not ok:
        what = "positive numbers" if key.endswith("std") else "numbers"
        raise ConfigError(key, _shown(v),
                          f"a list of {in_chans} {what} (one per input channel, dataset.in_chans)")
    return tuple(values)


def _area_range(cfg: Any, key: str) -> tuple[float, float]:
    """``dataset.augment.rrc_scale``: the share of the area a random resized crop keeps."""
    v = V.get(cfg, key)
    values = list(v) if OmegaConf.is_list(v) or isinstance(v, (list, tuple)) else []
    if not (len(values) == 2 and all(V.is_number(x) for x in values) and 0 < values[0] <= values[1] <= 1):
        raise ConfigError(key, _shown(v),
                          "[low, high] with 0 < low <= high <= 1 (shares of the image area)")
    return float(values[0]), float(values[1])


@dataclass(frozen=True)
class DataSettings:
    """``cfg.dataset`` as the data layer uses it (batch sizes are global: split over ranks)."""

    name: str
    loader: str
    root: str | None
    objective: str
    batch_size: int
    eval_batch_size: int
    num_workers: int
    num_classes: int
    in_chans: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    hflip: bool
    pad_crop: int
    min_res: int
    max_res: int
    start_ramp: float
    end_ramp: float
    eval_res: int
    train_subset: int | None  # None: the whole split
    val_subset: int | None
    train_images: int | None  # the training set's size as the config states it (task=summary's steps)
    # fields only some datasets read (DatasetSpec.needs); None for the others
    split_seed: int | None
    val_fraction: float | None
    native_res: int | None
    train_size: int | None
    val_size: int | None
    ffcv_train: str | None
    ffcv_val: str | None
    os_cache: bool | None
    ffcv_order: str | None
    rrc_scale: tuple[float, float] | None
    eval_crop_ratio: float | None
    eval_split: str | None
    # dataset.corrupt_labels (optional, absent: 0): the share of training labels replaced by
    # wrong ones (acdc_bench/data/corruption.py); fixed-size sets held in memory only
    corrupt_labels: float = 0.0

    @property
    def spec(self) -> DatasetSpec:
        return DATASETS[self.name]

    def train_res(self, epoch: int, epochs: int) -> int:
        """The training resolution of ``epoch`` (0-based) of ``epochs``: the recipe's ramp
        (:func:`acdc_bench.schedules.resolution_at_epoch`), for the trainer, the summary and the
        analyses alike."""
        return resolution_at_epoch(epoch, epochs, self.min_res, self.max_res, float(self.start_ramp),
                                   float(self.end_ramp))

    @staticmethod
    def per_rank(batch_size: int, world_size: int) -> int:
        """A rank's batch: the global batch split evenly (at least 1 for evaluation)."""
        return max(batch_size // world_size, 1)

    @classmethod
    def read(cls, cfg: Any) -> DataSettings:
        """Read and check ``cfg.dataset``; the first bad field is a :class:`ConfigError`."""
        name = V.choice(cfg, "dataset.name", sorted(DATASETS))
        spec = DATASETS[name]
        loader = V.get(cfg, "dataset.loader")
        if loader not in spec.loaders:
            raise ConfigError("dataset.loader", None if loader is V.ABSENT else loader,
                              f"one of {list(spec.loaders)} for {name}")
        root = V.get(cfg, "dataset.root")
        if root is V.ABSENT or (root is not None and not isinstance(root, str)):
            raise ConfigError("dataset.root", None if root is V.ABSENT else root, "a folder path or null")
        in_chans = V.integer(cfg, "dataset.in_chans")
        lo, hi = V.integer(cfg, "dataset.resolution.min_res"), V.integer(cfg, "dataset.resolution.max_res")
        if hi < lo:
            raise ConfigError("dataset.resolution.max_res", hi, f"an integer >= resolution.min_res ({lo})")
        start = V.number(cfg, "dataset.resolution.start_ramp", 0, 1, high_open=False)
        end = V.number(cfg, "dataset.resolution.end_ramp", 0, 1, high_open=False)
        if end < start:
            raise ConfigError("dataset.resolution.end_ramp", end,
                              f"a fraction of epochs >= resolution.start_ramp ({start})")

        def needed(key: str, read: Callable[..., Any], *args: Any, **kw: Any) -> Any:
            field = key.rpartition(".")[2]
            return read(cfg, key, *args, **kw) if field in spec.needs else None

        corrupt = V.number(cfg, "dataset.corrupt_labels", 0, 1, required=False)
        corrupt = 0.0 if corrupt is None else float(corrupt)
        in_memory = spec.fixed_size and spec.build is None and loader != "ffcv"
        if corrupt and not (in_memory and V.get(cfg, "dataset.objective") == "classification"):
            raise ConfigError("dataset.corrupt_labels", corrupt,
                              f"0 for {name} with dataset.loader={loader} (label corruption needs a "
                              "classification set held in memory: loader memory or torchvision)")
        return cls(
            name=name,
            loader=loader,
            root=root,
            objective=V.choice(cfg, "dataset.objective", OBJECTIVES),
            batch_size=V.integer(cfg, "dataset.batch_size"),
            eval_batch_size=V.integer(cfg, "dataset.eval_batch_size"),
            num_workers=V.integer(cfg, "dataset.num_workers", low=0),
            num_classes=V.integer(cfg, "dataset.num_classes"),
            in_chans=in_chans,
            mean=_channel_stats(cfg, "dataset.mean", in_chans),
            std=_channel_stats(cfg, "dataset.std", in_chans),
            hflip=V.boolean(cfg, "dataset.augment.hflip"),
            pad_crop=V.integer(cfg, "dataset.augment.pad_crop", low=0),
            min_res=lo,
            max_res=hi,
            start_ramp=start,
            end_ramp=end,
            eval_res=V.integer(cfg, "dataset.eval_res"),
            train_subset=V.integer(cfg, "dataset.train_subset", required=False, nullable=True),
            val_subset=V.integer(cfg, "dataset.val_subset", required=False, nullable=True),
            train_images=V.integer(cfg, "dataset.train_images", required=False, nullable=True),
            split_seed=needed("dataset.split_seed", V.integer, low=0),
            val_fraction=needed("dataset.val_fraction", V.number, 0, 1, low_open=True),
            native_res=needed("dataset.native_res", V.integer),
            train_size=needed("dataset.train_size", V.integer),
            val_size=needed("dataset.val_size", V.integer),
            ffcv_train=needed("dataset.ffcv_train", V.string, "a .beton file path", nullable=True),
            ffcv_val=needed("dataset.ffcv_val", V.string, "a .beton file path", nullable=True),
            os_cache=needed("dataset.os_cache", V.boolean),
            ffcv_order=needed("dataset.ffcv_order", V.choice, ORDERS),
            rrc_scale=needed("dataset.augment.rrc_scale", _area_range),
            eval_crop_ratio=needed("dataset.eval_crop_ratio", V.number, 0, 1, low_open=True, high_open=False),
            eval_split=needed("dataset.eval_split", V.choice, ["val", "test"]),
            corrupt_labels=corrupt,
        )
