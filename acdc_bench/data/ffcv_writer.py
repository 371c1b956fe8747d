"""Write one split of a dataset to an FFCV ``.beton`` file (used by ``scripts/write_ffcv.py``).

Defaults follow the FFCV ImageNet example's writer (``write_imagenet.sh 500 0.50 90``):
images with a longest side above 500 px are shrunk to 500 px, half of them are stored as
JPEG at quality 90 and half as raw pixels (``proportion`` mode: raw images decode faster,
JPEGs keep the file small). Small, fixed-size sets (CIFAR, Fashion-MNIST) are stored raw
at their native size, as in FFCV's CIFAR example.

Fields: ``image`` (RGB; grey sets store three equal channels) and ``label`` (an int, or
for CelebA a vector of 40 uint8 attributes). Sample ``i`` of the file is sample ``i`` of
the source, so the labels of a split come back in the order the source lists them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from acdc_bench.data.image_sources import CELEBA_ATTRIBUTES, open_source
from acdc_bench.errors import ConfigError

FORMATS = ("imagefolder", "cifar", "celeba", "fashion_mnist")
WRITE_MODES = ("raw", "jpg", "smart", "proportion")


@dataclass(frozen=True)
class WriterDefaults:
    max_res: int | None
    write_mode: str
    compress_probability: float = 0.5
    jpeg_quality: int = 90


DEFAULTS = {
    "imagefolder": WriterDefaults(max_res=500, write_mode="proportion"),
    "celeba": WriterDefaults(max_res=None, write_mode="proportion"),
    "cifar": WriterDefaults(max_res=None, write_mode="raw"),
    "fashion_mnist": WriterDefaults(max_res=None, write_mode="raw"),
}


def write_command(fmt: str, src: str, split: str, out: str | Path) -> str:
    """The command line that creates ``out``: error messages quote it."""
    return f"python scripts/write_ffcv.py --format {fmt} --src {src} --split {split} --out {out}"


def _fields(fmt: str, max_res: int | None, write_mode: str, compress_probability: float, jpeg_quality: int):
    from ffcv.fields import IntField, NDArrayField, RGBImageField

    image = RGBImageField(
        write_mode=write_mode,
        max_resolution=max_res,
        jpeg_quality=jpeg_quality,
        compress_probability=compress_probability,
    )
    label = NDArrayField(np.dtype("uint8"), (CELEBA_ATTRIBUTES,)) if fmt == "celeba" else IntField()
    return {"image": image, "label": label}


class _SampleFailed(Exception):
    pass


class _Rows:
    """What FFCV's writer workers index: ``(RGB uint8 H x W x 3 array, label)`` tuples.

    FFCV's writer waits for its worker processes to count every sample, so a worker that
    dies on an unreadable image would leave it waiting forever. A failing worker therefore
    reports the sample on ``errors`` and signals the writing process, which stops.
    """

    def __init__(self, source: Any, errors: Any, parent: int):
        self.source, self.errors, self.parent = source, errors, parent

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, i: int):
        try:
            image, label = self.source[i]
            return np.asarray(image, dtype=np.uint8), label
        except Exception as err:
            name = getattr(self.source, "files", None)
            self.errors.put(f"sample {i} ({name[i] if name else 'array'}): {type(err).__name__}: {err}")
            os.kill(self.parent, signal.SIGUSR1)
            raise


def write_beton(
    fmt: str,
    src: str | Path,
    split: str,
    out: str | Path,
    *,
    max_res: int | None = None,
    jpeg_quality: int | None = None,
    write_mode: str | None = None,
    compress_probability: float | None = None,
    workers: int | None = None,
    force: bool = False,
    chunk_size: int = 100,
) -> dict[str, Any]:
    """Write ``split`` of the ``fmt`` dataset at ``src`` to ``out``; returns a description.

    The file is written under a temporary name beside ``out`` and renamed at the end, so
    ``out`` is either absent or complete. An existing ``out`` is kept unless ``force``.
    """
    if fmt not in FORMATS:
        raise ConfigError("--format", fmt, f"one of {list(FORMATS)}")
    d = DEFAULTS[fmt]
    max_res = d.max_res if max_res is None else (int(max_res) or None)
    jpeg_quality = d.jpeg_quality if jpeg_quality is None else int(jpeg_quality)
    write_mode = d.write_mode if write_mode is None else write_mode
    compress_probability = (
        d.compress_probability if compress_probability is None else float(compress_probability)
    )
    if write_mode not in WRITE_MODES:
        raise ConfigError("--write-mode", write_mode, f"one of {list(WRITE_MODES)}")
    if not 1 <= jpeg_quality <= 100:
        raise ConfigError("--jpeg-quality", jpeg_quality, "an integer in [1, 100]")
    if max_res is not None and max_res < 1:
        raise ConfigError("--max-res", max_res, "a positive number of pixels (0: keep the native size)")
    out = Path(out).expanduser()
    if out.exists() and not force:
        raise ConfigError("--out", str(out), "a path that does not exist yet (pass --force to overwrite it)")
    if not out.parent.is_dir():
        raise ConfigError("--out", str(out), "a file in an existing folder")
    source = open_source(fmt, src, split, field="--src")
    workers = int(workers) if workers else (os.cpu_count() or 1)

    from acdc_bench.data.ffcv_loader import import_ffcv

    import_ffcv()  # keeps torch's thread count; a clear error without FFCV
    from ffcv.writer import DatasetWriter

    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    errors = multiprocessing.SimpleQueue()

    def _stop(signum, frame):
        raise _SampleFailed(errors.get() if not errors.empty() else "a writer worker failed")

    previous = signal.signal(signal.SIGUSR1, _stop)
    t0 = time.perf_counter()
    writer = None
    try:
        writer = DatasetWriter(
            str(tmp),
            _fields(fmt, max_res, write_mode, compress_probability, jpeg_quality),
            num_workers=workers,
        )
        writer.from_indexed_dataset(_Rows(source, errors, os.getpid()), chunksize=chunk_size)
        os.replace(tmp, out)
    except _SampleFailed as err:
        for child in multiprocessing.active_children():  # the writer's workers
            child.terminate()
            child.join()
        from tqdm import tqdm

        for bar in list(getattr(tqdm, "_instances", ())):  # FFCV's progress bar, left open by the failure
            bar.close()
        shm = getattr(writer, "metadata_sm", None)
        if shm is not None and not isinstance(shm, int):
            shm.close()
            shm.unlink()
        raise ConfigError("--src", str(src), f"readable images; {err}") from None
    finally:
        signal.signal(signal.SIGUSR1, previous)
        if tmp.exists():
            tmp.unlink()
    return {
        "out": str(out),
        "format": fmt,
        "split": split,
        "samples": len(source),
        "bytes": out.stat().st_size,
        "max_res": max_res,
        "write_mode": write_mode,
        "compress_probability": compress_probability,
        "jpeg_quality": jpeg_quality,
        "workers": workers,
        "seconds": round(time.perf_counter() - t0, 2),
    }
