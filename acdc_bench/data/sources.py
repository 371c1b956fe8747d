"""Small datasets read into memory: Fashion-MNIST (torchvision's reader), digits, synthetic."""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from acdc_bench.errors import ConfigError

FASHION_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _fashion_raw_dir(root: Path) -> Path:
    """A folder with the four uncompressed idx files, for torchvision's reader.

    The Debian package ``dataset-fashion-mnist`` ships them gzipped; they are unpacked
    once into a cache beside the user's other caches (atomically: temp file, rename).
    """
    if all((root / f).is_file() for f in FASHION_FILES):
        return root
    if not all((root / f"{f}.gz").is_file() or (root / f).is_file() for f in FASHION_FILES):
        raise ConfigError(
            "dataset.root",
            str(root),
            "a folder with Fashion-MNIST's idx files (Debian: apt-get install dataset-fashion-mnist "
            "puts them in /usr/share/datasets/fashion-mnist)",
        )
    cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    out = cache_home / "acdc-bench" / "fashion-mnist" / str(root.resolve()).strip("/").replace("/", "_")
    out.mkdir(parents=True, exist_ok=True)
    for f in FASHION_FILES:
        if (out / f).is_file():
            continue
        src = root / f if (root / f).is_file() else root / f"{f}.gz"
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rb") as fin, tempfile.NamedTemporaryFile(dir=out, delete=False) as tmp:
            shutil.copyfileobj(fin, tmp)
        os.replace(tmp.name, out / f)
    return out


def fashion_mnist(root: str) -> dict[str, tuple[Tensor, Tensor]]:
    """Fashion-MNIST as uint8 ``N x 1 x 28 x 28`` tensors, read by torchvision's reader."""
    from torchvision.datasets import FashionMNIST

    raw = _fashion_raw_dir(Path(root).expanduser())

    class _LocalFashionMNIST(FashionMNIST):
        # torchvision looks in <root>/FashionMNIST/raw; the files are in ``raw``.
        @property
        def raw_folder(self) -> str:
            return str(raw)

    out = {}
    for split, train in (("train", True), ("val", False)):
        ds = _LocalFashionMNIST(str(raw), train=train, download=False)
        out[split] = (ds.data.unsqueeze(1).contiguous(), ds.targets.long())
    return out


def digits_arrays() -> tuple[Any, Any]:
    """scikit-learn's 8x8 digits: images (1797, 8, 8), float64 in 0..16, and labels, as
    ``sklearn.datasets.load_digits`` gives them (tests/test_data_sources.py checks), read from
    the file scikit-learn ships without importing it: ``import sklearn.datasets`` takes 1.5 s,
    which every short digits run paid. Where the file is not found, ``load_digits`` reads it."""
    import importlib.util

    import numpy as np

    spec = importlib.util.find_spec("sklearn")  # locates the package, imports nothing
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt") as f:
                data = np.loadtxt(f, delimiter=",")
            return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images, bunch.target


def digits(split_seed: int, val_fraction: float) -> dict[str, tuple[Tensor, Tensor]]:
    """scikit-learn's 8x8 digits (1,797 images), split into train/val by ``split_seed``."""
    images, labels = digits_arrays()
    x = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(labels, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(int(split_seed)))
    n_val = int(round(len(y) * val_fraction))
    val, train = order[:n_val], order[n_val:]
    return {"train": (x[train], y[train]), "val": (x[val], y[val])}


def synthetic(cfg: Any, seed: int) -> dict[str, tuple[Tensor, Tensor]]:
    """Random images and labels with the configured shape: for smoke runs and benchmarks."""
    g = torch.Generator().manual_seed(int(seed) + 12345)
    shape = (int(cfg.in_chans), int(cfg.native_res), int(cfg.native_res))
    out = {}
    for split, n in (("train", int(cfg.train_size)), ("val", int(cfg.val_size))):
        x = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)
        y = torch.randint(0, int(cfg.num_classes), (n,), generator=g)
        out[split] = (x, y)
    return out


def subset(splits: dict[str, tuple[Tensor, Tensor]], train_size: int | None, val_size: int | None,
           split_seed: int = 0) -> dict[str, tuple[Tensor, Tensor]]:
    """Keep a fixed random ``train_size`` / ``val_size`` images of each split (``None``: all).

    The paper experiments' CPU twins train on a slice of Fashion-MNIST so that a whole sweep
    fits in minutes on two cores. The slice depends on ``split_seed`` only, never on the run's
    seed, so all seeds and all configs of a sweep see the same images (in their original order).
    """
    out = dict(splits)
    for split, n, field in (("train", train_size, "dataset.train_subset"),
                            ("val", val_size, "dataset.val_subset")):
        if n is None:
            continue
        x, y = splits[split]
        if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= len(y):
            raise ConfigError(field, n, f"null or an integer in [1, {len(y)}] (the {split} split's size)")
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(int(split_seed)))
        keep = order[:n].sort().values
        out[split] = (x[keep], y[keep])
    return out
