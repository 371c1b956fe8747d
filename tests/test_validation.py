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
        # the data and model layers' settings (DataSettings, ModelSettings), read by validate
        ("dataset=imagenet dataset.loader=memory", "dataset.loader", "for imagenet"),
        ("dataset=celeba dataset.eval_split=train", "dataset.eval_split", "'test'"),
        ("dataset=imagenet dataset.augment.rrc_scale=[0.5,0.1]", "dataset.augment.rrc_scale", "0 < low"),
        ("dataset=cifar10 dataset.ffcv_order=sorted", "dataset.ffcv_order", "'quasi_random'"),
        ("dataset.objective=regression", "dataset.objective", "'multilabel'"),
        ("+dataset.train_subset=0", "dataset.train_subset", "positive integer or null"),
        ("model=timm model.timm_name=nosuchnet", "model.timm_name", "timm model name"),
        ("model=resnet18 model.blurpool=1", "model.blurpool", "true or false"),
        ("model=resnet20 model.stem_stride=0", "model.stem_stride", "positive integer"),
    ],
)
def test_validate_names_field_value_and_what_is_allowed(override, field, allowed):
    from acdc_bench.tasks import TASKS

    cfg = _compose(*override.split())
    with pytest.raises(ConfigError) as info:
        validate(cfg, tasks=sorted(TASKS))
    err = info.value
    assert err.field == field
    msg = str(err)
    assert msg.startswith(f"{field}=") and "\n" not in msg
    assert allowed in msg


@pytest.mark.parametrize(
    "override,field,allowed",
    [
        ("method=rigl method.alpha=0", "method.alpha", "(0, 1]"),
        ("method=rigl method.update_interval=0", "method.update_interval", "positive integer or null"),
        ("method=gmp method.end_fraction=1.5", "method.end_fraction", "(0, 1]"),
        ("method=gmp method.start_epoch=-1", "method.start_epoch", ">= 0"),
        ("method=acdc method.phase_epochs=0", "method.phase_epochs", "positive integer"),
        ("method=acdc method.warmup_epochs=-1", "method.warmup_epochs", ">= 0 or null"),
        ("method=acdc method.decompression_sparsity=1", "method.decompression_sparsity", "[0, 1)"),
        ("method=acdc method.momentum_reset=sometimes", "method.momentum_reset", "'returning'"),
        ("method=dense method.mask_iou_every=0", "method.mask_iou_every", "positive integer"),
        ("distribution=nm distribution.n=4", "distribution.n", "[1, 4)"),
        ("distribution=nm distribution.m=1", "distribution.m", ">= 2"),
        ("distribution=erk distribution.erk_power_scale=0", "distribution.erk_power_scale", "positive"),
        ("distribution=gmp_fld distribution.last_sparsity=1", "distribution.last_sparsity", "[0, 1)"),
        ("distribution=block4 distribution.block_size=1", "distribution.block_size", ">= 2"),
        ("distribution.keep_dense=first", "distribution.keep_dense", "a list of"),
    ],
)
def test_method_and_distribution_settings_name_field_value_and_what_is_allowed(override, field, allowed):
    """Each method reads its settings once (``check_config`` before any work, then the method):
    the same message shape as every other field."""
    from acdc_bench.sparsity.methods import method_class

    cfg = _compose("epochs=100", *override.split())
    with pytest.raises(ConfigError) as info:
        method_class(cfg.method.name).check_config(cfg, 100)
    err = info.value
    assert err.field == field
    msg = str(err)
    assert msg.startswith(f"{field}=") and "\n" not in msg and " is not allowed; expected " in msg
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


# ------------------------------------------------------------------------ data and model settings
def test_settings_are_read_once_into_the_objects_the_builders_use():
    from acdc_bench.data import DATASETS, DataSettings
    from acdc_bench.models import ModelSettings, create_model

    assert set(DATASETS) == set(_options("dataset"))  # one registry entry per shipped dataset
    ds = DataSettings.read(_compose("dataset=imagenet"))
    assert ds.spec is DATASETS["imagenet"] and ds.rrc_scale == (0.08, 1.0) and ds.eval_crop_ratio == 0.875
    assert ds.split_seed is None and ds.mean == (0.485, 0.456, 0.406)  # fields ImageNet does not read: None
    cfg = _compose("model=wrn32")
    m = ModelSettings.read(cfg)
    assert (m.depth, m.width, m.stem_stride, m.timm_name) == (32, 2.0, 1, None)
    torch.manual_seed(0)
    a = create_model(m, 10, 3)
    torch.manual_seed(0)
    b = create_model(cfg.model, 10, 3)  # a cfg.model node is read into the same settings
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    assert all(torch.equal(x, y) for x, y in pairs)
    assert ModelSettings.read(_compose("model=mobilenet_v1")).timm_name == "mobilenetv1_100"
