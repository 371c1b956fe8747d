"""Raw datasets on disk, read in the layouts users already have: ImageNet-style class
folders, torchvision's CIFAR-10/100 python pickles, torchvision's CelebA layout.

A source is an indexable sequence of ``(image, label)`` pairs with the labels also
available as one array (``labels``), so that the writer, the torchvision loader and the
tests all see the same samples in the same order: sample ``i`` of a split is row ``i``
of the ``.beton`` written from it. Nothing is downloaded; a missing or malformed folder
is a :class:`ConfigError` naming the path.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from acdc_bench.errors import ConfigError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
SPLITS = ("train", "val", "test")
CELEBA_PARTITION = {"train": 0, "val": 1, "test": 2}  # list_eval_partition.txt codes
CELEBA_ATTRIBUTES = 40


def _load_rgb(path: str) -> Any:
    from PIL import Image

    with Image.open(path) as img:
        return img.convert("RGB")


class ImageFolderSource:
    """ImageNet-style ``root/<class>/<image>``: classes are the sorted folder names, files
    are taken in sorted order (torchvision's ``ImageFolder`` convention, so labels agree
    with it). Images come back as RGB PIL images."""

    multilabel = False

    def __init__(self, root: str | Path, field: str = "dataset.root"):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise ConfigError(field, str(self.root), "a folder of class sub-folders holding images")
        self.classes = sorted(d.name for d in os.scandir(self.root) if d.is_dir())
        files, labels = [], []
        for label, name in enumerate(self.classes):
            for dirpath, dirnames, filenames in os.walk(self.root / name, followlinks=True):
                dirnames.sort()
                for f in sorted(filenames):
                    if f.lower().endswith(IMAGE_EXTENSIONS):
                        files.append(os.path.join(dirpath, f))
                        labels.append(label)
        if not files:
            raise ConfigError(
                field, str(self.root), f"class sub-folders holding images ({', '.join(IMAGE_EXTENSIONS)})"
            )
        self.files = files
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        return _load_rgb(self.files[i]), int(self.labels[i])


def _cifar_dir(root: Path, field: str) -> tuple[Path, int]:
    """The folder holding the pickles and the number of classes (10 or 100)."""
    for d in (root, root / "cifar-10-batches-py", root / "cifar-100-python"):
        if (d / "data_batch_1").is_file() and (d / "test_batch").is_file():
            return d, 10
        if (d / "train").is_file() and (d / "test").is_file():
            return d, 100
    raise ConfigError(
        field,
        str(root),
        "torchvision's CIFAR python layout: a folder holding cifar-10-batches-py/ "
        "(data_batch_1..5, test_batch) or cifar-100-python/ (train, test)",
    )


def _unpickle(path: Path, field: str) -> dict:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as err:
        raise ConfigError(field, str(path), f"a readable CIFAR pickle ({err})") from err


def cifar_arrays(
    root: str | Path, split: str, field: str = "dataset.root"
) -> tuple[np.ndarray, np.ndarray, int]:
    """CIFAR-10/100 as ``(images N x 32 x 32 x 3 uint8, labels int64, num_classes)``.

    CIFAR has no validation split: ``val`` and ``test`` both mean the 10,000 test images.
    CIFAR-100 labels are the 100 fine labels.
    """
    folder, num_classes = _cifar_dir(Path(root).expanduser(), field)
    if num_classes == 10:
        names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    else:
        names = ["train"] if split == "train" else ["test"]
    xs, ys = [], []
    for name in names:
        path = folder / name
        if not path.is_file():
            raise ConfigError(field, str(path), "a CIFAR batch file (torchvision's python layout)")
        batch = _unpickle(path, field)
        xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch["labels"] if "labels" in batch else batch["fine_labels"], dtype=np.int64))
    x = np.ascontiguousarray(np.concatenate(xs).transpose(0, 2, 3, 1))
    return x, np.concatenate(ys), num_classes


class ArraySource:
    """Images held as one ``N x H x W x C`` uint8 array (CIFAR, Fashion-MNIST).

    Grey images (C = 1) are given to the writer as three equal channels, because FFCV's
    image field stores RGB; the loader keeps one channel again (``dataset.in_chans: 1``).
    """

    multilabel = False

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images, self.labels = images, np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        x = self.images[i]
        if x.shape[-1] == 1:
            x = np.repeat(x, 3, axis=-1)
        return np.ascontiguousarray(x), int(self.labels[i])


def _celeba_dir(root: Path, field: str) -> Path:
    for d in (root, root / "celeba"):
        if (d / "list_attr_celeba.txt").is_file() and (d / "list_eval_partition.txt").is_file():
            return d
    raise ConfigError(
        field,
        str(root),
        "torchvision's CelebA layout: img_align_celeba/, list_attr_celeba.txt and "
        "list_eval_partition.txt (directly or under celeba/)",
    )


class CelebASource:
    """CelebA (torchvision's layout): aligned face images with 40 binary attributes.

    Labels are ``N x 40`` uint8 in {0, 1} (the files' -1 becomes 0), in the attribute
    order of ``list_attr_celeba.txt``; ``attributes`` holds their names.
    """

    multilabel = True

    def __init__(self, root: str | Path, split: str, field: str = "dataset.root"):
        if split not in CELEBA_PARTITION:
            raise ConfigError("split", split, f"one of {list(CELEBA_PARTITION)}")
        folder = _celeba_dir(Path(root).expanduser(), field)
        try:
            part = dict(
                line.split()[:2]
                for line in (folder / "list_eval_partition.txt").read_text().splitlines()
                if line.strip()
            )
            lines = (folder / "list_attr_celeba.txt").read_text().splitlines()
            self.attributes = lines[1].split()
            rows = [line.split() for line in lines[2:] if line.strip()]
            if len(self.attributes) != CELEBA_ATTRIBUTES or any(
                len(r) != CELEBA_ATTRIBUTES + 1 for r in rows
            ):
                raise ValueError(f"expected {CELEBA_ATTRIBUTES} attributes per image")
        except (OSError, ValueError, IndexError) as err:
            raise ConfigError(
                field, str(folder), f"readable CelebA attribute and partition lists ({err})"
            ) from err
        code = str(CELEBA_PARTITION[split])
        keep = [r for r in rows if part.get(r[0]) == code]
        self.files = [str(folder / "img_align_celeba" / r[0]) for r in keep]
        self.labels = (
            (np.asarray([r[1:] for r in keep], dtype=np.int64) > 0)
            .astype(np.uint8)
            .reshape(-1, CELEBA_ATTRIBUTES)
        )
        if not self.files:
            raise ConfigError(field, str(folder), f"at least one image in the {split} partition")
        missing = self.files[0] if not Path(self.files[0]).is_file() else None
        if missing:
            raise ConfigError(field, missing, "an image of img_align_celeba/ listed in list_attr_celeba.txt")

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Any, np.ndarray]:
        return _load_rgb(self.files[i]), self.labels[i]


def open_source(fmt: str, src: str | Path, split: str, field: str = "dataset.root"):
    """One split of a dataset in a writer format (imagefolder, cifar, celeba, fashion_mnist).

    ``imagefolder`` reads ``src/<split>`` when that folder exists, otherwise ``src`` itself.
    """
    if split not in SPLITS:
        raise ConfigError("split", split, f"one of {list(SPLITS)}")
    if fmt == "imagefolder":
        path = Path(src).expanduser()
        return ImageFolderSource(path / split if (path / split).is_dir() else path, field)
    if fmt == "cifar":
        x, y, _ = cifar_arrays(src, split, field)
        return ArraySource(x, y)
    if fmt == "celeba":
        return CelebASource(src, split, field)
    if fmt == "fashion_mnist":
        from acdc_bench.data.sources import fashion_mnist

        x, y = fashion_mnist(str(src))["train" if split == "train" else "val"]
        return ArraySource(x.permute(0, 2, 3, 1).contiguous().numpy(), y.numpy())
    raise ConfigError("format", fmt, "one of ['imagefolder', 'cifar', 'celeba', 'fashion_mnist']")
