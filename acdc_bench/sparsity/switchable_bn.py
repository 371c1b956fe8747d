"""Switchable batch normalisation: one BatchNorm per sub-net, chosen by an index.

Sub-nets of different sparsity that share weights see different activation statistics, so
each keeps its own running mean/variance and affine parameters (as slimmable networks do,
and as AST's authors do). :func:`make_switchable` replaces every BatchNorm of a model by a
:class:`SwitchableBatchNorm` holding ``n`` independent copies of it; the method that owns
the sub-nets sets ``active`` before each forward. :func:`plain_state_dict` folds one
sub-net's copies back into the state dict of the original (plain) model.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


class SwitchableBatchNorm(nn.Module):
    """``n`` copies of one BatchNorm (any ``_BatchNorm`` subclass); ``active`` picks the one
    a forward uses. Inactive copies take no part in the forward, so their parameters get no
    gradient and the optimizer leaves them alone."""

    def __init__(self, bn: _BatchNorm, n: int):
        super().__init__()
        self.bns = nn.ModuleList(copy.deepcopy(bn) for _ in range(n))
        self.active = 0

    def forward(self, x: Tensor) -> Tensor:
        return self.bns[self.active](x)

    def extra_repr(self) -> str:
        return f"n={len(self.bns)}, active={self.active}"


def switchable_modules(model: nn.Module) -> list[SwitchableBatchNorm]:
    return [m for m in model.modules() if isinstance(m, SwitchableBatchNorm)]


def make_switchable(model: nn.Module, n: int) -> list[SwitchableBatchNorm]:
    """Replace every BatchNorm of ``model`` (in place) by a :class:`SwitchableBatchNorm` with
    ``n`` copies; a model already switched is left as it is. Returns the switchable modules."""
    existing = switchable_modules(model)
    if existing:
        if any(len(m.bns) != n for m in existing):
            raise ValueError(f"the model's switchable BatchNorms do not hold {n} copies each")
        return existing
    targets = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
               if isinstance(child, _BatchNorm)]
    for parent, name, child in targets:
        setattr(parent, name, SwitchableBatchNorm(child, n))
    return switchable_modules(model)


def set_active(modules: Iterable[SwitchableBatchNorm], index: int) -> None:
    for m in modules:
        m.active = index


def plain_state_dict(model: nn.Module, index: int) -> dict[str, Any]:
    """The state dict of the model as it was before :func:`make_switchable`, with sub-net
    ``index``'s BatchNorm copies in place of the originals (tensors shared, not copied)."""
    prefixes = [name for name, m in model.named_modules() if isinstance(m, SwitchableBatchNorm)]
    out: dict[str, Any] = {}
    for key, value in model.state_dict().items():
        owner = next((p for p in prefixes if key.startswith(f"{p}.bns.")), None)
        if owner is None:
            out[key] = value
            continue
        copy_index, _, rest = key[len(owner) + len(".bns."):].partition(".")
        if int(copy_index) == index:
            out[f"{owner}.{rest}"] = value
    return out
