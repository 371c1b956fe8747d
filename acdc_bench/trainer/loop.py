"""The method-agnostic training loop: the FFCV-style recipe around a ``SparsityMethod``.

The loop never asks which method it runs: it calls the method's hooks around each step
(:func:`~acdc_bench.trainer.step.train_step`) and epoch, evaluates, logs one row per
epoch, writes the files the method hands back and checkpoints atomically. Run state,
failure guards and console output live in their own modules next to this one.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn

from acdc_bench import checkpoint as ckpt_io
from acdc_bench import provenance
from acdc_bench.config import config_hash
from acdc_bench.distributed import (
    DistInfo,
    all_gather_rows,
    all_reduce_sum,
    broadcast_object,
    init_distributed,
    shutdown,
)
from acdc_bench.errors import RunFailed
from acdc_bench.loggers import MetricsLogger
from acdc_bench.objectives import build_objective
from acdc_bench.recipes.base import param_groups  # noqa: F401  (re-exported as acdc_bench.trainer.param_groups)
from acdc_bench.settings import RunSettings
from acdc_bench.trainer.console import Console, table_row
from acdc_bench.trainer.device import channels_last, device_kind, select_device, tune_backends
from acdc_bench.trainer.guards import NAN_CHECK_EVERY, MaskAgreement, NonFiniteLoss
from acdc_bench.trainer.preemption import Preemption
from acdc_bench.trainer.run_state import (
    Checkpoints,
    Parts,
    checkpoint_state,
    kept_epoch_state,
    seed_everything,
    set_rng_state,
)
from acdc_bench.trainer.step import train_step


class Trainer:
    """One run in ``run_dir``: set up (or resume), train ``epochs`` epochs, write the summary.
    Settings are read once (:class:`~acdc_bench.settings.RunSettings`, handed down by the task
    or read here); everything method-specific goes
    through the method's hooks, so adding a method never touches this class."""

    def __init__(self, cfg: DictConfig, run_dir: Path, settings: RunSettings | None = None):
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.run_settings = RunSettings.read(cfg) if settings is None else settings
        self.settings = self.run_settings.trainer
        self.data_settings = self.run_settings.data
        self.torch_threads = torch.get_num_threads()

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        cfg, s = self.cfg, self.settings
        self.dist: DistInfo = init_distributed(device_kind(s.device))
        self.device = select_device(s.device, self.dist.local_rank, self.dist.world_size)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        tune_backends(self.device, s.deterministic)
        self.console = Console(self.dist.is_main, s.progress)
        # Hydra makes a run directory on every rank; rank 0's is the run's (a ${now:...} in
        # hydra.run.dir could differ by a second between ranks).
        self.run_dir = Path(broadcast_object(str(self.run_dir)))
        self.checkpoints = Checkpoints(self.run_dir, self.dist, s.checkpoint_every_minutes, self.console.log)
        self.preemption = Preemption(self.dist, self.device, self.console.log)  # SLURM's signals
        if s.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.backends.cudnn.benchmark = False
            torch.use_deterministic_algorithms(True, warn_only=True)
        seed_everything(s.seed)
        # A checkpoint to resume from, checked against this config before anything is built.
        self.resume_from = self.checkpoints.find(self._config_container(), s.epochs)
        # Which code trained it so far (provenance.py): refused or warned when other code made it.
        self.env = provenance.environment()
        if self.resume_from is not None:
            provenance.check_resume_code(self.resume_from[0], f"run directory {self.run_dir}",
                                         s.resume_code_change, self.console.log)
        self.trained_by = provenance.trained_by(None if self.resume_from is None else self.resume_from[0])

        from acdc_bench.data import build_data

        self.data = build_data(cfg, self.device, self.dist.rank, self.dist.world_size,
                               settings=self.data_settings)
        for rel, text in self.data.artefacts.items():  # what the data layer records (corrupted labels)
            if self.dist.is_main:
                ckpt_io.atomic_write_text(text, self.run_dir / rel)
        # Data libraries (FFCV) may lower torch's thread count on import: train with ours.
        torch.set_num_threads(self.torch_threads)

        from acdc_bench.metrics.training_flops import run_training_flops
        from acdc_bench.sparsity.masks import prunable_layers
        from acdc_bench.trainer.build import build

        self.channels_last = s.channels_last and self.device.type == "cuda"
        self.epochs = s.epochs
        self.steps_per_epoch = len(self.data.train)
        self.total_steps = self.epochs * self.steps_per_epoch
        # Seed, model (the method's prepare_model before the optimizer sees it), the recipe
        # (optimizer, LR per step, trainable parameters per epoch, early stopping), the method.
        built = build(cfg, self.run_settings, self.steps_per_epoch, device=self.device,
                      num_classes=self.data.num_classes, in_chans=self.data.in_chans,
                      channels_last=self.channels_last, optimizer=True, run_dir=self.run_dir,
                      is_main=self.dist.is_main)
        self.model = model = built.model
        self.recipe, self.optimizer, self.method = built.recipe, built.optimizer, built.method
        # training FLOPs: a pure function of the method's schedule, counted before any step
        self.training_flops = run_training_flops(model, prunable_layers(model), self.epochs,
                                                 self.method.training_steps, self.train_res,
                                                 self.data.in_chans, self.data_settings.batch_size)
        self.objective = build_objective(cfg)
        self.amp = s.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.parts = Parts(self.model, self.optimizer, self.scaler, self.method)
        self.ddp_model: nn.Module = model
        if self.dist.world_size > 1:
            self.ddp_model = nn.parallel.DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=self.method.ddp_find_unused_parameters
                or self.recipe.ddp_find_unused_parameters,
            )
        self.masks = MaskAgreement(self.method, self.dist, s.debug_mask_mismatch_rank)
        self.history: list[dict[str, Any]] = []
        self.start_epoch, self.start_batch, self.elapsed_before = 0, 0, 0.0
        self.partial_sums: Tensor | None = None  # a mid-epoch checkpoint's loss/CE/sample sums
        self.partial_time = 0.0
        self.rng_to_restore: dict[str, Any] | None = None
        self.config_hash = config_hash(cfg)

    def _config_container(self) -> dict[str, Any]:
        container = OmegaConf.to_container(self.cfg, resolve=True)
        container.pop("hydra", None)
        return container

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, epoch: int, elapsed: float, partial: dict[str, Any] | None = None) -> None:
        state = checkpoint_state(
            self.parts, epoch=epoch, partial=partial, steps_per_epoch=self.steps_per_epoch,
            world_size=self.dist.world_size, history=self.history, elapsed=elapsed,
            config_hash=self.config_hash, config=self._config_container())
        self.checkpoints.save({**state, **self.trained_by})  # the code versions and commits that trained it

    def maybe_resume(self) -> None:
        if self.resume_from is None:
            return
        state, path = self.resume_from[:2]
        self.resume_from = None
        point = self.checkpoints.restore(state, path, self.parts, self.steps_per_epoch, self.device)
        self.rng_to_restore = point.rng
        self.history = point.history
        self.elapsed_before = point.elapsed_before
        self.start_epoch, self.start_batch = point.start_epoch, point.start_batch
        self.partial_time, self.partial_sums = point.partial_time, point.partial_sums
        self.masks.checks = point.mask_checks

    def write_artefacts(self) -> None:
        """The files the method handed back (e.g. a co-trained dense model, sub-nets), written
        atomically by rank 0 under the run directory; every rank takes them, so none piles up."""
        for rel, state in self.method.take_artefacts().items():
            if self.dist.is_main:
                ckpt_io.atomic_save(state, self.run_dir / rel)

    # ------------------------------------------------------------------ loop
    def _elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t_start

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()

    def _loss_fn(self, step: int):
        """The objective's loss; at the test-only ``debug.nan_at_step`` the loss is poisoned."""
        if step != self.settings.debug_nan_at_step:
            return self.objective.loss

        def poisoned(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
            loss, ce = self.objective.loss(logits, labels)
            return loss * float("nan"), ce

        return poisoned

    def train_epoch(self, epoch: int, t0: float) -> dict[str, Any]:
        res = self.train_res(epoch)
        self.recipe.on_epoch_start(epoch)  # the epoch's trainable parameters (also on a mid-epoch resume)
        self.data.train.set_epoch(epoch, res)
        start = self.start_batch if epoch == self.start_epoch else 0
        if start:
            # Mid-epoch resume: on_epoch_start ran before the checkpoint and its effects are in
            # the method's state; the loader skips the batches already trained on.
            self.data.train.skip(start)
            loss_sum, ce_sum, seen = (s.clone() for s in self.partial_sums)
        else:
            self.method.on_epoch_start(epoch)
            self.masks.check(f"the start of epoch {epoch}")
            loss_sum = torch.zeros((), device=self.device)
            ce_sum = torch.zeros((), device=self.device)
            seen = torch.zeros((), device=self.device)
        self.ddp_model.train()
        nonfinite = NonFiniteLoss(self.device)  # the epoch's first non-finite loss, on the device
        lr = 0.0
        autocast = self._autocast()
        batches = self.console.progress(self.data.train, self.steps_per_epoch, epoch, start)
        for i, (x, y) in enumerate(batches, start=start):
            step = epoch * self.steps_per_epoch + i
            lr = self.recipe.lr(step)
            if self.channels_last:
                x = channels_last(x)
            loss, ce = train_step(self.ddp_model, x, y, step=step, optimizer=self.optimizer,
                                  method=self.method, loss_fn=self._loss_fn(step), lr=lr, scaler=self.scaler,
                                  autocast=autocast)
            n = y.shape[0]
            nonfinite.record(step, loss)
            loss_sum += loss * n
            ce_sum += ce * n
            seen += n
            self.masks.check(f"step {step} (epoch {epoch})")
            if (i + 1) % NAN_CHECK_EVERY == 0:
                nonfinite.raise_if_seen(epoch, self.steps_per_epoch, self.checkpoints.kept())
            preempted = self.preemption.requested(i, self.steps_per_epoch)
            if preempted or self.checkpoints.mid_epoch_due(i, self.steps_per_epoch):
                nonfinite.raise_if_seen(epoch, self.steps_per_epoch, self.checkpoints.kept())
                partial = {"batch": i + 1, "epoch_time_s": time.perf_counter() - t0,
                           "mask_checks": self.masks.checks,
                           "sums": all_gather_rows(torch.stack([loss_sum, ce_sum, seen])).cpu()}
                self.save_checkpoint(epoch, self._elapsed(), partial)
                self.preemption.hand_over(preempted, f"epoch {epoch} before batch {i + 1}")
        nonfinite.raise_if_seen(epoch, self.steps_per_epoch, self.checkpoints.kept())
        totals = all_reduce_sum(torch.stack([loss_sum, ce_sum, seen]))
        train_loss, train_ce, count = totals.tolist()
        return {"lr": lr, "train_res": res, "train_loss": train_loss / count, "train_ce": train_ce / count}

    def train_res(self, epoch: int) -> int:
        return self.data_settings.train_res(epoch, self.epochs)

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """The objective's evaluation metrics (classification: top-1/5, CE, entropy) on the eval split."""
        self.model.eval()
        self.data.val.set_epoch(0, self.data_settings.eval_res)
        sums = torch.zeros(len(self.objective.sum_names), device=self.device, dtype=torch.float64)
        count = torch.zeros((), device=self.device, dtype=torch.float64)
        autocast = self._autocast()
        for x, y in self.data.val:
            if self.channels_last:
                x = channels_last(x)
            with autocast:
                logits = self.model(x)
            sums += self.objective.eval_sums(logits, y)
            count += y.shape[0]
        *totals, n = all_reduce_sum(torch.cat([sums, count.view(1)])).tolist()
        return self.objective.finalize(totals, n)

    def run(self) -> dict[str, Any]:
        self.setup()
        self.maybe_resume()
        logger = MetricsLogger(self.run_dir, self.cfg, self.history, enabled=self.dist.is_main)
        self.method.on_train_start(self.optimizer)
        if self.rng_to_restore is not None:
            # After on_train_start: whatever a method draws there was drawn before the checkpoint.
            set_rng_state(self.rng_to_restore)
        self.t_start = time.perf_counter()
        self.checkpoints.last_time = time.monotonic()
        if self.start_epoch >= self.epochs:
            self.console.log(f"run already finished ({self.epochs} epochs); rewriting summary.json")
        else:
            self.trained_by = provenance.add_training(self.trained_by, self.env)
            params = sum(p.numel() for p in self.model.parameters())
            self.console.start(self.cfg, self.data_settings.name, params, self.epochs, self.steps_per_epoch,
                               self.device.type, self.torch_threads, self.dist.world_size, self.run_dir)
        try:
            self.masks.check("the start of training", force=True)
            for epoch in range(self.start_epoch, self.epochs):
                if self.recipe.should_stop(self.history):  # early stopping (also when resuming)
                    self.console.log(f"early stopping before epoch {epoch}: no better "
                                     f"{self.recipe.early_stopping.metric} for "
                                     f"{self.recipe.early_stopping.patience} epochs")
                    break
                t0 = time.perf_counter() - (self.partial_time if epoch == self.start_epoch else 0.0)
                row: dict[str, Any] = {"epoch": epoch}
                row.update(self.method.schedule(epoch))
                row.update(self.recipe.epoch_row(epoch))
                row.update(self.train_epoch(epoch, t0))
                row.update(self.evaluate())
                for probe in self.data.probes:  # the data layer's per-epoch measurements
                    row.update(probe.measure(self.model))
                row.update(self.method.on_epoch_end(epoch, self.evaluate))
                row.update(self.training_flops.row(epoch))  # cumulative, from the schedule
                self.write_artefacts()
                row.update(self.masks.epoch_row(epoch))
                row["epoch_time_s"] = time.perf_counter() - t0
                self.history.append(row)
                if epoch in self.settings.keep_epochs:  # checkpoint.keep_epochs, before last.pt moves on
                    self.checkpoints.keep(kept_epoch_state(self.parts, epoch=epoch,
                                                           config=self._config_container()))
                self.save_checkpoint(epoch, self._elapsed())
                logger.log(row)
                self.console.print(table_row(row))
                self.preemption.after_epoch(epoch, self.epochs)
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
            # who trained it (a finished run skipped on a rerun keeps its own), and with what
            "git_commit": (self.trained_by["git_commits"] or [self.env["git_commit"]])[-1],
            "code_version": (self.trained_by["code_versions"] or [self.env["code_version"]])[-1],
            **self.trained_by,
            "torch_version": self.env["torch_version"],
            "python_version": self.env["python_version"],
            "method": self.cfg.method.name,
        }
        if self.history:  # the training FLOPs of the epochs run (early stopping may end sooner)
            summary.update(self.training_flops.summary(int(self.history[-1]["epoch"])))
        if error:
            summary["error"] = error
        else:
            summary.update(self.method.on_train_end())
            summary.update(self.recipe.summary(self.history))
            self.write_artefacts()
        path = self.run_dir / "summary.json"
        if self.dist.is_main:
            ckpt_io.atomic_write_text(json.dumps(summary, indent=2) + "\n", path)
        if self.dist.is_main and not error:
            self.console.finish(summary, self.method.summary_line(summary), elapsed, path)
        return summary
