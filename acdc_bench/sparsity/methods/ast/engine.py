"""The sub-net weight engine: dense shared weights W, the working copy X = W ⊙ m_k a step of
sub-net k trains, the masked gradients and SGD's momentum, all views of flat buffers laid
out like the masks, so that each per-step operation is one fused pass over every prunable
weight with no host sync.

Passes per training step (none can go: each keeps a different promise):

1. ``mask_in`` (before the forward): X = W ⊙ m_k. The forward must see sub-net k only,
   while W keeps the weights other sub-nets use.
2. ``mask_gradients`` (after the backward): g ⊙ m_k. The dense gradient must not reach
   momentum buffers outside m_k (other sub-nets' velocity); gradient correction also
   compares and projects masked gradients. With correction the product is written into a
   flat buffer (not the one remembered last), which is the same single pass.
3. ``merge`` (after the optimizer step): W <- W + m_k ⊙ (X - W). SGD moves X also outside
   m_k (momentum μ·b of other sub-nets' weights), and only m_k's entries are this step's.
4. ``restore_momentum``: SGD multiplied every inactive buffer by μ (its gradient is zero);
   one product with m_k + (1 - m_k)/μ undoes it. Under AMP a skipped step would not have
   multiplied, so a copy taken after the backward is merged back instead (a copy before
   the step, which writes the buffers in place, then a merge and a copy back: selecting in
   place with ``torch.where`` would save the copy back but keeps the sign of zero buffers
   that the merge turns into +0, so it would change bits).

Pruned weights here are not zero (other sub-nets use them), so the single-pass scheme of
the masked methods (pruned weights, gradients and momentum all at zero) does not apply.

**One sweep on the CPU** (:meth:`SubnetWeights.sgd_update`): with plain SGD (torch's
single-tensor loop, the CPU default) the engine applies SGD's own update of the prunable
weights itself, together with passes 2 (without gradient correction), 3 and 4: the weights'
gradients are then set to None, so that the optimizer's step skips them. With numba (the
``ffcv`` extra) it is one compiled loop (:mod:`~acdc_bench.sparsity.methods.ast.kernel`),
which also does the next step's pass 1 for the next sub-net while each weight is at hand
(``prepared``: dropped by anything that writes W, the masks or the working copy); without
numba, eager blocks of SGD's three operations (``d = g + wd * x``; ``b = mu * b + d``;
``x = x - lr * b``), the merge and the restore. Either way the operations, their order and
their arguments are SGD's and the passes' own, so the numbers are those of the separate passes
(tested). Anything else (AMP, Nesterov, dampening, foreach or fused kernels, a tensor
learning rate, an accelerator) takes the separate passes.

Measured on the 2-core reference machine (``scripts/bench_overhead.py``, ResNet-18, AST-GC
with 3 sub-nets): 1.21 of the dense step with the separate passes, 1.17-1.20 with the eager
blocks, 1.12-1.14 with the compiled loop, 1.10-1.12 with pass 1 made ahead, 1.04-1.05 with the
masks read as bytes (the float copies are kept for the separate passes). The block size
does not matter here (24-26 ms for the eager sweep from 64K weights to whole layers): every
pass runs at the machine's ~30 GB/s whatever the cache level, so only fewer bytes per weight
help. The same eager sweep for the masked methods (mask inside SGD's update) measured no gain;
their compiled loop does (:mod:`acdc_bench.sparsity.fused_sgd`).

**Why this sweep stays with the engine** and not in the recipe's optimizer (``MaskedSGD``, which
owns the masked methods' update): AST's step is not "mask the gradients, then SGD". SGD runs
on the working copy X, is merged into W through the sub-net's mask, the momentum outside the
mask is restored, and the next sub-net's X is made, all on the engine's flat buffers (the
optimizer's momentum buffers are views of its flat buffer), with gradient correction's masked
gradient in between. An optimizer doing this would have to know sub-nets, their order and
the working copy. So AST stays the one method that steps its prunable weights in
``after_backward`` (their gradients then None, the optimizer's step skipping them: a clipping
or EMA user must take its gradients inside ``after_backward``, or turn the sweep off with
``one_sweep``); the optimizer steps the rest (biases, normalisation) with its own loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from acdc_bench.sparsity.fused_sgd import SGDGroups, blocks
from acdc_bench.sparsity.masks import MaskSet
from acdc_bench.sparsity.methods.ast.kernel import CompiledStep, compiled

BLOCK = 1 << 17  # weights per eager block (a multiple of every vector width; the size made no difference)


def momentum_of(optimizer: torch.optim.Optimizer, param: Tensor) -> float:
    """SGD's momentum μ of ``param``'s parameter group (0 without momentum)."""
    for group in optimizer.param_groups:
        if any(p is param for p in group["params"]):
            return float(group.get("momentum", 0.0) or 0.0)
    return 0.0


def float_views(masks: MaskSet, dtype: torch.dtype) -> tuple[Tensor, list[Tensor]]:
    """A float buffer laid out like ``masks.flat``, with per-layer views like ``masks.masks``."""
    flat = torch.empty(masks.total, dtype=dtype, device=masks.flat.device)
    views, offset = [], 0
    for m, n in zip(masks.masks, masks.numels, strict=True):
        views.append(flat[offset: offset + n].as_strided(m.shape, m.stride()))
        offset += n
    return flat, views


class SubnetWeights:
    """W, X, the masks as numbers, the momentum buffers and the masked gradients of the
    prunable ``weights`` shared by the sub-nets of ``masks``.

    ``fback`` is None under AMP (a skipped step: restore momentum from a copy);
    ``grad_buffers``: write masked gradients into two alternating flat buffers (gradient
    correction keeps a reference to the last one).
    """

    def __init__(self, weights: Sequence[Tensor], masks: Sequence[MaskSet], amp: bool, grad_buffers: bool):
        self.weights = list(weights)
        self.masks = list(masks)
        dtype = self.weights[0].dtype
        self.momentum = 0.0
        self.optimizer: torch.optim.Optimizer | None = None
        self.fmask = [float_views(m, dtype) for m in self.masks]  # (flat, views): masks as numbers
        # m + (1 - m) / momentum, undoing SGD's decay of inactive buffers (under AMP: a copy instead)
        self.fback = None if amp else [float_views(m, dtype) for m in self.masks]
        self.fback_values = (1.0, 1.0)  # fback at a masked-out and at a kept weight (set in refresh)
        self.dense_flat, self.dense_views = float_views(self.masks[0], dtype)
        with torch.no_grad():
            for w, v in zip(self.weights, self.dense_views, strict=True):
                v.copy_(w.detach())
                w.data = v
        self.work_flat, self.work_views = float_views(self.masks[0], dtype)
        self.momentum_flat: Tensor | None = None  # made in attach
        self.momentum_views: list[Tensor] = []
        self.buf_stash: Tensor | None = None
        self.grad_bufs = [float_views(self.masks[0], dtype) for _ in range(2)] if grad_buffers else []
        self.amp = amp
        self.sgd = SGDGroups(self.weights)  # the weights' SGD groups, when the one sweep applies
        self.one_sweep = True  # False: always the separate passes (the tests compare the two)
        numels = self.masks[0].numels
        self.offsets = [sum(numels[:i]) for i in range(len(numels))]  # each layer's start in the flat buffers
        self.blocks: list[tuple[int, int, int]] = []
        self.cut()
        self.compiled = True  # the compiled loop when numba is there (False: the eager blocks)
        # the sub-net whose working copy X = W * m the last compiled step left in work_flat (pass 1
        # done ahead); None after anything that writes W, the masks or work_flat
        self.prepared: int | None = None
        self.runner = CompiledStep(self.offsets, [
            (layer, self.offsets[layer] + a, self.offsets[layer] + e)
            for layer, a, e in blocks(numels, 1 << 20)])

    def cut(self, size: int = BLOCK) -> None:
        """The blocks of the one-sweep update, (layer, start, end) in flat coordinates."""
        self.blocks = [(layer, self.offsets[layer] + a, self.offsets[layer] + e)
                       for layer, a, e in blocks(self.masks[0].numels, size)]

    @torch.no_grad()
    def refresh(self, k: int) -> None:
        """Float copies of sub-net k's (changed) mask and its momentum factors."""
        self.prepared = None
        inv = 1.0 / self.momentum if self.momentum > 0 else 1.0
        flat = self.fmask[k][0]
        flat.copy_(self.masks[k].flat)
        if self.fback is not None:
            torch.mul(flat, 1.0 - inv, out=self.fback[k][0]).add_(inv)
            # the same two operations at a masked-out and a kept weight: the compiled loop's factors
            ends = torch.mul(torch.tensor([0.0, 1.0], dtype=flat.dtype), 1.0 - inv).add_(inv)
            self.fback_values = (float(ends[0]), float(ends[1]))

    # ------------------------------------------------------------------ flat buffers
    @torch.no_grad()
    def ensure_flat(self) -> None:
        """The prunable weights live in ``dense_flat`` (one buffer, so that masking and merging
        are one fused operation each); put back any weight whose storage was replaced."""
        for w, v in zip(self.weights, self.dense_views, strict=True):
            if w.data_ptr() != v.data_ptr():
                v.copy_(w.detach())
                w.data = v
                self.prepared = None

    def attach(self, optimizer: torch.optim.Optimizer) -> None:
        """Take the optimizer's momentum μ and make its buffers views of one flat buffer."""
        self.optimizer = optimizer
        self.momentum = momentum_of(optimizer, self.weights[0])
        self.ensure_flat()
        self.flatten_momentum()
        self.sgd.attach(None if self.amp else optimizer)

    @torch.no_grad()
    def flatten_momentum(self) -> None:
        """SGD's momentum buffers of the prunable weights as views of one buffer (made now,
        zero, if SGD has not made them yet: SGD's first step then gives the same values)."""
        self.momentum_flat = None
        if self.optimizer is None or self.momentum <= 0:
            return
        for group in self.optimizer.param_groups:
            if float(group.get("dampening", 0.0) or 0.0) != 0.0:
                raise RuntimeError("AST keeps inactive weights' momentum as it is and supports SGD "
                                   "without dampening only")
        flat, views = float_views(self.masks[0], self.weights[0].dtype)
        flat.zero_()
        for w, v in zip(self.weights, views, strict=True):
            state = self.optimizer.state[w]
            buf = state.get("momentum_buffer")
            if buf is not None:
                v.copy_(buf)
            state["momentum_buffer"] = v
        self.momentum_flat, self.momentum_views = flat, views

    # ------------------------------------------------------------------ per step
    @torch.no_grad()
    def mask_in(self, k: int) -> None:
        """Pass 1: swap the working copy X = W * m_k in as the prunable weights' data."""
        self.ensure_flat()
        if self.prepared != k:  # (else the last compiled step made it, and nothing wrote since)
            torch.mul(self.dense_flat, self.fmask[k][0], out=self.work_flat)
        self.prepared = None
        for w, x in zip(self.weights, self.work_views, strict=True):
            w.data = x

    def mask_out(self) -> None:
        """The dense weights W back as the prunable weights' data."""
        for w, d in zip(self.weights, self.dense_views, strict=True):
            w.data = d

    @torch.no_grad()
    def mask_gradients(self, k: int, avoid: Tensor | None = None) -> Tensor | None:
        """Pass 2: the gradients times m_k. With ``grad_buffers`` they are written into the
        flat buffer that is not ``avoid`` (the gradient correction remembers) and returned."""
        grads = [w.grad for w in self.weights]
        if not self.grad_bufs:
            torch._foreach_mul_(grads, self.fmask[k][1])
            return None
        first = self.grad_bufs[0]
        flat, views = self.grad_bufs[1] if avoid is not None and first[0].data_ptr() == avoid.data_ptr() \
            else first
        for g, f, v in zip(grads, self.fmask[k][1], views, strict=True):
            torch.mul(g, f, out=v)
        for w, v in zip(self.weights, views, strict=True):
            w.grad = v
        return flat

    @torch.no_grad()
    def stash_momentum(self) -> None:
        """Under AMP, before the step: a step GradScaler skips must leave the buffers as they
        are, so keep a copy to merge back from."""
        if self.fback is None and self.momentum_flat is not None:
            if self.buf_stash is None:
                self.buf_stash = torch.empty_like(self.momentum_flat)
            self.buf_stash.copy_(self.momentum_flat)

    @torch.no_grad()
    def merge(self, k: int) -> None:
        """Pass 3: W <- W + m_k (X - W), then W back as the weights' data."""
        self.prepared = None
        self.dense_flat.lerp_(self.work_flat, self.fmask[k][0])
        self.mask_out()

    def _own_momentum(self) -> None:
        assert self.optimizer is not None
        for w, v in zip(self.weights, self.momentum_views, strict=True):
            if self.optimizer.state[w].get("momentum_buffer") is not v:
                self.flatten_momentum()  # the optimizer replaced its buffers: views again
                break

    @torch.no_grad()
    def sgd_update(self, k: int, masked: Tensor | None = None, prepare: int | None = None) -> bool:
        """SGD's step of the prunable weights of sub-net k, with the gradient mask (unless
        ``masked``, the flat masked gradient, is given), the merge and the momentum restore, in
        one sweep (the compiled loop, or eager blocks without numba; see the module's
        docstring). The weights are then W, their gradients None. The compiled loop also makes
        sub-net ``prepare``'s working copy for the next step's ``mask_in``. Returns False
        (nothing done) when the separate passes apply."""
        groups = self.sgd.get() if self.one_sweep and self.fback is not None else None
        momentum = self.momentum
        if groups is None or any(float(g.get("momentum", 0.0) or 0.0) != momentum for g in groups):
            return False  # (one μ: the momentum factors are made with it)
        if momentum > 0:
            self._own_momentum()
            assert self.momentum_flat is not None
        f, fb = self.fmask[k][0], self.fback[k][0]
        step = compiled() if self.compiled and self.dense_flat.dtype == torch.float32 else None
        if step is not None:
            hyper = [(float(g["lr"]), float(g["weight_decay"]), momentum) for g in groups]
            self.mask_out()  # (work_flat is written below: the weights' data are W's views again)
            grads = masked if masked is not None else [w.grad for w in self.weights]
            buffers = self.momentum_flat if momentum > 0 else None
            self.runner(step, self.dense_flat, self.masks[k].flat, buffers,
                        self.fback_values, grads, masked is not None, hyper,  # type: ignore[arg-type]
                        None if prepare is None else self.masks[prepare].flat, self.work_flat)
            self.prepared = prepare
            for w in self.weights:
                w.grad = None
            return True
        if masked is None:
            grads = [w.grad.reshape(-1) for w in self.weights]  # type: ignore[union-attr]
        for layer, a, e in self.blocks:
            group = groups[layer]
            lr, wd = float(group["lr"]), float(group["weight_decay"])
            fk, x, w = f[a:e], self.work_flat[a:e], self.dense_flat[a:e]
            if masked is None:
                start = self.offsets[layer]
                g = grads[layer][a - start: e - start].mul_(fk)  # pass 2
            else:
                g = masked[a:e]
            d = g.add(x, alpha=wd) if wd != 0 else g  # SGD, as torch's single-tensor loop
            if momentum > 0:
                b = self.momentum_flat[a:e]  # type: ignore[index]
                d = b.mul_(momentum).add_(d)
            x.add_(d, alpha=-lr)
            w.lerp_(x, fk)  # pass 3
            if momentum > 0:
                b.mul_(fb[a:e])  # pass 4
        for w in self.weights:
            w.grad = None
        self.mask_out()
        return True

    @torch.no_grad()
    def restore_momentum(self, k: int) -> None:
        """Pass 4: inactive momentum buffers as they were before the step."""
        if self.momentum_flat is None:
            return
        self._own_momentum()
        if self.fback is not None:
            self.momentum_flat.mul_(self.fback[k][0])
        elif self.buf_stash is not None:  # m_k's buffers from the step, the others from the copy
            self.buf_stash.lerp_(self.momentum_flat, self.fmask[k][0])
            self.momentum_flat.copy_(self.buf_stash)
