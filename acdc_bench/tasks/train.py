"""``task=train``: train in Hydra's run directory and write metrics.jsonl, summary.json, checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

if TYPE_CHECKING:
    from acdc_bench.settings import RunSettings


def train(cfg: DictConfig, settings: RunSettings | None = None) -> dict[str, Any]:
    """``settings``: the run's, as the task read them when it started (read here when not given)."""
    from acdc_bench.trainer import Trainer

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    return Trainer(cfg, run_dir, settings).run()
