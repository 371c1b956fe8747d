"""AST / AST-GC (paper 002): N sparse sub-nets from one run, one sub-net per iteration.

**Sub-nets.** ``method.subnet_sparsities`` (sorted, unique) or ``method.subnet_nm`` ("n:m",
n nonzeros in every m consecutive input-dimension weights) define N sub-nets sharing one
set of weights; sub-net 0 is the densest. Iteration t trains sub-net t mod N only.

**Schedule** (GraNet, Sec. 3.3). Sub-net k changes its mask at its own iterations nearest
after ``start + m * update_interval + k * adjustment_period`` (m = 1, 2, ...): the sparsity
increments of different sub-nets are staggered by the adjustment period Δτ (Observation 2).
At its m-th update a sub-net first prunes by magnitude to the cubic ramp
s_f + (s_i - s_f)(1 - m/M_k)^3, where M_k counts its updates before ``final_prune_epoch``
(so every sub-net is at its target from that epoch on), then drops the fraction
``regrow_fraction``/2 (1 + cos(pi t / T)) of its weights per layer by magnitude and regrows
as many by dense-gradient magnitude (RigL's :func:`drop_and_grow`; decays from 0.5 to 0 over
the run). N:M sub-nets ramp the share of N:M groups from 0 to 100% instead (the rest stay
dense) and drop/grow whole groups: a dense group with small summed |w| becomes N:M, an N:M
group with large summed |grad| becomes dense. ``relation=nd``: every sub-net prunes and
regrows its own mask (the paper's choice); ``relation=cs``: only sub-net 0 regrows, sub-net
k keeps the largest |w| inside sub-net k-1's mask, so masks stay nested.

**Dense weights, masked steps.** The model keeps the dense shared weights W; a weight no
sub-net uses is zero. For iteration t of sub-net k the forward, backward and optimizer step
run on a working copy X = W ⊙ m_k swapped in as the parameters' data (no copy of W); the
gradient is masked with m_k (and corrected, below) before the step. After the step only the
entries inside m_k are merged back, W <- W + m_k ⊙ (X - W): weights outside the current
sub-net are left exactly as they were, since other sub-nets use them. Their SGD momentum is
left as it was too: with a masked gradient and masked weights SGD only multiplies an
inactive weight's buffer by the momentum μ, which is undone by one product with
m_k + (1 - m_k)/μ (under AMP, where a step may be skipped, the buffers are restored from a
copy instead). So each weight follows SGD over the iterations of the sub-nets that contain
it, and nothing else moves it. (The authors' code instead lets momentum and weight decay
move every dense weight at every iteration.) W, X, the momentum buffers and the masked
gradients are views of flat buffers laid out like the masks, so each of these operations is
one fused pass over all prunable weights: four per step (mask in, mask the gradient, merge,
momentum), one more with gradient correction (four when it projects), no host sync.

**BatchNorm.** ``prepare_model`` swaps every BatchNorm for a switchable one with a copy per
sub-net (statistics and affine parameters); ``before_forward`` selects sub-net t mod N's.

**Gradient correction** (``gradient_correction=true``): eq. 5 inside each inner group of N
consecutive iterations (:mod:`acdc_bench.sparsity.gradient_correction`), on the masked
gradients of the prunable weights, the projection taken inside the current sub-net (so the
step still moves only its weights); the fraction of negative inner products is logged per
epoch (also for plain AST, ``log_inner_products``).

**Outputs.** Every epoch each sub-net is evaluated with its own mask and BatchNorm; the row
gets ``subnets`` {target: {val_*, sparsity, mask_iou, target_sparsity}}, the fraction of
negative inner products and ``union_sparsity``; its own ``val_*``, ``sparsity`` and
``mask_iou`` are sub-net 0's (the trainer's evaluation of the dense union is replaced).
``summary.json`` gets ``subnets``, with inference FLOPs and training FLOPs counted as paper
002 and RigL count them (3 sparse forwards per iteration, a dense weight gradient on update
iterations, relative to dense training for the same steps): ``training_flops_fraction`` is
the whole run's (what the run costs to get every sub-net), ``training_flops_fraction_own``
the share spent on the sub-net's own iterations (Table 3's per-sub-net cost). Every sub-net
is written as a plain sparse model to ``checkpoints/subnet_<target>.pt`` (the state dict of
the un-switched model).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from acdc_bench.config import ConfigError
from acdc_bench.metrics.flops import inference_flops, layer_macs
from acdc_bench.metrics.sparse import mask_iou
from acdc_bench.sparsity import scores as S
from acdc_bench.sparsity.base import SparsityMethod
from acdc_bench.sparsity.distributions import (
    build_distribution,
    check_distribution_config,
    grouped,
    topk_select,
    ungrouped,
)
from acdc_bench.sparsity.gradient_correction import SCOPES, GradientCorrection
from acdc_bench.sparsity.masked import _pack, _unpack, method_choice, method_float, method_int
from acdc_bench.sparsity.masks import MaskSet, prunable_layers
from acdc_bench.sparsity.methods.gmp import cubic_sparsity
from acdc_bench.sparsity.methods.rigl import drop_and_grow, drop_fraction
from acdc_bench.sparsity.switchable_bn import (
    make_switchable,
    plain_state_dict,
    set_active,
    switchable_modules,
)

RELATIONS = ("nd", "cs")
UNSTRUCTURED = ("global", "fld", "uniform", "erk", "gmp_fld")
# The paper's CIFAR recipe: masks change every 1000 iterations, the sparsity ramp ends at
# epoch 110 of 160, Δτ is a tenth of the update interval (100 of 1000 on CIFAR, 400 of 4000
# on ImageNet). Unset values follow it; short runs update more often, so that every sub-net
# still climbs its ramp in about MIN_RAMP_UPDATES steps.
PAPER_UPDATE_INTERVAL, MIN_RAMP_UPDATES = 1000, 8
PAPER_FINAL_PRUNE_FRACTION = 110 / 160
ADJUSTMENT_RATIO = 10


# ---------------------------------------------------------------------- sub-nets and settings
@dataclass(frozen=True)
class Subnet:
    index: int
    target: float  # final sparsity (N:M: 1 - n/m)
    nm: tuple[int, int] | None = None  # (n nonzeros, group m)

    @property
    def key(self) -> str:
        """The sub-net's name in metrics: its target sparsity as a string ("0.95")."""
        return str(self.target)

    @property
    def pattern(self) -> str | None:
        return None if self.nm is None else f"{self.nm[0]}:{self.nm[1]}"


def _is_list(value: Any) -> bool:
    return OmegaConf.is_list(value) or isinstance(value, (list, tuple))


def parse_nm(value: Any) -> tuple[int, int]:
    """"n:m" (n nonzeros in every m) -> (n, m); ConfigError unless 1 <= n < m."""
    parts = str(value).split(":")
    try:
        n, m = (int(p) for p in parts)
    except ValueError:
        n, m = 0, 0
    if len(parts) != 2 or not 1 <= n < m:
        raise ConfigError("method.subnet_nm", value, '"n:m" with 1 <= n < m (n nonzeros in every m weights)')
    return n, m


def subnet_specs(cfg: Any) -> list[Subnet]:
    """The sub-nets, densest first (``subnet_nm`` wins over ``subnet_sparsities`` when set)."""
    nm = cfg.method.get("subnet_nm", None)
    if nm is not None:
        if not _is_list(nm) or len(nm) == 0:
            raise ConfigError("method.subnet_nm", nm,
                              'a non-empty list of "n:m" patterns, e.g. ["2:4", "1:4"]')
        patterns = [parse_nm(v) for v in nm]
        targets, field, shown = [1.0 - n / m for n, m in patterns], "method.subnet_nm", list(nm)
    else:
        values = cfg.method.get("subnet_sparsities", None)
        field = "method.subnet_sparsities"
        if not _is_list(values) or len(values) == 0:
            raise ConfigError(field, values, "a non-empty list of sparsities in [0, 1)")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ConfigError(field, list(values), "a non-empty list of sparsities in [0, 1)")
        patterns, targets, shown = [None] * len(values), [float(v) for v in values], list(values)
    if any(b <= a for a, b in zip(targets, targets[1:], strict=False)):
        raise ConfigError(field, shown, "sorted by sparsity, densest first, without repeats")
    return [Subnet(i, t, p) for i, (t, p) in enumerate(zip(targets, patterns, strict=True))]


@dataclass(frozen=True)
class Settings:
    subnets: list[Subnet]
    gradient_correction: bool
    gc_scope: str
    log_inner_products: bool
    relation: str
    initial_sparsity: float
    initial_prune_epoch: int
    final_prune_epoch: int
    update_interval: int | None
    adjustment_period: int | None
    regrow_fraction: float


def _bool(cfg: Any, key: str, default: bool) -> bool:
    value = cfg.method.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"method.{key}", value, "true or false")
    return value


def settings(cfg: Any, epochs: int) -> Settings:
    """Every AST field, checked (ConfigError naming the field); needs no model or data."""
    check_distribution_config(cfg)
    if cfg.distribution.name not in UNSTRUCTURED:
        raise ConfigError("distribution.name", cfg.distribution.name,
                          f"an unstructured distribution for AST ({', '.join(UNSTRUCTURED)}); "
                          f"N:M sub-nets come from method.subnet_nm")
    subnets = subnet_specs(cfg)
    relation = method_choice(cfg, "relation", RELATIONS, "nd")
    nm = subnets[0].nm is not None
    if nm and relation == "cs":
        raise ConfigError("method.relation", relation, "nd for N:M sub-nets (method.subnet_nm)")
    initial = method_float(cfg, "initial_sparsity", 0.0, 1.0, default=0.0)
    if nm and initial != 0:
        raise ConfigError("method.initial_sparsity", initial,
                          "0 for N:M sub-nets (their share of N:M groups ramps from 0)")
    if initial > subnets[0].target:
        raise ConfigError("method.initial_sparsity", initial,
                          f"at most the densest sub-net's sparsity ({subnets[0].target})")
    start = method_int(cfg, "initial_prune_epoch", low=0, default=0)
    if start >= epochs:
        raise ConfigError("method.initial_prune_epoch", start, f"an epoch before epochs={epochs}")
    final = method_int(cfg, "final_prune_epoch", low=1, default=None, nullable=True)
    if final is None:
        final = min(epochs, max(start + 1, math.floor(PAPER_FINAL_PRUNE_FRACTION * epochs + 1e-9)))
    elif not start < final <= epochs:
        raise ConfigError("method.final_prune_epoch", final,
                          f"an epoch in ({start}, {epochs}] (after method.initial_prune_epoch) or null")
    interval = method_int(cfg, "update_interval", low=1, default=None, nullable=True)
    if interval is not None and interval < len(subnets):
        raise ConfigError("method.update_interval", interval,
                          f"at least the number of sub-nets ({len(subnets)}) or null")
    return Settings(
        subnets=subnets,
        gradient_correction=_bool(cfg, "gradient_correction", True),
        gc_scope=method_choice(cfg, "gc_scope", SCOPES, "model"),
        log_inner_products=_bool(cfg, "log_inner_products", True),
        relation=relation,
        initial_sparsity=initial,
        initial_prune_epoch=start,
        final_prune_epoch=final,
        update_interval=interval,
        adjustment_period=method_int(cfg, "adjustment_period", low=0, default=None, nullable=True),
        regrow_fraction=method_float(cfg, "regrow_fraction", 0.0, 1.0, default=0.5, high_open=False),
    )


# ---------------------------------------------------------------------- the schedule (pure)
@dataclass(frozen=True)
class Plan:
    """When each sub-net changes its mask, in global steps (0-based)."""

    n: int  # sub-nets
    total: int  # steps in the run
    start: int  # first step of the pruning period (initial_prune_epoch)
    final: int  # from this step on every sub-net is at its target (final_prune_epoch)
    interval: int  # update_interval (>= n)
    period: int  # adjustment period Δτ

    def update_step(self, k: int, m: int) -> int:
        """Sub-net k's m-th update (m >= 1): its first own iteration (t = k mod n) at or
        after start + m * interval + k * period."""
        t = self.start + m * self.interval + k * self.period
        return t + (k - t) % self.n

    def update_index(self, step: int) -> int | None:
        """m when ``step`` is an update of the sub-net it trains (step mod n), else None."""
        if not 0 <= step < self.total:
            return None
        k = step % self.n
        x = step - self.start - k * self.period
        if x < self.interval:
            return None
        m, r = divmod(x, self.interval)
        return m if r < self.n else None

    def updates_before(self, k: int, step: int) -> int:
        """How many updates sub-net k makes at steps < ``step``."""
        m = (step - 1 - self.start - k * self.period) // self.interval
        if m >= 1 and self.update_step(k, m) >= step:
            m -= 1
        return max(0, min(m, self.updates_before_end(k)))

    def updates_before_end(self, k: int) -> int:
        m = (self.total - 1 - self.start - k * self.period) // self.interval
        if m >= 1 and self.update_step(k, m) >= self.total:
            m -= 1
        return max(0, m)

    def ramp_updates(self, k: int) -> int:
        """M_k: sub-net k's updates before ``final`` (its ramp reaches the target at the last)."""
        return self.updates_before(k, self.final)


def momentum_of(optimizer: torch.optim.Optimizer, param: Tensor) -> float:
    for group in optimizer.param_groups:
        if any(p is param for p in group["params"]):
            return float(group.get("momentum", 0.0) or 0.0)
    return 0.0


def _float_views(masks: MaskSet, dtype: torch.dtype) -> tuple[Tensor, list[Tensor]]:
    """A float buffer laid out like ``masks.flat``, with per-layer views like ``masks.masks``."""
    flat = torch.empty(masks.total, dtype=dtype, device=masks.flat.device)
    views, offset = [], 0
    for m, n in zip(masks.masks, masks.numels, strict=True):
        views.append(flat[offset: offset + n].as_strided(m.shape, m.stride()))
        offset += n
    return flat, views


# ---------------------------------------------------------------------- the method
class AST(SparsityMethod):
    name = "ast"
    ddp_find_unused_parameters = True  # the inactive sub-nets' BatchNorms get no gradient

    @classmethod
    def prepare_model(cls, cfg: Any, model: nn.Module) -> nn.Module:
        make_switchable(model, len(subnet_specs(cfg)))
        return model

    @classmethod
    def check_config(cls, cfg: Any, epochs: int) -> None:
        settings(cfg, epochs)

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int, **context: Any):
        super().__init__(cfg, model, epochs, steps_per_epoch, **context)
        st = self.settings = settings(cfg, epochs)
        self.subnets = st.subnets
        n = self.n = len(self.subnets)
        self.layers = prunable_layers(model)
        self.weights: list[Tensor] = [layer.weight for layer in self.layers]
        self.switches = switchable_modules(model)
        if any(isinstance(m, _BatchNorm) and not any(m is b for s in self.switches for b in s.bns)
               for m in model.modules()):
            raise RuntimeError("AST needs per-sub-net BatchNorms: pass the model through "
                               "AST.prepare_model(cfg, model) before building the optimizer")
        self.distribution = build_distribution(cfg, self.layers)
        total = epochs * steps_per_epoch
        start, final = st.initial_prune_epoch * steps_per_epoch, st.final_prune_epoch * steps_per_epoch
        short = (final - start) // MIN_RAMP_UPDATES
        interval = st.update_interval or max(n, min(PAPER_UPDATE_INTERVAL, short))
        period = st.adjustment_period if st.adjustment_period is not None else interval // ADJUSTMENT_RATIO
        self.plan = Plan(n, total, start, final, interval, period)
        self.ramp = [self.plan.ramp_updates(k) for k in range(n)]
        if min(self.ramp) < 1:
            k = self.ramp.index(min(self.ramp))
            raise ConfigError(
                "method.update_interval", interval,
                f"short enough for sub-net {k} to update before method.final_prune_epoch="
                f"{st.final_prune_epoch} ({self.plan.final} steps; its first update comes at step "
                f"{self.plan.update_step(k, 1)} with adjustment_period={period})")
        self.masks = [MaskSet(self.layers) for _ in self.subnets]
        self.scratch = MaskSet(self.layers)  # the union of the sub-nets, when it is needed
        self.level = [self._level(k, 0) for k in range(n)]
        self.nm_layers = [[p and (s.nm is None or layer.shape[1] % s.nm[1] == 0)
                           for p, layer in zip(self.distribution.pruned, self.layers, strict=True)]
                          for s in self.subnets]
        if st.initial_sparsity > 0:  # one random sparse model (RigL-style) shared by every sub-net
            counts = self.distribution.keep_counts(S.magnitude(self.weights), st.initial_sparsity)
            generator = torch.Generator().manual_seed(int(cfg.seed) + 0xA57)
            for score, count, mask in zip(S.random(self.weights, generator), counts, self.masks[0].masks,
                                          strict=True):
                topk_select(score, count, mask)
            for masks in self.masks[1:]:
                masks.flat.copy_(self.masks[0].flat)
        for masks in self.masks:
            masks.changed()
        device = context.get("device") or self.weights[0].device
        amp = bool(cfg.trainer.get("amp", False)) and torch.device(device).type == "cuda"
        self.momentum = 0.0
        dtype = self.weights[0].dtype
        self.fmask = [_float_views(m, dtype) for m in self.masks]  # (flat, views): masks as numbers
        # m + (1 - m) / momentum, undoing SGD's decay of inactive buffers (under AMP: a copy instead)
        self.fback = None if amp else [_float_views(m, dtype) for m in self.masks]
        # The dense weights W become views of one buffer, as do the working copy X, the
        # momentum buffers and the masked gradients (all laid out like the masks).
        self.dense_flat, self.dense_views = _float_views(self.masks[0], dtype)
        with torch.no_grad():
            for w, v in zip(self.weights, self.dense_views, strict=True):
                v.copy_(w.detach())
                w.data = v
        self.work_flat, self.work_views = _float_views(self.masks[0], dtype)
        self.momentum_flat: Tensor | None = None  # made in on_train_start
        self.momentum_views: list[Tensor] = []
        self.buf_stash: Tensor | None = None
        self.gc = None
        if n > 1 and (st.gradient_correction or st.log_inner_products):
            self.gc = GradientCorrection(self.masks[0].numels, st.gc_scope, correct=st.gradient_correction,
                                         device=self.dense_flat.device, dtype=dtype)
            self.grad_bufs = [_float_views(self.masks[0], dtype) for _ in range(2)]
        self.eval_res = int(context.get("eval_res") or cfg.dataset.eval_res)
        self.macs = layer_macs(model, self.layers, int(cfg.dataset.in_chans), self.eval_res)
        self.forward_fraction = [self._forward_fraction(k) for k in range(n)]
        self.flops = [0.0] * n  # training FLOPs of each sub-net's iterations, in dense forwards
        self.iterations = [0] * n
        self.prev_masks: list[Tensor | None] = [None] * n
        self.last_rows: dict[str, dict[str, Any]] | None = None
        self.current = 0
        self.grow_scores: list[Tensor] | None = None
        self._refresh(range(n))

    # ------------------------------------------------------------------ schedule
    def _level(self, k: int, m: int) -> float:
        """Sub-net k's sparsity (N:M: share of N:M groups) after its m-th update."""
        if self.subnets[k].nm is not None:
            return cubic_sparsity(m, self.ramp[k], 1.0, 0.0) if m > 0 else 0.0
        s_i = self.settings.initial_sparsity
        return cubic_sparsity(m, self.ramp[k], self.subnets[k].target, s_i) if m > 0 else s_i

    def _level_sparsity(self, k: int, level: float) -> float:
        nm = self.subnets[k].nm
        return level if nm is None else level * (1.0 - nm[0] / nm[1])

    def is_update_step(self, step: int) -> bool:
        return self.plan.update_index(step) is not None

    def schedule(self, epoch: int) -> dict[str, Any]:
        step = epoch * self.steps_per_epoch
        targets = {s.key: self._level_sparsity(k, self._level(k, self.plan.updates_before(k, step)))
                   for k, s in enumerate(self.subnets)}
        first = targets[self.subnets[0].key]
        return {"phase": "sparse" if max(targets.values()) > 0 else "dense", "target_sparsity": first,
                "subnet_target_sparsity": targets,
                "regrow_fraction": drop_fraction(step, self.settings.regrow_fraction, self.plan.total)}

    # ------------------------------------------------------------------ masks
    @property
    def mask_version(self) -> int:  # type: ignore[override]
        return sum(m.version for m in self.masks)

    def mask_checksum(self) -> int | None:
        joined = b"".join(m.checksum().to_bytes(8, "little") for m in self.masks)
        return int.from_bytes(hashlib.blake2b(joined, digest_size=8).digest(), "little") >> 1

    @torch.no_grad()
    def _refresh(self, which: Sequence[int]) -> None:
        """Float copies of changed masks, their momentum factors and forward FLOPs."""
        inv = 1.0 / self.momentum if self.momentum > 0 else 1.0
        for k in which:
            flat = self.fmask[k][0]
            flat.copy_(self.masks[k].flat)
            if self.fback is not None:
                torch.mul(flat, 1.0 - inv, out=self.fback[k][0]).add_(inv)
            self.forward_fraction[k] = self._forward_fraction(k)

    def _forward_fraction(self, k: int) -> float:
        densities = [c / n for c, n in zip(self._counts(k), self.masks[k].numels, strict=True)]
        return inference_flops(self.macs, densities)[1]

    @torch.no_grad()
    def _union(self) -> Tensor:
        union = self.masks[0].flat.clone()
        for m in self.masks[1:]:
            union |= m.flat
        return union

    @torch.no_grad()
    def _zero_outside_union(self) -> None:
        """A weight no sub-net uses is zero with zero momentum (it comes back, if grown, from 0)."""
        self.scratch.flat.copy_(self._union())
        self.scratch.apply_to_weights()
        self.scratch.mask_momentum(self.optimizer)

    def _pruned_sparsity(self, masks: MaskSet) -> float:
        pruned = [m for m, p in zip(masks.masks, self.distribution.pruned, strict=True) if p]
        kept = int(torch.stack([m.sum() for m in pruned]).sum())
        return 1.0 - kept / sum(m.numel() for m in pruned)

    def _counts(self, k: int) -> list[int]:
        return [int(c) for c in torch.stack([m.sum() for m in self.masks[k].masks]).tolist()]

    @torch.no_grad()
    def _prune_within(self, k: int, sparsity: float, within: MaskSet,
                      keep: Sequence[Tensor] | None = None) -> None:
        """Sub-net k's mask: the largest |w| inside ``within`` at ``sparsity`` (under the
        distribution), ``keep`` chosen first."""
        scores = S.lowered(S.magnitude(self.weights), within.inverted())
        if keep is not None:
            scores = S.raised(scores, keep)
        self.distribution.select(scores, sparsity, self.masks[k].masks)

    @torch.no_grad()
    def _update_nm(self, k: int, share: float, fraction: float, grow_scores: Sequence[Tensor]) -> None:
        n, group = self.subnets[k].nm  # type: ignore[misc]
        for i, (w, mask, g) in enumerate(zip(self.weights, self.masks[k].masks, grow_scores, strict=True)):
            if not self.nm_layers[k][i]:
                mask.fill_(True)
                continue
            rows = grouped(w.detach().abs(), group)
            dense = grouped(mask, group).all(1)  # groups still dense (not N:M)
            keep = rows.shape[0] - round(share * rows.shape[0])
            magnitude = rows.sum(1)
            topk_select(S.lowered([magnitude], [~dense])[0], keep, dense)  # the ramp: more groups N:M
            drop_and_grow([magnitude], [dense], [grouped(g, group).sum(1)], [keep], fraction,
                          [0 < keep < rows.shape[0]])
            pattern = torch.zeros(rows.shape, dtype=torch.bool, device=rows.device)
            pattern.scatter_(1, rows.topk(n, dim=1).indices, True)
            mask.copy_(ungrouped(pattern | dense.unsqueeze(1), mask))

    @torch.no_grad()
    def update(self, k: int, m: int, step: int, grow_scores: Sequence[Tensor]) -> None:
        """Sub-net k's m-th update: ramp, then prune-and-regrow (ND), or extend the denser
        sub-net by magnitude (CS); keeps CS masks nested and unused weights at zero."""
        level = self._level(k, m)
        fraction = drop_fraction(step, self.settings.regrow_fraction, self.plan.total)
        changed = [k]
        if self.subnets[k].nm is not None:
            self._update_nm(k, level, fraction, grow_scores)
        elif self.settings.relation == "cs" and k > 0:
            parent = self.masks[k - 1]
            self._prune_within(k, max(level, self._pruned_sparsity(parent)), parent)
        else:
            self._prune_within(k, level, self.masks[k])
            counts = self._counts(k)
            pruned, numels = self.distribution.pruned, self.masks[k].numels
            updating = [p and 0 < c < n for p, c, n in zip(pruned, counts, numels, strict=True)]
            drop_and_grow(self.weights, self.masks[k].masks, grow_scores, counts, fraction, updating)
        self.level[k] = level
        self.masks[k].changed()
        if self.settings.relation == "cs":  # sparser sub-nets follow: their members first, then by |w|
            for j in range(k + 1, self.n):
                parent, own = self.masks[j - 1], self.masks[j]
                keep = [a & b for a, b in zip(own.masks, parent.masks, strict=True)]
                sparsity = max(self._level_sparsity(j, self.level[j]), self._pruned_sparsity(parent))
                self._prune_within(j, sparsity, parent, keep)
                own.changed()
                changed.append(j)
        self._zero_outside_union()
        self._refresh(changed)

    # ------------------------------------------------------------------ sub-net contexts
    @torch.no_grad()
    def _ensure_flat(self) -> None:
        """The prunable weights live in ``dense_flat`` (one buffer, so that masking and merging
        are one fused operation each); put back any weight whose storage was replaced."""
        for w, v in zip(self.weights, self.dense_views, strict=True):
            if w.data_ptr() != v.data_ptr():
                v.copy_(w.detach())
                w.data = v

    @torch.no_grad()
    def _mask_in(self, k: int) -> None:
        """Swap the working copy X = W * m_k in as the prunable weights' data."""
        self._ensure_flat()
        torch.mul(self.dense_flat, self.fmask[k][0], out=self.work_flat)
        for w, x in zip(self.weights, self.work_views, strict=True):
            w.data = x

    def _mask_out(self) -> None:
        for w, d in zip(self.weights, self.dense_views, strict=True):
            w.data = d

    @contextmanager
    def subnet(self, k: int) -> Iterator[None]:
        """The model as sub-net k (its mask on the weights, its BatchNorms), for evaluation."""
        self._mask_in(k)
        set_active(self.switches, k)
        try:
            yield
        finally:
            self._mask_out()

    def subnet_state_dict(self, k: int) -> dict[str, Any]:
        """Sub-net k as a plain sparse model: the state dict of the un-switched model, its
        BatchNorms in place and its masked weights."""
        state = plain_state_dict(self.model, k)
        for layer, mask in zip(self.layers, self.masks[k].masks, strict=True):
            state[f"{layer.name}.weight"] = (layer.weight.detach() * mask).clone()
        return state

    # ------------------------------------------------------------------ training hooks
    def on_train_start(self, optimizer: torch.optim.Optimizer) -> None:
        super().on_train_start(optimizer)
        self.momentum = momentum_of(optimizer, self.weights[0])
        self._ensure_flat()
        self._flatten_momentum()
        self._refresh(range(self.n))
        self._zero_outside_union()

    @torch.no_grad()
    def _flatten_momentum(self) -> None:
        """SGD's momentum buffers of the prunable weights as views of one buffer (made now,
        zero, if SGD has not made them yet: SGD's first step then gives the same values)."""
        self.momentum_flat = None
        if self.optimizer is None or self.momentum <= 0:
            return
        for group in self.optimizer.param_groups:
            if float(group.get("dampening", 0.0) or 0.0) != 0.0:
                raise RuntimeError("AST keeps inactive weights' momentum as it is and supports SGD "
                                   "without dampening only")
        flat, views = _float_views(self.masks[0], self.weights[0].dtype)
        flat.zero_()
        for w, v in zip(self.weights, views, strict=True):
            state = self.optimizer.state[w]
            buf = state.get("momentum_buffer")
            if buf is not None:
                v.copy_(buf)
            state["momentum_buffer"] = v
        self.momentum_flat, self.momentum_views = flat, views

    def before_forward(self, step: int) -> None:
        k = self.current = step % self.n
        set_active(self.switches, k)
        self._mask_in(k)

    @torch.no_grad()
    def after_backward(self, step: int) -> None:
        k = self.current
        for w in self.weights:
            if w.grad is None:  # a layer the forward did not reach
                w.grad = torch.zeros_like(w)
        grads = [w.grad for w in self.weights]
        if self.plan.update_index(step) is not None:
            self.grow_scores = S.gradient_magnitude(self.weights)  # dense gradient, before masking
        if self.gc is None:
            torch._foreach_mul_(grads, self.fmask[k][1])
        else:  # the masked gradient into one flat buffer, not the one remembered last
            first = self.grad_bufs[0]
            flat, views = self.grad_bufs[1] if first[0].data_ptr() == self.gc.prev.data_ptr() else first
            for g, f, v in zip(grads, self.fmask[k][1], views, strict=True):
                torch.mul(g, f, out=v)
            for w, v in zip(self.weights, views, strict=True):
                w.grad = v
            if k > 0:  # not the first iteration of its inner group
                self.gc.compare(flat, self.fmask[k][0])  # eq. 5 inside sub-net k
            if k < self.n - 1:
                self.gc.remember(flat)
        if self.fback is None and self.momentum_flat is not None:
            # a step GradScaler skips must leave the buffers as they are: keep a copy
            if self.buf_stash is None:
                self.buf_stash = torch.empty_like(self.momentum_flat)
            self.buf_stash.copy_(self.momentum_flat)

    @torch.no_grad()
    def after_optimizer_step(self, step: int) -> None:
        k = self.current
        self.dense_flat.lerp_(self.work_flat, self.fmask[k][0])  # W <- W + m_k (X - W)
        self._mask_out()
        if self.momentum_flat is not None:
            for w, v in zip(self.weights, self.momentum_views, strict=True):
                if self.optimizer.state[w].get("momentum_buffer") is not v:
                    self._flatten_momentum()  # the optimizer replaced its buffers: views again
                    break
            if self.fback is not None:
                self.momentum_flat.mul_(self.fback[k][0])
            elif self.buf_stash is not None:
                self.buf_stash.lerp_(self.momentum_flat, self.fmask[k][0])
                self.momentum_flat.copy_(self.buf_stash)
        self.iterations[k] += 1
        self.flops[k] += 3.0 * self.forward_fraction[k]
        if self.grow_scores is not None:
            m = self.plan.update_index(step)
            self.flops[k] += 1.0 - self.forward_fraction[k]  # the dense weight gradient
            self.update(k, m, step, self.grow_scores)
            self.grow_scores = None

    # ------------------------------------------------------------------ metrics
    @torch.no_grad()
    def _subnet_nonzeros(self, k: int) -> list[int]:
        """Nonzero weights per layer of sub-net k (weights masked by its mask)."""
        return torch.stack([torch.count_nonzero(w.detach() * f) for w, f in
                            zip(self.weights, self.fmask[k][1], strict=True)]).tolist()

    def on_epoch_end(self, epoch: int, evaluate: Callable[[], dict[str, float]]) -> dict[str, Any]:
        rows: dict[str, dict[str, Any]] = {}
        total = sum(self.masks[0].numels)
        for k, spec in enumerate(self.subnets):
            with self.subnet(k):
                metrics = dict(evaluate())
            flat = self.masks[k].flat
            prev = self.prev_masks[k]
            self.prev_masks[k] = flat.clone()
            rows[spec.key] = {**metrics, "sparsity": 1.0 - sum(self._subnet_nonzeros(k)) / total,
                              "mask_iou": None if prev is None else mask_iou(flat, prev),
                              "target_sparsity": self._level_sparsity(k, self.level[k])}
            if spec.pattern:
                rows[spec.key]["pattern"] = spec.pattern
        self.last_rows = rows
        first = rows[self.subnets[0].key]
        out: dict[str, Any] = {key: v for key, v in first.items()
                               if key not in ("target_sparsity", "pattern")}
        out["subnets"] = rows
        out["negative_inner_product_fraction"] = self.gc.take_fraction() if self.gc is not None else None
        out["union_sparsity"] = 1.0 - int(self._union().sum()) / total
        return out

    def on_train_end(self) -> dict[str, Any]:
        iterations = max(1, sum(self.iterations))
        run_fraction = sum(self.flops) / (3.0 * iterations)
        run_dir, is_main = self.context.get("run_dir"), self.context.get("is_main", True)
        entries = []
        for k, spec in enumerate(self.subnets):
            nonzeros = self._subnet_nonzeros(k)
            densities = [c / n for c, n in zip(nonzeros, self.masks[k].numels, strict=True)]
            last = (self.last_rows or {}).get(spec.key, {})
            entry: dict[str, Any] = {
                "target_sparsity": spec.target,
                "pattern": spec.pattern,
                "sparsity": 1.0 - sum(nonzeros) / sum(self.masks[k].numels),
                **{key: value for key, value in last.items() if key.startswith("val_")},
                "inference_flops_fraction": inference_flops(self.macs, densities)[1],
                "training_flops_fraction": run_fraction,
                "training_flops_fraction_own": self.flops[k] / (3.0 * iterations),
                "iterations": self.iterations[k],
                "nonzero_weights": int(sum(nonzeros)),
                "layer_densities": densities,
            }
            if run_dir is not None:
                rel = Path("checkpoints") / f"subnet_{spec.key}.pt"
                entry["checkpoint"] = str(rel)
                if is_main:
                    from acdc_bench.checkpoint import atomic_save

                    atomic_save({"model": self.subnet_state_dict(k), "subnet": dict(entry)},
                                Path(run_dir) / rel)
            entries.append(entry)
        overlaps = {f"{a.key}|{b.key}": mask_iou(self.masks[i].flat, self.masks[j].flat)
                    for i, a in enumerate(self.subnets) for j, b in enumerate(self.subnets) if i < j}
        return {"subnets": entries, "training_flops_fraction": run_fraction,
                "inference_flops_fraction": entries[0]["inference_flops_fraction"],
                "subnet_mask_iou": overlaps}

    # ------------------------------------------------------------------ task=summary
    @torch.no_grad()
    def _final_masks(self, k: int) -> list[Tensor]:
        """The masks sub-net k would end with, judged from the current weights."""
        masks = [torch.empty(w.shape, dtype=torch.bool, device=w.device) for w in self.weights]
        spec = self.subnets[k]
        if spec.nm is None:
            self.distribution.select(S.magnitude(self.weights), spec.target, masks)
            return masks
        n, group = spec.nm
        for i, (w, mask) in enumerate(zip(self.weights, masks, strict=True)):
            if not self.nm_layers[k][i]:
                mask.fill_(True)
                continue
            rows = grouped(w.detach().abs(), group)
            pattern = torch.zeros(rows.shape, dtype=torch.bool, device=rows.device)
            pattern.scatter_(1, rows.topk(n, dim=1).indices, True)
            mask.copy_(ungrouped(pattern, mask))
        return masks

    def preview_masks(self) -> list[Tensor]:
        return self._final_masks(0)

    def describe(self) -> dict[str, Any]:
        st, plan = self.settings, self.plan
        previews = []
        for k, spec in enumerate(self.subnets):
            masks = self._final_masks(k)
            densities = [float(m.sum()) / m.numel() for m in masks]
            previews.append({"target_sparsity": spec.target, "pattern": spec.pattern,
                             "inference_flops_fraction": inference_flops(self.macs, densities)[1],
                             "ramp_updates": self.ramp[k], "first_update_step": plan.update_step(k, 1)})
        return {"distribution": self.distribution.describe(), "subnets": previews, "relation": st.relation,
                "gradient_correction": st.gradient_correction, "gc_scope": st.gc_scope,
                "steps_per_epoch": self.steps_per_epoch, "update_interval": plan.interval,
                "adjustment_period": plan.period,
                "final_prune_epoch": st.final_prune_epoch, "initial_sparsity": st.initial_sparsity}

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "masks": [m.state_dict() for m in self.masks],
            "level": list(self.level),
            "prev_masks": [None if p is None else _pack(p) for p in self.prev_masks],
            "gc": None if self.gc is None else self.gc.state_dict(),
            "flops": list(self.flops),
            "iterations": list(self.iterations),
            "last_rows": self.last_rows,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for masks, saved in zip(self.masks, state["masks"], strict=True):
            masks.load_state_dict(saved)
        self.level = [float(v) for v in state["level"]]
        device = self.masks[0].flat.device
        self.prev_masks = [None if p is None else _unpack(p, self.masks[0].total, device)
                           for p in state["prev_masks"]]
        if self.gc is not None and state.get("gc") is not None:
            self.gc.load_state_dict(state["gc"])
        self.flops = [float(v) for v in state["flops"]]
        self.iterations = [int(v) for v in state["iterations"]]
        self.last_rows = state.get("last_rows")
        self._refresh(range(self.n))
