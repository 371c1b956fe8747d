"""The sparsity ramps the methods share, pure functions of a step or pruning index: GMP's and
AST's cubic schedule (Zhu & Gupta) and RigL's and AST's cosine-annealed drop fraction."""

from __future__ import annotations

import math


def cubic_sparsity(j: int, n: int, target: float, initial: float = 0.0) -> float:
    """Zhu & Gupta's s_j = s_f + (s_i - s_f)(1 - j/n)^3 after the j-th of n pruning steps."""
    progress = min(max(j / n, 0.0), 1.0)
    return target + (initial - target) * (1.0 - progress) ** 3


def drop_fraction(step: int, alpha: float, t_end: int) -> float:
    """RigL's cosine decay f(t) = alpha/2 (1 + cos(pi t / T_end)); 0 from T_end on."""
    if step >= t_end:
        return 0.0
    return alpha / 2.0 * (1.0 + math.cos(math.pi * step / t_end))
