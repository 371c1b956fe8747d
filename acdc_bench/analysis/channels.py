"""Channel sparsity (paper 001 Table 3): the fraction of all-zero output channels per named
conv layer and over all conv layers, on a run's final model or kept checkpoints.

"avg" is the paper's "global fraction of zero channels across all convolutional layers":
zero channels of all conv layers over all their channels (``metrics.channel_sparsity``);
``mean_per_layer`` is the unweighted mean of the layers' fractions, for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acdc_bench import validation as V
from acdc_bench.analysis.base import Analysis, AnalysisSettings
from acdc_bench.errors import ConfigError


@dataclass(frozen=True)
class ChannelSettings(AnalysisSettings):
    layers: tuple[str, ...] | None  # conv layers to list by name (None: every conv layer)

    @classmethod
    def fields(cls, cfg: Any) -> dict[str, Any]:
        layers = None
        if V.get(cfg, "analysis.layers") not in (None, V.ABSENT):
            layers = V.string_list(cfg, "analysis.layers", "conv layer names (or null: every conv layer)")
        return {**super().fields(cfg), "layers": None if layers is None else tuple(layers)}


class Channels(Analysis):
    name = "channels"
    settings_class = ChannelSettings

    def compute(self, run_dir: Path, entry: str) -> dict[str, Any]:
        from acdc_bench.analysis.runs import load_run
        from acdc_bench.metrics.sparse import channel_sparsity
        from acdc_bench.sparsity.masks import prunable_layers

        run = load_run(run_dir, self.entry_epoch(entry), "cpu")
        convs = {layer.name: layer.weight for layer in prunable_layers(run.model) if layer.is_conv}
        wanted = self.settings.layers or tuple(convs)
        unknown = [n for n in wanted if n not in convs]
        if unknown:
            raise ConfigError("analysis.layers", list(wanted),
                              f"conv layers of the run's model, e.g. {list(convs)[:4]}")
        per_layer = {n: channel_sparsity([convs[n]]) for n in convs}
        return {"epoch": run.epoch, "layers": {n: per_layer[n] for n in wanted},
                "avg": channel_sparsity(list(convs.values())),
                "mean_per_layer": sum(per_layer.values()) / len(per_layer)}
