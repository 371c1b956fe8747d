"""Dense training: the baseline every sparse method is compared with."""

from __future__ import annotations

from acdc_bench.sparsity.base import SparsityMethod


class Dense(SparsityMethod):
    """No masks; the base class's no-op hooks are exactly dense training."""

    name = "dense"
