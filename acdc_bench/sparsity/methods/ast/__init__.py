"""AST / AST-GC (paper 002): N sparse sub-nets from one run, one sub-net per iteration.

**Sub-nets.** ``method.subnet_sparsities`` (sorted, unique) or ``method.subnet_nm`` ("n:m",
n nonzeros in every m consecutive input-dimension weights) define N sub-nets sharing one
set of weights; sub-net 0 is the densest. Iteration t trains sub-net t mod N only, with its
own BatchNorms (``prepare_model`` makes every BatchNorm switchable, one copy per sub-net).

**Schedule** (:mod:`.plan`, GraNet Sec. 3.3). Sub-net k changes its mask at its own
iterations nearest after ``start + m * update_interval + k * adjustment_period``: the
increments of different sub-nets are staggered by Δτ (Observation 2). At its m-th update a
sub-net prunes by magnitude to the cubic ramp s_f + (s_i - s_f)(1 - m/M_k)^3 (M_k: its
updates before ``final_prune_epoch``), then drops ``regrow_fraction``/2 (1 + cos(pi t / T))
of its weights per layer by magnitude and regrows as many by dense-gradient magnitude
(:func:`~acdc_bench.sparsity.drop_grow.drop_and_grow`). N:M sub-nets ramp the share of N:M
groups from 0 to 100% instead and drop/grow whole groups (:mod:`.updates`).
``relation=nd``: every sub-net prunes and regrows its own mask (the paper's choice);
``relation=cs``: only sub-net 0 regrows, sub-net k keeps the largest |w| inside sub-net
k-1's mask, so masks stay nested.

**Dense weights, masked steps** (:mod:`.engine`). The model keeps the dense shared weights
W (a weight no sub-net uses is zero); iteration t of sub-net k trains the working copy
X = W ⊙ m_k on the masked gradient, and only m_k's entries are merged back into W, with the
SGD momentum of the others restored: each weight follows SGD over the iterations of the
sub-nets that contain it, and nothing else moves it. (The authors' code instead lets
momentum and weight decay move every dense weight at every iteration.)

**Gradient correction** (``gradient_correction=true``): eq. 5 inside each inner group of N
consecutive iterations (:mod:`acdc_bench.sparsity.gradient_correction`) on the masked
gradients, projected inside the current sub-net; the fraction of negative inner products is
logged per epoch (also for plain AST, ``log_inner_products``).

**Outputs** (:mod:`.outputs`). Every epoch each sub-net is evaluated with its own mask and
BatchNorm; the row gets ``subnets`` {target: {val_*, sparsity, mask_iou, target_sparsity}},
the fraction of negative inner products and ``union_sparsity``; its own ``val_*``,
``sparsity`` and ``mask_iou`` are sub-net 0's. ``summary.json`` gets ``subnets`` with
inference FLOPs (training FLOPs, each sub-net's share included, come from the schedule:
:meth:`AST.training_steps`); each sub-net goes to the trainer (:meth:`AST.take_artefacts`)
as a plain sparse model for ``checkpoints/subnet_<target>.pt``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from acdc_bench.metrics.flops import layer_macs
from acdc_bench.metrics.sparse import mask_iou
from acdc_bench.metrics.training_flops import Steps
from acdc_bench.sparsity import scores as S
from acdc_bench.sparsity.base import SparsityMethod
from acdc_bench.sparsity.drop_grow import drop_and_grow
from acdc_bench.sparsity.gradient_correction import GradientCorrection
from acdc_bench.sparsity.masks import MaskSet, prunable_layers
from acdc_bench.sparsity.methods.ast import outputs
from acdc_bench.sparsity.methods.ast.engine import SubnetWeights
from acdc_bench.sparsity.methods.ast.plan import Plan, level, level_sparsity
from acdc_bench.sparsity.methods.ast.settings import ASTSettings
from acdc_bench.sparsity.methods.ast.updates import (
    kept_counts,
    prune_within,
    pruned_sparsity,
    random_start,
    update_nm,
)
from acdc_bench.sparsity.packing import pack_bits, unpack_bits
from acdc_bench.sparsity.ramps import drop_fraction
from acdc_bench.sparsity.subnets import subnet_specs
from acdc_bench.sparsity.switchable_bn import (
    make_switchable,
    plain_state_dict,
    set_active,
    switchable_modules,
)

__all__ = ["AST"]


class AST(SparsityMethod):
    name = "ast"
    ddp_find_unused_parameters = True  # the inactive sub-nets' BatchNorms get no gradient

    @classmethod
    def prepare_model(cls, cfg: Any, model: nn.Module) -> nn.Module:
        make_switchable(model, len(subnet_specs(cfg)))
        return model

    @classmethod
    def check_config(cls, cfg: Any, epochs: int) -> None:
        ASTSettings.read(cfg, epochs)

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int, **context: Any):
        super().__init__(cfg, model, epochs, steps_per_epoch, **context)
        st = self.settings = ASTSettings.read(cfg, epochs)
        self.subnets = list(st.subnets)
        n = self.n = len(self.subnets)
        self.layers = prunable_layers(model)
        self.weights: list[Tensor] = [layer.weight for layer in self.layers]
        self.switches = switchable_modules(model)
        if any(isinstance(m, _BatchNorm) and not any(m is b for s in self.switches for b in s.bns)
               for m in model.modules()):
            raise RuntimeError("AST needs per-sub-net BatchNorms: pass the model through "
                               "AST.prepare_model(cfg, model) before building the optimizer")
        self.distribution = st.distribution.build(self.layers)
        self.plan = Plan.build(n, epochs, steps_per_epoch, st.initial_prune_epoch, st.final_prune_epoch,
                               st.update_interval, st.adjustment_period)
        self.ramp = self.plan.check_ramps(st.final_prune_epoch)
        self.masks = [MaskSet(self.layers) for _ in self.subnets]
        self.scratch = MaskSet(self.layers)  # the union of the sub-nets, when it is needed
        self.level = [self._level(k, 0) for k in range(n)]
        self.nm_layers = [[p and (s.nm is None or layer.shape[1] % s.nm[1] == 0)
                           for p, layer in zip(self.distribution.pruned, self.layers, strict=True)]
                          for s in self.subnets]
        if st.initial_sparsity > 0:  # one random sparse model (RigL-style) shared by every sub-net
            random_start(self.weights, self.distribution, self.masks, st.initial_sparsity, st.seed)
        for masks in self.masks:
            masks.changed()
        device = context.get("device") or self.weights[0].device
        amp = st.amp and torch.device(device).type == "cuda"
        gc_on = n > 1 and (st.gradient_correction or st.log_inner_products)
        self.engine = SubnetWeights(self.weights, self.masks, amp, grad_buffers=gc_on)
        self.gc = None
        if gc_on:
            self.gc = GradientCorrection(self.masks[0].numels, st.gc_scope, correct=st.gradient_correction,
                                         device=self.engine.dense_flat.device, dtype=self.weights[0].dtype)
        in_chans, self.eval_res = self.input_size()
        self.macs = layer_macs(model, self.layers, in_chans, self.eval_res)
        self.planned: dict[tuple[int, int], tuple[float, ...] | None] = {}  # training_steps' densities
        self.iterations = [0] * n
        self.prev_masks: list[Tensor | None] = [None] * n
        self.last_rows: dict[str, dict[str, Any]] | None = None
        self.artefacts: dict[str, dict[str, Any]] = {}
        self.current = 0
        self.updated = False  # this step's prunable weights updated by the engine's one sweep
        self.grow_scores: list[Tensor] | None = None
        self.skipped_updates = 0  # mask updates skipped because the loss scaler skipped their step
        self._refresh(range(n))

    @property
    def fback(self) -> list[tuple[Tensor, list[Tensor]]] | None:
        """The engine's momentum factors; None selects the AMP path (tests switch to it)."""
        return self.engine.fback

    @fback.setter
    def fback(self, value: list[tuple[Tensor, list[Tensor]]] | None) -> None:
        self.engine.fback = value

    # ------------------------------------------------------------------ schedule
    def _level(self, k: int, m: int) -> float:
        """Sub-net k's sparsity (N:M: share of N:M groups) after its m-th update."""
        return level(self.subnets[k], m, self.ramp[k], self.settings.initial_sparsity)

    def is_update_step(self, step: int) -> bool:
        return self.plan.update_index(step) is not None

    def training_steps(self, epoch: int) -> list[Steps]:
        """Step t trains sub-net t mod N at the level of its updates before t; an update step
        also computes the dense weight gradient (its regrowth scores). Each group is that
        sub-net's ``part`` (paper 002 Table 3 gives each sub-net the cost of its iterations)."""
        groups: dict[tuple[int, int, bool], int] = {}
        for t in range(epoch * self.steps_per_epoch, (epoch + 1) * self.steps_per_epoch):
            k = t % self.n
            key = (k, self.plan.updates_before(k, t), self.plan.update_index(t) is not None)
            groups[key] = groups.get(key, 0) + 1
        return [Steps(count, self._planned_densities(k, m), dense, self.subnets[k].key)
                for (k, m, dense), count in groups.items()]

    def _planned_densities(self, k: int, m: int) -> tuple[float, ...] | None:
        """Sub-net k's per-layer densities after its m-th update: the distribution's at its
        level, judged from the weights at the first call (before training: the initial ones),
        or its N:M share on the layers that can be grouped."""
        if (k, m) not in self.planned:
            spec, value = self.subnets[k], self._level(k, m)
            if spec.nm is not None:
                zeros = value * (1.0 - spec.nm[0] / spec.nm[1])
                densities = tuple(1.0 - zeros if g else 1.0 for g in self.nm_layers[k])
            elif value > 0:
                counts = self.distribution.keep_counts(S.magnitude(self.weights), value)
                densities = tuple(c / w.numel() for c, w in zip(counts, self.weights, strict=True))
            else:
                densities = None
            self.planned[(k, m)] = None if densities is not None and min(densities) >= 1 else densities
        return self.planned[(k, m)]

    def schedule(self, epoch: int) -> dict[str, Any]:
        step = epoch * self.steps_per_epoch
        targets = {s.key: level_sparsity(s, self._level(k, self.plan.updates_before(k, step)))
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

    def _refresh(self, which: Sequence[int]) -> None:
        """Float copies of changed masks and their momentum factors."""
        for k in which:
            self.engine.refresh(k)

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
        self.engine.prepared = None  # W changes
        self.scratch.apply_to_weights()
        self.scratch.mask_momentum(self.optimizer)

    def _counts(self, k: int) -> list[int]:
        return kept_counts(self.masks[k])

    @torch.no_grad()
    def update(self, k: int, m: int, step: int, grow_scores: Sequence[Tensor]) -> None:
        """Sub-net k's m-th update: ramp, then prune-and-regrow (ND), or extend the denser
        sub-net by magnitude (CS); keeps CS masks nested and unused weights at zero."""
        target = self._level(k, m)
        fraction = drop_fraction(step, self.settings.regrow_fraction, self.plan.total)
        w, dist, own = self.weights, self.distribution, self.masks[k]
        pruned, spec, changed = dist.pruned, self.subnets[k], [k]
        if spec.nm is not None:
            update_nm(w, own, grow_scores, spec.nm, self.nm_layers[k], target, fraction)
        elif self.settings.relation == "cs" and k > 0:
            parent = self.masks[k - 1]
            prune_within(w, dist, own, max(target, pruned_sparsity(parent, pruned)), parent)
        else:
            prune_within(w, dist, own, target, own)
            counts = self._counts(k)
            updating = [p and 0 < c < n for p, c, n in zip(pruned, counts, own.numels, strict=True)]
            drop_and_grow(w, own.masks, grow_scores, counts, fraction, updating)
        self.level[k] = target
        own.changed()
        if self.settings.relation == "cs":  # sparser sub-nets follow: their members first, then by |w|
            for j in range(k + 1, self.n):
                parent, child = self.masks[j - 1], self.masks[j]
                keep = [a & b for a, b in zip(child.masks, parent.masks, strict=True)]
                level_j = level_sparsity(self.subnets[j], self.level[j])
                sparsity = max(level_j, pruned_sparsity(parent, pruned))
                prune_within(w, dist, child, sparsity, parent, keep)
                child.changed()
                changed.append(j)
        self._zero_outside_union()
        self._refresh(changed)

    # ------------------------------------------------------------------ sub-net contexts
    @contextmanager
    def subnet(self, k: int) -> Iterator[None]:
        """The model as sub-net k (its mask on the weights, its BatchNorms), for evaluation."""
        self.engine.mask_in(k)
        set_active(self.switches, k)
        try:
            yield
        finally:
            self.engine.mask_out()

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
        self.engine.attach(optimizer)
        self._refresh(range(self.n))
        self._zero_outside_union()

    def before_forward(self, step: int) -> None:
        k = self.current = step % self.n
        set_active(self.switches, k)
        self.engine.mask_in(k)

    @torch.no_grad()
    def after_backward(self, step: int) -> None:
        k = self.current
        for w in self.weights:
            if w.grad is None:  # a layer the forward did not reach
                w.grad = torch.zeros_like(w)
        if self.plan.update_index(step) is not None:
            self.grow_scores = S.gradient_magnitude(self.weights)  # dense gradient, before masking
        # Under loss scaling the scaler's step (skipped on an overflow) applies the update, not
        # the one sweep, and an overflowed gradient is neither projected nor remembered: it is
        # zeroed on the device (the step is skipped, so nothing applies it).
        sweep = self.overflow is None
        if self.gc is None:
            # one sweep: masked gradients, SGD, merge, momentum (else the separate passes)
            self.updated = sweep and self.engine.sgd_update(k, prepare=(step + 1) % self.n)
            if not self.updated:
                self.engine.mask_gradients(k)
        else:
            flat = self.engine.mask_gradients(k, avoid=self.gc.prev)
            if self.overflow is not None:
                flat.masked_fill_(self.overflow > 0, 0.0)
            if k > 0:  # not the first iteration of its inner group
                self.gc.compare(flat, self.engine.fmask[k][0])  # eq. 5 inside sub-net k
            if k < self.n - 1:
                self.gc.remember(flat)
            self.updated = sweep and self.engine.sgd_update(k, masked=flat, prepare=(step + 1) % self.n)
        self.engine.stash_momentum()

    @torch.no_grad()
    def after_optimizer_step(self, step: int) -> None:
        k = self.current
        if not self.updated:  # the optimizer stepped the prunable weights: merge, restore
            self.engine.merge(k)
            self.engine.restore_momentum(k)
        self.iterations[k] += 1
        if self.grow_scores is not None and self.step_skipped():  # an overflow: the masks stay
            self.skipped_updates += 1
            self.grow_scores = None
        if self.grow_scores is not None:
            m = self.plan.update_index(step)
            self.update(k, m, step, self.grow_scores)
            self.grow_scores = None

    # ------------------------------------------------------------------ metrics and outputs
    def _nonzeros(self, k: int) -> list[int]:
        return outputs.subnet_nonzeros(self.weights, self.engine.fmask[k][1])

    def on_epoch_end(self, epoch: int, evaluate: Callable[[], dict[str, float]]) -> dict[str, Any]:
        rows: dict[str, dict[str, Any]] = {}
        total = sum(self.masks[0].numels)
        for k, spec in enumerate(self.subnets):
            with self.subnet(k):
                metrics = dict(evaluate())
            flat = self.masks[k].flat
            prev = self.prev_masks[k]
            self.prev_masks[k] = flat.clone()
            rows[spec.key] = {**metrics, "sparsity": 1.0 - sum(self._nonzeros(k)) / total,
                              "mask_iou": None if prev is None else mask_iou(flat, prev),
                              "target_sparsity": level_sparsity(spec, self.level[k])}
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
        """Every sub-net's summary entry; with a run directory also its plain sparse model for
        ``checkpoints/subnet_<target>.pt``, handed to the trainer by :meth:`take_artefacts`."""
        entries = []
        for k, spec in enumerate(self.subnets):
            entry = outputs.summary_entry(spec, self._nonzeros(k), self.masks[k].numels,
                                          (self.last_rows or {}).get(spec.key, {}), self.macs,
                                          self.iterations[k])
            if self.context.get("run_dir") is not None:
                rel = str(Path("checkpoints") / f"subnet_{spec.key}.pt")
                entry["checkpoint"] = rel
                self.artefacts[rel] = {"model": self.subnet_state_dict(k), "subnet": dict(entry)}
            entries.append(entry)
        overlaps = {f"{a.key}|{b.key}": mask_iou(self.masks[i].flat, self.masks[j].flat)
                    for i, a in enumerate(self.subnets) for j, b in enumerate(self.subnets) if i < j}
        return {"subnets": entries, "inference_flops_fraction": entries[0]["inference_flops_fraction"],
                "subnet_mask_iou": overlaps}

    def take_artefacts(self) -> dict[str, dict[str, Any]]:
        artefacts, self.artefacts = self.artefacts, {}
        return artefacts

    def subnet_masks(self) -> dict[str, dict[str, Tensor]]:
        """Every sub-net's own masks by parameter name (True = kept), on the CPU: the exact
        masks, which a weight's zero pattern is not (a regrown weight can be 0), for analyses
        comparing sub-nets (paper 002 Fig. 6)."""
        names = [f"{layer.name}.weight" if layer.name else "weight" for layer in self.layers]
        return {spec.key: {n: m.detach().to("cpu", copy=True)
                           for n, m in zip(names, self.masks[k].masks, strict=True)}
                for k, spec in enumerate(self.subnets)}

    # ------------------------------------------------------------------ task=summary
    def _final_masks(self, k: int) -> list[Tensor]:
        return outputs.final_masks(self.weights, self.subnets[k], self.distribution, self.nm_layers[k])

    def preview_masks(self) -> list[Tensor]:
        return self._final_masks(0)

    def describe(self) -> dict[str, Any]:
        st, plan = self.settings, self.plan
        previews = [outputs.preview(spec, self._final_masks(k), self.macs, self.ramp[k],
                                    plan.update_step(k, 1)) for k, spec in enumerate(self.subnets)]
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
            "prev_masks": [None if p is None else pack_bits(p) for p in self.prev_masks],
            "gc": None if self.gc is None else self.gc.state_dict(),
            "iterations": list(self.iterations),
            "last_rows": self.last_rows,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for masks, saved in zip(self.masks, state["masks"], strict=True):
            masks.load_state_dict(saved)
        self.level = [float(v) for v in state["level"]]
        device = self.masks[0].flat.device
        self.prev_masks = [None if p is None else unpack_bits(p, self.masks[0].total, device)
                           for p in state["prev_masks"]]
        if self.gc is not None and state.get("gc") is not None:
            self.gc.load_state_dict(state["gc"])
        self.iterations = [int(v) for v in state["iterations"]]
        self.last_rows = state.get("last_rows")
        self._refresh(range(self.n))
