"""Boolean masks over the prunable weights, and the per-step operations on them.

Prunable weights are the weights of convolution and linear layers, never biases or
normalisation parameters (paper 001, Appendix B). They are listed in module order, so the
first is the input convolution and the last the classifier.

A :class:`MaskSet` keeps one bool per prunable weight (1 byte), all in one flat buffer with
a view per layer shaped (and strided) like its weight. The per-step work of sparse training
is one fused multi-tensor product (``torch._foreach_mul_``): the gradients at the optimizer step.
It reads nothing back to the host, so a training step never waits for the device. The
product's factors are the masks as 0/1 numbers of the weights' dtype (:attr:`MaskSet.factors`,
a second flat buffer, made on first use and refreshed when the masks change). Float times
float is the same-dtype vectorised path, which on the CPU takes about half the time of float
times the masks' bytes as ``uint8`` (ResNet-18's 11.2M weights: 1.7 ms against 3.0 ms, 2 threads)
and a fifth of float times ``bool``. They cost 4 bytes per weight next to the masks' one; the
masks stay the record (checkpoints, checksums, IoU), the factors are a cache of them. The
products change no bit: x * 1 is x and x * 0 a zero of x's sign, whatever the factor's type.
The pass belongs to the optimizer step: the method exposes its masks, the recipe's SGD applies
them (:mod:`acdc_bench.sparsity.fused_sgd`: with plain SGD on the CPU and numba installed,
inside SGD's own update, one compiled loop that reads each mask byte once and gives the same
numbers; otherwise :meth:`MaskSet.apply_to_grads` before the step). The argument below holds
for either.

Why one pass suffices (no weight product after the optimizer step). Whenever masks change
(prune, RigL's drop-and-grow, a restored checkpoint, AC/DC's decompression sparsity) the
method zeroes the masked weights and their optimizer buffers once (:meth:`MaskSet.apply_to_weights`,
:meth:`MaskSet.mask_momentum`). Then, for a masked weight with w = 0, buffer b = 0 and masked
gradient g = 0 (all possibly -0.0), torch's SGD computes
``d = g + wd * w = 0``; ``b = mu * b + (1 - dampening) * d = 0``; ``d = d + mu * b = 0``
(nesterov) or ``d = b = 0``; ``w = w - lr * d = 0``: exact zeros in, exact zeros out (no
rounding can make a nonzero from zeros; only a non-finite gradient could, and then the run
stops as non-finite). So w, b stay 0 at every step, by induction, for any lr, momentum,
dampening, weight decay and nesterov. The old second product ``w *= mask`` multiplied these
zeros by 0 and the kept weights by 1, which changes no bit (x * 0 keeps the sign of a zero
x, x * 1 is x): the weights are bit-identical with and without it
(``tests/test_sparsity_masks.py`` checks both claims). AMP's GradScaler unscales the masked
gradients (0 / s = 0) or skips the step; DDP reduces before the mask. An optimizer whose
update does not vanish at w = g = 0 would need the weight pass again (none is used here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

PRUNABLE_TYPES: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
MOMENTUM_RESETS = ("returning", "all", "none")


@dataclass(frozen=True)
class PrunableLayer:
    """One prunable weight: the module that owns it and its name in ``model.named_modules()``."""

    name: str
    module: nn.Module
    weight: nn.Parameter

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.weight.shape)

    @property
    def numel(self) -> int:
        return self.weight.numel()

    @property
    def is_conv(self) -> bool:
        return not isinstance(self.module, nn.Linear)


def prunable_layers(model: nn.Module) -> list[PrunableLayer]:
    """Conv and linear weights in module order (first = input conv, last = classifier).

    A weight shared by several modules is listed once, at its first owner.
    """
    seen: set[int] = set()
    layers = []
    for name, module in model.named_modules():
        if isinstance(module, PRUNABLE_TYPES) and isinstance(getattr(module, "weight", None), nn.Parameter):
            w = module.weight
            if id(w) not in seen and w.requires_grad:
                seen.add(id(w))
                layers.append(PrunableLayer(name, module, w))
    if not layers:
        raise ValueError(f"{type(model).__name__} has no conv or linear weights to prune")
    return layers


def _dense_strides(t: Tensor) -> bool:
    """Whether ``t`` covers its storage without gaps or overlaps (any dimension order)."""
    expected = 1
    for size, stride in sorted(zip(t.shape, t.stride(), strict=True), key=lambda d: d[1]):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


class MaskSet:
    """One bool mask per prunable weight (``True`` = the weight is kept).

    ``masks[i]`` is a view into ``flat`` with the size and strides of ``weights[i]``
    (so channels-last weights get channels-last masks and the products stay
    element-wise over memory). ``version`` counts mask changes; every method that
    changes masks calls :meth:`changed`.
    """

    def __init__(self, layers: Sequence[PrunableLayer]):
        self.layers = list(layers)
        self.weights: list[Tensor] = [layer.weight for layer in self.layers]
        self.numels = [w.numel() for w in self.weights]
        self.total = sum(self.numels)
        device = self.weights[0].device
        padded = -(-self.total // 8) * 8  # whole bytes when packed for checkpoints
        self._storage = torch.ones(padded, dtype=torch.bool, device=device)
        self.flat = self._storage[: self.total]
        self.masks: list[Tensor] = self.views(self.flat)
        # the same bytes as 0/1 numbers (always current): the factors of the products made when
        # masks change (weights, optimizer buffers), which are rare and need no cache
        self.bytes: list[Tensor] = [m.view(torch.uint8) for m in self.masks]
        self._factors: tuple[Tensor, list[Tensor]] | None = None  # (flat, views): the masks as numbers
        self._factors_version: int | None = None  # the masks' version the factors were taken at
        self.version = 0
        self._checksum: tuple[int, int] | None = None

    def views(self, flat: Tensor) -> list[Tensor]:
        """Per-layer views of a flat tensor laid out like ``flat`` (shaped and strided like
        the weights), e.g. of ``flat & ~old`` for the weights a mask update brings back."""
        out, offset = [], 0
        for w, n in zip(self.weights, self.numels, strict=True):
            chunk = flat[offset: offset + n]
            if w.is_contiguous() or not _dense_strides(w):
                out.append(chunk.view(w.shape))
            else:
                out.append(chunk.as_strided(w.shape, w.stride()))
            offset += n
        return out

    @property
    def factors(self) -> list[Tensor]:
        """The masks as 0/1 numbers of the weights' dtype, shaped like the weights: the factors of
        the per-step gradient product (the module docstring says why not the masks' own bytes).
        Made on first use and taken again whenever :meth:`changed` has counted a change since:
        a method that masks gradients every step calls :meth:`changed` after every write to the
        masks (the products made at mask changes use :attr:`bytes`, which need no such care)."""
        if self._factors_version != self.version or self._factors is None:
            dtypes = {w.dtype for w in self.weights}
            if len(dtypes) > 1:  # mixed precisions: one buffer cannot serve them; the bytes do
                return self.bytes
            if self._factors is None:
                flat = torch.empty(self.total, dtype=dtypes.pop(), device=self.flat.device)
                self._factors = (flat, self.views(flat))
            self._factors[0].copy_(self.flat)
            self._factors_version = self.version
        return self._factors[1]

    # ------------------------------------------------------------------ changes
    def changed(self) -> None:
        """Record a change of the masks (``mask_version`` for the DDP consistency check)."""
        self.version += 1

    @torch.no_grad()
    def fill_(self, value: bool = True) -> None:
        self.flat.fill_(value)
        self.changed()

    @torch.no_grad()
    def copy_(self, masks: Sequence[Tensor]) -> None:
        torch._foreach_copy_(self.masks, list(masks))
        self.changed()

    # ------------------------------------------------------------------ per step
    @torch.no_grad()
    def apply_to_weights(self) -> None:
        """Zero the masked weights (one fused multi-tensor product, no host sync): when masks
        change, not at every step (the module docstring says why)."""
        torch._foreach_mul_(self.weights, self.bytes)

    @torch.no_grad()
    def apply_to_grads(self) -> None:
        """Zero the gradients of masked weights, so that neither the step nor the
        momentum buffer moves them: the one mask pass of a sparse step."""
        pairs = [(w.grad, m) for w, m in zip(self.weights, self.factors, strict=True) if w.grad is not None]
        if pairs:
            grads, masks = zip(*pairs, strict=True)
            torch._foreach_mul_(list(grads), list(masks))

    # ------------------------------------------------------------------ optimizer state
    def _state_tensors(self, optimizer: torch.optim.Optimizer, param: Tensor) -> Iterable[Tensor]:
        """The optimizer's per-weight buffers (SGD momentum, Adam moments) of ``param``."""
        for value in optimizer.state.get(param, {}).values():
            if isinstance(value, Tensor) and value.shape == param.shape:
                yield value

    @torch.no_grad()
    def zero_momentum(self, optimizer: torch.optim.Optimizer | None,
                      where: Sequence[Tensor] | None = None) -> None:
        """Zero the optimizer buffers of prunable weights where ``where`` is True (all of them
        when ``where`` is None). Used for weights that come back and weights just pruned."""
        if optimizer is None:
            return
        for i, w in enumerate(self.weights):
            for buf in self._state_tensors(optimizer, w):
                if where is None:
                    buf.zero_()
                else:
                    buf.masked_fill_(where[i], 0)

    @torch.no_grad()
    def mask_momentum(self, optimizer: torch.optim.Optimizer | None) -> None:
        """Zero the optimizer buffers of masked weights: a pruned weight keeps no velocity."""
        if optimizer is None:
            return
        for w, m in zip(self.weights, self.bytes, strict=True):
            for buf in self._state_tensors(optimizer, w):
                buf.mul_(m)

    # ------------------------------------------------------------------ measurements
    def inverted(self) -> list[Tensor]:
        """The masked-out positions (new tensors)."""
        return [~m for m in self.masks]

    def densities(self) -> list[float]:
        """Fraction of kept weights per layer (one host sync)."""
        counts = torch.stack([torch.count_nonzero(m) for m in self.masks]).tolist()
        return [c / n for c, n in zip(counts, self.numels, strict=True)]

    def checksum(self) -> int:
        """A fingerprint of all masks (equal on every rank when their masks agree)."""
        if self._checksum is None or self._checksum[0] != self.version:
            packed = self.packed()
            digest = hashlib.blake2b(packed.numpy().tobytes(), digest_size=8).digest()
            self._checksum = (self.version, int.from_bytes(digest, "little") >> 1)
        return self._checksum[1]

    # ------------------------------------------------------------------ checkpoints
    def packed(self) -> Tensor:
        """The masks as bits (8 per byte) on the CPU, for checkpoints and fingerprints."""
        return torch.from_numpy(np.packbits(self._storage.cpu().numpy()))

    def state_dict(self) -> dict[str, Any]:
        return {"packed": self.packed(), "total": self.total, "version": self.version}

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["total"]) != self.total:
            raise ValueError(f"checkpoint masks cover {state['total']} weights, the model has {self.total}")
        bits = np.unpackbits(state["packed"].numpy())[: self._storage.numel()].astype(bool)
        self._storage.copy_(torch.from_numpy(bits))
        self.version = int(state["version"])
        self._factors_version = None  # new masks, whatever their version says
