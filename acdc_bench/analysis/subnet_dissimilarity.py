"""Sub-net dissimilarity (paper 002 Sec. 3.3, Fig. 6): per layer, the sparsity of two AST
sub-nets and the share of the layer's weights where their masks differ (XOR of the masks).

The paper reads Fig. 6 as "the distinction of connections is larger than the sparsity
difference": the ND scheme gives each sub-net connections of its own. Per layer, the XOR
share is never below the sparsity gap (|a XOR b| >= | |a| - |b| |), with equality exactly when
one mask contains the other; ``margin`` (the mean over layers of XOR share minus |gap|) is
therefore 0 for nested (CS) sub-nets and positive when the sub-nets own connections the
other lacks -- the statement's numeric check (``> 0``).

The masks are the method's own (``checkpoints/last.pt``, rebuilt through
:func:`~acdc_bench.analysis.runs.load_method`), not the saved sub-nets' zero patterns: a
regrown weight can be exactly 0 and still be a connection of its sub-net.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acdc_bench import validation as V
from acdc_bench.analysis.base import Analysis, AnalysisSettings
from acdc_bench.errors import ConfigError


@dataclass(frozen=True)
class DissimilaritySettings(AnalysisSettings):
    subnets: tuple[float, float] | None  # the two sub-nets' target sparsities; None: densest and sparsest

    @classmethod
    def fields(cls, cfg: Any) -> dict[str, Any]:
        out = {**super().fields(cfg), "subnets": None}
        if out["epochs"] is not None:
            raise ConfigError("analysis.epochs", list(out["epochs"]),
                              "null (sub-net masks are kept only in checkpoints/last.pt)")
        pair = V.get(cfg, "analysis.subnets")
        if pair not in (None, V.ABSENT):
            items = list(pair) if not isinstance(pair, (str, int, float)) else []
            if len(items) != 2 or not all(V.is_number(v) and 0 <= v < 1 for v in items):
                raise ConfigError("analysis.subnets", pair if not items else items,
                                  "null (the densest and the sparsest sub-net) or two target sparsities")
            out["subnets"] = (float(items[0]), float(items[1]))
        return out


def compare_masks(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Per layer (parameter name, in ``a``'s order) the two masks' sparsities, their gap
    (``b`` minus ``a``) and XOR share, and the means over layers with ``margin``."""
    layers: dict[str, dict[str, float]] = {}
    for name, ma in a.items():
        mb = b[name]
        n = ma.numel()
        sa, sb = 1.0 - int(ma.sum()) / n, 1.0 - int(mb.sum()) / n
        layers[name] = {"weights": n, "sparsity_a": sa, "sparsity_b": sb, "sparsity_gap": sb - sa,
                        "xor_share": int((ma ^ mb).sum()) / n}
    k = len(layers)
    xor = sum(v["xor_share"] for v in layers.values()) / k
    gap = sum(abs(v["sparsity_gap"]) for v in layers.values()) / k
    return {"layers": layers, "order": list(layers),  # the model's order (the file sorts keys)
            "mean_xor_share": xor, "mean_abs_sparsity_gap": gap, "margin": xor - gap}


class SubnetDissimilarity(Analysis):
    name = "subnet_dissimilarity"
    settings_class = DissimilaritySettings

    def compute(self, run_dir: Path, entry: str) -> dict[str, Any]:
        from acdc_bench.analysis.runs import load_method

        method = load_method(run_dir)
        found = getattr(method, "subnet_masks", None)
        if found is None:
            raise ConfigError("method.name", type(method).name,
                              f"a run with sub-nets (ast) for analysis={self.name}")
        masks = found()
        keys = list(masks)
        if len(keys) < 2:
            raise ConfigError("method.subnet_sparsities", keys, "at least two sub-nets to compare")
        pair = (keys[0], keys[-1])
        if self.settings.subnets is not None:
            by_target = {float(k): k for k in keys}
            missing = [t for t in self.settings.subnets if t not in by_target]
            if missing:
                raise ConfigError("analysis.subnets", list(self.settings.subnets),
                                  f"two of the run's sub-nets {[float(k) for k in keys]}")
            pair = (by_target[self.settings.subnets[0]], by_target[self.settings.subnets[1]])
        return {"subnets": [float(pair[0]), float(pair[1])], **compare_masks(masks[pair[0]], masks[pair[1]])}
