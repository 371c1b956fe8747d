"""SGD's own update of the prunable weights, applied here block by block on the CPU, so that
the mask products of a sparse step ride in the same pass over memory.

torch's SGD on the CPU (its single-tensor loop, the default there) updates one weight at a
time with three operations, each streaming the whole weight, gradient and momentum buffer
through memory; the mask products of a sparse step are further passes. :func:`blocks` cuts
the prunable weights into blocks of :data:`BLOCK` weights (each buffer's share 512 KB), and
a sweep takes every block through the mask product and SGD's operations while it is in the
core's L2 cache. The operations, their order and their arguments are SGD's own (``d = g +
wd * w``; ``b = mu * b + d``, or ``b = d`` when the buffer is new; ``w = w - lr * b``), on
the same elements, so the bits are those of the mask pass followed by ``optimizer.step()``
(tested in ``tests/test_sparsity_masks.py`` and ``tests/test_ast.py``): ATen's vectorised and
scalar loops agree for these operations, and a layer is cut only at multiples of the block
size from its own start. After a sweep the weights' gradients are None, so that the
optimizer's step skips them (their momentum buffers stay the optimizer's state).

The sweep applies only when :func:`plain_sgd_groups` says the optimizer is plain SGD on
CPU tensors; anything else (Adam, Nesterov, dampening, foreach or fused kernels, a tensor
learning rate, an accelerator, AMP) keeps the separate mask pass and the optimizer's step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

BLOCK = 1 << 17  # weights per block (a multiple of every vector width)


def plain_sgd_groups(optimizer: torch.optim.Optimizer | None, weights: Sequence[Tensor]) -> list[dict] | None:
    """Each weight's parameter group when SGD's update of ``weights`` can be applied block by
    block exactly as torch's single-tensor SGD applies it (plain SGD on CPU tensors: no
    Nesterov, dampening, maximize, foreach/fused/differentiable kernels, float hyper-parameters);
    otherwise None."""
    if type(optimizer) is not torch.optim.SGD or any(w.device.type != "cpu" for w in weights):
        return None
    owner = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    groups = [owner.get(id(w)) for w in weights]
    for g in groups:
        if g is None or g.get("nesterov") or g.get("maximize") or g.get("foreach") or g.get("fused") \
                or g.get("differentiable") or float(g.get("dampening", 0.0) or 0.0) != 0.0 \
                or any(isinstance(g.get(k), Tensor) for k in ("lr", "weight_decay", "momentum")):
            return None
    return groups


def blocks(numels: Sequence[int], size: int = BLOCK) -> list[tuple[int, int, int]]:
    """(layer, start, end): each layer cut at multiples of ``size`` from its own start."""
    return [(layer, a, min(n, a + size)) for layer, n in enumerate(numels) for a in range(0, n, size)]


class SGDGroups:
    """Each weight's parameter group (:func:`plain_sgd_groups`), looked up again whenever the
    optimizer's list of groups is replaced (``load_state_dict`` does, and the learning rate
    is then set on the new groups)."""

    def __init__(self, weights: Sequence[Tensor]):
        self.weights = list(weights)
        self.optimizer: torch.optim.Optimizer | None = None
        self._list: list | None = None  # the optimizer's param_groups the lookup was made on
        self._groups: list[dict] | None = None

    def attach(self, optimizer: torch.optim.Optimizer | None) -> None:
        self.optimizer, self._list, self._groups = optimizer, None, None

    def get(self) -> list[dict] | None:
        if self.optimizer is None:
            return None
        if self.optimizer.param_groups is not self._list:
            self._list = self.optimizer.param_groups
            self._groups = plain_sgd_groups(self.optimizer, self.weights)
        return self._groups


class MaskedSGD:
    """The sweep of the masked methods: per block, the gradient times the mask, then SGD.

    Masked weights stay exactly zero as with the separate pass (``acdc_bench.sparsity.masks``
    gives the proof: the same operations on the same numbers)."""

    def __init__(self, weights: Sequence[Tensor], size: int = BLOCK):
        self.weights = list(weights)
        self.blocks = blocks([w.numel() for w in self.weights], size)
        self.sgd = SGDGroups(self.weights)

    def attach(self, optimizer: torch.optim.Optimizer | None) -> None:
        self.sgd.attach(optimizer)

    @torch.no_grad()
    def step(self, factors: Sequence[Tensor]) -> bool:
        """SGD's step of the weights with gradients masked by ``factors`` (the masks as numbers);
        False (nothing done) when the optimizer's own step must do it."""
        groups = self.sgd.get()
        if groups is None or self.sgd.optimizer is None:
            return False
        state = self.sgd.optimizer.state
        for w in self.weights:
            buf = state[w].get("momentum_buffer") if w in state else None
            if not w.is_contiguous() or (w.grad is not None and not w.grad.is_contiguous()) \
                    or (buf is not None and not buf.is_contiguous()):
                return False
        flat = [(w.view(-1), None if w.grad is None else w.grad.view(-1), f.reshape(-1)) for w, f in
                zip(self.weights, factors, strict=True)]
        bufs: list[tuple[Tensor | None, bool]] = []
        for w, group in zip(self.weights, groups, strict=True):
            buf = None
            fresh = False
            if float(group.get("momentum", 0.0) or 0.0) != 0.0 and w.grad is not None:
                buf = state[w].get("momentum_buffer")
                if buf is None:  # SGD's first step: the buffer is a copy of d
                    buf = state[w]["momentum_buffer"] = torch.empty_like(w)
                    fresh = True
            bufs.append((None if buf is None else buf.view(-1), fresh))
        for layer, a, e in self.blocks:
            w, g, f = flat[layer]
            if g is None:  # a layer the forward did not reach: the optimizer skips it too
                continue
            group = groups[layer]
            wd, lr = float(group["weight_decay"]), float(group["lr"])
            gb, wb = g[a:e].mul_(f[a:e]), w[a:e]
            d = gb.add(wb, alpha=wd) if wd != 0 else gb
            buf, fresh = bufs[layer]
            if buf is not None:
                b = buf[a:e]
                d = b.copy_(d) if fresh else b.mul_(float(group["momentum"])).add_(d)
            wb.add_(d, alpha=-lr)
        for w in self.weights:
            w.grad = None
        return True
