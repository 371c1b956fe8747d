"""The loss scaler's verdict on a step, as a device tensor the method can act on.

Under mixed precision ``GradScaler.unscale_`` finds inf/NaN gradients (an overflow of the
scaled loss) and ``GradScaler.step`` then skips the optimizer's step. A method that reads the
gradients itself (regrowth scores, a gradient remembered for the next step) must skip too:
``train_step`` hands it this flag before ``after_backward``. It stays on the device, so that
the step waits for nothing; a method reads it back only where it reads anyway.
"""

from __future__ import annotations

import torch
from torch import Tensor


def overflow_flag(scaler: torch.amp.GradScaler, optimizer: torch.optim.Optimizer) -> Tensor | None:
    """After ``scaler.unscale_(optimizer)``: a 0-dim float tensor, non-zero when the scaler will
    skip this step; None without loss scaling (nothing is ever skipped)."""
    if not scaler.is_enabled():
        return None
    # The flags unscale_ recorded (torch 2.x keeps them per optimizer; no public accessor).
    states = getattr(scaler, "_per_optimizer_states", None)
    per_device = states.get(id(optimizer), {}).get("found_inf_per_device") if states is not None else None
    if per_device:
        flags = list(per_device.values())
        return flags[0] if len(flags) == 1 else torch.stack([f.to(flags[0].device) for f in flags]).sum()
    # Fallback (a torch whose scaler keeps them elsewhere): look at the gradients ourselves.
    grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
    if not grads:
        return None
    return (~torch.stack([torch.isfinite(g).all() for g in grads]).all()).float()
