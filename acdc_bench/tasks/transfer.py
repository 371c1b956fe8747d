"""``task=transfer transfer=linear|full``: fine-tune a finished run on downstream tasks and give
each task's accuracy and the Average Increase in Error against a baseline run (paper 001
App. F). Writes ``summary.json`` in Hydra's run directory and prints its path; see
:mod:`acdc_bench.transfer`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


def transfer(cfg: DictConfig) -> dict[str, Any]:
    from acdc_bench.transfer.job import run_transfer

    out = Path(HydraConfig.get().runtime.output_dir)
    summary = run_transfer(cfg, out)
    sys.stdout.write(f"{out / 'summary.json'}\n")
    sys.stdout.flush()
    return summary
