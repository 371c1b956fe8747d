"""Config helpers: OmegaConf resolvers, validation of user input, the config hash, the resume guard.

Every user error is a :class:`ReportedError`: the CLI prints it as one line and exits
with its status (2 for config errors) instead of showing a traceback, because a typo in
an override should cost a second, not a debugging session.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError, ConfigMismatch, ReportedError, RunFailed

if TYPE_CHECKING:
    from acdc_bench.settings import RunSettings

__all__ = ["ConfigError", "ConfigMismatch", "ReportedError", "RunFailed", "validate", "config_hash"]

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def _scaled_epochs(base: Any, multiplier: Any) -> int:
    """``epochs`` default: the recipe's base epochs x ``epoch_multiplier`` (AC/DC++ 1x-10x)."""
    try:
        return int(round(float(base) * float(multiplier)))
    except (TypeError, ValueError):
        raise ConfigError("epoch_multiplier", multiplier, "a positive number") from None


def _run_name(override_dirname: str) -> str:
    """Run directory name from the command-line overrides: the same command, the same
    directory, so rerunning it resumes from the checkpoint there."""
    return override_dirname.replace("/", "_") or "default"


def _add(*values: Any) -> int:
    """``${add:a,b,...}``: a sum of integers (gradual unfreezing's epochs: 1 + blocks + final)."""
    return int(sum(int(v) for v in values))


def _if_at_least(value: Any, threshold: Any, then: Any, otherwise: Any) -> Any:
    """``${if_at_least:v,t,a,b}``: a when v >= t, else b (a twin's schedule that depends on its
    budget, e.g. AC/DC phases of hundreds of steps only where the epochs allow them)."""
    return then if float(value) >= float(threshold) else otherwise


def register_resolvers() -> None:
    for name, fn in (("scaled_epochs", _scaled_epochs), ("run_name", _run_name), ("add", _add),
                     ("if_at_least", _if_at_least)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


# ----------------------------------------------------------------------------- validation
@cache
def group_names(group: str) -> tuple[str, ...]:
    """The ``name`` each option of a config group sets (``dataset.name`` for datasets)."""
    names = set()
    for path in (CONF_DIR / group).glob("*.yaml"):
        node = OmegaConf.load(path)
        name = OmegaConf.select(node, f"{group}.name") if group == "dataset" else node.get("name")
        if isinstance(name, str):
            names.add(name)
    return tuple(sorted(names))


def _check_names(cfg: DictConfig) -> None:
    """Names set directly (``method.name=...``) are checked as strictly as group options."""
    from acdc_bench.sparsity.methods import METHODS

    V.choice(cfg, "method.name", sorted(METHODS))
    for group in ("distribution", "logger"):
        V.choice(cfg, f"{group}.name", list(group_names(group)))


def _check_recipe(cfg: DictConfig, epochs: int) -> None:
    """The recipe's own settings (``optim.*`` for ``recipe=ffcv``, AdamW's for the transfer ones)."""
    from acdc_bench.recipes import RECIPES, recipe_class

    name = V.string(cfg, "recipe.name", f"one of {sorted(RECIPES)}")
    recipe_class(name).check_config(cfg, epochs)


def validate(cfg: DictConfig, tasks: Sequence[str] | None = None) -> RunSettings:
    """Check the type and range of every field every task relies on, before any work is done,
    and return the run's settings read once (:class:`~acdc_bench.settings.RunSettings`):
    the task passes them down instead of reading ``cfg`` again.

    Each field is checked where it is read (the trainer's, the recipe's, the data's and the
    model's settings); method-specific fields (phase lengths, sub-net lists, N:M) are the
    method's ``check_config``; dataset files on disk are checked by the data loaders before training.
    """
    from acdc_bench.data.datasets import DataSettings
    from acdc_bench.models import ModelSettings
    from acdc_bench.settings import RunSettings, TrainerSettings

    if tasks is not None:  # the task registry (acdc_bench.tasks.TASKS) passes its names
        V.choice(cfg, "task", list(tasks))
    V.number(cfg, "sparsity", 0, 1)
    V.number(cfg, "epoch_multiplier", 0, low_open=True)
    V.integer(cfg, "dataset.base_epochs")
    trainer = TrainerSettings.read(cfg)  # epochs, seed, device, trainer.*, checkpoint.*, debug.*
    _check_recipe(cfg, trainer.epochs)
    V.number(cfg, "optim.label_smoothing", 0, 1)  # every objective's (the loss reads it for some only)
    data = DataSettings.read(cfg)
    _check_names(cfg)
    model = ModelSettings.read(cfg)  # model.width, stem_stride, blurpool where the model has them
    keep = V.get(cfg, "distribution.keep_dense")
    if keep is not V.ABSENT and not (OmegaConf.is_list(keep) and all(isinstance(k, str) for k in keep)):
        raise ConfigError("distribution.keep_dense", keep, "a list of layer names")
    if V.get(cfg, "logger.name") == "wandb":
        V.choice(cfg, "logger.mode", ["offline", "online", "disabled"])
        project = V.get(cfg, "logger.project")
        if not isinstance(project, str) or not project:
            raise ConfigError("logger.project", project, "a W&B project name")
    return RunSettings(trainer, data, model)


def config_hash(cfg: DictConfig) -> str:
    """Hash of the resolved config (hydra's own node excluded): identifies a run's settings."""
    container = OmegaConf.to_container(cfg, resolve=True)
    container.pop("hydra", None)
    blob = json.dumps(container, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# ----------------------------------------------------------------------------- resume guard
# Keys that may change when a run directory is resumed: how long to train (an extension
# changes the LR decay and the methods' schedules from then on, by the user's choice), how
# results are reported, how often to checkpoint, how many loader workers, test-only options.
RESUME_MAY_DIFFER = ("epochs", "epoch_multiplier", "logger", "trainer.progress", "checkpoint.every_minutes",
                     "checkpoint.keep_epochs", "checkpoint.resume_code_change",
                     "dataset.num_workers", "debug")


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict) and tree:
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: tree}


def resume_differences(saved: dict[str, Any], current: dict[str, Any]) -> tuple[list[tuple[str, Any, Any]],
                                                                                list[str]]:
    """``(key, saved value, current value)`` for every key set in both configs whose value
    differs and may not, and the keys only one of them has (a newer or older version of
    acdc-bench added or removed a setting: not a change of the run's settings)."""
    a, b = _flatten(saved), _flatten(current)
    diffs, one_sided = [], []
    for key in sorted(set(a) | set(b)):
        if any(key == p or key.startswith(p + ".") for p in RESUME_MAY_DIFFER):
            continue
        if (key in a) != (key in b):
            one_sided.append(key)
            continue
        old, new = a[key], b[key]
        if old != new or type(old) is not type(new) and not (V.is_number(old) and V.is_number(new)):
            diffs.append((key, old, new))
    return diffs, one_sided


def check_resume_config(saved: dict[str, Any], current: dict[str, Any], where: str,
                        log: Callable[[str], None] | None = None) -> None:
    """Refuse to continue a run with other settings: its numbers would describe neither config."""
    diffs, one_sided = resume_differences(saved, current)
    if one_sided and log is not None:
        log(f"config keys only in the checkpoint or only in this version: {', '.join(one_sided)}")
    if diffs:
        listed = ", ".join(f"{k} ({old!r} -> {new!r})" for k, old, new in diffs)
        raise ConfigMismatch(
            f"{where} was started with a different config; differing keys: {listed}. Only "
            f"{', '.join(RESUME_MAY_DIFFER)} may change on resume: use the original settings or another "
            "hydra.run.dir"
        )
