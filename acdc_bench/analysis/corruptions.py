"""``task=analyze analysis=corruptions``: top-1 under the ImageNet-C corruptions (paper 001 App. G).

For every corruption in ``analysis.corruptions`` and severity in ``analysis.severities`` (the
paper: severity 1 only) the run's model is evaluated on the corrupted validation images; the
clean top-1 on the same images, the mean over corruptions and, when all 15 common corruptions
are present at all 5 severities, mCE against AlexNet (:mod:`acdc_bench.analysis.imagenet_c`).

Two sources (``analysis.source``):

- ``folder``: a pre-rendered ImageNet-C folder, ``<analysis.root>/<corruption>/<severity>/
  <class>/*.JPEG`` as users download it; each image is resized and centre-cropped to the
  run's ``dataset.eval_res`` (ImageNet-C's images are 224-px crops already: at 224 nothing
  changes), then normalised with the run's statistics. Clean top-1: the run's own
  validation split, when its data are on disk.
- ``on_the_fly``: the run's own validation split (any dataset with a memory, torchvision or
  image-file loader), each image corrupted (seeded by image index, corruption and severity)
  in uint8 pixels *before* the loader's resizing and normalisation, i.e. where ImageNet-C
  corrupts (its 224-px crops). Images held in memory are corrupted at their stored size (a
  Fashion-MNIST twin: 28x28 grey, then resized to ``eval_res`` as in training); image files
  after the evaluation crop. ``analysis.val_subset`` keeps N validation images (the first N of
  a set held in memory; N evenly spaced ones of an image folder, which is sorted by class).

Result of one entry: ``clean_top1``, ``top1[corruption][severity]``, ``mean_top1`` (all
corruptions asked for), ``mean_top1_common``, ``ce`` and ``mce`` (or null), ``images``, and
``metrics``: the same numbers flattened (``corruption_top1/<name>/s<severity>``) for reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from acdc_bench import validation as V
from acdc_bench.analysis import imagenet_c as IC
from acdc_bench.analysis.base import Analysis, AnalysisSettings
from acdc_bench.errors import ConfigError

SOURCES = ("on_the_fly", "folder")
GROUPS = {"all": IC.CORRUPTIONS, "common": IC.COMMON, "extra": IC.EXTRA}

Batch = tuple[np.ndarray, Tensor]  # uint8 N x H x W x C pixels, labels


@dataclass(frozen=True)
class CorruptionSettings(AnalysisSettings):
    source: str
    root: str | None
    corruptions: tuple[str, ...]
    severities: tuple[int, ...]
    val_subset: int | None
    seed: int

    @classmethod
    def fields(cls, cfg: Any) -> dict[str, Any]:
        source = V.choice(cfg, "analysis.source", SOURCES)
        root = V.string(
            cfg,
            "analysis.root",
            "the ImageNet-C folder (<root>/<corruption>/<severity>/<class>/)",
            nullable=True,
        )
        if source == "folder" and root is None:
            raise ConfigError(
                "analysis.root",
                None,
                "the ImageNet-C folder for analysis.source=folder "
                "(<root>/<corruption>/<severity>/<class>/*.JPEG)",
            )
        names = V.get(cfg, "analysis.corruptions")
        if isinstance(names, str) and names in GROUPS:
            chosen = GROUPS[names]
        else:
            listed = V.string_list(cfg, "analysis.corruptions", "ImageNet-C corruption names")
            bad = [n for n in listed if n not in IC.CORRUPTIONS]
            if bad or not listed:
                raise ConfigError(
                    "analysis.corruptions",
                    bad or listed,
                    f"all, common, extra or a list of {list(IC.CORRUPTIONS)}",
                )
            chosen = tuple(listed)
        sev = V.get(cfg, "analysis.severities")
        sev_list = list(sev) if not isinstance(sev, (int, str)) and sev not in (None, V.ABSENT) else None
        if not sev_list or not all(V.is_int(s) and s in IC.SEVERITIES for s in sev_list):
            raise ConfigError(
                "analysis.severities",
                None if sev is V.ABSENT else sev,
                "a non-empty list of severities in [1, 5] (the paper: [1])",
            )
        return {
            **super().fields(cfg),
            "source": source,
            "root": root,
            "corruptions": tuple(chosen),
            "severities": tuple(sorted(set(int(s) for s in sev_list))),
            "val_subset": V.integer(cfg, "analysis.val_subset", nullable=True),
            "seed": V.integer(cfg, "analysis.seed", low=0),
        }


# ----------------------------------------------------------------------------- image streams
def spread(total: int, n: int) -> list[int]:
    """``n`` of ``total`` indices evenly spaced: image folders are sorted by class, so the first
    ``n`` images would be the first classes only (``analysis.val_subset`` on ImageNet)."""
    if n >= total:
        return list(range(total))
    return [int(i * total // n) for i in range(n)]


def _centre_crop(img: Any, res: int, crop_ratio: float) -> np.ndarray:
    """An image file as the evaluation crops it (shorter side to ``res / crop_ratio``, centre
    ``res`` square), as uint8 ``H x W x C``."""
    import torchvision.transforms.functional as TF

    img = TF.center_crop(TF.resize(img, int(round(res / crop_ratio)), antialias=True), [res, res])
    return np.asarray(img, dtype=np.uint8).reshape(res, res, -1)


class ValImages:
    """The validation images of a run before normalisation: uint8 batches in order, and the
    rest of the evaluation pipeline (resize as the loader does, normalise) as ``to_input``."""

    def __init__(self, val: Any, limit: int | None, batch_size: int, eval_res: int):
        from acdc_bench.data.image_loader import ImageFileLoader
        from acdc_bench.data.tensor_loader import TensorLoader

        self.batch_size, self.val = batch_size, val
        val.set_epoch(0, resolution=eval_res)  # as the trainer evaluates (a fresh loader has its native size)
        if isinstance(val, TensorLoader):
            self.kind, n = "memory", len(val.labels)
        elif isinstance(val, ImageFileLoader):
            self.kind, n = "files", len(val.source)
            if getattr(val, "multilabel", False):
                raise ConfigError(
                    "dataset.objective", "multilabel", "classification for analysis=corruptions"
                )
        else:
            raise ConfigError(
                "dataset.loader",
                type(val).__name__,
                "memory, torchvision or image files for analysis.source=on_the_fly (FFCV "
                "decodes and normalises in its pipeline; corrupt before it)",
            )
        self.n = n if limit is None else min(limit, n)

    def batches(self) -> Iterator[tuple[int, Batch]]:
        for start in range(0, self.n, self.batch_size):
            stop = min(self.n, start + self.batch_size)
            if self.kind == "memory":
                x = self.val.images[start:stop]
                if x.dtype != torch.uint8:  # float pixels in [0, 1] (digits): quantised once
                    x = (x.float() * 255).round().clamp(0, 255).to(torch.uint8)
                pixels = x.permute(0, 2, 3, 1).contiguous().cpu().numpy()
                labels = self.val.labels[start:stop]
            else:
                items = [self.val.source[i] for i in spread(len(self.val.source), self.n)[start:stop]]
                pixels = np.stack(
                    [_centre_crop(img, self.val.resolution, self.val.crop_ratio) for img, _ in items]
                )
                labels = torch.as_tensor([int(y) for _, y in items])
            yield start, (pixels, labels)

    def to_input(self, pixels: np.ndarray) -> Tensor:
        x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).to(self.val.device).float()
        if self.kind == "memory":
            x = x / 255.0
            res = self.val.resolution
            if x.shape[-1] != res:
                x = F.interpolate(x, size=(res, res), mode="bilinear", antialias=True)
        return self.val.normalise(x)  # file images: Normalise with pixel_max 255


# ----------------------------------------------------------------------------- evaluation
@torch.no_grad()
def _count_correct(model: nn.Module, x: Tensor, y: Tensor) -> int:
    return int((model(x).argmax(1) == y.to(x.device)).sum())


def evaluate_stream(
    model: nn.Module,
    stream: Iterator[tuple[int, Batch]],
    to_input: Callable[[np.ndarray], Tensor],
    corrupt: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> tuple[float, int]:
    """Top-1 over a stream of uint8 batches; ``corrupt(image, index)`` is applied per image."""
    correct = total = 0
    for start, (pixels, labels) in stream:
        if corrupt is not None:
            pixels = np.stack([corrupt(img, start + i) for i, img in enumerate(pixels)])
        correct += _count_correct(model, to_input(pixels), labels)
        total += len(labels)
    return (correct / total if total else float("nan")), total


def _folder_stream(path: str, res: int, batch_size: int, limit: int | None) -> Iterator[tuple[int, Batch]]:
    from acdc_bench.data.image_sources import ImageFolderSource

    source = ImageFolderSource(path, field="analysis.root")
    n = len(source) if limit is None else min(limit, len(source))
    chosen = spread(len(source), n)
    for start in range(0, n, batch_size):
        items = [source[i] for i in chosen[start : start + batch_size]]
        yield (
            start,
            (
                np.stack([_centre_crop(img, res, 1.0) for img, _ in items]),
                torch.as_tensor([int(y) for _, y in items]),
            ),
        )


class Corruptions(Analysis):
    name: ClassVar[str] = "corruptions"
    settings_class: ClassVar[type[AnalysisSettings]] = CorruptionSettings

    def compute(self, run_dir: Path, entry: str) -> dict[str, Any]:
        from acdc_bench.analysis.runs import load_run

        s: CorruptionSettings = self.settings  # type: ignore[assignment]
        run = load_run(run_dir, self.entry_epoch(entry), device=self.device())
        model = run.model.eval()
        top1: dict[str, dict[int, float]] = {}
        if s.source == "on_the_fly":
            images = ValImages(
                run.data(s.batch_size).val, s.val_subset, s.batch_size, run.settings.eval_res
            )
            clean, n = evaluate_stream(model, images.batches(), images.to_input)
            for name in s.corruptions:
                for sev in s.severities:

                    def corrupt(img: np.ndarray, i: int, name: str = name, sev: int = sev) -> np.ndarray:
                        return IC.corrupt_image(img, name, sev, i, s.seed)

                    top1.setdefault(name, {})[sev], _ = evaluate_stream(
                        model, images.batches(), images.to_input, corrupt
                    )
        else:
            clean, n = self._folder_clean(run, s)
            to_input = self._normaliser(run)
            res = run.settings.eval_res
            for name in s.corruptions:
                for sev in s.severities:
                    path = IC.folder_layout(str(s.root), name, sev)
                    if not Path(path).is_dir():
                        raise ConfigError(
                            "analysis.root",
                            s.root,
                            f"ImageNet-C's layout <root>/<corruption>/"
                            f"<severity>/<class>/*.JPEG (missing {path})",
                        )
                    top1.setdefault(name, {})[sev], n = evaluate_stream(
                        model, _folder_stream(path, res, s.batch_size, s.val_subset), to_input
                    )
        return summarise(clean, top1, n, s.corruptions)

    @staticmethod
    def _normaliser(run: Any) -> Callable[[np.ndarray], Tensor]:
        from acdc_bench.data.loader import Normalise

        norm = Normalise(list(run.settings.mean), list(run.settings.std), run.device, pixel_max=255.0)
        in_chans = run.settings.in_chans

        def to_input(pixels: np.ndarray) -> Tensor:
            x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).to(run.device).float()
            return norm(x[:, :in_chans])

        return to_input

    @staticmethod
    def _folder_clean(run: Any, s: CorruptionSettings) -> tuple[float | None, int]:
        """The run's own validation top-1 (None when its data are not on disk here)."""
        try:
            images = ValImages(
                run.data(s.batch_size).val, s.val_subset, s.batch_size, run.settings.eval_res
            )
        except ConfigError:
            return None, 0
        return evaluate_stream(run.model, images.batches(), images.to_input)


def summarise(
    clean: float | None, top1: dict[str, dict[int, float]], images: int, names: tuple[str, ...]
) -> dict[str, Any]:
    """One entry's JSON: nested per corruption and severity, means, mCE, and flat metrics."""
    ce = IC.corruption_errors(top1)
    out: dict[str, Any] = {
        "images": images,
        "clean_top1": clean,
        "top1": {n: {str(k): v for k, v in sorted(per.items())} for n, per in top1.items()},
        "mean_top1": IC.mean_top1(top1, names),
        "mean_top1_common": IC.mean_top1(top1, [n for n in names if n in IC.COMMON]),
        "ce": ce,
        "mce": IC.mean_ce(top1),
        "alexnet_source": IC.ALEXNET_SOURCE,
    }
    metrics = {f"corruption_top1/{n}/s{k}": v for n, per in top1.items() for k, v in sorted(per.items())}
    metrics.update({"clean_top1": clean, "corruption_mean_top1": out["mean_top1"], "mce": out["mce"]})
    out["metrics"] = metrics
    return out
