"""The trainer's settings (``trainer.*``, ``checkpoint.*``, the run's epochs, seed and device),
read and checked once into one typed object, and :class:`RunSettings`: those with the data's
and the model's, what a task reads once when it starts (``config.validate``) and passes down.
Defaults live in ``conf/config.yaml`` and the dataset recipes, never here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import OmegaConf

from acdc_bench import validation as V
from acdc_bench.data.datasets import DataSettings
from acdc_bench.errors import ConfigError
from acdc_bench.models import ModelSettings


@dataclass(frozen=True)
class TrainerSettings:
    epochs: int
    seed: int
    device: str
    amp: bool
    channels_last: bool
    deterministic: bool
    progress: bool | str  # auto | true | false
    checkpoint_every_minutes: float  # 0: checkpoints at epoch ends only
    keep_epochs: frozenset[int]  # epochs whose weights and masks stay as checkpoints/epoch_<e>.pt
    resume_code_change: str  # refuse | allow: resuming a run trained by other training code (provenance.py)
    debug_nan_at_step: int | None  # test-only: poison this step's loss (docs/robustness.md)
    debug_mask_mismatch_rank: int | None  # test-only: fake a mask divergence on this rank

    @classmethod
    def read(cls, cfg: Any) -> TrainerSettings:
        return cls(
            epochs=int(V.integer(cfg, "epochs")),
            seed=int(V.integer(cfg, "seed", low=0)),
            device=read_device(cfg),
            amp=bool(V.boolean(cfg, "trainer.amp")),
            channels_last=bool(V.boolean(cfg, "trainer.channels_last")),
            deterministic=bool(V.boolean(cfg, "trainer.deterministic")),
            progress=V.choice(cfg, "trainer.progress", ["auto", True, False]),
            checkpoint_every_minutes=float(V.number(cfg, "checkpoint.every_minutes", 0)),
            keep_epochs=read_keep_epochs(cfg, int(V.integer(cfg, "epochs"))),
            resume_code_change=str(V.choice(cfg, "checkpoint.resume_code_change", ["refuse", "allow"],
                                            required=False) or "refuse"),
            debug_nan_at_step=V.integer(cfg, "debug.nan_at_step", low=0, required=False),
            debug_mask_mismatch_rank=V.integer(cfg, "debug.mask_mismatch_rank", low=0, required=False),
        )


@dataclass(frozen=True)
class RunSettings:
    """A run's settings as every task reads them once when it starts: the trainer's, the
    data's (``cfg.dataset``) and the model's (``cfg.model``). Methods and recipes read their
    own (``check_config``); nothing below the task reads ``cfg.dataset`` or ``cfg.model`` again."""

    trainer: TrainerSettings
    data: DataSettings
    model: ModelSettings

    @classmethod
    def read(cls, cfg: Any) -> RunSettings:
        return cls(TrainerSettings.read(cfg), DataSettings.read(cfg), ModelSettings.read(cfg))


def read_device(cfg: Any) -> str:
    """``device``: auto, cpu, cuda or cuda:<index> (a CUDA device only where one is visible)."""
    device = V.get(cfg, "device")
    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise ConfigError("device", device, "auto, cpu, cuda or cuda:<index>")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("device", device, "auto or cpu (no CUDA device is visible)")
    return device


def read_keep_epochs(cfg: Any, epochs: int) -> frozenset[int]:
    """``checkpoint.keep_epochs``: a list of 0-based epochs, or ``{every: N}`` (after every N
    finished epochs and the last one), so analyses can revisit a run's past (Fig. 7/10)."""
    value = V.get(cfg, "checkpoint.keep_epochs")
    field = "checkpoint.keep_epochs"
    allowed = f"a list of epochs in [0, {epochs - 1}] or {{every: N}} with N >= 1"
    if value is V.ABSENT or value is None:
        return frozenset()
    shown = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
    if isinstance(value, Mapping) or OmegaConf.is_dict(value):
        every = value.get("every") if set(value.keys()) == {"every"} else None
        if not V.is_int(every) or every < 1:
            raise ConfigError(field, shown, allowed)
        return frozenset(e for e in range(epochs) if (e + 1) % every == 0 or e == epochs - 1)
    items = list(value) if OmegaConf.is_list(value) or isinstance(value, list | tuple) else None
    if items is None or not all(V.is_int(e) and 0 <= e < epochs for e in items):
        raise ConfigError(field, shown, allowed)
    return frozenset(int(e) for e in items)
