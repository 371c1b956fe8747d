"""AST's sub-nets: their targets from ``method.subnet_sparsities`` or ``method.subnet_nm``
("n:m", n nonzeros in every m weights), and their names in metrics. Shared by the method,
``task=summary`` and the reports, so a sub-net key is parsed in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import OmegaConf

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError


@dataclass(frozen=True)
class Subnet:
    index: int
    target: float  # final sparsity (N:M: 1 - n/m)
    nm: tuple[int, int] | None = None  # (n nonzeros, group m)

    @property
    def key(self) -> str:
        """The sub-net's name in metrics: its target sparsity as a string ("0.95")."""
        return str(self.target)

    @property
    def pattern(self) -> str | None:
        return None if self.nm is None else f"{self.nm[0]}:{self.nm[1]}"


def _is_list(value: Any) -> bool:
    return OmegaConf.is_list(value) or isinstance(value, (list, tuple))


def parse_nm(value: Any) -> tuple[int, int]:
    """"n:m" (n nonzeros in every m) -> (n, m); ConfigError unless 1 <= n < m."""
    parts = str(value).split(":")
    try:
        n, m = (int(p) for p in parts)
    except ValueError:
        n, m = 0, 0
    if len(parts) != 2 or not 1 <= n < m:
        raise ConfigError("method.subnet_nm", value, '"n:m" with 1 <= n < m (n nonzeros in every m weights)')
    return n, m


def subnet_specs(cfg: Any) -> list[Subnet]:
    """The sub-nets, densest first (``subnet_nm`` wins over ``subnet_sparsities`` when set; both
    fields are in ``conf/method/ast.yaml``, ``subnet_nm`` null)."""
    nm = V.get(cfg, "method.subnet_nm")
    if nm is V.ABSENT:
        raise ConfigError("method.subnet_nm", None, 'null or a list of "n:m" patterns (conf/method/ast.yaml)')
    if nm is not None:
        if not _is_list(nm) or len(nm) == 0:
            raise ConfigError("method.subnet_nm", nm,
                              'a non-empty list of "n:m" patterns, e.g. ["2:4", "1:4"]')
        patterns = [parse_nm(v) for v in nm]
        targets, field, shown = [1.0 - n / m for n, m in patterns], "method.subnet_nm", list(nm)
    else:
        field = "method.subnet_sparsities"
        values = V.get(cfg, field)
        values = None if values is V.ABSENT else values
        if not _is_list(values) or len(values) == 0:
            raise ConfigError(field, values, "a non-empty list of sparsities in [0, 1)")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ConfigError(field, list(values), "a non-empty list of sparsities in [0, 1)")
        patterns, targets, shown = [None] * len(values), [float(v) for v in values], list(values)
    if any(b <= a for a, b in zip(targets, targets[1:], strict=False)):
        raise ConfigError(field, shown, "sorted by sparsity, densest first, without repeats")
    return [Subnet(i, t, p) for i, (t, p) in enumerate(zip(targets, patterns, strict=True))]


def nm_sparsity(pattern: Any) -> float:
    """The sparsity of an "n:m" pattern (n nonzeros in every m): 1 - n/m."""
    n, m = parse_nm(pattern)
    return 1.0 - n / m


def subnet_targets(sparsities: Sequence[float] | None, nm: Sequence[Any] | None) -> list[float]:
    """The sub-nets' target sparsities from the two config fields (``nm`` wins when set),
    for readers of finished runs' configs (reports); no range checks beyond the N:M form."""
    if nm:
        return [nm_sparsity(p) for p in nm]
    return [float(v) for v in sparsities or []]
