"""ImageNet-C (Hendrycks & Dietterich, ICLR 2019): the corruption names, the pre-rendered folder
layout, one image corrupted deterministically, and mCE against AlexNet.

The names and the layout are the benchmark's own, verbatim, so that a user's downloaded
``<root>/<corruption>/<severity>/<class>/*.JPEG`` folder works as it is. On-the-fly corruption
uses the maintained fork of the authors' code, ``imagecorruptions-imaug`` (the ``robustness``
extra; the original ``imagecorruptions`` no longer imports under setuptools >= 81). It is
imported only when an image is corrupted.

Determinism. The corruption functions draw from numpy's *global* RNG (``np.random.normal``,
``randint``, ...); glass blur and impulse noise take a ``seed`` argument instead (glass blur
otherwise seeds itself from the OS). :func:`corrupt_image` seeds both from ``(seed, image
index, corruption, severity)`` and restores the global state afterwards, so a corrupted image
is a pure function of those four numbers and nothing else in the process is disturbed.

Small and grey images. The package's ``corrupt()`` wrapper refuses images under 32 pixels a
side; the corruption functions themselves run on any size (checked for 8-32 px, all 19 at
severities 1-5), but their parameters are in pixels tuned for 224-px images (blur radii, frost
and snow textures, zoom factors, the elastic grid), so at 28 px the same severity is
relatively stronger. We keep the wrapper's contract: an image with a side under
:data:`MIN_SIDE` is reflect-padded to 32 px, corrupted, and its own pixels cut back out (no
resampling of the clean pixels). A grey image is given as three equal channels (the package
corrupts RGB) and brought back to one channel with ITU-R 601-2 luma (PIL's ``L``); colour
corruptions (frost, spatter) then act through luma, independent per-channel noise is averaged
by the luma weights (its standard deviation x0.67), and saturate, which scales a grey
image's zero saturation, leaves it unchanged at severities 1-3 (4-5 add saturation).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

# The 15 corruptions of the benchmark, in the benchmark's order (noise, blur, weather, digital),
# and the 4 held-out ones ImageNet-C also renders.
COMMON = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
EXTRA = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
CORRUPTIONS = COMMON + EXTRA
SEVERITIES = (1, 2, 3, 4, 5)
MIN_SIDE = 32  # the smallest side imagecorruptions' corrupt() accepts
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, PIL's RGB -> L

# AlexNet's top-1 error on ImageNet-C, per common corruption and severity 1-5: the
# normaliser of the Corruption Error (Hendrycks & Dietterich 2019, Sec. 3 and Appendix;
# hendrycks/robustness gives only the evaluation script, ImageNet-C/test.py, whose "mCE
# (unnormalized)" is this normaliser's input). The per-severity values as typed in timm's
# ImageNet-C utilities (``imagenetc_alexnet_error_rates_list``); their per-corruption means
# are the paper's AlexNet errors (e.g. Gaussian noise 88.6%, brightness 56.5%).
ALEXNET_ERRORS: dict[str, tuple[float, float, float, float, float]] = {
    "gaussian_noise": (0.69528, 0.82542, 0.93554, 0.98138, 0.99452),
    "shot_noise": (0.71224, 0.85108, 0.93574, 0.98182, 0.99146),
    "impulse_noise": (0.78374, 0.89808, 0.9487, 0.9872, 0.99548),
    "defocus_blur": (0.65624, 0.73202, 0.85036, 0.91364, 0.94714),
    "glass_blur": (0.64308, 0.75054, 0.88806, 0.91622, 0.93344),
    "motion_blur": (0.5843, 0.70048, 0.82108, 0.8975, 0.92638),
    "zoom_blur": (0.70008, 0.76992, 0.80784, 0.84198, 0.87198),
    "snow": (0.71726, 0.88392, 0.86468, 0.9187, 0.94952),
    "frost": (0.6139, 0.79734, 0.8879, 0.89942, 0.9343),
    "fog": (0.67474, 0.7605, 0.84378, 0.8726, 0.945),
    "brightness": (0.4514, 0.48502, 0.54048, 0.62166, 0.7244),
    "contrast": (0.64548, 0.7615, 0.88874, 0.9776, 0.9927),
    "elastic_transform": (0.52596, 0.70116, 0.55686, 0.64076, 0.80554),
    "pixelate": (0.52218, 0.5462, 0.73728, 0.87092, 0.91262),
    "jpeg_compression": (0.51002, 0.54718, 0.57294, 0.65458, 0.74778),
}
ALEXNET_SOURCE = (
    "Hendrycks & Dietterich, ICLR 2019 (ImageNet-C): AlexNet's errors per corruption and "
    "severity, as typed in timm's imagenetc_alexnet_error_rates_list"
)


def folder_layout(root: str, corruption: str = "<corruption>", severity: int | str = "<severity>") -> str:
    """Where ImageNet-C keeps one corruption at one severity (class folders inside)."""
    return f"{root}/{corruption}/{severity}"


def image_seed(seed: int, index: int, corruption: str, severity: int) -> int:
    """A 32-bit seed that is a pure function of its arguments (stable across processes and
    Python versions: no ``hash()``)."""
    key = f"{int(seed)}/{int(index)}/{corruption}/{int(severity)}".encode()
    return (zlib.crc32(key) ^ (zlib.adler32(key) << 1)) & 0xFFFFFFFF


@contextmanager
def isolated_numpy_rng(seed: int) -> Iterator[None]:
    """Seed numpy's global RNG for the block and restore the previous state after it."""
    saved = np.random.get_state()
    np.random.seed(seed & 0xFFFFFFFF)
    try:
        yield
    finally:
        np.random.set_state(saved)


def _functions():
    from imagecorruptions import corruption_dict

    return corruption_dict


def corrupt_image(image: np.ndarray, corruption: str, severity: int, index: int, seed: int = 0) -> np.ndarray:
    """``image`` (uint8, ``H x W`` or ``H x W x C`` with C in {1, 3}) corrupted: same shape,
    same dtype, deterministic in ``(seed, index, corruption, severity)``."""
    from PIL import Image

    if image.dtype != np.uint8:
        raise TypeError(f"corrupt_image needs uint8 pixels, got {image.dtype}")
    if corruption not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {corruption!r}; one of {list(CORRUPTIONS)}")
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} is not one of {list(SEVERITIES)}")
    shape = image.shape
    rgb = image if image.ndim == 3 else image[..., None]
    grey = rgb.shape[-1] == 1
    if grey:
        rgb = np.repeat(rgb, 3, axis=-1)
    h, w = rgb.shape[:2]
    pad_h, pad_w = max(0, MIN_SIDE - h), max(0, MIN_SIDE - w)
    top, left = pad_h // 2, pad_w // 2
    if pad_h or pad_w:
        rgb = np.pad(
            rgb,
            ((top, pad_h - top), (left, pad_w - left), (0, 0)),
            mode="reflect" if min(h, w) > 1 else "edge",
        )
    fn = _functions()[corruption]
    s = image_seed(seed, index, corruption, severity)
    kwargs = {"seed": s} if corruption in ("glass_blur", "impulse_noise") else {}
    with isolated_numpy_rng(s):
        out = np.asarray(fn(Image.fromarray(np.ascontiguousarray(rgb)), severity, **kwargs))
    if out.ndim == 2:  # a corruption that returned one channel
        out = np.repeat(out[..., None], 3, axis=-1)
    if out.dtype != np.uint8:
        # spatter divides by the largest value of its mud layer, which is 0 on an all-black
        # region: such NaN pixels keep their clean value (a NaN cast to uint8 is undefined)
        out = np.where(np.isfinite(out), out, rgb)
        out = np.uint8(np.clip(out, 0, 255))
    out = out[top : top + h, left : left + w]
    if grey:
        luma = out.astype(np.float64) @ np.asarray(LUMA)
        out = np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]
    return out.reshape(shape)


def corruption_errors(top1: Mapping[str, Mapping[int, float]]) -> dict[str, float] | None:
    """Each common corruption's Corruption Error, ``sum_s E_s / sum_s E_s^AlexNet`` (errors are
    1 - top-1), when all 15 common corruptions are present at all 5 severities; else None."""
    out = {}
    for name in COMMON:
        per = top1.get(name) or {}
        if any(s not in per for s in SEVERITIES):
            return None
        out[name] = sum(1.0 - float(per[s]) for s in SEVERITIES) / sum(ALEXNET_ERRORS[name])
    return out


def mean_ce(top1: Mapping[str, Mapping[int, float]]) -> float | None:
    """mCE: the mean Corruption Error over the 15 common corruptions (None when incomplete)."""
    ce = corruption_errors(top1)
    return None if ce is None else sum(ce.values()) / len(ce)


def mean_top1(top1: Mapping[str, Mapping[int, float]], names: Sequence[str]) -> float:
    """The mean top-1 over ``names`` and every severity measured (NaN when none)."""
    values = [float(v) for n in names for v in (top1.get(n) or {}).values()]
    return sum(values) / len(values) if values else math.nan
