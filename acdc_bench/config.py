"""Config helpers: OmegaConf resolvers, validation of user input, the config hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from omegaconf import DictConfig, OmegaConf


class ConfigError(ValueError):
    """A user error in the config: printed as one line, exit status 2."""

    def __init__(self, field: str, value: Any, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}={value!r} is not allowed; expected {allowed}")


def _scaled_epochs(base: Any, multiplier: Any) -> int:
    """``epochs`` default: the recipe's base epochs x ``epoch_multiplier`` (AC/DC++ 1x-10x)."""
    return int(round(float(base) * float(multiplier)))


def _run_name(override_dirname: str) -> str:
    """Run directory name from the command-line overrides: the same command, the same
    directory, so rerunning it resumes from the checkpoint there."""
    return override_dirname.replace("/", "_") or "default"


def register_resolvers() -> None:
    for name, fn in (("scaled_epochs", _scaled_epochs), ("run_name", _run_name)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


def _number(cfg: DictConfig, key: str) -> Any:
    value = OmegaConf.select(cfg, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, value, "a number")
    return value


def validate(cfg: DictConfig) -> None:
    """Check the fields every task relies on, before any work is done."""
    sparsity = _number(cfg, "sparsity")
    if not 0.0 <= sparsity < 1.0:
        raise ConfigError("sparsity", sparsity, "a fraction of zero weights in [0, 1)")
    epochs = OmegaConf.select(cfg, "epochs")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError("epochs", epochs, "a positive integer")
    mult = _number(cfg, "epoch_multiplier")
    if mult <= 0:
        raise ConfigError("epoch_multiplier", mult, "a positive number")
    for key in ("dataset.batch_size", "optim.lr"):
        v = _number(cfg, key)
        if v <= 0:
            raise ConfigError(key, v, "a positive number")
    if not float(_number(cfg, "dataset.batch_size")).is_integer():
        raise ConfigError("dataset.batch_size", cfg.dataset.batch_size, "a positive integer")
    for key in ("optim.weight_decay",):
        v = _number(cfg, key)
        if v < 0:
            raise ConfigError(key, v, "a non-negative number")
    mom = _number(cfg, "optim.momentum")
    if not 0 <= mom < 1:
        raise ConfigError("optim.momentum", mom, "a number in [0, 1)")
    ls = _number(cfg, "optim.label_smoothing")
    if not 0 <= ls < 1:
        raise ConfigError("optim.label_smoothing", ls, "a number in [0, 1)")
    tasks = ("train", "summary")
    if cfg.task not in tasks:
        raise ConfigError("task", cfg.task, f"one of {list(tasks)}")


def config_hash(cfg: DictConfig) -> str:
    """Hash of the resolved config (hydra's own node excluded): identifies a run's settings."""
    container = OmegaConf.to_container(cfg, resolve=True)
    container.pop("hydra", None)
    blob = json.dumps(container, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
