"""Where metrics go: ``metrics.jsonl`` always, Weights & Biases when ``logger=wandb``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf


class MetricsLogger:
    """One JSON object per epoch in ``metrics.jsonl``, flushed and fsynced every epoch."""

    def __init__(self, run_dir: Path, cfg: DictConfig, rows: list[dict[str, Any]], enabled: bool = True):
        self.path = run_dir / "metrics.jsonl"
        self.enabled = enabled
        self.wandb = None
        if not enabled:
            return
        # Rewrite the file from the checkpoint's history: a resumed run never keeps rows
        # of epochs that the checkpoint does not contain.
        from acdc_bench.checkpoint import atomic_write_text

        atomic_write_text("".join(json.dumps(r) + "\n" for r in rows), self.path)
        self._file = open(self.path, "a")
        if cfg.logger.name == "wandb":
            self.wandb = _init_wandb(cfg, run_dir)

    def log(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        if self.wandb is not None:
            flat = {k: v for k, v in row.items() if isinstance(v, (int, float)) and v is not None}
            self.wandb.log(flat, step=row["epoch"])

    def summary(self, summary: dict[str, Any]) -> None:
        if self.wandb is not None:
            final = summary.get("final", {})
            for k, v in final.items():
                if isinstance(v, (int, float)):
                    self.wandb.summary[f"final/{k}"] = v

    def close(self, failed: bool = False) -> None:
        if not self.enabled:
            return
        self._file.close()
        if self.wandb is not None:
            self.wandb.finish(exit_code=1 if failed else 0)


def _init_wandb(cfg: DictConfig, run_dir: Path):
    """Offline unless the user asks for online, so that a run never waits on the network;
    an online start that fails (no network, no API key) continues offline."""
    import wandb

    mode = cfg.logger.mode
    os.environ.setdefault("WANDB_SILENT", "true")

    def start(mode: str):
        os.environ["WANDB_MODE"] = mode
        return wandb.init(
            project=cfg.logger.project,
            entity=cfg.logger.get("entity"),
            name=cfg.logger.get("run_name"),
            dir=str(run_dir),
            mode=mode,
            config=OmegaConf.to_container(cfg, resolve=True),
            settings=wandb.Settings(init_timeout=15, silent=True),
            reinit="finish_previous",
        )

    sync = f"wandb sync {run_dir / 'wandb'}/offline-run-*"
    if mode == "online":
        try:
            return start("online")
        except Exception as err:  # wandb raises many kinds (CommError, UsageError, timeouts)
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            print(f"[acdc-bench] wandb could not start online ({first}); logging offline instead",
                  file=sys.stderr, flush=True)
            mode = "offline"
    if mode == "offline":
        print(f"[acdc-bench] wandb runs offline; upload later with: {sync}", file=sys.stderr, flush=True)
    return start(mode)
