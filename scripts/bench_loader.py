#!/usr/bin/env python
"""Loader benchmark: FFCV vs torchvision on the same JPEG images, and what each costs a training step.

Makes a folder of JPEGs of ImageNet-like sizes on the fly, writes it to a .beton with
``scripts/write_ffcv.py``'s writer (its defaults: longest side 500 px, half JPEG q90, half
raw), then measures

* loader throughput, images/s: training batches of random-resized crops at ``--res`` px,
  flipped and normalised, from the FFCV loader and from the torchvision loader with the
  same number of workers (``--workers``: FFCV threads, torchvision processes), after one
  warm-up epoch each (FFCV's warm-up compiles its pipeline with numba: reported apart);
* training throughput, images/s: SGD steps of a small model (two convolutions, the first a
  stride-8 patchify stem, then a linear head: cheap enough that the loader matters) fed by
  each loader, and fed the same batches already in memory.

The target on the 2-core development machine is FFCV >= 1.5x torchvision. The last line
printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

TARGET = 1.5
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def make_images(root: Path, n: int, classes: int, seed: int) -> None:
    """``n`` JPEGs (quality 90) in ``classes`` folders, longest side 250-500 px, aspect 3:4-4:3:
    smooth colour fields with texture, so that they compress like photographs rather than noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(n):
        c = i % classes
        long_side = int(rng.integers(250, 501))
        aspect = float(rng.uniform(3 / 4, 4 / 3))
        h, w = (long_side, int(long_side / aspect)) if aspect < 1 else (int(long_side / aspect), long_side)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        f = rng.uniform(0.005, 0.05, 3)
        waves = [np.sin(f[k] * xx + f[(k + 1) % 3] * yy + rng.uniform(0, 6)) for k in range(3)]
        img = 127 + 100 * np.stack(waves, -1)
        img += rng.normal(0, 12, img.shape)
        d = root / f"class{c:02d}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(d / f"{i:05d}.jpg", quality=90)


def loader_throughput(loader, epochs: int) -> tuple[float, float, int]:
    """(seconds of the warm-up epoch, images/s over ``epochs`` timed epochs, batches per epoch)."""
    def one_epoch(epoch: int) -> int:
        loader.set_epoch(epoch, loader.resolution)
        seen = 0
        for x, _ in loader:
            seen += x.shape[0]
        return seen

    t0 = time.perf_counter()
    one_epoch(0)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    seen = sum(one_epoch(e) for e in range(1, epochs + 1))
    return warm, seen / (time.perf_counter() - t0), len(loader)


def small_model(classes: int) -> torch.nn.Module:
    """A few MFLOPs per image: on 2 cores its steps take about as long as loading the batch."""
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 32, 8, stride=8), nn.BatchNorm2d(32), nn.ReLU(),
                         nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def train_throughput(batches, model: torch.nn.Module, opt: torch.optim.Optimizer) -> float:
    """Images/s of SGD steps over ``batches`` (any iterable of (x, y))."""
    seen, t0 = 0, time.perf_counter()
    for x, y in batches:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += x.shape[0]
    return seen / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=1024, help="JPEGs to make (default 1024)")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--res", type=int, default=160, help="random-resized-crop size (default 160, AC/DC++'s)")
    p.add_argument("--workers", type=int, default=2, help="FFCV threads = torchvision worker processes")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per loader, after one warm-up epoch")
    p.add_argument("--dir", default=None, help="work folder (default: a temporary one, removed at the end)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from acdc_bench.data.ffcv_loader import FFCVLoader, FFCVOptions
    from acdc_bench.data.ffcv_writer import write_beton
    from acdc_bench.data.image_loader import ImageFileLoader
    from acdc_bench.data.image_sources import ImageFolderSource
    from acdc_bench.data.loader import RankShare

    threads = torch.get_num_threads()
    tmp = None if args.dir else tempfile.TemporaryDirectory(prefix="bench_loader_")
    work = Path(args.dir or tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    out: dict = {"images": args.images, "resolution": args.res, "workers": args.workers,
                 "batch_size": args.batch_size, "timed_epochs": args.epochs, "torch_threads": threads,
                 "cpu_count": os.cpu_count()}
    try:
        folder = work / "images"
        if not folder.is_dir():
            t0 = time.perf_counter()
            make_images(folder, args.images, args.classes, args.seed)
            print(f"made {args.images} JPEGs in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        beton = work / "train.beton"
        out["writer"] = write_beton("imagefolder", folder, "train", beton, workers=args.workers, force=True)
        print(f"wrote {beton}: {out['writer']}", file=sys.stderr)

        source = ImageFolderSource(folder)
        common = dict(mean=MEAN, std=STD, num_workers=args.workers, seed=args.seed, resolution=args.res)
        # the ImageNet recipe's training pipeline (conf/dataset/imagenet.yaml) in both loaders
        options = FFCVOptions(RankShare(args.batch_size, True, args.seed), crop="rrc", resolution=args.res,
                              mean=tuple(MEAN), std=tuple(STD), in_chans=3, hflip=True, pad_crop=0,
                              rrc_scale=(0.08, 1.0), crop_ratio=0.875, num_workers=args.workers,
                              os_cache=True, order="random")
        ffcv = FFCVLoader(str(beton), options)
        tv = ImageFileLoader(source, args.batch_size, train=True, hflip=True, rrc_scale=(0.08, 1.0), **common)
        assert torch.get_num_threads() == threads
        warm, ffcv_ips, nb = loader_throughput(ffcv, args.epochs)
        out["ffcv_first_epoch_s"] = round(warm, 2)  # includes numba's compilation of the pipeline
        out["ffcv_images_per_s"] = round(ffcv_ips, 1)
        print(f"ffcv:        {ffcv_ips:8.1f} images/s ({nb} batches/epoch; first epoch {warm:.1f}s)",
              file=sys.stderr)
        warm, tv_ips, _ = loader_throughput(tv, args.epochs)
        out["torchvision_first_epoch_s"] = round(warm, 2)
        out["torchvision_images_per_s"] = round(tv_ips, 1)
        print(f"torchvision: {tv_ips:8.1f} images/s (first epoch {warm:.1f}s)", file=sys.stderr)
        ratio = ffcv_ips / tv_ips
        out["ffcv_over_torchvision"] = round(ratio, 2)
        out["target"] = TARGET
        out["meets_target"] = bool(ratio >= TARGET)

        torch.manual_seed(args.seed)
        model = small_model(args.classes)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        ffcv.set_epoch(args.epochs + 1, args.res)
        in_memory = list(ffcv)
        train_throughput(in_memory[:2], model, opt)  # warm-up (allocator, kernels)
        fed = {"memory": train_throughput(in_memory, model, opt)}
        ffcv.set_epoch(args.epochs + 2, args.res)
        fed["ffcv"] = train_throughput(ffcv, model, opt)
        tv.set_epoch(args.epochs + 2, args.res)
        fed["torchvision"] = train_throughput(tv, model, opt)
        out["train_model"] = "conv 8x8/8 (32) - conv 3x3/2 (64) - pool - linear"
        out["train_images_per_s"] = {k: round(v, 1) for k, v in fed.items()}
        print("training steps fed by: " + ", ".join(f"{k} {v:.1f} images/s" for k, v in fed.items()),
              file=sys.stderr)
        out["torch_threads_after"] = torch.get_num_threads()
    finally:
        if tmp is not None:
            tmp.cleanup()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
