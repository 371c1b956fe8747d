"""One training step: the hook sequence every caller shares.

The trainer, ``scripts/bench_overhead.py`` and the tests step a model through this one
function, so a benchmark times exactly what training runs and a test pins exactly what
training does. Nothing here reads a value back to the host: the loss stays on the device.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch
from torch import Tensor

from acdc_bench.sparsity.base import SparsityMethod
from acdc_bench.trainer.overflow import overflow_flag

LossFn = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]  # (logits, labels) -> (objective, plain CE)

# GradScaler(enabled=False) passes every call through (scale -> the loss, step -> optimizer.step()):
# callers without mixed precision take the same code path as those with it.
_NO_SCALING = torch.amp.GradScaler("cuda", enabled=False)


def train_step(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    *,
    step: int,
    optimizer: torch.optim.Optimizer,
    method: SparsityMethod,
    loss_fn: LossFn,
    lr: float | None = None,
    scaler: torch.amp.GradScaler | None = None,
    autocast: AbstractContextManager | None = None,
) -> tuple[Tensor, Tensor]:
    """Train on one batch at global step ``step``; returns the detached (objective, CE).

    Order (``SparsityMethod``'s contract): set the learning rate (``lr``: None keeps the
    optimizer's), ``before_forward``, forward under ``autocast``, the objective, zero the
    gradients, scaled backward, unscale (so that ``after_backward`` sees true gradients,
    e.g. RigL's grow scores and AST's gradient correction), ``note_overflow`` (the scaler's
    verdict, so that a method skips what the optimizer skips), ``after_backward``, the
    scaler's optimizer step (skipped on inf/NaN gradients under AMP; the method's gradient
    masks are applied inside it, so every gradient is still there, dense, before it),
    ``after_optimizer_step``.
    """
    scaler = _NO_SCALING if scaler is None else scaler
    if lr is not None:
        for group in optimizer.param_groups:
            group["lr"] = lr
    method.before_forward(step)
    with nullcontext() if autocast is None else autocast:
        logits = model(x)
    loss, ce = loss_fn(logits, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    method.note_overflow(overflow_flag(scaler, optimizer))  # mixed precision: will this step be skipped?
    method.after_backward(step)
    scaler.step(optimizer)
    scaler.update()
    method.after_optimizer_step(step)
    return loss.detach(), ce.detach()
