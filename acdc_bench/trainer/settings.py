"""The trainer's settings (``optim.*``, ``trainer.*``, ``checkpoint.*``, the run's seed and
device), read and checked once into one typed object. Defaults live in ``conf/config.yaml``
and the dataset recipes, never here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from acdc_bench import validation as V


@dataclass(frozen=True)
class OptimSettings:
    """SGD with the FFCV recipe's LR schedule (linear warm-up to the peak, linear decay to 0)."""

    lr: float
    lr_peak_epoch: float
    lr_start_fraction: float
    momentum: float
    nesterov: bool
    weight_decay: float


@dataclass(frozen=True)
class TrainerSettings:
    epochs: int
    seed: int
    device: str
    optim: OptimSettings
    amp: bool
    channels_last: bool
    deterministic: bool
    progress: bool | str  # auto | true | false
    checkpoint_every_minutes: float  # 0: checkpoints at epoch ends only
    debug_nan_at_step: int | None  # test-only: poison this step's loss (docs/robustness.md)
    debug_mask_mismatch_rank: int | None  # test-only: fake a mask divergence on this rank

    @classmethod
    def read(cls, cfg: Any) -> TrainerSettings:
        optim = OptimSettings(
            lr=float(V.number(cfg, "optim.lr", 0, low_open=True)),
            lr_peak_epoch=float(V.number(cfg, "optim.lr_peak_epoch", 0)),
            lr_start_fraction=float(V.number(cfg, "optim.lr_start_fraction", 0, 1, high_open=False)),
            momentum=float(V.number(cfg, "optim.momentum", 0, 1)),
            nesterov=bool(V.boolean(cfg, "optim.nesterov")),
            weight_decay=float(V.number(cfg, "optim.weight_decay", 0)),
        )
        return cls(
            epochs=int(V.integer(cfg, "epochs")),
            seed=int(V.integer(cfg, "seed", low=0)),
            device=str(V.string(cfg, "device", "auto, cpu, cuda or cuda:<index>")),
            optim=optim,
            amp=bool(V.boolean(cfg, "trainer.amp")),
            channels_last=bool(V.boolean(cfg, "trainer.channels_last")),
            deterministic=bool(V.boolean(cfg, "trainer.deterministic")),
            progress=V.choice(cfg, "trainer.progress", ["auto", True, False]),
            checkpoint_every_minutes=float(V.number(cfg, "checkpoint.every_minutes", 0)),
            debug_nan_at_step=V.integer(cfg, "debug.nan_at_step", low=0, required=False),
            debug_mask_mismatch_rank=V.integer(cfg, "debug.mask_mismatch_rank", low=0, required=False),
        )
