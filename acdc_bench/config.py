"""Config helpers: OmegaConf resolvers, validation of user input, the config hash, the resume guard.

Every user error is a :class:`ReportedError`: the CLI prints it as one line and exits
with its status (2 for config errors) instead of showing a traceback, because a typo in
an override should cost a second, not a debugging session.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


class ReportedError(Exception):
    """An error the CLI reports as one line, without a traceback, exiting with ``exit_code``."""

    exit_code = 2


class ConfigError(ReportedError, ValueError):
    """A user error in the config: printed as one line, exit status 2."""

    def __init__(self, field: str, value: Any, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}={value!r} is not allowed; expected {allowed}")


class ConfigMismatch(ReportedError):
    """Resuming a run directory with settings other than the ones it was started with."""


class RunFailed(ReportedError):
    """Training stopped on its own account (non-finite loss, masks differ across ranks, a
    checkpoint could not be written); ``summary.json`` says ``failed``. Exit status 1."""

    exit_code = 1


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


def register_resolvers() -> None:
    for name, fn in (("scaled_epochs", _scaled_epochs), ("run_name", _run_name)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


# ----------------------------------------------------------------------------- validation
_ABSENT = object()


def _raw(cfg: DictConfig, key: str) -> Any:
    """The unresolved value at ``key`` (an interpolation string), for messages."""
    try:
        parent_key, _, leaf = key.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
        return parent._get_node(leaf)._value()
    except Exception:
        return "?"


def _get(cfg: DictConfig, key: str) -> Any:
    """The resolved value at ``key`` (``_ABSENT`` when the key does not exist)."""
    try:
        return OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=True)
    except ConfigError:
        raise
    except Exception as err:  # a failing interpolation or resolver, or a missing value (???)
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(key, _raw(cfg, key), f"a value that resolves ({reason})") from None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(cfg: DictConfig, key: str, low: int = 1, required: bool = True) -> int | None:
    v = _get(cfg, key)
    if v is _ABSENT and not required:
        return None
    if not _is_int(v) or v < low:
        raise ConfigError(key, None if v is _ABSENT else v,
                          "a positive integer" if low == 1 else f"an integer >= {low}")
    return v


def _num(cfg: DictConfig, key: str, low: float, high: float | None = None, *, low_open: bool = False,
         high_open: bool = True, required: bool = True) -> float | None:
    """A number in the interval given by ``low``/``high`` (``None``: unbounded)."""
    v = _get(cfg, key)
    if v is _ABSENT and not required:
        return None
    ok = _is_number(v) and v == v and (v > low if low_open else v >= low)
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok:
        if high is None:
            allowed = "a positive number" if (low == 0 and low_open) else f"a number >= {low}"
        else:
            allowed = f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ConfigError(key, None if v is _ABSENT else v, allowed)
    return v


def _bool(cfg: DictConfig, key: str, required: bool = True) -> None:
    v = _get(cfg, key)
    if v is _ABSENT and not required:
        return
    if not isinstance(v, bool):
        raise ConfigError(key, None if v is _ABSENT else v, "true or false")


def _choice(cfg: DictConfig, key: str, options: list[Any], required: bool = True) -> None:
    v = _get(cfg, key)
    if v is _ABSENT and not required:
        return
    if v not in options or isinstance(v, bool) != any(isinstance(o, bool) and o == v for o in options):
        raise ConfigError(key, None if v is _ABSENT else v, f"one of {options}")


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
    """Names set directly (``model.name=...``) are checked as strictly as group options."""
    from acdc_bench.sparsity.methods import METHODS

    _choice(cfg, "method.name", sorted(METHODS))
    for group in ("dataset", "distribution", "logger"):
        _choice(cfg, f"{group}.name", list(group_names(group)))
    from acdc_bench.models import CIFAR_DEPTHS, TIMM_ALIASES

    known = sorted(CIFAR_DEPTHS) + sorted(TIMM_ALIASES) + ["timm"]
    name = _get(cfg, "model.name")
    timm_name = _get(cfg, "model.timm_name") if name == "timm" else name
    if name == "timm" or name not in known:
        if not isinstance(timm_name, str):
            raise ConfigError("model.name" if name != "timm" else "model.timm_name", timm_name,
                              f"one of {known} or a timm model name")
        import timm

        if not timm.is_model(timm_name):
            field = "model.timm_name" if name == "timm" else "model.name"
            raise ConfigError(field, timm_name, f"one of {known} or a timm model name (timm.list_models())")


def _check_dataset(cfg: DictConfig) -> None:
    _int(cfg, "dataset.batch_size")
    _int(cfg, "dataset.eval_batch_size")
    _int(cfg, "dataset.num_workers", low=0)
    _int(cfg, "dataset.num_classes")
    in_chans = _int(cfg, "dataset.in_chans")
    _int(cfg, "dataset.split_seed", low=0, required=False)
    _num(cfg, "dataset.val_fraction", 0, 1, low_open=True, required=False)
    for key in ("dataset.native_res", "dataset.train_size", "dataset.val_size"):
        _int(cfg, key, required=False)
    root = _get(cfg, "dataset.root")
    if root is not _ABSENT and root is not None and not isinstance(root, str):
        raise ConfigError("dataset.root", root, "a folder path or null")
    for key in ("dataset.mean", "dataset.std"):
        v = _get(cfg, key)
        if v is _ABSENT:
            continue
        values = list(v) if OmegaConf.is_list(v) or isinstance(v, (list, tuple)) else None
        ok = values is not None and len(values) == in_chans and all(_is_number(x) for x in values)
        if ok and key.endswith("std"):
            ok = all(x > 0 for x in values)
        if not ok:
            what = "positive numbers" if key.endswith("std") else "numbers"
            raise ConfigError(key, OmegaConf.to_container(v) if OmegaConf.is_config(v) else v,
                              f"a list of {in_chans} {what} (one per input channel, dataset.in_chans)")
    _bool(cfg, "dataset.augment.hflip", required=False)
    _int(cfg, "dataset.augment.pad_crop", low=0, required=False)
    lo, hi = _int(cfg, "dataset.resolution.min_res"), _int(cfg, "dataset.resolution.max_res")
    if hi < lo:
        raise ConfigError("dataset.resolution.max_res", hi, f"an integer >= resolution.min_res ({lo})")
    start = _num(cfg, "dataset.resolution.start_ramp", 0, 1, high_open=False)
    end = _num(cfg, "dataset.resolution.end_ramp", 0, 1, high_open=False)
    if end < start:
        raise ConfigError("dataset.resolution.end_ramp", end,
                          f"a fraction of epochs >= resolution.start_ramp ({start})")
    _int(cfg, "dataset.eval_res")
    _num(cfg, "dataset.eval_crop_ratio", 0, 1, low_open=True, high_open=False, required=False)


def validate(cfg: DictConfig) -> None:
    """Check the type and range of every field every task relies on, before any work is done.

    Method-specific fields (phase lengths, sub-net lists, N:M) are the method's
    ``check_config``; dataset files on disk are checked by the data loaders before training.
    """
    _choice(cfg, "task", ["train", "summary", "report"])
    _num(cfg, "sparsity", 0, 1)
    _num(cfg, "epoch_multiplier", 0, low_open=True)
    _int(cfg, "dataset.base_epochs")
    _int(cfg, "epochs")
    _int(cfg, "seed", low=0)
    device = _get(cfg, "device")
    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise ConfigError("device", device, "auto, cpu, cuda or cuda:<index>")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("device", device, "auto or cpu (no CUDA device is visible)")
    _num(cfg, "optim.lr", 0, low_open=True)
    _num(cfg, "optim.lr_peak_epoch", 0)
    _num(cfg, "optim.lr_start_fraction", 0, 1, high_open=False)
    momentum = _num(cfg, "optim.momentum", 0, 1)
    _bool(cfg, "optim.nesterov")
    if _get(cfg, "optim.nesterov") and momentum == 0:
        raise ConfigError("optim.nesterov", True, "false when optim.momentum is 0 (Nesterov needs momentum)")
    _num(cfg, "optim.weight_decay", 0)
    _num(cfg, "optim.label_smoothing", 0, 1)
    for key in ("trainer.amp", "trainer.channels_last", "trainer.deterministic"):
        _bool(cfg, key)
    _choice(cfg, "trainer.progress", ["auto", True, False])
    _check_dataset(cfg)
    _check_names(cfg)
    _num(cfg, "model.width", 0, low_open=True, required=False)
    _int(cfg, "model.stem_stride", required=False)
    _bool(cfg, "model.blurpool", required=False)
    keep = _get(cfg, "distribution.keep_dense")
    if keep is not _ABSENT and not (OmegaConf.is_list(keep) and all(isinstance(k, str) for k in keep)):
        raise ConfigError("distribution.keep_dense", keep, "a list of layer names")
    if _get(cfg, "logger.name") == "wandb":
        _choice(cfg, "logger.mode", ["offline", "online", "disabled"])
        project = _get(cfg, "logger.project")
        if not isinstance(project, str) or not project:
            raise ConfigError("logger.project", project, "a W&B project name")
    _num(cfg, "checkpoint.every_minutes", 0, required=False)
    _int(cfg, "debug.nan_at_step", low=0, required=False)  # test-only options (docs/robustness.md)
    _int(cfg, "debug.mask_mismatch_rank", low=0, required=False)


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
        if old != new or type(old) is not type(new) and not (_is_number(old) and _is_number(new)):
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
