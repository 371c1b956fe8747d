"""Datasets on disk made in the test (real JPEGs, CIFAR pickles, a CelebA folder, idx files):
their readers, the .beton writer, the torchvision image loader, the multi-label objective,
and the one-line errors for missing or wrong data. FFCV's loaders are in test_data_ffcv.py."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, read_jsonl, run_cli

from acdc_bench.config import ConfigError

WRITE = [sys.executable, str(ROOT / "scripts" / "write_ffcv.py")]
# numba's dispatcher finalizers raise a harmless KeyError when FFCV's compiled code is collected
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
ATTRS = 40


# ---------------------------------------------------------------------- dataset makers
def make_jpeg_folder(root: Path, per_split: dict[str, int] | None = None, classes: int = 2,
                     seed: int = 0) -> Path:
    """ImageNet-style ``root/<split>/class<k>/*.jpg``: smooth images of random sizes whose
    blue level tells the class (so that crops of different loaders can be compared)."""
    rng = np.random.default_rng(seed)
    for split, n in (per_split or {"train": 12, "val": 6}).items():
        for c in range(classes):
            d = root / split / f"class{c}"
            d.mkdir(parents=True)
            for i in range(n):
                h, w = (int(v) for v in rng.integers(40, 100, 2))
                yy, xx = np.mgrid[0:h, 0:w]
                img = np.stack([xx * 255 // w, yy * 255 // h, np.full((h, w), 40 + 170 * c)], -1)
                img = np.clip(img + rng.integers(-20, 20, 3), 0, 255).astype(np.uint8)
                from PIL import Image

                Image.fromarray(img).save(d / f"{i:03d}.jpg", quality=90)
    return root


def make_cifar_dir(root: Path, classes: int = 10, per_batch: int = 8, n_test: int = 16,
                   seed: int = 1) -> dict:
    """torchvision's CIFAR python layout with a few random images; returns the labels written."""
    rng = np.random.default_rng(seed)
    d = root / ("cifar-10-batches-py" if classes == 10 else "cifar-100-python")
    d.mkdir(parents=True)
    key = "labels" if classes == 10 else "fine_labels"
    names = [f"data_batch_{i}" for i in range(1, 6)] if classes == 10 else ["train"]
    sizes = [per_batch] * len(names) if classes == 10 else [5 * per_batch]
    out: dict[str, list] = {"train": [], "val": []}
    files = [(name, n, "train") for name, n in zip(names, sizes, strict=True)]
    for name, n, split in [*files, ("test_batch" if classes == 10 else "test", n_test, "val")]:
        labels = rng.integers(0, classes, n).tolist()
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        with open(d / name, "wb") as f:
            pickle.dump({"data": data, key: labels, "batch_label": name}, f)
        out[split].extend(labels)
        out.setdefault(f"{split}_data", []).append(data)
    return out


def make_celeba_dir(root: Path, n: int = 28, seed: int = 2) -> np.ndarray:
    """torchvision's CelebA layout under ``root/celeba``: n portrait JPEGs, 40 attributes in
    -1/1, partitions train/val/test = first n-12 / next 8 / last 4. Returns the attributes."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    d = root / "celeba"
    (d / "img_align_celeba").mkdir(parents=True)
    attrs = rng.choice([-1, 1], (n, ATTRS))
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    for i, name in enumerate(names):
        yy, xx = np.mgrid[0:44, 0:36]
        img = np.stack([xx * 7, yy * 5, np.full(xx.shape, 100 + 3 * i)], -1).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(d / "img_align_celeba" / name, quality=90)
    header = " ".join(f"Attr_{k:02d}" for k in range(ATTRS))
    rows = [f"{name} " + " ".join(f"{v:2d}" for v in a) for name, a in zip(names, attrs, strict=True)]
    (d / "list_attr_celeba.txt").write_text(f"{n}\n{header}\n" + "\n".join(rows) + "\n")
    part = [0] * (n - 12) + [1] * 8 + [2] * 4
    lines = [f"{m} {p}\n" for m, p in zip(names, part, strict=True)]
    (d / "list_eval_partition.txt").write_text("".join(lines))
    return attrs


def make_fashion_dir(root: Path, n_train: int = 24, n_test: int = 12, seed: int = 3) -> dict:
    """Gzipped idx files in Fashion-MNIST's names; returns the images and labels written."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n).astype(np.uint8)
        with gzip.open(root / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 2051, n, 28, 28) + x.tobytes())
        with gzip.open(root / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, n) + y.tobytes())
        out["train" if prefix == "train" else "val"] = (x, y.astype(np.int64))
    return out


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("raw")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(base / "cache")  # Fashion-MNIST's unpacked idx files go here
    yield {
        "base": base,
        "images": make_jpeg_folder(base / "images"),
        "cifar": (base / "cifar", make_cifar_dir(base / "cifar")),
        "cifar100": (base / "cifar100", make_cifar_dir(base / "cifar100", classes=100)),
        "celeba": (base / "celeba_root", make_celeba_dir(base / "celeba_root")),
        "fashion": (base / "fashion", make_fashion_dir(base / "fashion")),
    }
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


# ---------------------------------------------------------------------- sources
def test_sources_read_each_layout_in_order(data_dirs):
    from acdc_bench.data.image_sources import open_source

    folder = open_source("imagefolder", data_dirs["images"], "train")
    assert folder.classes == ["class0", "class1"] and len(folder) == 24
    assert folder.labels.tolist() == [0] * 12 + [1] * 12
    img, label = folder[13]
    assert img.mode == "RGB" and label == 1 and np.asarray(img)[..., 2].mean() > 150  # class 1 is blue
    for key in ("cifar", "cifar100"):
        root, written = data_dirs[key]
        train, val = open_source("cifar", root, "train"), open_source("cifar", root, "val")
        assert train.labels.tolist() == written["train"] and val.labels.tolist() == written["val"]
        first = np.concatenate(written["train_data"])[0].reshape(3, 32, 32).transpose(1, 2, 0)
        assert np.array_equal(train[0][0], first) and train[0][0].shape == (32, 32, 3)
    root, attrs = data_dirs["celeba"]
    for split, rows in (("train", slice(0, 16)), ("val", slice(16, 24)), ("test", slice(24, 28))):
        src = open_source("celeba", root, split)
        assert np.array_equal(src.labels, (attrs[rows] > 0).astype(np.uint8)), split
    root, fashion = data_dirs["fashion"]
    src = open_source("fashion_mnist", root, "test")
    assert np.array_equal(src.labels, fashion["val"][1])
    x, _ = src[3]
    assert x.shape == (28, 28, 3) and (x == fashion["val"][0][3][..., None]).all()  # grey as 3 equal channels


def test_sources_name_the_path_of_missing_or_broken_data(tmp_path):
    from acdc_bench.data.image_sources import open_source

    for fmt in ("imagefolder", "cifar", "celeba"):
        with pytest.raises(ConfigError, match=str(tmp_path / "nowhere")):
            open_source(fmt, tmp_path / "nowhere", "train")
    (tmp_path / "celeba").mkdir()
    (tmp_path / "celeba" / "list_attr_celeba.txt").write_text("1\nA B\nx.jpg 1 -1\n")
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text("x.jpg 0\n")
    with pytest.raises(ConfigError, match="40 attributes"):
        open_source("celeba", tmp_path, "train")


# ---------------------------------------------------------------------- writer
def _beton_vector_labels(path: Path, reader) -> np.ndarray:
    """NDArray labels read straight from the file: the metadata holds each sample's offset."""
    ptrs = reader.metadata[f"f{reader.field_names.index('label')}"]
    raw = np.fromfile(path, dtype=np.uint8)
    return np.stack([raw[int(p) : int(p) + ATTRS] for p in ptrs])


def test_digits_are_scikit_learns_read_without_importing_it():
    """``digits_arrays`` reads the file scikit-learn ships (its import costs a run 1.5 s):
    the same images and labels as ``load_digits``, and scikit-learn left unimported."""
    code = ("import sys; from acdc_bench.data.sources import digits_arrays; digits_arrays(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
    from sklearn.datasets import load_digits

    from acdc_bench.data.sources import digits_arrays

    images, labels = digits_arrays()
    ref = load_digits()
    assert images.dtype == ref.images.dtype and labels.dtype == ref.target.dtype
    assert np.array_equal(images, ref.images) and np.array_equal(labels, ref.target)


@pytest.mark.parametrize("fmt", ["imagefolder", "cifar", "celeba", "fashion_mnist"])
def test_writer_keeps_labels_order_and_image_sizes(data_dirs, tmp_path, fmt, full_threads):
    from acdc_bench.data.ffcv_loader import beton_labels
    from acdc_bench.data.ffcv_writer import write_beton
    from acdc_bench.data.image_sources import open_source

    src = {"imagefolder": data_dirs["images"], "cifar": data_dirs["cifar"][0],
           "celeba": data_dirs["celeba"][0], "fashion_mnist": data_dirs["fashion"][0]}[fmt]
    threads = torch.get_num_threads()
    info = write_beton(fmt, src, "val", tmp_path / "val.beton", workers=2)  # the first imports FFCV
    assert torch.get_num_threads() == threads  # importing FFCV (1 thread) must not change torch's threads
    from ffcv.reader import Reader
    source = open_source(fmt, src, "val")
    assert info["samples"] == len(source) and (tmp_path / "val.beton").stat().st_size == info["bytes"]
    reader = Reader(str(tmp_path / "val.beton"))
    labels = beton_labels(reader)
    if fmt == "celeba":
        assert labels is None
        labels = _beton_vector_labels(tmp_path / "val.beton", reader)
    assert np.array_equal(labels, source.labels)
    meta = reader.metadata["f0"]
    sizes = [np.asarray(source[i][0]).shape[:2] for i in range(len(source))]
    assert list(zip(meta["height"].tolist(), meta["width"].tolist(), strict=True)) == sizes
    raw = fmt in ("cifar", "fashion_mnist")
    assert (meta["mode"] == 1).all() if raw else {0, 1} >= set(meta["mode"].tolist())  # 1: raw pixels
    assert [p.name for p in tmp_path.iterdir()] == ["val.beton"]  # no temporary file left


def test_write_script_refuses_to_overwrite_and_forces(data_dirs, tmp_path):
    out = tmp_path / "train.beton"
    out.write_bytes(b"precious")
    src = ["--src", str(data_dirs["images"]), "--split", "train", "--out", str(out)]
    refused = subprocess.run([*WRITE, "--format", "imagefolder", *src], capture_output=True, text=True)
    assert refused.returncode == 2 and "--force" in refused.stderr and out.read_bytes() == b"precious"
    forced = subprocess.run([*WRITE, "--format", "imagefolder", *src, "--force", "--max-res", "64",
                             "--workers", "1"], capture_output=True, text=True)
    assert forced.returncode == 0, forced.stderr
    info = json.loads(forced.stdout.strip().splitlines()[-1])
    assert info["samples"] == 24 and info["max_res"] == 64 and info["write_mode"] == "proportion"
    assert info["jpeg_quality"] == 90 and out.stat().st_size == info["bytes"]
    assert [p.name for p in tmp_path.iterdir()] == ["train.beton"]


def test_writer_stops_at_an_unreadable_image_and_leaves_nothing(tmp_path):
    from acdc_bench.data.ffcv_writer import write_beton

    bad = make_jpeg_folder(tmp_path / "bad", {"train": 2})
    (bad / "train" / "class1" / "broken.jpg").write_bytes(b"not a jpeg")
    # FFCV's writer would wait forever for the sample its worker failed on
    with pytest.raises(ConfigError, match="broken.jpg"):
        write_beton("imagefolder", bad, "train", tmp_path / "bad.beton", workers=2)
    assert [p.name for p in tmp_path.iterdir()] == ["bad"]


# ---------------------------------------------------------------------- torchvision image loader
def test_random_resized_crop_box_stays_inside_and_covers_the_scale():
    from acdc_bench.data.image_loader import random_resized_crop_box

    rng = np.random.default_rng(0)
    for h, w in ((50, 80), (300, 200), (10, 10)):
        for _ in range(200):
            top, left, ch, cw = random_resized_crop_box(h, w, (0.35, 1.0), (3 / 4, 4 / 3), rng)
            assert 0 <= top and top + ch <= h and 0 <= left and left + cw <= w and ch > 0 and cw > 0
            assert ch * cw >= 0.3 * h * w or (h, w) == (10, 10)  # rounding aside, at least 35% of the area
    a = random_resized_crop_box(100, 100, (0.08, 1), (3 / 4, 4 / 3), np.random.default_rng([1, 2, 3]))
    assert a == random_resized_crop_box(100, 100, (0.08, 1), (3 / 4, 4 / 3), np.random.default_rng([1, 2, 3]))


def test_image_file_loader_is_exact_across_workers_and_skip(data_dirs):
    from acdc_bench.data.image_loader import ImageFileLoader
    from acdc_bench.data.image_sources import ImageFolderSource

    src = ImageFolderSource(data_dirs["images"] / "train")
    kw = dict(mean=[0.5] * 3, std=[0.25] * 3, seed=3, resolution=40)
    a = ImageFileLoader(src, 5, train=True, num_workers=0, **kw)
    b = ImageFileLoader(src, 5, train=True, num_workers=2, **kw)
    assert len(a) == 4  # 24 images, batches of 5, the last partial batch dropped
    batches = list(a)
    assert [x.shape for x, _ in batches] == [(5, 3, 40, 40)] * 4
    for (xa, ya), (xb, yb) in zip(batches, b, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert torch.equal(torch.cat([y for _, y in batches]), torch.as_tensor(src.labels)[a.indices()[:20]])
    a.skip(2)
    resumed = list(a)
    assert len(resumed) == 2
    assert all(torch.equal(x, y) for (x, _), (y, _) in zip(resumed, batches[2:], strict=True))
    a.set_epoch(1, 24)  # a new epoch: another order, the new resolution
    nxt = list(a)
    assert nxt[0][0].shape[-1] == 24
    assert not torch.equal(a.indices(), ImageFileLoader(src, 5, train=True, **kw).indices())


def test_image_file_loader_eval_is_centre_crop_in_source_order(data_dirs):
    from acdc_bench.data.image_loader import ImageFileLoader
    from acdc_bench.data.image_sources import CelebASource

    root, attrs = data_dirs["celeba"]
    src = CelebASource(root, "val")
    val = ImageFileLoader(src, 3, train=False, mean=[0.0] * 3, std=[1.0] * 3, resolution=16, crop_ratio=0.875,
                          num_workers=0)
    xs, ys = zip(*val, strict=True)
    y = torch.cat(ys)
    assert y.dtype == torch.float32 and torch.equal(y, torch.as_tensor((attrs[16:24] > 0).astype(np.float32)))
    x = torch.cat(xs)
    assert x.shape == (8, 3, 16, 16)
    # the centre crop keeps the middle: its blue level is the image's own (100 + 3 i), its
    # red ramp (7 px per column) is centred on the middle column
    blue = torch.tensor([100.0 + 3 * i for i in range(16, 24)])
    assert torch.allclose(x[:, 2].mean((1, 2)) * 255, blue, atol=2)
    assert abs(float(x[:, 0].mean()) * 255 - 7 * 17.5) < 6


# ---------------------------------------------------------------------- the loader protocol
def test_rank_shares_are_disjoint_in_training_and_strided_in_evaluation():
    from acdc_bench.data.loader import RankShare

    shares = [RankShare(4, True, seed=5, rank=r, world_size=3) for r in range(3)]
    orders = [s.indices(26, epoch=2) for s in shares]
    assert [len(o) for o in orders] == [8] * 3 and len(set(torch.cat(orders).tolist())) == 24
    assert torch.equal(orders[1], RankShare(4, True, seed=5, rank=1, world_size=3).indices(26, 2))  # resume
    assert not torch.equal(orders[1], shares[1].indices(26, 3))  # another epoch, another order
    assert [s.batches(26) for s in shares] == [2] * 3  # 8 each, the last partial batch dropped
    evals = [RankShare(4, False, rank=r, world_size=3) for r in range(3)]
    assert [e.indices(26, 0).tolist()[:2] for e in evals] == [[0, 3], [1, 4], [2, 5]]
    assert [e.batches(26) for e in evals] == [3, 3, 2]  # 9, 9, 8 samples: nothing dropped or padded


def test_every_loader_implements_the_protocol(data_dirs):
    from acdc_bench.data import Loader
    from acdc_bench.data.image_loader import ImageFileLoader
    from acdc_bench.data.image_sources import ImageFolderSource
    from acdc_bench.data.tensor_loader import TensorLoader
    from acdc_bench.data.torchvision_loader import TorchvisionLoader

    x, y = torch.zeros(10, 1, 8, 8), torch.zeros(10, dtype=torch.long)
    loaders = [TensorLoader(x, y, 3, train=True, mean=[0.0], std=[1.0]),
               TorchvisionLoader(x, y, 3, train=False, mean=[0.0], std=[1.0]),
               ImageFileLoader(ImageFolderSource(data_dirs["images"] / "val"), 5, train=False, mean=[0.5] * 3,
                               std=[0.25] * 3, num_workers=0)]
    for loader in loaders:
        assert isinstance(loader, Loader), type(loader)
    assert [(len(lo), lo.num_samples) for lo in loaders] == [(3, 10), (4, 10), (3, 12)]


def test_the_registry_matches_the_shipped_dataset_configs():
    from omegaconf import OmegaConf

    from acdc_bench.data import DATASETS, DataSettings

    conf = ROOT / "conf" / "dataset"
    assert set(DATASETS) == {p.stem for p in conf.glob("*.yaml")}
    for name, spec in DATASETS.items():
        cfg = OmegaConf.load(conf / f"{name}.yaml")
        ds = DataSettings.read(cfg)  # every field a dataset needs is in its YAML (no defaults in code)
        assert ds.name == name and ds.loader in spec.loaders
        if "text" in spec.loaders:  # token sequences: no image pipeline, no FFCV format
            assert spec.ffcv_format is None and ds.loader == "text"
            continue
        assert ("ffcv" in spec.loaders) == (spec.ffcv_format is not None) == (ds.ffcv_order is not None)
        assert spec.fixed_size == (ds.rrc_scale is None) == ("memory" in spec.loaders)


# ---------------------------------------------------------------------- multi-label objective
def test_multilabel_objective_metrics_follow_the_paper_definitions():
    from acdc_bench.objectives import MultiLabel

    obj = MultiLabel()
    p = torch.tensor([[0.95, 0.05, 0.5, 0.2], [0.85, 0.99, 0.01, 0.6]])
    logits = torch.log(p / (1 - p))
    labels = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
    sums = obj.eval_sums(logits, labels)
    out = obj.finalize(sums.tolist(), 2)
    # correct: (1,1,0 [0.5 is not > 0.5],0) and (0,1,1,1) -> 2/4 and 3/4
    assert out["val_mean_attr_acc"] == pytest.approx((0.5 + 0.75) / 2)
    # uncertain (0.1 < p < 0.9): 0.5, 0.2 | 0.85, 0.6 -> 2/4 and 2/4
    assert out["val_uncertain_fraction"] == pytest.approx(0.5)
    bce = -(labels * p.log() + (1 - labels) * (1 - p).log()).mean()
    assert out["val_loss"] == pytest.approx(float(bce), rel=1e-5)
    loss, same = obj.loss(logits, labels)
    assert float(loss) == pytest.approx(float(bce), rel=1e-5) and loss is same


# ---------------------------------------------------------------------- CLI
def test_celeba_trains_an_epoch_with_the_torchvision_loader(data_dirs, tmp_path):
    root, _ = data_dirs["celeba"]
    out = run_cli("dataset=celeba", "dataset.loader=torchvision", f"dataset.root={root}", "method=dense",
                  "model=resnet20",
                  "model.width=0.25", "epochs=1", "dataset.batch_size=8", "dataset.eval_batch_size=8",
                  "dataset.num_workers=1", "dataset.resolution.min_res=24", "dataset.resolution.max_res=24",
                  "dataset.eval_res=24", f"hydra.run.dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    (row,) = read_jsonl(tmp_path / "metrics.jsonl")
    assert 0 <= row["val_mean_attr_acc"] <= 1 and 0 <= row["val_uncertain_fraction"] <= 1
    assert row["val_loss"] > 0 and row["train_loss"] > 0 and "val_top1" not in row


@pytest.mark.parametrize(
    "overrides,needle",
    [
        (["dataset=imagenet", "dataset.ffcv_train=/nonexistent/train.beton",
          "dataset.ffcv_val=/nonexistent/v.beton"], "dataset.ffcv_train='/nonexistent/train.beton'"),
        (["dataset=cifar10", "dataset.loader=ffcv", "dataset.ffcv_train=GARBAGE", "dataset.ffcv_val=GARBAGE"],
         "readable .beton"),
        (["dataset=imagenet", "dataset.loader=memory"], "dataset.loader='memory'"),
        (["dataset=imagenet", "dataset.loader=torchvision"], "dataset.root=None"),
        (["dataset=cifar10"], "dataset.root=None"),
    ],
)
def test_missing_or_wrong_data_is_one_line_naming_the_path_and_the_fix(tmp_path, overrides, needle):
    garbage = tmp_path / "garbage.beton"
    garbage.write_bytes(b"\0" * 100)
    overrides = [o.replace("GARBAGE", str(garbage)) for o in overrides]
    out = run_cli(*overrides, "method=dense", "epochs=1", f"hydra.run.dir={tmp_path / 'run'}")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    line = out.stderr.strip().splitlines()[-1]
    assert needle in line, line
    if "ffcv_" in " ".join(overrides):
        assert "scripts/write_ffcv.py --format" in line
    assert not (tmp_path / "run" / "metrics.jsonl").exists()
