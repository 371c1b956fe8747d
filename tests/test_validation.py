"""Bad input is refused before any work: one line naming the field, the value and what is allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT
from hydra import compose, initialize_config_dir

from acdc_bench.config import CONF_DIR, ConfigError, register_resolvers, validate


def _compose(*overrides: str):
    register_resolvers()
    base = [] if any(o.startswith("dataset=") for o in overrides) else ["dataset=digits"]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=[*base, *overrides])


@pytest.mark.parametrize(
    "override,field,allowed",
    [
        ("sparsity=1.0", "sparsity", "[0, 1)"),
        ("sparsity=-0.1", "sparsity", "[0, 1)"),
        ("sparsity=high", "sparsity", "[0, 1)"),
        ("epochs=0", "epochs", "positive integer"),
        ("epochs=2.5", "epochs", "positive integer"),
        ("epoch_multiplier=0", "epoch_multiplier", "positive number"),
        ("epoch_multiplier=abc", "epoch_multiplier", "positive number"),
        ("seed=-1", "seed", ">= 0"),
        ("task=evaluate", "task", "'train'"),
        ("device=tpu", "device", "auto, cpu"),
        ("optim.lr=0", "optim.lr", "positive number"),
        ("optim.lr=-0.1", "optim.lr", "positive number"),
        ("optim.momentum=1.0", "optim.momentum", "[0, 1)"),
        ("optim.weight_decay=-1e-4", "optim.weight_decay", ">= 0"),
        ("optim.label_smoothing=1", "optim.label_smoothing", "[0, 1)"),
        ("optim.lr_peak_epoch=-1", "optim.lr_peak_epoch", ">= 0"),
        ("optim.lr_start_fraction=2", "optim.lr_start_fraction", "[0, 1]"),
        ("optim.nesterov=maybe", "optim.nesterov", "true or false"),
        ("dataset.batch_size=0", "dataset.batch_size", "positive integer"),
        ("dataset.batch_size=12.5", "dataset.batch_size", "positive integer"),
        ("dataset.eval_batch_size=-5", "dataset.eval_batch_size", "positive integer"),
        ("dataset.num_workers=-1", "dataset.num_workers", ">= 0"),
        ("dataset.val_fraction=1.5", "dataset.val_fraction", "(0, 1)"),
        ("dataset.std=[0]", "dataset.std", "positive numbers"),
        ("dataset.mean=[0.1,0.2]", "dataset.mean", "a list of 1 numbers"),
        ("dataset.resolution.min_res=0", "dataset.resolution.min_res", "positive integer"),
        ("dataset.resolution.end_ramp=0.5", "dataset.resolution.end_ramp", ">= resolution.start_ramp"),
        ("dataset.augment.pad_crop=-2", "dataset.augment.pad_crop", ">= 0"),
        ("dataset.name=cifar", "dataset.name", "'digits'"),
        ("model.name=resnet99", "model.name", "'resnet20'"),
        ("model.width=0", "model.width", "positive number"),
        ("method.name=sparse", "method.name", "'rigl'"),
        ("distribution.name=random", "distribution.name", "'global'"),
        ("trainer.amp=yes", "trainer.amp", "true or false"),
        ("trainer.progress=sometimes", "trainer.progress", "'auto'"),
        ("checkpoint.every_minutes=-5", "checkpoint.every_minutes", ">= 0"),
        ("+debug.nan_at_step=-1", "debug.nan_at_step", ">= 0"),
        ("logger=wandb logger.mode=sometimes", "logger.mode", "'offline'"),
        ("epochs=${nosuch}", "epochs", "a value"),
    ],
)
def test_validate_names_field_value_and_what_is_allowed(override, field, allowed):
    cfg = _compose(*override.split())
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    err = info.value
    assert err.field == field
    msg = str(err)
    assert msg.startswith(f"{field}=") and "\n" not in msg
    assert allowed in msg


def test_nesterov_needs_momentum():
    with pytest.raises(ConfigError, match="optim.nesterov=True .* optim.momentum is 0"):
        validate(_compose("optim.nesterov=true", "optim.momentum=0"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_a_gpu_is_refused():
    with pytest.raises(ConfigError, match="no CUDA device is visible"):
        validate(_compose("device=cuda"))


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


GROUPS = ("dataset", "model", "method", "distribution", "logger")


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in _options(g)])
def test_every_shipped_option_passes_validation(group, option):
    validate(_compose(f"{group}={option}"))


# ------------------------------------------------------------------------ through the CLI
CLI_CASES = [  # (overrides, exit status, text the one line must contain)
    (["epochs=0"], 2, "epochs=0 is not allowed; expected a positive integer"),
    (["foo=1"], 2, "Could not override 'foo'. To append to your config use +foo=1"),
    (["sparsity=[0.9"], 2, "cannot parse the override 'sparsity=[0.9'"),
    (["hydra/launcher=nosuch"], 2, "Could not find 'hydra/launcher/nosuch'"),
    (["dataset=fashion_mnist", "dataset.root=/nonexistent/fmnist"], 2,
     "dataset.root='/nonexistent/fmnist' is not allowed; expected a folder with Fashion-MNIST's idx files"),
]


def _start(tmp_path: Path, name: str, overrides: list[str], full_error: bool = False) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    if full_error:
        env["HYDRA_FULL_ERROR"] = "1"
    run_dir = f"hydra.run.dir={tmp_path / name}"
    argv = [sys.executable, "-m", "acdc_bench", "dataset=digits", *overrides, run_dir]
    pipe = subprocess.PIPE
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=pipe, stderr=pipe, text=True)


def test_bad_inputs_through_the_cli_print_one_line_and_exit_2(tmp_path):
    """All cases start at once (they spend their time importing, not computing)."""
    procs = [_start(tmp_path, f"run{i}", overrides) for i, (overrides, _, _) in enumerate(CLI_CASES)]
    full = _start(tmp_path, "full", ["epochs=0"], full_error=True)
    for i, (proc, (overrides, status, text)) in enumerate(zip(procs, CLI_CASES, strict=True)):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == status, (overrides, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("acdc-bench: error: "), (overrides, err)
        assert text in lines[0], (overrides, lines[0])
        for name in ("metrics.jsonl", "summary.json", "checkpoints"):
            assert not (tmp_path / f"run{i}" / name).exists()
    # HYDRA_FULL_ERROR=1 shows the traceback of the same error
    _, err = full.communicate(timeout=300)
    assert full.returncode != 0
    assert "Traceback" in err and "ConfigError: epochs=0 is not allowed" in err
