"""Sharpness (paper 001 Fig. 9, App. I): the largest-magnitude eigenvalue of the Hessian of
the training loss, by power iteration on Hessian-vector products.

The loss is the mean cross-entropy (no label smoothing) over the given batches with the
model in eval mode (BatchNorm uses its running statistics, so the loss is one fixed
function of the weights); the Hessian is taken with respect to every trainable parameter,
restricted on masked weights to their free (non-zero) coordinates: ``H_restricted =
P H P`` with ``P`` the 0/1 diagonal of the masks, so a pruned weight neither moves nor
contributes. Each product is a double backward (``torch.autograd.grad`` with
``create_graph``), which runs on CUDA for ResNet-50 as on the CPU for a toy model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from acdc_bench import validation as V
from acdc_bench.analysis.base import Analysis, AnalysisSettings


@dataclass(frozen=True)
class PowerIteration:
    """The estimate and how far it had settled: ``relative_change`` is |λ_k - λ_{k-1}| / |λ_k|
    at the last iteration (the paper reports 20 iterations as "usually enough")."""

    eigenvalue: float
    iterations: int
    relative_change: float
    converged: bool


def _free(model: nn.Module, masks: Mapping[str, Tensor] | None) -> tuple[list[Tensor], list[Tensor | None]]:
    params, factors = [], []
    names = dict(model.named_parameters())
    if masks:
        unknown = sorted(set(masks) - set(names))
        if unknown:
            raise KeyError(f"masks name parameters the model does not have: {unknown[:3]}")
    for name, p in names.items():
        if not p.requires_grad:
            continue
        params.append(p)
        m = None if not masks or name not in masks else masks[name]
        factors.append(None if m is None else m.to(device=p.device, dtype=p.dtype))
    return params, factors


def _restrict(vs: Sequence[Tensor], factors: Sequence[Tensor | None]) -> list[Tensor]:
    return [v if f is None else v * f for v, f in zip(vs, factors, strict=True)]


def _dot(a: Sequence[Tensor], b: Sequence[Tensor]) -> Tensor:
    return sum((x * y).sum() for x, y in zip(a, b, strict=True))


def hessian_vector_product(model: nn.Module, batches: Sequence[tuple[Tensor, Tensor]],
                           params: Sequence[Tensor], v: Sequence[Tensor]) -> list[Tensor]:
    """``H v`` of the mean cross-entropy over all ``batches`` (each batch's product weighted by
    its share of the samples, so batching does not change the value)."""
    total = sum(int(y.shape[0]) for _, y in batches)
    out = [torch.zeros_like(p) for p in params]
    for x, y in batches:
        loss = F.cross_entropy(model(x), y, reduction="sum") / total
        grads = torch.autograd.grad(loss, params, create_graph=True)
        hv = torch.autograd.grad(_dot(grads, v), params)
        for o, h in zip(out, hv, strict=True):
            o.add_(h.detach())
    return out


def power_iteration(model: nn.Module, batches: Iterable[tuple[Tensor, Tensor]],
                    masks: Mapping[str, Tensor] | None = None, iterations: int = 20, tolerance: float = 0.0,
                    seed: int = 0) -> PowerIteration:
    """Power iteration on the (restricted) Hessian from a seeded random start; stops early
    once the relative change of the Rayleigh quotient is below ``tolerance`` (0: never)."""
    batches = list(batches)
    was_training = model.training
    model.eval()
    try:
        params, factors = _free(model, masks)
        gen = torch.Generator().manual_seed(seed)
        start = [torch.randn(p.shape, generator=gen, dtype=p.dtype).to(p.device) for p in params]
        v = _restrict(start, factors)
        norm = torch.sqrt(_dot(v, v))
        v = [x / norm for x in v]
        eig, change, done = 0.0, float("inf"), 0
        for k in range(1, iterations + 1):
            done = k
            hv = _restrict(hessian_vector_product(model, batches, params, v), factors)
            new = float(_dot(hv, v))  # Rayleigh quotient (v has unit norm): keeps the sign
            change = abs(new - eig) / max(abs(new), 1e-30)
            eig = new
            norm = torch.sqrt(_dot(hv, hv))
            if float(norm) == 0.0:
                change = 0.0
                break
            v = [x / norm for x in hv]
            if change < tolerance:
                break
        return PowerIteration(eig, done, change, change < max(tolerance, 1e-3))
    finally:
        model.train(was_training)


def top_hessian_eigenvalue(model: nn.Module, batches: Iterable[tuple[Tensor, Tensor]],
                           masks: Mapping[str, Tensor] | None = None, iterations: int = 20) -> float:
    """The largest-magnitude eigenvalue of the Hessian of the mean cross-entropy over
    ``batches`` (``(inputs, targets)`` pairs) with respect to ``model``'s trainable
    parameters; ``masks`` maps parameter names to bool tensors (True = free coordinate) and
    restricts the Hessian to those coordinates. Model in eval mode; ``iterations`` steps."""
    return power_iteration(model, batches, masks, iterations).eigenvalue


# ---------------------------------------------------------------------------- the analysis
@dataclass(frozen=True)
class SharpnessSettings(AnalysisSettings):
    iterations: int
    tolerance: float
    samples: int
    seed: int

    @classmethod
    def fields(cls, cfg: Any) -> dict[str, Any]:
        return {**super().fields(cfg),
                "iterations": V.integer(cfg, "analysis.iterations"),
                "tolerance": float(V.number(cfg, "analysis.tolerance", 0)),
                "samples": V.integer(cfg, "analysis.samples"),
                "seed": V.integer(cfg, "analysis.seed", low=0)}


def first_samples(loader: Iterable[tuple[Tensor, Tensor]], samples: int) -> list[tuple[Tensor, Tensor]]:
    """The first ``samples`` items of an in-order loader, as batches."""
    out, n = [], 0
    for x, y in loader:
        take = min(samples - n, int(y.shape[0]))
        out.append((x[:take], y[:take]))
        n += take
        if n >= samples:
            break
    return out


class Sharpness(Analysis):
    """``analysis=sharpness``: the top Hessian eigenvalue of the final model (or kept epochs)
    on the first ``analysis.samples`` training images in dataset order, no augmentation."""

    name = "sharpness"
    settings_class = SharpnessSettings

    def compute(self, run_dir: Path, entry: str) -> dict[str, Any]:
        from acdc_bench.analysis.runs import load_run

        s = self.settings
        run = load_run(run_dir, self.entry_epoch(entry), self.device())
        batches = first_samples(run.data(s.batch_size).train, s.samples)
        result = power_iteration(run.model, batches, run.masks, s.iterations, s.tolerance, s.seed)
        return {"epoch": run.epoch, "eigenvalue": result.eigenvalue, "iterations": result.iterations,
                "relative_change": result.relative_change, "converged": result.converged,
                "samples": sum(int(y.shape[0]) for _, y in batches)}
