"""The method-agnostic training loop: the FFCV-style recipe around a ``SparsityMethod``.

The loop never asks which method it runs; it calls the method's hooks around each
step and epoch, evaluates, logs one row per epoch and checkpoints atomically.
"""

from __future__ import annotations

import json
import os
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
from acdc_bench.config import ConfigError, RunFailed, check_resume_config, config_hash
from acdc_bench.distributed import (
    DistInfo,
    all_gather_object,
    all_gather_rows,
    all_reduce_min,
    all_reduce_sum,
    barrier,
    broadcast_object,
    init_distributed,
    shutdown,
)
from acdc_bench.objectives import build_objective
from acdc_bench.schedules import lr_at_step, resolution_at_epoch

TABLE_COLUMNS = [  # key, format: one console row per epoch
    ("epoch", "d"), ("phase", "s"), ("lr", ".4f"), ("train_res", "d"), ("train_loss", ".4f"),
    ("val_top1", ".4f"), ("val_loss", ".4f"), ("val_entropy", ".4f"), ("sparsity", ".4f"),
    ("epoch_time_s", ".1f"),
]
NAN_CHECK_EVERY = 50  # steps between host-side checks of the device-side non-finite-loss flag
DDP_CKPT_POLL_EVERY = 16  # steps between rank 0's "time for a mid-epoch checkpoint?" broadcasts
_NO_BAD_STEP = 2**62


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
        # Hydra makes a run directory on every rank; rank 0's is the run's (a ${now:...} in
        # hydra.run.dir could differ by a second between ranks).
        self.run_dir = Path(broadcast_object(str(self.run_dir)))
        self.ckpt_dir = self.run_dir / "checkpoints"
        if cfg.trainer.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.backends.cudnn.benchmark = False
            torch.use_deterministic_algorithms(True, warn_only=True)
        seed_everything(int(cfg.seed))
        # A checkpoint to resume from, checked against this config before anything is built.
        self.resume_from = self._find_checkpoint()  # (state, path, unusable newer files) or None

        from acdc_bench.data import build_data

        self.data = build_data(cfg, self.device, self.dist.rank, self.dist.world_size)
        # Data libraries (FFCV) may lower torch's thread count on import: train with ours.
        torch.set_num_threads(self.torch_threads)

        from acdc_bench.models import create_model
        from acdc_bench.sparsity.methods import method_class

        seed_everything(int(cfg.seed))
        model = create_model(cfg.model, self.data.num_classes, self.data.in_chans).to(self.device)
        model = method_class(cfg.method.name).prepare_model(cfg, model)  # before the optimizer sees it
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
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=self.method.ddp_find_unused_parameters,
            )
        self.history: list[dict[str, Any]] = []
        self.start_epoch, self.start_batch, self.elapsed_before = 0, 0, 0.0
        self.partial_sums: torch.Tensor | None = None  # a mid-epoch checkpoint's loss/CE/sample sums
        self.partial_time = 0.0
        self.rng_to_restore: dict[str, Any] | None = None
        self.config_hash = config_hash(cfg)
        self.ckpt_every_s = 60.0 * float(OmegaConf.select(cfg, "checkpoint.every_minutes", default=0) or 0)
        self.last_ckpt_time = time.monotonic()
        self.last_ckpt_desc: str | None = None  # what the newest checkpoint on disk holds, for messages
        self.mask_version_seen: int | None = None
        self.mask_checks, self.mask_checksums = 0, None
        debug = OmegaConf.select(cfg, "debug", default=None) or {}
        self.debug_nan_at_step = debug.get("nan_at_step")  # test-only: poison this step's loss
        self.debug_mask_mismatch_rank = debug.get("mask_mismatch_rank")  # test-only: fake a mask divergence

    # ------------------------------------------------------------------ checkpoints
    def _state(self, epoch: int, elapsed: float, partial: dict[str, Any] | None) -> dict[str, Any]:
        """Everything that shapes the rest of the run. ``partial`` is None when ``epoch`` is
        finished; a mid-epoch checkpoint holds the next batch and the epoch's running sums."""
        step = epoch * self.steps_per_epoch + (self.steps_per_epoch if partial is None else partial["batch"])
        return {
            "epoch": epoch,
            "partial": partial,
            "step": step,
            "steps_per_epoch": self.steps_per_epoch,
            "world_size": self.dist.world_size,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "method": self.method.state_dict(),
            "history": list(self.history),
            "rng": rng_state(),
            "elapsed_s": elapsed,
            "config_hash": self.config_hash,
            "config": self._config_container(),
        }

    def _config_container(self) -> dict[str, Any]:
        container = OmegaConf.to_container(self.cfg, resolve=True)
        container.pop("hydra", None)
        return container

    def save_checkpoint(self, epoch: int, elapsed: float, partial: dict[str, Any] | None = None) -> None:
        """Rank 0 writes; every rank learns whether it worked, so that none waits forever."""
        error = None
        if self.dist.is_main:
            try:
                ckpt_io.save_rotating(self._state(epoch, elapsed, partial), self.ckpt_dir)
            except OSError as err:
                error = (f"could not write a checkpoint to {self.ckpt_dir} ({err.strerror or err}); "
                         f"the previous one there is intact")
        error = broadcast_object(error)
        if error:
            raise RunFailed(error)
        self.last_ckpt_time = time.monotonic()
        self.last_ckpt_desc = (f"after epoch {epoch}" if partial is None
                               else f"epoch {epoch} before batch {partial['batch']}")

    def _find_checkpoint(self) -> tuple[dict[str, Any], Path, list[Path]] | None:
        """The newest readable checkpoint, refused if it was made with another config."""
        if not self.ckpt_dir.is_dir():
            return None
        if self.dist.is_main:
            ckpt_io.remove_stale_temporaries(self.ckpt_dir)
        found = ckpt_io.load_latest(self.ckpt_dir, self._log)
        if found is None:
            return None
        state, path, bad = found
        check_resume_config(state["config"], self._config_container(), f"run directory {self.run_dir}",
                            self._log)
        barrier()  # every rank has read its checkpoint before rank 0 renames the unusable ones
        if self.dist.is_main:
            ckpt_io.set_aside(bad, self._log)
        done = len(state["history"])
        if int(self.cfg.epochs) < done:
            raise ConfigError("epochs", int(self.cfg.epochs),
                              f"at least {done}: {self.run_dir} already holds {done} finished epochs")
        return found

    def maybe_resume(self) -> None:
        if self.resume_from is None:
            return
        state, path = self.resume_from[:2]
        self.resume_from = None
        partial, epoch = state["partial"], int(state["epoch"])
        if partial is not None and int(state["steps_per_epoch"]) != self.steps_per_epoch:
            raise ConfigError(
                "world size", self.dist.world_size,
                f"one giving {state['steps_per_epoch']} steps per epoch, as when {path} was written "
                f"mid-epoch (world size {state['world_size']})",
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.method.load_state_dict(state["method"])
        self.rng_to_restore = state["rng"]
        self.history = list(state["history"])
        self.elapsed_before = float(state["elapsed_s"])
        if partial is None:
            self.start_epoch = epoch + 1
            self.last_ckpt_desc = f"after epoch {epoch}"
            self._log(f"resuming from {path} after epoch {epoch}")
        else:
            self.start_epoch, self.start_batch = epoch, int(partial["batch"])
            self.partial_time = float(partial["epoch_time_s"])
            self.mask_checks = int(partial["mask_checks"])
            sums = partial["sums"]  # world_size x 3, one row per rank
            if sums.shape[0] == self.dist.world_size:
                mine = sums[self.dist.rank]
            else:  # another world size: rank 0 carries the whole partial sums
                mine = sums.sum(0) if self.dist.is_main else torch.zeros_like(sums[0])
            self.partial_sums = mine.to(self.device)
            self.last_ckpt_desc = f"epoch {epoch} before batch {self.start_batch}"
            self._log(f"resuming from {path} in epoch {epoch} at batch {self.start_batch} of "
                      f"{self.steps_per_epoch}")
        if int(state["world_size"]) != self.dist.world_size:
            self._log(f"note: {path} was written with world size {state['world_size']}, now "
                      f"{self.dist.world_size}: each rank's share of the batches differs from then on")

    def _mid_epoch_checkpoint_due(self, batch: int) -> bool:
        """Time for a step-level checkpoint (``checkpoint.every_minutes``)? All ranks agree:
        under DDP rank 0 decides every few steps and tells the others."""
        if self.ckpt_every_s <= 0 or batch + 1 >= self.steps_per_epoch:
            return False
        if self.dist.world_size == 1:
            return time.monotonic() - self.last_ckpt_time >= self.ckpt_every_s
        if (batch + 1) % DDP_CKPT_POLL_EVERY:
            return False
        due = self.dist.is_main and time.monotonic() - self.last_ckpt_time >= self.ckpt_every_s
        return bool(broadcast_object(due))

    # ------------------------------------------------------------------ failures
    def _raise_if_nonfinite(self, bad_step: torch.Tensor, bad_loss: torch.Tensor, epoch: int) -> None:
        """Stop at the first non-finite loss. The flag lives on the device and is read only
        every few steps and before any checkpoint, so no checkpoint holds a poisoned model."""
        first = int(all_reduce_min(bad_step.clone()).item())
        if first == _NO_BAD_STEP:
            return
        value = float(bad_loss.item()) if int(bad_step.item()) == first else float("nan")
        kept = (f"the last good checkpoint ({self.ckpt_dir / ckpt_io.LAST}, {self.last_ckpt_desc}) is kept"
                if self.last_ckpt_desc else "no checkpoint had been written yet")
        raise RunFailed(
            f"non-finite training loss ({value}) at epoch {epoch}, step {first} (batch "
            f"{first - epoch * self.steps_per_epoch} of {self.steps_per_epoch}); stopped; {kept}"
        )

    def _check_masks(self, where: str, force: bool = False) -> None:
        """After every mask change the ranks compare mask fingerprints. DDP averages the
        gradients, but each rank applies its own masks: masks that drift apart would train
        different models while the logs look normal. ``mask_checks`` in a row counts the
        mask changes compared during that epoch (``force``d comparisons are not counted)."""
        version = self.method.mask_version
        if version == self.mask_version_seen and not force:
            return
        changed = not force
        self.mask_version_seen = version
        checksum = self.method.mask_checksum()
        if checksum is None:  # no masks (dense): nothing to compare, on every rank alike
            return
        if self.debug_mask_mismatch_rank == self.dist.rank and self.dist.world_size > 1:
            checksum += 1
        per_rank = all_gather_object((int(version), int(checksum)))
        self.mask_checks += changed
        self.mask_checksums = [c for _, c in per_rank]
        if len(set(per_rank)) > 1:
            raise RunFailed(f"masks differ across ranks at {where}: (mask_version, mask_checksum) per rank = "
                            f"{per_rank}")

    def _mask_row(self, epoch: int) -> dict[str, Any]:
        """Per-rank mask checksums at the end of the epoch and how many comparisons it made."""
        self._check_masks(f"the end of epoch {epoch}", force=True)
        if self.mask_checksums is None:
            return {}
        row = {"mask_checksums": list(self.mask_checksums), "mask_checks": self.mask_checks}
        self.mask_checks = 0
        return row

    # ------------------------------------------------------------------ loop
    def _log(self, msg: str) -> None:
        if self.dist.is_main:
            print(f"[acdc-bench] {msg}", file=sys.stderr, flush=True)

    def _progress(self, iterable, epoch: int, initial: int = 0):
        mode = self.cfg.trainer.progress
        show = self.dist.is_main and (mode is True or (mode == "auto" and sys.stderr.isatty()))
        if not show:
            return iterable
        from tqdm import tqdm

        return tqdm(iterable, total=self.steps_per_epoch, initial=initial, desc=f"epoch {epoch}", leave=False,
                    file=sys.stderr, mininterval=0.5, unit="step")

    def _elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t_start

    def train_epoch(self, epoch: int, t0: float) -> dict[str, Any]:
        cfg = self.cfg
        o = cfg.optim
        res = self.train_res(epoch)
        self.data.train.set_epoch(epoch, res)
        start = self.start_batch if epoch == self.start_epoch else 0
        if start:
            # Mid-epoch resume: on_epoch_start ran before the checkpoint and its effects are in
            # the method's state; the loader skips the batches already trained on.
            self.data.train.skip(start)
            loss_sum, ce_sum, seen = (s.clone() for s in self.partial_sums)
        else:
            self.method.on_epoch_start(epoch)
            self._check_masks(f"the start of epoch {epoch}")
            loss_sum = torch.zeros((), device=self.device)
            ce_sum = torch.zeros((), device=self.device)
            seen = torch.zeros((), device=self.device)
        self.ddp_model.train()
        # The first non-finite loss of the epoch, kept on the device (no host sync per step).
        bad_step = torch.full((), _NO_BAD_STEP, dtype=torch.long, device=self.device)
        bad_loss = torch.zeros((), device=self.device)
        nan_at = self.debug_nan_at_step
        lr = 0.0
        autocast = torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()
        for i, (x, y) in enumerate(self._progress(self.data.train, epoch, start), start=start):
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
            if step == nan_at:  # test-only injection (+debug.nan_at_step=N)
                loss = loss * float("nan")
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            self.method.after_backward(step)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.method.after_optimizer_step(step)
            n = y.shape[0]
            detached = loss.detach()
            first = ~torch.isfinite(detached) & (bad_step == _NO_BAD_STEP)
            bad_step = torch.where(first, step, bad_step)
            bad_loss = torch.where(first, detached.float(), bad_loss)
            loss_sum += detached * n
            ce_sum += ce.detach() * n
            seen += n
            self._check_masks(f"step {step} (epoch {epoch})")
            if (i + 1) % NAN_CHECK_EVERY == 0:
                self._raise_if_nonfinite(bad_step, bad_loss, epoch)
            if self._mid_epoch_checkpoint_due(i):
                self._raise_if_nonfinite(bad_step, bad_loss, epoch)
                partial = {"batch": i + 1, "epoch_time_s": time.perf_counter() - t0,
                           "mask_checks": self.mask_checks,
                           "sums": all_gather_rows(torch.stack([loss_sum, ce_sum, seen])).cpu()}
                self.save_checkpoint(epoch, self._elapsed(), partial)
        self._raise_if_nonfinite(bad_step, bad_loss, epoch)
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
        if self.rng_to_restore is not None:
            # After on_train_start: whatever a method draws there was drawn before the checkpoint.
            set_rng_state(self.rng_to_restore)
        self.t_start = time.perf_counter()
        self.last_ckpt_time = time.monotonic()
        if self.start_epoch >= self.epochs:
            self._log(f"run already finished ({self.epochs} epochs); rewriting summary.json")
        elif self.dist.is_main:
            c = self.cfg
            params = sum(p.numel() for p in self.model.parameters())
            self._log(f"method={c.method.name} sparsity={c.sparsity} distribution={c.distribution.name} on "
                      f"{c.dataset.name}, {c.model.name} ({params:,} weights), {self.epochs} epochs of "
                      f"{self.steps_per_epoch} steps, {self.device.type}, {self.torch_threads} threads, "
                      f"world size {self.dist.world_size} -> {self.run_dir}")
            print(self._table_header(), flush=True)
        try:
            self._check_masks("the start of training", force=True)
            for epoch in range(self.start_epoch, self.epochs):
                t0 = time.perf_counter() - (self.partial_time if epoch == self.start_epoch else 0.0)
                row: dict[str, Any] = {"epoch": epoch}
                row.update(self.method.schedule(epoch))
                row.update(self.train_epoch(epoch, t0))
                row.update(self.evaluate())
                row.update(self.method.on_epoch_end(epoch, self.evaluate))
                row.update(self._mask_row(epoch))
                row["epoch_time_s"] = time.perf_counter() - t0
                self.history.append(row)
                self.save_checkpoint(epoch, self._elapsed())
                logger.log(row)
                if self.dist.is_main:
                    print(self._table_row(row), flush=True)
        except RunFailed as err:
            self.write_summary(self._elapsed(), error=str(err))
            logger.close(failed=True)
            shutdown()
            raise
        summary = self.write_summary(self._elapsed())
        logger.summary(summary)
        logger.close()
        shutdown()
        return summary

    def write_summary(self, elapsed: float, error: str | None = None) -> dict[str, Any]:
        """``summary.json``; a failed run says so (``status``, ``error``) and keeps the last good row."""
        summary: dict[str, Any] = {
            "status": "failed" if error else "finished",
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
        if error:
            summary["error"] = error
        else:
            summary.update(self.method.on_train_end())
        if self.dist.is_main:
            ckpt_io.atomic_write_text(json.dumps(summary, indent=2) + "\n", self.run_dir / "summary.json")
        if self.dist.is_main and not error:
            final = summary["final"]
            parts = [f"val_top1={final.get('val_top1', float('nan')):.4f}"]
            if final.get("sparsity") is not None:
                parts.append(f"sparsity={final['sparsity']:.4f}")
            if summary.get("inference_flops_fraction") is not None:
                parts.append(f"inference FLOPs {summary['inference_flops_fraction']:.3f} of dense")
            dense = summary.get("dense")  # a method's co-trained dense model (AC/DC)
            if isinstance(dense, dict) and dense.get("val_top1") is not None:
                parts.append(f"dense model (epoch {dense.get('epoch')}) val_top1={dense['val_top1']:.4f}")
            self._log(f"finished {self.epochs} epochs in {elapsed:.1f}s: {', '.join(parts)} -> "
                      f"{self.run_dir / 'summary.json'}")
        return summary

    def _table_header(self) -> str:
        return " ".join(f"{key:>{max(len(key), 6)}}" for key, _ in TABLE_COLUMNS)

    def _table_row(self, row: dict[str, Any]) -> str:
        return " ".join(_cell(row.get(key), fmt, max(len(key), 6)) for key, fmt in TABLE_COLUMNS)
