"""A finished (or half-finished) run as analyses see it: its config, a model with the weights
of one epoch, its masks and its data, all from the run directory.

Every analysis (sharpness, interpolation, channels, agreement, corruptions) goes through
:func:`load_run`, so a checkpoint is read one way: verified, as data
(``torch.load(weights_only=True)`` in :mod:`acdc_bench.checkpoint`), the model built by
name and passed through the method's ``prepare_model`` exactly as the trainer built it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn

from acdc_bench import checkpoint as ckpt_io
from acdc_bench.errors import ConfigError

if TYPE_CHECKING:
    from acdc_bench.data.datasets import DataSettings

_EPOCH_FILE = re.compile(r"epoch_(\d+)\.pt\Z")


@dataclass
class LoadedRun:
    """One epoch of a run: ``model`` in eval mode on ``device``, ``masks`` by parameter name
    (True = free coordinate) for every prunable weight."""

    run_dir: Path
    cfg: DictConfig
    epoch: int
    model: nn.Module
    masks: dict[str, Tensor]
    device: torch.device
    settings: DataSettings  # the run's ``cfg.dataset``, read once when the run is loaded

    def data(self, batch_size: int | None = None) -> Any:
        """The run's data (:class:`acdc_bench.data.DataBundle`): the training split in dataset
        order without augmentation, at the resolution this checkpoint's epoch trained at, and
        the evaluation split as training evaluated it (``dataset.eval_res``): a fresh loader
        has its images' native size, which a model trained at another size does not classify.
        ``batch_size`` replaces ``dataset.eval_batch_size`` (memory for double backward)."""
        from acdc_bench.data import build_data

        cfg, ds = self.cfg, self.settings
        if batch_size is not None:
            cfg = OmegaConf.merge(cfg, {"dataset": {"eval_batch_size": int(batch_size)}})
            ds = replace(ds, eval_batch_size=int(batch_size))
        bundle = build_data(cfg, self.device, in_order=True, settings=ds)
        bundle.train.set_epoch(0, ds.train_res(self.epoch, int(cfg.epochs)))
        bundle.val.set_epoch(0, ds.eval_res)
        return bundle


def run_config(run_dir: str | Path) -> DictConfig:
    """The run's resolved config: ``.hydra/config.yaml`` as the run was started, else the one
    its last checkpoint carries."""
    run_dir = Path(run_dir)
    path = run_dir / ".hydra" / "config.yaml"
    if path.exists():
        return OmegaConf.load(path)
    last = run_dir / "checkpoints" / ckpt_io.LAST
    if last.exists():
        return OmegaConf.create(ckpt_io.load(last)["config"])
    raise ConfigError("run_dir", str(run_dir), "a run directory of task=train (with .hydra/config.yaml)")


def kept_epochs(run_dir: str | Path) -> list[int]:
    """The epochs with a kept checkpoint (``checkpoint.keep_epochs``), ascending."""
    folder = Path(run_dir) / "checkpoints"
    found = (_EPOCH_FILE.match(p.name) for p in folder.glob("epoch_*.pt")) if folder.is_dir() else ()
    return sorted(int(m.group(1)) for m in found if m)


def missing_epochs_error(run_dir: str | Path, wanted: list[int], what: str) -> ConfigError:
    """The one-line error of an analysis whose run lacks the checkpoints it needs."""
    have = kept_epochs(run_dir)
    return ConfigError("checkpoint.keep_epochs", have or None,
                       f"the epochs {wanted} kept in {run_dir} for {what}: train with "
                       f"checkpoint.keep_epochs={wanted} (or {{every: N}}) to keep them")


def find_runs(sweep_dir: str | Path) -> list[Path]:
    """The run directories of a multirun (each holds ``.hydra/config.yaml``), in job order."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ConfigError("sweep_dir", str(sweep_dir), "an existing multirun directory")
    runs = [p.parent.parent for p in sweep_dir.glob("*/.hydra/config.yaml")]

    def order(p: Path) -> tuple[int, str]:
        head = p.name.split("_", 1)[0]
        return (int(head) if head.isdigit() else 1 << 30, p.name)

    return sorted(runs, key=order)


def _state(run_dir: Path, epoch: int | None) -> tuple[dict[str, Any], int]:
    folder = run_dir / "checkpoints"
    if epoch is None:
        found = ckpt_io.load_latest(folder, lambda msg: None) if folder.is_dir() else None
        if found is None:
            raise ConfigError("run_dir", str(run_dir), "a run directory holding checkpoints/last.pt")
        state = found[0]
        if state.get("partial") is not None:
            raise ConfigError("run_dir", str(run_dir),
                              "a run whose last checkpoint ends an epoch (it stopped mid-epoch: resume it)")
        return state, int(state["epoch"])
    path = folder / f"epoch_{epoch}.pt"
    if not path.exists():
        raise missing_epochs_error(run_dir, [epoch], f"epoch {epoch}")
    state = ckpt_io.read(path)
    return state, int(state["epoch"])


def _rebuilt_method(cfg: DictConfig, ds: DataSettings, model: nn.Module, state: dict[str, Any]) -> Any:
    """The run's sparsity method on ``model``, rebuilt and with a training checkpoint's state."""
    from acdc_bench.trainer.build import build_method

    method = build_method(cfg, ds, model, int(cfg.epochs), int(state["steps_per_epoch"]))
    method.load_state_dict(state["method"])
    return method


def _method_masks(cfg: DictConfig, ds: DataSettings, model: nn.Module,
                  state: dict[str, Any]) -> dict[str, Tensor]:
    """The masks of a training checkpoint: the method rebuilt and its state loaded, so that
    its own mask set is read (not guessed from zeros)."""
    from acdc_bench.trainer.run_state import named_masks

    return named_masks(model, _rebuilt_method(cfg, ds, model, state))


def load_method(run_dir: str | Path) -> Any:
    """The run's sparsity method as training left it (``checkpoints/last.pt``, on the CPU):
    what only the method's own state holds, e.g. AST's per-sub-net masks (a kept epoch
    checkpoint has one mask set per weight, not one per sub-net)."""
    cfg, ds, model, state, _ = _restored(Path(run_dir), None)
    return _rebuilt_method(cfg, ds, model, state)


def _restored(run_dir: Path, epoch: int | None) -> tuple[Any, DataSettings, torch.nn.Module, dict, int]:
    """(config, its data settings, model with the checkpoint's weights on the CPU, checkpoint
    state, epoch) of the run's ``epoch`` (None: ``last.pt``): what :func:`load_run` and
    :func:`load_method` share. The model is built as the trainer built it
    (:func:`acdc_bench.trainer.build.build_model`), unseeded: the checkpoint's weights replace it."""
    from acdc_bench.data.datasets import DataSettings
    from acdc_bench.models import ModelSettings
    from acdc_bench.trainer.build import build_model

    cfg = run_config(run_dir)
    state, epoch = _state(run_dir, epoch)
    ds = DataSettings.read(cfg)
    model = build_model(cfg, ds, ModelSettings.read(cfg))
    model.load_state_dict(state["model"])
    return cfg, ds, model, state, epoch


def load_run(run_dir: str | Path, epoch: int | None = None, device: str | torch.device = "cpu") -> LoadedRun:
    """The run in ``run_dir`` at ``epoch`` (0-based; None: the final model of ``last.pt``).

    A kept epoch needs ``checkpoints/epoch_<e>.pt`` (``checkpoint.keep_epochs``); a missing one
    is a one-line :class:`ConfigError` naming that option.
    """
    run_dir = Path(run_dir)
    cfg, ds, model, state, epoch = _restored(run_dir, epoch)
    if "masks" in state:
        masks = {k: v.bool() for k, v in state["masks"].items()}
    else:
        masks = _method_masks(cfg, ds, model, state)
    device = torch.device(device)
    model.to(device).eval()
    return LoadedRun(run_dir, cfg, epoch, model, {k: v.to(device) for k, v in masks.items()}, device, ds)
