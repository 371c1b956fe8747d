"""``task=train``: train in Hydra's run directory and write metrics.jsonl, summary.json, checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


def train(cfg: DictConfig) -> dict[str, Any]:
    from acdc_bench.trainer import Trainer

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    return Trainer(cfg, run_dir).run()
