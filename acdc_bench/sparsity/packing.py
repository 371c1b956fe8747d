"""Bool masks packed 8 per byte for checkpoints (a ResNet-50 mask set: ~3 MB instead of 25)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def pack_bits(bits: Tensor) -> Tensor:
    """A bool tensor as a flat uint8 tensor, 8 values a byte (its shape is not kept)."""
    return torch.from_numpy(np.packbits(bits.cpu().numpy()))


def unpack_bits(packed: Tensor, n: int, device: torch.device) -> Tensor:
    """The first ``n`` values of :func:`pack_bits`' output, flat, as bool on ``device``."""
    return torch.from_numpy(np.unpackbits(packed.numpy())[:n].astype(bool)).to(device)
