"""Sparsity distributions: how a sparsity target becomes masks, given scores.

A distribution decides which prunable layers are pruned and how the budget is split
among them; it selects by top-k on scores (higher = keep) and never computes scores
itself. ``distribution.keep_dense`` lists layers left dense and out of the budget:
``first`` (the input convolution), ``last`` (the classifier) or layer names.

- ``global`` / ``fld``: one magnitude threshold over all pruned layers (one ``kthvalue``
  over the concatenated scores); ``fld`` keeps the first and last layers dense (AC/DC++ FLD).
- ``uniform``: every pruned layer at the target.
- ``erk``: Erdős–Rényi-Kernel (RigL): density of a layer proportional to
  ``sum(shape) / prod(shape)``; a layer whose density would exceed 1 becomes dense and the
  budget is solved again over the rest.
- ``gmp_fld``: first layer dense, last layer at ``last_sparsity`` (80%), the rest global
  (the GMP / Top-KAST setting of paper 001 Table 1).
- ``block4``: global threshold over groups of ``block_size`` consecutive weights along the
  input dimension, scored by their summed score (paper 001 Fig. 6).
- ``nm``: N:M semi-structured, N kept in every M consecutive weights along the input
  dimension (2:4 for sparse tensor cores); the sparsity is 1 - N/M.

Layers whose input dimension is not a multiple of the group size (e.g. an RGB stem for
``block4`` and ``nm``) cannot be grouped and stay dense, out of the budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError
from acdc_bench.sparsity import scores as S
from acdc_bench.sparsity.masks import PrunableLayer
from acdc_bench.sparsity.nm import grouped, nm_select, ungrouped

KEEP_DENSE_WORDS = ("first", "last")


# ---------------------------------------------------------------------- selection primitives
SAMPLE = 1 << 16  # strided sample that locates the k-th value of a large tensor


@torch.no_grad()
def kth_smallest(flat: Tensor, k: int) -> Tensor:
    """The ``k``-th smallest entry of a 1-D tensor (1-based): exactly ``torch.kthvalue(flat, k)``.

    For millions of entries a full selection is the slow part of a mask recompute, so the
    value is located first: a sorted strided sample of ``SAMPLE`` entries gives a band
    around the k-th quantile (8 standard errors wide), two counting passes check that the
    k-th value is inside it, and ``kthvalue`` runs on the band alone (about 3% of the
    entries). When the check fails (it practically never does) the full selection runs.
    Two host syncs; meant for mask recomputes, not for every step.
    """
    n = flat.numel()
    if n <= 16 * SAMPLE:
        return torch.kthvalue(flat, k).values
    sample = flat[:: n // SAMPLE].sort().values
    m = sample.numel()
    margin = 4.0 / math.sqrt(m)
    lo = sample[max(0, math.floor((k / n - margin) * m))]
    hi = sample[min(m - 1, math.ceil((k / n + margin) * m))]
    below = int(torch.count_nonzero(flat < lo))  # (count_nonzero: a bool .sum() is ~8x slower)
    if not below < k <= int(torch.count_nonzero(flat <= hi)):
        return torch.kthvalue(flat, k).values
    if bool(lo == hi):
        return lo
    band = flat[(flat >= lo) & (flat <= hi)]
    return torch.kthvalue(band, k - below).values


def _gt_into(scores: Tensor, threshold: Tensor, out: Tensor) -> None:
    """``out = scores > threshold`` for a flat ``scores`` chunk; written through a 1-D view
    when ``out`` is contiguous (many times faster than a 4-D bool ``out`` on the CPU)."""
    if out.is_contiguous():
        torch.gt(scores, threshold, out=out.view(-1))
    else:
        out.copy_((scores > threshold).view(out.shape))


@torch.no_grad()
def threshold_flat(flat: Tensor, sizes: Sequence[int], n_prune: int, out: Sequence[Tensor]) -> None:
    """Keep everything above the ``n_prune``-th smallest entry of ``flat`` (the concatenated,
    flattened scores of the ``out`` layers, ``sizes`` entries each).

    One k-th value over all scores (:func:`kth_smallest`), then one comparison per layer.
    Ties at the threshold are pruned together (with magnitudes that happens for exact zeros
    only, which then all stay pruned).
    """
    if n_prune <= 0:
        for o in out:
            o.fill_(True)
        return
    threshold = kth_smallest(flat, min(n_prune, flat.numel()))
    for chunk, o in zip(flat.split(list(sizes)), out, strict=True):
        _gt_into(chunk, threshold, o)


@torch.no_grad()
def threshold_select(scores: Sequence[Tensor], n_prune: int, out: Sequence[Tensor]) -> None:
    """Global selection: the ``n_prune`` lowest scores over all ``scores`` together go."""
    flat = torch.cat([s.reshape(-1) for s in scores])
    threshold_flat(flat, [s.numel() for s in scores], n_prune, out)


@torch.no_grad()
def topk_select(score: Tensor, keep: int, out: Tensor) -> None:
    """Keep exactly the ``keep`` highest scores of one tensor (ties broken arbitrarily)."""
    n = score.numel()
    if keep >= n:
        out.fill_(True)
        return
    if keep <= 0:
        out.fill_(False)
        return
    flat = score.reshape(-1)
    direct = out.is_contiguous()
    chosen = out.view(-1) if direct else torch.empty(n, dtype=torch.bool, device=score.device)
    if keep <= n // 2:
        chosen.fill_(False)
        chosen[flat.topk(keep, sorted=False).indices] = True
    else:  # the smaller top-k: choose what goes
        chosen.fill_(True)
        chosen[flat.topk(n - keep, largest=False, sorted=False).indices] = False
    if not direct:
        out.copy_(chosen.view(score.shape))


# ---------------------------------------------------------------------- ERK
def erk_densities(shapes: Sequence[Sequence[int]], sparsity: float, power_scale: float = 1.0) -> list[float]:
    """Erdős–Rényi-Kernel layer densities meeting ``1 - sparsity`` overall (RigL's rule).

    Density_l = eps * (sum(shape_l) / prod(shape_l)) ** power_scale; eps is solved so that
    the kept weights total ``(1 - sparsity) * sum(numel)``. Any layer whose density would
    exceed 1 is made dense (largest raw density first) and eps is solved again over the rest.
    """
    numels = [math.prod(s) for s in shapes]
    raw = [(sum(s) / math.prod(s)) ** power_scale for s in shapes]
    dense: set[int] = set()
    while True:
        budget = sum((1.0 - sparsity) * n for n in numels) - sum(numels[i] for i in dense)
        divisor = sum(raw[i] * numels[i] for i in range(len(shapes)) if i not in dense)
        if divisor <= 0:  # everything dense: sparsity too low to prune anything sensibly
            return [1.0] * len(shapes)
        eps = budget / divisor
        over = [i for i in range(len(shapes)) if i not in dense and eps * raw[i] > 1.0]
        if not over:
            return [1.0 if i in dense else eps * raw[i] for i in range(len(shapes))]
        top = max(raw[i] for i in over)
        dense.update(i for i in over if raw[i] == top)


# ---------------------------------------------------------------------- distributions
class Distribution:
    """Turns scores into masks at a sparsity target (the fraction of pruned weights among
    the layers it prunes)."""

    name = "global"
    group: int = 1  # structured distributions prune groups of this many weights
    fixed_sparsity: float | None = None  # N:M fixes the sparsity

    def __init__(self, settings: DistributionSettings, layers: Sequence[PrunableLayer]):
        self.settings = settings
        self.layers = list(layers)
        keep = list(settings.keep_dense)
        self.keep_dense_names = keep
        self.dense = [False] * len(self.layers)
        names = {layer.name: i for i, layer in enumerate(self.layers)}
        for item in keep:
            if item == "first":
                self.dense[0] = True
            elif item == "last":
                self.dense[-1] = True
            elif item in names:
                self.dense[names[item]] = True
            else:
                listed = ", ".join(list(names)[:4])
                raise ConfigError("distribution.keep_dense", list(keep),
                                  f"first, last or names of conv/linear layers ({listed}, ...)")
        # Layers that cannot be grouped stay dense (structured distributions only).
        self.ungroupable = [self.group > 1 and layer.shape[1] % self.group != 0 for layer in self.layers]
        self.pruned = [not (d or u) for d, u in zip(self.dense, self.ungroupable, strict=True)]
        if not any(self.pruned):
            raise ConfigError("distribution.keep_dense", list(keep), "a list that leaves some layer to prune")

    def target(self, sparsity: float) -> float:
        return self.fixed_sparsity if self.fixed_sparsity is not None else sparsity

    def _pruned(self, seq: Sequence[Any]) -> list[Any]:
        return [x for x, p in zip(seq, self.pruned, strict=True) if p]

    @torch.no_grad()
    def select(self, scores: Sequence[Tensor], sparsity: float, out: Sequence[Tensor]) -> None:
        """Write the masks at ``sparsity`` into ``out`` (kept-dense layers all True)."""
        for o, p in zip(out, self.pruned, strict=True):
            if not p:
                o.fill_(True)
        if sparsity <= 0:
            for o in out:
                o.fill_(True)
            return
        self._select(self._pruned(scores), sparsity, self._pruned(out), self._pruned(self.layers))

    @torch.no_grad()
    def select_magnitude(self, weights: Sequence[Tensor], sparsity: float, out: Sequence[Tensor]) -> None:
        """Masks by weight magnitude: ``select(magnitude(weights), ...)``. For the global
        threshold it is fused: |w| of the pruned layers concatenated into one buffer, one
        k-th value, one comparison per layer."""
        if type(self)._select is not Distribution._select or sparsity <= 0:
            self.select(S.magnitude(weights), sparsity, out)
            return
        for o, p in zip(out, self.pruned, strict=True):
            if not p:
                o.fill_(True)
        pruned = self._pruned(weights)
        flat = torch.cat([w.detach().reshape(-1) for w in pruned]).abs_()
        threshold_flat(flat, [w.numel() for w in pruned], round(sparsity * flat.numel()), self._pruned(out))

    def _select(self, scores: list[Tensor], sparsity: float, out: list[Tensor],
                layers: list[PrunableLayer]) -> None:
        n_prune = round(sparsity * sum(layer.numel for layer in layers))
        threshold_select(scores, n_prune, out)

    def keep_counts(self, scores: Sequence[Tensor], sparsity: float) -> list[int]:
        """Kept weights per layer at ``sparsity`` (per-layer budgets; RigL keeps them fixed)."""
        masks = [torch.empty(s.shape, dtype=torch.bool, device=s.device) for s in scores]
        self.select(scores, sparsity, masks)
        return [int(c) for c in torch.stack([torch.count_nonzero(m) for m in masks]).tolist()]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "keep_dense": [layer.name for layer, d in zip(self.layers, self.dense, strict=True) if d],
            "ungroupable_dense": [layer.name for layer, u in zip(self.layers, self.ungroupable, strict=True)
                                  if u],
        }


class FLD(Distribution):
    """Global, with the first and last layers dense (``keep_dense`` in conf/distribution/fld.yaml)."""

    name = "fld"


class PerLayer(Distribution):
    """Distributions with a fixed budget per layer: exact top-k within each layer."""

    def layer_sparsities(self, sparsity: float) -> list[float]:
        raise NotImplementedError

    def _select(self, scores, sparsity, out, layers) -> None:
        for s, o, layer, ls in zip(scores, out, layers, self.layer_sparsities(sparsity), strict=True):
            topk_select(s, layer.numel - round(ls * layer.numel), o)

    def keep_counts(self, scores: Sequence[Tensor], sparsity: float) -> list[int]:
        per_layer = iter(self.layer_sparsities(sparsity))
        return [layer.numel - round(next(per_layer) * layer.numel) if p else layer.numel
                for layer, p in zip(self.layers, self.pruned, strict=True)]


class Uniform(PerLayer):
    name = "uniform"

    def layer_sparsities(self, sparsity: float) -> list[float]:
        return [sparsity] * sum(self.pruned)


class ERK(PerLayer):
    name = "erk"

    def layer_sparsities(self, sparsity: float) -> list[float]:
        power = self.settings.erk_power_scale
        shapes = [layer.shape for layer in self._pruned(self.layers)]
        return [1.0 - d for d in erk_densities(shapes, sparsity, power)]


class GmpFLD(Distribution):
    """First layer dense, last layer at ``last_sparsity`` (or the current target while that
    is lower, so a gradual schedule ramps it too), the rest one global threshold."""

    name = "gmp_fld"

    def _select(self, scores, sparsity, out, layers) -> None:
        last_is_pruned = self.pruned[-1]
        if not last_is_pruned or len(layers) == 1:
            return super()._select(scores, sparsity, out, layers)
        last_sparsity = min(self.settings.last_sparsity, sparsity)
        topk_select(scores[-1], layers[-1].numel - round(last_sparsity * layers[-1].numel), out[-1])
        super()._select(scores[:-1], sparsity, out[:-1], layers[:-1])


class Block(Distribution):
    """Global threshold over blocks of consecutive weights along the input dimension."""

    name = "block4"

    def __init__(self, settings: DistributionSettings, layers: Sequence[PrunableLayer]):
        self.group = settings.block_size
        super().__init__(settings, layers)

    def _select(self, scores, sparsity, out, layers) -> None:
        group_scores = [grouped(s, self.group).sum(1) for s in scores]
        group_masks = [torch.empty_like(g, dtype=torch.bool) for g in group_scores]
        n_groups = sum(g.numel() for g in group_scores)
        threshold_select(group_scores, round(sparsity * n_groups), group_masks)
        for gm, o in zip(group_masks, out, strict=True):
            o.copy_(ungrouped(gm.unsqueeze(1).expand(-1, self.group), o))


class NM(Distribution):
    """N of every M consecutive input-dimension weights kept (exactly)."""

    name = "nm"

    def __init__(self, settings: DistributionSettings, layers: Sequence[PrunableLayer]):
        self.n, self.group = settings.n, settings.m
        self.fixed_sparsity = 1.0 - self.n / self.group
        super().__init__(settings, layers)

    def _select(self, scores, sparsity, out, layers) -> None:
        for s, o in zip(scores, out, strict=True):
            nm_select(s, self.n, self.group, o)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "n": self.n, "m": self.group}


DISTRIBUTIONS: dict[str, type[Distribution]] = {
    "global": Distribution, "fld": FLD, "uniform": Uniform, "erk": ERK, "gmp_fld": GmpFLD,
    "block4": Block, "nm": NM,
}


@dataclass(frozen=True)
class DistributionSettings:
    """``cfg.distribution`` read once and checked (needs no model): what ``check_config``
    validates before any work and what :func:`build_distribution` builds from. Defaults live
    in ``conf/distribution/*.yaml``; a field another distribution uses is None here."""

    name: str
    keep_dense: tuple[str, ...]  # first | last | layer names: dense, out of the budget
    erk_power_scale: float | None  # erk
    last_sparsity: float | None  # gmp_fld: the classifier's sparsity
    block_size: int | None  # block4
    n: int | None  # nm: n nonzeros ...
    m: int | None  # ... in every m

    @classmethod
    def read(cls, cfg: Any) -> DistributionSettings:
        """The distribution fields of ``cfg`` (ConfigError naming the field)."""
        name = V.choice(cfg, "distribution.name", sorted(DISTRIBUTIONS))
        keep = V.string_list(cfg, "distribution.keep_dense", "first, last or layer names")
        power = last = block = n = m = None
        if name == "erk":
            power = float(V.number(cfg, "distribution.erk_power_scale", 0, low_open=True))
        elif name == "gmp_fld":
            last = float(V.number(cfg, "distribution.last_sparsity", 0, 1))
        elif name == "block4":
            block = V.integer(cfg, "distribution.block_size", low=2)
        elif name == "nm":
            m = V.integer(cfg, "distribution.m", low=2)
            n = V.integer(cfg, "distribution.n", low=1)
            if n >= m:
                raise ConfigError("distribution.n", n, f"an integer in [1, m) = [1, {m})")
        return cls(name, tuple(keep), power, last, block, n, m)

    def build(self, layers: Sequence[PrunableLayer]) -> Distribution:
        """The distribution over ``layers`` (ConfigError when ``keep_dense`` names no layer of
        them, or leaves none to prune)."""
        return DISTRIBUTIONS[self.name](self, layers)


def build_distribution(cfg: Any, layers: Sequence[PrunableLayer]) -> Distribution:
    """The distribution ``cfg.distribution`` over ``layers`` (raises ``ConfigError``)."""
    return DistributionSettings.read(cfg).build(layers)
