#!/usr/bin/env python
"""Write one split of a dataset on disk to an FFCV ``.beton`` file for ``dataset.loader=ffcv``.

    python scripts/write_ffcv.py --format imagefolder --src ~/imagenet --split train --out ~/in_train.beton
    python scripts/write_ffcv.py --format cifar --src ~/cifar --split val --out ~/cifar10_val.beton

Formats: ``imagefolder`` (ImageNet-style class folders; ``--src`` is the split's folder or
its parent holding ``<split>/``), ``cifar`` (torchvision's CIFAR-10/100 python layout;
``val`` and ``test`` are the test batch), ``celeba`` (torchvision's CelebA layout, 40
binary attributes), ``fashion_mnist`` (idx files, gzipped or not; ``val``/``test`` are
t10k). Defaults follow the FFCV ImageNet example's writer (longest side 500 px, half the
images JPEG at quality 90) for image folders and CelebA, raw native-size pixels for CIFAR
and Fashion-MNIST. The last line printed is a JSON description of the written file.
"""

from __future__ import annotations

import argparse
import json
import sys

from acdc_bench.data.ffcv_writer import FORMATS, WRITE_MODES, write_beton
from acdc_bench.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--src", required=True, help="the dataset's folder on disk")
    p.add_argument("--split", required=True, choices=("train", "val", "test"))
    p.add_argument("--out", required=True, help="the .beton file to create")
    p.add_argument(
        "--max-res",
        type=int,
        default=None,
        help="shrink images whose longest side is larger (default 500 for imagefolder, else native; "
        "0 keeps the native size)",
    )
    p.add_argument(
        "--jpeg-quality", type=int, default=None, help="JPEG quality of compressed images (default 90)"
    )
    p.add_argument(
        "--write-mode",
        choices=WRITE_MODES,
        default=None,
        help="FFCV image storage (default proportion for imagefolder/celeba, raw for cifar/fashion_mnist)",
    )
    p.add_argument(
        "--compress-probability",
        type=float,
        default=None,
        help="share of images stored as JPEG in proportion mode (default 0.5)",
    )
    p.add_argument("--workers", type=int, default=None, help="writer processes (default: all cores)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    args = p.parse_args(argv)
    try:
        info = write_beton(
            args.format,
            args.src,
            args.split,
            args.out,
            max_res=args.max_res,
            jpeg_quality=args.jpeg_quality,
            write_mode=args.write_mode,
            compress_probability=args.compress_probability,
            workers=args.workers,
            force=args.force,
        )
    except ConfigError as err:
        print(f"write_ffcv: error: {err}", file=sys.stderr, flush=True)
        return 2
    print(json.dumps(info), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
