"""Loss interpolation (paper 001 Fig. 10, App. I): train and validation loss along the
piecewise-linear path through a run's kept checkpoints, ``analysis.points`` pieces per
segment, to see whether consecutive checkpoints are separated by a loss barrier.

Losses are the mean cross-entropy (no label smoothing) on the training split without
augmentation and on the validation split, each whole or its first ``analysis.samples``.

BatchNorm at interpolated points (``analysis.bn``): the running statistics of neither end
describe an interpolated network, so ``recompute`` (the default) re-estimates them at every
point, endpoints included, from ``analysis.bn_batches`` training batches (no augmentation,
a cumulative average); ``interpolate`` mixes the stored statistics like the weights (the
endpoints then reproduce the checkpoints' own losses exactly). Each endpoint's loss with
its own stored statistics is reported as well. Between two sparse checkpoints with
different masks the interpolated weights are non-zero on the *union* of the masks: the
path leaves the sparse sets in between (``union_density`` says by how much).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from acdc_bench import validation as V
from acdc_bench.analysis.base import Analysis, AnalysisSettings


@dataclass(frozen=True)
class InterpolationSettings(AnalysisSettings):
    points: int  # pieces per segment: points + 1 evaluations including both ends
    samples: int | None  # None: the whole split
    bn: str  # recompute | interpolate
    bn_batches: int

    @classmethod
    def fields(cls, cfg: Any) -> dict[str, Any]:
        return {**super().fields(cfg),
                "points": V.integer(cfg, "analysis.points"),
                "samples": V.integer(cfg, "analysis.samples", nullable=True),
                "bn": V.choice(cfg, "analysis.bn", ["recompute", "interpolate"]),
                "bn_batches": V.integer(cfg, "analysis.bn_batches")}


def mix(a: dict[str, Tensor], b: dict[str, Tensor], alpha: float) -> dict[str, Tensor]:
    """``(1 - alpha) a + alpha b`` for floating tensors; counters (integers) from ``a``."""
    return {k: torch.lerp(v, b[k], alpha) if v.is_floating_point() else v.clone() for k, v in a.items()}


@torch.no_grad()
def mean_loss(model: nn.Module, batches: Iterable[tuple[Tensor, Tensor]]) -> float:
    model.eval()
    total, n = 0.0, 0
    for x, y in batches:
        total += float(F.cross_entropy(model(x), y, reduction="sum"))
        n += int(y.shape[0])
    return total / n


@torch.no_grad()
def recompute_bn(model: nn.Module, batches: Iterable[tuple[Tensor, Tensor]]) -> None:
    """Fresh BatchNorm statistics: a cumulative average over ``batches`` in train mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    for x, _ in batches:
        model(x)
    for m, mom in zip(norms, saved, strict=True):
        m.momentum = mom
    model.eval()


def _take(loader: Iterable[tuple[Tensor, Tensor]], samples: int | None) -> list[tuple[Tensor, Tensor]]:
    from acdc_bench.analysis.sharpness import first_samples

    return list(loader) if samples is None else first_samples(loader, samples)


class Interpolation(Analysis):
    """``analysis=interpolation``: entries are the segments ``segment_<a>_<b>`` between
    consecutive chosen epochs (``analysis.epochs``; null: every kept epoch)."""

    name = "interpolation"
    settings_class = InterpolationSettings

    def _epochs(self, run_dir: Path) -> list[int]:
        from acdc_bench.analysis.runs import kept_epochs, missing_epochs_error

        have = kept_epochs(run_dir)
        wanted = list(self.settings.epochs) if self.settings.epochs is not None else have
        missing = sorted(set(wanted) - set(have))
        if missing or len(wanted) < 2:
            raise missing_epochs_error(run_dir, missing or wanted or [0, 1],
                                       "analysis=interpolation (at least two kept epochs)")
        return sorted(wanted)

    def entries(self, run_dir: Path) -> list[str]:
        e = self._epochs(run_dir)
        return [f"segment_{a}_{b}" for a, b in zip(e[:-1], e[1:], strict=True)]

    def compute(self, run_dir: Path, entry: str) -> dict[str, Any]:
        from acdc_bench.analysis.runs import load_run

        s = self.settings
        a, b = (int(t) for t in entry.removeprefix("segment_").split("_"))
        start, end = load_run(run_dir, a, self.device()), load_run(run_dir, b, self.device())
        data = start.data(s.batch_size)
        train, val = _take(data.train, s.samples), _take(data.val, s.samples)
        bn_batches = train[: s.bn_batches]
        model, sa, sb = start.model, start.model.state_dict(), end.model.state_dict()
        sa, sb = {k: v.clone() for k, v in sa.items()}, {k: v.clone() for k, v in sb.items()}
        own = {}
        for tag, state in (("start", sa), ("end", sb)):
            model.load_state_dict(state)
            own[tag] = {"train_loss": mean_loss(model, train), "val_loss": mean_loss(model, val)}
        points = []
        for i in range(s.points + 1):
            alpha = i / s.points
            model.load_state_dict(mix(sa, sb, alpha))
            if s.bn == "recompute":
                recompute_bn(model, bn_batches)
            points.append({"alpha": alpha, "train_loss": mean_loss(model, train),
                           "val_loss": mean_loss(model, val)})
        union = [(start.masks[k] | end.masks[k]) for k in start.masks]
        union_density = sum(int(u.sum()) for u in union) / sum(u.numel() for u in union)
        barrier = {k: max(p[k] for p in points) - max(points[0][k], points[-1][k])
                   for k in ("train_loss", "val_loss")}
        return {"epochs": [a, b], "points": points, "checkpoint_losses": own, "barrier": barrier,
                "union_density": union_density, "bn": s.bn}
