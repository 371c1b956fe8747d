"""The method-agnostic training loop: the FFCV-style recipe around a ``SparsityMethod``.

The loop never asks which method it runs; it calls the method's hooks around each
step and epoch, evaluates, logs one row per epoch and checkpoints atomically.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from acdc_bench import checkpoint as ckpt_io
from acdc_bench.config import config_hash
from acdc_bench.distributed import DistInfo, all_reduce_sum, init_distributed, shutdown
from acdc_bench.objectives import build_objective
from acdc_bench.schedules import lr_at_step, resolution_at_epoch

TABLE_COLUMNS = [  # key, format: one console row per epoch
    ("epoch", "d"), ("phase", "s"), ("lr", ".4f"), ("train_res", "d"), ("train_loss", ".4f"),
    ("val_top1", ".4f"), ("val_loss", ".4f"), ("val_entropy", ".4f"), ("sparsity", ".4f"),
    ("epoch_time_s", ".1f"),
]


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on weights only: not on biases and normalisation parameters (1-D tensors)."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True,
            timeout=5,
        )
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _cell(value: Any, fmt: str, width: int) -> str:
    text = "-" if value is None else format(value, fmt) if not isinstance(value, str) else value
    return f"{text:>{width}}"


class Trainer:
    def __init__(self, cfg: DictConfig, run_dir: Path):
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.torch_threads = torch.get_num_threads()

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        cfg = self.cfg
        self.device = select_device(cfg.device)
        self.dist: DistInfo = init_distributed(self.device.type)
        if self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(self.device)
        if cfg.trainer.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        seed_everything(int(cfg.seed))

        from acdc_bench.data import build_data

        self.data = build_data(cfg, self.device, self.dist.rank, self.dist.world_size)
        # Data libraries (FFCV) may lower torch's thread count on import: train with ours.
        torch.set_num_threads(self.torch_threads)

        from acdc_bench.models import create_model

        seed_everything(int(cfg.seed))
        model = create_model(cfg.model, self.data.num_classes, self.data.in_chans).to(self.device)
        self.channels_last = bool(cfg.trainer.channels_last) and self.device.type == "cuda"
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.epochs = int(cfg.epochs)
        self.steps_per_epoch = len(self.data.train)
        self.total_steps = self.epochs * self.steps_per_epoch

        o = cfg.optim
        self.optimizer = torch.optim.SGD(
            param_groups(model, float(o.weight_decay)), lr=float(o.lr), momentum=float(o.momentum),
            nesterov=bool(o.nesterov),
        )
        from acdc_bench.sparsity.methods import method_class

        self.method = method_class(cfg.method.name)(
            cfg, model, self.epochs, self.steps_per_epoch, run_dir=self.run_dir, is_main=self.dist.is_main,
            device=self.device, eval_res=int(cfg.dataset.eval_res),
        )
        self.objective = build_objective(cfg)
        self.amp = bool(cfg.trainer.amp) and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.ddp_model: nn.Module = model
        if self.dist.world_size > 1:
            self.ddp_model = nn.parallel.DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.history: list[dict[str, Any]] = []
        self.start_epoch, self.elapsed_before = 0, 0.0
        self.config_hash = config_hash(cfg)

    # ------------------------------------------------------------------ checkpoints
    def _state(self, epoch: int, elapsed: float) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "step": (epoch + 1) * self.steps_per_epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "method": self.method.state_dict(),
            "history": list(self.history),
            "rng": rng_state(),
            "elapsed_s": elapsed,
            "config_hash": self.config_hash,
            "config": OmegaConf.to_container(self.cfg, resolve=True),
        }

    def save_checkpoint(self, epoch: int, elapsed: float) -> None:
        if self.dist.is_main:
            ckpt_io.atomic_save(self._state(epoch, elapsed), self.ckpt_dir / "last.pt")

    def maybe_resume(self) -> None:
        path = self.ckpt_dir / "last.pt"
        if not path.exists():
            return
        state = ckpt_io.load(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.method.load_state_dict(state["method"])
        set_rng_state(state["rng"])
        self.history = list(state["history"])
        self.start_epoch = int(state["epoch"]) + 1
        self.elapsed_before = float(state["elapsed_s"])
        self._log(f"resuming from {path} after epoch {state['epoch']}")

    # ------------------------------------------------------------------ loop
    def _log(self, msg: str) -> None:
        if self.dist.is_main:
            print(f"[acdc-bench] {msg}", file=sys.stderr, flush=True)

    def _progress(self, iterable, epoch: int):
        mode = self.cfg.trainer.progress
        show = self.dist.is_main and (mode is True or (mode == "auto" and sys.stderr.isatty()))
        if not show:
            return iterable
        from tqdm import tqdm

        return tqdm(iterable, total=self.steps_per_epoch, desc=f"epoch {epoch}", leave=False, file=sys.stderr,
                    mininterval=0.5, unit="step")

    def train_epoch(self, epoch: int) -> dict[str, Any]:
        cfg = self.cfg
        o = cfg.optim
        res = self.train_res(epoch)
        self.data.train.set_epoch(epoch, res)
        self.method.on_epoch_start(epoch)
        self.ddp_model.train()
        loss_sum = torch.zeros((), device=self.device)
        ce_sum = torch.zeros((), device=self.device)
        seen = torch.zeros((), device=self.device)
        lr = 0.0
        autocast = torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()
        for i, (x, y) in enumerate(self._progress(self.data.train, epoch)):
            step = epoch * self.steps_per_epoch + i
            lr = lr_at_step(step, self.steps_per_epoch, self.epochs, float(o.lr), float(o.lr_peak_epoch),
                            float(o.lr_start_fraction))
            for g in self.optimizer.param_groups:
                g["lr"] = lr
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            self.method.before_forward(step)
            with autocast:
                logits = self.ddp_model(x)
            loss, ce = self.objective.loss(logits, y)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            self.method.after_backward(step)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.method.after_optimizer_step(step)
            n = y.shape[0]
            loss_sum += loss.detach() * n
            ce_sum += ce.detach() * n
            seen += n
        totals = all_reduce_sum(torch.stack([loss_sum, ce_sum, seen]))
        train_loss, train_ce, count = totals.tolist()
        return {"lr": lr, "train_res": res, "train_loss": train_loss / count, "train_ce": train_ce / count}

    def train_res(self, epoch: int) -> int:
        r = self.cfg.dataset.resolution
        return resolution_at_epoch(epoch, self.epochs, int(r.min_res), int(r.max_res), float(r.start_ramp),
                                   float(r.end_ramp))

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """The objective's evaluation metrics (classification: top-1/5, CE, entropy) on the eval split."""
        self.model.eval()
        self.data.val.set_epoch(0, int(self.cfg.dataset.eval_res))
        sums = torch.zeros(len(self.objective.sum_names), device=self.device, dtype=torch.float64)
        count = torch.zeros((), device=self.device, dtype=torch.float64)
        autocast = torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()
        for x, y in self.data.val:
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast:
                logits = self.model(x)
            sums += self.objective.eval_sums(logits, y)
            count += y.shape[0]
        *totals, n = all_reduce_sum(torch.cat([sums, count.view(1)])).tolist()
        return self.objective.finalize(totals, n)

    def run(self) -> dict[str, Any]:
        self.setup()
        self.maybe_resume()
        logger = None
        from acdc_bench.loggers import MetricsLogger

        logger = MetricsLogger(self.run_dir, self.cfg, self.history, enabled=self.dist.is_main)
        self.method.on_train_start(self.optimizer)
        t_start = time.perf_counter()
        if self.start_epoch >= self.epochs:
            self._log(f"run already finished ({self.epochs} epochs); rewriting summary.json")
        elif self.dist.is_main:
            print(self._table_header(), flush=True)
        for epoch in range(self.start_epoch, self.epochs):
            t0 = time.perf_counter()
            row: dict[str, Any] = {"epoch": epoch}
            row.update(self.method.schedule(epoch))
            row.update(self.train_epoch(epoch))
            row.update(self.evaluate())
            row.update(self.method.on_epoch_end(epoch, self.evaluate))
            row["epoch_time_s"] = time.perf_counter() - t0
            self.history.append(row)
            elapsed = self.elapsed_before + time.perf_counter() - t_start
            self.save_checkpoint(epoch, elapsed)
            logger.log(row)
            if self.dist.is_main:
                print(self._table_row(row), flush=True)
        elapsed = self.elapsed_before + time.perf_counter() - t_start
        summary = self.write_summary(elapsed)
        logger.summary(summary)
        logger.close()
        shutdown()
        return summary

    def write_summary(self, elapsed: float) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "status": "finished",
            "final": dict(self.history[-1]) if self.history else {},
            "epochs": self.epochs,
            "params_total": sum(p.numel() for p in self.model.parameters()),
            "elapsed_s": elapsed,
            "torch_threads": self.torch_threads,
            "world_size": self.dist.world_size,
            "device": self.device.type,
            "config_hash": self.config_hash,
            "git_commit": git_commit(),
            "method": self.cfg.method.name,
        }
        summary.update(self.method.on_train_end())
        if self.dist.is_main:
            ckpt_io.atomic_write_text(json.dumps(summary, indent=2) + "\n", self.run_dir / "summary.json")
            top1 = summary["final"].get("val_top1", float("nan"))
            self._log(f"finished {self.epochs} epochs in {elapsed:.1f}s: val_top1={top1:.4f} -> "
                      f"{self.run_dir / 'summary.json'}")
        return summary

    def _table_header(self) -> str:
        return " ".join(f"{key:>{max(len(key), 6)}}" for key, _ in TABLE_COLUMNS)

    def _table_row(self, row: dict[str, Any]) -> str:
        return " ".join(_cell(row.get(key), fmt, max(len(key), 6)) for key, fmt in TABLE_COLUMNS)
