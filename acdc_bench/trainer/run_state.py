"""A run directory's state: what a checkpoint holds, saving it, finding it and resuming from it.

A checkpoint is data, not code: tensors and plain Python types only (the RNG states
too), so that it loads with ``torch.load(weights_only=True)`` (:mod:`acdc_bench.checkpoint`).
Resuming restores everything that shapes the rest of the run, so that a resumed run is
bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from acdc_bench import checkpoint as ckpt_io
from acdc_bench.config import check_resume_config
from acdc_bench.distributed import DistInfo, barrier, broadcast_object
from acdc_bench.errors import ConfigError, RunFailed
from acdc_bench.sparsity.base import SparsityMethod
from acdc_bench.sparsity.masks import MaskSet, prunable_layers

DDP_CKPT_POLL_EVERY = 16  # steps between rank 0's "time for a mid-epoch checkpoint?" broadcasts
Log = Callable[[str], None]


# ---------------------------------------------------------------------------- random states
def rng_state() -> dict[str, Any]:
    """Every generator's state as tensors and plain types (numpy's and Python's tuples as
    lists and a dict), so that a checkpoint never needs an unpickler that runs code."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": int(version), "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        # One state per GPU seen at save time; a resume may see fewer (or more) GPUs.
        for index, gpu_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(gpu_state, index)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# ---------------------------------------------------------------------------- the checkpoint
@dataclass
class Parts:
    """What training changes, i.e. what a checkpoint saves and a resume restores."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    method: SparsityMethod


def checkpoint_state(parts: Parts, *, epoch: int, partial: dict[str, Any] | None, steps_per_epoch: int,
                     world_size: int, history: list[dict[str, Any]], elapsed: float, config_hash: str,
                     config: dict[str, Any]) -> dict[str, Any]:
    """Everything that shapes the rest of the run. ``partial`` is None when ``epoch`` is
    finished; a mid-epoch checkpoint holds the next batch and the epoch's running sums."""
    step = epoch * steps_per_epoch + (steps_per_epoch if partial is None else partial["batch"])
    return {
        "epoch": epoch,
        "partial": partial,
        "step": step,
        "steps_per_epoch": steps_per_epoch,
        "world_size": world_size,
        "model": parts.model.state_dict(),
        "optimizer": parts.optimizer.state_dict(),
        "scaler": parts.scaler.state_dict(),
        "method": parts.method.state_dict(),
        "history": list(history),
        "rng": rng_state(),
        "elapsed_s": elapsed,
        "config_hash": config_hash,
        "config": config,
    }


def named_masks(model: torch.nn.Module, method: SparsityMethod) -> dict[str, torch.Tensor]:
    """Every prunable weight's mask by parameter name (True = free coordinate), on the CPU:
    the method's own :class:`MaskSet` when it has one, else the weight's non-zero pattern
    (dense training; methods holding several mask sets, whose weights carry the union)."""
    masks = getattr(method, "masks", None)
    if isinstance(masks, MaskSet):
        pairs = [(layer.name, m) for layer, m in zip(masks.layers, masks.masks, strict=True)]
    else:
        pairs = [(layer.name, layer.weight != 0) for layer in prunable_layers(model)]
    return {(f"{name}.weight" if name else "weight"): m.detach().to("cpu", copy=True).contiguous()
            for name, m in pairs}


def kept_epoch_state(parts: Parts, *, epoch: int, config: dict[str, Any]) -> dict[str, Any]:
    """``checkpoints/epoch_<e>.pt``: what an analysis needs of a past epoch (weights, masks,
    config), not what a resume needs (no optimizer, RNG or method state). On disk about
    4 bytes per parameter + 1 byte per prunable weight (ResNet-50: ~125 MB)."""
    return {"kind": "epoch", "epoch": epoch, "model": parts.model.state_dict(),
            "masks": named_masks(parts.model, parts.method), "config": config}


@dataclass
class ResumePoint:
    """Where a resumed run continues, and the loop state a checkpoint carried."""

    start_epoch: int
    start_batch: int
    history: list[dict[str, Any]]
    elapsed_before: float
    rng: dict[str, Any]
    desc: str
    partial_time: float = 0.0
    mask_checks: int = 0
    partial_sums: torch.Tensor | None = None  # this rank's loss/CE/sample sums of the epoch so far


class Checkpoints:
    """``checkpoints/`` of a run directory: rank 0 writes, every rank reads."""

    def __init__(self, run_dir: Path, dist: DistInfo, every_minutes: float, log: Log):
        self.run_dir, self.dist, self.log = run_dir, dist, log
        self.dir = run_dir / "checkpoints"
        self.every_s = 60.0 * every_minutes
        self.last_time = time.monotonic()
        self.last_desc: str | None = None  # what the newest checkpoint on disk holds, for messages

    def kept(self) -> str:
        """Which checkpoint survives a failure (for its message)."""
        if self.last_desc:
            return f"the last good checkpoint ({self.dir / ckpt_io.LAST}, {self.last_desc}) is kept"
        return "no checkpoint had been written yet"

    def find(self, config: dict[str, Any], epochs: int) -> tuple[dict[str, Any], Path, list[Path]] | None:
        """The newest readable checkpoint (state, path, unusable newer files), refused if it was
        made with another config; None: nothing to resume."""
        if not self.dir.is_dir():
            return None
        if self.dist.is_main:
            ckpt_io.remove_stale_temporaries(self.dir)
        found = ckpt_io.load_latest(self.dir, self.log)
        if found is None:
            return None
        state, _, bad = found
        check_resume_config(state["config"], config, f"run directory {self.run_dir}", self.log)
        barrier()  # every rank has read its checkpoint before rank 0 renames the unusable ones
        if self.dist.is_main:
            ckpt_io.set_aside(bad, self.log)
        done = len(state["history"])
        if epochs < done:
            raise ConfigError("epochs", epochs,
                              f"at least {done}: {self.run_dir} already holds {done} finished epochs")
        return found

    def save(self, state: dict[str, Any]) -> None:
        """Rank 0 writes; every rank learns whether it worked, so that none waits forever."""
        error = None
        if self.dist.is_main:
            try:
                ckpt_io.save_rotating(state, self.dir)
            except OSError as err:
                error = (f"could not write a checkpoint to {self.dir} ({err.strerror or err}); "
                         f"the previous one there is intact")
        error = broadcast_object(error)
        if error:
            raise RunFailed(error)
        self.last_time = time.monotonic()
        partial = state["partial"]
        self.last_desc = (f"after epoch {state['epoch']}" if partial is None
                          else f"epoch {state['epoch']} before batch {partial['batch']}")

    def keep(self, state: dict[str, Any]) -> None:
        """Write ``epoch_<e>.pt`` (``checkpoint.keep_epochs``) atomically, before ``last.pt``
        moves past the epoch: a kill in between redoes the epoch and rewrites the same file."""
        error, path = None, self.dir / f"epoch_{state['epoch']}.pt"
        if self.dist.is_main:
            try:
                ckpt_io.atomic_save(state, path)
            except OSError as err:
                error = f"could not write {path} ({err.strerror or err}); the other checkpoints are intact"
        error = broadcast_object(error)
        if error:
            raise RunFailed(error)

    def mid_epoch_due(self, batch: int, steps_per_epoch: int) -> bool:
        """Time for a step-level checkpoint (``checkpoint.every_minutes``)? All ranks agree:
        under DDP rank 0 decides every few steps and tells the others."""
        if self.every_s <= 0 or batch + 1 >= steps_per_epoch:
            return False
        if self.dist.world_size == 1:
            return time.monotonic() - self.last_time >= self.every_s
        if (batch + 1) % DDP_CKPT_POLL_EVERY:
            return False
        due = self.dist.is_main and time.monotonic() - self.last_time >= self.every_s
        return bool(broadcast_object(due))

    def restore(self, state: dict[str, Any], path: Path, parts: Parts, steps_per_epoch: int,
                device: torch.device) -> ResumePoint:
        """Load ``state`` into ``parts``; where and with what the loop continues."""
        dist = self.dist
        partial, epoch = state["partial"], int(state["epoch"])
        if partial is not None and int(state["steps_per_epoch"]) != steps_per_epoch:
            raise ConfigError(
                "world size", dist.world_size,
                f"one giving {state['steps_per_epoch']} steps per epoch, as when {path} was written "
                f"mid-epoch (world size {state['world_size']})",
            )
        parts.model.load_state_dict(state["model"])
        parts.optimizer.load_state_dict(state["optimizer"])
        if state["scaler"] or not parts.scaler.is_enabled():
            parts.scaler.load_state_dict(state["scaler"])
        else:  # written without mixed precision (a CPU run resumed on a GPU): a fresh loss scale
            self.log(f"note: {path} holds no loss scale (written without mixed precision); starting "
                     f"from the initial one")
        parts.method.load_state_dict(state["method"])
        common = {"history": list(state["history"]), "elapsed_before": float(state["elapsed_s"]),
                  "rng": state["rng"]}
        if partial is None:
            point = ResumePoint(start_epoch=epoch + 1, start_batch=0, desc=f"after epoch {epoch}", **common)
            self.log(f"resuming from {path} after epoch {epoch}")
        else:
            batch = int(partial["batch"])
            sums = partial["sums"]  # world_size x 3, one row per rank
            if sums.shape[0] == dist.world_size:
                mine = sums[dist.rank]
            else:  # another world size: rank 0 carries the whole partial sums
                mine = sums.sum(0) if dist.is_main else torch.zeros_like(sums[0])
            point = ResumePoint(start_epoch=epoch, start_batch=batch,
                                desc=f"epoch {epoch} before batch {batch}",
                                partial_time=float(partial["epoch_time_s"]),
                                mask_checks=int(partial["mask_checks"]), partial_sums=mine.to(device),
                                **common)
            self.log(f"resuming from {path} in epoch {epoch} at batch {batch} of {steps_per_epoch}")
        self.last_desc = point.desc
        if int(state["world_size"]) != dist.world_size:
            self.log(f"note: {path} was written with world size {state['world_size']}, now "
                     f"{dist.world_size}: each rank's share of the batches differs from then on")
        return point
